// A SatlasPretrain-style dataset on the real Croatia time series (T33TWL, 5 dates, 120 m): job grid
// web-mercator zoom 13, 512 px tiles, run end to end through the local runtime over the range server.
// Checked independently of the code under test: the sample keys are exactly the XYZ tiles that meet
// the AOI (tile maths from lon/lat in the test), each sample's .json carries its tile's EPSG:3857
// geotransform, and every array plane equals GDAL's warp of the source GeoTIFF to that grid
// (test/interop/grid_oracle.py: rasterio.warp.reproject, same resampling): SCL (nearest) ≥ 99.9 %
// identical, bands (bilinear) mean |difference| ≤ 0.01 DN and at most 1 DN.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { prepareJob, workUriOf } from '../../shared/cli/prepare-job.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { noProgress, silentLog } from '../../shared/ports.ts';
import { createLocalContext } from '../../shared/runtime/local-context.ts';
import { runJobLocally } from '../../shared/runtime/run-job.ts';
import { type RangeServer, startRangeServer, writeFixtureItems } from '../helpers/range-server.ts';
import { fixturesRoot, PYTHON, requireFixture, requirePython } from '../helpers/requirements.ts';
import { sampleJson } from '../helpers/sample-json.ts';

const ORACLE = path.resolve(import.meta.dirname, '../interop/grid_oracle.py');
const CROATIA = 'sentinel2/earthsearch_v1_timeseries_T33TWL_2023-08_croatia_120m';
const ASSETS = { blue: 'B02', green: 'B03', red: 'B04', nir: 'B08', scl: 'SCL' } as const;
const ready = requireFixture(CROATIA) && requirePython(['numpy', 'rasterio']);

const H = 20037508.342789244;
const ZOOM = 13;
const AOI: [number, number, number, number] = [15.7, 45.3, 15.76, 45.33];

/** XYZ tile of a lon/lat (the slippy-map formulas). */
function tileOf(lon: number, lat: number, z: number): [number, number] {
  const n = 2 ** z;
  const x = Math.floor(((lon + 180) / 360) * n);
  const r = (lat * Math.PI) / 180;
  const y = Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n);
  return [x, y];
}

type Oracle = {
  resampling: Record<
    string,
    { pixels: number; identical: number; sum: number; max: number; validDiffer: number; compared: number }
  >;
  samples: { key: string; tile: string; sourceEpsg: number }[];
};

