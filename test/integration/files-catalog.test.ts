// Bring your own imagery (catalog kind "files"): GeoTIFFs with no STAC item, through the whole job on
// the local runtime. Every array is compared with rasterio's read of the same window
// (test/interop/window_oracle.py). Inputs: the real SpaceNet Atlanta image and footprints (striped,
// 0.5 m), real BigEarthNet v1 Sentinel-2 patches (12 striped files per patch at 10/20/60 m), and a
// pan + 8-band pair written by GDAL from the SpaceNet pixels (the 8 bands are that image shifted:
// synthetic band values, real GDAL encodings: pixel-interleaved, tiled, DEFLATE + predictor 2,
// TIFFTAG_DATETIME). Bad files (not a TIFF, no georeferencing, a CRS with no EPSG code) are refused.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { prepareJob, workUriOf } from '../../shared/cli/prepare-job.ts';
import { verifyDataset } from '../../shared/dataset/verify.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { decodeNpy } from '../../shared/domain/npy.ts';
import { readShard, type ShardSample } from '../../shared/domain/shard.ts';
import { noProgress, silentLog } from '../../shared/ports.ts';
import { createLocalContext } from '../../shared/runtime/local-context.ts';
import { runJobLocally } from '../../shared/runtime/run-job.ts';
import { exampleJobIn } from '../helpers/examples.ts';
import { startRangeServer } from '../helpers/range-server.ts';
import { fixturesRoot, PYTHON } from '../helpers/rasterio-reference.ts';
import { requireFixture, requirePython } from '../helpers/requirements.ts';
import { cliInProcess } from '../helpers/run-cli.ts';

const SPACENET = 'labels/spacenet_atlanta_buildings_not_s2';
const BEN_S2 = 'bigearthnet/v1_example_patches/BigEarthNet-S2-Example';
const ORACLE = path.resolve(import.meta.dirname, '../interop/window_oracle.py');
const spacenet = path.join(fixturesRoot(), SPACENET);
const ready =
  requireFixture(`${SPACENET}/sample_geotiff.tif`, `${SPACENET}/geotiff_labels.geojson`, BEN_S2) &&
  requirePython(['rasterio', 'numpy', 'shapely']);

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = (tag: string) => {
  const d = mkdtempSync(path.join(tmpdir(), `satfactory-files-${tag}-`));
  dirs.push(d);
  return d;
};

type SampleMeta = {
  id: string;
  bounds: [number, number, number, number];
  dates: string[];
  items: string[];
  transform: number[];
  groups: Record<string, { bands: string[]; resolution: number; shape: number[] }>;
};

type Ran = { manifest: Manifest; samples: ShardSample[]; store: FsBlobStore };

async function runJob(dir: string, job: Record<string, unknown>): Promise<Ran> {
  const file = path.join(dir, 'job.json');
  await writeFile(file, JSON.stringify(job));
  const prepared = await prepareJob(file);
  const workUri = workUriOf(prepared.job);
  const ctx = createLocalContext({ workUri, log: silentLog });
  await runJobLocally({ ...prepared, workUri, ctx, progress: noProgress, threads: 2 });
  const store = new FsBlobStore(prepared.job.output.uri);
  const manifest = JSON.parse(Buffer.from((await store.get('manifest.json')) as Uint8Array).toString());
  const samples: ShardSample[] = [];
  for (const shard of manifest.shards as Manifest['shards'])
    samples.push(...(await readShard((await store.get(shard.path)) as Uint8Array)));
  return { manifest, samples, store };
}

const member = (s: ShardSample, name: string) => s.members.find((m) => m.name === name)?.data as Uint8Array;
const metaOf = (s: ShardSample) => JSON.parse(Buffer.from(member(s, 'json')).toString()) as SampleMeta;

type Check = {
  npy: string;
  at: number[];
  file: string;
  band: number;
  bounds: number[];
  nodata_to_nan?: boolean;
};
type OracleAnswer = { checked: number; pixels: number; mismatches: unknown[] };

