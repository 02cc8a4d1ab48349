// pull copies a dataset into a folder and verifies it: every shard's sha256, the manifest written
// last and byte-identical; a rerun keeps verified shards (no GET), fetches damaged, partial and
// missing ones again; a damaged source copy is retried once, then named, and no manifest is written.
import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../../shared/adapters/local/fs-blob-store.ts';
import { PULL_PHASE, pullDataset } from '../../../shared/dataset/pull.ts';
import type { DatasetSource } from '../../../shared/dataset/source.ts';
import { IntegrityError, InvalidInputError } from '../../../shared/domain/errors.ts';
import { sha256Hex } from '../../../shared/domain/hashing.ts';
import { SPLITS } from '../../../shared/domain/splits.ts';
import type { Progress } from '../../../shared/ports.ts';
import { type LoaderShardSpec, writeLoaderDataset } from '../../helpers/loader-dataset.ts';

/** The schema's split names, whatever they are called: training, validation, test. */
const [TRAIN, VALIDATION, TEST] = SPLITS;
const SHARDS: LoaderShardSpec[] = [
  { split: TRAIN, samples: [0, 1, 2].map((s) => ({ s, dates: 3 })) },
  { split: TRAIN, samples: [3, 4].map((s) => ({ s, dates: 2 })) },
  { split: VALIDATION, samples: [{ s: 10, dates: 3 }] },
  { split: TEST, samples: [{ s: 20, dates: 3 }] },
];

/** The source with every GET counted, and an optional way to spoil what it returns. */
function counting(store: DatasetSource, spoil?: (key: string, n: number, bytes: Uint8Array) => Uint8Array) {
  const gets = new Map<string, number>();
  const source: DatasetSource = {
    uri: store.uri,
    async get(key) {
      const n = (gets.get(key) ?? 0) + 1;
      gets.set(key, n);
      const bytes = await store.get(key);
      return bytes && spoil ? spoil(key, n, bytes) : bytes;
    },
  };
  return { source, gets };
}

let dir: string;
let src: string;
let dst: string;
let manifest: { shards: Array<{ path: string; split: string; sha256: string; bytes: number }> };

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pull-'));
  src = path.join(dir, 'src');
  dst = path.join(dir, 'copy');
  manifest = (await writeLoaderDataset(src, SHARDS, { complete: true })).manifest;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sha(file: string): Promise<string> {
  return sha256Hex(await readFile(file));
}

