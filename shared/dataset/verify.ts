// verify: re-derive a dataset's books from its bytes. Re-hashes and re-counts every shard, checks
// the manifest's splits and totals against them, reports every file the manifest does not account
// for, and returns every problem found, not just the first.

import { datasetKeys, datasetSideFiles, WORK_FOLDER } from '../domain/dataset-layout.ts';
import { InvalidInputError } from '../domain/errors.ts';
import { sha256Hex } from '../domain/hashing.ts';
import {
  jobSha256Of,
  type Manifest,
  ManifestSchema,
  type ManifestShard,
  manifestTotalsProblems,
} from '../domain/manifest.ts';
import { type NpyHeader, readNpyHeader } from '../domain/npy.ts';
import { readShard, type ShardSample } from '../domain/shard.ts';
import { jsonSyntaxProblem, quoteSnippet } from '../domain/snippet.ts';
import { SPLITS } from '../domain/splits.ts';
import type { BlobStore } from '../ports.ts';

export type VerifyReport = {
  ok: boolean;
  problems: string[];
  /** Things that do not break the dataset but deserve a look. */
  warnings: string[];
  /** Shards read and checked. */
  shards: number;
  /** Distinct samples counted in the shards. */
  samples: number;
  /** Bytes of shards read. */
  bytes: number;
};

export type VerifyOptions = {
  /** Shards checked at once; each is held in memory while hashed and read (default 2). */
  concurrency?: number;
  onShard?: (path: string) => void;
};

/** A systematic fault repeats in every sample: report the first few per shard, count the rest. */
const MAX_SAMPLE_PROBLEMS_PER_SHARD = 20;

type ShardCheck = { problems: string[]; samples: number; bytes: number; keys: string[] };

export async function verifyDataset(store: BlobStore, options: VerifyOptions = {}): Promise<VerifyReport> {
  const manifestBytes = await store.get(datasetKeys.manifest);
  if (manifestBytes === undefined) {
    throw new InvalidInputError(
      `no ${datasetKeys.manifest} at ${store.uri}: the dataset was never committed (its run failed or is ` +
        'still going) or the URI is wrong',
      { source: `${store.uri}/${datasetKeys.manifest}` },
    );
  }
  const report: VerifyReport = { ok: false, problems: [], warnings: [], shards: 0, samples: 0, bytes: 0 };
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(manifestBytes).toString('utf8'));
  } catch (error) {
    report.problems.push(`manifest.json is not JSON: ${jsonSyntaxProblem(error)}`);
    return report;
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    report.problems.push(
      ...parsed.error.issues.map((i) => `manifest.json /${i.path.join('/')}: ${i.message}`),
    );
    return report;
  }
  const manifest = parsed.data;
  report.problems.push(...manifestTotalsProblems(manifest));
  if (jobSha256Of(manifest.job) !== manifest.jobSha256) {
    report.problems.push('manifest.json: jobSha256 does not match the job spec it records');
  }

  const checks = await mapLimit(manifest.shards, Math.max(1, options.concurrency ?? 2), async (shard) => {
    const check = await checkShard(store, shard);
    options.onShard?.(shard.path);
    return check;
  });

  const owner = new Map<string, string>();
  const recounted: Record<string, number> = {};
  checks.forEach((check, i) => {
    const shard = manifest.shards[i]!;
    report.problems.push(...check.problems);
    report.shards += 1;
    report.samples += check.samples;
    report.bytes += check.bytes;
    recounted[shard.split] = (recounted[shard.split] ?? 0) + check.samples;
    for (const key of check.keys) {
      const first = owner.get(key);
      if (first !== undefined) report.problems.push(`sample ${key} is in both ${first} and ${shard.path}`);
      else owner.set(key, shard.path);
    }
  });
  for (const split of SPLITS) {
    const found = recounted[split] ?? 0;
    if (found !== manifest.splits[split].samples) {
      report.problems.push(
        `splits.${split}: manifest says ${manifest.splits[split].samples} samples, shards hold ${found}`,
      );
    }
  }
  if (report.samples !== manifest.totals.written) {
    report.problems.push(
      `totals: manifest says ${manifest.totals.written} written, shards hold ${report.samples}`,
    );
  }
  report.problems.push(...(await sampleIndexProblems(store, owner)));
  report.problems.push(...(await unaccountedFiles(store, manifest)));
  report.problems.push(...(await otherRunFiles(store, manifest.runId)));
  report.ok = report.problems.length === 0;
  return report;
}

