// The job-level refetch figure for the bench: bytes of COG tiles the regions fetched over the
// distinct bytes of those ranges (1: no byte fetched twice), from a job run on the local runtime.
import { blobStoreForUri } from '../shared/adapters/blob-store-for-uri.ts';
import { prepareJob, workUriOf } from '../shared/cli/prepare-job.ts';
import { type Manifest, ManifestSchema } from '../shared/domain/manifest.ts';
import { noProgress, silentLog } from '../shared/ports.ts';
import { createLocalContext } from '../shared/runtime/local-context.ts';
import { runJobLocally } from '../shared/runtime/run-job.ts';

export type RefetchFigures = {
  ratio: number | null;
  requests: number;
  bytesFetched: number;
  bytesDistinct: number;
};

/** The figures of a committed dataset's manifest (`io`); null ratio when nothing was fetched. */
export function refetchOfManifest(manifest: Manifest): RefetchFigures {
  const io = manifest.io;
  if (!io || io.bytesDistinct === undefined) {
    throw new Error(
      `manifest of run ${manifest.runId} has no io.bytesDistinct (written before it was counted)`,
    );
  }
  return {
    ratio: io.bytesDistinct > 0 ? io.bytesFetched / io.bytesDistinct : null,
    requests: io.requests,
    bytesFetched: io.bytesFetched,
    bytesDistinct: io.bytesDistinct,
  };
}

/** Runs a job file (or resumes/reuses its committed dataset) and returns its refetch figures. */
export async function refetchRatioOfJob(jobFile: string, threads = 1): Promise<RefetchFigures> {
  const prepared = await prepareJob(jobFile);
  const workUri = workUriOf(prepared.job);
  await runJobLocally({
    ...prepared,
    workUri,
    ctx: createLocalContext({ workUri, log: silentLog }),
    progress: noProgress,
    threads,
  });
  const bytes = await blobStoreForUri(prepared.job.output.uri).get('manifest.json');
  if (!bytes) throw new Error(`${prepared.job.output.uri} has no manifest.json after the run`);
  return refetchOfManifest(ManifestSchema.parse(JSON.parse(Buffer.from(bytes).toString('utf8'))));
}