/** Writes each sample's group arrays as .npy files and asks rasterio to read the same windows. */
function compareWithRasterio(
  dir: string,
  samples: ShardSample[],
  fileOf: (meta: SampleMeta, band: string) => { file: string; band: number; nanNodata?: boolean },
): OracleAnswer {
  const checks: Check[] = [];
  for (const s of samples) {
    const meta = metaOf(s);
    for (const [group, g] of Object.entries(meta.groups)) {
      const npy = path.join(dir, `${s.key}.${group}.npy`);
      writeFileSync(npy, member(s, `${group}.npy`));
      const T = g.shape[0] as number;
      for (let t = 0; t < T; t++) {
        g.bands.forEach((band, c) => {
          const src = fileOf(meta, band);
          checks.push({
            npy,
            at: [t, c],
            file: src.file,
            band: src.band,
            bounds: meta.bounds,
            ...(src.nanNodata ? { nodata_to_nan: true } : {}),
          });
        });
      }
    }
  }
  const run = spawnSync(PYTHON, [ORACLE], { input: JSON.stringify({ checks }), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`window_oracle.py failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as OracleAnswer;
}

describe.skipIf(!ready)('files catalog: GeoTIFFs without STAC items', () => {
  it('SpaceNet Atlanta from its GeoTIFF alone (the example): pixels equal rasterio, building masks pass the oracle', async () => {
    const dir = tempDir('spacenet');
    // The example itself (examples/spacenet-atlanta.json), its fixture paths from fixturesRoot().
    const example = JSON.parse(readFileSync(exampleJobIn('spacenet-atlanta', dir), 'utf8'));
    const { manifest, samples, store } = await runJob(dir, example);
    expect((await verifyDataset(store)).problems).toEqual([]);
    // 900 x 900 at 0.5 m in 150 px windows: 36 positions, those touching a footprint are written.
    expect(samples.length).toBe(manifest.totals.written);
    expect(samples.length).toBeGreaterThan(10);
    expect(manifest.totals.rejected).toBe(0);
    // Every footprint is in a sample; the striped file is read once (each strip once).
    expect(manifest.classes?.validation?.accounting).toMatchObject({ kept: 43, inSamples: 43 });
    expect(manifest.io?.bytesFetched).toBe(900 * 900 * 2);
    expect(manifest.io?.refetchRatio).toBe(1);
    const meta = metaOf(samples[0] as ShardSample);
    expect(meta.dates).toEqual(['2009-12-22T00:00:00.000Z']);
    expect(meta.groups['0p5m']).toMatchObject({ bands: ['pan'], resolution: 0.5 });

    const answer = compareWithRasterio(dir, samples, () => ({
      file: path.join(spacenet, 'sample_geotiff.tif'),
      band: 1,
    }));
    expect(answer.mismatches).toEqual([]);
    expect(answer.checked).toBe(samples.length);
    expect(answer.pixels).toBe(samples.length * 150 * 150);

    // Footprints: rasterio.features.rasterize (pixel centre rule) on each window, as in
    // labels-spacenet.test.ts: a pixel may differ only where its centre lies on an outline.
    const windows = samples.map((s) => {
      const footprint = path.join(dir, `${s.key}.footprint.u8`);
      writeFileSync(
        footprint,
        decodeNpy(member(s, 'buildings.npy')).data.subarray(0, 150 * 150) as Uint8Array,
      );
      return { footprint, transform: metaOf(s).transform };
    });
    const script = `
import json, sys
import numpy as np
from rasterio.features import rasterize
from rasterio.transform import Affine
from shapely.geometry import shape, Point
from shapely.ops import unary_union
spec = json.load(sys.stdin)
polys = [shape(f['geometry']) for f in json.load(open(spec['labels']))['features']]
outlines = unary_union([p.boundary for p in polys])
out = {'pixels': 0, 'inside': 0, 'diffs': []}
for w in spec['windows']:
    t = Affine.from_gdal(*w['transform'])
    ref = rasterize([(p, 1) for p in polys], out_shape=(150, 150), transform=t, fill=0, dtype='uint8')
    ours = np.fromfile(w['footprint'], dtype=np.uint8).reshape(150, 150)
    out['pixels'] += ours.size
    out['inside'] += int(ours.sum())
    for r, c in zip(*np.nonzero(ours != ref)):
        x, y = t * (c + 0.5, r + 0.5)
        out['diffs'].append(outlines.distance(Point(x, y)))
json.dump(out, sys.stdout)
`;
    const run = spawnSync(PYTHON, ['-c', script], {
      input: JSON.stringify({ labels: path.join(spacenet, 'geotiff_labels.geojson'), windows }),
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const oracle = JSON.parse(run.stdout) as { pixels: number; inside: number; diffs: number[] };
    expect(oracle.inside).toBeGreaterThan(10_000);
    for (const d of oracle.diffs) expect(d).toBeLessThan(1e-6);
    expect(oracle.diffs.length).toBeLessThan(10);
  });

  it('BigEarthNet S2 patches: 12 files per date at 10, 20 and 60 m, one tile per patch, equal to rasterio', async () => {
    const dir = tempDir('ben');
    const root = path.join(fixturesRoot(), BEN_S2);
    const patches = ['S2A_MSIL2A_20170613T101031_87_48', 'S2A_MSIL2A_20170617T113321_4_55'];
    const BANDS = ['B02', 'B03', 'B04', 'B08', 'B05', 'B06', 'B07', 'B8A', 'B11', 'B12', 'B01', 'B09'];
    const files: unknown[] = [];
    for (const p of patches) {
      const labels = JSON.parse(readFileSync(path.join(root, p, `${p}_labels_metadata.json`), 'utf8'));
      for (const b of BANDS)
        files.push({
          path: path.join(root, p, `${p}_${b}.tif`),
          bands: [b.toLowerCase()],
          // "2017-06-13 10:10:31": the patch's acquisition, from its BigEarthNet metadata.
          datetime: `${String(labels.acquisition_date).replace(' ', 'T')}Z`,
        });
    }
    const { manifest, samples } = await runJob(dir, {
      name: 'ben-files',
      catalog: { kind: 'files', files },
      aoi: {
        type: 'Polygon',
        coordinates: [
          [
            [-10, 45],
            [20, 45],
            [20, 55],
            [-10, 55],
            [-10, 45],
          ],
        ],
      },
      period: { start: '2017-06-01', end: '2017-06-30' },
      bands: BANDS.map((b) => b.toLowerCase()),
      windows: { size: 60, stride: 60 },
      splits: { method: 'random', train: 0.5, validation: 0.25, test: 0.25, seed: 1, allowEmpty: true },
      output: { uri: 'out', minShardsPerSplit: 1 },
    });
    // Two patches of 120 x 120 at 10 m: 2 x 2 windows of 60 px each.
    expect(samples).toHaveLength(8);
    expect(manifest.totals).toMatchObject({ planned: 8, written: 8, rejected: 0 });
    const tiles = new Set(samples.map((s) => s.key.replace(/_\d{4}_\d{4}$/, '')));
    expect(tiles.size).toBe(2);
    const meta = metaOf(samples[0] as ShardSample);
    expect(Object.fromEntries(Object.entries(meta.groups).map(([g, v]) => [g, v.shape]))).toEqual({
      '10m': [1, 4, 60, 60],
      '20m': [1, 6, 30, 30],
      '60m': [1, 2, 10, 10],
    });
    // Each strip of every file once: fetched bytes equal the distinct ones.
    expect(manifest.io?.refetchRatio).toBe(1);
    const answer = compareWithRasterio(dir, samples, (m, band) => {
      const patch = patches.find((p) => m.items[0]?.startsWith(p.toLowerCase().replace(/[^a-z0-9]/g, '')));
      if (!patch) throw new Error(`no patch for ${m.items[0]}`);
      return { file: path.join(root, patch, `${patch}_${band.toUpperCase()}.tif`), band: 1 };
    });
    expect(answer.mismatches).toEqual([]);
    expect(answer.checked).toBe(8 * 12);
  });

  it('pan + 8-band multispectral (GDAL: pixel-interleaved, tiled, DEFLATE), dates from TIFFTAG_DATETIME', async () => {
    const dir = tempDir('pair');
    const make = `
import sys, numpy as np, rasterio
from rasterio.transform import Affine
src, out = sys.argv[1], sys.argv[2]
with rasterio.open(src) as ds:
    pan, t, crs = ds.read(1), ds.transform, ds.crs
with rasterio.open(out + '/pan.tif', 'w', driver='GTiff', dtype='uint16', width=900, height=900, count=1,
                   crs=crs, transform=t, nodata=0, blockysize=5) as d:
    d.write(pan, 1)
    d.update_tags(TIFFTAG_DATETIME='2009:12:22 16:39:07')
ms0 = pan.reshape(225, 4, 225, 4).mean(axis=(1, 3))
bands = np.stack([np.roll(ms0, 7 * k, axis=1).astype('uint16') + k for k in range(8)])
with rasterio.open(out + '/ms.tif', 'w', driver='GTiff', dtype='uint16', width=225, height=225, count=8,
                   crs=crs, transform=t * Affine.scale(4), nodata=0, tiled=True, blockxsize=64, blockysize=64,
                   compress='deflate', predictor=2, interleave='pixel') as d:
    d.write(bands)
    d.update_tags(TIFFTAG_DATETIME='2009:12:22 16:39:07')
`;
    const made = spawnSync(PYTHON, ['-c', make, path.join(spacenet, 'sample_geotiff.tif'), dir], {
      encoding: 'utf8',
    });
    expect(made.status, made.stderr).toBe(0);
    const server = await startRangeServer({ root: dir });
    try {
      const MS = ['coastal', 'blue', 'green', 'yellow', 'red', 'rededge', 'nir1', 'nir2'];
      const { manifest, samples } = await runJob(dir, {
        name: 'pan-ms',
        catalog: {
          kind: 'files',
          files: [
            { path: server.urlFor('pan.tif'), bands: ['pan'] },
            { path: server.urlFor('ms.tif'), bands: MS },
          ],
        },
        aoi: {
          type: 'Polygon',
          coordinates: [
            [
              [-84.49, 33.63],
              [-84.47, 33.63],
              [-84.47, 33.65],
              [-84.49, 33.65],
              [-84.49, 33.63],
            ],
          ],
        },
        period: { start: '2009-12-22', end: '2009-12-22' },
        bands: ['pan', ...MS],
        windows: { size: 100, stride: 100 },
        splits: { method: 'random', train: 0.8, validation: 0.1, test: 0.1, seed: 2, allowEmpty: true },
        output: { uri: 'out', minShardsPerSplit: 1 },
      });
      expect(samples).toHaveLength(81);
      const meta = metaOf(samples[0] as ShardSample);
      expect(meta.dates).toEqual(['2009-12-22T16:39:07.000Z']);
      expect(meta.groups['0p5m']?.shape).toEqual([1, 1, 100, 100]);
      expect(meta.groups['2m']).toMatchObject({ bands: MS, shape: [1, 8, 25, 25] });
      // The 8 bands share every tile of ms.tif: each tile fetched once, not once per band.
      expect(manifest.io?.refetchRatio).toBe(1);
      const msSize = (await stat(path.join(dir, 'ms.tif'))).size;
      // The header is read twice (Plan, then PlanWindows for all 8 bands at once: 16 KiB each).
      expect(server.statsFor('ms.tif').bytes).toBeLessThanOrEqual(msSize + 2 * 16_384);
      const answer = compareWithRasterio(dir, samples, (_m, band) =>
        band === 'pan'
          ? { file: path.join(dir, 'pan.tif'), band: 1 }
          : { file: path.join(dir, 'ms.tif'), band: MS.indexOf(band) + 1 },
      );
      expect(answer.mismatches).toEqual([]);
      expect(answer.checked).toBe(81 * 9);
    } finally {
      await server.close();
    }
  });

  it('examples/spacenet-atlanta.json names the fixtures and plans offline', async () => {
    const examples = path.resolve(import.meta.dirname, '../../examples');
    const job = JSON.parse(readFileSync(path.join(examples, 'spacenet-atlanta.json'), 'utf8'));
    const image = path.resolve(examples, job.catalog.files[0].path);
    const labels = path.resolve(examples, job.labels.source);
    // The example's relative paths reach ../shared/fixtures next to the clone.
    expect(image).toBe(
      path.join(
        path.resolve(import.meta.dirname, '../../..'),
        'shared/fixtures',
        SPACENET,
        'sample_geotiff.tif',
      ),
    );
    const dir = tempDir('example');
    job.catalog.files[0].path = path.join(spacenet, 'sample_geotiff.tif');
    job.labels.source = path.join(spacenet, path.basename(labels));
    job.output.uri = path.join(dir, 'out');
    delete job.$schema;
    await writeFile(path.join(dir, 'job.json'), JSON.stringify(job));
    const r = await cliInProcess(['plan', path.join(dir, 'job.json')]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/products\s+1 on 1 tile/);
  });

  it('refuses, at plan time and naming the file, one that is not a TIFF, has no georeferencing or no EPSG CRS', async () => {
    const dir = tempDir('bad');
    const make = `
import sys, numpy as np, rasterio, warnings
from rasterio.crs import CRS
from rasterio.transform import from_origin
out = sys.argv[1]
a = np.arange(64, dtype='uint16').reshape(8, 8)
warnings.simplefilter('ignore')
with rasterio.open(out + '/nogeo.tif', 'w', driver='GTiff', dtype='uint16', width=8, height=8, count=1) as d:
    d.write(a, 1)
crs = CRS.from_proj4('+proj=tmerc +lat_0=0 +lon_0=13.3 +k=0.9996 +x_0=500000 +y_0=0 +ellps=intl +units=m +no_defs')
with rasterio.open(out + '/custom.tif', 'w', driver='GTiff', dtype='uint16', width=8, height=8, count=1,
                   crs=crs, transform=from_origin(500000, 5000000, 10, 10)) as d:
    d.write(a, 1)
`;
    const made = spawnSync(PYTHON, ['-c', make, dir], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    await writeFile(path.join(dir, 'notes.tif'), '<html>not a tiff</html>\n'.repeat(10));
    const base = {
      name: 'bad-files',
      aoi: {
        type: 'Polygon',
        coordinates: [
          [
            [0, 0],
            [1, 0],
            [1, 1],
            [0, 1],
            [0, 0],
          ],
        ],
      },
      period: { start: '2020-01-01', end: '2020-12-31' },
      bands: ['b1'],
      windows: { size: 4 },
      output: { uri: 'out-bad' },
    };
    const cases: Array<[string, RegExp]> = [
      ['notes.tif', /notes\.tif is not a readable GeoTIFF/],
      ['nogeo.tif', /nogeo\.tif: it has no georeferencing/],
      ['custom.tif', /custom\.tif declares no EPSG code/],
    ];
    for (const [name, message] of cases) {
      const job = path.join(dir, `job-${name}.json`);
      await writeFile(
        job,
        JSON.stringify({ ...base, catalog: { kind: 'files', files: [name], datetime: '2020-06-01' } }),
      );
      const r = await cliInProcess(['plan', job]);
      expect(r.code, `${name}: ${r.err}`).toBe(2);
      expect(r.err).toMatch(message);
    }
    // A file with no date anywhere: the job and the TIFF are both silent.
    const job = path.join(dir, 'job-nodate.json');
    await writeFile(
      job,
      JSON.stringify({
        ...base,
        catalog: { kind: 'files', files: [path.join(spacenet, 'sample_geotiff.tif')] },
      }),
    );
    const r = await cliInProcess(['plan', job]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/sample_geotiff\.tif has no acquisition time.*catalog\.datetime/);
    // Only the run's scratch may exist: no dataset file.
    const written = await readdir(path.join(dir, 'out-bad'), { recursive: true }).catch(() => []);
    expect(written.filter((f) => !String(f).startsWith('.satfactory'))).toEqual([]);
  });
});
