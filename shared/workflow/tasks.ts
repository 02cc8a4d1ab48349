// The one table of the workflow's Task states: for each, its event and result schemas, the step it
// runs, its Lambda entry point and what it may touch (work files, uploaded inputs, dataset files).
// The Lambda handlers, the local runtime's handlers and the IAM grants are all derived from it, and
// tests check it against the synthesized state machine.
import type { z } from 'zod';
import { datasetKeys } from '../domain/dataset-layout.ts';
import { commit } from '../steps/commit.ts';
import { ensureOnline } from '../steps/ensure-online.ts';
import { extractBatch } from '../steps/extract-region.ts';
import { plan } from '../steps/plan.ts';
import { planShards } from '../steps/plan-shards.ts';
import { planWindows } from '../steps/plan-windows.ts';
import { prepareLabels } from '../steps/prepare-labels.ts';
import { recordFailure } from '../steps/record-failure.ts';
import { writeShards } from '../steps/write-shards.ts';
import type { StepContext } from '../work/context.ts';
import { type WorkFileSpec, WorkFiles } from '../work/files.ts';
import {
  CommitOutputSchema,
  EnsureOnlineOutputSchema,
  ExecutionInputSchema,
  ExtractBatchEventSchema,
  ExtractBatchOutputSchema,
  FailureEventSchema,
  FailureOutputSchema,
  OrderMessageSchema,
  OrderResultSchema,
  OrderStateNames,
  PlanOutputSchema,
  PlanShardsOutputSchema,
  PlanWindowsOutputSchema,
  PrepareLabelsOutputSchema,
  StateNames,
  WriteShardsEventSchema,
  WriteShardsOutputSchema,
} from './contracts.ts';

/**
 * Files in the work bucket that users (or `satfactory start`) put there: job specs and static
 * catalogs under jobs/, ground truth under ground-truth/ (an upload there starts a run), and label or
 * AOI files that `satfactory start` uploads under inputs/.
 */
export const WorkInputs = {
  jobs: 'jobs/*',
  groundTruth: 'ground-truth/*',
  inputs: 'inputs/*',
} as const;
export type WorkInput = (typeof WorkInputs)[keyof typeof WorkInputs];

/** Key patterns relative to the dataset root (output.uri). */
export const DatasetFiles = {
  manifest: datasetKeys.manifest,
  /** Every step that writes to the dataset reads it first, and creates it when the folder is free. */
  claim: datasetKeys.claim,
  selection: datasetKeys.selection,
  rejects: datasetKeys.rejects,
  labelsLog: datasetKeys.labelsLog,
  collection: datasetKeys.collection,
  items: datasetKeys.items,
  card: datasetKeys.card,
  shards: '*/*.tar',
} as const;
export type DatasetFile = (typeof DatasetFiles)[keyof typeof DatasetFiles];

export type TaskAccess = {
  readonly reads: readonly WorkFileSpec<unknown>[];
  readonly writes: readonly WorkFileSpec<unknown>[];
  /** Listed prefixes of work files (a LIST needs s3:ListBucket, which every reader has). */
  readonly inputs: readonly WorkInput[];
  readonly dataset: { readonly reads: readonly DatasetFile[]; readonly writes: readonly DatasetFile[] };
};

/** A Task state that invokes a Lambda: the step runs inside it, synchronously. */
export type LambdaTask<I = unknown, O = unknown> = {
  readonly kind: 'lambda';
  readonly state: string;
  /** lambdas/<entry>/index.ts exports `handler = lambdaTaskHandler(Tasks.<state>)`. */
  readonly entry: string;
  readonly summary: string;
  readonly input: z.ZodType<I>;
  readonly output: z.ZodType<O>;
  readonly run: (input: I, ctx: StepContext) => Promise<O>;
  readonly access: TaskAccess;
  /** Where the local runtime runs it: inline on the main thread, or in the worker pool (CPU-heavy). */
  readonly local: 'inline' | 'worker-pool';
};

/**
 * A Task state that sends a message and waits for its task token (`.waitForTaskToken`): its step
 * runs in the consumer of the queue (a Lambda on AWS, an in-process queue locally).
 */
export type CallbackTask<I = unknown, O = unknown> = {
  readonly kind: 'callback';
  readonly state: string;
  /** The queue consumer's lambdas/<entry>/index.ts. */
  readonly entry: string;
  readonly summary: string;
  readonly input: z.ZodType<I>;
  readonly output: z.ZodType<O>;
  readonly access: TaskAccess;
};

