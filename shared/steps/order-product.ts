// OrderProduct's consumer: handles one LTA order message. It orders the product within the archive
// quota, keeps polling until it is online, then answers the waiting state through its task token.
//
// Idempotence: messages are delivered at least once and consumers crash. A product is ordered only
// by the holder of a create-only attempt lock (leased), in a create-only quota slot, and
// order-<attempt>.json records the order. A redelivery after a lost lease asks the archive before
// ever ordering again. A recorded order is never trusted on its own: the archive's availability is
// asked first, and an order that is over (restored long ago and offline again, purged by the archive,
// or failed for another task) releases its attempt, so the next attempt orders again under the quota.
//
// Duplicate message chains: a consumer that dies after sending its follow-up message but before the
// message it received is deleted (SQS delivers that one again), or a Step Functions retry after a
// HeartbeatTimeout (a fresh message, while the old chain still circulates), leaves two chains polling
// one product. That is safe: the decisions that matter (attempt lock, quota slot, order record,
// release) are create-only writes that exactly one chain wins, so the product is still ordered once,
// and a chain whose task was answered or has ended gets TaskGoneError at its next heartbeat or answer
// and drops out. The cost is extra archive calls (availability, status) and messages until then.
import { AlreadyExistsError, describeError, HttpStatusError } from '../domain/errors.ts';
import { sha256Hex } from '../domain/hashing.ts';
import {
  type AttemptRecord,
  ltaKeys,
  type OrderMessage,
  type OrderRecord,
  OrderRejectedError,
  ProductUnknownError,
  parseAttemptKey,
  parseOrderKey,
  parseSlotKey,
  type SlotRecord,
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
import type {
  ArchiveAvailability,
  ArchiveOrders,
  BlobStore,
  Clock,
  Log,
  OrderQueue,
  TaskCallbacks,
} from '../ports.ts';
import { readWork, type WorkFileSpec, WorkFiles, writeWork } from '../work/files.ts';
import type { OrderResult } from '../workflow/contracts.ts';

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
/**
 * How long a completed order vouches for its product when the catalogue still says offline (its
 * Online flag may lag behind the order); after that the product has gone back to the archive.
 */
export const COMPLETED_ORDER_TRUST_SECONDS = 24 * 3600;
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

/** A short, stable id of a task token: enough to tell tasks apart without storing the token. */
function taskId(token: string): string {
  return sha256Hex(token).slice(0, 16);
}

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

  const current = await lastAttempt(work, productId);
  let availability: ArchiveAvailability | undefined;
  if (current && !current.released) {
    let order = current.order;
    if (!order) {
      const age = (now.getTime() - Date.parse(current.claimedAt)) / 1000;
      if (age < ports.leaseSeconds) {
        await later(ports.leaseSeconds - age + 1);
        return 'busy';
      }
      // The holder died somewhere between its lock and its order record: only the archive knows
      // whether order() went through. Its latest order may be one of an earlier attempt, which is over.
      const status = await archive.status(productId);
      const earlier =
        status.orderId !== undefined && (await earlierOrderIds(work, productId, current)).has(status.orderId);
      if (status.state !== 'none' && !earlier) {
        order = await recoverOrder(productId, current, status.orderId ?? null, ports);
        ports.log.warn('recovered an order its consumer did not record', { productId, state: status.state });
      } else {
        await release(work, productId, current.attempt, now);
        await releaseSlotsOf(work, await readLedger(work), productId, now, 'abandoned');
      }
    }
    if (order) {
      const outcome = await follow(message, order, ports, later);
      if (outcome !== 'over') return outcome;
      availability = 'offline';
    }
  }

  availability ??= await archive.availability(productId);
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

  const attempt = (current?.attempt ?? -1) + 1;
  const task = taskId(message.taskToken);
  const attemptRecord: AttemptRecord = { attempt, runId: message.runId, claimedAt: now.toISOString(), task };
  if (
    !(await putCreateOnly(work, WorkFiles.ltaAttempt, ltaKeys.attempt(productId, attempt), attemptRecord))
  ) {
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
  if (!(await putCreateOnly(work, WorkFiles.ltaSlot, ltaKeys.slot(decision.slot), slotRecord))) {
    // Another product took this slot first: give the lock back and look at the quota again.
    await release(work, productId, attempt, now);
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
      await release(work, productId, attempt, now);
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
    attempt,
    task,
    recovered: false,
  };
  await putCreateOnly(work, WorkFiles.ltaOrder, ltaKeys.order(productId, attempt), order);
  ports.log.info('ordered from the archive', { productId, orderId, slot: decision.slot });
  await later(ports.pollSeconds);
  return 'ordered';
}

/**
 * Follows a recorded order: the archive's availability first (a product restored once may be offline
 * again by now), then the order's status. 'over' when the order can no longer bring the product
 * online: its attempt is released, and the caller orders again as the next attempt.
 */
async function follow(
  message: OrderMessage,
  order: OrderRecord,
  ports: OrderPorts,
  later: (seconds: number) => Promise<void>,
): Promise<OrderOutcome | 'over'> {
  const { archive, work } = ports;
  const { productId } = order;
  const availability = await archive.availability(productId);
  if (availability === 'online')
    return finish(message, { productId, orderId: order.orderId }, order.slot, ports);
  if (availability === 'unknown') {
    const error = new ProductUnknownError(`${archive.description} does not know product ${productId}`, {
      productId,
    });
    return fail(message, error, order.slot, ports);
  }
  const status = await archive.status(productId, order.orderId ?? undefined);
  const mine = order.task === taskId(message.taskToken);
  if (status.state === 'pending') {
    await later(ports.pollSeconds);
    return 'pending';
  }
  // An order completed for this task, or lately for another one: trust it over the catalogue.
  const age = (ports.clock.now().getTime() - Date.parse(order.orderedAt)) / 1000;
  if (status.state === 'online' && (mine || age < COMPLETED_ORDER_TRUST_SECONDS)) {
    return finish(message, { productId, orderId: order.orderId }, order.slot, ports);
  }
  if (status.state === 'failed' && mine) {
    const error = new OrderRejectedError(
      `the order ${order.orderId ?? '(unrecorded)'} of ${productId} failed${status.detail ? `: ${status.detail}` : ''}`,
      { productId, orderId: order.orderId },
    );
    return fail(message, error, order.slot, ports);
  }
  // Over: restored long ago and offline again, failed for another task, or forgotten by the archive. Releasing is create-only, so concurrent deliveries agree; one of them wins the next
  // attempt's lock and orders.
  const now = ports.clock.now();
  ports.log.info('the last order of an offline product is over: ordering it again', {
    productId,
    orderId: order.orderId,
    attempt: order.attempt,
    state: status.state,
  });
  if (order.slot !== null) await markSlotDone(work, order.slot, productId, now, 'over');
  await release(work, productId, order.attempt, now);
  return 'over';
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
async function putCreateOnly<T>(
  store: BlobStore,
  file: WorkFileSpec<T>,
  key: string,
  value: T,
): Promise<boolean> {
  try {
    await writeWork(store, file, key, value, { createOnly: true });
    return true;
  } catch (error) {
    if (error instanceof AlreadyExistsError) return false;
    throw error;
  }
}

async function markSlotDone(store: BlobStore, slot: number, productId: string, at: Date, reason: string) {
  // Plain put: a repeat after a crash writes the same fact again.
  const record = { slot, productId, reason, at: at.toISOString() };
  await writeWork(store, WorkFiles.ltaSlotDone, ltaKeys.slotDone(slot), record);
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

type Attempt = {
  readonly attempt: number;
  readonly released: boolean;
  readonly claimedAt: string;
  readonly task: string | null;
  /** The order this attempt placed, once recorded. */
  readonly order: OrderRecord | undefined;
  /** Attempts that recorded an order, this one included. */
  readonly ordered: readonly number[];
};

/** The product's last attempt: its lock, whether it is released, and its order. */
async function lastAttempt(store: BlobStore, productId: string): Promise<Attempt | undefined> {
  const keys = await store.list(ltaKeys.productPrefix(productId));
  const parsed = keys.flatMap((key) => {
    const p = parseAttemptKey(key);
    return p ? [p] : [];
  });
  const ordered = keys.flatMap((key) => {
    const p = parseOrderKey(key);
    return p ? [p.attempt] : [];
  });
  const attempt = Math.max(-1, ...parsed.map((p) => p.attempt));
  if (attempt < 0) return undefined;
  const released = parsed.some((p) => p.attempt === attempt && p.released);
  const record = await readWork(store, WorkFiles.ltaAttempt, ltaKeys.attempt(productId, attempt));
  const order = ordered.includes(attempt)
    ? await readWork(store, WorkFiles.ltaOrder, ltaKeys.order(productId, attempt))
    : undefined;
  return {
    attempt,
    released,
    // A released marker without its attempt cannot happen; an epoch claimedAt makes the lease lapse.
    claimedAt: record?.claimedAt ?? new Date(0).toISOString(),
    task: record?.task ?? null,
    order,
    ordered,
  };
}

/** The order ids that attempts before the current one recorded: those orders are over. */
async function earlierOrderIds(store: BlobStore, productId: string, current: Attempt): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const k of current.ordered) {
    if (k >= current.attempt) continue;
    const record = await readWork(store, WorkFiles.ltaOrder, ltaKeys.order(productId, k));
    if (record?.orderId) ids.add(record.orderId);
  }
  return ids;
}

/** Records an order found at the archive for an attempt whose holder died before recording it. */
async function recoverOrder(
  productId: string,
  current: Attempt,
  orderId: string | null,
  ports: OrderPorts,
): Promise<OrderRecord> {
  const ledger = await readLedger(ports.work);
  const slot = ledger.slots.filter((s) => s.productId === productId && !s.done).at(-1)?.slot ?? null;
  const order: OrderRecord = {
    productId,
    orderId,
    slot,
    orderedAt: ports.clock.now().toISOString(),
    attempt: current.attempt,
    task: current.task,
    recovered: true,
  };
  const key = ltaKeys.order(productId, current.attempt);
  if (await putCreateOnly(ports.work, WorkFiles.ltaOrder, key, order)) return order;
  // Another delivery recovered it first: follow its record.
  return (await readWork(ports.work, WorkFiles.ltaOrder, key)) ?? order;
}

/** Ends an attempt: it placed no order, or its order is over. Repeats are harmless. */
async function release(store: BlobStore, productId: string, attempt: number, at: Date): Promise<void> {
  const key = ltaKeys.attemptReleased(productId, attempt);
  await putCreateOnly(store, WorkFiles.ltaAttemptReleased, key, { at: at.toISOString() });
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
    const record = await readWork(store, WorkFiles.ltaSlot, ltaKeys.slot(n));
    if (record)
      slots.push({ slot: n, productId: record.productId, claimedAt: record.claimedAt, done: done.has(n) });
  }
  return { lastSlot, slots };
}
