// One zod-validated configuration per stage: the knobs of the Distributed Map, of each Lambda, of
// storage lifetimes, logs and the LTA order queue. The stack reads nothing else, so a stage differs
// from another only by what this schema allows.
import { z } from 'zod';
import { InvalidInputError } from '../shared/domain/errors.ts';
import { parseCidr } from '../shared/domain/ip-ranges.ts';
import { ORDER_DEFAULTS, type TaskName, TaskNames } from './workflow-definition.ts';

const FunctionSettingsSchema = z.strictObject({
  /** Lambda memory, which also buys CPU (one vCPU per 1,769 MB). */
  memoryMb: z.int().min(128).max(10_240),
  /** Lambda's hard ceiling is 900 s. */
  timeoutSeconds: z.int().min(1).max(900),
});
export type FunctionSettings = z.infer<typeof FunctionSettingsSchema>;

/** The retention periods CloudWatch Logs accepts (a CDK RetentionDays value, minus "never expire"). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const days = (max: number) => z.int().min(1).max(max);

const StorageSchema = z.strictObject({
  /** Run scratch (`runs/`, `map-results/` in the work bucket) expires this long after it was written. */
  scratchExpirationDays: days(3_650).default(30),
  /** Parts of multipart uploads that never completed (a killed Lambda) are removed after this. */
  abortIncompleteMultipartUploadDays: days(365).default(2),
  /** Overwritten or deleted object versions are kept this long, to recover from a bad write. */
  noncurrentVersionExpirationDays: days(3_650).default(30),
  /** S3 server access logs are kept this long. */
  accessLogExpirationDays: days(3_650).default(365),
});

const OrderQueueSchema = z.strictObject({
  /** Receives of one order message before it moves to the dead-letter queue. */
  maxReceiveCount: z.int().min(1).max(1_000).default(5),
  /** Seconds between two LTA orders (CDSE throttles deferred retrievals per user). */
  orderIntervalSeconds: z.int().min(0).max(86_400).default(1_800),
  /** Orders open at once at the LTA (1 for general CDSE users). */
  maxOrdersInFlight: z.int().min(1).max(100).default(1),
  /** An order whose consumer stays silent this long is sent again (the consumer heartbeats). */
  orderHeartbeatSeconds: z.int().min(60).max(86_400).default(ORDER_DEFAULTS.orderHeartbeatSeconds),
  /** An order fails after this long: waits for the quota plus the archive's restore. */
  orderTimeoutHours: z
    .int()
    .min(1)
    .max(24 * 30)
    .default(ORDER_DEFAULTS.orderTimeoutHours),
  /** Products of one run waiting in the queue at once (children of the OrderProducts map). */
  orderMaxConcurrency: z.int().min(1).max(1_000).default(ORDER_DEFAULTS.orderMaxConcurrency),
  /** Secrets Manager secret holding the CDSE credentials; created outside this app, never in code. */
  cdseSecretName: z
    .string()
    .regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'a Secrets Manager secret name')
    .default('satfactory/cdse-credentials'),
});

/**
 * What a job run by this stage may read (shared/adapters/input-policy.ts): s3:// and https:// inputs
 * on public hosts only, unless these allow more. Local files are never read.
 */
const InputsSchema = z.strictObject({
  /** Plain http:// catalogs and imagery too (unencrypted, so off by default). */
  allowHttp: z.boolean().default(false),
  /**
   * Loopback, link-local or private ranges a job may reach over HTTP(S), as CIDR (e.g. an in-VPC
   * STAC API at 10.1.0.0/16); none by default: the instance metadata endpoint is link-local.
   */
  allowNetworks: z
    .array(
      z.string().refine((s) => parseCidr(s) !== undefined, 'an IP address or CIDR range, e.g. 10.1.0.0/16'),
    )
    .default([]),
});

