// End-to-end bench: one job over a 2400x2400 px scene (3 dates, 6 bands + SCL, Earth Search layout:
// DEFLATE + predictor 2, 10 m in 1024 px tiles, 20 m in 512; pixels mirrored out of the real 29RKH
// fixture by bench/make_scene.py), run with `satfactory run --threads 1` and `--threads 2` side by
// side with bench/rasterio_reference.py (reads each file once, writes the same [T,C,H,W] arrays of
// the same windows into a tar). A third run reads the COGs over the local range server and measures
// refetch: tile bytes fetched over distinct tile bytes, from the server's request log.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, homedir, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileRangeReader } from '../shared/adapters/local/file-range-reader.ts';
import { readCogInfo } from '../shared/domain/cog-header.ts';
import { toWgs84 } from '../shared/domain/crs.ts';
import { readShard } from '../shared/domain/shard.ts';
import { type RequestRecord, startRangeServer } from '../test/helpers/range-server.ts';
import { fixturesRoot, PYTHON } from '../test/helpers/rasterio-reference.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');

export type SceneSpec = {
  name: string;
  /** Side of the 10 m bands in pixels. */
  size10: number;
  dates: number;
  bands: Array<{ key: string; file: string; source: string; res: number }>;
  /** AOI inset from the scene edge, in metres. */
  insetM: number;
};

const FIXTURE = 'earthsearch_S2A_29RKH_20200219_L2A';
const EPSG = 32633;
const ORIGIN = [500000, 5000000] as const;

export const E2E_SCENE: SceneSpec = {
  name: 'e2e-2400',
  size10: 2400,
  dates: 3,
  bands: [
    { key: 'blue', file: 'B02', source: 'B02.tif', res: 10 },
    { key: 'green', file: 'B03', source: 'B03.tif', res: 10 },
    { key: 'red', file: 'B04', source: 'B04.tif', res: 10 },
    { key: 'nir', file: 'B08', source: 'B08.tif', res: 10 },
    { key: 'rededge1', file: 'B05', source: 'B05.tif', res: 20 },
    { key: 'swir16', file: 'B11', source: 'B11.tif', res: 20 },
  ],
  insetM: 1000,
};

/**
 * One full Sentinel-2 tile as Earth Search serves it: 12 bands (10980² at 10 m in 1024 px tiles,
 * 5490² at 20 m in 512, 1830² at 60 m in 256) + SCL, 6 dates; pixels mirrored out of 29RKH.
 */
export const FULL_TILE_SCENE: SceneSpec = {
  name: 'full-tile-10980',
  size10: 10980,
  dates: 6,
  bands: [
    { key: 'coastal', file: 'B01', source: 'B01.tif', res: 60 },
    { key: 'blue', file: 'B02', source: 'B02.tif', res: 10 },
    { key: 'green', file: 'B03', source: 'B03.tif', res: 10 },
    { key: 'red', file: 'B04', source: 'B04.tif', res: 10 },
    { key: 'rededge1', file: 'B05', source: 'B05.tif', res: 20 },
    { key: 'rededge2', file: 'B06', source: 'B06.tif', res: 20 },
    { key: 'rededge3', file: 'B07', source: 'B07.tif', res: 20 },
    { key: 'nir', file: 'B08', source: 'B08.tif', res: 10 },
    { key: 'nir08', file: 'B8A', source: 'B8A.tif', res: 20 },
    { key: 'nir09', file: 'B09', source: 'B09.tif', res: 60 },
    { key: 'swir16', file: 'B11', source: 'B11.tif', res: 20 },
    { key: 'swir22', file: 'B12', source: 'B12.tif', res: 20 },
  ],
  insetM: 30,
};

export function benchCache(): string {
  return process.env['SATFACTORY_BENCH_CACHE'] ?? path.join(homedir(), '.cache', 'satfactory', 'bench');
}

const itemId = (d: number) => `BENCH_33TWL_2023${String(5 + d).padStart(2, '0')}01_0_L2A`;
const datetime = (d: number) => `2023-${String(5 + d).padStart(2, '0')}-01T10:00:00Z`;

