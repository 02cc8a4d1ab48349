// What every step receives besides its event: the ports, and helpers to load the run's job spec.

import { InvalidInputError } from '../domain/errors.ts';
import { canonicalJson, sha256Hex } from '../domain/hashing.ts';
import type { CatalogSpec, JobSpec } from '../domain/job-spec.ts';
import { parseJobSpec } from '../domain/job-spec.ts';
import { workKeys } from '../domain/plan.ts';
import type { BlobStore, Catalog, Clock, Log, RangeReader } from '../ports.ts';
import type { ExecutionInput } from '../workflow/contracts.ts';

export type StepContext = {
  /** Scratch store of runs (plans, region results); the Distributed Map reads its items here. */
  work: BlobStore;
  /** Opens the dataset store named by the job's output.uri. */
  openStore(uri: string): BlobStore;
  ranges: RangeReader;
  openCatalog(spec: CatalogSpec): Catalog;
  clock: Clock;
  log: Log;
};

export async function getJson<T>(store: BlobStore, key: string): Promise<T | undefined> {
  const bytes = await store.get(key);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  } catch (cause) {
    throw new InvalidInputError(
      `${store.uri}/${key} is not valid JSON`,
      { source: `${store.uri}/${key}` },
      { cause },
    );
  }
}

export async function requireJson<T>(store: BlobStore, key: string, what: string): Promise<T> {
  const value = await getJson<T>(store, key);
  if (value === undefined) {
    throw new InvalidInputError(`${what} is missing at ${store.uri}/${key}; did an earlier step run?`, {
      source: `${store.uri}/${key}`,
    });
  }
  return value;
}

export async function putJson(
  store: BlobStore,
  key: string,
  value: unknown,
  createOnly = false,
): Promise<void> {
  await store.put(key, `${JSON.stringify(value, null, 1)}\n`, {
    createOnly,
    contentType: 'application/json',
  });
}

export async function loadJob(ctx: StepContext, jobKey: string): Promise<JobSpec> {
  const raw = await requireJson<unknown>(ctx.work, jobKey, 'the job spec');
  return parseJobSpec(raw, `${ctx.work.uri}/${jobKey}`);
}

/**
 * Run id of a self-contained job: its name and a hash of it (and of the content of its local input
 * files, when the caller read them), so the same job on the same inputs is the same run.
 */
export function runIdOf(job: JobSpec, inputsDigest = ''): string {
  return `${job.name}-${sha256Hex(canonicalJson(job) + inputsDigest).slice(0, 12)}`;
}

/** Stores a job at its run's key once (a rerun finds it and resumes): the execution's input. */
export async function storeJob(work: BlobStore, job: JobSpec, runId: string): Promise<ExecutionInput> {
  const jobKey = workKeys.job(runId);
  if (!(await work.exists(jobKey))) await putJson(work, jobKey, job);
  return { runId, jobKey };
}
