// Warping a raster onto another grid, the way GDAL's warp kernel (gdalwarpkernel.cpp, GDAL 3.6) does
// it, so that a dataset warped here equals one warped with gdalwarp/rasterio to the same grid:
// - every destination pixel is sampled at its centre, mapped to source pixel/line coordinates through
//   GDAL's approximate transformer (per destination row: exact at the ends and middle, linear in
//   between while the middle's error is ≤ 0.125 source pixels, else halves recursively);
// - a destination pixel whose centre falls outside the source raster stays invalid, whatever kernel;
// - nearest: the source pixel containing the point (floor(x + 1e-10));
// - bilinear: the 4 surrounding pixel centres, weights renormalised over the valid (not nodata,
//   inside the raster) ones; invalid when their weight sums below 1e-5;
// - cubic: Catmull-Rom (a = -0.5) over 4x4 pixels; falls back to bilinear near the raster edge or
//   when any of the 16 is nodata;
// - bilinear and cubic widen their kernel by 1/scale when the destination is coarser (scale < 0.95),
//   like GDAL's GWKResample (weights renormalised; invalid when fewer than half the taps are valid);
// - average: the mean of the source pixels that the destination pixel's footprint (the bounding box
//   of its top-left and bottom-right corners mapped to the source) touches, each weighted by the
//   fraction of it inside the box along x and y (GDAL ≥ 3.1's weighted average); nodata excluded.
// Integer outputs are rounded half up and clamped to the type's range, as GDAL writes them.
// Pure: no fs, no network.
import { converterBetween } from './crs.ts';
import { InvalidInputError } from './errors.ts';

/** GDAL geotransform: x = t[0] + col * t[1] + row * t[2]; y = t[3] + col * t[4] + row * t[5]. */
export type GeoTransform = [number, number, number, number, number, number];

export type Resampling = 'nearest' | 'bilinear' | 'cubic' | 'average';
export const RESAMPLINGS: readonly Resampling[] = ['nearest', 'bilinear', 'cubic', 'average'];

export type RasterArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

/** A grid of pixels: size, geotransform and CRS. */
export type RasterGrid = { width: number; height: number; transform: GeoTransform; epsg: number };

export type SourceRaster = RasterGrid & {
  /** Row-major pixels, width * height. */
  data: RasterArray;
  /** Pixels equal to this are not data (excluded from every kernel); null/undefined: all valid. */
  nodata?: number | null | undefined;
  /** Optional extra validity (1 = valid), same size as data; ANDed with the nodata test. */
  valid?: Uint8Array | undefined;
};

export type WarpOptions = {
  /** Maximum error of the approximate transformer, in source pixels (GDAL's default 0.125; 0 = exact). */
  errorThreshold?: number;
  /**
   * 'source' (default): the result has the source's type; for bilinear/cubic/average integers are
   * rounded half up and clamped, as GDAL writes them. 'float32': the unrounded values.
   * Nearest always keeps the source type.
   */
  output?: 'source' | 'float32';
  /** Value written where the result is invalid (default: the source nodata, else 0). */
  fill?: number;
};

export type WarpResult = {
  data: RasterArray;
  /** 1 where the destination pixel got a value, 0 where it stays `fill`. */
  valid: Uint8Array;
};

/** A source pixel window: columns [x0, x1), rows [y0, y1), inside the raster. */
export type SourceWindow = { x0: number; y0: number; x1: number; y1: number };

const DEFAULT_ERROR = 0.125;

/** Pixel/line → georeferenced, and the inverse of a north-up or rotated geotransform. */
function invertTransform(t: GeoTransform): GeoTransform {
  const det = t[1] * t[5] - t[2] * t[4];
  if (!Number.isFinite(det) || det === 0)
    throw new InvalidInputError(`geotransform [${t.join(', ')}] cannot be inverted`, { transform: t });
  const i1 = t[5] / det;
  const i2 = -t[2] / det;
  const i4 = -t[4] / det;
  const i5 = t[1] / det;
  return [-t[0] * i1 - t[3] * i2, i1, i2, -t[0] * i4 - t[3] * i5, i4, i5];
}

/**
 * Destination pixel/line → source pixel/line for `n` points of one destination row (the y of every
 * point is the same), exactly. Points the projection cannot map come back NaN.
 */
type RowTransformer = (
  xs: Float64Array,
  y: number,
  outX: Float64Array,
  outY: Float64Array,
  from: number,
  to: number,
) => void;

