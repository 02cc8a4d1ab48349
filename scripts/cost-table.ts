// Prints the README's cost table: one Sentinel-2 tile (109.8 km square) over one year, counted with
// the pipeline's own grid and COG range code (buildTileGrid, regionOf, windowRectInBand,
// tilesForRect, planTileRanges) over COG headers shaped like Earth Search's, priced by shared/domain/cost.ts.
// Run: npx tsx scripts/cost-table.ts
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { planTileRanges, tileBytes, tilesForRect } from '../shared/domain/cog-tiles.ts';
import type { CogInfo } from '../shared/domain/cog-types.ts';
import { type CostPlan, DEFAULT_ASSUMPTIONS, estimateCost, PRICES } from '../shared/domain/cost.ts';
import { buildTileGrid, regionOf, windowRectInBand } from '../shared/domain/grid.ts';

/** The full-tile bench's figures (npm run bench -- full writes them; see bench/e2e-bench.ts). */
export const MEASURED_FILE = 'bench/measured/full-tile.json';
export type MeasuredFullTile = {
  at: string;
  machine: { cpus: number; loadAverage1m: number };
  samples: number;
  sampleBytes: number;
  cpuSeconds: number;
  peakRssMb: number;
};
export const measured = JSON.parse(
  readFileSync(fileURLToPath(new URL(`../${MEASURED_FILE}`, import.meta.url)), 'utf8'),
) as MeasuredFullTile;

/** Earth Search L2A layout (docs FACTS.md): pixel size, internal tile size, bytes per pixel. */
const ASSETS: Array<{ name: string; res: number; tile: number; bytes: 1 | 2 }> = [
  { name: 'blue', res: 10, tile: 1024, bytes: 2 },
  { name: 'green', res: 10, tile: 1024, bytes: 2 },
  { name: 'red', res: 10, tile: 1024, bytes: 2 },
  { name: 'nir', res: 10, tile: 1024, bytes: 2 },
  { name: 'rededge1', res: 20, tile: 512, bytes: 2 },
  { name: 'rededge2', res: 20, tile: 512, bytes: 2 },
  { name: 'rededge3', res: 20, tile: 512, bytes: 2 },
  { name: 'nir08', res: 20, tile: 512, bytes: 2 },
  { name: 'swir16', res: 20, tile: 1024, bytes: 2 },
  { name: 'swir22', res: 20, tile: 512, bytes: 2 },
  { name: 'coastal', res: 60, tile: 256, bytes: 2 },
  { name: 'nir09', res: 60, tile: 256, bytes: 2 },
  { name: 'scl', res: 20, tile: 512, bytes: 1 },
];

export type Scenario = {
  /** Side of the tile in metres (Sentinel-2: 109,800). */
  tileMetres: number;
  dates: number;
  windowSize: number;
  regionTiles: number;
  /** Stored over decoded bytes of a COG tile: an assumption (see README "Cost"). */
  compression: number;
};

export const ONE_TILE_YEAR: Scenario = {
  tileMetres: 109_800,
  dates: 73,
  windowSize: 24,
  regionTiles: 1,
  compression: 0.8,
};

function cogOf(asset: (typeof ASSETS)[number], s: Scenario): CogInfo {
  const width = s.tileMetres / asset.res;
  const across = Math.ceil(width / asset.tile);
  const stored = Math.round(asset.tile * asset.tile * asset.bytes * s.compression);
  // Tiles stored row-major after a header, as GDAL writes a COG's full-resolution level.
  const tileOffsets = Array.from({ length: across * across }, (_, i) => 16_384 + i * stored);
  return {
    href: `s3://sentinel-cogs/${asset.name}.tif`,
    width,
    height: width,
    tileWidth: asset.tile,
    tileHeight: asset.tile,
    tilesAcross: across,
    tilesDown: across,
    originX: 600_000,
    originY: 5_000_040,
    resX: asset.res,
    resY: asset.res,
    epsg: 32633,
    bitsPerSample: asset.bytes === 1 ? 8 : 16,
    sampleFormat: 'uint',
    compression: 8,
    predictor: 2,
    nodata: 0,
    tileOffsets,
    tileByteCounts: tileOffsets.map(() => stored),
  };
}

