// OrderProduct's consumer: handles one LTA order message. It orders the product within the archive
// quota, keeps polling until it is online, then answers the waiting state through its task token.
//
// Idempotence: messages are delivered at least once and consumers crash. A product is ordered only
// by the holder of a create-only attempt lock (leased), in a create-only quota slot, and order.json
// records the order. A redelivery after a lost lease asks the archive before ever ordering again.
import { AlreadyExistsError, describeError, HttpStatusError } from '../domain/errors.ts';
import {
  ltaKeys,
  type OrderMessage,
  OrderRejectedError,
  ProductUnknownError,
  parseAttemptKey,
  parseSlotKey,
  TaskGoneError,
} from '../domain/lta.ts';
import {
  decide,
  type LedgerSlot,
  type LedgerState,
  MAX_DELAY_SECONDS,
  nextHop,
  type QuotaPolicy,
} from '../domain/quota-ledger.ts';
import type { ArchiveOrders, BlobStore, Clock, Log, OrderQueue, TaskCallbacks } from '../ports.ts';
import { getJson, putJson } from './context.ts';
import type { OrderResult } from './contracts.ts';

export type OrderPorts = {
  readonly work: BlobStore;
  readonly archive: ArchiveOrders;
  readonly queue: OrderQueue;
  readonly callbacks: TaskCallbacks;
  readonly clock: Clock;
  readonly log: Log;
  readonly policy: QuotaPolicy;
  /** Delay between two looks at a pending order (≤ 900). */
  readonly pollSeconds: number;
  /** How long an attempt lock holds: longer than one consumer invocation can run (Lambda: 900 s). */
  readonly leaseSeconds: number;
};

export const DEFAULT_POLL_SECONDS = 600;
export const DEFAULT_LEASE_SECONDS = 960;
/** How many recent slots the ledger reads: older ones are done or stale long ago. */
const LEDGER_WINDOW = 64;

/** What one delivery did; for logs and tests. */
export type OrderOutcome =
  | 'waiting' // quota says later: re-sent with a delay
  | 'busy' // another delivery holds the product's attempt lock: re-sent
  | 'ordered' // placed the order: re-sent to poll
  | 'pending' // the order is not online yet: re-sent to poll
  | 'online' // answered the task with success
  | 'failed' // answered the task with failure
  | 'dropped'; // the task is gone (execution ended): nothing left to do

type SlotRecord = { slot: number; productId: string; runId: string; attempt: number; claimedAt: string };
type AttemptRecord = { attempt: number; runId: string; claimedAt: string };
type OrderRecord = {
  productId: string;
  orderId: string | null;
  slot: number | null;
  orderedAt: string;
  /** True when a redelivery learnt of the order from the archive (its orderer crashed). */
  recovered: boolean;
};

export async function orderProduct(message: OrderMessage, ports: OrderPorts): Promise<OrderOutcome> {
  try {
    return await handle(message, ports);
  } catch (error) {
    if (error instanceof TaskGoneError) {
      ports.log.warn('the task of this order is gone: dropping the message', {
        productId: message.product.id,
        error: describeError(error),
      });
      return 'dropped';
    }
    throw error;
  }
}