/**
 * Each shard the manifest lists exists with the size it records, and with its sha256 when `hash`
 * (which reads every byte). What `satfactory run` checks on a dataset that is already committed.
 */
export async function checkShardFiles(
  store: BlobStore,
  manifest: Manifest,
  options: { hash: boolean },
): Promise<string[]> {
  const problems: string[] = [];
  const checks = await mapLimit(manifest.shards, 4, async (shard) => {
    if (!options.hash) {
      const size = await store.size(shard.path);
      if (size === undefined) return [`${shard.path}: missing`];
      return size === shard.bytes ? [] : [`${shard.path}: ${size} bytes, manifest says ${shard.bytes}`];
    }
    const bytes = await store.get(shard.path);
    if (bytes === undefined) return [`${shard.path}: missing`];
    if (bytes.byteLength !== shard.bytes)
      return [`${shard.path}: ${bytes.byteLength} bytes, manifest says ${shard.bytes}`];
    const sha = sha256Hex(bytes);
    return sha === shard.sha256 ? [] : [`${shard.path}: sha256 ${sha}, manifest says ${shard.sha256}`];
  });
  for (const c of checks) problems.push(...c);
  return problems;
}

async function checkShard(store: BlobStore, shard: ManifestShard): Promise<ShardCheck> {
  const out: ShardCheck = { problems: [], samples: 0, bytes: 0, keys: [] };
  const bytes = await store.get(shard.path);
  if (bytes === undefined) {
    out.problems.push(`${shard.path}: missing`);
    return out;
  }
  out.bytes = bytes.byteLength;
  if (bytes.byteLength !== shard.bytes) {
    out.problems.push(`${shard.path}: ${bytes.byteLength} bytes, manifest says ${shard.bytes}`);
  }
  const sha = sha256Hex(bytes);
  if (sha !== shard.sha256) out.problems.push(`${shard.path}: sha256 ${sha}, manifest says ${shard.sha256}`);
  let samples: ShardSample[];
  try {
    samples = await readShard(bytes);
  } catch (error) {
    out.problems.push(`${shard.path}: cannot be read as a WebDataset tar: ${(error as Error).message}`);
    return out;
  }
  out.samples = samples.length;
  out.keys = samples.map((s) => s.key);
  if (samples.length !== shard.samples) {
    out.problems.push(`${shard.path}: holds ${samples.length} samples, manifest says ${shard.samples}`);
  }
  let sampleProblems = 0;
  const report = (text: string) => {
    sampleProblems += 1;
    if (sampleProblems <= MAX_SAMPLE_PROBLEMS_PER_SHARD) out.problems.push(`${shard.path}: ${text}`);
  };
  for (const sample of samples) checkSample(sample, shard.split, report);
  if (sampleProblems > MAX_SAMPLE_PROBLEMS_PER_SHARD) {
    out.problems.push(
      `${shard.path}: ${sampleProblems - MAX_SAMPLE_PROBLEMS_PER_SHARD} more sample problems`,
    );
  }
  return out;
}

type SampleMeta = {
  split?: unknown;
  groups?: Record<string, { shape?: unknown }>;
  labels?: { size?: unknown } | null;
};

