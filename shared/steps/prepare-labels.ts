// PrepareLabels: read, validate and index the ground truth once per run (the Plan step may have
// read it already for `aoi: "labels"`), then store it per tile in the tile's CRS, in cells, so each
// region worker loads only the polygons near its windows.
import { InvalidInputError } from '../domain/errors.ts';
import { workKeys } from '../domain/plan.ts';
import { loadJob, requireJson, type StepContext } from './context.ts';
import type { ExecutionInput, PrepareLabelsOutput } from './contracts.ts';
import { ingestLabels, labelKeys, partitionLabels } from './labels-store.ts';
import type { StoredSelection } from './plan.ts';

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
  const selection = await requireJson<StoredSelection>(
    ctx.work,
    workKeys.selection(input.runId),
    'the selection',
  );
  const tiles = await partitionLabels(ctx, input.runId, summary, selection.chosen);
  ctx.log.info('prepareLabels: done', {
    features: summary.features,
    tiles: Object.fromEntries(tiles.map((t) => [t.tile, t.features])),
  });
  return { labelsKey: labelKeys.summary(input.runId), features: summary.features };
}
