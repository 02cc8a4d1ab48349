// Labels on a non-native output grid: the Croatian parcels over the real Croatia scene, job grid
// EPSG:3035 (30 m pixels, 32 px windows), labels rasterized directly on that grid. Oracle: GDAL/PROJ
// reprojects the parcels to EPSG:3035 and shapely intersects them with every label pixel of each
// sample's grid (test/interop/label_oracle.py, the one the native-grid label test uses).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { prepareJob, workUriOf } from '../../shared/cli/prepare-job.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { decodeNpy } from '../../shared/domain/npy.ts';
import { readShard, type ShardSample } from '../../shared/domain/shard.ts';
import { noProgress, silentLog } from '../../shared/ports.ts';
import { createLocalContext } from '../../shared/runtime/local-context.ts';
import { runJobLocally } from '../../shared/runtime/run-job.ts';
import { type RangeServer, startRangeServer, writeFixtureItems } from '../helpers/range-server.ts';
import { fixturesRoot, PYTHON, requireFixture, requirePython } from '../helpers/requirements.ts';

const CROATIA = 'sentinel2/earthsearch_v1_timeseries_T33TWL_2023-08_croatia_120m';
const PARCELS_FILE = 'labels/parcels_hr_arkod_2024_sample_EPSG3765.geojson';
const ORACLE = path.resolve(import.meta.dirname, '../interop/label_oracle.py');
const ready = requireFixture(CROATIA, PARCELS_FILE) && requirePython(['rasterio', 'shapely']);
// EPSG:3035 grid: a top-left corner north-west of the parcels (the AOI), on a 1 km lattice.
const ORIGIN: [number, number] = [4_690_000, 2_505_000];

const member = (s: ShardSample, name: string) => s.members.find((m) => m.name === name)?.data as Uint8Array;

describe.skipIf(!ready)('labels rasterized on an EPSG:3035 output grid equal GDAL + shapely', () => {
  let server: RangeServer;
  let dir: string;
  let manifest: Manifest;
  let samples: ShardSample[];

  beforeAll(async () => {
    const fixture = path.join(fixturesRoot(), CROATIA);
    server = await startRangeServer({ root: fixture });
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-grid-labels-'));
    await writeFixtureItems(fixture, server, dir, { red: 'B04', nir: 'B08' });
    const job = {
      name: 'grid-labels',
      catalog: { kind: 'static', source: 'items.json' },
      aoi: 'labels',
      period: { start: '2023-08-01', end: '2023-08-31' },
      selection: { maxCloudCover: 60, maxDates: 2, minAoiCoverage: 0 },
      bands: ['red', 'nir'],
      windows: { size: 32, where: 'labels' },
      grid: { kind: 'crs', crs: 'EPSG:3035', resolution: 30, origin: ORIGIN, resampling: 'average' },
      labels: {
        source: path.join(fixturesRoot(), PARCELS_FILE),
        classProperty: 'land_use_id',
        idProperty: 'jpaid',
        outputs: ['labels', 'coverage'],
      },
      splits: { method: 'random', train: 0.6, validation: 0.2, test: 0.2, seed: 3, allowEmpty: true },
      output: { uri: 'out/grid-labels' },
    };
    const file = path.join(dir, 'job.json');
    await writeFile(file, JSON.stringify(job));
    const prepared = await prepareJob(file);
    const workUri = workUriOf(prepared.job);
    const ctx = createLocalContext({ workUri, log: silentLog });
    await runJobLocally({ ...prepared, workUri, ctx, progress: noProgress, threads: 2 });
    const store = new FsBlobStore(prepared.job.output.uri);
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

  it('labels and coverage on the 30 m EPSG:3035 grid equal the oracle', () => {
    expect(samples.length).toBeGreaterThan(5);
    const metas = samples.map(
      (s) => JSON.parse(Buffer.from(member(s, 'json')).toString()) as { epsg: number; transform: number[] },
    );
    for (const m of metas) expect(m.epsg).toBe(3035);
    expect(manifest.classes?.resolution).toBe(30);
    const parcels = JSON.parse(
      readFileSync(path.join(fixturesRoot(), PARCELS_FILE), 'utf8'),
    ) as GeoJSON.FeatureCollection;
    const request = {
      src_crs: 'EPSG:3765',
      dst_crs: 'EPSG:3035',
      background: 0,
      features: parcels.features.map((f) => ({ geometry: f.geometry, cls: f.properties?.['land_use_id'] })),
      windows: samples.map((s, i) => ({
        key: s.key,
        x0: metas[i]?.transform[0],
        y1: metas[i]?.transform[3],
        px: 30,
        size: 32,
      })),
    };
    const requestFile = path.join(dir, 'oracle.json');
    writeFileSync(requestFile, JSON.stringify(request));
    const run = spawnSync(PYTHON, [ORACLE, requestFile], { encoding: 'utf8', maxBuffer: 1 << 28 });
    expect(run.stderr).toBe('');
    const oracle = JSON.parse(run.stdout) as Record<string, { labels: number[]; coverage: number[] }>;
    let mismatches = 0;
    let total = 0;
    let maxCoverageDiff = 0;
    let labelled = 0;
    for (const s of samples) {
      expect(s.key).toMatch(/^epsg3035_\d{4}_\d{4}$/);
      const want = oracle[s.key] as { labels: number[]; coverage: number[] };
      const labels = decodeNpy(member(s, 'labels.npy')).data as Uint16Array;
      const coverage = decodeNpy(member(s, 'coverage.npy')).data as Float32Array;
      for (let p = 0; p < labels.length; p++) {
        total++;
        if (labels[p] !== 0) labelled++;
        if (labels[p] !== want.labels[p]) mismatches++;
        maxCoverageDiff = Math.max(
          maxCoverageDiff,
          Math.abs((coverage[p] as number) - (want.coverage[p] as number)),
        );
      }
    }
    expect(labelled).toBeGreaterThan(300);
    expect(maxCoverageDiff).toBeLessThan(1e-3);
    expect(mismatches / total).toBeLessThan(1e-3);
  });
});
