// Sentinel-1 beside Sentinel-2 (job `sources`): a second source cut on each sample's grid, with its
// own dates, written as <key>.s1.npy [T1, C, H, W] float32 and compared with rasterio.
// 1. examples/bigearthnet-s1-s2.json: real BigEarthNet v1 S2 patches (4 bands at 10 m) and their real
//    S1 VV+VH patches (float32 dB, same grid), both through the files catalog; the Python loader
//    reads the s1 member.
// 2. Planetary Computer sentinel-1-rtc: the real recorded PC item (its quirks: start_datetime with
//    a space, raster:bands nodata -32768, float32) re-pointed at a local raster served by the range
//    server, hrefs signed through a local SAS token endpoint that answers the recorded token body.
//    Synthetic, said plainly: the item's datetime/geometry are set to the BigEarthNet S1 patch's, and
//    the raster is that patch's VV turned from dB to linear gamma0 (10^(dB/10)) with a 10 x 10 block
//    set to -32768 (PC's nodata), written by rasterio; the token's expiry is moved to the future
//    (the recorded one expired in 2024). The refusal of a token (403) is the fault case.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { prepareJob, workUriOf } from '../../shared/cli/prepare-job.ts';
import { verifyDataset } from '../../shared/dataset/verify.ts';
import { toWgs84 } from '../../shared/domain/crs.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { decodeNpy } from '../../shared/domain/npy.ts';
import { readShard, type ShardSample } from '../../shared/domain/shard.ts';
import { noProgress, silentLog } from '../../shared/ports.ts';
import { createLocalContext } from '../../shared/runtime/local-context.ts';
import { runJobLocally } from '../../shared/runtime/run-job.ts';
import { startRangeServer } from '../helpers/range-server.ts';
import { fixturesRoot, PYTHON } from '../helpers/rasterio-reference.ts';
import { requireFixture, requirePython } from '../helpers/requirements.ts';
import { cliInProcess } from '../helpers/run-cli.ts';

const BEN = 'bigearthnet/v1_example_patches';
const PC_ITEMS = 'sentinel1/pc_sentinel-1-rtc_items_2024-04-19_libya/sentinel-1-rtc-pc.json';
const CAMARGUE = 'sentinel1/gamma_geocoded_vv_db_camargue_20m';
const PC_TOKEN = 'sentinel1/pc_sas_token_response/token_sentinel2l2a01_sentinel2-l2.json';
const ORACLE = path.resolve(import.meta.dirname, '../interop/window_oracle.py');
const EXAMPLES = path.resolve(import.meta.dirname, '../../examples');
const ready = requireFixture(BEN, PC_ITEMS, PC_TOKEN, CAMARGUE) && requirePython(['rasterio', 'numpy']);

const S2_PATCH = 'S2A_MSIL2A_20170613T101031_87_48';
const S1_PATCH = 'S1A_IW_GRDH_1SDV_20170613T165043_33UUP_87_48';
const s2File = (band: string) =>
  path.join(fixturesRoot(), BEN, 'BigEarthNet-S2-Example', S2_PATCH, `${S2_PATCH}_${band}.tif`);
const s1File = (pol: string) =>
  path.join(fixturesRoot(), BEN, 'BigEarthNet-S1-Example', S1_PATCH, `${S1_PATCH}_${pol}.tif`);

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = (tag: string) => {
  const d = mkdtempSync(path.join(tmpdir(), `satfactory-s1-${tag}-`));
  dirs.push(d);
  return d;
};

/** A recorded PC item, edited by the tests (geometry, times, hrefs). */
type PcItem = {
  id: string;
  geometry: unknown;
  bbox: unknown;
  properties: Record<string, unknown>;
  assets: Record<string, { href: string }>;
};

