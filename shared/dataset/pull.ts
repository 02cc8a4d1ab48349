// satfactory pull: copies a dataset (a folder, S3, HTTP(S)) into a local folder and verifies every
// shard against the sha256 and size in its manifest. Resumable: a shard already in the folder with the
// right bytes is kept, a damaged or partial one fetched again. Each file is written under a temporary
// name and renamed, and the manifest is written last, so a folder with a manifest holds every shard
// that was asked for, verified.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { datasetKeys } from '../domain/dataset-layout.ts';
import { IntegrityError, InvalidInputError } from '../domain/errors.ts';
import { sha256Hex } from '../domain/hashing.ts';
import type { Manifest, ManifestShard } from '../domain/manifest.ts';
import { type Log, noProgress, type Progress, silentLog } from '../ports.ts';
import { parseManifest } from './reader.ts';
import type { DatasetSource } from './source.ts';

export type PullOptions = {
  /** Only the shards of this split (the manifest and the side files come along). */
  split?: string;
  /** Shards fetched at once; each is held in memory while verified (default 4). */
  concurrency?: number;
  progress?: Progress;
  log?: Log;
};

export type PullReport = {
  /** Shards the pull covered (all, or those of the split). */
  shards: number;
  /** Shards fetched from the source. */
  fetched: number;
  /** Of those, shards that were in the folder but damaged or partial. */
  refetched: number;
  /** Shards already in the folder with the right size and sha256. */
  kept: number;
  /** Bytes of shards fetched. */
  bytes: number;
  /** Other files copied (selection, rejects, label log), and those the source lacks. */
  sideFiles: string[];
  missingSideFiles: string[];
};

export const PULL_PHASE = 'pull shards';

/** A source copy that fails its sha256 is fetched this many times before the pull gives up. */
const FETCH_ATTEMPTS = 2;

/** Files of a dataset next to its shards that have no checksum in the manifest. */
function sideFiles(manifest: Manifest): string[] {
  const keys = [
    datasetKeys.selection,
    manifest.rejects,
    manifest.classes?.validation?.log,
    datasetKeys.collection,
    datasetKeys.items,
    datasetKeys.card,
  ];
  return [...new Set(keys.filter((k): k is string => typeof k === 'string'))];
}

/** The local path of a dataset key, refusing anything that would land outside the folder. */
function localPath(dir: string, key: string): string {
  const parts = key.split('/');
  if (key.length === 0 || key.includes('\\') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new InvalidInputError(`the manifest names "${key}", which is not a path inside the dataset`);
  }
  const full = path.join(dir, ...parts);
  if (!full.startsWith(`${dir}${path.sep}`)) throw new InvalidInputError(`"${key}" resolves outside ${dir}`);
  return full;
}

/** Writes a temp file next to the target, syncs it, then renames: never half a file under the name. */
async function writeAtomically(target: string, bytes: Uint8Array): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const temp = `${target}.part`;
  try {
    const handle = await open(temp, 'w', 0o644);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } finally {
    await rm(temp, { force: true });
  }
}

type LocalState = { state: 'ok' } | { state: 'missing' } | { state: 'damaged'; why: string };

/** Whether the local copy of a shard has the manifest's size and sha256 (hashed as a stream). */
async function localState(file: string, shard: ManifestShard): Promise<LocalState> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return { state: 'missing' };
    throw error;
  }
  if (size !== shard.bytes)
    return { state: 'damaged', why: `${size} bytes, the manifest says ${shard.bytes}` };
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  const sha = hash.digest('hex');
  return sha === shard.sha256
    ? { state: 'ok' }
    : { state: 'damaged', why: `sha256 ${sha}, the manifest says ${shard.sha256}` };
}

async function fetchVerified(source: DatasetSource, shard: ManifestShard, log: Log): Promise<Uint8Array> {
  const where = `${source.uri}/${shard.path}`;
  let problem = '';
  for (let attempt = 1; attempt <= FETCH_ATTEMPTS; attempt++) {
    const bytes = await source.get(shard.path);
    if (bytes === undefined) {
      throw new IntegrityError(`${where} is missing at the source, though its manifest lists it`, {
        source: where,
      });
    }
    problem =
      bytes.byteLength !== shard.bytes
        ? `${bytes.byteLength} bytes, the manifest says ${shard.bytes}`
        : sha256Hex(bytes) === shard.sha256
          ? ''
          : `sha256 ${sha256Hex(bytes)}, the manifest says ${shard.sha256}`;
    if (problem === '') return bytes;
    log.warn(
      `pull: ${where} arrived damaged (${problem})${attempt < FETCH_ATTEMPTS ? ', fetching again' : ''}`,
    );
  }
  throw new IntegrityError(`${where}: ${problem}; the source copy is damaged (run satfactory verify on it)`, {
    source: where,
  });
}