async function handle(message: OrderMessage, ports: OrderPorts): Promise<OrderOutcome> {
  const { work, archive, clock } = ports;
  const productId = message.product.id;
  const now = clock.now();
  const later = async (seconds: number, notBefore?: Date): Promise<void> => {
    await ports.callbacks.heartbeat(message.taskToken);
    const { notBefore: _, ...rest } = message;
    const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(seconds)));
    await ports.queue.send(notBefore ? { ...rest, notBefore: notBefore.toISOString() } : rest, {
      delaySeconds,
    });
  };

  // A long wait hops through ≤900 s delays without touching the ledger.
  if (message.notBefore !== undefined && Date.parse(message.notBefore) > now.getTime()) {
    const until = new Date(message.notBefore);
    await later(nextHop(until, now), until);
    return 'waiting';
  }

  const recorded = await getJson<OrderRecord>(work, ltaKeys.order(productId));
  if (recorded) return poll(message, recorded, ports, later);

  const lock = await lastAttempt(work, productId);
  if (lock && !lock.released) {
    const age = (now.getTime() - Date.parse(lock.claimedAt)) / 1000;
    if (age < ports.leaseSeconds) {
      await later(ports.leaseSeconds - age + 1);
      return 'busy';
    }
    // The holder died somewhere between its lock and order.json: only the archive knows whether
    // order() went through.
    const status = await archive.status(productId);
    if (status.state !== 'none') {
      const ledger = await readLedger(work);
      const slot = ledger.slots.filter((s) => s.productId === productId && !s.done).at(-1)?.slot ?? null;
      const order: OrderRecord = {
        productId,
        orderId: status.orderId ?? null,
        slot,
        orderedAt: now.toISOString(),
        recovered: true,
      };
      await putCreateOnly(work, ltaKeys.order(productId), order);
      ports.log.warn('recovered an order its consumer did not record', { productId, state: status.state });
      return poll(message, order, ports, later);
    }
    await putCreateOnly(work, ltaKeys.attemptReleased(productId, lock.attempt), { at: now.toISOString() });
    await releaseSlotsOf(work, await readLedger(work), productId, now, 'abandoned');
  }

  const availability = await archive.availability(productId);
  if (availability === 'online') return finish(message, { productId, orderId: null }, null, ports);
  if (availability === 'unknown') {
    const error = new ProductUnknownError(`${archive.description} does not know product ${productId}`, {
      productId,
    });
    return fail(message, error, null, ports);
  }

  const ledger = await readLedger(work);
  const decision = decide(ports.policy, ledger, now);
  if (decision.kind === 'wait') {
    const until = new Date(now.getTime() + decision.seconds * 1000);
    ports.log.debug('quota: waiting', { productId, seconds: decision.seconds, reason: decision.reason });
    await later(nextHop(until, now), until);
    return 'waiting';
  }

  const attempt = (lock?.attempt ?? -1) + 1;
  const attemptRecord: AttemptRecord = { attempt, runId: message.runId, claimedAt: now.toISOString() };
  if (!(await putCreateOnly(work, ltaKeys.attempt(productId, attempt), attemptRecord))) {
    await later(ports.leaseSeconds);
    return 'busy';
  }
  const slotRecord: SlotRecord = {
    slot: decision.slot,
    productId,
    runId: message.runId,
    attempt,
    claimedAt: now.toISOString(),
  };
  if (!(await putCreateOnly(work, ltaKeys.slot(decision.slot), slotRecord))) {
    // Another product took this slot first: give the lock back and look at the quota again.
    await putCreateOnly(work, ltaKeys.attemptReleased(productId, attempt), { at: now.toISOString() });
    await later(1);
    return 'waiting';
  }

  let orderId: string;
  try {
    ({ orderId } = await archive.order(productId));
  } catch (error) {
    if (error instanceof HttpStatusError && error.status === 429) {
      // The archive's own count disagrees with ours (other clients of the account): nothing was
      // ordered, so the slot is done and the lock free; try again after its Retry-After.
      await markSlotDone(work, decision.slot, productId, now, 'refused');
      await putCreateOnly(work, ltaKeys.attemptReleased(productId, attempt), { at: now.toISOString() });
      const retryAfter = (error.retryAfterMs ?? ports.policy.inFlightPollSeconds * 1000) / 1000;
      await later(retryAfter, new Date(now.getTime() + retryAfter * 1000));
      return 'waiting';
    }
    if (isPermanent(error)) {
      await markSlotDone(work, decision.slot, productId, now, 'rejected');
      return fail(message, error, null, ports);
    }
    // Ambiguous (5xx, reset): the order may exist. Keep the lock; after its lease a delivery asks
    // the archive.
    ports.log.warn('order() failed ambiguously; the archive decides after the lease', {
      productId,
      error: describeError(error),
    });
    await later(ports.leaseSeconds + 1);
    return 'waiting';
  }
  const order: OrderRecord = {
    productId,
    orderId,
    slot: decision.slot,
    orderedAt: clock.now().toISOString(),
    recovered: false,
  };
  await putCreateOnly(work, ltaKeys.order(productId), order);
  ports.log.info('ordered from the archive', { productId, orderId, slot: decision.slot });
  await later(ports.pollSeconds);
  return 'ordered';
}

