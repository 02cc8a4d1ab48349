// The events and results of the workflow's Task states: what flows between states. They carry
// storage keys and counts only (Step Functions caps state at 256 KiB). Handlers parse with these.
import { z } from 'zod';

/** Input of an execution: the job spec was stored at jobKey in the work store. */
export const ExecutionInputSchema = z.object({
  runId: z.string().regex(/^[a-z0-9-]+$/),
  jobKey: z.string().min(1),
});
export type ExecutionInput = z.infer<typeof ExecutionInputSchema>;

export const PlanOutputSchema = ExecutionInputSchema.extend({
  selectionKey: z.string(),
  products: z.int(),
  tiles: z.int(),
  offline: z.int(),
});
export type PlanOutput = z.infer<typeof PlanOutputSchema>;

export const EnsureOnlineOutputSchema = z.object({
  /** Selected products readable now. */
  online: z.int(),
  /** Selected products in a long-term archive: the OrderProducts map orders them when > 0. */
  offline: z.int(),
  /** JSONL in the work store, one OrderItem per offline product; null when none is offline. */
  ordersKey: z.string().nullable(),
});
export type EnsureOnlineOutput = z.infer<typeof EnsureOnlineOutputSchema>;

export const PrepareLabelsOutputSchema = z.object({ labelsKey: z.string().nullable(), features: z.int() });
export type PrepareLabelsOutput = z.infer<typeof PrepareLabelsOutputSchema>;

export const PlanWindowsOutputSchema = z.object({
  /** JSONL in the work store, one RegionTask per line: the Distributed Map's ItemReader reads it. */
  regionsKey: z.string(),
  regions: z.int(),
  windows: z.int(),
  bytesToFetch: z.number(),
});
export type PlanWindowsOutput = z.infer<typeof PlanWindowsOutputSchema>;

/** One line of the regions JSONL: everything a region worker needs, besides the plan files it names. */
export const RegionTaskSchema = z.strictObject({
  runId: z.string(),
  jobKey: z.string(),
  regionId: z.string(),
  /** Key of the plan (grid, bands, products, COG indexes) in the work store. */
  planKey: z.string(),
});
export type RegionTask = z.infer<typeof RegionTaskSchema>;

/** Event of the ExtractRegion task: a batch from the Distributed Map's ItemBatcher. */
export const ExtractBatchEventSchema = z.object({
  Items: z.array(RegionTaskSchema).min(1),
  BatchInput: z.record(z.string(), z.unknown()).optional(),
});
export type ExtractBatchEvent = z.infer<typeof ExtractBatchEventSchema>;

export const ExtractBatchOutputSchema = z.object({
  regions: z.int(),
  written: z.int(),
  rejected: z.int(),
  bytesFetched: z.number(),
});
export type ExtractBatchOutput = z.infer<typeof ExtractBatchOutputSchema>;

/** PlanShards: the final shards planned, and the JSONL of the WriteShards map (one ShardTask a line). */
export const PlanShardsOutputSchema = z.object({
  shardsKey: z.string(),
  shards: z.int(),
  samples: z.int(),
});
export type PlanShardsOutput = z.infer<typeof PlanShardsOutputSchema>;

/** One line of the shards JSONL: one final shard to write, its plan in the work store. */
export const ShardTaskSchema = z.strictObject({
  runId: z.string(),
  jobKey: z.string(),
  split: z.enum(['train', 'validation', 'test']),
  /** The shard's number within its split (names its path, plan and result). */
  index: z.int().min(0),
  planKey: z.string(),
});
export type ShardTask = z.infer<typeof ShardTaskSchema>;

/** Event of the WriteShard task: a batch of final shards from the WriteShards map's ItemBatcher. */
export const WriteShardsEventSchema = z.object({
  Items: z.array(ShardTaskSchema).min(1),
  BatchInput: z.record(z.string(), z.unknown()).optional(),
});
export type WriteShardsEvent = z.infer<typeof WriteShardsEventSchema>;

export const WriteShardsOutputSchema = z.object({ shards: z.int(), samples: z.int(), bytes: z.number() });
export type WriteShardsOutput = z.infer<typeof WriteShardsOutputSchema>;

export const CommitOutputSchema = z.object({
  manifestKey: z.string(),
  samples: z.int(),
  rejected: z.int(),
  shards: z.int(),
});
export type CommitOutput = z.infer<typeof CommitOutputSchema>;

/** An order's item and message live with the LTA vocabulary (shared/domain/lta.ts). */
export { OrderItemSchema, OrderMessageSchema } from '../domain/lta.ts';

/** The state RecordFailure receives: the execution's, with the caught error at $.error. */
export const FailureEventSchema = z.object({ runId: z.string(), error: z.unknown() }).loose();
export type FailureEvent = z.infer<typeof FailureEventSchema>;

export const FailureOutputSchema = z.object({ recorded: z.string() });
export type FailureOutput = z.infer<typeof FailureOutputSchema>;

/** What a finished OrderProduct state returns (the consumer's TaskCallbacks.success output). */
export const OrderResultSchema = z.object({ productId: z.string(), orderId: z.string().nullable() });
export type OrderResult = z.infer<typeof OrderResultSchema>;

/** The names of the Task states, shared by the CDK definition, the Lambdas and the local runtime. */
export const StateNames = {
  plan: 'Plan',
  ensureOnline: 'EnsureOnline',
  prepareLabels: 'PrepareLabels',
  planWindows: 'PlanWindows',
  extractRegions: 'ExtractRegions',
  extractRegion: 'ExtractRegion',
  planShards: 'PlanShards',
  writeShards: 'WriteShards',
  writeShard: 'WriteShard',
  commit: 'Commit',
  recordFailure: 'RecordFailure',
} as const;

/** The states of the LTA branch: a Choice, the Distributed Map, and its SQS callback Task. */
export const OrderStateNames = {
  needsOrders: 'NeedsOrders',
  orderProducts: 'OrderProducts',
  orderProduct: 'OrderProduct',
} as const;