export type TaskDefinition = LambdaTask<never, unknown> | CallbackTask;

function lambdaTask<S extends z.ZodType, O>(task: {
  state: string;
  entry: string;
  summary: string;
  input: S;
  output: z.ZodType<O>;
  run: (input: z.output<S>, ctx: StepContext) => Promise<O>;
  access: Partial<TaskAccess>;
  local?: 'worker-pool';
}): LambdaTask<z.output<S>, O> {
  return {
    kind: 'lambda',
    ...task,
    input: task.input as z.ZodType<z.output<S>>,
    access: fullAccess(task.access),
    local: task.local ?? 'inline',
  };
}

function fullAccess(access: Partial<TaskAccess>): TaskAccess {
  return {
    reads: access.reads ?? [],
    writes: access.writes ?? [],
    inputs: access.inputs ?? [],
    dataset: access.dataset ?? { reads: [], writes: [] },
  };
}

const W = WorkFiles;
const labelFiles = [W.labelsSummary, W.labelsLog, W.labelsFeatures];
/** What a step that writes to the dataset reads first: the claim, the manifest, selection.json. */
const ownership = [DatasetFiles.claim, DatasetFiles.manifest, DatasetFiles.selection];
/** Lambda tasks receive the whole execution state; each reads the fields it needs. */
const executionState = ExecutionInputSchema.loose();

