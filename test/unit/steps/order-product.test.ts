// The order consumer under at-least-once delivery: whatever point a consumer crashes at, and however
// often a message is delivered, each product is ordered exactly once, within the quota, and its
// waiting state is answered. Messages travel through the in-process queue on a simulated clock.
import { describe, expect, it } from 'vitest';
import { InProcessOrderQueue } from '../../../shared/adapters/local/in-process-order-queue.ts';
import { SatfactoryError } from '../../../shared/domain/errors.ts';
import { ltaKeys, type OrderMessage } from '../../../shared/domain/lta.ts';
import { MAX_DELAY_SECONDS, quotaPolicy } from '../../../shared/domain/quota-ledger.ts';
import type { OrderQueueMessage } from '../../../shared/ports.ts';
import { silentLog } from '../../../shared/ports.ts';
import { LocalTaskTokens } from '../../../shared/runtime/task-tokens.ts';
import {
  type OrderOutcome,
  type OrderPorts,
  orderProduct,
  readLedger,
} from '../../../shared/steps/order-product.ts';
import { OrderMessageSchema } from '../../../shared/workflow/contracts.ts';
import { CrashingBlobStore, type CrashPoint } from '../../helpers/crashing-blob-store.ts';
import { FakeArchive } from '../../helpers/fake-archive.ts';
import { MemoryBlobStore } from '../../helpers/memory-blob-store.ts';
import { SimulatedClock } from '../../helpers/simulated-clock.ts';

type World = {
  clock: SimulatedClock;
  archive: FakeArchive;
  store: CrashingBlobStore;
  tokens: LocalTaskTokens;
  queue: InProcessOrderQueue;
  outcomes: OrderOutcome[];
  delays: number[];
  start(productId: string): Promise<unknown>;
};

function world(options: { products: string[]; crash?: CrashPoint }): World {
  const clock = new SimulatedClock();
  const archive = new FakeArchive({ clock, offline: options.products, restoreSeconds: 1200 });
  const store = new CrashingBlobStore(
    options.crash ? [options.crash] : [],
    new MemoryBlobStore('memory://work'),
  );
  const tokens = new LocalTaskTokens();
  const outcomes: OrderOutcome[] = [];
  const delays: number[] = [];
  let ports: OrderPorts;
  const queue = new InProcessOrderQueue({
    clock,
    // Shorter than the lease: a redelivery first finds the crashed attempt still leased.
    visibilityTimeoutSeconds: 360,
    maxReceiveCount: 10,
    consume: async (raw: OrderQueueMessage) => {
      outcomes.push(await orderProduct(OrderMessageSchema.parse(raw) as OrderMessage, ports));
    },
  });
  const recordingQueue = {
    send: async (message: OrderQueueMessage, o?: { delaySeconds?: number }) => {
      delays.push(o?.delaySeconds ?? 0);
      await queue.send(message, o);
    },
  };
  ports = {
    work: store,
    archive,
    queue: recordingQueue,
    callbacks: tokens,
    clock,
    log: silentLog,
    policy: quotaPolicy({ minIntervalSeconds: 1800, maxInFlight: 1 }),
    pollSeconds: 300,
    leaseSeconds: 960,
  };
  const start = async (productId: string) => {
    const { token, result } = tokens.issue();
    const message: OrderMessage = {
      runId: 'run-1',
      taskToken: token,
      product: {
        id: productId,
        collection: 'sentinel-2-l2a',
        tile: '31TCJ',
        datetime: '2023-06-01T10:00:00Z',
      },
    };
    await queue.send(message);
    return result;
  };
  return { clock, archive, store, tokens, queue, outcomes, delays, start };
}