/** Generates (once, cached) the scene's COGs and writes its ItemCollection `items.json`; returns its folder. */
export function ensureScene(scene: SceneSpec, print: (line: string) => void = console.log): string {
  const dir = path.join(benchCache(), scene.name);
  const done = path.join(dir, 'done.json');
  const fixture = path.join(fixturesRoot(), 'sentinel2', FIXTURE);
  if (!existsSync(done)) {
    print(`generating ${scene.name} under ${dir} (cached for later runs)`);
    mkdirSync(dir, { recursive: true });
    const items = Array.from({ length: scene.dates }, (_, d) => itemId(d));
    const run = spawnSync(PYTHON, [path.join(here, 'make_scene.py')], {
      input: JSON.stringify({
        fixture,
        out: dir,
        size10: scene.size10,
        originX: ORIGIN[0],
        originY: ORIGIN[1],
        epsg: EPSG,
        items,
        bands: [...scene.bands, { key: 'scl', file: 'SCL', source: 'SCL.tif', res: 20 }],
      }),
      encoding: 'utf8',
      stdio: ['pipe', 'inherit', 'pipe'],
    });
    if (run.status !== 0) throw new Error(`bench scene generation failed: ${run.stderr}`);
    writeFileSync(done, JSON.stringify(scene));
  }
  const extent = scene.size10 * 10;
  const corners = [
    [ORIGIN[0], ORIGIN[1]],
    [ORIGIN[0] + extent, ORIGIN[1]],
    [ORIGIN[0] + extent, ORIGIN[1] - extent],
    [ORIGIN[0], ORIGIN[1] - extent],
    [ORIGIN[0], ORIGIN[1]],
  ].map(([x, y]) => toWgs84(EPSG, [x as number, y as number]));
  const features = Array.from({ length: scene.dates }, (_, d) => {
    const id = itemId(d);
    const assets: Record<string, unknown> = {};
    for (const b of scene.bands)
      assets[b.key] = {
        href: `${id}/${b.file}.tif`,
        type: 'image/tiff; application=geotiff; profile=cloud-optimized',
        'raster:bands': [{ nodata: 0, data_type: 'uint16', spatial_resolution: b.res, scale: 0.0001 }],
      };
    assets['scl'] = {
      href: `${id}/SCL.tif`,
      'raster:bands': [{ nodata: 0, data_type: 'uint8', spatial_resolution: 20 }],
    };
    return {
      type: 'Feature',
      stac_version: '1.0.0',
      id,
      collection: 'bench-s2-l2a',
      geometry: { type: 'Polygon', coordinates: [corners] },
      bbox: [
        Math.min(...corners.map((c) => c[0] as number)),
        Math.min(...corners.map((c) => c[1] as number)),
        Math.max(...corners.map((c) => c[0] as number)),
        Math.max(...corners.map((c) => c[1] as number)),
      ],
      properties: {
        datetime: datetime(d),
        'eo:cloud_cover': 2,
        's2:nodata_pixel_percentage': 0,
        'proj:epsg': EPSG,
        'mgrs:utm_zone': 33,
        'mgrs:latitude_band': 'T',
        'mgrs:grid_square': 'WL',
      },
      links: [],
      assets,
    };
  });
  writeFileSync(path.join(dir, 'items.json'), JSON.stringify({ type: 'FeatureCollection', features }));
  return dir;
}

/** A job over the scene (AOI inset by scene.insetM), writing to `output`. */
export function sceneJob(scene: SceneSpec, source: string, output: string): Record<string, unknown> {
  const a = scene.insetM;
  const b = scene.size10 * 10 - scene.insetM;
  const ring = [
    [a, a],
    [b, a],
    [b, b],
    [a, b],
    [a, a],
  ].map(([x, y]) => toWgs84(EPSG, [ORIGIN[0] + (x as number), ORIGIN[1] - (y as number)]));
  return {
    name: `bench-${scene.name}`,
    catalog: { kind: 'static', source },
    aoi: { type: 'Polygon', coordinates: [ring] },
    period: { start: '2023-04-01', end: '2023-12-31' },
    selection: { maxCloudCover: 30, maxNodataPercent: 20, maxDates: scene.dates },
    bands: scene.bands.map((b) => b.key),
    windows: { size: 24, stride: 24 },
    clouds: { mask: 'scl', maxCloudyFraction: 1 },
    splits: { method: 'random', train: 0.8, validation: 0.1, test: 0.1, seed: 1 },
    output: { uri: output },
  };
}

export type RunFigures = {
  seconds: number;
  /** User + system CPU seconds of the whole process (every thread). */
  cpuSeconds: number;
  maxRssMb: number;
  /** Samples written, from the run's summary line. */
  samples: number;
};

