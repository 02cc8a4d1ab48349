// Bench of the exact label rasterizer on the real parcel fixtures (NL, AT, HR; every polygon), at
// 10 m and 2.5 m: ours vs rasterio all_touched (GDAL) vs the per-pixel shapely loop (DeepSatData).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { polygonCoverage } from '../shared/domain/labels/coverage.ts';
import { rasterizeDense } from '../shared/domain/labels/dense.ts';
import type { BurnFeature, PixelGrid, PolygonRings } from '../shared/domain/labels/types.ts';
import { gridOver, PARCEL_FILES, readParcels } from '../test/helpers/parcels.ts';
import { fixturesRoot, PYTHON, rasterioAvailable } from '../test/helpers/rasterio-reference.ts';

export type LabelBenchOptions = {
  /** Pixel sizes in metres (default 10 and 2.5). */
  pixelSizes?: number[];
  /** Timed repetitions; the best is kept (default 5). */
  repeats?: number;
  /** Seconds the shapely loop may run per scenario before extrapolating (default 3). */
  shapelySeconds?: number;
  print?: (line: string) => void;
};

export type LabelBenchRow = {
  scenario: string;
  approach: string;
  pixels: number;
  polygons: number;
  seconds: number;
  pixelsPerSecond: number;
  polygonsPerSecond: number;
  note: string;
};

/** One window to rasterize: a grid and the features burned on it. */
type Window = { grid: PixelGrid; features: BurnFeature[] };

const interop = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../test/interop/labels_bench.py');

function burn(parts: PolygonRings[][]): BurnFeature[] {
  return parts.map((polygons, i) => ({ classId: 1 + (i % 50), instanceId: i + 1, polygons }));
}

/** Only the exact coverage fractions of every polygon, without the per-pixel output arrays. */
function timeCoverage(windows: readonly Window[], repeats: number): number {
  let best = Infinity;
  for (let k = 0; k < repeats; k++) {
    const t0 = performance.now();
    for (const w of windows) for (const f of w.features) polygonCoverage(f.polygons, w.grid);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
}

function timeOurs(windows: readonly Window[], repeats: number): number {
  let best = Infinity;
  for (let k = 0; k < repeats; k++) {
    const t0 = performance.now();
    for (const w of windows) rasterizeDense(w.features, w.grid, 0);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
}

type PythonTimes = { rasterio: number; shapely: number; shapelyWindows: number; shapelyPixels: number };

function timePython(windows: readonly Window[], repeats: number, shapelySeconds: number): PythonTimes {
  const dir = mkdtempSync(path.join(tmpdir(), 'satfactory-labels-bench-'));
  try {
    const input = path.join(dir, 'in.json');
    const json = windows.map((w) => ({
      grid: w.grid,
      features: w.features.map((f) => f.polygons.map((p) => p.rings.map((r) => Array.from(r)))),
    }));
    writeFileSync(input, JSON.stringify({ windows: json, repeats, shapelySeconds }));
    const run = spawnSync(PYTHON, [interop, input], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (run.status !== 0) throw new Error(`labels bench (python) failed: ${run.stderr}`);
    return JSON.parse(run.stdout) as PythonTimes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function row(
  scenario: string,
  approach: string,
  windows: readonly Window[],
  seconds: number,
  note: string,
): LabelBenchRow {
  const pixels = windows.reduce((n, w) => n + w.grid.width * w.grid.height, 0);
  const polygons = windows.reduce((n, w) => n + w.features.length, 0);
  return {
    scenario,
    approach,
    pixels,
    polygons,
    seconds,
    pixelsPerSecond: pixels / seconds,
    polygonsPerSecond: polygons / seconds,
    note,
  };
}

/**
 * Scenarios per pixel size: "per-parcel windows" (each polygon of the three files on the grid over
 * its own bounds, the way windows around parcels are cut) and "AT one grid" (all Austrian parcels on
 * one grid over their extent, so per-call overhead does not count).
 */
export async function runLabelBenchSuite(options: LabelBenchOptions = {}): Promise<LabelBenchRow[]> {
  const print = options.print ?? console.log;
  const repeats = options.repeats ?? 5;
  const shapelySeconds = options.shapelySeconds ?? 3;
  const dir = path.join(fixturesRoot(), 'labels');
  if (!existsSync(dir)) {
    print(`labels bench: skipped, no parcel fixtures at ${dir}`);
    return [];
  }
  const files = PARCEL_FILES.map((f) => readParcels(path.join(dir, f)));
  const python = rasterioAvailable();
  if (!python) print(`labels bench: ${PYTHON} with rasterio/shapely not found, timing ours only`);

  const rows: LabelBenchRow[] = [];
  for (const ps of options.pixelSizes ?? [10, 2.5]) {
    const scenarios: [string, Window[]][] = [
      [
        `per-parcel windows, ${ps} m`,
        files.flat().map((f) => ({ grid: gridOver([f], ps), features: burn([f]) })),
      ],
      [`AT one grid, ${ps} m`, [{ grid: gridOver(files[1]!, ps), features: burn(files[1]!) }]],
    ];
    for (const [scenario, windows] of scenarios) {
      rasterizeDense(windows[0]!.features, windows[0]!.grid, 0); // warm up the JIT
      const ours = row(
        scenario,
        'satfactory exact (rasterizeDense)',
        windows,
        timeOurs(windows, repeats),
        `best of ${repeats}`,
      );
      rows.push(ours);
      rows.push(
        row(
          scenario,
          'satfactory exact coverage only (polygonCoverage)',
          windows,
          timeCoverage(windows, repeats),
          `best of ${repeats}; fractions per polygon, no output arrays`,
        ),
      );
      if (!python) continue;
      const t = timePython(windows, repeats, shapelySeconds);
      rows.push(
        row(
          scenario,
          'rasterio rasterize all_touched',
          windows,
          t.rasterio,
          `best of ${repeats}, timed in python`,
        ),
      );
      const total = ours.pixels;
      const extrapolated = t.shapelyPixels >= total ? t.shapely : (t.shapely * total) / t.shapelyPixels;
      rows.push(
        row(
          scenario,
          'shapely per-pixel intersection',
          windows,
          extrapolated,
          t.shapelyPixels >= total
            ? 'one full pass'
            : `extrapolated from ${t.shapelyWindows} windows (${t.shapelyPixels} px) timed`,
        ),
      );
    }
  }
  printTable(rows, print);
  return rows;
}

function printTable(rows: readonly LabelBenchRow[], print: (line: string) => void): void {
  const fmt = (v: number) => (v >= 100 ? v.toExponential(2) : v.toFixed(2));
  print('\nLabel rasterizer (one core)');
  print(
    '| scenario | approach | pixels | polygons | seconds | pixels/s | polygons/s | ours is x faster | note |',
  );
  print('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const ours = rows.find((o) => o.scenario === r.scenario && o.approach.startsWith('satfactory'));
    const ratio = ours === undefined ? '' : (r.seconds / ours.seconds).toFixed(1);
    print(
      `| ${r.scenario} | ${r.approach} | ${r.pixels} | ${r.polygons} | ${r.seconds.toFixed(4)} | ${fmt(r.pixelsPerSecond)} | ${fmt(r.polygonsPerSecond)} | ${ratio} | ${r.note} |`,
    );
  }
}
