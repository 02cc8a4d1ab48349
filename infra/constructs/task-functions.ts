// One Lambda per Task state of the workflow (the task table, shared/workflow/tasks.ts), each allowed
// exactly the work files its step reads and writes, the uploaded inputs it reads (jobs/,
// ground-truth/, inputs/), and the datasets bucket, where a job's output.uri picks the prefix.
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { inputPolicyEnvironment } from '../../shared/adapters/input-policy.ts';
import { type TaskAccess as TableAccess, Tasks, workPatterns } from '../../shared/workflow/tasks.ts';
import { functionSettings, type StageConfig } from '../stage-config.ts';
import { type TaskName, TaskNames } from '../workflow-definition.ts';
import { NodeFunction } from './node-function.ts';
import { grantObjects, type ObjectAccess } from './s3-access.ts';

type TaskAccess = { readonly work: ObjectAccess; readonly datasets: ObjectAccess };

/** Dataset keys are open below the bucket: a job's output.uri picks the prefix at run time. */
const ALL_KEYS = '*';

/** The grants of a task, derived from the task table (shared/workflow/tasks.ts). */
export function grantsOf(access: TableAccess): TaskAccess {
  const work = workPatterns(access);
  return {
    work: {
      ...(work.read.length ? { read: work.read } : {}),
      ...(work.write.length ? { write: work.write } : {}),
    },
    datasets: {
      ...(access.dataset.reads.length ? { read: [ALL_KEYS] } : {}),
      ...(access.dataset.writes.length ? { write: [ALL_KEYS] } : {}),
    },
  };
}

/** What each Lambda task may touch: exactly the work files, inputs and dataset files of its table entry. */
export const TASK_ACCESS: Readonly<Record<TaskName, TaskAccess>> = Object.fromEntries(
  TaskNames.map((task) => [task, grantsOf(Tasks[task].access)]),
) as Record<TaskName, TaskAccess>;

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
        entry: Tasks[task].entry,
        config,
        settings: functionSettings(config, task),
        // The handlers read the work bucket and what jobs may read once per container
        // (shared/adapters/aws/lambda-handler.ts, shared/adapters/input-policy.ts).
        environment: { WORK_BUCKET: workBucket.bucketName, ...inputPolicyEnvironment(config.inputs) },
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
