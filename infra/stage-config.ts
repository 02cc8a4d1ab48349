// One zod-validated configuration per stage: the knobs of the Distributed Map and of each Lambda.
// The stack reads nothing else, so a stage differs from another only by what this schema allows.
import { z } from 'zod';
import { InvalidInputError } from '../shared/domain/errors.ts';
import { type TaskName, TaskNames } from './workflow-definition.ts';

const FunctionSettingsSchema = z.strictObject({
  /** Lambda memory, which also buys CPU (one vCPU per 1,769 MB). */
  memoryMb: z.int().min(128).max(10_240),
  /** Lambda's hard ceiling is 900 s. */
  timeoutSeconds: z.int().min(1).max(900),
});
export type FunctionSettings = z.infer<typeof FunctionSettingsSchema>;

export const StageConfigSchema = z.strictObject({
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
  functions: z.partialRecord(z.enum(TaskNames), FunctionSettingsSchema.partial()).default({
    EnsureOnline: { timeoutSeconds: 900 },
    PlanWindows: { memoryMb: 2_048, timeoutSeconds: 900 },
    ExtractRegion: { memoryMb: 3_008, timeoutSeconds: 900 },
    Commit: { memoryMb: 2_048, timeoutSeconds: 900 },
  }),
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
