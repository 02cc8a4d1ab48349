// Bench of the COG read path on real Sentinel-2 fixtures served by the local range server: bytes and
// requests per needed tile, and decode+cut speed on one core, ours vs GDAL (rasterio) vs naive geotiff.js.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fromUrl } from 'geotiff';
import { rangeReaderForUrl } from '../shared/adapters/range-reader-for-url.ts';
import { readCogInfo } from '../shared/domain/cog-header.ts';
import {
  allocatePixels,
  cutRect,
  decodeTile,
  fetchTiles,
  type Pixels,
  tileBytes,
  tilesForRect,
} from '../shared/domain/cog-tiles.ts';
import type { CogInfo, PixelRect } from '../shared/domain/cog-types.ts';
import { startRangeServer } from '../test/helpers/range-server.ts';
import { fixturesRoot, PYTHON, rasterioAvailable } from '../test/helpers/rasterio-reference.ts';

export type CogBenchOptions = {
  /** Folder of the COGs (default: the 29RKH fixture scene). */
  dir?: string;
  /** Files in it (default B02, B03, B04, B08: 1098², 512-px tiles). */
  files?: string[];
  /** The region whose windows are read (default 512² at (300, 300), crossing tile borders). */
  region?: PixelRect;
  /** Window side and stride in pixels (default 24 and 24). */
  window?: number;
  stride?: number;
  /** Timed repetitions; the best is kept (default 5). */
  repeats?: number;
  /** Windows per file the naive path reads (it is slow; default 60). */
  naiveWindows?: number;
  /** Where lines go (default console.log). */
  print?: (line: string) => void;
};

export type CogBenchRow = {
  approach: string;
  requestsPerTile: number | null;
  bytesRatio: number | null;
  /** Decoded MB of the needed tiles per second (one core); the same numerator for every row. */
  mbPerSecond: number;
  seconds: number;
  note: string;
};

export type CogBenchResult = {
  files: string[];
  windows: number;
  neededTiles: number;
  neededBytes: number;
  headerRequests: number;
  rows: CogBenchRow[];
  /** Ours / GDAL (region reads), the target is >= 0.5. */
  speedVsGdal: number | null;
  targets: { bytesRatio: boolean; requestsPerTile: boolean; speedVsGdal: boolean | null };
  table: string;
};

const MB = 1024 * 1024;

export function planWindows(region: PixelRect, size: number, stride: number): PixelRect[] {
  const out: PixelRect[] = [];
  for (let y = region.y; y + size <= region.y + region.height; y += stride) {
    for (let x = region.x; x + size <= region.x + region.width; x += stride)
      out.push({ x, y, width: size, height: size });
  }
  return out;
}

