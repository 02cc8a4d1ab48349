// One output grid across two UTM zones. There is no real two-zone fixture, so the test makes one
// from the real Croatia scene (T33TWL, 120 m): per date, its west part stays a zone-33 product, and
// its east part (overlapping the west by 56 columns) is warped by gdalwarp into EPSG:32634, the
// neighbouring zone, as a second tile with its own items (footprint: the east part's true outline).
// A job with grid EPSG:3035 over an AOI across both parts must give one set of samples: every window
// of the grid that meets the AOI exactly once (planned = written + rejected, no key twice), fed by
// both tiles, each sample from the tile whose footprint holds its centre, and every array plane
// equal to GDAL warping that tile's own GeoTIFFs onto the sample's grid (grid_oracle.py).
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { booleanIntersects } from '@turf/turf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareJob, workUriOf } from '../../shared/cli/prepare-job.ts';
import { noProgress, silentLog } from '../../shared/ports.ts';
import { createLocalContext } from '../../shared/runtime/local-context.ts';
import { runJobLocally } from '../../shared/runtime/run-job.ts';
import { type RangeServer, startRangeServer } from '../helpers/range-server.ts';
import { fixturesRoot, PYTHON, requireFixture, requirePython, requireTool } from '../helpers/requirements.ts';
import { sampleJson } from '../helpers/sample-json.ts';

const ORACLE = path.resolve(import.meta.dirname, '../interop/grid_oracle.py');
const CROATIA = 'sentinel2/earthsearch_v1_timeseries_T33TWL_2023-08_croatia_120m';
const DATES = ['S2B_33TWL_20230813_0_L2A', 'S2A_33TWL_20230815_0_L2A'];
const FILES = { blue: 'B02', green: 'B03', red: 'B04', nir: 'B08', scl: 'SCL' } as const;
const ready =
  requireFixture(CROATIA) && requireTool('gdal_translate') && requirePython(['numpy', 'rasterio']);

const RES = 120;
const SIZE = 32;
const AOI: [number, number, number, number] = [15.55, 45.25, 15.98, 45.38];

function gdal(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
}

