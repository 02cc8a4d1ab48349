// Worker-thread entry of the local runtime: runs the Task states that the task table marks
// `local: 'worker-pool'` (ExtractRegion batches) off the main thread, one context (range reader,
// stores) per worker, so decoding uses every core. The step runs through runTask, as on Lambda.
import { createLog } from '../adapters/local/console-log.ts';
import type { StepContext } from '../work/context.ts';
import { runTask } from '../workflow/run-task.ts';
import { type LambdaTaskName, lambdaTaskOf } from '../workflow/tasks.ts';
import { createLocalContext } from './local-context.ts';

export type WorkerTask = {
  state: LambdaTaskName;
  event: unknown;
  workUri: string;
  jsonLogs: boolean;
  verbose: boolean;
};

const contexts = new Map<string, StepContext>();

export default async function runWorkerTask(task: WorkerTask): Promise<unknown> {
  let ctx = contexts.get(task.workUri);
  if (!ctx) {
    ctx = createLocalContext({
      workUri: task.workUri,
      log: createLog({ json: task.jsonLogs, verbose: task.verbose }),
    });
    contexts.set(task.workUri, ctx);
  }
  return runTask(lambdaTaskOf(task.state), task.event, ctx);
}
