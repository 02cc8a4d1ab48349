// The window grid of one tile: anchored on the finest band's pixel grid so that every selected band
// co-registers, windows fully inside the common extent, grouped into regions aligned to COG tiles.
import { booleanIntersects } from '@turf/turf';
import { z } from 'zod';
import type { CogInfo, PixelRect } from './cog-types.ts';
import type { Bounds } from './crs.ts';
import { InvalidInputError } from './errors.ts';
import { chooseRegions } from './regions.ts';

export type GridBand = { name: string; cog: CogInfo };

export const TileGridSchema = z.strictObject({
  tile: z.string().min(1),
  epsg: z.int(),
  /** Pixel size of the finest band, CRS units (metres). */
  res: z.number().positive(),
  /** Top-left corner of window (0, 0). */
  originX: z.number(),
  originY: z.number(),
  windowSize: z.int().min(1),
  stride: z.int().min(1),
  /**
   * Window positions across and down: every window that starts inside the imagery, the last ones
   * possibly reaching past its edge (kept as `edge` rejects, or padded with `windows.edge: "pad"`).
   */
  cols: z.int().min(0),
  rows: z.int().min(0),
  /** Of those, the windows that lie wholly inside the imagery. */
  fullCols: z.int().min(0),
  fullRows: z.int().min(0),
  /** Extent of the imagery (all bands) from the grid origin, in pixels of the finest band. */
  spanX: z.int().min(0),
  spanY: z.int().min(0),
  /** Region size in pixels of the finest band (regions.ts chooses it). */
  regionWidth: z.int().min(1),
  regionHeight: z.int().min(1),
  /** Where region borders fall: finest-band pixels from the finest COG's origin. */
  regionAnchorX: z.int().default(0),
  regionAnchorY: z.int().default(0),
  /** How the region size was chosen (regions.ts). */
  regionScheme: z.enum(['aligned', 'aligned-finest', 'tiles', 'fixed']).default('fixed'),
  /** Pixel offset of window (0, 0) from the finest band's COG origin (aligns regions to its tiles). */
  offsetX: z.int(),
  offsetY: z.int(),
});
export type TileGrid = z.infer<typeof TileGridSchema>;

export type WindowPos = { row: number; col: number };

const EPS = 1e-6;
const isInt = (v: number) => Math.abs(v - Math.round(v)) < EPS;

