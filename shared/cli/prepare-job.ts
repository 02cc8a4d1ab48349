// Reads a job file as a user wrote it and makes it self-contained for a run: relative paths are
// resolved against the job file's folder, an AOI file is inlined, and the run id is derived from
// the result, so the same job always maps to the same run (a rerun resumes it).
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseAoi } from '../domain/aoi.ts';
import { WORK_FOLDER } from '../domain/dataset-layout.ts';
import { InvalidInputError } from '../domain/errors.ts';
import { sha256Hex } from '../domain/hashing.ts';
import { type JobSpec, jobSpecWarnings, parseJobSpec } from '../domain/job-spec.ts';
import {
  type ClassTableSpec,
  checkClassTableFile,
  parseClassTableFile,
} from '../domain/labels/class-table.ts';
import { jsonSyntaxProblem } from '../domain/snippet.ts';
import { runIdOf } from '../work/context.ts';

export type PreparedJob = {
  job: JobSpec;
  runId: string;
  jobFile: string;
  /** Fields read under an old name, and the like: the job runs, the user should know. */
  warnings: string[];
};

const isUri = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);

function resolveLocal(value: string, baseDir: string): string {
  if (isUri(value)) return value;
  return path.resolve(baseDir, value);
}

export async function readJsonFile(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new InvalidInputError(
      `cannot read ${what} ${file}: ${(cause as Error).message}`,
      { source: file },
      { cause },
    );
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new InvalidInputError(
      `${what} ${file} is not valid JSON: ${jsonSyntaxProblem(cause)}`,
      { source: file },
      { cause },
    );
  }
}

export async function prepareJob(jobFile: string): Promise<PreparedJob> {
  const file = path.resolve(jobFile);
  const raw = await readJsonFile(file, 'job spec');
  const job = parseJobSpec(raw, file);
  const baseDir = path.dirname(file);
  if (typeof job.aoi === 'string' && job.aoi !== 'labels') {
    const aoiFile = resolveLocal(job.aoi, baseDir);
    job.aoi = (await readJsonFile(aoiFile, 'AOI file')) as JobSpec['aoi'];
    // Refused here, before anything is written, with the pointer into the AOI file.
    parseAoi(job.aoi, { source: aoiFile, pointer: '', repair: job.aoiRepair ?? false });
  } else if (typeof job.aoi === 'object') {
    parseAoi(job.aoi, { source: file, pointer: '/aoi', repair: job.aoiRepair ?? false });
  }
  for (const catalog of [job.catalog, ...(job.sources ?? []).map((x) => x.catalog)]) {
    if (catalog.kind === 'static') catalog.source = resolveLocal(catalog.source, baseDir);
    if (catalog.kind === 'files') {
      catalog.files = catalog.files.map((f) =>
        typeof f === 'string' ? resolveLocal(f, baseDir) : { ...f, path: resolveLocal(f.path, baseDir) },
      );
    }
  }
  if (job.labels) {
    job.labels.source = resolveLocal(job.labels.source, baseDir);
    if (!isUri(job.labels.source)) await requireLabelFile(job.labels.source);
    const classes = job.labels.classes;
    if (classes && typeof classes.table === 'string') {
      classes.table = resolveLocal(classes.table, baseDir);
      // A local table is read now: a bad file stops the run before anything is written.
      if (!isUri(classes.table)) await checkLocalClassTable(classes.table, classes);
    }
  }
  job.output.uri = resolveLocal(job.output.uri, baseDir);
  if (job.output.work) job.output.work = resolveLocal(job.output.work, baseDir);
  delete job.$schema;
  // A run resumes by id: edited labels under the same path must be a new run, not a stale resume.
  const labelsDigest = job.labels && !isUri(job.labels.source) ? await fileDigest(job.labels.source) : '';
  const table = job.labels?.classes?.table;
  const tableDigest = typeof table === 'string' && !isUri(table) ? `classes:${await fileDigest(table)}` : '';
  return {
    job,
    runId: runIdOf(job, `${labelsDigest}${tableDigest}`),
    jobFile: file,
    warnings: jobSpecWarnings(raw),
  };
}

/** A local labels.source must be a readable file: checked before anything is written. */
async function requireLabelFile(file: string): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(file);
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    throw new InvalidInputError(
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `labels.source ${file} does not exist; check the path (relative paths are relative to the job file)`
        : `labels.source ${file} cannot be read (${(cause as Error).message})`,
      { source: file, pointer: '/labels/source' },
      { cause },
    );
  }
  if (info.isDirectory()) {
    const names = (await readdir(file).catch(() => [] as string[])).filter((n) =>
      /\.(geojson|json|fgb|csv)$/i.test(n),
    );
    throw new InvalidInputError(
      `labels.source ${file} is a folder, not a label file; name one file in it (GeoJSON, FlatGeobuf or CSV)${names.length ? `, e.g. ${names.slice(0, 3).join(', ')}` : ''}`,
      { source: file, pointer: '/labels/source' },
    );
  }
}

/** Reads and checks a local class table file (labels.classes.table); PrepareLabels reads it again. */
async function checkLocalClassTable(file: string, spec: ClassTableSpec): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    throw new InvalidInputError(
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `labels.classes.table ${file} does not exist; check the path (relative paths are relative to the job file)`
        : `labels.classes.table ${file} cannot be read (${(cause as Error).message})`,
      { source: file, pointer: '/labels/classes/table' },
      { cause },
    );
  }
  checkClassTableFile(parseClassTableFile(bytes, file), spec, file);
}

/** sha256 of a local file, '' when it cannot be read (PrepareLabels then says what is wrong). */
async function fileDigest(file: string): Promise<string> {
  try {
    return sha256Hex(await readFile(file));
  } catch {
    return '';
  }
}

/** Where a run's scratch files go: output.work, or a hidden folder inside the dataset. */
export function workUriOf(job: JobSpec): string {
  if (job.output.work) return job.output.work;
  return isUri(job.output.uri)
    ? `${job.output.uri.replace(/\/$/, '')}/${WORK_FOLDER}`
    : pathToFileURL(path.join(job.output.uri, WORK_FOLDER)).href;
}
