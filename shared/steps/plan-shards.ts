// PlanShards: deal every written sample of each split, across regions, into the final shards
// (shared/domain/reshard.ts): one plan work file per final shard, and the shards JSONL that the
// WriteShards Distributed Map fans out over. Deterministic: a rerun writes the same plans.
import { datasetKeys } from '../domain/dataset-layout.ts';
import { IntegrityError } from '../domain/errors.ts';
import type { RegionResult } from '../domain/plan.ts';
import { planSplitShards } from '../domain/reshard.ts';
import { SPLITS } from '../domain/splits.ts';
import { loadJob, type StepContext } from '../work/context.ts';
import {
  readWork,
  requireWork,
  requireWorkLines,
  WorkFiles,
  writeWork,
  writeWorkLines,
} from '../work/files.ts';
import type { ExecutionInput, PlanShardsOutput, ShardTask } from '../workflow/contracts.ts';

export async function planShards(input: ExecutionInput, ctx: StepContext): Promise<PlanShardsOutput> {
  const job = await loadJob(ctx, input.jobKey);
  const summary = await requireWork(
    ctx.work,
    WorkFiles.windowsSummary,
    WorkFiles.windowsSummary.key(input.runId),
  );
  const regions = await requireWorkLines(ctx.work, WorkFiles.regions, summary.regionsKey);
  const results: RegionResult[] = [];
  const missing: string[] = [];
  for (const t of regions) {
    const r = await readWork(
      ctx.work,
      WorkFiles.regionResult,
      WorkFiles.regionResult.key(input.runId, t.regionId),
    );
    if (r) results.push(r);
    else missing.push(t.regionId);
  }
  if (missing.length > 0) {
    throw new IntegrityError(
      `${missing.length} of ${regions.length} regions have no result (${missing.slice(0, 5).join(', ')}); rerun the job to resume them`,
      { source: ctx.work.uri },
    );
  }
  const regionShards = results.flatMap((r) => r.shards);
  const tasks: ShardTask[] = [];
  let samples = 0;
  for (const split of SPLITS) {
    const plans = planSplitShards({
      split,
      regionShards,
      shardBytes: job.output.shardBytes,
      minShards: job.output.minShardsPerSplit,
      seed: job.splits.seed,
    });
    for (const plan of plans) {
      const planKey = WorkFiles.shardPlan.key(input.runId, split, plan.index);
      await writeWork(ctx.work, WorkFiles.shardPlan, planKey, {
        runId: input.runId,
        split,
        index: plan.index,
        path: datasetKeys.shard(job.name, split, plan.index),
        bytes: plan.bytes,
        samples: plan.samples,
      });
      tasks.push({ runId: input.runId, jobKey: input.jobKey, split, index: plan.index, planKey });
      samples += plan.samples.length;
    }
    if (plans.length > 0) {
      const sizes = plans.map((p) => p.samples.length);
      ctx.log.info('planShards: split dealt', {
        split,
        shards: plans.length,
        samples: sizes.reduce((a, b) => a + b, 0),
        samplesPerShard: [Math.min(...sizes), Math.max(...sizes)],
      });
    }
  }
  const shardsKey = WorkFiles.shardTasks.key(input.runId);
  await writeWorkLines(ctx.work, WorkFiles.shardTasks, shardsKey, tasks);
  return { shardsKey, shards: tasks.length, samples };
}
