// The TypeScript reader of satfactory datasets, exported as `satfactory/reader`: the manifest
// (zod-parsed) and the samples of a split, each with its `.json` and its `.npy` members decoded.
//
//   import { openDataset } from 'satfactory/reader';
//   const ds = await openDataset('s3://bucket/datasets/crops');
//   for await (const sample of ds.samples('train')) sample.arrays['10m']; // { dtype, shape, data }
import { datasetKeys } from '../domain/dataset-layout.ts';
import { IntegrityError, InvalidInputError } from '../domain/errors.ts';
import { sha256Hex } from '../domain/hashing.ts';
import { type Manifest, ManifestSchema, type ManifestShard } from '../domain/manifest.ts';
import { decodeNpy, type NpyArray } from '../domain/npy.ts';
import { readShard } from '../domain/shard.ts';
import { type DatasetSource, datasetSourceForUri } from './source.ts';

export type { Manifest, ManifestShard } from '../domain/manifest.ts';
export type { NpyArray } from '../domain/npy.ts';
export type { DatasetSource } from './source.ts';

export type DatasetSample = {
  /** The sample key (`<tile>_<row>_<col>`), shared by its members. */
  key: string;
  /** Its `.json`: where, when, bands with scale/offset, groups, labels. */
  json: Record<string, unknown>;
  /** Each `<name>.npy` member under `<name>` (`10m`, `20m`, `scl`, `labels`, ...). */
  arrays: Record<string, NpyArray>;
  /** Members that are neither `.json` nor `.npy`, as bytes. */
  other: Record<string, Uint8Array>;
};

export type ReadOptions = {
  /** Check each shard's size and sha256 against the manifest before reading it (default true). */
  verify?: boolean;
};

/** Parses manifest bytes with the manifest's zod schema; every problem named. */
export function parseManifest(bytes: Uint8Array, where: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new InvalidInputError(`${where} is not JSON: ${(error as Error).message}`, { source: where });
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `/${i.path.join('/')}: ${i.message}`);
    throw new InvalidInputError(
      `${where} is not a manifest this satfactory reads: ${issues.slice(0, 5).join('; ')}` +
        (issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''),
      { source: where },
    );
  }
  return parsed.data;
}

export class DatasetReader {
  readonly source: DatasetSource;
  readonly manifest: Manifest;

  constructor(source: DatasetSource, manifest: Manifest) {
    this.source = source;
    this.manifest = manifest;
  }

  /** Split names in manifest order: those with shards first, then any the manifest lists empty. */
  get splits(): string[] {
    const names = new Set<string>(this.manifest.shards.map((s) => s.split));
    for (const name of Object.keys(this.manifest.splits)) names.add(name);
    return [...names];
  }

  shards(split: string): ManifestShard[] {
    if (!this.splits.includes(split)) {
      throw new InvalidInputError(
        `no split "${split}" in ${this.source.uri}; its splits are ${this.splits.join(', ')}`,
        { source: this.source.uri },
      );
    }
    return this.manifest.shards.filter((s) => s.split === split);
  }

  /** The split's samples, shard by shard in manifest order, each shard read whole. */
  async *samples(split: string, options: ReadOptions = {}): AsyncGenerator<DatasetSample> {
    for (const shard of this.shards(split)) yield* this.readShard(shard, options);
  }

  async *readShard(shard: ManifestShard, options: ReadOptions = {}): AsyncGenerator<DatasetSample> {
    const where = `${this.source.uri}/${shard.path}`;
    const bytes = await this.source.get(shard.path);
    if (bytes === undefined) {
      throw new IntegrityError(`${where} is missing (the manifest lists it)`, { source: where });
    }
    if (options.verify ?? true) {
      const problem =
        bytes.byteLength !== shard.bytes
          ? `${bytes.byteLength} bytes, the manifest says ${shard.bytes}`
          : sha256Hex(bytes) !== shard.sha256
            ? `sha256 ${sha256Hex(bytes)}, the manifest says ${shard.sha256}`
            : undefined;
      if (problem) {
        throw new IntegrityError(`${where}: ${problem} (damaged or partial copy? pull it again)`, {
          source: where,
        });
      }
    }
    for (const sample of await readShard(bytes)) {
      const out: DatasetSample = { key: sample.key, json: {}, arrays: {}, other: {} };
      for (const member of sample.members) {
        if (member.name === 'json') {
          out.json = JSON.parse(Buffer.from(member.data).toString('utf8')) as Record<string, unknown>;
        } else if (member.name.endsWith('.npy')) {
          try {
            out.arrays[member.name.slice(0, -'.npy'.length)] = decodeNpy(member.data);
          } catch (error) {
            throw new IntegrityError(`${where}: ${sample.key}.${member.name}: ${(error as Error).message}`, {
              source: where,
            });
          }
        } else {
          out.other[member.name] = member.data;
        }
      }
      yield out;
    }
  }
}

/** Opens a dataset: a folder, file:///abs/path, s3://bucket/prefix, http(s)://host/path, or a source. */
export async function openDataset(uri: string | DatasetSource): Promise<DatasetReader> {
  const source = typeof uri === 'string' ? datasetSourceForUri(uri) : uri;
  const where = `${source.uri}/${datasetKeys.manifest}`;
  const bytes = await source.get(datasetKeys.manifest);
  if (bytes === undefined) {
    throw new InvalidInputError(
      `no ${datasetKeys.manifest} at ${source.uri}: not a dataset, or one whose run has not finished`,
      { source: where },
    );
  }
  return new DatasetReader(source, parseManifest(bytes, where));
}