/** Label members: dtype, and shape in label pixels (null: one side per window). */
const LABEL_MEMBERS: Record<string, { dtype: string; channels: number | null }> = {
  'labels.npy': { dtype: '<u2', channels: null },
  'instances.npy': { dtype: '<u4', channels: null },
  'coverage.npy': { dtype: '<f4', channels: null },
  'double.npy': { dtype: '|u1', channels: null },
  'distance.npy': { dtype: '<f4', channels: null },
  'buildings.npy': { dtype: '|u1', channels: 3 },
};

/** `<key>.vector.json` (labels.outputs "vector"): JSON with an objects list, on the sample's label grid. */
function checkVector(key: string, data: Uint8Array, size: unknown, report: (text: string) => void): void {
  let doc: { size?: unknown; objects?: unknown };
  try {
    doc = JSON.parse(Buffer.from(data).toString('utf8')) as typeof doc;
  } catch {
    report(`${key}.vector.json is not valid JSON`);
    return;
  }
  if (doc === null || typeof doc !== 'object' || !Array.isArray(doc.objects)) {
    report(`${key}.vector.json has no objects list`);
    return;
  }
  if (doc.size !== size)
    report(`${key}.vector.json: size ${String(doc.size)}, ${key}.json labels.size ${String(size)}`);
}

/** The members' own consistency: a .json that parses, readable .npy headers, group shapes as declared. */
function checkSample(sample: ShardSample, split: string, report: (text: string) => void): void {
  const headers = new Map<string, NpyHeader>();
  for (const member of sample.members) {
    if (!member.name.endsWith('.npy')) continue;
    try {
      headers.set(member.name, readNpyHeader(member.data));
    } catch (error) {
      report(`${sample.key}.${member.name}: ${(error as Error).message}`);
    }
  }
  const json = sample.members.find((m) => m.name === 'json');
  if (json === undefined) {
    report(`sample ${sample.key} has no .json member`);
    return;
  }
  let meta: SampleMeta;
  try {
    meta = JSON.parse(Buffer.from(json.data).toString('utf8')) as SampleMeta;
  } catch {
    report(`${sample.key}.json is not valid JSON`);
    return;
  }
  if (meta === null || typeof meta !== 'object') {
    report(`${sample.key}.json is not an object`);
    return;
  }
  if (meta.split !== undefined && meta.split !== split) {
    report(`${sample.key}.json says split ${String(meta.split)}, the shard is ${split}`);
  }
  const size = meta.labels?.size;
  for (const [name, spec] of Object.entries(LABEL_MEMBERS)) {
    const header = headers.get(name);
    if (header === undefined) continue;
    if (typeof size !== 'number') {
      report(`${sample.key}.${name} is present but ${sample.key}.json has no labels.size`);
      continue;
    }
    const want = spec.channels === null ? [size, size] : [spec.channels, size, size];
    if (header.dtype !== spec.dtype)
      report(`${sample.key}.${name}: dtype ${header.dtype}, want ${spec.dtype}`);
    if (header.shape.join(',') !== want.join(',')) {
      report(`${sample.key}.${name}: shape [${header.shape.join(', ')}], want [${want.join(', ')}]`);
    }
  }
  const vector = sample.members.find((m) => m.name === 'vector.json');
  if (vector) checkVector(sample.key, vector.data, size, report);
  for (const [group, spec] of Object.entries(meta.groups ?? {})) {
    const name = `${group}.npy`;
    if (!sample.members.some((m) => m.name === name)) {
      report(`${sample.key}.json declares group ${group} but there is no ${name} member`);
      continue;
    }
    const header = headers.get(name);
    if (header === undefined) continue;
    if (header.dtype !== '<u2') report(`${sample.key}.${name}: dtype ${header.dtype}, want <u2 (uint16)`);
    if (Array.isArray(spec?.shape) && spec.shape.join(',') !== header.shape.join(',')) {
      report(
        `${sample.key}.${name}: shape [${header.shape.join(', ')}], json says [${spec.shape.join(', ')}]`,
      );
    }
  }
}