function exactTransformer(src: RasterGrid, dst: RasterGrid): RowTransformer {
  const d = dst.transform;
  const inv = invertTransform(src.transform);
  const same = src.epsg === dst.epsg;
  const conv = same ? undefined : converterBetween(dst.epsg, src.epsg);
  const p: [number, number] = [0, 0];
  return (xs, y, outX, outY, from, to) => {
    for (let i = from; i < to; i++) {
      const px = xs[i] as number;
      let gx = d[0] + px * d[1] + y * d[2];
      let gy = d[3] + px * d[4] + y * d[5];
      if (conv) {
        p[0] = gx;
        p[1] = gy;
        let q: number[];
        try {
          q = conv.forward(p);
        } catch {
          q = [Number.NaN, Number.NaN];
        }
        gx = q[0] as number;
        gy = q[1] as number;
        if (!Number.isFinite(gx) || !Number.isFinite(gy)) {
          outX[i] = Number.NaN;
          outY[i] = Number.NaN;
          continue;
        }
      }
      outX[i] = inv[0] + gx * inv[1] + gy * inv[2];
      outY[i] = inv[3] + gx * inv[4] + gy * inv[5];
    }
  };
}

/**
 * GDAL's GDALApproxTransform on one row of `n` points (x ascending, y constant): transform the
 * first, middle and last points exactly; if the middle lies within `maxError` (|dx| + |dy|, source
 * pixels) of the line through the ends, interpolate linearly, else recurse on both halves. Rows of 5
 * points or fewer are transformed exactly.
 */
function approxRow(
  exact: RowTransformer,
  maxError: number,
  xs: Float64Array,
  y: number,
  outX: Float64Array,
  outY: Float64Array,
): void {
  const n = xs.length;
  if (maxError <= 0 || n <= 5) {
    exact(xs, y, outX, outY, 0, n);
    return;
  }
  const sme = (i: number) => exact(xs, y, outX, outY, i, i + 1);
  sme(0);
  sme((n - 1) >> 1);
  sme(n - 1);
  approxSpan(exact, maxError, xs, y, outX, outY, 0, n);
}

/** Points [start, start + n) whose first, middle and last are already transformed exactly. */
function approxSpan(
  exact: RowTransformer,
  maxError: number,
  xs: Float64Array,
  y: number,
  outX: Float64Array,
  outY: Float64Array,
  start: number,
  n: number,
): void {
  const last = start + n - 1;
  const mid = start + ((n - 1) >> 1);
  const x0 = outX[start] as number;
  const y0 = outY[start] as number;
  const x2 = outX[last] as number;
  const y2 = outY[last] as number;
  const span = (xs[last] as number) - (xs[start] as number);
  const dX = (x2 - x0) / span;
  const dY = (y2 - y0) / span;
  const dm = (xs[mid] as number) - (xs[start] as number);
  const error =
    Math.abs(x0 + dX * dm - (outX[mid] as number)) + Math.abs(y0 + dY * dm - (outY[mid] as number));
  if (!(error <= maxError)) {
    // Split as GDAL does: [start, mid) and [mid, last]; each half's ends and middle exact.
    const halves: [number, number][] = [
      [start, mid - start],
      [mid, last - mid + 1],
    ];
    for (const [s, m] of halves) {
      if (m <= 5) exact(xs, y, outX, outY, s, s + m);
      else {
        const sm = s + ((m - 1) >> 1);
        exact(xs, y, outX, outY, sm, sm + 1);
        exact(xs, y, outX, outY, s + m - 1, s + m);
        approxSpan(exact, maxError, xs, y, outX, outY, s, m);
      }
    }
    return;
  }
  for (let i = start + 1; i < last; i++) {
    const dist = (xs[i] as number) - (xs[start] as number);
    outX[i] = x0 + dX * dist;
    outY[i] = y0 + dY * dist;
  }
}

/**
 * Source pixel/line coordinates of points of the destination grid, one destination row at a time,
 * through the approximate transformer. `offset` 0.5 gives pixel centres, 0 top-left corners, 1
 * bottom-right corners (x + offset, y + offset).
 */
