// The long-term-archive (LTA) order vocabulary: what one order message carries, where the shared
// order ledger lives in the work store, and the errors of ordering. Pure: no I/O.
import { z } from 'zod';
import { SatfactoryError } from './errors.ts';

export const OrderProductSchema = z.strictObject({
  id: z.string().min(1),
  collection: z.string(),
  tile: z.string(),
  datetime: z.string(),
});
export type OrderProduct = z.infer<typeof OrderProductSchema>;

/** One offline product to order: a line of the run's orders JSONL, the item of the OrderProducts map. */
export const OrderItemSchema = z.strictObject({ runId: z.string(), product: OrderProductSchema });
export type OrderItem = z.infer<typeof OrderItemSchema>;

/**
 * The SQS message body: the item plus the task token of the waiting OrderProduct state. `notBefore`
 * (ISO time) lets a long wait hop through several ≤900 s delays without rereading the ledger.
 */
export const OrderMessageSchema = OrderItemSchema.extend({
  taskToken: z.string().min(1),
  notBefore: z.string().optional(),
});
export type OrderMessage = z.infer<typeof OrderMessageSchema>;

/** Slot n of the ledger: the n-th order of the account, claimed create-only just before order(). */
export const SlotRecordSchema = z.strictObject({
  slot: z.int().min(0),
  productId: z.string(),
  runId: z.string(),
  attempt: z.int().min(0),
  claimedAt: z.string(),
});
export type SlotRecord = z.infer<typeof SlotRecordSchema>;

/** Slot n is no longer in flight: its order is online, failed, or was never placed. */
export const SlotDoneRecordSchema = z.strictObject({
  slot: z.int().min(0),
  productId: z.string(),
  reason: z.string(),
  at: z.string(),
});

/** Attempt k to order a product: a per-product lock, held for a lease. */
export const AttemptRecordSchema = z.strictObject({
  attempt: z.int().min(0),
  runId: z.string(),
  claimedAt: z.string(),
  task: z.string().optional(),
});
export type AttemptRecord = z.infer<typeof AttemptRecordSchema>;

export const AttemptReleasedRecordSchema = z.strictObject({ at: z.string() });

/** Attempt k ordered the product. */
export const OrderRecordSchema = z.strictObject({
  productId: z.string(),
  orderId: z.string().nullable(),
  slot: z.int().min(0).nullable(),
  orderedAt: z.string(),
  /** The attempt (generation) that placed the order. */
  attempt: z.int().min(0),
  /** The task the order was placed for (taskId): its failure fails that task, and only that one. */
  task: z.string().nullable(),
  /** True when a redelivery learnt of the order from the archive (its orderer crashed). */
  recovered: z.boolean(),
});
export type OrderRecord = z.infer<typeof OrderRecordSchema>;

/**
 * The ledger is shared by every run that uses the same work store (one archive account): its keys
 * sit outside runs/. Every write is create-only, so concurrent consumers arbitrate through the store.
 */
export const ltaKeys = {
  slotsPrefix: 'lta/slots/',
  /** Slot n: the n-th order of the account, claimed create-only just before order(). */
  slot: (n: number) => `lta/slots/${String(n).padStart(12, '0')}.json`,
  /** Written when slot n's order is online, failed, or was never placed: it is no longer in flight. */
  slotDone: (n: number) => `lta/slots/${String(n).padStart(12, '0')}.done.json`,
  productPrefix: (productId: string) => `lta/products/${encodeURIComponent(productId)}/`,
  /**
   * Attempt k to order a product: a per-product lock, held for a lease. k is also the order's
   * generation: a product restored once and gone offline again (or whose order the archive purged)
   * is ordered again as attempt k+1, after attempt k is released.
   */
  attempt: (productId: string, k: number) =>
    `lta/products/${encodeURIComponent(productId)}/attempt-${String(k).padStart(6, '0')}.json`,
  /** Attempt k is over: it placed no order (quota answer, lost lease), or its order is finished. */
  attemptReleased: (productId: string, k: number) =>
    `lta/products/${encodeURIComponent(productId)}/attempt-${String(k).padStart(6, '0')}.released.json`,
  /** Attempt k ordered the product: its order id and slot. At most one per attempt. */
  order: (productId: string, k: number) =>
    `lta/products/${encodeURIComponent(productId)}/order-${String(k).padStart(6, '0')}.json`,
} as const;

/** Parses a slot key back to its index and kind; undefined for foreign keys. */
export function parseSlotKey(key: string): { slot: number; done: boolean } | undefined {
  const match = /^lta\/slots\/(\d{12})(\.done)?\.json$/.exec(key);
  return match ? { slot: Number(match[1]), done: match[2] !== undefined } : undefined;
}

/** Parses an attempt key of a product prefix listing. */
export function parseAttemptKey(key: string): { attempt: number; released: boolean } | undefined {
  const match = /\/attempt-(\d{6})(\.released)?\.json$/.exec(key);
  return match ? { attempt: Number(match[1]), released: match[2] !== undefined } : undefined;
}

/** The archive does not know the product (wrong id, withdrawn): ordering can never succeed. */
export class ProductUnknownError extends SatfactoryError {
  override readonly name = 'ProductUnknownError';
}

/** Parses an order record key of a product prefix listing to its attempt. */
export function parseOrderKey(key: string): { attempt: number } | undefined {
  const match = /\/order-(\d{6})\.json$/.exec(key);
  return match ? { attempt: Number(match[1]) } : undefined;
}

/** The archive refused the order for good (4xx other than 429), or the order ended failed. */
export class OrderRejectedError extends SatfactoryError {
  override readonly name = 'OrderRejectedError';
}

/** The task token no longer belongs to a waiting state (execution ended, timed out): drop the message. */
export class TaskGoneError extends SatfactoryError {
  override readonly name = 'TaskGoneError';
}
