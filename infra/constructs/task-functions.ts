// One Lambda per Task state of the workflow, each allowed exactly the keys its step reads and
// writes (shared/steps/*.ts): run scratch under runs/, job specs under jobs/, ground truth under
// ground-truth/ (or inputs/, from `satfactory start`), and the datasets bucket, which a job's output.uri may name (s3://<datasets>/...).
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { functionSettings, type StageConfig } from '../stage-config.ts';
import { type TaskName, TaskNames } from '../workflow-definition.ts';
import { NodeFunction } from './node-function.ts';
import { grantObjects, type ObjectAccess } from './s3-access.ts';
import { WorkPrefixes } from './storage.ts';

const RUNS = `${WorkPrefixes.runs}*`;
const JOBS = `${WorkPrefixes.jobs}*`;
const GROUND_TRUTH = `${WorkPrefixes.groundTruth}*`;
const INPUTS = `${WorkPrefixes.inputs}*`;
const ALL_KEYS = '*';

type TaskAccess = { readonly work: ObjectAccess; readonly datasets: ObjectAccess };

/**
 * What each step touches. The job spec is stored at runs/<run>/job.json (the CLI and StartOnUpload
 * put it there). Dataset keys are open below the bucket because a job's output.uri picks the prefix.
 */
export const TASK_ACCESS: Readonly<Record<TaskName, TaskAccess>> = {
  // Catalog pages and the selection in runs/, selection.json next to the dataset; the AOI may be the
  // uploaded labels, and a static catalog a file under jobs/.
  Plan: {
    work: { read: [RUNS, JOBS, GROUND_TRUTH, INPUTS], write: [RUNS] },
    datasets: { write: [ALL_KEYS] },
  },
  // Writes the offline products as runs/<run>/orders.jsonl for the order map.
  EnsureOnline: { work: { read: [RUNS], write: [RUNS] }, datasets: {} },
  // Reads the uploaded ground truth, writes the validated, tiled label store under runs/<run>/labels/.
  PrepareLabels: { work: { read: [RUNS, GROUND_TRUTH, INPUTS], write: [RUNS] }, datasets: {} },
  PlanWindows: { work: { read: [RUNS], write: [RUNS] }, datasets: {} },
  // Results and rejects in runs/; create-only shards (HEAD first, GET on conflict) in the dataset.
  ExtractRegion: { work: { read: [RUNS], write: [RUNS] }, datasets: { read: [ALL_KEYS], write: [ALL_KEYS] } },
  // Reads every region result; writes rejects and, last, the manifest (reading an existing one first).
  Commit: { work: { read: [RUNS] }, datasets: { read: [ALL_KEYS], write: [ALL_KEYS] } },
  RecordFailure: { work: { write: [`${WorkPrefixes.runs}*/failure*`] }, datasets: {} },
};

export type TaskFunctionsProps = {
  readonly config: StageConfig;
  readonly workBucket: s3.IBucket;
  readonly datasetsBucket: s3.IBucket;
};

export class TaskFunctions extends Construct {
  readonly functions: Readonly<Record<TaskName, lambda.IFunction>>;
  readonly byTask: Readonly<Record<TaskName, NodeFunction>>;

  constructor(scope: Construct, id: string, props: TaskFunctionsProps) {
    super(scope, id);
    const { config, workBucket, datasetsBucket } = props;
    const byTask = {} as Record<TaskName, NodeFunction>;
    for (const task of TaskNames) {
      const fn = new NodeFunction(this, task, {
        name: task,
        config,
        settings: functionSettings(config, task),
        // The handlers read the work bucket once per container (shared/adapters/aws/lambda-handler.ts).
        environment: { WORK_BUCKET: workBucket.bucketName },
      });
      grantObjects(fn.function, workBucket, TASK_ACCESS[task].work);
      grantObjects(fn.function, datasetsBucket, TASK_ACCESS[task].datasets);
      byTask[task] = fn;
    }
    this.byTask = byTask;
    const functions = {} as Record<TaskName, lambda.IFunction>;
    for (const task of TaskNames) functions[task] = byTask[task].function;
    this.functions = functions;
  }
}
