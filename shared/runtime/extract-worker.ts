// Worker-thread entry of the local runtime: runs ExtractRegion batches off the main thread, one
// context (range reader, stores) per worker, so decoding uses every core. The step runs through
// runTask, as on Lambda.
import { createLog } from '../adapters/local/console-log.ts';
import type { StepContext } from '../work/context.ts';
import type { ExtractBatchEvent, ExtractBatchOutput } from '../workflow/contracts.ts';
import { runTask } from '../workflow/run-task.ts';
import { Tasks } from '../workflow/tasks.ts';
import { createLocalContext } from './local-context.ts';

export type ExtractWorkerTask = {
  event: ExtractBatchEvent;
  workUri: string;
  jsonLogs: boolean;
  verbose: boolean;
};

const contexts = new Map<string, StepContext>();

export default async function runExtract(task: ExtractWorkerTask): Promise<ExtractBatchOutput> {
  let ctx = contexts.get(task.workUri);
  if (!ctx) {
    ctx = createLocalContext({
      workUri: task.workUri,
      log: createLog({ json: task.jsonLogs, verbose: task.verbose }),
    });
    contexts.set(task.workUri, ctx);
  }
  return runTask(Tasks.ExtractRegion, task.event, ctx);
}