async function poll(
  message: OrderMessage,
  order: OrderRecord,
  ports: OrderPorts,
  later: (seconds: number) => Promise<void>,
): Promise<OrderOutcome> {
  const status = await ports.archive.status(order.productId, order.orderId ?? undefined);
  switch (status.state) {
    case 'online':
      return finish(message, { productId: order.productId, orderId: order.orderId }, order.slot, ports);
    case 'pending':
      await later(ports.pollSeconds);
      return 'pending';
    case 'failed':
    case 'none': {
      const what = status.state === 'failed' ? 'failed' : 'is unknown to the archive';
      const error = new OrderRejectedError(
        `the order ${order.orderId ?? '(unrecorded)'} of ${order.productId} ${what}${status.detail ? `: ${status.detail}` : ''}`,
        { productId: order.productId, orderId: order.orderId },
      );
      return fail(message, error, order.slot, ports);
    }
  }
}

async function finish(
  message: OrderMessage,
  result: OrderResult,
  slot: number | null,
  ports: OrderPorts,
): Promise<OrderOutcome> {
  // The slot is released before the answer: a crash in between redelivers, and both steps repeat.
  if (slot !== null) await markSlotDone(ports.work, slot, result.productId, ports.clock.now(), 'online');
  await ports.callbacks.success(message.taskToken, result);
  return 'online';
}

async function fail(
  message: OrderMessage,
  error: unknown,
  slot: number | null,
  ports: OrderPorts,
): Promise<OrderOutcome> {
  if (slot !== null) await markSlotDone(ports.work, slot, message.product.id, ports.clock.now(), 'failed');
  const name = error instanceof Error ? error.name : 'Error';
  ports.log.error('order failed', { productId: message.product.id, error: describeError(error) });
  await ports.callbacks.failure(message.taskToken, name, describeError(error));
  return 'failed';
}

function isPermanent(error: unknown): boolean {
  if (error instanceof OrderRejectedError || error instanceof ProductUnknownError) return true;
  return error instanceof HttpStatusError && error.status >= 400 && error.status < 500 && !error.retryable;
}

/** Writes create-only; false when the key already exists. */
async function putCreateOnly(store: BlobStore, key: string, value: unknown): Promise<boolean> {
  try {
    await putJson(store, key, value, true);
    return true;
  } catch (error) {
    if (error instanceof AlreadyExistsError) return false;
    throw error;
  }
}

async function markSlotDone(store: BlobStore, slot: number, productId: string, at: Date, reason: string) {
  // Plain put: a repeat after a crash writes the same fact again.
  await putJson(store, ltaKeys.slotDone(slot), { slot, productId, reason, at: at.toISOString() });
}

async function releaseSlotsOf(
  store: BlobStore,
  ledger: LedgerState,
  productId: string,
  now: Date,
  reason: string,
): Promise<void> {
  for (const s of ledger.slots) {
    if (!s.done && s.productId === productId) await markSlotDone(store, s.slot, productId, now, reason);
  }
}

async function lastAttempt(
  store: BlobStore,
  productId: string,
): Promise<{ attempt: number; released: boolean; claimedAt: string } | undefined> {
  const parsed = (await store.list(ltaKeys.productPrefix(productId))).flatMap((key) => {
    const p = parseAttemptKey(key);
    return p ? [p] : [];
  });
  const attempt = Math.max(-1, ...parsed.map((p) => p.attempt));
  if (attempt < 0) return undefined;
  const released = parsed.some((p) => p.attempt === attempt && p.released);
  const record = await getJson<AttemptRecord>(store, ltaKeys.attempt(productId, attempt));
  // A released marker without its attempt cannot happen; an epoch claimedAt makes the lease lapse.
  return { attempt, released, claimedAt: record?.claimedAt ?? new Date(0).toISOString() };
}

/** Reads the recent slots of the account's ledger. */
export async function readLedger(store: BlobStore): Promise<LedgerState> {
  const parsed = (await store.list(ltaKeys.slotsPrefix)).flatMap((key) => {
    const p = parseSlotKey(key);
    return p ? [p] : [];
  });
  const lastSlot = Math.max(-1, ...parsed.map((p) => p.slot));
  const done = new Set(parsed.filter((p) => p.done).map((p) => p.slot));
  const recent = [...new Set(parsed.map((p) => p.slot))].filter(
    (n) => n > lastSlot - LEDGER_WINDOW && (n === lastSlot || !done.has(n)),
  );
  const slots: LedgerSlot[] = [];
  for (const n of recent.sort((a, b) => a - b)) {
    const record = await getJson<SlotRecord>(store, ltaKeys.slot(n));
    if (record)
      slots.push({ slot: n, productId: record.productId, claimedAt: record.claimedAt, done: done.has(n) });
  }
  return { lastSlot, slots };
}
