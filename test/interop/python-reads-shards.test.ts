// Python reads our shards: a small dataset built with buildShard/encodeNpy is opened by
// read_shards.py (tarfile + Debian's numpy, allow_pickle=False), which checks shapes, dtypes, counts.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { verifyDataset } from '../../shared/dataset/verify.ts';
import { bandMetadata } from '../../shared/domain/band-metadata.ts';
import { jobSha256Of, type Manifest, ManifestSchema } from '../../shared/domain/manifest.ts';
import { encodeNpy } from '../../shared/domain/npy.ts';
import { buildShard, type ShardSample } from '../../shared/domain/shard.ts';
import type { Split } from '../../shared/domain/splits.ts';
import { PYTHON, requirePython } from '../helpers/requirements.ts';

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, 'read_shards.py');

const T = 3;
const BANDS_10M = ['blue', 'green', 'red', 'nir'];
const BANDS_20M = ['swir16', 'swir22'];
const H = 6;
const DATES = ['2023-04-01T10:00:00Z', '2023-05-11T10:00:00Z', '2023-06-20T10:00:00Z'];

/** Pixel value of sample s at [t, c, y, x] of the 10 m group: every value distinct and known. */
const v10 = (s: number, t: number, c: number, y: number, x: number) =>
  1000 * s + 100 * t + 10 * c + y * H + x;

function sampleOf(key: string, s: number, split: Split, tweak?: { t10?: number }): ShardSample {
  const t10 = tweak?.t10 ?? T;
  const p10 = new Uint16Array(t10 * BANDS_10M.length * H * H);
  let i = 0;
  for (let t = 0; t < t10; t++)
    for (let c = 0; c < BANDS_10M.length; c++)
      for (let y = 0; y < H; y++) for (let x = 0; x < H; x++) p10[i++] = v10(s, t, c, y, x);
  const h = H / 2;
  const p20 = new Uint16Array(T * BANDS_20M.length * h * h).map((_, j) => 60000 + j);
  const scl = new Uint8Array(T * h * h).map((_, j) => j % 12);
  const labels = new Uint16Array(H * H).map((_, j) => (j < 18 ? 0 : 7));
  const instances = new Uint32Array(H * H).map((_, j) => (j < 18 ? 0 : 4_000_000_000 + s));
  const coverage = new Float32Array(H * H).map((_, j) => (j < 18 ? 0 : 0.25));
  const double = new Uint8Array(H * H);
  const meta = {
    id: key,
    split,
    tile: '33TWL',
    epsg: 32633,
    transform: [500000 + 60 * s, 10, 0, 5000000, 0, -10],
    bounds: { native: [500000, 4999940, 500060, 5000000], wgs84: [15, 45, 15.001, 45.001] },
    dates: DATES,
    doy: [91, 131, 171],
    items: ['S2A_1', 'S2B_2', 'S2A_3'],
    groups: {
      '10m': { bands: BANDS_10M, resolution: 10, shape: [T, BANDS_10M.length, H, H] },
      '20m': { bands: BANDS_20M, resolution: 20, shape: [T, BANDS_20M.length, h, h] },
    },
    scale: Object.fromEntries([...BANDS_10M, ...BANDS_20M].map((b) => [b, 0.0001])),
    offset: Object.fromEntries([...BANDS_10M, ...BANDS_20M].map((b) => [b, -0.1])),
    nodata: 0,
    labels: { resolution: 10, size: H },
  };
  return {
    key,
    members: [
      { name: 'json', data: new TextEncoder().encode(JSON.stringify(meta)) },
      { name: '10m.npy', data: encodeNpy(p10, [t10, BANDS_10M.length, H, H]) },
      { name: '20m.npy', data: encodeNpy(p20, [T, BANDS_20M.length, h, h]) },
      { name: 'scl.npy', data: encodeNpy(scl, [T, h, h]) },
      { name: 'labels.npy', data: encodeNpy(labels, [H, H]) },
      { name: 'instances.npy', data: encodeNpy(instances, [H, H]) },
      { name: 'coverage.npy', data: encodeNpy(coverage, [H, H]) },
      { name: 'double.npy', data: encodeNpy(double, [H, H]) },
    ],
  };
}

