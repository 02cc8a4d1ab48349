// How big a region is, and where its borders fall, so that a job fetches each COG tile byte once.
// A region is a block of windows (assigned by their top-left pixel). Its borders are put on the
// least common multiple of the stride and of every band's COG tile side (in pixels of the finest
// band), anchored where a window border meets every band's tile border: no window then straddles
// two regions, so no tile is needed by two regions. Bounded by a memory budget (a region holds the
// whole time series of all its windows), with fallbacks when the multiple is too large.
import type { CogInfo } from './cog-types.ts';

/**
 * Bytes of window arrays (all dates, bands, SCL, labels) one region may hold. A region worker
 * holds them (one buffer per band group) while each sample, once built, is streamed into its split's
 * region shard. Measured on full-tile regions of this size, 6 dates: about 1.16 GB for one worker
 * and the main thread, within the 3008 MB ExtractRegion Lambda.
 */
export const REGION_BUDGET_BYTES = 640 * 1024 * 1024;

/**
 * - `aligned`: borders on window and tile borders of every band: no tile is read by two regions
 *   when windows do not overlap (stride >= size).
 * - `aligned-finest`: the multiple over every band did not fit the budget; borders on window and
 *   tile borders of the bands with the smallest tiles (in ground units) only.
 * - `tiles`: neither fits; blocks of the finest band's COG tiles, as large as the budget allows
 *   (at least one tile): windows on a block's right and bottom edge read the next tiles again.
 * - `fixed`: the job's `windows.regionTiles`, blocks of that many finest-band tiles.
 */
export type RegionScheme = 'aligned' | 'aligned-finest' | 'tiles' | 'fixed';

export type RegionLayout = {
  /** Region side in pixels of the finest band. */
  width: number;
  height: number;
  /**
   * Where region borders fall: finest-band pixel offsets from the finest COG's origin, at or
   * before the first window (so region indices are never negative).
   */
  anchorX: number;
  anchorY: number;
  scheme: RegionScheme;
};

export type RegionBand = { name: string; cog: CogInfo };

export type RegionOptions = {
  bands: readonly RegionBand[];
  /** The finest band's COG, the grid's reference. */
  finest: CogInfo;
  windowSize: number;
  stride: number;
  /** Finest-band pixel offset of window (0, 0) from the finest COG's origin. */
  offsetX: number;
  offsetY: number;
  /** Window positions across and down. */
  cols: number;
  rows: number;
  /** Bytes of one window's arrays; the budget divided by it caps the windows of a region. */
  windowBytes: number;
  budgetBytes?: number;
  /** The job's `windows.regionTiles`; absent: chosen here. */
  regionTiles?: number;
};

/** A band's tile grid along one axis, in finest-band pixels: borders at phase + m * period. */
type AxisTiles = { period: number; phase: number };

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const lcm = (a: number, b: number): number => (a / gcd(a, b)) * b;
const mod = (a: number, m: number): number => ((a % m) + m) % m;

function axisTiles(b: RegionBand, finest: CogInfo, axis: 'x' | 'y'): AxisTiles {
  const k = Math.round(b.cog.resX / finest.resX);
  const side = axis === 'x' ? b.cog.tileWidth : b.cog.tileHeight;
  const shift =
    axis === 'x'
      ? Math.round((b.cog.originX - finest.originX) / finest.resX)
      : Math.round((finest.originY - b.cog.originY) / finest.resY);
  const period = side * k;
  return { period, phase: mod(shift, period) };
}

/**
 * The smallest period on which window borders (offset + j * stride) and the tile borders of every
 * given band coincide, and an anchor where they do; null when they never coincide (grids whose
 * phases disagree) or when the period exceeds `limit`.
 */
export function alignedAxis(
  tiles: readonly AxisTiles[],
  stride: number,
  offset: number,
  limit: number,
): { period: number; anchor: number } | null {
  let period = stride;
  for (const t of tiles) {
    period = lcm(period, t.period);
    if (period > limit) return null;
  }
  for (let j = 0; j < period / stride; j++) {
    const a = offset + j * stride;
    if (tiles.every((t) => mod(a - t.phase, t.period) === 0)) {
      // The first border at or before the first window.
      return { period, anchor: a - period * Math.ceil((a - offset) / period) };
    }
  }
  return null;
}