export function sourceCoordinates(
  src: RasterGrid,
  dst: RasterGrid,
  offset = 0.5,
  errorThreshold = DEFAULT_ERROR,
): { x: Float64Array; y: Float64Array } {
  const exact = exactTransformer(src, dst);
  const w = dst.width;
  const xs = new Float64Array(w);
  for (let i = 0; i < w; i++) xs[i] = i + offset;
  const outX = new Float64Array(w * dst.height);
  const outY = new Float64Array(w * dst.height);
  const rowX = new Float64Array(w);
  const rowY = new Float64Array(w);
  for (let r = 0; r < dst.height; r++) {
    approxRow(exact, errorThreshold, xs, r + offset, rowX, rowY);
    outX.set(rowX, r * w);
    outY.set(rowY, r * w);
  }
  return { x: outX, y: outY };
}

/** GDAL's filter radius of each resampling (anGWKFilterRadius). */
function filterRadius(resampling: Resampling): number {
  return resampling === 'bilinear' ? 1 : resampling === 'cubic' ? 2 : 0;
}

/** Kernel radius in source pixels at a scale (GDAL's nXRadius: the kernel widens when scale < 1). */
function radius(resampling: Resampling, scale: number): number {
  const base = filterRadius(resampling);
  return scale < 1 ? Math.ceil(base / scale) : base;
}

/** GDAL rounds a scale close to an integer reciprocal (1/2, 1/3...) to it. */
function roundScale(s: number): number {
  if (s < 1) {
    const r = 1 / s;
    const k = Math.floor(r + 0.5);
    if (Math.abs(r - k) < 0.05) return 1 / k;
  }
  return s;
}

/**
 * What GDALWarpOperation::ComputeSourceWindow and GDALWarpKernel::PerformWarp derive for warping
 * the whole destination grid in one chunk: the source window the kernel sees (pixels outside it do
 * not exist for the kernel) and the destination/source scale that sizes the bilinear/cubic kernels.
 * The bounds come from 21 points along each edge of the destination (pixel corners), exactly
 * transformed; the scale is the destination size over the source extent they span (clipped to the
 * raster), 1 when the source window is about the destination's size.
 */
export type GdalWindow = {
  xOff: number;
  yOff: number;
  xSize: number;
  ySize: number;
  scaleX: number;
  scaleY: number;
  /** Share of the unclamped source window inside the raster (GDAL splits chunks below 0.5). */
  fillRatio: number;
};

export function gdalWindow(src: RasterGrid, dst: RasterGrid, resampling: Resampling): GdalWindow | undefined {
  const exact = exactTransformer(src, dst);
  const steps = 21;
  const one = new Float64Array(1);
  const ox = new Float64Array(1);
  const oy = new Float64Array(1);
  let minX = Number.POSITIVE_INFINITY;
  let minY = Number.POSITIVE_INFINITY;
  let maxX = Number.NEGATIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  let failed = 0;
  const add = (px: number, py: number) => {
    one[0] = px;
    exact(one, py, ox, oy, 0, 1);
    const x = ox[0] as number;
    const y = oy[0] as number;
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      failed++;
      return;
    }
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  };
  const step = 1 / (steps - 1);
  for (let r = 0; r <= 1 + step * 0.5; r += step) {
    add(r * dst.width, 0);
    add(r * dst.width, dst.height);
    add(0, r * dst.height);
    add(dst.width, r * dst.height);
  }
  if (!Number.isFinite(minX)) return undefined;
  // Wholly outside the raster: no source window.
  if (minX > src.width || maxX < 0 || minY > src.height || maxY < 0) return undefined;
  const base = filterRadius(resampling);
  const cwScaleX = Math.max(1e-3, dst.width / (maxX - minX));
  const cwScaleY = Math.max(1e-3, dst.height / (maxY - minY));
  let rX = cwScaleX < 0.95 ? Math.ceil(base / cwScaleX) : base;
  let rY = cwScaleY < 0.95 ? Math.ceil(base / cwScaleY) : base;
  if (failed > 0) {
    rX += 10;
    rY += 10;
  }
  const minXc = Math.trunc(Math.max(0, minX));
  const minYc = Math.trunc(Math.max(0, minY));
  const maxXc = Math.trunc(Math.min(Math.ceil(maxX), src.width));
  const maxYc = Math.trunc(Math.min(Math.ceil(maxY), src.height));
  const xOff = Math.max(0, Math.min(minXc - rX, src.width));
  const yOff = Math.max(0, Math.min(minYc - rY, src.height));
  const xSize = Math.max(0, Math.min(src.width - xOff, maxXc - xOff + rX));
  const ySize = Math.max(0, Math.min(src.height - yOff, maxYc - yOff + rY));
  if (xSize <= 0 || ySize <= 0) return undefined;
  const rawX = Math.max(0, Math.min(src.width - minXc, maxX - minX));
  const rawY = Math.max(0, Math.min(src.height - minYc, maxY - minY));
  let scaleX = dst.width / rawX;
  let scaleY = dst.height / rawY;
  if (xSize >= dst.width && rawX <= dst.width) scaleX = 1;
  if (ySize >= dst.height && rawY <= dst.height) scaleY = 1;
  const fillRatio = (xSize * ySize) / Math.max(1, (maxX - minX + 2 * rX) * (maxY - minY + 2 * rY));
  return { xOff, yOff, xSize, ySize, scaleX: roundScale(scaleX), scaleY: roundScale(scaleY), fillRatio };
}