type Meta = {
  bounds: number[];
  dates: string[];
  items: string[];
  groups: Record<string, { bands: string[]; shape: number[] }>;
  sources: Record<
    string,
    { dates: string[]; items: string[]; bands: string[]; shape: number[]; nodataIs: string }
  >;
};
const member = (s: ShardSample, name: string) => s.members.find((m) => m.name === name)?.data as Uint8Array;
const metaOf = (s: ShardSample) => JSON.parse(Buffer.from(member(s, 'json')).toString()) as Meta;

async function runJob(dir: string, job: Record<string, unknown>) {
  const file = path.join(dir, 'job.json');
  await writeFile(file, JSON.stringify(job));
  const prepared = await prepareJob(file);
  const workUri = workUriOf(prepared.job);
  const ctx = createLocalContext({ workUri, log: silentLog });
  await runJobLocally({ ...prepared, workUri, ctx, progress: noProgress, threads: 2 });
  const store = new FsBlobStore(prepared.job.output.uri);
  const manifest = JSON.parse(
    Buffer.from((await store.get('manifest.json')) as Uint8Array).toString(),
  ) as Manifest;
  const samples: ShardSample[] = [];
  for (const shard of manifest.shards)
    samples.push(...(await readShard((await store.get(shard.path)) as Uint8Array)));
  return { manifest, samples, store, uri: prepared.job.output.uri };
}

type Check = {
  npy: string;
  at: number[];
  file: string;
  band: number;
  bounds: number[];
  nodata_to_nan?: boolean;
};

