// PrepareLabels: read, validate and index the ground truth once per run. The label engine is its
// own piece of work; until it lands a job with labels fails here with a clear message.
import { InvalidInputError } from '../domain/errors.ts';
import { loadJob, type StepContext } from './context.ts';
import type { ExecutionInput, PrepareLabelsOutput } from './contracts.ts';

export async function prepareLabels(input: ExecutionInput, ctx: StepContext): Promise<PrepareLabelsOutput> {
  const job = await loadJob(ctx, input.jobKey);
  if (job.labels || job.windows.where === 'labels') {
    throw new InvalidInputError(
      'labels and windows.where "labels" need the label engine, which this version does not have yet: remove /labels and use windows.where "aoi"',
      { pointer: job.labels ? '/labels' : '/windows/where' },
    );
  }
  return { labelsKey: null, features: 0 };
}