/**
 * The source pixels that warping onto `dst` reads (GDAL's source window with the kernel's margin,
 * plus one pixel), clipped to the source raster; undefined when the destination does not meet it.
 * Read this window (e.g. the COG tiles it touches, each once) and pass it, or any larger window,
 * as the source raster: the result equals warping from the whole raster.
 */
export function sourceWindow(
  src: RasterGrid,
  dst: RasterGrid,
  resampling: Resampling,
): SourceWindow | undefined {
  const g = gdalWindow(src, dst, resampling);
  if (!g) return undefined;
  const x0 = Math.max(0, g.xOff - 1);
  const y0 = Math.max(0, g.yOff - 1);
  const x1 = Math.min(src.width, g.xOff + g.xSize + 1);
  const y1 = Math.min(src.height, g.yOff + g.ySize + 1);
  if (x0 >= x1 || y0 >= y1) return undefined;
  return { x0, y0, x1, y1 };
}

/** The sub-grid of a window of `grid` (same CRS, shifted origin). */
export function windowGrid(grid: RasterGrid, w: SourceWindow): RasterGrid {
  const t = grid.transform;
  return {
    width: w.x1 - w.x0,
    height: w.y1 - w.y0,
    epsg: grid.epsg,
    transform: [t[0] + w.x0 * t[1] + w.y0 * t[2], t[1], t[2], t[3] + w.x0 * t[4] + w.y0 * t[5], t[4], t[5]],
  };
}

type Ctor = new (n: number) => RasterArray;

function integerRange(a: RasterArray): [number, number] | undefined {
  if (a instanceof Uint8Array) return [0, 255];
  if (a instanceof Int8Array) return [-128, 127];
  if (a instanceof Uint16Array) return [0, 65535];
  if (a instanceof Int16Array) return [-32768, 32767];
  if (a instanceof Uint32Array) return [0, 4294967295];
  if (a instanceof Int32Array) return [-2147483648, 2147483647];
  return undefined;
}

/** Catmull-Rom weights for the 4 taps at -1, 0, 1, 2 (GDAL's GWKCubicComputeWeights). */
function cubicWeights(x: number, out: Float64Array): void {
  const halfX = 0.5 * x;
  const threeX = 3 * x;
  const halfX2 = halfX * x;
  out[0] = halfX * (-1 + x * (2 - x));
  out[1] = 1 + halfX2 * (-5 + threeX);
  out[2] = halfX * (1 + x * (4 - threeX));
  out[3] = halfX2 * (-1 + x);
}

function bilinearWeight(x: number): number {
  const a = Math.abs(x);
  return a <= 1 ? 1 - a : 0;
}

function cubicWeight(x: number): number {
  const a = Math.abs(x);
  if (a <= 1) return a * a * (1.5 * a - 2.5) + 1;
  if (a <= 2) return a * (a * (-0.5 * a + 2.5) - 4) + 2;
  return 0;
}

/**
 * Warps `src` onto `dst`. The source may be a window of a larger raster (see sourceWindow); its
 * edges are treated as the raster's edges. Like GDALWarpOperation, the destination is cut into
 * chunks (halves of the longer side, recursively) while the source covers less than half of the
 * chunk's source window; each chunk gets its own source window, scale and transformer rows.
 */