/**
 * Files under the dataset that the manifest does not account for: shards it does not list (another
 * run's, or leftovers) and any other file. The work folder and the dataset's own side files
 * (dataset-layout.ts) are expected.
 */
async function unaccountedFiles(store: BlobStore, manifest: Manifest): Promise<string[]> {
  const known = new Set([...datasetSideFiles, ...manifest.shards.map((s) => s.path)]);
  const problems: string[] = [];
  for (const key of await store.list('')) {
    if (known.has(key) || key.startsWith(`${WORK_FOLDER}/`)) continue;
    const shard = SPLITS.some((s) => key.startsWith(`${s}/`)) && key.endsWith('.tar');
    problems.push(
      shard
        ? `${key}: a shard the manifest does not list (another run's, or a leftover)`
        : `${key}: not part of the dataset (the manifest does not account for it)`,
    );
  }
  return problems;
}

/**
 * The STAC sample index (items.ndjson) lists every sample once, in the shard that holds it, and
 * collection.json is JSON. A dataset committed before they existed has neither: nothing to check.
 */
async function sampleIndexProblems(store: BlobStore, owner: ReadonlyMap<string, string>): Promise<string[]> {
  const problems: string[] = [];
  const collection = await store.get(datasetKeys.collection);
  if (collection !== undefined) {
    try {
      JSON.parse(Buffer.from(collection).toString('utf8'));
    } catch (error) {
      problems.push(`${datasetKeys.collection} is not JSON: ${jsonSyntaxProblem(error)}`);
    }
  }
  const bytes = await store.get(datasetKeys.items);
  if (bytes === undefined) return problems;
  const listed = new Set<string>();
  const lines = Buffer.from(bytes).toString('utf8').split('\n');
  for (const [i, line] of lines.entries()) {
    if (line.length === 0) continue;
    const where = `${datasetKeys.items} line ${i + 1}`;
    let item: { id?: unknown; assets?: { shard?: { href?: unknown } } };
    try {
      item = JSON.parse(line) as typeof item;
    } catch (error) {
      problems.push(`${where} is not JSON: ${jsonSyntaxProblem(error)}`);
      continue;
    }
    const id = typeof item.id === 'string' ? item.id : undefined;
    const shard =
      typeof item.assets?.shard?.href === 'string' ? item.assets.shard.href.replace(/^\.\//, '') : '';
    if (id === undefined || listed.has(id)) {
      problems.push(`${where}: ${id === undefined ? 'no id' : `sample ${id} is listed twice`}`);
      continue;
    }
    listed.add(id);
    const holder = owner.get(id);
    if (holder === undefined) problems.push(`${where}: sample ${id} is in no shard`);
    else if (holder !== shard)
      problems.push(`${where}: sample ${id} is in ${holder}, the index says ${shard}`);
  }
  const unlisted = [...owner.keys()].filter((k) => !listed.has(k));
  if (unlisted.length > 0) {
    problems.push(
      `${datasetKeys.items} does not list ${unlisted.length} sample(s): ${unlisted.slice(0, 5).join(', ')}`,
    );
  }
  return problems;
}

/** selection.json and claim.json name the run they belong to: it must be the manifest's. */
async function otherRunFiles(store: BlobStore, runId: string): Promise<string[]> {
  const problems: string[] = [];
  for (const key of [datasetKeys.selection, datasetKeys.claim]) {
    const bytes = await store.get(key);
    if (bytes === undefined) continue;
    let named: unknown;
    try {
      named = (JSON.parse(Buffer.from(bytes).toString('utf8')) as { runId?: unknown }).runId;
    } catch (error) {
      problems.push(`${key} is not JSON: ${jsonSyntaxProblem(error)}`);
      continue;
    }
    if (named !== runId) {
      const other = typeof named === 'string' ? quoteSnippet(named, 80) : 'none';
      problems.push(`${key} belongs to run ${other}, the manifest to run ${runId}`);
    }
  }
  return problems;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