export async function runCogBench(options: CogBenchOptions = {}): Promise<CogBenchResult> {
  const dir = options.dir ?? path.join(fixturesRoot(), 'sentinel2', 'earthsearch_S2A_29RKH_20200219_L2A');
  const files = options.files ?? ['B02.tif', 'B03.tif', 'B04.tif', 'B08.tif'];
  const region = options.region ?? { x: 300, y: 300, width: 512, height: 512 };
  const windows = planWindows(region, options.window ?? 24, options.stride ?? 24);
  const repeats = options.repeats ?? 5;
  const print = options.print ?? ((line: string) => console.log(line));
  if (!existsSync(dir)) throw new Error(`bench fixtures absent at ${dir} (set SATFACTORY_FIXTURES)`);

  const server = await startRangeServer({ root: dir });
  try {
    const reader = rangeReaderForUrl();
    const cogs: CogInfo[] = [];
    for (const f of files) cogs.push(await readCogInfo(reader, server.urlFor(f)));
    const headerRequests = server.totals().requests;

    // Which tiles the windows need, per file.
    const needed = cogs.map((cog) => {
      const set = new Set<number>();
      for (const w of windows) for (const t of tilesForRect(cog, w)) set.add(t);
      return [...set].sort((a, b) => a - b);
    });
    const neededTiles = needed.reduce((s, n) => s + n.length, 0);
    const neededBytes = cogs.reduce((s, cog, k) => s + tileBytes(cog, needed[k] as number[]), 0);
    const decodedMb =
      cogs.reduce(
        (s, cog, k) =>
          s + (needed[k] as number[]).length * cog.tileWidth * cog.tileHeight * (cog.bitsPerSample / 8),
        0,
      ) / MB;

    // Ours: fetch each needed tile once (merged ranges), then decode + cut every window.
    server.resetStats();
    const t0 = performance.now();
    const raw = await Promise.all(cogs.map((cog, k) => fetchTiles(reader, cog, needed[k] as number[])));
    const fetchSeconds = (performance.now() - t0) / 1000;
    const fetched = server.totals();
    const outputs = cogs.map((cog) =>
      allocatePixels(cog, windows.length * windows[0]!.width * windows[0]!.height),
    );
    const decodeAndCut = () => {
      cogs.forEach((cog, k) => {
        const tiles = new Map<number, Pixels>();
        for (const [i, bytes] of raw[k] as Map<number, Uint8Array>) tiles.set(i, decodeTile(cog, bytes));
        const out = outputs[k] as Pixels;
        windows.forEach((w, n) => {
          cutRect(cog, tiles, w, out, n * w.width * w.height);
        });
      });
    };
    decodeAndCut(); // warm-up: JIT, zlib
    const ours = best(repeats, decodeAndCut);

    // Naive: geotiff.js readRasters per window over HTTP (a sample of the windows).
    const sample = windows.slice(0, options.naiveWindows ?? 60);
    server.resetStats();
    const naiveStart = performance.now();
    for (const f of files) {
      const tiff = await fromUrl(server.urlFor(f));
      const image = await tiff.getImage();
      for (const w of sample)
        await image.readRasters({ window: [w.x, w.y, w.x + w.width, w.y + w.height], samples: [0] });
    }
    const naiveSeconds = (performance.now() - naiveStart) / 1000;
    const naiveStats = server.totals();
    const sampleNeeded = cogs.map((cog) => {
      const set = new Set<number>();
      for (const w of sample) for (const t of tilesForRect(cog, w)) set.add(t);
      return [...set];
    });
    const sampleTiles = sampleNeeded.reduce((s, n) => s + n.length, 0);
    const sampleBytes = cogs.reduce((s, cog, k) => s + tileBytes(cog, sampleNeeded[k] as number[]), 0);
    const sampleMb = (decodedMb * sampleTiles) / neededTiles;

    // GDAL through rasterio, one thread, same files and windows. Last: spawnSync blocks this
    // process, range server included, and pooled keep-alive sockets would be reset under a later fetch.
    const gdal = rasterioAvailable() ? gdalTimes(dir, files, windows, region, repeats) : null;

    const rows: CogBenchRow[] = [
      {
        approach: 'satfactory (decode + cut)',
        requestsPerTile: fetched.requests / neededTiles,
        bytesRatio: fetched.bytes / neededBytes,
        mbPerSecond: decodedMb / ours,
        seconds: ours,
        note: `fetch over local HTTP ${(fetchSeconds * 1000).toFixed(0)} ms, not timed`,
      },
    ];
    if (gdal) {
      rows.push({
        approach: 'GDAL/rasterio, region read',
        requestsPerTile: null,
        bytesRatio: null,
        mbPerSecond: decodedMb / gdal.region,
        seconds: gdal.region,
        note: 'one read of the region per band, local file',
      });
      rows.push({
        approach: 'GDAL/rasterio, per window',
        requestsPerTile: null,
        bytesRatio: null,
        mbPerSecond: decodedMb / gdal.windows,
        seconds: gdal.windows,
        note: `${windows.length} reads per band, block cache on`,
      });
    }
    rows.push({
      approach: 'naive geotiff.js per window',
      requestsPerTile: naiveStats.requests / sampleTiles,
      bytesRatio: naiveStats.bytes / sampleBytes,
      mbPerSecond: sampleMb / naiveSeconds,
      seconds: naiveSeconds,
      note: `${sample.length} windows per band, incl. fetch`,
    });

    const speedVsGdal = gdal ? decodedMb / ours / (decodedMb / gdal.region) : null;
    const result: CogBenchResult = {
      files,
      windows: windows.length,
      neededTiles,
      neededBytes,
      headerRequests,
      rows,
      speedVsGdal,
      targets: {
        bytesRatio: (rows[0] as CogBenchRow).bytesRatio! <= 1.02,
        requestsPerTile: (rows[0] as CogBenchRow).requestsPerTile! <= 1,
        speedVsGdal: speedVsGdal === null ? null : speedVsGdal >= 0.5,
      },
      table: '',
    };
    result.table = formatTable(result, region);
    print(result.table);
    return result;
  } finally {
    await server.close();
  }
}

function best(repeats: number, fn: () => void): number {
  let min = Number.POSITIVE_INFINITY;
  for (let r = 0; r < repeats; r++) {
    const t = performance.now();
    fn();
    min = Math.min(min, (performance.now() - t) / 1000);
  }
  return min;
}