export const Tasks = {
  [StateNames.plan]: lambdaTask({
    state: StateNames.plan,
    entry: 'plan',
    summary: 'catalog search and product selection',
    input: executionState,
    output: PlanOutputSchema,
    run: plan,
    access: {
      // aoi "labels" reads the labels here already (stored once for PrepareLabels).
      reads: [W.job, W.selection, W.selectionReport, W.labelsSummary],
      writes: [W.catalogPage, W.selection, W.selectionReport, ...labelFiles],
      inputs: [WorkInputs.jobs, WorkInputs.groundTruth, WorkInputs.inputs],
      // The claim first (a legacy dataset's manifest names its owner), then selection.json.
      dataset: { reads: ownership, writes: [DatasetFiles.claim, DatasetFiles.selection] },
    },
  }),
  [StateNames.ensureOnline]: lambdaTask({
    state: StateNames.ensureOnline,
    entry: 'ensure-online',
    summary: 'offline products become the orders file of the OrderProducts map',
    input: executionState,
    output: EnsureOnlineOutputSchema,
    run: ensureOnline,
    access: { reads: [W.selection], writes: [W.orders] },
  }),
  [StateNames.prepareLabels]: lambdaTask({
    state: StateNames.prepareLabels,
    entry: 'prepare-labels',
    summary: 'ground truth read, validated and stored once per run',
    input: executionState,
    output: PrepareLabelsOutputSchema,
    run: prepareLabels,
    access: {
      reads: [W.job, W.labelsSummary],
      writes: labelFiles,
      // jobs/*: a class table file next to the job (labels.classes.table, upload trigger).
      inputs: [WorkInputs.jobs, WorkInputs.groundTruth, WorkInputs.inputs],
    },
  }),
  [StateNames.planWindows]: lambdaTask({
    state: StateNames.planWindows,
    entry: 'plan-windows',
    summary: 'COG headers, window grids, regions and the regions file of the ExtractRegions map',
    input: executionState,
    output: PlanWindowsOutputSchema,
    run: planWindows,
    access: {
      reads: [
        W.job,
        W.windowsSummary,
        W.selection,
        W.selectionReport,
        W.tilePlan,
        W.labelsSummary,
        W.labelsFeatures,
      ],
      writes: [
        W.tilePlan,
        W.regionPlan,
        W.regionLabels,
        W.labelsUnplaced,
        W.regions,
        W.windowsSummary,
        W.selectionReport,
      ],
      // The radiometry probe's verdicts go into the run's selection report (Commit copies it).
    },
  }),
  [StateNames.extractRegion]: lambdaTask({
    state: StateNames.extractRegion,
    entry: 'extract-region',
    summary: 'one batch of regions: range reads, windows, labels, region shards (work files)',
    input: ExtractBatchEventSchema,
    output: ExtractBatchOutputSchema,
    run: extractBatch,
    // Decoding is CPU-bound: locally a worker thread per core, as Lambda gives each batch its own.
    local: 'worker-pool',
    access: {
      reads: [W.regionResult, W.job, W.regionPlan, W.tilePlan, W.labelsSummary, W.regionLabels],
      writes: [W.regionShard, W.regionRejects, W.regionResult],
    },
  }),
  [StateNames.planShards]: lambdaTask({
    state: StateNames.planShards,
    entry: 'plan-shards',
    summary:
      "final shards per split: count, seeded permutation of the split's samples, the WriteShards map's file",
    input: executionState,
    output: PlanShardsOutputSchema,
    run: planShards,
    access: {
      reads: [W.job, W.windowsSummary, W.regions, W.regionResult],
      writes: [W.shardPlan, W.shardTasks],
    },
  }),
  [StateNames.writeShard]: lambdaTask({
    state: StateNames.writeShard,
    entry: 'write-shard',
    summary: 'one batch of final shards: sample blocks range-read from region shards, streamed, hashed',
    input: WriteShardsEventSchema,
    output: WriteShardsOutputSchema,
    run: writeShards,
    access: {
      reads: [W.shardResult, W.job, W.shardPlan, W.regionShard],
      writes: [W.shardIndex, W.shardResult],
      // Create-only shards: an existing one (an interrupted run) is read back and compared.
      dataset: {
        reads: [...ownership, DatasetFiles.shards],
        writes: [DatasetFiles.claim, DatasetFiles.shards],
      },
    },
  }),
  [StateNames.commit]: lambdaTask({
    state: StateNames.commit,
    entry: 'commit',
    summary: 'accounting checks, statistics, and manifest.json written last',
    input: executionState,
    output: CommitOutputSchema,
    run: commit,
    access: {
      reads: [
        W.job,
        W.windowsSummary,
        W.selection,
        W.selectionReport,
        W.regions,
        W.regionResult,
        W.regionRejects,
        W.shardTasks,
        W.shardResult,
        W.shardIndex,
        W.tilePlan,
        W.labelsSummary,
        W.labelsLog,
        W.labelsUnplaced,
      ],
      dataset: {
        // The shards' sample .json make the STAC sample index (steps/describe-dataset.ts).
        reads: [...ownership, DatasetFiles.shards],
        // selection.json is put back when a dry run of another job replaced it (work/selection-report.ts).
        writes: [
          DatasetFiles.claim,
          DatasetFiles.selection,
          DatasetFiles.rejects,
          DatasetFiles.labelsLog,
          DatasetFiles.collection,
          DatasetFiles.items,
          DatasetFiles.card,
          DatasetFiles.manifest,
        ],
      },
    },
  }),
  [StateNames.recordFailure]: lambdaTask({
    state: StateNames.recordFailure,
    entry: 'record-failure',
    summary: "keeps a failed run's error next to its work files",
    input: FailureEventSchema,
    output: FailureOutputSchema,
    run: recordFailure,
    access: { writes: [W.failure] },
  }),
  [OrderStateNames.orderProduct]: {
    kind: 'callback',
    state: OrderStateNames.orderProduct,
    entry: 'order-consumer',
    summary: 'orders one offline product from the LTA within its quota, then answers the task token',
    input: OrderMessageSchema,
    output: OrderResultSchema,
    access: fullAccess({
      reads: [W.ltaSlot, W.ltaAttempt, W.ltaOrder],
      writes: [W.ltaSlot, W.ltaSlotDone, W.ltaAttempt, W.ltaAttemptReleased, W.ltaOrder],
    }),
  } satisfies CallbackTask,
} as const;

export type TaskName = keyof typeof Tasks;
export const TaskNames = Object.keys(Tasks) as TaskName[];

/** The Task states that invoke a Lambda synchronously, in table order. */
export const LambdaTaskNames = TaskNames.filter((name) => Tasks[name].kind === 'lambda') as Array<
  Exclude<TaskName, typeof OrderStateNames.orderProduct>
>;

/** Key patterns a task may read and write in the work store (IAM style, `*` = anything). */
export function workPatterns(access: TaskAccess): { read: string[]; write: string[] } {
  const unique = (xs: readonly string[]) => [...new Set(xs)].sort();
  return {
    read: unique([...access.reads.map((f) => f.pattern), ...access.inputs]),
    write: unique(access.writes.map((f) => f.pattern)),
  };
}

export type LambdaTaskName = (typeof LambdaTaskNames)[number];

/** A Lambda task by name, for code that handles them all alike (its event is parsed, so `unknown` in). */
export function lambdaTaskOf(name: LambdaTaskName): LambdaTask<unknown, unknown> {
  return Tasks[name] as unknown as LambdaTask<unknown, unknown>;
}