export const StageConfigSchema = z
  .strictObject({
    stage: z
      .string()
      .regex(/^[a-z][a-z0-9-]*$/, 'lowercase letters, digits and dashes, starting with a letter')
      .default('dev'),
    /** Child workflows of ExtractRegions running at once: bounds the load on the COG hosts. */
    maxConcurrency: z.int().min(1).max(10_000).default(40),
    /** Share of regions that may fail before the whole run fails (0: any failure fails it). */
    toleratedFailurePercentage: z.number().min(0).max(100).default(0),
    /** Regions per ExtractRegion invocation. */
    maxItemsPerBatch: z.int().min(1).max(1_000).default(1),
    functionDefaults: FunctionSettingsSchema.default({ memoryMb: 1_024, timeoutSeconds: 300 }),
    /** Per-Task overrides of functionDefaults, keyed by Task state name. */
    // Plan (for aoi "labels"), PrepareLabels and PlanWindows hold the run's whole label set, once per
    // run: a million parcels (a 300 MB GeoJSON) took 3.4 GB and about 40 s in one process here.
    functions: z.partialRecord(z.enum(TaskNames), FunctionSettingsSchema.partial()).default({
      Plan: { memoryMb: 4_096, timeoutSeconds: 900 },
      EnsureOnline: { timeoutSeconds: 900 },
      PrepareLabels: { memoryMb: 4_096, timeoutSeconds: 900 },
      PlanWindows: { memoryMb: 4_096, timeoutSeconds: 900 },
      ExtractRegion: { memoryMb: 3_008, timeoutSeconds: 900 },
      // PlanShards holds one entry per written sample (key and byte span) while it deals them out.
      PlanShards: { memoryMb: 2_048, timeoutSeconds: 900 },
      // WriteShard streams a few final shards: memory for a few samples and one 16 MiB upload part.
      WriteShard: { memoryMb: 1_024, timeoutSeconds: 900 },
      Commit: { memoryMb: 2_048, timeoutSeconds: 900 },
    }),
    /** The LTA order consumer (SQS); the order queue's visibility timeout is 6x its timeout. */
    orderConsumer: FunctionSettingsSchema.default({ memoryMb: 256, timeoutSeconds: 60 }),
    /** The S3 upload trigger that starts an execution for a ground-truth upload. */
    startOnUpload: FunctionSettingsSchema.default({ memoryMb: 256, timeoutSeconds: 30 }),
    /** Retention of every log group of the stage: Lambda, state machine. */
    logRetentionDays: z.literal(LOG_RETENTION_DAYS).default(30),
    storage: StorageSchema.default(StorageSchema.parse({})),
    orderQueue: OrderQueueSchema.default(OrderQueueSchema.parse({})),
    inputs: InputsSchema.default(InputsSchema.parse({})),
    /** Alarm notifications go to this address as well as to the alarm topic, when set. */
    alarmEmail: z.email().optional(),
    /**
     * A run that takes longer than this times out (and the timed-out alarm fires): long enough for
     * the LTA orders (orderQueue.orderTimeoutHours) plus the extraction.
     */
    executionTimeoutHours: z.int().min(1).max(8_760).default(96),
  })
  .refine((c) => c.executionTimeoutHours > c.orderQueue.orderTimeoutHours, {
    message:
      'executionTimeoutHours must exceed orderQueue.orderTimeoutHours, or a run waiting on orders times out first',
    path: ['executionTimeoutHours'],
  });
export type StageConfig = z.infer<typeof StageConfigSchema>;

/** Validates a stage config (from cdk.json context or a file); `source` names it in errors. */
export function parseStageConfig(input: unknown, source = 'stage config'): StageConfig {
  const result = StageConfigSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const pointer = `/${(issue?.path ?? []).map(String).join('/')}`;
  throw new InvalidInputError(
    `${source} is invalid at ${pointer}: ${issue?.message ?? 'unknown problem'}; fix the value and synth again`,
    { source, pointer },
    { cause: result.error },
  );
}

/** The settings a Task's Lambda gets: its override over the stage defaults. */
export function functionSettings(config: StageConfig, task: TaskName): FunctionSettings {
  const override = config.functions[task] ?? {};
  return {
    memoryMb: override.memoryMb ?? config.functionDefaults.memoryMb,
    timeoutSeconds: override.timeoutSeconds ?? config.functionDefaults.timeoutSeconds,
  };
}
