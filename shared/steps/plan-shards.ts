// PlanShards: deal every written sample of each split, across regions, into the final shards
// (shared/domain/reshard.ts): one plan work file per final shard, and the shards JSONL that the
// WriteShards Distributed Map fans out over. Deterministic: a rerun writes the same plans.
import { mergedBandSummaries } from '../domain/band-stats.ts';
import { datasetKeys } from '../domain/dataset-layout.ts';
import { QUICKLOOK_BANDS } from '../domain/job-spec.ts';
import { quicklookStretch } from '../domain/quicklook.ts';
import { planSplitShards } from '../domain/reshard.ts';
import { SPLITS } from '../domain/splits.ts';
import { loadJob, type StepContext } from '../work/context.ts';
import { requireWork, requireWorkLines, WorkFiles, writeWork, writeWorkLines } from '../work/files.ts';
import { loadRegionResults } from '../work/region-results.ts';
import type { ExecutionInput, PlanShardsOutput, ShardTask } from '../workflow/contracts.ts';

export async function planShards(input: ExecutionInput, ctx: StepContext): Promise<PlanShardsOutput> {
  const job = await loadJob(ctx, input.jobKey);
  const summary = await requireWork(
    ctx.work,
    WorkFiles.windowsSummary,
    WorkFiles.windowsSummary.key(input.runId),
  );
  const regions = await requireWorkLines(ctx.work, WorkFiles.regions, summary.regionsKey);
  const results = await loadRegionResults(ctx, input.runId, regions);
  const regionShards = results.flatMap((r) => r.shards);
  // Quicklooks are stretched by the dataset's statistics, final now that every region reported.
  const quicklooks = job.output.quicklooks
    ? quicklookStretch(
        mergedBandSummaries(
          results.map((r) => r.stats),
          QUICKLOOK_BANDS,
        ),
      )
    : undefined;
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
        ...(quicklooks ? { quicklooks } : {}),
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
