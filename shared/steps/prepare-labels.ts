// PrepareLabels: read, validate and store the ground truth once per run (the Plan step may have
// read it already for `aoi: "labels"`). PlanWindows takes it from there into each tile's CRS.
import { InvalidInputError } from '../domain/errors.ts';
import { loadJob, type StepContext } from '../work/context.ts';
import { WorkFiles } from '../work/files.ts';
import { ingestLabels } from '../work/labels-store.ts';
import type { ExecutionInput, PrepareLabelsOutput } from '../workflow/contracts.ts';

export async function prepareLabels(input: ExecutionInput, ctx: StepContext): Promise<PrepareLabelsOutput> {
  const job = await loadJob(ctx, input.jobKey);
  if (!job.labels) {
    if (job.windows.where === 'labels') {
      throw new InvalidInputError('windows.where "labels" needs /labels: add the labels or use "aoi"', {
        pointer: '/windows/where',
      });
    }
    return { labelsKey: null, features: 0 };
  }
  const summary = await ingestLabels(ctx, input.runId, job);
  ctx.log.info('prepareLabels: done', {
    read: summary.read,
    kept: summary.features,
    problems: summary.problems,
  });
  return { labelsKey: WorkFiles.labelsSummary.key(input.runId), features: summary.features };
}