/** The plan counts of a whole tile covered by windows, for every date. */
export function tilePlan(s: Scenario): CostPlan {
  const cogs = ASSETS.map((a) => ({ asset: a, cog: cogOf(a, s) }));
  const grid = buildTileGrid({
    tile: '33UUU',
    epsg: 32633,
    bands: cogs.filter((c) => c.asset.name !== 'scl').map((c) => ({ name: c.asset.name, cog: c.cog })),
    windowSize: s.windowSize,
    stride: s.windowSize,
    regionTiles: s.regionTiles,
  });
  // Each region's windows span a rectangle of window positions.
  const regions = new Map<string, { r0: number; c0: number; r1: number; c1: number }>();
  for (let row = 0; row < grid.fullRows; row++) {
    for (let col = 0; col < grid.fullCols; col++) {
      const r = regionOf(grid, { row, col });
      const id = `${r.row}-${r.col}`;
      const span = regions.get(id);
      if (!span) regions.set(id, { r0: row, c0: col, r1: row, c1: col });
      else Object.assign(span, { r1: Math.max(span.r1, row), c1: Math.max(span.c1, col) });
    }
  }
  let requests = 0;
  let fetched = 0;
  let decoded = 0;
  for (const span of regions.values()) {
    for (const { asset, cog } of cogs) {
      const a = windowRectInBand(grid, cog, { row: span.r0, col: span.c0 });
      const b = windowRectInBand(grid, cog, { row: span.r1, col: span.c1 });
      const tiles = tilesForRect(cog, {
        x: a.x,
        y: a.y,
        width: b.x + b.width - a.x,
        height: b.y + b.height - a.y,
      });
      requests += planTileRanges(cog, tiles).length;
      fetched += tileBytes(cog, tiles);
      decoded += tiles.length * cog.tileWidth * cog.tileHeight * asset.bytes;
    }
  }
  // The default windows.edge "drop" reads no window that reaches past the tile edge.
  const windows = grid.fullRows * grid.fullCols;
  const sampleBytes = ASSETS.reduce((sum, a) => sum + ((s.windowSize * grid.res) / a.res) ** 2 * a.bytes, 0);
  return {
    tiles: 1,
    dates: s.dates,
    assets: ASSETS.length,
    windows,
    regions: regions.size,
    cogRequests: requests * s.dates,
    bytesFetched: fetched * s.dates,
    bytesDecoded: decoded * s.dates,
    bytesWritten: windows * sampleBytes * s.dates,
    // Split by blocks: a region's windows share one split, so one shard per region.
    shards: regions.size,
  };
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });
const usd = (n: number) =>
  n === 0 ? '$0' : n < 0.0001 ? '< $0.0001' : n < 0.01 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`;

export function costTable(s: Scenario = ONE_TILE_YEAR): string {
  const plan = tilePlan(s);
  const estimate = estimateCost(plan);
  const a = DEFAULT_ASSUMPTIONS;
  const rows = estimate.lines.map(
    (l) => `| ${l.item} | ${fmt(l.quantity, l.unit === 'GB' ? 1 : 0)} ${l.unit} | ${usd(l.usd)} |`,
  );
  return [
    `One tile (${s.tileMetres / 1000} km square, 10 m), ${s.dates} dates, ${plan.assets - 1} bands + SCL, ` +
      `${s.windowSize} px windows: ${fmt(plan.windows)} windows in ${fmt(plan.regions)} regions, ` +
      `${fmt(plan.cogRequests)} range GETs, ${fmt(plan.bytesFetched / 1e9, 1)} GB fetched, ` +
      `${fmt(plan.bytesDecoded / 1e9, 1)} GB decoded, ${fmt(estimate.extractSeconds / 60, 0)} Lambda-minutes of extraction.`,
    '',
    '| item | quantity | cost |',
    '|---|---|---|',
    ...rows,
    `| **total, one run** | | **${usd(estimate.totalUsd)}** |`,
    `| dataset in S3 Standard (${fmt(plan.bytesWritten / 1e9, 1)} GB), per month | | ${usd(estimate.storageUsdPerMonth)} |`,
    '',
    `Prices: ${PRICES.asOf}. Measured: ${a.processMBps} MB of sample arrays per CPU second ` +
      `(${MEASURED_FILE}: ${fmt(measured.sampleBytes / 1e6)} MB in ${fmt(measured.cpuSeconds, 1)} CPU s, ` +
      `${measured.at.slice(0, 10)}, ${measured.machine.cpus} cores, load ${measured.machine.loadAverage1m}). ` +
      `Assumed: S3 reads ${a.fetchMBps} MB/s per ` +
      `function, after the processing, not overlapped; ${a.extractMemoryMb} MB ExtractRegion, ${a.regionsPerBatch} region per batch; ` +
      `the other steps ${fmt(a.otherLambdaGbSeconds)} GB-s together; ` +
      `COG tiles stored at ${s.compression} of their decoded size; stack in us-west-2 with the COGs.`,
    '',
    regionComparison(s),
  ].join('\n');
}

/**
 * 1024 px tiles are not a multiple of 24 px windows: a region of one COG tile has windows straddling
 * its right and lower edges, so it decodes up to four tiles per band. Regions of 3 tiles (3072 px =
 * 128 windows) end on window boundaries.
 */
function regionComparison(s: Scenario): string {
  const rows = [1, 2, 3].map((regionTiles) => {
    const plan = tilePlan({ ...s, regionTiles });
    const e = estimateCost(plan);
    return (
      `| ${regionTiles} | ${fmt(plan.regions)} | ${fmt(plan.bytesFetched / 1e9, 1)} GB | ` +
      `${fmt(e.extractSeconds / plan.regions)} s | ${usd(e.totalUsd)} |`
    );
  });
  return [
    '| windows.regionTiles | regions | fetched | Lambda time per region | total |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

function isMain(): boolean {
  const script = process.argv[1];
  return script !== undefined && realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
}

if (isMain()) process.stdout.write(`${costTable()}\n`);
