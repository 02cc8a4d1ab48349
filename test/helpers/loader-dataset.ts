// A small dataset written with satfactory's own shard writer (buildShard, encodeNpy) for the readers'
// tests: uneven shards, any split names, samples with different numbers of dates, scale/offset as one
// number or one value per date, labels at twice the finest resolution. Every pixel value is known
// (pixel10m below), and expected.json records what each sample holds, for the Python tests.

import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { bandMetadata } from '../../shared/domain/band-metadata.ts';
import { jobSha256Of, ManifestSchema } from '../../shared/domain/manifest.ts';
import { encodeNpy } from '../../shared/domain/npy.ts';
import { buildShard, type ShardSample } from '../../shared/domain/shard.ts';
import { SPLITS } from '../../shared/domain/splits.ts';

export const H = 6;
export const BANDS_10M = ['red', 'nir'];
export const BANDS_20M = ['swir16'];
/** Label pixels per side: labels at 5 m on a 10 m window. */
export const HL = 2 * H;

/** Value of sample number s at [t, c, y, x] of the 10 m group. */
export const pixel10m = (s: number, t: number, c: number, y: number, x: number) =>
  (1000 * s + 100 * t + 10 * c + y * H + x) % 65536;
export const pixel20m = (s: number, t: number, y: number, x: number) => 30000 + 100 * s + 10 * t + y * 3 + x;
export const label = (s: number, y: number, x: number) => (s + y + x) % 5;

export type LoaderSampleSpec = {
  /** Sample number (distinct per dataset): the pixel values derive from it. */
  s: number;
  dates: number;
  /** Scale and offset per date (a list) instead of one number. */
  perDate?: boolean;
};

export type LoaderShardSpec = { split: string; samples: LoaderSampleSpec[] };

const DAY = 86_400_000;

export function keyOf(s: number): string {
  return `33twl_${String(Math.floor(s / 100)).padStart(4, '0')}_${String(s % 100).padStart(4, '0')}`;
}

function scaleOf(spec: LoaderSampleSpec): { scale: number | number[]; offset: number | number[] } {
  if (!spec.perDate) return { scale: 0.0001, offset: -0.1 };
  return {
    scale: Array.from({ length: spec.dates }, (_, t) => 0.0001 * (t + 1)),
    offset: Array.from({ length: spec.dates }, (_, t) => (t % 2 === 0 ? -0.1 : 0)),
  };
}

function sampleOf(spec: LoaderSampleSpec, split: string): ShardSample {
  const { s, dates: T } = spec;
  const p10 = new Uint16Array(T * BANDS_10M.length * H * H);
  let i = 0;
  for (let t = 0; t < T; t++)
    for (let c = 0; c < BANDS_10M.length; c++)
      for (let y = 0; y < H; y++) for (let x = 0; x < H; x++) p10[i++] = pixel10m(s, t, c, y, x);
  const p20 = new Uint16Array(T * 3 * 3);
  i = 0;
  for (let t = 0; t < T; t++)
    for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) p20[i++] = pixel20m(s, t, y, x);
  const scl = new Uint8Array(T * 3 * 3).map((_, j) => (j + s) % 12);
  const labels = new Uint16Array(HL * HL);
  for (let y = 0; y < HL; y++) for (let x = 0; x < HL; x++) labels[y * HL + x] = label(s, y, x);
  const instances = new Uint32Array(HL * HL).map((_, j) => (j % 3 === 0 ? 0 : 4_000_000_000 + s));
  const coverage = new Float32Array(HL * HL).map((_, j) => (j % 4) / 4);
  const dates = Array.from({ length: T }, (_, t) => new Date(Date.UTC(2023, 3, 1) + (40 * t + s) * DAY));
  const { scale, offset } = scaleOf(spec);
  const band = (resolution: number) => ({ scale, offset, nodata: 0, resolution });
  const meta = {
    id: keyOf(s),
    dataset: 'loader-test',
    split,
    tile: '33twl',
    epsg: 32633,
    dates: dates.map((d) => d.toISOString()),
    doy: dates.map((d) => Math.floor((d.getTime() - Date.UTC(2023, 0, 0)) / DAY)),
    groups: {
      '10m': { bands: BANDS_10M, resolution: 10, shape: [T, BANDS_10M.length, H, H] },
      '20m': { bands: BANDS_20M, resolution: 20, shape: [T, 1, 3, 3] },
    },
    bands: { red: band(10), nir: band(10), swir16: band(20) },
    labels: { resolution: 5, size: HL },
  };
  return {
    key: keyOf(s),
    members: [
      { name: 'json', data: new TextEncoder().encode(JSON.stringify(meta)) },
      { name: '10m.npy', data: encodeNpy(p10, [T, BANDS_10M.length, H, H]) },
      { name: '20m.npy', data: encodeNpy(p20, [T, 1, 3, 3]) },
      { name: 'scl.npy', data: encodeNpy(scl, [T, 3, 3]) },
      { name: 'labels.npy', data: encodeNpy(labels, [HL, HL]) },
      { name: 'instances.npy', data: encodeNpy(instances, [HL, HL]) },
      { name: 'coverage.npy', data: encodeNpy(coverage, [HL, HL]) },
    ],
  };
}

