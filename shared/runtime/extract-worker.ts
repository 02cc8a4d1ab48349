// Worker-thread entry of the local runtime: runs ExtractRegion batches off the main thread, one
// context (range reader, stores) per worker, so decoding uses every core.
import { createLog } from '../adapters/local/console-log.ts';
import { extractBatch } from '../steps/extract-region.ts';
import type { StepContext } from '../work/context.ts';
import {
  type ExtractBatchEvent,
  ExtractBatchEventSchema,
  type ExtractBatchOutput,
} from '../workflow/contracts.ts';
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
  return extractBatch(ExtractBatchEventSchema.parse(task.event), ctx);
}