/** `satfactory run` in a child process (async: the range server may live in this process): wall seconds and peak RSS (GNU time). */
export async function runSatfactory(
  jobFile: string,
  threads: number,
  profileDir?: string,
): Promise<RunFigures> {
  const node = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const args = [
    '-f',
    'maxrss_kb=%M cpu=%U+%S',
    process.execPath,
    ...node,
    path.join(repo, 'bin', 'satfactory.js'),
  ];
  args.push('run', jobFile, '--threads', String(threads));
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const keep = (d: string) => {
    stderr = (stderr + d).slice(-20000);
  };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`satfactory run failed (${code}): ${stderr.slice(-2000)}`);
  const rss = /maxrss_kb=(\d+) cpu=([\d.]+)\+([\d.]+)/.exec(stderr);
  const samples = /(\d+) samples in/.exec(stderr);
  return {
    seconds,
    cpuSeconds: rss ? Number(rss[2]) + Number(rss[3]) : Number.NaN,
    maxRssMb: rss ? Number(rss[1]) / 1024 : Number.NaN,
    samples: samples ? Number(samples[1]) : Number.NaN,
  };
}

/** The dataset's final shards, as its manifest lists them (not the work folder's region shards). */
function shardFiles(output: string): string[] {
  const manifest = JSON.parse(readFileSync(path.join(output, 'manifest.json'), 'utf8')) as {
    shards: { path: string }[];
  };
  return manifest.shards.map((s) => path.join(output, s.path)).sort();
}

/** sha256 of every shard, by path relative to the output folder. */
export function shardHashes(output: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of shardFiles(output))
    out[path.relative(output, f)] = createHash('sha256').update(readFileSync(f)).digest('hex');
  return out;
}

/** The windows a run wrote, as [col, row] of their top-left 10 m pixel in the scene. */
async function writtenWindows(output: string): Promise<Array<[number, number]>> {
  const out: Array<[number, number]> = [];
  for (const f of shardFiles(output)) {
    for (const s of await readShard(readFileSync(f))) {
      const json = s.members.find((m) => m.name === 'json');
      if (!json) continue;
      const t = (JSON.parse(new TextDecoder().decode(json.data)) as { transform: number[] }).transform;
      out.push([
        Math.round(((t[0] as number) - ORIGIN[0]) / 10),
        Math.round((ORIGIN[1] - (t[3] as number)) / 10),
      ]);
    }
  }
  return out;
}

