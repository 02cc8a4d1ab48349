// What every step receives besides its event: the ports, the run's job spec, and the run id that
// names a job on its inputs (and on the work-file format, so an upgraded satfactory starts afresh).
import { InvalidInputError } from '../domain/errors.ts';
import { canonicalJson, sha256Hex } from '../domain/hashing.ts';
import type { CatalogSpec, JobSpec } from '../domain/job-spec.ts';
import type { BlobStore, Catalog, Clock, Log, Metrics, RangeReader } from '../ports.ts';
import type { ExecutionInput } from '../workflow/contracts.ts';
import { requireWork, WORK_FORMAT_VERSION, WorkFiles, writeWork } from './files.ts';

export type StepContext = {
  /** Scratch store of runs (plans, region results); the Distributed Map reads its items here. */
  work: BlobStore;
  /** Opens the dataset store named by the job's output.uri. */
  openStore(uri: string): BlobStore;
  ranges: RangeReader;
  /** `ranges` with a SAS token appended to every href (catalog `sign`), one token per collection. */
  signedRanges?(endpoint: string, collection: string): RangeReader;
  openCatalog(spec: CatalogSpec): Catalog;
  clock: Clock;
  log: Log;
  /** Figures of the work done (bytes fetched, samples written, rejects): EMF on Lambda. */
  metrics: Metrics;
};

/** The reader of a catalog's assets: the context's, signing hrefs when the catalog says `sign`. */
export function readerForCatalog(ctx: StepContext, spec: CatalogSpec, pointer = '/catalog'): RangeReader {
  const sign = spec.kind === 'files' ? undefined : spec.sign;
  if (!sign) return ctx.ranges;
  const collection = sign.collection ?? (spec.kind === 'stac' ? spec.collection : undefined);
  if (collection === undefined) {
    throw new InvalidInputError(
      `${pointer}/sign needs a collection: name the one whose token signs the hrefs`,
      {
        pointer: `${pointer}/sign/collection`,
      },
    );
  }
  if (!ctx.signedRanges) throw new Error('this runtime cannot sign hrefs (no signedRanges in its context)');
  return ctx.signedRanges(sign.endpoint, collection);
}

/** User-provided JSON (a job file, an AOI) from a store; undefined when absent. */
export async function readUserJson(store: BlobStore, key: string): Promise<unknown> {
  const bytes = await store.get(key);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (cause) {
    throw new InvalidInputError(
      `${store.uri}/${key} is not valid JSON`,
      { source: `${store.uri}/${key}` },
      { cause },
    );
  }
}

/** The run's job spec, as stored by storeJob. */
export async function loadJob(ctx: Pick<StepContext, 'work'>, jobKey: string): Promise<JobSpec> {
  return requireWork(ctx.work, WorkFiles.job, jobKey);
}

/**
 * Run id of a self-contained job: its name and a hash of it (and of the content of its local input
 * files, when the caller read them, and of the work-file format), so the same job on the same inputs
 * with the same satfactory is the same run, and a rerun resumes it.
 */
export function runIdOf(job: JobSpec, inputsDigest = ''): string {
  const digest = sha256Hex(`${canonicalJson(job)}${inputsDigest}work-format:${WORK_FORMAT_VERSION}`);
  return `${job.name}-${digest.slice(0, 12)}`;
}

/** Stores a job at its run's key once (a rerun finds it and resumes): the execution's input. */
export async function storeJob(work: BlobStore, job: JobSpec, runId: string): Promise<ExecutionInput> {
  const jobKey = WorkFiles.job.key(runId);
  if (!(await work.exists(jobKey))) await writeWork(work, WorkFiles.job, jobKey, job);
  return { runId, jobKey };
}