async function writeDataset(root: string, shards: Array<{ split: Split; samples: ShardSample[] }>) {
  const store = new FsBlobStore(root);
  const entries: Manifest['shards'] = [];
  const index: Record<string, number> = {};
  for (const { split, samples } of shards) {
    const n = index[split] ?? 0;
    index[split] = n + 1;
    const path = `${split}/interop-${split}-${String(n).padStart(6, '0')}.tar`;
    const built = await buildShard(samples);
    await store.put(path, built.bytes, { createOnly: true });
    entries.push({
      path,
      split,
      bytes: built.bytes.byteLength,
      sha256: built.sha256,
      samples: built.samples,
    });
  }
  const count = (split: Split) => ({
    samples: entries.filter((e) => e.split === split).reduce((a, e) => a + e.samples, 0),
    shards: entries.filter((e) => e.split === split).length,
  });
  const written = entries.reduce((a, e) => a + e.samples, 0);
  const job = { name: 'interop', bands: [...BANDS_10M, ...BANDS_20M] };
  const band = (name: string) => ({
    name,
    scale: 0.0001,
    offset: -0.1,
    nodata: 0,
    dataType: 'uint16',
    ...bandMetadata(name, [], true),
  });
  const manifest: Manifest = ManifestSchema.parse({
    format: 'satfactory-webdataset',
    version: '2',
    name: 'interop',
    runId: 'interop-1',
    createdAt: '2024-01-01T00:00:00.000Z',
    software: 'satfactory test',
    job,
    jobSha256: jobSha256Of(job),
    catalog: { description: 'static test', collection: null, pages: 0, items: 3 },
    sources: [],
    bands: [
      { group: '10m', resolution: 10, bands: BANDS_10M.map(band) },
      { group: '20m', resolution: 20, bands: BANDS_20M.map(band) },
    ],
    scl: { member: 'scl.npy', cloudyClasses: [3, 8, 9, 10], resolution: 20 },
    grid: {
      windowSize: H,
      stride: H,
      tiles: [
        { tile: '33TWL', epsg: 32633, resolution: 10, originX: 500000, originY: 5000000, dates: DATES },
      ],
    },
    classes: {
      property: 'crop',
      origin: 'derived',
      background: 0,
      backgroundIs: 'class',
      ignoreIndex: null,
      unknown: null,
      trainingIds: [0, 7],
      table: [{ id: 7, index: 1, value: 'wheat' }],
    },
    splits: { train: count('train'), validation: count('validation'), test: count('test') },
    shards: entries,
    totals: { planned: written + 1, written, rejected: 1 },
    rejects: 'rejects.jsonl',
    stats: {
      split: 'train',
      dates: 'all',
      pixels: 'not nodata',
      excludedScl: [],
      units: 'stored',
      percentiles: 'linear',
      bands: {},
    },
  });
  await store.put('manifest.json', JSON.stringify(manifest, null, 1), { createOnly: true });
  return store;
}

type Summary = {
  ok: boolean;
  problems: string[];
  warnings: string[];
  shards: number;
  samples: number;
  splits: Record<string, number>;
  members: Record<string, { count: number; dtypes?: string[]; shapes?: number[][] }>;
  details: Record<
    string,
    Record<
      string,
      { dtype: string; shape: number[]; sum: number; min: number; max: number; first: number; last: number }
    >
  >;
};

