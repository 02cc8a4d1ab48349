// The dataset's selection.json is a copy of the run's selection report in the work store. Plan
// writes both; a resumed Plan and Commit put the copy back when the dataset's file names another run
// (a dry run of an edited job may have replaced it while this run did not hold the folder), so a
// committed dataset's selection.json is always its own run's.
import { datasetKeys } from '../domain/dataset-layout.ts';
import { portablePathsOfJob } from '../domain/portable-paths.ts';
import type { BlobStore } from '../ports.ts';
import { loadJob, type StepContext } from './context.ts';
import { readWorkBytes, WorkFiles, writeWork } from './files.ts';

/** Stores the report with the run, then in the dataset. */
export async function writeSelectionReport(
  ctx: StepContext,
  dataset: BlobStore,
  report: { runId: string } & Record<string, unknown>,
): Promise<void> {
  await writeWork(ctx.work, WorkFiles.selectionReport, WorkFiles.selectionReport.key(report.runId), report);
  await restoreSelectionReport(ctx, dataset, report.runId, true);
}

/** Copies the run's report into the dataset unless the dataset's selection.json is already the run's. */
export async function restoreSelectionReport(
  ctx: StepContext,
  dataset: BlobStore,
  runId: string,
  force = false,
): Promise<void> {
  if (!force && runIdOf(await dataset.get(datasetKeys.selection)) === runId) return;
  const key = WorkFiles.selectionReport.key(runId);
  const bytes = await readWorkBytes(ctx.work, WorkFiles.selectionReport, key);
  // A run planned by an older satfactory has no copy: its dataset keeps what Plan wrote then.
  if (bytes === undefined) return;
  // The dataset's copy holds no local path (the catalog's description names its folder).
  const paths = portablePathsOfJob(await loadJob(ctx, WorkFiles.job.key(runId)), ctx.work.uri);
  const report = paths.value(JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown);
  await dataset.put(datasetKeys.selection, `${JSON.stringify(report, null, 1)}\n`, {
    contentType: 'application/json',
  });
}

function runIdOf(bytes: Uint8Array | undefined): string | undefined {
  if (bytes === undefined) return undefined;
  try {
    const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as { runId?: unknown };
    return typeof doc.runId === 'string' ? doc.runId : undefined;
  } catch {
    return undefined;
  }
}