/** The WGS84 outline of a raster (gdalinfo's wgs84Extent). */
function outline(file: string): GeoJSON.Polygon {
  const r = spawnSync('gdalinfo', ['-json', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout).wgs84Extent as GeoJSON.Polygon;
}

const TILED = [
  '-co',
  'TILED=YES',
  '-co',
  'BLOCKXSIZE=128',
  '-co',
  'BLOCKYSIZE=128',
  '-co',
  'COMPRESS=DEFLATE',
  '-co',
  'PREDICTOR=2',
];

type Oracle = {
  resampling: Record<
    string,
    { pixels: number; identical: number; sum: number; max: number; validDiffer: number; compared: number }
  >;
  samples: { key: string; tile: string; sourceEpsg: number }[];
};

describe.skipIf(!ready)('one EPSG:3035 grid across two UTM zones (second zone made with gdalwarp)', () => {
  let server: RangeServer;
  let dir: string;
  let root: string;
  let oracle: Oracle;
  let eastOutline: GeoJSON.Polygon;
  let westOutline: GeoJSON.Polygon;
  let origin: [number, number];
  const rejected: string[] = [];

  beforeAll(async () => {
    const croatia = path.join(fixturesRoot(), CROATIA);
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-zones-'));
    const items: unknown[] = [];
    const sources: Record<string, Record<string, string>> = {};
    server = await startRangeServer({ root: dir });
    for (const id of DATES) {
      const item = JSON.parse(await readFile(path.join(croatia, id, `${id}.json`), 'utf8'));
      for (const [side, zone, epsg] of [
        ['west', 33, 32633],
        ['east', 34, 32634],
      ] as const) {
        const newId = `${id}_${side}`;
        await mkdir(path.join(dir, newId), { recursive: true });
        sources[newId] = {};
        const clone = structuredClone(item);
        clone.id = newId;
        for (const k of [
          'proj:code',
          'proj:transform',
          'proj:shape',
          'proj:bbox',
          'proj:centroid',
          'proj:geometry',
        ])
          delete clone.properties[k];
        clone.properties['proj:epsg'] = epsg;
        clone.properties['mgrs:utm_zone'] = zone;
        clone.properties['mgrs:grid_square'] = side === 'west' ? 'WL' : 'CR';
        clone.properties['s2:nodata_pixel_percentage'] = 0;
        for (const [asset, file] of Object.entries(FILES)) {
          const src = path.join(croatia, id, `${file}.tif`);
          const out = path.join(dir, newId, `${file}.tif`);
          if (side === 'west') {
            gdal('gdal_translate', ['-q', '-srcwin', '0', '0', '300', '224', ...TILED, src, out]);
            westOutline = outline(out);
          } else {
            const crop = path.join(dir, newId, `${file}.crop.tif`);
            gdal('gdal_translate', ['-q', '-srcwin', '244', '0', '300', '224', src, crop]);
            eastOutline = outline(crop);
            gdal('gdalwarp', [
              '-q',
              '-t_srs',
              `EPSG:${epsg}`,
              '-tr',
              String(RES),
              String(RES),
              '-tap',
              '-r',
              'near',
              ...TILED,
              crop,
              out,
            ]);
          }
          clone.assets[asset].href = server.urlFor(`${newId}/${file}.tif`);
          sources[newId][asset] = out;
        }
        clone.geometry = side === 'west' ? westOutline : eastOutline;
        delete clone.bbox;
        items.push(clone);
      }
    }
    await writeFile(
      path.join(dir, 'items.json'),
      JSON.stringify({ type: 'FeatureCollection', features: items }),
    );
    await writeFile(path.join(dir, 'sources.json'), JSON.stringify(sources));
    // The grid's origin: a 3035 point north-west of the AOI (gdaltransform, not the code under test).
    const t = spawnSync('gdaltransform', ['-s_srs', 'EPSG:4326', '-t_srs', 'EPSG:3035', '-output_xy'], {
      input: `${AOI[0] - 0.05} ${AOI[3] + 0.05}\n`,
      encoding: 'utf8',
    });
    const [ox, oy] = t.stdout.trim().split(/\s+/).map(Number) as [number, number];
    origin = [Math.floor(ox / 1000) * 1000, Math.ceil(oy / 1000) * 1000];
    const job = {
      name: 'two-zones',
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
      selection: { maxCloudCover: 100, maxNodataPercent: 100 },
      bands: ['blue', 'green', 'red', 'nir'],
      windows: { size: SIZE },
      grid: { kind: 'crs', crs: 'EPSG:3035', resolution: RES, origin, resampling: 'cubic' },
      clouds: { mask: 'scl', maxCloudyFraction: 1 },
      splits: { method: 'random', train: 0.6, validation: 0.2, test: 0.2, seed: 5, allowEmpty: true },
      output: { uri: 'out/zones' },
    };
    const file = path.join(dir, 'job.json');
    await writeFile(file, JSON.stringify(job));
    const prepared = await prepareJob(file);
    const workUri = workUriOf(prepared.job);
    const ctx = createLocalContext({ workUri, log: silentLog });
    await runJobLocally({ ...prepared, workUri, ctx, progress: noProgress, threads: 2 });
    root = prepared.job.output.uri;
    for (const l of (await readFile(path.join(root, 'rejects.jsonl'), 'utf8')).split('\n').filter(Boolean))
      rejected.push(JSON.parse(l).id as string);
    const run = spawnSync(PYTHON, [ORACLE, root, path.join(dir, 'sources.json')], {
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

  it('plans every window of the grid meeting the AOI exactly once, fed by both zones', async () => {
    const keys = [...oracle.samples.map((s) => s.key), ...rejected];
    expect(new Set(keys).size).toBe(keys.length);
    // The windows meeting the AOI, from the AOI's outline in EPSG:3035 (gdaltransform, densified).
    const ring: number[][] = [];
    const steps = 40;
    const pts: string[] = [];
    for (let i = 0; i < steps; i++) pts.push(`${AOI[0] + ((AOI[2] - AOI[0]) * i) / steps} ${AOI[1]}`);
    for (let i = 0; i < steps; i++) pts.push(`${AOI[2]} ${AOI[1] + ((AOI[3] - AOI[1]) * i) / steps}`);
    for (let i = 0; i < steps; i++) pts.push(`${AOI[2] - ((AOI[2] - AOI[0]) * i) / steps} ${AOI[3]}`);
    for (let i = 0; i < steps; i++) pts.push(`${AOI[0]} ${AOI[3] - ((AOI[3] - AOI[1]) * i) / steps}`);
    const t = spawnSync('gdaltransform', ['-s_srs', 'EPSG:4326', '-t_srs', 'EPSG:3035', '-output_xy'], {
      input: `${pts.join('\n')}\n`,
      encoding: 'utf8',
    });
    for (const line of t.stdout.trim().split('\n')) ring.push(line.trim().split(/\s+/).map(Number));
    ring.push(ring[0] as number[]);
    const aoi: GeoJSON.Polygon = { type: 'Polygon', coordinates: [ring] };
    const side = SIZE * RES;
    const want: string[] = [];
    for (let row = 0; row < 60; row++)
      for (let col = 0; col < 60; col++) {
        const x0 = origin[0] + col * side;
        const y1 = origin[1] - row * side;
        const box: GeoJSON.Polygon = {
          type: 'Polygon',
          coordinates: [
            [
              [x0, y1 - side],
              [x0 + side, y1 - side],
              [x0 + side, y1],
              [x0, y1],
              [x0, y1 - side],
            ],
          ],
        };
        if (booleanIntersects(box, aoi))
          want.push(`epsg3035_${String(row).padStart(4, '0')}_${String(col).padStart(4, '0')}`);
      }
    expect(keys.sort()).toEqual(want.sort());
    const tiles = new Set(oracle.samples.map((s) => s.tile));
    expect([...tiles].sort()).toEqual(['33twl', '34tcr']);
    for (const s of oracle.samples) expect(s.sourceEpsg).toBe(s.tile === '33twl' ? 32633 : 32634);
  });

  it('feeds each sample from the tile whose footprint holds its centre deepest', async () => {
    const { booleanPointInPolygon } = await import('@turf/turf');
    for (const s of oracle.samples) {
      const json = await sampleJson(root, s.key);
      const b = json['boundsWgs84'] as number[];
      const c: [number, number] = [
        ((b[0] as number) + (b[2] as number)) / 2,
        ((b[1] as number) + (b[3] as number)) / 2,
      ];
      const inWest = booleanPointInPolygon(c, westOutline);
      const inEast = booleanPointInPolygon(c, eastOutline);
      if (inWest && !inEast) expect(s.tile, s.key).toBe('33twl');
      if (inEast && !inWest) expect(s.tile, s.key).toBe('34tcr');
    }
  });

  it('equals GDAL warping each sample from its own zone (figures printed)', () => {
    const lines = Object.entries(oracle.resampling).map(
      ([k, s]) =>
        `${k}: ${s.pixels} px, identical ${((100 * s.identical) / s.pixels).toFixed(4)} %, MAE ${(s.sum / s.compared).toFixed(5)} DN, max ${s.max} DN, validity differs at ${s.validDiffer} px`,
    );
    console.log(`two-zone EPSG:3035 dataset vs GDAL:\n${lines.join('\n')}`);
    const nearest = oracle.resampling['nearest'];
    const cubic = oracle.resampling['cubic'];
    if (!nearest || !cubic) throw new Error('both resamplings must be present');
    expect(nearest.identical / nearest.pixels).toBeGreaterThanOrEqual(0.999);
    expect(cubic.compared).toBeGreaterThan(10_000);
    expect(cubic.sum / cubic.compared).toBeLessThanOrEqual(0.01);
    expect(cubic.max).toBeLessThanOrEqual(1);
    expect(cubic.validDiffer / cubic.pixels).toBeLessThanOrEqual(0.0001);
  });
});
