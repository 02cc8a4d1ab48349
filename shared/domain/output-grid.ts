// Output grids other than each tile's native UTM grid (job `grid`): web-mercator XYZ tiles, as
// SatlasPretrain uses them, or windows on any EPSG grid. Such a grid is one for the whole job:
// every source tile plans the windows of it that it owns (tile footprints decide, ownership.ts), so
// an AOI across two UTM zones still gives one set of samples. Bands are warped onto it
// (warp.ts, GDAL's kernels), all at the grid's one resolution; categorical bands (SCL) always
// with nearest. Pure: no fs, no network.
import { z } from 'zod';
import type { CogInfo } from './cog-types.ts';
import { parseEpsg } from './crs.ts';
import { InvalidInputError } from './errors.ts';
import type { TileGrid, WindowPos } from './grid.ts';
import type { GridSpec } from './job-spec.ts';
import { type RasterGrid, RESAMPLINGS, type Resampling } from './warp.ts';

/** Half the side of the EPSG:3857 square world, metres. */
export const WEB_MERCATOR_HALF = 20037508.342789244;

/**
 * Output windows per region side: as many as the region budget holds (a region keeps all its
 * windows' arrays), at most 16. Output windows do not line up with the source COG tiles, so the
 * tiles under a region's border are read by both regions: larger regions read fewer twice.
 */
export function regionWindowsFor(windowBytes: number, budgetBytes: number): number {
  return Math.max(1, Math.min(16, Math.floor(Math.sqrt(budgetBytes / Math.max(1, windowBytes)))));
}

/** Assets whose values are classes: warped with nearest whatever the job asks. */
export const CATEGORICAL_ASSETS: ReadonlySet<string> = new Set(['scl']);

export const OutputGridSchema = z.strictObject({
  kind: z.enum(['webmercator', 'crs']),
  epsg: z.int(),
  /** Zoom level (web-mercator grids only). */
  zoom: z.int().nullable(),
  /** The job's resampling, and what each asset (band or SCL) was warped with. */
  resampling: z.enum(RESAMPLINGS as [Resampling, ...Resampling[]]),
  assetResampling: z.record(z.string(), z.enum(RESAMPLINGS as [Resampling, ...Resampling[]])),
  /** EPSG code of the source tile the plan reads (its COGs may omit it). */
  sourceEpsg: z.int(),
});
export type OutputGrid = z.infer<typeof OutputGridSchema>;

/** The job's non-native grid, or undefined for the native UTM tile grid. */
export function outputGridOf(
  spec: GridSpec | undefined,
  assets: readonly string[],
): Omit<OutputGrid, 'sourceEpsg'> | undefined {
  if (!spec || spec.kind === 'utm-tile') return undefined;
  const epsg = spec.kind === 'webmercator' ? 3857 : (parseEpsg(spec.crs) as number);
  const assetResampling = Object.fromEntries(
    assets.map((a) => [a, CATEGORICAL_ASSETS.has(a) ? ('nearest' as const) : spec.resampling]),
  );
  return {
    kind: spec.kind,
    epsg,
    zoom: spec.kind === 'webmercator' ? spec.zoom : null,
    resampling: spec.resampling,
    assetResampling,
  };
}

/** Pixel size of a web-mercator zoom level with tiles of `tileSize` pixels. */
export function webMercatorResolution(zoom: number, tileSize: number): number {
  return (2 * WEB_MERCATOR_HALF) / (2 ** zoom * tileSize);
}

/**
 * The window grid of a non-native output grid, as a TileGrid (the shape the rest of the pipeline
 * reads): origin at window (0, 0), windows numbered east and south, none of them an edge window
 * (coverage is the warped pixels' validity), regions of regionWindows x regionWindows windows.
 * `tile` is the source tile planning its share of it. `extent` bounds the windows a tile may plan
 * ([minX, minY, maxX, maxY] in the grid's CRS).
 */
export function outputTileGrid(
  spec: Exclude<GridSpec, { kind: 'utm-tile' }>,
  tile: string,
  windowSize: number,
  stride: number,
  extent: [number, number, number, number],
  regionWindows = 4,
): TileGrid {
  let res: number;
  let originX: number;
  let originY: number;
  let size = windowSize;
  let step = stride;
  let cols: number;
  let rows: number;
  if (spec.kind === 'webmercator') {
    size = spec.tileSize;
    step = spec.tileSize;
    res = webMercatorResolution(spec.zoom, spec.tileSize);
    originX = -WEB_MERCATOR_HALF;
    originY = WEB_MERCATOR_HALF;
    cols = 2 ** spec.zoom;
    rows = cols;
  } else {
    res = spec.resolution;
    [originX, originY] = spec.origin;
    if (extent[0] < originX - 1e-6 || extent[3] > originY + 1e-6) {
      throw new InvalidInputError(
        `the AOI reaches west of or above grid.origin [${originX}, ${originY}] (its bounds in ${spec.crs}: ${extent.map((v) => Math.round(v)).join(', ')}); windows are numbered east and south of the origin, so put the origin at or beyond the AOI's top-left corner`,
        { pointer: '/grid/origin' },
      );
    }
    cols = Math.max(1, Math.ceil((extent[2] - originX) / (step * res)) + 1);
    rows = Math.max(1, Math.ceil((originY - extent[1]) / (step * res)) + 1);
  }
  const regionSide = step * regionWindows;
  return {
    tile,
    epsg: spec.kind === 'webmercator' ? 3857 : (parseEpsg(spec.crs) as number),
    res,
    originX,
    originY,
    windowSize: size,
    stride: step,
    cols,
    rows,
    fullCols: cols,
    fullRows: rows,
    spanX: (cols - 1) * step + size,
    spanY: (rows - 1) * step + size,
    regionWidth: regionSide,
    regionHeight: regionSide,
    regionAnchorX: 0,
    regionAnchorY: 0,
    regionScheme: 'fixed',
    offsetX: 0,
    offsetY: 0,
  };
}

/** Sample key on an output grid: `<zoom>_<x>_<y>` (XYZ) or `epsg<code>_<row>_<col>`. */
export function outputKey(grid: TileGrid, output: OutputGrid, w: WindowPos): string {
  if (output.kind === 'webmercator') return `${output.zoom}_${w.col}_${w.row}`;
  return `epsg${grid.epsg}_${String(w.row).padStart(4, '0')}_${String(w.col).padStart(4, '0')}`;
}

/** The destination raster grid of one window of an output grid. */
export function windowRasterGrid(grid: TileGrid, w: WindowPos): RasterGrid {
  const x0 = grid.originX + w.col * grid.stride * grid.res;
  const y1 = grid.originY - w.row * grid.stride * grid.res;
  return {
    width: grid.windowSize,
    height: grid.windowSize,
    epsg: grid.epsg,
    transform: [x0, grid.res, 0, y1, 0, -grid.res],
  };
}

/** The full-resolution pixel grid of a COG, for warping from it. */
export function cogRasterGrid(cog: CogInfo, epsg: number): RasterGrid {
  return {
    width: cog.width,
    height: cog.height,
    epsg,
    transform: [cog.originX, cog.resX, 0, cog.originY, 0, -cog.resY],
  };
}