describe('orderProduct', () => {
  it('orders an offline product once, polls until it is online, and answers the task', async () => {
    const w = world({ products: ['P1'] });
    await expect(w.start('P1')).resolves.toEqual({ productId: 'P1', orderId: 'o-1' });
    await w.queue.idle();
    expect(w.archive.ordersOf('P1')).toBe(1);
    expect(w.outcomes[0]).toBe('ordered');
    expect(w.outcomes.at(-1)).toBe('online');
    // The slot is released: the ledger has nothing in flight.
    const ledger = await readLedger(w.store);
    expect(ledger.slots.map((s) => s.done)).toEqual([true]);
  });

  it('answers at once, without ordering, a product that is online already; fails an unknown one', async () => {
    const w = world({ products: ['P1'] });
    await w.start('P1');
    await expect(w.start('P1')).resolves.toEqual({ productId: 'P1', orderId: 'o-1' });
    await expect(w.start('NOPE')).rejects.toMatchObject({ name: 'ProductUnknownError' });
    expect(w.archive.orders).toHaveLength(1);
  });

  it('keeps the interval and one order in flight across products, waiting in hops of ≤900 s', async () => {
    const ids = ['P1', 'P2', 'P3', 'P4'];
    const w = world({ products: ids });
    await Promise.all(ids.map((id) => w.start(id)));
    expect(ids.map((id) => w.archive.ordersOf(id))).toEqual([1, 1, 1, 1]);
    const orders = w.archive.orders;
    for (let i = 1; i < orders.length; i++) {
      const [prev, next] = [orders[i - 1], orders[i]] as const;
      expect(next!.orderedAt - prev!.orderedAt).toBeGreaterThanOrEqual(1800_000);
      expect(next!.orderedAt).toBeGreaterThanOrEqual(prev!.readyAt);
    }
    expect(Math.max(...w.delays)).toBeLessThanOrEqual(MAX_DELAY_SECONDS);
    expect(w.delays.some((d) => d === MAX_DELAY_SECONDS)).toBe(true);
  });

  const crashPoints: Array<[string, { key: RegExp; when: 'before' | 'after' }]> = [
    ['after claiming the attempt lock', { key: /attempt-\d+\.json$/, when: 'after' }],
    ['after claiming the quota slot, before order()', { key: /^lta\/slots\/\d+\.json$/, when: 'after' }],
    ['after order(), before recording it', { key: /order-\d+\.json$/, when: 'before' }],
    ['after recording the order, before re-sending', { key: /order-\d+\.json$/, when: 'after' }],
    ['after releasing the slot, before answering the task', { key: /\.done\.json$/, when: 'after' }],
  ];
  for (const [where, crash] of crashPoints) {
    it(`orders exactly once when the consumer crashes ${where}`, async () => {
      const w = world({ products: ['P1', 'P2'], crash });
      const results = await Promise.all([w.start('P1'), w.start('P2')]);
      await w.queue.idle();
      expect(w.store.crashes).toBe(1);
      expect(results).toEqual([
        { productId: 'P1', orderId: expect.any(String) },
        { productId: 'P2', orderId: expect.any(String) },
      ]);
      expect([w.archive.ordersOf('P1'), w.archive.ordersOf('P2')]).toEqual([1, 1]);
      const [a, b] = w.archive.orders;
      expect(b!.orderedAt - a!.orderedAt).toBeGreaterThanOrEqual(1800_000);
      expect(w.tokens.waiting).toBe(0);
    });
  }

  it('asks the archive after an ambiguous order() failure instead of ordering again', async () => {
    const w = world({ products: ['P1'] });
    w.archive.failNext.set('P1', ['ambiguous-after-order']);
    await expect(w.start('P1')).resolves.toEqual({ productId: 'P1', orderId: 'o-1' });
    expect(w.archive.ordersOf('P1')).toBe(1);
    const record = JSON.parse(Buffer.from((await w.store.get(ltaKeys.order('P1', 0)))!).toString());
    expect(record).toMatchObject({ recovered: true, orderId: 'o-1' });
  });

  it('delivered twice (SQS at-least-once), orders once and answers once', async () => {
    // The in-process queue delivers one message at a time: this is the sequential duplicate. The
    // concurrent ones are below.
    const w = world({ products: ['P1'] });
    const { token, result } = w.tokens.issue();
    const message = {
      runId: 'run-1',
      taskToken: token,
      product: { id: 'P1', collection: 'c', tile: 't', datetime: 'd' },
    };
    await w.queue.send(message);
    await w.queue.send(message);
    await expect(result).resolves.toMatchObject({ productId: 'P1' });
    await w.queue.idle();
    expect(w.archive.ordersOf('P1')).toBe(1);
    expect(w.outcomes).toContain('dropped');
  });

  it('backs off on the archive’s 429 without holding the slot, and fails the task on a rejection', async () => {
    const w = world({ products: ['P1', 'P2'] });
    w.archive.failNext.set('P1', ['429']);
    w.archive.failNext.set('P2', ['reject']);
    const [p1, p2] = await Promise.allSettled([w.start('P1'), w.start('P2')]);
    expect(p1).toMatchObject({ status: 'fulfilled', value: { productId: 'P1' } });
    expect(p2).toMatchObject({ status: 'rejected', reason: { name: 'OrderRejectedError' } });
    expect(w.archive.ordersOf('P1')).toBe(1);
    const ledger = await readLedger(w.store);
    expect(ledger.slots.filter((s) => !s.done)).toEqual([]);
  });

  it('orders a product restored earlier and offline again once more, exactly once', async () => {
    const w = concurrentWorld(['P1']);
    const first = w.start('P1', 'run-1');
    await w.drain();
    await expect(first).resolves.toEqual({ productId: 'P1', orderId: 'o-1' });
    // Months later the product is back in the long-term archive; its old order is still 'completed'.
    w.clock.advance(90 * 86_400_000);
    w.archive.evict('P1');
    const again = [w.start('P1', 'run-2'), w.start('P1', 'run-3')];
    await w.drain();
    await expect(Promise.all(again)).resolves.toEqual([
      { productId: 'P1', orderId: 'o-2' },
      { productId: 'P1', orderId: 'o-2' },
    ]);
    expect(w.archive.ordersOf('P1')).toBe(2);
    expect(await w.store.exists(ltaKeys.order('P1', 0))).toBe(true);
    expect(await w.store.exists(ltaKeys.attemptReleased('P1', 0))).toBe(true);
    expect(await w.store.exists(ltaKeys.order('P1', 1))).toBe(true);
    expect((await readLedger(w.store)).slots.filter((s) => !s.done)).toEqual([]);
  });

  it('orders again, exactly once, a product whose order the archive forgot', async () => {
    const w = concurrentWorld(['P1']);
    const first = w.start('P1', 'run-1');
    await w.drain();
    await first;
    w.clock.advance(30 * 86_400_000);
    w.archive.evict('P1');
    w.archive.purge('P1');
    const again = [w.start('P1', 'run-1'), w.start('P1', 'run-2')];
    await w.drain();
    await expect(Promise.all(again)).resolves.toEqual([
      { productId: 'P1', orderId: 'o-2' },
      { productId: 'P1', orderId: 'o-2' },
    ]);
    expect(w.archive.ordersOf('P1')).toBe(2);
  });

  it('answers a product restored earlier and still online without ordering it again', async () => {
    const w = concurrentWorld(['P1']);
    const first = w.start('P1', 'run-1');
    await w.drain();
    await first;
    w.clock.advance(86_400_000);
    const again = w.start('P1', 'run-2');
    await w.drain();
    await expect(again).resolves.toEqual({ productId: 'P1', orderId: 'o-1' });
    expect(w.archive.ordersOf('P1')).toBe(1);
  });

  it('trusts a lately completed order over a lagging catalogue, even for another task', async () => {
    const w = concurrentWorld(['P1']);
    const first = w.start('P1', 'run-1');
    await w.drain();
    await first;
    w.clock.advance(3600_000);
    w.archive.evict('P1'); // the catalogue says offline, one hour after the restore
    const again = w.start('P1', 'run-2');
    await w.drain();
    await expect(again).resolves.toEqual({ productId: 'P1', orderId: 'o-1' });
    expect(w.archive.ordersOf('P1')).toBe(1);
  });

  it('fails the task whose own order failed, and orders again for a later task', async () => {
    const w = concurrentWorld(['P1']);
    const first = w.start('P1', 'run-1');
    await w.drain(1);
    w.archive.failLatest('P1');
    await w.drain();
    await expect(first).rejects.toMatchObject({ name: 'OrderRejectedError' });
    await expect(first).rejects.toBeInstanceOf(SatfactoryError);
    expect(w.archive.ordersOf('P1')).toBe(1);
    // A later run (or a redrive: a new task) gets its own order, not the failed one's verdict.
    const again = w.start('P1', 'run-1');
    await w.drain();
    await expect(again).resolves.toEqual({ productId: 'P1', orderId: 'o-2' });
    expect(w.archive.ordersOf('P1')).toBe(2);
  });

  it('handling many deliveries at once, orders each product exactly once, within the quota', async () => {
    const w = concurrentWorld(['P1', 'P2']);
    // Five copies of each message (at-least-once delivery), and a second run waiting on P1 too, all
    // handled concurrently over one store and one archive.
    const results = [w.start('P1', 'run-1', 5), w.start('P2', 'run-1', 5), w.start('P1', 'run-2', 5)];
    const firstRound = await w.drain(1);
    expect(firstRound.filter((o) => o === 'ordered')).toHaveLength(1);
    expect(w.archive.orders).toHaveLength(1);
    await w.drain();
    await expect(Promise.all(results)).resolves.toEqual([
      { productId: 'P1', orderId: expect.any(String) },
      { productId: 'P2', orderId: expect.any(String) },
      { productId: 'P1', orderId: expect.any(String) },
    ]);
    expect([w.archive.ordersOf('P1'), w.archive.ordersOf('P2')]).toEqual([1, 1]);
    const [a, b] = w.archive.orders;
    expect(b!.orderedAt - a!.orderedAt).toBeGreaterThanOrEqual(1800_000);
    // One in flight: the second order waits until the first is online.
    expect(b!.orderedAt).toBeGreaterThanOrEqual(a!.readyAt);
    expect(w.tokens.waiting).toBe(0);
    expect(w.maxConcurrent).toBeGreaterThanOrEqual(15);
  });
});

