// The results of every region of a run, as PlanShards and Commit both need them: a region without
// a result means the extraction did not finish, and the step stops naming it (a rerun resumes it).
import { IntegrityError } from '../domain/errors.ts';
import type { RegionResult } from '../domain/plan.ts';
import type { StepContext } from './context.ts';
import { readWork, WorkFiles } from './files.ts';

export async function loadRegionResults(
  ctx: StepContext,
  runId: string,
  regions: readonly { regionId: string }[],
): Promise<RegionResult[]> {
  const results: RegionResult[] = [];
  const missing: string[] = [];
  for (const t of regions) {
    const r = await readWork(ctx.work, WorkFiles.regionResult, WorkFiles.regionResult.key(runId, t.regionId));
    if (r) results.push(r);
    else missing.push(t.regionId);
  }
  if (missing.length > 0) {
    throw new IntegrityError(
      `${missing.length} of ${regions.length} regions have no result (${missing.slice(0, 5).join(', ')}); rerun the job to resume them`,
      { source: ctx.work.uri },
    );
  }
  return results;
}