/** Builds the grid; errors name the band and the constraint when bands cannot co-register. */
export function buildTileGrid(options: {
  tile: string;
  epsg: number;
  bands: GridBand[];
  windowSize: number;
  stride: number;
  /** Side of a region in finest-band COG tiles; absent: chosen for fetching each tile once. */
  regionTiles?: number | undefined;
  /** Bytes of one window's arrays (all dates): bounds the windows of a region. */
  windowBytes?: number;
  /** Bytes of window arrays a region may hold (default REGION_BUDGET_BYTES). */
  regionBudgetBytes?: number;
}): TileGrid {
  const { bands, windowSize, stride, tile } = options;
  if (bands.length === 0) throw new InvalidInputError('no band to build a grid from', { tile });
  for (const b of bands) {
    if (Math.abs(b.cog.resX - b.cog.resY) > EPS * b.cog.resX) {
      throw new InvalidInputError(`band ${b.name} has non-square pixels (${b.cog.resX} x ${b.cog.resY})`, {
        source: b.cog.href,
      });
    }
  }
  const finest = bands.reduce((a, b) => (b.cog.resX < a.cog.resX ? b : a));
  const res = finest.cog.resX;
  let step = 1;
  for (const b of bands) {
    const ratio = b.cog.resX / res;
    if (!isInt(ratio)) {
      throw new InvalidInputError(
        `band ${b.name} has ${b.cog.resX} m pixels, not a whole multiple of the finest band's ${res} m`,
        { source: b.cog.href },
      );
    }
    const k = Math.round(ratio);
    for (const [what, v] of [
      ['windows.size', windowSize],
      ['windows.stride', stride],
    ] as const) {
      if (v % k !== 0) {
        throw new InvalidInputError(
          `${what} ${v} px at ${res} m does not co-register band ${b.name} (${b.cog.resX} m): use a multiple of ${k}`,
          { pointer: `/${what.replace('.', '/')}` },
        );
      }
    }
    const dx = (b.cog.originX - finest.cog.originX) / b.cog.resX;
    const dy = (finest.cog.originY - b.cog.originY) / b.cog.resY;
    if (!isInt(dx) || !isInt(dy)) {
      throw new InvalidInputError(
        `band ${b.name} grid origin (${b.cog.originX}, ${b.cog.originY}) is not aligned with ${finest.name}'s`,
        { source: b.cog.href },
      );
    }
    step = lcm(step, k);
  }
  // Common extent of all bands, in CRS units.
  const minX = Math.max(...bands.map((b) => b.cog.originX));
  const maxY = Math.min(...bands.map((b) => b.cog.originY));
  const maxX = Math.min(...bands.map((b) => b.cog.originX + b.cog.width * b.cog.resX));
  const minY = Math.max(...bands.map((b) => b.cog.originY - b.cog.height * b.cog.resY));
  const offsetX = roundUpTo(Math.round((minX - finest.cog.originX) / res), step);
  const offsetY = roundUpTo(Math.round((finest.cog.originY - maxY) / res), step);
  const originX = finest.cog.originX + offsetX * res;
  const originY = finest.cog.originY - offsetY * res;
  const spanX = Math.floor((maxX - originX) / res + EPS);
  const spanY = Math.floor((originY - minY) / res + EPS);
  const full = (span: number) => (span >= windowSize ? Math.floor((span - windowSize) / stride) + 1 : 0);
  // The fewest positions that cover the extent: the last window may reach past the edge.
  const all = (span: number) =>
    span > 0 ? Math.max(full(span), Math.ceil((span - windowSize) / stride) + 1) : 0;
  const regions = chooseRegions({
    bands,
    finest: finest.cog,
    windowSize,
    stride,
    offsetX,
    offsetY,
    cols: all(spanX),
    rows: all(spanY),
    windowBytes: options.windowBytes ?? 0,
    ...(options.regionBudgetBytes !== undefined ? { budgetBytes: options.regionBudgetBytes } : {}),
    ...(options.regionTiles !== undefined ? { regionTiles: options.regionTiles } : {}),
  });
  return {
    tile,
    epsg: options.epsg,
    res,
    originX,
    originY,
    windowSize,
    stride,
    cols: all(spanX),
    rows: all(spanY),
    fullCols: full(spanX),
    fullRows: full(spanY),
    spanX: Math.max(0, spanX),
    spanY: Math.max(0, spanY),
    regionWidth: regions.width,
    regionHeight: regions.height,
    regionAnchorX: regions.anchorX,
    regionAnchorY: regions.anchorY,
    regionScheme: regions.scheme,
    offsetX,
    offsetY,
  };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
function lcm(a: number, b: number): number {
  return (a * b) / gcd(a, b);
}
function roundUpTo(v: number, k: number): number {
  return Math.ceil(v / k) * k;
}

/** Bounds of a window in CRS units. */
export function windowBounds(grid: TileGrid, w: WindowPos): Bounds {
  const x0 = grid.originX + w.col * grid.stride * grid.res;
  const y1 = grid.originY - w.row * grid.stride * grid.res;
  const side = grid.windowSize * grid.res;
  return [x0, y1 - side, x0 + side, y1];
}

/**
 * GDAL-style geotransform of a window on the finest band's grid: [x0, res, 0, y0, 0, -res], where
 * (x0, y0) is the window's top-left corner (not a pixel centre).
 */
export function windowTransform(
  grid: TileGrid,
  w: WindowPos,
): [number, number, number, number, number, number] {
  const [x0, , , y1] = windowBounds(grid, w);
  return [x0, grid.res, 0, y1, 0, -grid.res];
}

/** Whether a window reaches past the imagery's edge (right or bottom). */
export function isEdgeWindow(grid: TileGrid, w: WindowPos): boolean {
  return w.col >= grid.fullCols || w.row >= grid.fullRows;
}

/** Share of a window's pixels inside the imagery. */
export function insideFraction(grid: TileGrid, w: WindowPos): number {
  const inside = (start: number, span: number) => Math.max(0, Math.min(grid.windowSize, span - start));
  const x = inside(w.col * grid.stride, grid.spanX);
  const y = inside(w.row * grid.stride, grid.spanY);
  return (x * y) / (grid.windowSize * grid.windowSize);
}

/** [H, W] uint8 on the finest grid: 1 inside the imagery, 0 where a window is padded past its edge. */
export function insideMask(grid: TileGrid, w: WindowPos): Uint8Array {
  const n = grid.windowSize;
  const mask = new Uint8Array(n * n);
  const w0 = Math.max(0, Math.min(n, grid.spanX - w.col * grid.stride));
  const h0 = Math.max(0, Math.min(n, grid.spanY - w.row * grid.stride));
  for (let y = 0; y < h0; y++) mask.fill(1, y * n, y * n + w0);
  return mask;
}

/** Bounds of every window of the grid together. */
export function gridBounds(grid: TileGrid): Bounds {
  const width = ((grid.cols - 1) * grid.stride + grid.windowSize) * grid.res;
  const height = ((grid.rows - 1) * grid.stride + grid.windowSize) * grid.res;
  return [grid.originX, grid.originY - height, grid.originX + width, grid.originY];
}

/** The smallest bounds holding all of them (empty input: an inverted, empty box). */
export function extentOf(all: readonly Bounds[]): Bounds {
  const out: Bounds = [Infinity, Infinity, -Infinity, -Infinity];
  for (const b of all) {
    if (b[0] < out[0]) out[0] = b[0];
    if (b[1] < out[1]) out[1] = b[1];
    if (b[2] > out[2]) out[2] = b[2];
    if (b[3] > out[3]) out[3] = b[3];
  }
  return out;
}

/** The window's pixels on one band's COG grid. */
export function windowRectInBand(grid: TileGrid, cog: CogInfo, w: WindowPos): PixelRect {
  const [x0, , , y1] = windowBounds(grid, w);
  const side = (grid.windowSize * grid.res) / cog.resX;
  return {
    x: Math.round((x0 - cog.originX) / cog.resX),
    y: Math.round((cog.originY - y1) / cog.resY),
    width: Math.round(side),
    height: Math.round(side),
  };
}

/** Region of a window: the region block (regions.ts) its top-left pixel falls in. */
export function regionOf(grid: TileGrid, w: WindowPos): { row: number; col: number } {
  const px = grid.offsetX + w.col * grid.stride - grid.regionAnchorX;
  const py = grid.offsetY + w.row * grid.stride - grid.regionAnchorY;
  return { row: Math.floor(py / grid.regionHeight), col: Math.floor(px / grid.regionWidth) };
}

function rectPolygon(b: Bounds): GeoJSON.Polygon {
  return {
    type: 'Polygon',
    coordinates: [
      [
        [b[0], b[1]],
        [b[2], b[1]],
        [b[2], b[3]],
        [b[0], b[3]],
        [b[0], b[1]],
      ],
    ],
  };
}

/**
 * Windows of the grid that intersect `area` (already in the tile's CRS). `keep` decides ownership
 * where tiles overlap (a window belongs to exactly one tile).
 */
export function windowsIntersecting(
  grid: TileGrid,
  area: GeoJSON.Polygon | GeoJSON.MultiPolygon,
  areaBounds: Bounds,
  keep: (w: WindowPos, bounds: Bounds) => boolean = () => true,
): WindowPos[] {
  const side = grid.windowSize * grid.res;
  const step = grid.stride * grid.res;
  const colMin = Math.max(0, Math.floor((areaBounds[0] - grid.originX - side) / step));
  const colMax = Math.min(grid.cols - 1, Math.ceil((areaBounds[2] - grid.originX) / step));
  const rowMin = Math.max(0, Math.floor((grid.originY - areaBounds[3] - side) / step));
  const rowMax = Math.min(grid.rows - 1, Math.ceil((grid.originY - areaBounds[1]) / step));
  const out: WindowPos[] = [];
  for (let row = rowMin; row <= rowMax; row++) {
    for (let col = colMin; col <= colMax; col++) {
      const w = { row, col };
      const b = windowBounds(grid, w);
      if (b[2] <= areaBounds[0] || b[0] >= areaBounds[2] || b[3] <= areaBounds[1] || b[1] >= areaBounds[3])
        continue;
      if (!booleanIntersects(rectPolygon(b), area)) continue;
      if (keep(w, b)) out.push(w);
    }
  }
  return out;
}

/** Deterministic sample key: `<tile>_<row>_<col>`, lowercase, no dots. */
export function windowKey(tile: string, w: WindowPos): string {
  return `${tile.toLowerCase()}_${String(w.row).padStart(4, '0')}_${String(w.col).padStart(4, '0')}`;
}