export type WrittenDataset = {
  root: string;
  manifest: {
    shards: Array<{ path: string; split: string; bytes: number; sha256: string; samples: number }>;
  };
};

/**
 * Writes shards and a manifest.json with the fields the Python reader uses (format, version, name,
 * bands, splits, shards). Split names are taken as given, so a test can use names the pipeline does
 * not write yet. With `complete`, the manifest has every field ManifestSchema requires and is parsed
 * with it (the splits must then be the schema's).
 */
export async function writeLoaderDataset(
  root: string,
  shards: LoaderShardSpec[],
  options: { complete?: boolean } = {},
): Promise<WrittenDataset> {
  const store = new FsBlobStore(root);
  const entries: WrittenDataset['manifest']['shards'] = [];
  const index: Record<string, number> = {};
  const expected: Record<string, { s: number; split: string; shard: string; dates: number }> = {};
  for (const { split, samples } of shards) {
    const n = index[split] ?? 0;
    index[split] = n + 1;
    const path = `${split}/loader-test-${split}-${String(n).padStart(6, '0')}.tar`;
    const built = await buildShard(samples.map((spec) => sampleOf(spec, split)));
    await store.put(path, built.bytes);
    entries.push({
      path,
      split,
      bytes: built.bytes.byteLength,
      sha256: built.sha256,
      samples: built.samples,
    });
    for (const spec of samples)
      expected[keyOf(spec.s)] = { s: spec.s, split, shard: path, dates: spec.dates };
  }
  const splits: Record<string, { samples: number; shards: number }> = {};
  for (const e of entries) {
    const s = splits[e.split] ?? { samples: 0, shards: 0 };
    s.samples += e.samples;
    s.shards += 1;
    splits[e.split] = s;
  }
  const band = (name: string) => ({
    name,
    scale: 0.0001,
    offset: -0.1,
    nodata: 0,
    dataType: 'uint16',
    ...bandMetadata(name, [], true),
  });
  const written = entries.reduce((n, e) => n + e.samples, 0);
  const job = { name: 'loader-test' };
  const rest = {
    runId: 'loader-test-1',
    createdAt: '2024-01-01T00:00:00.000Z',
    software: 'satfactory test',
    job,
    jobSha256: jobSha256Of(job),
    catalog: { description: 'test', collection: null, pages: 0, items: 0 },
    sources: [],
    grid: { windowSize: H, stride: H, tiles: [] },
    classes: null,
    totals: { planned: written, written, rejected: 0 },
    rejects: 'rejects.jsonl',
    stats: {
      split: 'train',
      dates: 'all',
      pixels: 'every pixel (a synthetic test dataset)',
      excludedScl: [],
      units: 'stored',
      percentiles: 'linear',
      bands: {},
    },
  };
  if (options.complete) {
    for (const name of SPLITS) splits[name] ??= { samples: 0, shards: 0 };
    await store.put('rejects.jsonl', '');
  }
  const manifest = {
    format: 'satfactory-webdataset',
    version: '2',
    name: 'loader-test',
    ...(options.complete ? rest : {}),
    bands: [
      { group: '10m', resolution: 10, bands: BANDS_10M.map(band) },
      { group: '20m', resolution: 20, bands: BANDS_20M.map(band) },
    ],
    scl: { member: 'scl.npy', cloudyClasses: [3, 8, 9, 10], resolution: 20 },
    splits,
    shards: entries,
  };
  if (options.complete) ManifestSchema.parse(manifest);
  await store.put('manifest.json', JSON.stringify(manifest, null, 1));
  await store.put('expected.json', JSON.stringify({ H, HL, samples: expected }));
  return { root, manifest };
}
