// The TypeScript reader: the manifest parsed with its schema, a split's samples in order with every
// .npy decoded (values from the writer's pixel formulas), damaged shards refused before any sample,
// clear errors for a wrong split or a missing or invalid manifest, and `satfactory/reader` importable
// through package.json "exports".
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetReader, openDataset } from '../../../shared/dataset/reader.ts';
import { IntegrityError, InvalidInputError } from '../../../shared/domain/errors.ts';
import { SPLITS } from '../../../shared/domain/splits.ts';
import {
  BANDS_10M,
  H,
  HL,
  keyOf,
  type LoaderShardSpec,
  label,
  pixel10m,
  pixel20m,
  writeLoaderDataset,
} from '../../helpers/loader-dataset.ts';

const repo = path.resolve(import.meta.dirname, '../../..');
/** The schema's split names, whatever they are called: training, validation, test. */
const [TRAIN, VALIDATION] = SPLITS;
const SHARDS: LoaderShardSpec[] = [
  { split: TRAIN, samples: [0, 1, 2].map((s) => ({ s, dates: 3 })) },
  { split: VALIDATION, samples: [{ s: 10, dates: 2, perDate: true }] },
  { split: TRAIN, samples: [3, 4].map((s) => ({ s, dates: 1 + s })) },
];

let dir: string;
let root: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'reader-'));
  root = path.join(dir, 'ds');
  await writeLoaderDataset(root, SHARDS, { complete: true });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('openDataset', () => {
  it('parses the manifest and discovers the splits from it', async () => {
    const ds = await openDataset(root);
    expect(ds).toBeInstanceOf(DatasetReader);
    expect(ds.manifest.name).toBe('loader-test');
    expect(ds.splits).toEqual([...SPLITS]);
    expect(ds.shards(TRAIN).map((s) => s.samples)).toEqual([3, 2]);
    expect((await openDataset(`file://${root}`)).manifest).toEqual(ds.manifest);
  });

  it('iterates a split in manifest order with every member decoded', async () => {
    const ds = await openDataset(root);
    const samples = [];
    for await (const sample of ds.samples(TRAIN)) samples.push(sample);
    expect(samples.map((s) => s.key)).toEqual([0, 1, 2, 3, 4].map(keyOf));
    const last = samples[4]!;
    const T = 5;
    expect(last.json['id']).toBe(keyOf(4));
    expect(Object.keys(last.arrays)).toEqual(['10m', '20m', 'scl', 'labels', 'instances', 'coverage']);
    expect(last.arrays['10m']).toMatchObject({ dtype: '<u2', shape: [T, BANDS_10M.length, H, H] });
    expect(last.arrays['20m']).toMatchObject({ dtype: '<u2', shape: [T, 1, H / 2, H / 2] });
    expect(last.arrays['scl']).toMatchObject({ dtype: '|u1', shape: [T, H / 2, H / 2] });
    expect(last.arrays['labels']).toMatchObject({ dtype: '<u2', shape: [HL, HL] });
    expect(last.arrays['instances']?.dtype).toBe('<u4');
    expect(last.arrays['coverage']?.dtype).toBe('<f4');
    const at = (t: number, c: number, y: number, x: number) => ((t * BANDS_10M.length + c) * H + y) * H + x;
    expect(last.arrays['10m']!.data[at(4, 1, 5, 3)]).toBe(pixel10m(4, 4, 1, 5, 3));
    expect(last.arrays['20m']!.data[(3 * 3 + 2) * 3 + 1]).toBe(pixel20m(4, 3, 2, 1));
    expect(last.arrays['labels']!.data[7 * HL + 9]).toBe(label(4, 7, 9));
    expect(Math.max(...last.arrays['instances']!.data)).toBe(4_000_000_004);
    const validate = [];
    for await (const sample of ds.samples(VALIDATION)) validate.push(sample);
    expect((validate[0]!.json['bands'] as Record<string, { scale: number[] }>)['red']!.scale).toHaveLength(2);
    const empty = [];
    for await (const sample of ds.samples(SPLITS[2])) empty.push(sample);
    expect(empty).toEqual([]);
  });

  it('refuses a damaged shard before yielding any of its samples, unless told not to verify', async () => {
    const copy = path.join(dir, 'damaged');
    await writeLoaderDataset(copy, SHARDS, { complete: true });
    const ds = await openDataset(copy);
    const shard = ds.shards(TRAIN)[0]!;
    const file = path.join(copy, shard.path);
    const bytes = await readFile(file);
    // A pixel of the first sample's 10m.npy (128-byte header, then 432 bytes of data).
    const pixel = bytes.indexOf(Buffer.from('\x93NUMPY', 'latin1')) + 200;
    bytes[pixel] = (bytes[pixel] ?? 0) ^ 0xff;
    await writeFile(file, bytes);
    const keys: string[] = [];
    await expect(async () => {
      for await (const sample of ds.samples(TRAIN)) keys.push(sample.key);
    }).rejects.toThrow(new RegExp(`sha256 [0-9a-f]{64}, the manifest says ${shard.sha256}`));
    expect(keys).toEqual([]);
    let unverified = 0;
    for await (const _ of ds.readShard(shard, { verify: false })) unverified++;
    expect(unverified).toBe(3);
    await writeFile(file, bytes.subarray(0, 512));
    await expect(ds.readShard(shard).next()).rejects.toThrow(IntegrityError);
  });

  it('names what is wrong: an unknown split, no manifest, a manifest of another shape', async () => {
    const ds = await openDataset(root);
    expect(() => ds.shards('dev')).toThrow(
      new RegExp(`no split "dev" in file://.*; its splits are ${SPLITS.join(', ')}`),
    );
    await expect(openDataset(path.join(dir, 'nothing'))).rejects.toThrow(/no manifest.json at file:\/\//);
    const bad = path.join(dir, 'bad');
    await writeLoaderDataset(bad, SHARDS);
    await expect(openDataset(bad)).rejects.toThrow(InvalidInputError);
    await expect(openDataset(bad)).rejects.toThrow(/is not a manifest this satfactory reads: \/runId: /);
  });

  it('is importable as satfactory/reader (package.json exports) by plain Node', () => {
    const script = `
      import { openDataset } from 'satfactory/reader';
      const ds = await openDataset(process.argv[1]);
      let n = 0;
      for await (const s of ds.samples(process.argv[2])) n += s.arrays['10m'].shape[0];
      console.log(JSON.stringify({ splits: ds.splits, dates: n }));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script, root, TRAIN], {
      cwd: repo,
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ splits: [...SPLITS], dates: 3 * 3 + 4 + 5 });
  });
});
