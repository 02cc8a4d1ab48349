// Labels through the whole job on the local runtime: real Croatian ARKOD parcels (EPSG:3765, declared
// by the file) over real Sentinel-2 COGs (Croatia, EPSG:32633, 120 m). aoi "labels" and windows where
// "labels", labels at 30 m (120 m / 4, super-resolution). Every label array is checked against an
// independent oracle: GDAL/PROJ reprojection + shapely pixel intersections (test/interop/label_oracle.py).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { prepareJob, workUriOf } from '../../shared/cli/prepare-job.ts';
import { verifyDataset } from '../../shared/dataset/verify.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { decodeNpy } from '../../shared/domain/npy.ts';
import { readShard, type ShardSample } from '../../shared/domain/shard.ts';
import { noProgress, silentLog } from '../../shared/ports.ts';
import { createLocalContext } from '../../shared/runtime/local-context.ts';
import { runJobLocally } from '../../shared/runtime/run-job.ts';
import { type RangeServer, startRangeServer, writeFixtureItems } from '../helpers/range-server.ts';
import { fixturesRoot, PYTHON, sentinel2Fixture } from '../helpers/rasterio-reference.ts';
import { requireFixture, requirePython } from '../helpers/requirements.ts';

const FIXTURE = 'earthsearch_v1_timeseries_T33TWL_2023-08_croatia_120m';
const PARCELS_FILE = 'labels/parcels_hr_arkod_2024_sample_EPSG3765.geojson';
const fixture = requireFixture(`sentinel2/${FIXTURE}`, PARCELS_FILE) ? sentinel2Fixture(FIXTURE) : undefined;
const PARCELS = path.join(fixturesRoot(), PARCELS_FILE);
const ASSETS: Record<string, string> = { blue: 'B02', green: 'B03', red: 'B04', nir: 'B08', scl: 'SCL' };
const ORACLE = path.resolve(import.meta.dirname, '../interop/label_oracle.py');

const suite = fixture ? describe : describe.skip;

type SampleMeta = {
  epsg: number;
  bounds: [number, number, number, number];
  labels: {
    size: number;
    resolution: number;
    classes: number[];
    multilabel: number[];
    instances: Record<string, string>;
  };
};

const member = (s: ShardSample, name: string) => s.members.find((m) => m.name === name)?.data as Uint8Array;