const GDAL_SCRIPT = `
import json, sys, time
import rasterio
from rasterio.windows import Window
spec = json.load(sys.stdin)
paths = spec['paths']
def run(mode):
    t0 = time.perf_counter()
    for p in paths:
        with rasterio.open(p) as ds:
            if mode == 'windows':
                for x, y, w, h in spec['windows']:
                    ds.read(1, window=Window(x, y, w, h))
            elif mode == 'region':
                ds.read(1, window=Window(*spec['region']))
    return time.perf_counter() - t0
out = {}
with rasterio.Env(GDAL_NUM_THREADS=1, GDAL_CACHEMAX=256):
    for mode in ('open', 'region', 'windows'):
        run(mode)
        out[mode] = min(run(mode) for _ in range(spec['repeats']))
print(json.dumps(out))
`;

/** Best-of-N seconds for rasterio reads; the time to open and close the files is taken out. */
function gdalTimes(
  dir: string,
  files: string[],
  windows: PixelRect[],
  region: PixelRect,
  repeats: number,
): { region: number; windows: number } {
  const run = spawnSync(PYTHON, ['-c', GDAL_SCRIPT], {
    input: JSON.stringify({
      paths: files.map((f) => path.join(dir, f)),
      windows: windows.map((w) => [w.x, w.y, w.width, w.height]),
      region: [region.x, region.y, region.width, region.height],
      repeats,
    }),
    encoding: 'utf8',
    env: { ...process.env, GDAL_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
  });
  if (run.status !== 0) throw new Error(`rasterio timing failed: ${run.stderr}`);
  const t = JSON.parse(run.stdout) as { open: number; region: number; windows: number };
  return { region: Math.max(1e-9, t.region - t.open), windows: Math.max(1e-9, t.windows - t.open) };
}

function formatTable(r: CogBenchResult, region: PixelRect): string {
  const head = ['approach', 'req/needed tile', 'bytes/needed', 'MB/s (1 core)', 'ms', 'note'];
  const body = r.rows.map((row) => [
    row.approach,
    row.requestsPerTile === null ? '-' : row.requestsPerTile.toFixed(2),
    row.bytesRatio === null ? '-' : row.bytesRatio.toFixed(3),
    row.mbPerSecond.toFixed(0),
    (row.seconds * 1000).toFixed(1),
    row.note,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ');
  const ok = (v: boolean | null) => (v === null ? 'n/a' : v ? 'ok' : 'MISSED');
  return [
    `COG read bench: ${r.files.join(', ')}; ${r.windows} windows in region ${region.width}x${region.height} at (${region.x}, ${region.y})`,
    `needed tiles ${r.neededTiles} (${(r.neededBytes / MB).toFixed(2)} MB stored); header requests ${r.headerRequests} for ${r.files.length} files`,
    line(head),
    widths.map((w) => '-'.repeat(w)).join('-|-'),
    ...body.map(line),
    `targets: bytes ratio <= 1.02 ${ok(r.targets.bytesRatio)}; <= 1 request per needed tile ${ok(r.targets.requestsPerTile)}; ` +
      `decode+cut >= 0.5x GDAL ${ok(r.targets.speedVsGdal)} (${r.speedVsGdal === null ? 'no rasterio' : `${r.speedVsGdal.toFixed(2)}x`})`,
  ].join('\n');
}

/**
 * The scenarios the bench runs: the 29RKH 10 m bands (512-px tiles, DEFLATE without predictor) and a
 * Brandenburg L1C scene encoded like current Sentinel-2 COGs (DEFLATE + predictor 2, 256-px tiles).
 */
export const COG_BENCH_SCENARIOS: Array<{ name: string; options: CogBenchOptions }> = [
  { name: '29RKH B02/B03/B04/B08, 1098², 512-px tiles, DEFLATE', options: {} },
  {
    name: '33UUU B02/B03/B04/B08, 1536x768, 256-px tiles, DEFLATE + predictor 2',
    options: {
      dir: path.join(fixturesRoot(), 'sentinel2', 's2l1c_T33UUU_20170216_brandenburg'),
      files: ['B02', 'B03', 'B04', 'B08'].map((b) => `T33UUU_20170216T102101_${b}.tif`),
      region: { x: 0, y: 0, width: 1536, height: 768 },
      naiveWindows: 20,
    },
  },
];

/** Runs every scenario whose fixtures are present; the main bench script calls this. */
export async function runCogBenchSuite(
  print: (line: string) => void = console.log,
  repeats?: number,
): Promise<CogBenchResult[]> {
  const results: CogBenchResult[] = [];
  for (const scenario of COG_BENCH_SCENARIOS) {
    const dir =
      scenario.options.dir ?? path.join(fixturesRoot(), 'sentinel2', 'earthsearch_S2A_29RKH_20200219_L2A');
    if (!existsSync(dir)) {
      print(`skipped ${scenario.name}: fixtures absent at ${dir}`);
      continue;
    }
    print(`\n## ${scenario.name}`);
    results.push(
      await runCogBench({ ...scenario.options, print, ...(repeats !== undefined ? { repeats } : {}) }),
    );
  }
  return results;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runCogBenchSuite();
}