function oracle(checks: Check[]): { checked: number; pixels: number; mismatches: unknown[] } {
  const run = spawnSync(PYTHON, [ORACLE], { input: JSON.stringify({ checks }), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`window_oracle.py failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

/** A local SAS token endpoint: the recorded body, its expiry moved an hour ahead (or a status). */
async function tokenServer(
  status = 200,
): Promise<{ url: string; paths: string[]; close: () => Promise<void> }> {
  const recorded = JSON.parse(readFileSync(path.join(fixturesRoot(), PC_TOKEN), 'utf8'));
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    paths.push(req.url ?? '');
    if (status !== 200) {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Access denied due to missing subscription key' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ...recorded, 'msft:expiry': new Date(Date.now() + 3_600_000).toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/sas/v1/token`,
    paths,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe.skipIf(!ready)('Sentinel-1 beside Sentinel-2', () => {
  it('BigEarthNet S1 + S2 patch pairs (examples/bigearthnet-s1-s2.json): s1.npy equals rasterio, its own dates', async () => {
    const dir = tempDir('ben');
    const job = JSON.parse(readFileSync(path.join(EXAMPLES, 'bigearthnet-s1-s2.json'), 'utf8'));
    // The example's relative paths, made absolute, so the job runs from a scratch folder.
    const absolute = (f: { path: string }) => ({ ...f, path: path.resolve(EXAMPLES, f.path) });
    job.catalog.files = job.catalog.files.map(absolute);
    job.sources[0].catalog.files = job.sources[0].catalog.files.map(absolute);
    job.output.uri = path.join(dir, 'out');
    delete job.$schema;
    const { manifest, samples, store, uri } = await runJob(dir, job);
    expect((await verifyDataset(store)).problems).toEqual([]);
    expect(samples).toHaveLength(8);
    expect(manifest.totals).toMatchObject({ planned: 8, written: 8, rejected: 0 });
    expect(manifest.io?.refetchRatio).toBe(1);
    // The S1 products are in the manifest's sources, named as the second source.
    expect(
      manifest.sources
        .filter((s) => s.source === 's1')
        .map((s) => s.datetime)
        .sort(),
    ).toEqual(['2017-06-13T16:50:43.000Z', '2017-06-17T06:47:24.000Z']);
    // The dataset card names the member.
    expect(readFileSync(path.join(uri, 'README.md'), 'utf8')).toContain(
      '`<key>.s1.npy` [T1, C, h, w] float32',
    );
    const checks: Check[] = [];
    for (const s of samples) {
      const meta = metaOf(s);
      expect(meta.groups['10m']?.shape).toEqual([1, 4, 60, 60]);
      expect(meta.sources['s1']).toMatchObject({
        bands: ['vv', 'vh'],
        shape: [1, 2, 60, 60],
        nodataIs: 'NaN',
      });
      const s1 = decodeNpy(member(s, 's1.npy'));
      expect(s1.dtype).toBe('<f4');
      expect(s1.shape).toEqual([1, 2, 60, 60]);
      // Each S2 date gets the S1 acquisition of its own patch (same day or 4 days apart), not the other's.
      const pair = meta.dates[0]?.startsWith('2017-06-13')
        ? '20170613T165043_33UUP_87_48'
        : '20170617T064724_29UPU_4_55';
      const s1Patch = `S1A_IW_GRDH_1SDV_${pair}`;
      const s2Patch = meta.dates[0]?.startsWith('2017-06-13') ? S2_PATCH : 'S2A_MSIL2A_20170617T113321_4_55';
      expect(meta.sources['s1']?.dates).toEqual([
        pair.startsWith('20170613') ? '2017-06-13T16:50:43.000Z' : '2017-06-17T06:47:24.000Z',
      ]);
      const npy10 = path.join(dir, `${s.key}.10m.npy`);
      const npyS1 = path.join(dir, `${s.key}.s1.npy`);
      writeFileSync(npy10, member(s, '10m.npy'));
      writeFileSync(npyS1, member(s, 's1.npy'));
      for (const [c, b] of ['B02', 'B03', 'B04', 'B08'].entries())
        checks.push({
          npy: npy10,
          at: [0, c],
          file: path.join(fixturesRoot(), BEN, 'BigEarthNet-S2-Example', s2Patch, `${s2Patch}_${b}.tif`),
          band: 1,
          bounds: meta.bounds,
        });
      for (const [c, pol] of ['VV', 'VH'].entries())
        checks.push({
          npy: npyS1,
          at: [0, c],
          file: path.join(fixturesRoot(), BEN, 'BigEarthNet-S1-Example', s1Patch, `${s1Patch}_${pol}.tif`),
          band: 1,
          bounds: meta.bounds,
          nodata_to_nan: true,
        });
    }
    const answer = oracle(checks);
    expect(answer.mismatches).toEqual([]);
    expect(answer.checked).toBe(8 * 6);

    // The Python loader reads the s1 member beside the S2 group.
    const script = `
import sys, json
sys.path.insert(0, sys.argv[2])
from satfactory_data.dataset import decode_sample
import tarfile, io, glob, collections
n = 0
for shard in sorted(glob.glob(sys.argv[1] + '/*/*.tar')):
    with tarfile.open(shard) as tar:
        groups = collections.defaultdict(dict)
        for m in tar.getmembers():
            key, _, name = m.name.partition('.')
            groups[key][name] = tar.extractfile(m).read()
        for key, members in groups.items():
            s = decode_sample(key, members)
            assert s['s1'].shape == (1, 2, 60, 60) and str(s['s1'].dtype) == 'float32', s['s1'].shape
            assert s['json']['sources']['s1']['bands'] == ['vv', 'vh']
            n += 1
print(n)
`;
    const py = spawnSync(PYTHON, ['-c', script, uri, path.resolve(import.meta.dirname, '../../python')], {
      encoding: 'utf8',
    });
    expect(py.status, py.stderr).toBe(0);
    expect(py.stdout.trim()).toBe('8');
  });

  it('Planetary Computer sentinel-1-rtc: a recorded item re-pointed at a local raster, hrefs signed, nodata as NaN', async () => {
    const dir = tempDir('pc');
    const made = spawnSync(
      PYTHON,
      [
        '-c',
        `
import sys, numpy as np, rasterio
for pol in ('VV', 'VH'):
    with rasterio.open(sys.argv[1].replace('@', pol)) as ds:
        db, profile = ds.read(1), ds.profile
    linear = (10.0 ** (db / 10.0)).astype('float32')
    linear[0:10, 0:10] = -32768
    profile.update(nodata=-32768, tiled=True, blockxsize=64, blockysize=64, compress='deflate')
    with rasterio.open(sys.argv[2] + '/iw-' + pol.lower() + '.rtc.tiff', 'w', **profile) as out:
        out.write(linear, 1)
`,
        s1File('@'),
        dir,
      ],
      { encoding: 'utf8' },
    );
    expect(made.status, made.stderr).toBe(0);
    const server = await startRangeServer({ root: dir });
    const tokens = await tokenServer();
    try {
      const items = JSON.parse(readFileSync(path.join(fixturesRoot(), PC_ITEMS), 'utf8')) as PcItem[];
      const item = structuredClone(items[0]) as PcItem;
      // Synthetic: the real item's time and footprint become the BigEarthNet S1 patch's.
      const [x0, y0, x1, y1] = [404_400, 5_341_200, 405_600, 5_342_400];
      const ring = [
        [x0, y0],
        [x1, y0],
        [x1, y1],
        [x0, y1],
        [x0, y0],
      ].map(([x, y]) => toWgs84(32633, [x as number, y as number]));
      item['geometry'] = { type: 'Polygon', coordinates: [ring] };
      item['bbox'] = [ring[0]?.[0], ring[0]?.[1], ring[2]?.[0], ring[2]?.[1]];
      // datetime null: the time comes from start_datetime, written as PC does, with a space.
      item['properties']['datetime'] = null;
      item['properties']['start_datetime'] = '2017-06-13 16:50:43.000000+00:00';
      item['properties']['end_datetime'] = '2017-06-13 16:50:55.000000+00:00';
      item.assets = {
        ...item.assets,
        vv: { ...item.assets['vv'], href: server.urlFor('iw-vv.rtc.tiff') },
        vh: { ...item.assets['vh'], href: server.urlFor('iw-vh.rtc.tiff') },
      };
      await writeFile(
        path.join(dir, 'pc-items.json'),
        JSON.stringify({ type: 'FeatureCollection', features: [item] }),
      );
      const job = {
        name: 'pc-s1',
        catalog: {
          kind: 'files',
          files: ['B02', 'B03', 'B04', 'B08'].map((b) => ({ path: s2File(b), bands: [b.toLowerCase()] })),
          datetime: '2017-06-13T10:10:31Z',
        },
        aoi: {
          type: 'Polygon',
          coordinates: [
            [
              [13, 48],
              [14.5, 48],
              [14.5, 48.5],
              [13, 48.5],
              [13, 48],
            ],
          ],
        },
        period: { start: '2017-06-01', end: '2017-06-30' },
        bands: ['b02', 'b03', 'b04', 'b08'],
        sources: [
          {
            name: 's1',
            catalog: {
              kind: 'static',
              source: 'pc-items.json',
              sign: { kind: 'planetary-computer', endpoint: tokens.url, collection: 'sentinel-1-rtc' },
            },
            bands: ['vv', 'vh'],
          },
        ],
        windows: { size: 60, stride: 60 },
        splits: { method: 'random', train: 0.5, validation: 0.25, test: 0.25, seed: 1, allowEmpty: true },
        output: { uri: 'out', minShardsPerSplit: 1 },
      };
      const { manifest, samples } = await runJob(dir, job);
      expect(samples).toHaveLength(4);
      const meta = metaOf(samples[0] as ShardSample);
      expect(meta.sources['s1']?.items).toEqual([item['id']]);
      expect(meta.sources['s1']?.dates).toEqual(['2017-06-13T16:50:43.000Z']);
      // Every read of the S1 rasters carried the recorded token; the dataset holds no token.
      const reads = server.log.filter((r) => r.path.endsWith('.rtc.tiff'));
      expect(reads.length).toBeGreaterThan(0);
      for (const r of reads)
        expect(r.query).toBe(
          `?${JSON.parse(readFileSync(path.join(fixturesRoot(), PC_TOKEN), 'utf8')).token}`,
        );
      expect(tokens.paths.every((p) => p === '/api/sas/v1/token/sentinel-1-rtc')).toBe(true);
      // One token per process that reads (the main thread and each worker), not one per read.
      expect(tokens.paths.length).toBeGreaterThan(0);
      expect(tokens.paths.length).toBeLessThanOrEqual(3);
      expect(JSON.stringify(manifest)).not.toContain('sig=');
      const checks: Check[] = [];
      let nan = 0;
      for (const s of samples) {
        const m = metaOf(s);
        const npy = path.join(dir, `${s.key}.s1.npy`);
        writeFileSync(npy, member(s, 's1.npy'));
        for (const v of decodeNpy(member(s, 's1.npy')).data as Float32Array) if (Number.isNaN(v)) nan++;
        for (const [c, pol] of ['vv', 'vh'].entries())
          checks.push({
            npy,
            at: [0, c],
            file: path.join(dir, `iw-${pol}.rtc.tiff`),
            band: 1,
            bounds: m.bounds,
            nodata_to_nan: true,
          });
      }
      // The 10 x 10 block of nodata, in both bands: NaN.
      expect(nan).toBe(2 * 100);
      const answer = oracle(checks);
      expect(answer.mismatches).toEqual([]);
      expect(answer.checked).toBe(8);
    } finally {
      await server.close();
      await tokens.close();
    }
  });

  it('Camargue S1 (real, 20 m, dB) as its own 2 dates beside a 10 m primary on its lattice; off the lattice it is warped as GDAL warps', async () => {
    const dir = tempDir('camargue');
    const folder = path.join(fixturesRoot(), CAMARGUE);
    // Synthetic primary: a uint16 10 m raster on the S1 files' lattice (their origin, 620048.241204, 4830114.70107),
    // EPSG:32631, written by rasterio; and the same shifted by 5 m (off the 20 m lattice).
    const made = spawnSync(
      PYTHON,
      [
        '-c',
        `
import sys, numpy as np, rasterio
from rasterio.transform import from_origin
with rasterio.open(sys.argv[2]) as s1:
    x0, y0 = s1.transform.c, s1.transform.f
for name, dx in (('primary.tif', 0), ('shifted.tif', 5)):
    a = (np.arange(400 * 480, dtype=np.uint32) % 6007 + 1).astype('uint16').reshape(400, 480)
    with rasterio.open(sys.argv[1] + '/' + name, 'w', driver='GTiff', dtype='uint16', width=480, height=400,
                       count=1, crs='EPSG:32631', transform=from_origin(x0 + dx, y0, 10, 10)) as d:
        d.write(a, 1)
`,
        dir,
        path.join(folder, 'S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif'),
      ],
      { encoding: 'utf8' },
    );
    expect(made.status, made.stderr).toBe(0);
    const s1 = [
      ['S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif', '2015-03-09T17:30:17Z'],
      ['S1A__IW___D_20170309T054356_VV_grd_mli_geo_norm_db.tif', '2017-03-09T05:43:56Z'],
      ['S1A__IW___D_20171210T054359_VV_grd_mli_geo_norm_db.tif', '2017-12-10T05:43:59Z'],
    ];
    const job = (primary: string) => ({
      name: 'camargue',
      catalog: {
        kind: 'files',
        files: [{ path: path.join(dir, primary), bands: ['dn'] }],
        datetime: '2016-06-01',
      },
      aoi: {
        type: 'Polygon',
        coordinates: [
          [
            [4.4, 43.3],
            [4.9, 43.3],
            [4.9, 43.7],
            [4.4, 43.7],
            [4.4, 43.3],
          ],
        ],
      },
      period: { start: '2015-01-01', end: '2017-12-31' },
      bands: ['dn'],
      sources: [
        {
          name: 's1',
          catalog: {
            kind: 'files',
            files: s1.map(([f, datetime]) => ({
              path: path.join(folder, f as string),
              bands: ['vv'],
              datetime,
            })),
          },
          bands: ['vv'],
          selection: { maxDates: 2 },
        },
      ],
      windows: { size: 120, stride: 120 },
      splits: { method: 'random', train: 0.5, validation: 0.25, test: 0.25, seed: 1, allowEmpty: true },
      output: { uri: `out-${primary}`, minShardsPerSplit: 1 },
    });
    const { samples, uri } = await runJob(dir, job('primary.tif'));
    // 480 x 400 px at 10 m in 120 px windows: 4 x 3 (the S1 rasters are 268 x 217 px at 20 m, the same extent).
    expect(samples).toHaveLength(12);
    const checks: Check[] = [];
    for (const s of samples) {
      const m = metaOf(s);
      // Both dates of the overlapping grid; the 2017-12-10 scene (in the AOI) lies 24 km from the tile.
      expect(m.sources['s1']).toMatchObject({
        dates: ['2015-03-09T17:30:17.000Z', '2017-03-09T05:43:56.000Z'],
        shape: [2, 1, 60, 60],
      });
      const npy = path.join(dir, `${s.key}.s1.npy`);
      writeFileSync(npy, member(s, 's1.npy'));
      for (const [t, f] of [s1[0], s1[1]].entries())
        checks.push({
          npy,
          at: [t, 0],
          file: path.join(folder, f?.[0] as string),
          band: 1,
          bounds: m.bounds,
          nodata_to_nan: true,
        });
    }
    const answer = oracle(checks);
    expect(answer.mismatches).toEqual([]);
    expect(answer.checked).toBe(24);
    const report = JSON.parse(readFileSync(path.join(uri, 'selection.json'), 'utf8'));
    const why = Object.fromEntries(
      (report.sources.s1.candidates as Array<{ datetime: string; reason: string | null }>).map((c) => [
        c.datetime,
        c.reason,
      ]),
    );
    expect(why).toEqual({
      '2015-03-09T17:30:17.000Z': null,
      '2017-03-09T05:43:56.000Z': null,
      '2017-12-10T05:43:59.000Z': 'no-overlap',
    });

    // Off the lattice (5 m east): the source is warped onto each window at its 20 m pixel size, as
    // GDAL warps it (bilinear, the default); rasterio.warp.reproject onto the same grids is the oracle.
    const shifted = await runJob(dir, job('shifted.tif'));
    expect(shifted.samples).toHaveLength(12);
    const windows = shifted.samples.map((s) => {
      const m = metaOf(s);
      expect(m.sources['s1']).toMatchObject({ shape: [2, 1, 60, 60] });
      const cube = member(s, 's1.npy');
      const f32 = decodeNpy(cube).data as Float32Array;
      return { key: s.key, bounds: m.bounds, values: Array.from(f32, (v) => (Number.isNaN(v) ? null : v)) };
    });
    const warped = spawnSync(
      PYTHON,
      [
        '-c',
        `
import json, sys, numpy as np, rasterio
from rasterio.warp import reproject, Resampling
from rasterio.transform import from_origin
req = json.load(sys.stdin)
worst, pixels, validity = 0.0, 0, 0
for w in req['windows']:
    got = np.array([np.nan if v is None else v for v in w['values']], dtype='float64').reshape(2, 60, 60)
    for t, f in enumerate(req['files']):
        with rasterio.open(f) as src:
            want = np.full((60, 60), np.nan, dtype='float32')
            reproject(rasterio.band(src, 1), want, dst_transform=from_origin(w['bounds'][0], w['bounds'][3], 20, 20),
                      dst_crs=src.crs, resampling=Resampling.bilinear, dst_nodata=np.nan)
        both = ~np.isnan(got[t]) & ~np.isnan(want)
        validity += int(np.sum(np.isnan(got[t]) != np.isnan(want)))
        pixels += int(both.sum())
        if both.any(): worst = max(worst, float(np.max(np.abs(got[t][both] - want[both]))))
print(json.dumps({'worst': worst, 'pixels': pixels, 'validity': validity}))
`,
      ],
      {
        input: JSON.stringify({
          windows,
          files: [s1[0], s1[1]].map((f) => path.join(folder, f?.[0] as string)),
        }),
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      },
    );
    expect(warped.status, warped.stderr).toBe(0);
    const w = JSON.parse(warped.stdout) as { worst: number; pixels: number; validity: number };
    console.log(
      `Camargue S1 warped 5 m off its lattice: ${w.pixels} pixels, max |ours - GDAL| ${w.worst} dB, validity differs at ${w.validity}`,
    );
    expect(w.pixels).toBeGreaterThan(12 * 2 * 3000);
    expect(w.worst).toBeLessThan(1e-3);
    expect(w.validity).toBeLessThan(0.001 * 12 * 2 * 3600);

    // On a non-native grid a second source is refused at plan time, by name.
    const onMercator = {
      ...job('primary.tif'),
      windows: { size: 512 },
      grid: { kind: 'webmercator', zoom: 13 },
      output: { uri: 'out-mercator', minShardsPerSplit: 1 },
    };
    const mercatorFile = path.join(dir, 'mercator.json');
    await writeFile(mercatorFile, JSON.stringify(onMercator));
    const r = await cliInProcess(['plan', mercatorFile]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('second sources (s1) are read only on the native grid');
  });

  it('a token endpoint that wants a subscription key: the run stops naming it and PC_SDK_SUBSCRIPTION_KEY', async () => {
    const dir = tempDir('403');
    const tokens = await tokenServer(403);
    try {
      const items = JSON.parse(readFileSync(path.join(fixturesRoot(), PC_ITEMS), 'utf8')) as PcItem[];
      const item = structuredClone(items[0]) as PcItem;
      const ring = [
        [404_400, 5_341_200],
        [405_600, 5_341_200],
        [405_600, 5_342_400],
        [404_400, 5_342_400],
        [404_400, 5_341_200],
      ].map(([x, y]) => toWgs84(32633, [x as number, y as number]));
      item['geometry'] = { type: 'Polygon', coordinates: [ring] };
      item['properties']['datetime'] = '2017-06-13T16:50:43Z';
      await writeFile(path.join(dir, 'pc-items.json'), JSON.stringify(item));
      const job = {
        name: 'pc-403',
        catalog: {
          kind: 'files',
          files: [{ path: s2File('B02'), bands: ['b02'] }],
          datetime: '2017-06-13T10:10:31Z',
        },
        aoi: {
          type: 'Polygon',
          coordinates: [
            [
              [13, 48],
              [14.5, 48],
              [14.5, 48.5],
              [13, 48.5],
              [13, 48],
            ],
          ],
        },
        period: { start: '2017-06-01', end: '2017-06-30' },
        bands: ['b02'],
        sources: [
          {
            name: 's1',
            catalog: {
              kind: 'static',
              source: 'pc-items.json',
              sign: { kind: 'planetary-computer', endpoint: tokens.url, collection: 'sentinel-1-rtc' },
            },
            bands: ['vv', 'vh'],
          },
        ],
        windows: { size: 60 },
        splits: { method: 'random', train: 1, validation: 0, test: 0 },
        output: { uri: 'out' },
      };
      const file = path.join(dir, 'job.json');
      await writeFile(file, JSON.stringify(job));
      const env = process.env['PC_SDK_SUBSCRIPTION_KEY'];
      delete process.env['PC_SDK_SUBSCRIPTION_KEY'];
      const r = await cliInProcess(['plan', file]).finally(() => {
        if (env !== undefined) process.env['PC_SDK_SUBSCRIPTION_KEY'] = env;
      });
      expect(r.code).not.toBe(0);
      expect(r.err).toContain(`${tokens.url}/sentinel-1-rtc refused a token (403)`);
      expect(r.err).toContain('set PC_SDK_SUBSCRIPTION_KEY');
      // Refused at once: a 403 is not retried.
      expect(tokens.paths).toEqual(['/api/sas/v1/token/sentinel-1-rtc']);
    } finally {
      await tokens.close();
    }
  });
});