async function readWithPython(root: string, ...args: string[]): Promise<{ code: number; summary: Summary }> {
  try {
    const { stdout } = await run(PYTHON, [SCRIPT, root, ...args], { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, summary: JSON.parse(stdout) as Summary };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    if (e.code === 1 && e.stdout) return { code: 1, summary: JSON.parse(e.stdout) as Summary };
    throw new Error(`read_shards.py failed (${e.code}): ${e.stderr}`);
  }
}

let numpy = false;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'interop-'));
  numpy = requirePython(['numpy']);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Python reads satfactory shards', () => {
  it('sees every sample with the right dtypes, shapes, counts and values', async (ctx) => {
    if (!numpy) return ctx.skip();
    const root = join(dir, 'good');
    const store = await writeDataset(root, [
      {
        split: 'train',
        samples: [sampleOf('33twl_0000_0000', 0, 'train'), sampleOf('33twl_0000_0001', 1, 'train')],
      },
      { split: 'validation', samples: [sampleOf('33twl_0001_0000', 2, 'validation')] },
    ]);
    // Our own verifier agrees with the dataset before Python looks at it.
    expect((await verifyDataset(store)).problems).toEqual([]);

    const { code, summary } = await readWithPython(root, '--detail', '33twl_0000_0001');
    expect(summary.problems).toEqual([]);
    expect(summary.warnings).toEqual([]);
    expect(code).toBe(0);
    expect(summary.ok).toBe(true);
    expect(summary.shards).toBe(2);
    expect(summary.samples).toBe(3);
    expect(summary.splits).toEqual({ train: 2, validation: 1, test: 0 });
    expect(summary.members['json']?.count).toBe(3);
    expect(summary.members['10m.npy']).toEqual({ count: 3, dtypes: ['uint16'], shapes: [[T, 4, H, H]] });
    expect(summary.members['20m.npy']).toEqual({
      count: 3,
      dtypes: ['uint16'],
      shapes: [[T, 2, H / 2, H / 2]],
    });
    expect(summary.members['scl.npy']).toEqual({ count: 3, dtypes: ['uint8'], shapes: [[T, H / 2, H / 2]] });
    expect(summary.members['labels.npy']?.dtypes).toEqual(['uint16']);
    expect(summary.members['instances.npy']?.dtypes).toEqual(['uint32']);
    expect(summary.members['coverage.npy']?.dtypes).toEqual(['float32']);
    expect(summary.members['double.npy']).toEqual({ count: 3, dtypes: ['uint8'], shapes: [[H, H]] });

    // Exact values: C order, little-endian, nothing rescaled.
    const d = summary.details['33twl_0000_0001']!;
    let sum = 0;
    for (let t = 0; t < T; t++)
      for (let c = 0; c < 4; c++)
        for (let y = 0; y < H; y++) for (let x = 0; x < H; x++) sum += v10(1, t, c, y, x);
    expect(d['10m.npy']).toMatchObject({
      first: v10(1, 0, 0, 0, 0),
      last: v10(1, T - 1, 3, H - 1, H - 1),
      sum,
    });
    expect(d['20m.npy']).toMatchObject({ first: 60000, last: 60000 + T * 2 * 9 - 1 });
    expect(d['instances.npy']).toMatchObject({ max: 4_000_000_001, first: 0 });
    expect(d['coverage.npy']).toMatchObject({ sum: 18 * 0.25, max: 0.25 });
    expect(d['labels.npy']).toMatchObject({ sum: 18 * 7 });
  });

  it('reports a sample whose array disagrees with its json', async (ctx) => {
    if (!numpy) return ctx.skip();
    const root = join(dir, 'bad');
    await writeDataset(root, [
      {
        split: 'train',
        samples: [
          sampleOf('33twl_0000_0000', 0, 'train'),
          sampleOf('33twl_0000_0001', 1, 'train', { t10: 2 }),
        ],
      },
    ]);
    const { code, summary } = await readWithPython(root);
    expect(code).toBe(1);
    expect(summary.ok).toBe(false);
    expect(summary.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/33twl_0000_0001\.10m\.npy: shape \[2, 4, 6, 6\], json says \[3, 4, 6, 6\]/),
        expect.stringMatching(/33twl_0000_0001\.10m\.npy: 2 dates in the array, 3 in json/),
      ]),
    );
  });
});