/** Copies the dataset at `source` into `dir`; throws IntegrityError naming every shard that failed. */
export async function pullDataset(
  source: DatasetSource,
  dir: string,
  options: PullOptions = {},
): Promise<PullReport> {
  const root = path.resolve(dir);
  const log = options.log ?? silentLog;
  const progress = options.progress ?? noProgress;
  const where = `${source.uri}/${datasetKeys.manifest}`;
  const manifestBytes = await source.get(datasetKeys.manifest);
  if (manifestBytes === undefined) {
    throw new InvalidInputError(
      `no ${datasetKeys.manifest} at ${source.uri}: not a dataset, or one whose run has not finished`,
      { source: where },
    );
  }
  const manifest = parseManifest(manifestBytes, where);
  const localManifest = path.join(root, datasetKeys.manifest);
  const existing = await readFile(localManifest).catch(() => undefined);
  if (existing !== undefined && !Buffer.from(existing).equals(Buffer.from(manifestBytes))) {
    throw new InvalidInputError(
      `${root} holds another dataset (its manifest.json differs from ${where}); pull into an empty folder`,
      { source: localManifest },
    );
  }
  let shards = manifest.shards;
  if (options.split !== undefined) {
    const splits = [...new Set([...manifest.shards.map((s) => s.split), ...Object.keys(manifest.splits)])];
    if (!splits.includes(options.split)) {
      throw new InvalidInputError(
        `no split "${options.split}" in ${source.uri}; its splits are ${splits.join(', ')}`,
        { source: where },
      );
    }
    shards = shards.filter((s) => s.split === options.split);
  }
  const targets = shards.map((s) => localPath(root, s.path));
  const sides = sideFiles(manifest).map((key) => ({ key, file: localPath(root, key) }));

  const report: PullReport = {
    shards: shards.length,
    fetched: 0,
    refetched: 0,
    kept: 0,
    bytes: 0,
    sideFiles: [],
    missingSideFiles: [],
  };
  const failures: string[] = [];
  progress.start(PULL_PHASE, shards.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < shards.length) {
      const i = next++;
      const shard = shards[i]!;
      const target = targets[i]!;
      try {
        const local = await localState(target, shard);
        if (local.state === 'ok') {
          report.kept += 1;
        } else {
          if (local.state === 'damaged') {
            log.warn(
              `pull: ${shard.path} in ${root} is damaged or partial (${local.why}), fetching it again`,
            );
          }
          const bytes = await fetchVerified(source, shard, log);
          await writeAtomically(target, bytes);
          report.fetched += 1;
          report.bytes += bytes.byteLength;
          if (local.state === 'damaged') report.refetched += 1;
        }
      } catch (error) {
        if (!(error instanceof IntegrityError)) throw error;
        failures.push(error.message);
      }
      progress.advance(PULL_PHASE);
    }
  };
  try {
    await Promise.all(
      Array.from({ length: Math.min(Math.max(1, options.concurrency ?? 4), shards.length) }, worker),
    );
  } finally {
    progress.finish(PULL_PHASE);
  }
  if (failures.length > 0) {
    throw new IntegrityError(
      `pull of ${source.uri} into ${root}: ${failures.length} shard(s) failed, the manifest was not written ` +
        `(rerun to resume): ${failures.join('; ')}`,
      { source: source.uri, failures },
    );
  }
  // Side files have no checksum in the manifest: fetched again each time, small as they are.
  for (const { key, file } of sides) {
    const bytes = await source.get(key);
    if (bytes === undefined) {
      report.missingSideFiles.push(key);
      log.warn(`pull: ${source.uri}/${key} is missing at the source; the copy goes without it`);
      continue;
    }
    await writeAtomically(file, bytes);
    report.sideFiles.push(key);
  }
  await writeAtomically(localManifest, manifestBytes);
  return report;
}