/** Chooses the region size and anchor of one tile's window grid (see RegionScheme). */
export function chooseRegions(o: RegionOptions): RegionLayout {
  const { finest, stride } = o;
  if (o.regionTiles !== undefined) {
    return {
      width: finest.tileWidth * o.regionTiles,
      height: finest.tileHeight * o.regionTiles,
      anchorX: 0,
      anchorY: 0,
      scheme: 'fixed',
    };
  }
  const budget = o.budgetBytes ?? REGION_BUDGET_BYTES;
  const maxWindows = Math.max(1, Math.floor(budget / Math.max(1, o.windowBytes)));
  // A region never needs to be larger than the whole grid (plus one period of slack for the anchor).
  const extentX = o.cols * stride + o.windowSize;
  const extentY = o.rows * stride + o.windowSize;
  const windowsOf = (w: number, h: number) =>
    Math.min(Math.ceil(w / stride), o.cols) * Math.min(Math.ceil(h / stride), o.rows);
  const overlap = o.windowSize > stride;

  const tryBands = (bands: readonly RegionBand[], scheme: RegionScheme): RegionLayout | null => {
    // A period wider than the budget allows can never fit: stop computing multiples there.
    const limit = maxWindows * stride;
    const x = alignedAxis(
      bands.map((b) => axisTiles(b, finest, 'x')),
      stride,
      o.offsetX,
      Math.max(limit, 1),
    );
    const y = alignedAxis(
      bands.map((b) => axisTiles(b, finest, 'y')),
      stride,
      o.offsetY,
      Math.max(limit, 1),
    );
    if (!x || !y || windowsOf(x.period, y.period) > maxWindows) return null;
    // Windows that overlap straddle every border: larger regions (in whole periods) have fewer
    // borders, so grow them to the budget or to the whole grid, whichever comes first.
    let m = 1;
    const grown = (n: number) => windowsOf(n * x.period, n * y.period) <= maxWindows;
    while (
      (overlap || scheme !== 'aligned') &&
      (m * x.period < extentX || m * y.period < extentY) &&
      grown(m + 1)
    )
      m++;
    return {
      width: m * x.period,
      height: m * y.period,
      anchorX: x.anchor,
      anchorY: y.anchor,
      scheme,
    };
  };

  const all = tryBands(o.bands, 'aligned');
  if (all) return all;
  // In ground units: the bands whose tiles are smallest (10 m in 1024 px = 20 m in 512 px).
  const ground = (b: RegionBand) => b.cog.tileWidth * b.cog.resX;
  const smallest = Math.min(...o.bands.map(ground));
  const some = tryBands(
    o.bands.filter((b) => ground(b) === smallest),
    'aligned-finest',
  );
  if (some) return some;
  let n = 1;
  const tilesFit = (k: number) =>
    windowsOf(k * finest.tileWidth, k * finest.tileHeight) <= maxWindows &&
    (k * finest.tileWidth < extentX || k * finest.tileHeight < extentY);
  while (tilesFit(n + 1)) n++;
  return {
    width: n * finest.tileWidth,
    height: n * finest.tileHeight,
    anchorX: 0,
    anchorY: 0,
    scheme: 'tiles',
  };
}

/** Label members per label pixel at most (labels u16, instances u32, coverage and distance f32, masks). */
const LABEL_BYTES_PER_PIXEL = 18;

/**
 * Bytes one window's arrays take in a region worker: every asset (bands and SCL) at its native
 * side for every date, plus the label members on the label grid (`labelSide` px, 0 without labels).
 */
export function windowBytesOf(
  cogs: readonly CogInfo[],
  windowSize: number,
  dates: number,
  labelSide = 0,
): number {
  if (cogs.length === 0) return 0;
  const res = Math.min(...cogs.map((c) => c.resX));
  let bytes = labelSide * labelSide * LABEL_BYTES_PER_PIXEL;
  for (const c of cogs) {
    const side = Math.round((windowSize * res) / c.resX);
    bytes += dates * side * side * (c.bitsPerSample / 8);
  }
  return bytes;
}