suite('labels end to end (Croatian parcels over Sentinel-2, 30 m labels on a 120 m scene)', () => {
  let server: RangeServer;
  let dir: string;
  let manifest: Manifest;
  let store: FsBlobStore;
  let samples: ShardSample[];

  beforeAll(async () => {
    server = await startRangeServer({ root: fixture as string });
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-labels-e2e-'));
    await writeFixtureItems(fixture as string, server, dir, ASSETS);
    const job = {
      name: 'parcels',
      catalog: { kind: 'static', source: 'items.json' },
      aoi: 'labels',
      period: { start: '2023-08-01', end: '2023-08-31' },
      selection: { maxCloudCover: 60, maxDates: 2, minAoiCoverage: 0 },
      bands: ['red', 'nir'],
      windows: { size: 8, stride: 8, where: 'labels' },
      labels: {
        source: PARCELS,
        classProperty: 'land_use_id',
        idProperty: 'jpaid',
        resolution: 30,
        outputs: ['labels', 'instances', 'coverage', 'double', 'buildings', 'multilabel'],
      },
      splits: { method: 'random', train: 0.6, validation: 0.2, test: 0.2, seed: 3 },
      output: { uri: 'out/parcels' },
    };
    const file = path.join(dir, 'parcels.json');
    await writeFile(file, JSON.stringify(job));
    const prepared = await prepareJob(file);
    const workUri = workUriOf(prepared.job);
    const ctx = createLocalContext({ workUri, log: silentLog });
    await runJobLocally({ ...prepared, workUri, ctx, progress: noProgress, threads: 2 });
    store = new FsBlobStore(prepared.job.output.uri);
    manifest = JSON.parse(
      Buffer.from((await store.get('manifest.json')) as Uint8Array).toString(),
    ) as Manifest;
    samples = [];
    for (const shard of manifest.shards)
      samples.push(...(await readShard((await store.get(shard.path)) as Uint8Array)));
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes a verified dataset with the class table, the validation counts and the log', async () => {
    expect((await verifyDataset(store)).problems).toEqual([]);
    const classes = manifest.classes as NonNullable<Manifest['classes']>;
    // Integer crop codes keep their own value as class id.
    expect(classes.table.map((c) => c.id)).toEqual([200, 310, 320, 321, 422, 910]);
    expect(classes.table.map((c) => c.value)).toEqual([200, 310, 320, 321, 422, 910]);
    expect(classes.resolution).toBe(30);
    expect(classes.size).toBe(32);
    expect(classes.validation?.read).toBe(100);
    const log = Buffer.from((await store.get(classes.validation?.log as string)) as Uint8Array).toString();
    const dropped = log
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((e) => e.action === 'dropped');
    expect(classes.validation?.kept).toBe(100 - new Set(dropped.map((e) => e.index)).size);
    expect(manifest.totals.written).toBeGreaterThan(10);
    expect(samples).toHaveLength(manifest.totals.written);
  });

  it('only windows that touch a parcel, and class frequencies that add up to the arrays', () => {
    const pixels = new Map<number, number>();
    const present = new Map<number, number>();
    for (const s of samples) {
      const labels = decodeNpy(member(s, 'labels.npy'));
      const coverage = decodeNpy(member(s, 'coverage.npy'));
      expect(labels.shape).toEqual([32, 32]);
      // Building-style masks of the same polygons: footprint (pixel centre inside) only where the
      // class map has a class, and the signed distance positive exactly on the footprint.
      const masks = decodeNpy(member(s, 'buildings.npy'));
      const distance = decodeNpy(member(s, 'distance.npy')).data as Float32Array;
      expect(masks.shape).toEqual([3, 32, 32]);
      const footprint = (masks.data as Uint8Array).subarray(0, 32 * 32);
      footprint.forEach((inside, p) => {
        if (inside) expect((labels.data as Uint16Array)[p]).not.toBe(0);
        expect((distance[p] as number) > 0).toBe(inside === 1);
      });
      expect(Math.max(...(coverage.data as Float32Array))).toBeGreaterThan(0);
      const seen = new Set<number>();
      for (const v of labels.data as Uint16Array) {
        if (v === 0) continue;
        pixels.set(v, (pixels.get(v) ?? 0) + 1);
        seen.add(v);
      }
      for (const v of seen) present.set(v, (present.get(v) ?? 0) + 1);
    }
    for (const c of (manifest.classes as NonNullable<Manifest['classes']>).table) {
      expect(c.pixels).toBe(pixels.get(c.id) ?? 0);
      expect(c.samples).toBe(present.get(c.id) ?? 0);
    }
  });

  it('per split, pixel counts of every id including the background, and train class weights', () => {
    const classes = manifest.classes as NonNullable<Manifest['classes']>;
    const ids = [0, ...classes.table.map((c) => c.id)];
    const counts = new Map<string, Map<number, { pixels: number; samples: number }>>();
    for (const s of samples) {
      const split = JSON.parse(Buffer.from(member(s, 'json')).toString()).split as string;
      const perSplit = counts.get(split) ?? new Map();
      counts.set(split, perSplit);
      const seen = new Map<number, number>();
      for (const v of decodeNpy(member(s, 'labels.npy')).data as Uint16Array)
        seen.set(v, (seen.get(v) ?? 0) + 1);
      for (const [id, n] of seen) {
        const e = perSplit.get(id) ?? { pixels: 0, samples: 0 };
        e.pixels += n;
        e.samples += 1;
        perSplit.set(id, e);
      }
    }
    for (const split of ['train', 'validation', 'test'] as const) {
      const want = ids.map((id) => ({ id, ...(counts.get(split)?.get(id) ?? { pixels: 0, samples: 0 }) }));
      expect(classes.splits?.[split]).toEqual(want);
    }
    // The background is most of these windows: 32 x 32 label pixels per sample in all.
    const train = classes.splits?.train ?? [];
    expect(train.reduce((n, e) => n + e.pixels, 0)).toBe(manifest.splits.train.samples * 32 * 32);
    expect(train[0]?.pixels).toBeGreaterThan(0);
    // Weights, worked out here from the arrays' counts.
    const w = classes.weights as NonNullable<typeof classes.weights>;
    expect(w.ids).toEqual(ids);
    expect(w.pixels).toEqual(train.map((e) => e.pixels));
    const seenIds = train.filter((e) => e.pixels > 0);
    const total = seenIds.reduce((n, e) => n + e.pixels, 0);
    const freq = seenIds.map((e) => e.pixels / (e.samples * 1024)).sort((a, b) => a - b);
    const m = freq.length >> 1;
    const median =
      freq.length % 2 ? (freq[m] as number) : ((freq[m - 1] as number) + (freq[m] as number)) / 2;
    train.forEach((e, i) => {
      if (e.pixels === 0) {
        expect(w.inverseFrequency[i]).toBeNull();
        expect(w.medianFrequency[i]).toBeNull();
        return;
      }
      expect(w.inverseFrequency[i]).toBeCloseTo(total / (seenIds.length * e.pixels), 9);
      expect(w.medianFrequency[i]).toBeCloseTo(median / (e.pixels / (e.samples * 1024)), 9);
    });
  });

  it('labels, coverage and the multi-label equal the GDAL + shapely oracle', (ctx) => {
    if (!requirePython(['rasterio', 'shapely'])) return ctx.skip();
    const metas = samples.map((s) => JSON.parse(Buffer.from(member(s, 'json')).toString()) as SampleMeta);
    const parcels = JSON.parse(readFileSync(PARCELS, 'utf8')) as GeoJSON.FeatureCollection;
    const request = {
      src_crs: 'EPSG:3765',
      dst_crs: `EPSG:${metas[0]?.epsg}`,
      background: 0,
      features: parcels.features.map((f) => ({ geometry: f.geometry, cls: f.properties?.['land_use_id'] })),
      windows: samples.map((s, i) => ({
        key: s.key,
        x0: metas[i]?.bounds[0],
        y1: metas[i]?.bounds[3],
        px: 30,
        size: 32,
      })),
    };
    const requestFile = path.join(dir, 'oracle.json');
    writeFileSync(requestFile, JSON.stringify(request));
    const run = spawnSync(PYTHON, [ORACLE, requestFile], { encoding: 'utf8', maxBuffer: 1 << 28 });
    expect(run.stderr).toBe('');
    const oracle = JSON.parse(run.stdout) as Record<
      string,
      { labels: number[]; coverage: number[]; union: Record<string, number> }
    >;
    let mismatches = 0;
    let total = 0;
    let maxCoverageDiff = 0;
    samples.forEach((s, i) => {
      const want = oracle[s.key] as { labels: number[]; coverage: number[]; union: Record<string, number> };
      const labels = decodeNpy(member(s, 'labels.npy')).data as Uint16Array;
      const coverage = decodeNpy(member(s, 'coverage.npy')).data as Float32Array;
      for (let p = 0; p < labels.length; p++) {
        total++;
        if (labels[p] !== want.labels[p]) mismatches++;
        maxCoverageDiff = Math.max(
          maxCoverageDiff,
          Math.abs((coverage[p] as number) - (want.coverage[p] as number)),
        );
      }
      const meta = metas[i] as SampleMeta;
      // The multi-hot vector follows the class table order and matches the .json list.
      const hot = decodeNpy(member(s, 'multilabel.npy')).data as Uint8Array;
      const ids = (manifest.classes as NonNullable<Manifest['classes']>).table.map((c) => c.id);
      expect(ids.filter((_, k) => hot[k] === 1)).toEqual(meta.labels.multilabel);
      // Classes whose polygons' union (shapely) covers the job's minFraction (0.01) of the window.
      const union = want.union;
      expect(meta.labels.multilabel).toEqual(ids.filter((id) => (union[String(id)] ?? 0) >= 0.01));
      expect(meta.labels.classes).toEqual(
        [...new Set(want.labels.filter((v) => v !== 0))].sort((a, b) => a - b),
      );
    });
    // proj4 and PROJ agree to millimetres: a 30 m pixel's coverage moves by < 1e-3.
    expect(maxCoverageDiff).toBeLessThan(1e-3);
    expect(mismatches / total).toBeLessThan(1e-3);
  });
});