type ConcurrentWorld = {
  clock: SimulatedClock;
  archive: FakeArchive;
  store: MemoryBlobStore;
  tokens: LocalTaskTokens;
  /** The most deliveries handled at the same time. */
  readonly maxConcurrent: number;
  /** Issues a task for the product and queues `copies` identical messages of it. */
  start(productId: string, runId: string, copies?: number): Promise<unknown>;
  /** Delivers every due message at once (Promise.all), then the next due batch; `rounds` bounds it. */
  drain(rounds?: number): Promise<OrderOutcome[]>;
};

/** Consumers running side by side, as several Lambda instances do: no one-at-a-time queue. */
function concurrentWorld(products: string[]): ConcurrentWorld {
  const clock = new SimulatedClock();
  const archive = new FakeArchive({ clock, offline: products, restoreSeconds: 1200 });
  const store = new MemoryBlobStore('memory://work');
  const tokens = new LocalTaskTokens();
  const pending: Array<{ message: OrderMessage; dueAt: number }> = [];
  let maxConcurrent = 0;
  const ports: OrderPorts = {
    work: store,
    archive,
    queue: {
      send: async (raw, o) => {
        const message = OrderMessageSchema.parse(raw) as OrderMessage;
        pending.push({ message, dueAt: clock.now().getTime() + (o?.delaySeconds ?? 0) * 1000 });
      },
    },
    callbacks: tokens,
    clock,
    log: silentLog,
    policy: quotaPolicy({ minIntervalSeconds: 1800, maxInFlight: 1 }),
    pollSeconds: 300,
    leaseSeconds: 960,
  };
  return {
    clock,
    archive,
    store,
    tokens,
    get maxConcurrent() {
      return maxConcurrent;
    },
    start(productId, runId, copies = 1) {
      const { token, result } = tokens.issue();
      const product = { id: productId, collection: 'c', tile: 't', datetime: 'd' };
      for (let i = 0; i < copies; i++) {
        pending.push({ message: { runId, taskToken: token, product }, dueAt: clock.now().getTime() });
      }
      return result;
    },
    async drain(rounds = Number.POSITIVE_INFINITY) {
      const outcomes: OrderOutcome[] = [];
      for (let round = 0; round < rounds && pending.length > 0; round++) {
        const due = Math.min(...pending.map((p) => p.dueAt));
        if (due > clock.now().getTime()) clock.advance(due - clock.now().getTime());
        const batch = pending.filter((p) => p.dueAt <= due);
        pending.splice(0, pending.length, ...pending.filter((p) => p.dueAt > due));
        maxConcurrent = Math.max(maxConcurrent, batch.length);
        outcomes.push(...(await Promise.all(batch.map((p) => orderProduct(p.message, ports)))));
      }
      return outcomes;
    },
  };
}
