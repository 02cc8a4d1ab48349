// RecordFailure: keeps the error of a failed run next to its work files (runs/<run>/failure.json),
// so `satfactory status` and a person reading the work bucket see why, after the execution is gone.
import type { StepContext } from '../work/context.ts';
import { WorkFiles, writeWork } from '../work/files.ts';
import type { FailureEvent, FailureOutput } from '../workflow/contracts.ts';

export async function recordFailure(event: FailureEvent, ctx: StepContext): Promise<FailureOutput> {
  const key = WorkFiles.failure.key(event.runId);
  await writeWork(ctx.work, WorkFiles.failure, key, {
    error: event.error,
    at: ctx.clock.now().toISOString(),
  });
  return { recorded: key };
}