/** Wall and CPU seconds of the rasterio reference (GNU time). */
function runRasterio(
  scene: SceneSpec,
  dir: string,
  windows: Array<[number, number]>,
  out: string,
): { seconds: number; cpuSeconds: number } {
  const files = [...scene.bands.map((b) => b.file), 'SCL'];
  const groups: Array<{ name: string; files: number[]; res: number }> = [];
  for (const res of [10, 20]) {
    const idx = scene.bands.flatMap((b, i) => (b.res === res ? [i] : []));
    if (idx.length) groups.push({ name: `bands${res}m`, files: idx, res });
  }
  const spec = {
    dates: Array.from({ length: scene.dates }, (_, d) =>
      files.map((f) => path.join(dir, itemId(d), `${f}.tif`)),
    ),
    groups,
    scl: files.length - 1,
    windows,
    size: 24,
    out,
  };
  const t0 = performance.now();
  const run = spawnSync(
    '/usr/bin/time',
    ['-f', 'cpu=%U+%S', PYTHON, path.join(here, 'rasterio_reference.py')],
    {
      input: JSON.stringify(spec),
      encoding: 'utf8',
      env: { ...process.env, GDAL_NUM_THREADS: '1', OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
    },
  );
  const seconds = (performance.now() - t0) / 1000;
  if (run.status !== 0) throw new Error(`rasterio reference failed: ${run.stderr}`);
  const cpu = /cpu=([\d.]+)\+([\d.]+)/.exec(run.stderr);
  return { seconds, cpuSeconds: cpu ? Number(cpu[1]) + Number(cpu[2]) : Number.NaN };
}

/**
 * Tile bytes fetched over distinct tile bytes, from a range server's log: each request's range is cut
 * to the files' tile data (header reads count only where they cover tile bytes).
 */
export async function refetchFromLog(
  root: string,
  log: readonly RequestRecord[],
): Promise<{
  ratio: number;
  fetched: number;
  distinct: number;
  requests: number;
}> {
  const byPath = new Map<string, Array<[number, number]>>();
  for (const r of log) {
    const m = r.range ? /bytes=(\d+)-(\d+)/.exec(r.range) : null;
    if (!m || r.status !== 206) continue;
    const list = byPath.get(r.path) ?? [];
    list.push([Number(m[1]), Number(m[2]) + 1]);
    byPath.set(r.path, list);
  }
  const reader = new FileRangeReader();
  let fetched = 0;
  let distinct = 0;
  let requests = 0;
  for (const [p, ranges] of byPath) {
    const cog = await readCogInfo(reader, path.join(root, p));
    const tiles: Array<[number, number]> = [];
    cog.tileOffsets.forEach((o, i) => {
      const n = cog.tileByteCounts[i] as number;
      if (n > 0) tiles.push([o, o + n]);
    });
    tiles.sort((a, b) => a[0] - b[0]);
    const cut: Array<[number, number]> = [];
    for (const [s, e] of ranges) {
      let any = false;
      for (const [ts, te] of tiles) {
        const a = Math.max(s, ts);
        const b = Math.min(e, te);
        if (a < b) {
          cut.push([a, b]);
          fetched += b - a;
          any = true;
        }
      }
      if (any) requests++;
    }
    cut.sort((a, b) => a[0] - b[0]);
    let end = -1;
    for (const [s, e] of cut) {
      if (s >= end) distinct += e - s;
      else if (e > end) distinct += e - end;
      end = Math.max(end, e);
    }
  }
  return { ratio: distinct ? fetched / distinct : Number.NaN, fetched, distinct, requests };
}

export type E2eResult = {
  windows: number;
  rasterio: { seconds: number; cpuSeconds: number };
  threads1: RunFigures;
  threads2: RunFigures;
  vsRasterio: number;
  threads2vs1: number;
  refetch: { ratio: number; fetched: number; distinct: number; requests: number };
  shards: Record<string, string>;
};

export async function runE2eBench(
  scene: SceneSpec = E2E_SCENE,
  print: (line: string) => void = console.log,
): Promise<E2eResult> {
  const dir = ensureScene(scene, print);
  const tmp = mkdtempSync(path.join(tmpdir(), 'satfactory-e2e-bench-'));
  try {
    const job = (name: string, source: string) => {
      const file = path.join(tmp, `${name}.json`);
      writeFileSync(file, JSON.stringify(sceneJob(scene, source, path.join(tmp, name))));
      return file;
    };
    const profile = process.env['SATFACTORY_BENCH_PROFILE'];
    const threads1 = await runSatfactory(job('t1', path.join(dir, 'items.json')), 1, profile);
    const shards = shardHashes(path.join(tmp, 't1'));
    const windows = await writtenWindows(path.join(tmp, 't1'));
    const threads2 = await runSatfactory(job('t2', path.join(dir, 'items.json')), 2);
    const rasterio = runRasterio(scene, dir, windows, path.join(tmp, 'rasterio.tar'));
    const server = await startRangeServer({ root: dir });
    let refetch: E2eResult['refetch'];
    try {
      await runSatfactory(job('http', server.urlFor('items.json')), 2);
      refetch = await refetchFromLog(dir, server.log);
    } finally {
      await server.close();
    }
    const result: E2eResult = {
      windows: windows.length,
      rasterio,
      threads1,
      threads2,
      vsRasterio: rasterio.seconds / threads1.seconds,
      threads2vs1: threads1.seconds / threads2.seconds,
      refetch,
      shards,
    };
    print(
      [
        `end to end, ${scene.name}: ${scene.size10}² px at 10 m, ${scene.dates} dates, ${scene.bands.length} bands + SCL, ${windows.length} windows written`,
        `  rasterio reference (1 thread, reads each file once, writes a tar): ${rasterio.seconds.toFixed(2)} s, ${rasterio.cpuSeconds.toFixed(2)} CPU s`,
        `  satfactory run --threads 1: ${threads1.seconds.toFixed(2)} s, ${threads1.cpuSeconds.toFixed(2)} CPU s (peak RSS ${threads1.maxRssMb.toFixed(0)} MB) -> ${result.vsRasterio.toFixed(2)}x rasterio`,
        `  satfactory run --threads 2: ${threads2.seconds.toFixed(2)} s, ${threads2.cpuSeconds.toFixed(2)} CPU s (peak RSS ${threads2.maxRssMb.toFixed(0)} MB) -> ${result.threads2vs1.toFixed(2)}x threads 1`,
        `  CPU seconds, rasterio / satfactory --threads 1: ${(rasterio.cpuSeconds / threads1.cpuSeconds).toFixed(2)}x (wall ratios above; on a busy machine CPU time is the steadier figure)`,
        `  over the range server: ${refetch.requests} tile requests, ${(refetch.fetched / 1e6).toFixed(2)} MB tile bytes fetched, ${(refetch.distinct / 1e6).toFixed(2)} MB distinct -> refetch ${refetch.ratio.toFixed(3)}`,
      ].join('\n'),
    );
    return result;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await runE2eBench();
}

export type FullTileResult = RunFigures & {
  samplesPerSecondPerCore: number;
  refetch: E2eResult['refetch'];
};

/**
 * The full-tile job (FULL_TILE_SCENE) over the local range server with `--threads 1`: one worker,
 * so the process's peak RSS is one worker's (plus the main thread's planning), and samples per
 * second are per core.
 */
export async function runFullTileBench(print: (line: string) => void = console.log): Promise<FullTileResult> {
  const scene = FULL_TILE_SCENE;
  const dir = ensureScene(scene, print);
  const tmp = mkdtempSync(path.join(tmpdir(), 'satfactory-full-bench-'));
  const server = await startRangeServer({ root: dir });
  try {
    const file = path.join(tmp, 'job.json');
    writeFileSync(file, JSON.stringify(sceneJob(scene, server.urlFor('items.json'), path.join(tmp, 'out'))));
    const run = await runSatfactory(file, 1);
    const refetch = await refetchFromLog(dir, server.log);
    // Per CPU second of every thread: on an idle machine with one worker this is samples per
    // second per core; on a busy one it stays true where wall time does not.
    const result = { ...run, samplesPerSecondPerCore: run.samples / run.cpuSeconds, refetch };
    writeMeasured({
      bench: 'full-tile',
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, loadAverage1m: Number(loadavg()[0]?.toFixed(2)) },
      scene: {
        side10m: scene.size10,
        dates: scene.dates,
        bands: scene.bands.length,
        scl: true,
        windowSize: 24,
      },
      samples: run.samples,
      sampleBytes: run.samples * sceneWindowBytes(scene),
      wallSeconds: Number(run.seconds.toFixed(1)),
      cpuSeconds: run.cpuSeconds,
      peakRssMb: Math.round(run.maxRssMb),
      tileBytesFetched: refetch.fetched,
      tileBytesDistinct: refetch.distinct,
      tileRequests: refetch.requests,
    });
    print(
      [
        `full tile, ${scene.size10}² px at 10 m, ${scene.dates} dates, ${scene.bands.length} bands + SCL, over the range server, --threads 1:`,
        `  ${run.samples} samples in ${run.seconds.toFixed(1)} s wall, ${run.cpuSeconds.toFixed(1)} CPU s -> ${result.samplesPerSecondPerCore.toFixed(0)} samples per CPU second; peak RSS ${run.maxRssMb.toFixed(0)} MB`,
        `  written to ${MEASURED_FILE} (scripts/cost-table.ts prices the README's cost table from it)`,
        `  ${refetch.requests} tile requests, ${(refetch.fetched / 1e9).toFixed(2)} GB tile bytes fetched, ${(refetch.distinct / 1e9).toFixed(2)} GB distinct -> refetch ${refetch.ratio.toFixed(3)}`,
      ].join('\n'),
    );
    return result;
  } finally {
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Where the bench records its full-tile figures; the cost table reads them (scripts/cost-table.ts). */
export const MEASURED_FILE = 'bench/measured/full-tile.json';

function writeMeasured(figures: Record<string, unknown>): void {
  const file = path.join(repo, MEASURED_FILE);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
}

/** Bytes of one window's arrays (every band at its resolution, SCL at 20 m, all dates) of a bench scene. */
export function sceneWindowBytes(scene: SceneSpec, windowSize = 24): number {
  const side = (res: number) => (windowSize * 10) / res;
  const bands = scene.bands.reduce((n, b) => n + side(b.res) ** 2 * 2, 0);
  return (bands + side(20) ** 2) * scene.dates;
}