describe.skipIf(!ready)('grid webmercator z13: a SatlasPretrain-style dataset, GDAL as the oracle', () => {
  let server: RangeServer;
  let dir: string;
  let manifest: Manifest;
  let root: string;
  let oracle: Oracle;

  beforeAll(async () => {
    const croatia = path.join(fixturesRoot(), CROATIA);
    server = await startRangeServer({ root: croatia });
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-z13-'));
    await writeFixtureItems(croatia, server, dir, ASSETS);
    const job = {
      name: 'z13-croatia',
      catalog: { kind: 'static', source: 'items.json' },
      aoi: {
        type: 'Polygon',
        coordinates: [
          [
            [AOI[0], AOI[1]],
            [AOI[2], AOI[1]],
            [AOI[2], AOI[3]],
            [AOI[0], AOI[3]],
            [AOI[0], AOI[1]],
          ],
        ],
      },
      period: { start: '2023-08-01', end: '2023-08-31' },
      selection: { maxCloudCover: 100 },
      bands: ['blue', 'green', 'red', 'nir'],
      windows: { size: 512 },
      grid: { kind: 'webmercator', zoom: ZOOM, tileSize: 512, resampling: 'bilinear' },
      clouds: { mask: 'scl', maxCloudyFraction: 1 },
      splits: { method: 'random', train: 0.5, validation: 0.25, test: 0.25, seed: 3, allowEmpty: true },
      output: { uri: 'out/z13' },
    };
    const file = path.join(dir, 'job.json');
    await writeFile(file, JSON.stringify(job));
    const prepared = await prepareJob(file);
    const workUri = workUriOf(prepared.job);
    const ctx = createLocalContext({ workUri, log: silentLog });
    await runJobLocally({ ...prepared, workUri, ctx, progress: noProgress, threads: 2 });
    root = prepared.job.output.uri;
    const store = new FsBlobStore(root);
    manifest = JSON.parse(
      Buffer.from((await store.get('manifest.json')) as Uint8Array).toString(),
    ) as Manifest;
    const sources: Record<string, Record<string, string>> = {};
    for (const id of (await readdir(croatia)).filter((d) => d.startsWith('S2')))
      sources[id] = Object.fromEntries(
        Object.entries(ASSETS).map(([k, f]) => [k, path.join(croatia, id, `${f}.tif`)]),
      );
    const sourcesFile = path.join(dir, 'sources.json');
    await writeFile(sourcesFile, JSON.stringify(sources));
    const run = spawnSync(PYTHON, [ORACLE, root, sourcesFile], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
      env: { ...process.env, GDAL_NUM_THREADS: '1' },
    });
    if (run.status !== 0) throw new Error(`grid_oracle.py failed: ${run.stderr}`);
    oracle = JSON.parse(run.stdout) as Oracle;
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes one sample per zoom-13 tile meeting the AOI, keyed <z>_<x>_<y>', async () => {
    const [x0, y0] = tileOf(AOI[0], AOI[3], ZOOM);
    const [x1, y1] = tileOf(AOI[2], AOI[1], ZOOM);
    const want: string[] = [];
    for (let x = x0; x <= x1; x++) for (let y = y0; y <= y1; y++) want.push(`${ZOOM}_${x}_${y}`);
    expect(want.length).toBeGreaterThanOrEqual(2);
    const rejects = (await readFile(path.join(root, 'rejects.jsonl'), 'utf8')).split('\n').filter(Boolean);
    const got = [
      ...oracle.samples.map((s) => s.key),
      ...rejects.map((l) => JSON.parse(l).id ?? JSON.parse(l).key),
    ];
    expect(got.sort()).toEqual(want.sort());
    expect(oracle.samples.length).toBeGreaterThan(0);
    expect(manifest.grid.output).toMatchObject({ kind: 'webmercator', epsg: 3857, zoom: ZOOM });
    // Each source COG tile fetched once: the warped windows' source windows are read per region.
    expect(manifest.io?.refetchRatio).toBeLessThanOrEqual(1.05);
    expect(manifest.grid.output?.resampling).toEqual({
      blue: 'bilinear',
      green: 'bilinear',
      red: 'bilinear',
      nir: 'bilinear',
      scl: 'nearest',
    });
  });

  it("gives each sample its tile's EPSG:3857 geotransform, 512 x 512 arrays", async () => {
    const side = (2 * H) / 2 ** ZOOM;
    for (const s of oracle.samples) {
      const [, x, y] = s.key.split('_').map(Number) as [number, number, number];
      expect(s.sourceEpsg).toBe(32633);
      const json = await sampleJson(root, s.key);
      expect(json['epsg']).toBe(3857);
      const t = json['transform'] as number[];
      expect(t[0]).toBeCloseTo(-H + x * side, 6);
      expect(t[3]).toBeCloseTo(H - y * side, 6);
      expect(t[1]).toBeCloseTo(side / 512, 9);
      expect(t[5]).toBeCloseTo(-side / 512, 9);
      expect(
        (json['groups'] as Record<string, { shape: number[] }>)[
          Object.keys(json['groups'] as object)[0] as string
        ]?.shape,
      ).toEqual([5, 4, 512, 512]);
    }
  });

  it('equals GDAL warping the source GeoTIFFs to the same grids (figures printed)', () => {
    const lines = Object.entries(oracle.resampling).map(
      ([k, s]) =>
        `${k}: ${s.pixels} px, identical ${((100 * s.identical) / s.pixels).toFixed(4)} %, MAE ${(s.sum / s.compared).toFixed(5)} DN, max ${s.max} DN, validity differs at ${s.validDiffer} px`,
    );
    console.log(`z13 dataset vs GDAL:\n${lines.join('\n')}`);
    const nearest = oracle.resampling['nearest'];
    const bilinear = oracle.resampling['bilinear'];
    expect(nearest && bilinear).toBeTruthy();
    if (!nearest || !bilinear) return;
    expect(nearest.identical / nearest.pixels).toBeGreaterThanOrEqual(0.999);
    expect(bilinear.compared).toBeGreaterThan(100_000);
    expect(bilinear.sum / bilinear.compared).toBeLessThanOrEqual(0.01);
    expect(bilinear.max).toBeLessThanOrEqual(1);
    expect(bilinear.validDiffer / bilinear.pixels).toBeLessThanOrEqual(0.0001);
  });
});