export function warp(
  src: SourceRaster,
  dst: RasterGrid,
  resampling: Resampling,
  options: WarpOptions = {},
): WarpResult {
  if (src.data.length !== src.width * src.height)
    throw new InvalidInputError(
      `source raster has ${src.data.length} pixels, expected ${src.width}x${src.height}`,
      { width: src.width, height: src.height },
    );
  const chunks: { x: number; y: number; grid: RasterGrid; window: GdalWindow | undefined }[] = [];
  const collect = (x: number, y: number, w: number, h: number) => {
    const grid = subGrid(dst, x, y, w, h);
    const window = w > 0 && h > 0 ? gdalWindow(src, grid, resampling) : undefined;
    if (window && window.fillRatio > 0 && window.fillRatio < 0.5 && (w > 100 || h > 100)) {
      if (w > h) {
        const w1 = Math.floor(w / 2);
        collect(x, y, w1, h);
        collect(x + w1, y, w - w1, h);
      } else {
        const h1 = Math.floor(h / 2);
        collect(x, y, w, h1);
        collect(x, y + h1, w, h - h1);
      }
      return;
    }
    chunks.push({ x, y, grid, window });
  };
  collect(0, 0, dst.width, dst.height);
  if (chunks.length === 1) {
    const only = chunks[0] as (typeof chunks)[number];
    return warpChunk(src, dst, resampling, options, only.window);
  }
  const n = dst.width * dst.height;
  let data: RasterArray | undefined;
  const valid = new Uint8Array(n);
  for (const c of chunks) {
    const part = warpChunk(src, c.grid, resampling, options, c.window);
    data ??= new (part.data.constructor as Ctor)(n);
    for (let r = 0; r < c.grid.height; r++) {
      const to = (c.y + r) * dst.width + c.x;
      const from = r * c.grid.width;
      data.set(part.data.subarray(from, from + c.grid.width), to);
      valid.set(part.valid.subarray(from, from + c.grid.width), to);
    }
  }
  return { data: data as RasterArray, valid };
}

/** The grid of a rectangle of `grid`'s pixels. */
function subGrid(grid: RasterGrid, x: number, y: number, w: number, h: number): RasterGrid {
  const t = grid.transform;
  return {
    width: w,
    height: h,
    epsg: grid.epsg,
    transform: [t[0] + x * t[1] + y * t[2], t[1], t[2], t[3] + x * t[4] + y * t[5], t[4], t[5]],
  };
}

