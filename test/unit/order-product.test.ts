// The order consumer under at-least-once delivery: whatever point a consumer crashes at, and however
// often a message is delivered, each product is ordered exactly once, within the quota, and its
// waiting state is answered. Messages travel through the in-process queue on a simulated clock.
import { describe, expect, it } from 'vitest';
import { InProcessOrderQueue } from '../../shared/adapters/local/in-process-order-queue.ts';
import { ltaKeys, type OrderMessage } from '../../shared/domain/lta.ts';
import { MAX_DELAY_SECONDS, quotaPolicy } from '../../shared/domain/quota-ledger.ts';
import type { OrderQueueMessage } from '../../shared/ports.ts';
import { silentLog } from '../../shared/ports.ts';
import { LocalTaskTokens } from '../../shared/runtime/task-tokens.ts';
import { OrderMessageSchema } from '../../shared/steps/contracts.ts';
import {
  type OrderOutcome,
  type OrderPorts,
  orderProduct,
  readLedger,
} from '../../shared/steps/order-product.ts';
import { CrashingBlobStore, type CrashPoint } from '../helpers/crashing-blob-store.ts';
import { FakeArchive } from '../helpers/fake-archive.ts';
import { MemoryBlobStore } from '../helpers/memory-blob-store.ts';
import { SimulatedClock } from '../helpers/simulated-clock.ts';

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
    ['after order(), before recording it', { key: /order\.json$/, when: 'before' }],
    ['after recording the order, before re-sending', { key: /order\.json$/, when: 'after' }],
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
    const record = JSON.parse(Buffer.from((await w.store.get(ltaKeys.order('P1')))!).toString());
    expect(record).toMatchObject({ recovered: true, orderId: 'o-1' });
  });

  it('delivered twice at once (SQS at-least-once), orders once and answers once', async () => {
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
});
