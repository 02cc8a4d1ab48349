// Lambda of the RecordFailure state: keeps the error of a failed run next to its work files.
import { z } from 'zod';
import { lambdaHandler } from '../../shared/adapters/aws/lambda-handler.ts';
import { workKeys } from '../../shared/domain/plan.ts';
import { putJson } from '../../shared/work/context.ts';

const FailureSchema = z.object({ runId: z.string(), error: z.unknown() }).loose();

export const handler = lambdaHandler('RecordFailure', FailureSchema, async (event, ctx) => {
  await putJson(ctx.work, workKeys.failure(event.runId), {
    error: event.error,
    at: ctx.clock.now().toISOString(),
  });
  return { recorded: workKeys.failure(event.runId) };
});