function warpChunk(
  src: SourceRaster,
  dst: RasterGrid,
  resampling: Resampling,
  options: WarpOptions,
  g: GdalWindow | undefined,
): WarpResult {
  const errorThreshold = options.errorThreshold ?? DEFAULT_ERROR;
  const n = dst.width * dst.height;
  const valid = new Uint8Array(n);
  const nodata = src.nodata ?? undefined;
  const fill = options.fill ?? nodata ?? 0;
  const toFloat = resampling !== 'nearest' && options.output === 'float32';
  const out: RasterArray = toFloat ? new Float32Array(n) : new (src.data.constructor as Ctor)(n);
  if (fill !== 0) out.fill(fill);
  if (!g || n === 0) return { data: out, valid };

  // The kernel sees GDAL's source window only: copy it, with its validity (nodata, NaN, mask).
  const sw = g.xSize;
  const sh = g.ySize;
  const data = new (src.data.constructor as Ctor)(sw * sh);
  for (let r = 0; r < sh; r++) {
    const from = (r + g.yOff) * src.width + g.xOff;
    data.set(src.data.subarray(from, from + sw), r * sw);
  }
  let srcValid: Uint8Array | undefined;
  const isFloat = data instanceof Float32Array || data instanceof Float64Array;
  if ((nodata !== undefined && !Number.isNaN(nodata)) || src.valid || isFloat) {
    srcValid = new Uint8Array(sw * sh);
    for (let r = 0; r < sh; r++)
      for (let c = 0; c < sw; c++) {
        const i = r * sw + c;
        const v = data[i] as number;
        const m = src.valid === undefined ? 1 : src.valid[(r + g.yOff) * src.width + c + g.xOff];
        srcValid[i] = v === nodata || Number.isNaN(v) || m === 0 ? 0 : 1;
      }
  }
  const ok = (i: number) => srcValid === undefined || srcValid[i] === 1;

  const range = toFloat ? undefined : integerRange(out);
  const put = (i: number, v: number) => {
    if (range) {
      v = v < range[0] ? range[0] : v > range[1] ? range[1] : Math.floor(v + 0.5);
    }
    out[i] = v;
    valid[i] = 1;
  };

  if (resampling === 'average') {
    const tl = sourceCoordinates(src, dst, 0, errorThreshold);
    const br = sourceCoordinates(src, dst, 1, errorThreshold);
    for (let i = 0; i < n; i++) {
      let xMin = (tl.x[i] as number) - g.xOff;
      let yMin = (tl.y[i] as number) - g.yOff;
      let xMax = (br.x[i] as number) - g.xOff;
      let yMax = (br.y[i] as number) - g.yOff;
      if (
        !Number.isFinite(xMin) ||
        !Number.isFinite(xMax) ||
        !Number.isFinite(yMin) ||
        !Number.isFinite(yMax)
      )
        continue;
      let ix0 = Math.max(Math.floor(xMin + 1e-10), 0);
      let ix1 = Math.min(Math.ceil(xMax - 1e-10), sw);
      let iy0 = Math.max(Math.floor(yMin + 1e-10), 0);
      let iy1 = Math.min(Math.ceil(yMax - 1e-10), sh);
      // The transformation may reverse the order of the corners (GDAL #5433).
      if (ix1 < ix0) {
        [xMin, xMax] = [xMax, xMin];
        ix0 = Math.max(Math.floor(xMin + 1e-10), 0);
        ix1 = Math.min(Math.ceil(xMax - 1e-10), sw);
      }
      if (iy1 < iy0) {
        [yMin, yMax] = [yMax, yMin];
        iy0 = Math.max(Math.floor(yMin + 1e-10), 0);
        iy1 = Math.min(Math.ceil(yMax - 1e-10), sh);
      }
      if (ix0 === ix1 && ix1 < sw) ix1++;
      if (iy0 === iy1 && iy1 < sh) iy1++;
      let total = 0;
      let weight = 0;
      for (let sy = iy0; sy < iy1; sy++) {
        const wy =
          sy === iy0 ? (iy0 + 1 === iy1 ? 1 : 1 - (yMin - iy0)) : sy + 1 === iy1 ? 1 - (iy1 - yMax) : 1;
        let o = sy * sw + ix0;
        for (let sx = ix0; sx < ix1; sx++, o++) {
          if (!ok(o)) continue;
          const wgt =
            sx === ix0
              ? ix0 + 1 === ix1
                ? wy
                : wy * (1 - (xMin - ix0))
              : sx + 1 === ix1
                ? wy * (1 - (ix1 - xMax))
                : wy;
          if (wgt > 0) {
            weight += wgt;
            total += (data[o] as number) * wgt;
          }
        }
      }
      if (weight > 0) put(i, total / weight);
    }
    return { data: out, valid };
  }

  const c = sourceCoordinates(src, dst, 0.5, errorThreshold);
  const scale = { x: g.scaleX, y: g.scaleY };
  const fourSamples = scale.x >= 0.95 && scale.y >= 0.95;

  const bilinear4 = (x: number, y: number): number | undefined => {
    const ix = Math.floor(x - 0.5);
    const iy = Math.floor(y - 0.5);
    const rx = 1.5 - (x - ix);
    const ry = 1.5 - (y - iy);
    let acc = 0;
    let div = 0;
    for (let dy = 0; dy < 2; dy++) {
      const yy = iy + dy;
      if (yy < 0 || yy >= sh) continue;
      const wy = dy === 0 ? ry : 1 - ry;
      for (let dx = 0; dx < 2; dx++) {
        const xx = ix + dx;
        if (xx < 0 || xx >= sw) continue;
        const o = yy * sw + xx;
        if (!ok(o)) continue;
        const wgt = (dx === 0 ? rx : 1 - rx) * wy;
        div += wgt;
        acc += (data[o] as number) * wgt;
      }
    }
    if (div === 1) return acc;
    if (div < 0.00001) return undefined;
    return acc / div;
  };

  const wx = new Float64Array(4);
  const wy = new Float64Array(4);
  const rows = new Float64Array(4);
  const cubic4 = (x: number, y: number): number | undefined => {
    const ix = Math.trunc(x - 0.5);
    const iy = Math.trunc(y - 0.5);
    if (ix - 1 < 0 || ix + 2 >= sw || iy - 1 < 0 || iy + 2 >= sh) return bilinear4(x, y);
    cubicWeights(x - 0.5 - ix, wx);
    cubicWeights(y - 0.5 - iy, wy);
    for (let j = 0; j < 4; j++) {
      const o = (iy + j - 1) * sw + ix - 1;
      if (!ok(o) || !ok(o + 1) || !ok(o + 2) || !ok(o + 3)) return bilinear4(x, y);
      rows[j] =
        (wx[0] as number) * (data[o] as number) +
        (wx[1] as number) * (data[o + 1] as number) +
        (wx[2] as number) * (data[o + 2] as number) +
        (wx[3] as number) * (data[o + 3] as number);
    }
    return (
      (wy[0] as number) * (rows[0] as number) +
      (wy[1] as number) * (rows[1] as number) +
      (wy[2] as number) * (rows[2] as number) +
      (wy[3] as number) * (rows[3] as number)
    );
  };

  // GWKResample: the kernel stretched by 1/scale when the destination is coarser.
  const filter = resampling === 'cubic' ? cubicWeight : bilinearWeight;
  const base = resampling === 'cubic' ? 2 : 1;
  const rX = radius(resampling, scale.x);
  const rY = radius(resampling, scale.y);
  const initX = ((base + 1) % 2) - rX;
  const initY = ((base + 1) % 2) - rY;
  const general = (x: number, y: number): number | undefined => {
    const ix = Math.floor(x - 0.5);
    const iy = Math.floor(y - 0.5);
    const fx = x - 0.5 - ix;
    const fy = y - 0.5 - iy;
    let j = initY;
    let jMax = rY;
    if (iy + j < 0) j = -iy;
    if (iy + jMax >= sh) jMax = sh - iy - 1;
    let iMin = initX;
    let iMax = rX;
    if (ix + iMin < 0) iMin = -ix;
    if (ix + iMax >= sw) iMax = sw - ix - 1;
    let acc = 0;
    let accW = 0;
    let count = 0;
    const j0 = j;
    for (; j <= jMax; j++) {
      const w1 = filter((j - fy) * scale.y);
      let accRow = 0;
      let accRowW = 0;
      const row = (iy + j) * sw;
      for (let i = iMin; i <= iMax; i++) {
        const o = row + ix + i;
        if (!ok(o)) continue;
        count++;
        const w2 = filter((i - fx) * scale.x);
        accRow += (data[o] as number) * w2;
        accRowW += w2;
      }
      acc += accRow * w1;
      accW += accRowW * w1;
    }
    if (accW < 0.000001 || (srcValid !== undefined && count < ((jMax - j0 + 1) * (iMax - iMin + 1)) / 2))
      return undefined;
    return accW < 0.99999 || accW > 1.00001 ? acc / accW : acc;
  };

  const sample =
    resampling === 'bilinear'
      ? fourSamples
        ? bilinear4
        : general
      : resampling === 'cubic'
        ? fourSamples
          ? cubic4
          : general
        : undefined;

  const exact = exactTransformer(src, dst);
  const one = new Float64Array(1);
  const ex = new Float64Array(1);
  const ey = new Float64Array(1);
  for (let i = 0; i < n; i++) {
    let x = (c.x[i] as number) - g.xOff;
    let y = (c.y[i] as number) - g.yOff;
    // GDAL's GWKCheckAndComputeSrcOffsets: a point up to a pixel outside the source window may be
    // an artefact of the approximate transformer, so it is transformed again, exactly, alone.
    if ((x < 0 && x > -1) || (y < 0 && y > -1) || (x >= sw && x < sw + 1) || (y >= sh && y < sh + 1)) {
      one[0] = (i % dst.width) + 0.5;
      exact(one, Math.floor(i / dst.width) + 0.5, ex, ey, 0, 1);
      x = (ex[0] as number) - g.xOff;
      y = (ey[0] as number) - g.yOff;
    }
    // Outside the source window (or unmappable): left invalid, as GDAL does for every kernel.
    if (!(x >= 0 && y >= 0)) continue;
    const ix = Math.floor(x + 1e-10);
    const iy = Math.floor(y + 1e-10);
    if (ix >= sw || iy >= sh) continue;
    if (sample === undefined) {
      const o = iy * sw + ix;
      if (!ok(o)) continue;
      out[i] = data[o] as number;
      valid[i] = 1;
      continue;
    }
    const v = sample(x, y);
    if (v !== undefined) put(i, v);
  }
  return { data: out, valid };
}