describe('pullDataset', () => {
  it('copies every shard verified, the side files, and the manifest last, byte for byte', async () => {
    const { source, gets } = counting(new FsBlobStore(src));
    const seen: string[] = [];
    const progress: Progress = {
      start: (phase, total) => seen.push(`start ${phase} ${total}`),
      advance: (phase) => seen.push(`advance ${phase}`),
      finish: (phase) => seen.push(`finish ${phase}`),
    };
    const report = await pullDataset(source, dst, { progress, concurrency: 2 });
    expect(report).toMatchObject({ shards: 4, fetched: 4, refetched: 0, kept: 0 });
    expect(report.bytes).toBe(manifest.shards.reduce((n, s) => n + s.bytes, 0));
    expect(report.sideFiles).toEqual(['rejects.jsonl']);
    // A dataset written without them (as older ones are) pulls; the pull says what it lacked.
    expect(report.missingSideFiles).toEqual([
      'selection.json',
      'collection.json',
      'items.ndjson',
      'README.md',
    ]);
    for (const shard of manifest.shards) expect(await sha(path.join(dst, shard.path))).toBe(shard.sha256);
    expect(await readFile(path.join(dst, 'manifest.json'))).toEqual(
      await readFile(path.join(src, 'manifest.json')),
    );
    expect(seen).toEqual([
      `start ${PULL_PHASE} 4`,
      ...Array(4).fill(`advance ${PULL_PHASE}`),
      `finish ${PULL_PHASE}`,
    ]);
    for (const shard of manifest.shards) expect(gets.get(shard.path)).toBe(1);
  });

  it('resumes: keeps verified shards, fetches damaged, partial and missing ones again', async () => {
    await pullDataset(new FsBlobStore(src), dst);
    const [a, b, c, d] = manifest.shards.map((s) => path.join(dst, s.path)) as [
      string,
      string,
      string,
      string,
    ];
    const untouched = (await stat(d)).mtimeMs;
    const damaged = await readFile(a);
    damaged[damaged.length - 1200] = (damaged[damaged.length - 1200] ?? 0) ^ 1;
    await writeFile(a, damaged);
    await truncate(b, 1000);
    // An interrupted pull: a shard and the manifest never written, a temp file left behind.
    await rm(c);
    await writeFile(`${c}.part`, 'half');
    await rm(path.join(dst, 'manifest.json'));

    const { source, gets } = counting(new FsBlobStore(src));
    const report = await pullDataset(source, dst);
    expect(report).toMatchObject({ shards: 4, fetched: 3, refetched: 2, kept: 1 });
    expect(gets.get(manifest.shards[3]!.path)).toBeUndefined();
    expect((await stat(d)).mtimeMs).toBe(untouched);
    for (const shard of manifest.shards) expect(await sha(path.join(dst, shard.path))).toBe(shard.sha256);
    await expect(stat(`${c}.part`)).rejects.toThrow(/ENOENT/);
    expect(await readFile(path.join(dst, 'manifest.json'))).toEqual(
      await readFile(path.join(src, 'manifest.json')),
    );

    const again = counting(new FsBlobStore(src));
    expect(await pullDataset(again.source, dst)).toMatchObject({ fetched: 0, kept: 4 });
    expect(manifest.shards.map((s) => again.gets.get(s.path))).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('fetches a shard that arrived damaged once more, and names it when the source copy is bad', async () => {
    const bad = manifest.shards[1]!.path;
    const flip = (bytes: Uint8Array) => {
      const copy = new Uint8Array(bytes);
      copy[700] = (copy[700] ?? 0) ^ 1;
      return copy;
    };
    const glitch = counting(new FsBlobStore(src), (key, n, bytes) =>
      key === bad && n === 1 ? flip(bytes) : bytes,
    );
    expect(await pullDataset(glitch.source, dst)).toMatchObject({ fetched: 4 });
    expect(glitch.gets.get(bad)).toBe(2);

    const other = path.join(dir, 'copy2');
    const broken = counting(new FsBlobStore(src), (key, _n, bytes) => (key === bad ? flip(bytes) : bytes));
    const error = await pullDataset(broken.source, other).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `1 shard\\(s\\) failed, the manifest was not written .*${bad}: sha256 [0-9a-f]{64}, the manifest says`,
      ),
    );
    expect(broken.gets.get(bad)).toBe(2);
    await expect(stat(path.join(other, 'manifest.json'))).rejects.toThrow(/ENOENT/);
    // The good shards are in place: a rerun after the source is fixed fetches only the bad one.
    expect(await sha(path.join(other, manifest.shards[0]!.path))).toBe(manifest.shards[0]!.sha256);
  });

  it('pulls one split, refuses an unknown one, and a folder that holds another dataset', async () => {
    const report = await pullDataset(new FsBlobStore(src), dst, { split: VALIDATION });
    expect(report).toMatchObject({ shards: 1, fetched: 1 });
    await expect(stat(path.join(dst, manifest.shards[0]!.path))).rejects.toThrow(/ENOENT/);
    expect(await sha(path.join(dst, manifest.shards[2]!.path))).toBe(manifest.shards[2]!.sha256);
    // The rest of the dataset later, into the same folder.
    expect(await pullDataset(new FsBlobStore(src), dst)).toMatchObject({ fetched: 3, kept: 1 });

    await expect(pullDataset(new FsBlobStore(src), dst, { split: 'dev' })).rejects.toThrow(
      new RegExp(`no split "dev" in file://.*; its splits are ${SPLITS.join(', ')}`),
    );
    const other = path.join(dir, 'other');
    await writeLoaderDataset(other, [{ split: TRAIN, samples: [{ s: 50, dates: 1 }] }], { complete: true });
    const error = await pullDataset(new FsBlobStore(other), dst).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatch(/holds another dataset .*pull into an empty folder/);
    await expect(pullDataset(new FsBlobStore(path.join(dir, 'none')), dst)).rejects.toThrow(
      /no manifest.json at/,
    );
  });
});
