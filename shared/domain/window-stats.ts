// What a region adds up over the windows it writes: per-band histograms of the pixels that count
// for the statistics (see band-stats.ts) and per-class label frequencies; Commit merges the sums.
//
// Which band pixels count: not the band's nodata, inside the imagery (padded windows), and, when the
// window has SCL, no SCL pixel overlapping the band pixel is in `excludedScl`. Band and SCL grids of a
// window are aligned and cover the same square, so band pixel i (of sB per side) overlaps SCL pixels
// floor(i * sS / sB) .. ceil((i + 1) * sS / sB) - 1 (of sS per side) in each direction: one SCL pixel
// for a 10 m or 20 m band over 20 m SCL (the one covering it), 3 x 3 for a 60 m band, which is left
// out when any of the nine is excluded (a 60 m pixel with some cloud in it is not cloud-free).
import { createHistogram, type Histogram } from './band-stats.ts';
import type { TilePlan } from './plan.ts';
import type { WindowArrays } from './window-arrays.ts';

/** Per band the histogram the region fills (every band of the tile plan). */
export function createBandHistograms(tp: TilePlan): Record<string, Histogram> {
  return Object.fromEntries(tp.bands.map((b) => [b.name, createHistogram()]));
}

/** First and last-plus-one index of the cells of an `outer`-per-side grid overlapping cell i of an `inner`-per-side grid over the same extent. */
export function overlappingCells(i: number, inner: number, outer: number): [number, number] {
  return [Math.floor((i * outer) / inner), Math.ceil(((i + 1) * outer) / inner)];
}

/**
 * Adds every date of every band of a window to the band's histogram, leaving out nodata, pixels
 * outside the imagery (`inside`: the window's valid mask on the finest grid, null when it is all
 * inside) and, when the window has SCL, pixels overlapping an SCL pixel of an `excludedScl` class.
 */
export function addWindowStats(
  tp: TilePlan,
  wa: WindowArrays,
  histograms: Readonly<Record<string, Histogram>>,
  excludedScl: readonly number[],
  inside: Uint8Array | null = null,
): void {
  const T = tp.products.length;
  for (const g of tp.groups) {
    const data = wa.groups.get(g.name) as Uint16Array;
    const C = g.bands.length;
    const n = data.length / (T * C);
    const side = Math.round(Math.sqrt(n));
    // One date's mask at a time, in a scratch array: nothing allocated per window.
    const left = excludedMask(wa.scl, excludedScl, inside, T, side);
    const hs = g.bands.map((band) => histograms[band] as Histogram);
    // Stored values are 0..65535: -1 never matches, so "no nodata" needs no second test.
    const nodata = g.bands.map((band) => tp.bands.find((b) => b.name === band)?.nodata ?? -1);
    for (let t = 0; t < T; t++) {
      // null: nothing left out on this date.
      const out = left === null ? null : left.dateMask(t);
      for (let c = 0; c < C; c++) {
        const base = (t * C + c) * n;
        if (out === null) countAll(hs[c] as Histogram, data, base, n, nodata[c] as number);
        else countKept(hs[c] as Histogram, data, base, n, nodata[c] as number, out);
      }
    }
  }
}

function countAll(h: Histogram, data: Uint16Array, base: number, n: number, nodata: number): void {
  for (let i = base; i < base + n; i++) {
    const v = data[i]!;
    if (v !== nodata) h[v]!++;
  }
}

function countKept(
  h: Histogram,
  data: Uint16Array,
  base: number,
  n: number,
  nodata: number,
  out: Uint8Array,
): void {
  for (let i = 0; i < n; i++) {
    const v = data[base + i]!;
    if (v !== nodata && out[i] === 0) h[v]!++;
  }
}

/**
 * [T, side, side] with 1 where a band pixel of this side is left out for SCL or for lying outside
 * the imagery; null when nothing is.
 */
export function excludedPixels(
  scl: Uint8Array | null,
  excludedScl: readonly number[],
  inside: Uint8Array | null,
  T: number,
  side: number,
): Uint8Array | null {
  const mask = excludedMask(scl, excludedScl, inside, T, side);
  if (mask === null) return null;
  const n = side * side;
  const out = new Uint8Array(T * n);
  for (let t = 0; t < T; t++) {
    const date = mask.dateMask(t);
    if (date !== null) out.set(date, t * n);
  }
  return out;
}

/**
 * The excluded pixels of a window, one date at a time: a view of scratch memory, valid until the
 * next call, or null when no pixel of the date is excluded.
 */
type ExcludedMask = { dateMask(t: number): Uint8Array | null };

/**
 * The cells of an `outer`-per-side grid each cell of an `inner`-per-side grid overlaps (both over
 * the same square), as row-major lists: cells[starts[i] .. starts[i + 1]) for inner cell i. A pure
 * function of the two sides, so made once per pair and kept.
 */
type CellMap = { starts: Int32Array; cells: Int32Array; one: boolean };
const cellMaps = new Map<number, CellMap>();

function cellMap(inner: number, outer: number): CellMap {
  const key = inner * 65_536 + outer;
  let map = cellMaps.get(key);
  if (map !== undefined) return map;
  const spans = Array.from({ length: inner }, (_, i) => overlappingCells(i, inner, outer));
  const starts = new Int32Array(inner * inner + 1);
  const cells: number[] = [];
  for (let r = 0; r < inner; r++) {
    const [r0, r1] = spans[r] as [number, number];
    for (let c = 0; c < inner; c++) {
      const [c0, c1] = spans[c] as [number, number];
      for (let y = r0; y < r1; y++) for (let x = c0; x < c1; x++) cells.push(y * outer + x);
      starts[r * inner + c + 1] = cells.length;
    }
  }
  map = { starts, cells: Int32Array.from(cells), one: cells.length === inner * inner };
  cellMaps.set(key, map);
  return map;
}

// Scratch for the masks: grown when a window needs more, reused by every window after.
let outsideScratch: Uint8Array = new Uint8Array(0);
let dateScratch: Uint8Array = new Uint8Array(0);
const excludedClass = new Uint8Array(256);

function scratch(current: Uint8Array, n: number): Uint8Array {
  return current.length >= n ? current : new Uint8Array(Math.max(n, current.length * 2));
}

function excludedMask(
  scl: Uint8Array | null,
  excludedScl: readonly number[],
  inside: Uint8Array | null,
  T: number,
  side: number,
): ExcludedMask | null {
  const useScl = scl !== null && excludedScl.length > 0;
  if (!useScl && inside === null) return null;
  const n = side * side;
  outsideScratch = scratch(outsideScratch, n);
  dateScratch = scratch(dateScratch, n);
  const outside = outsideScratch.subarray(0, n);
  const date = dateScratch.subarray(0, n);
  let anyOutside = 0;
  if (inside === null) outside.fill(0);
  else {
    // Outside unless every finest-grid pixel under the band pixel is inside.
    const { starts, cells } = cellMap(side, Math.round(Math.sqrt(inside.length)));
    for (let i = 0; i < n; i++) {
      let out = 0;
      for (let k = starts[i]!; k < starts[i + 1]!; k++) out |= inside[cells[k]!]! === 0 ? 1 : 0;
      outside[i] = out;
      anyOutside |= out;
    }
  }
  if (!useScl) return { dateMask: () => (anyOutside ? outside : null) };
  excludedClass.fill(0);
  for (const k of excludedScl) excludedClass[k] = 1;
  const m = scl.length / T;
  const map = cellMap(side, Math.round(Math.sqrt(m)));
  return {
    dateMask(t) {
      // excludedClass is read here, not copied: every mask is used before the next window's call.
      const any = map.one
        ? sclMaskOne(date, outside, scl, t * m, map.cells, n)
        : sclMaskAny(date, outside, scl, t * m, map, n);
      return any ? date : null;
    },
  };
}

/** Each band pixel over exactly one SCL pixel (a band at the SCL resolution or finer); 1 if any is out. */
function sclMaskOne(
  date: Uint8Array,
  outside: Uint8Array,
  scl: Uint8Array,
  base: number,
  cells: Int32Array,
  n: number,
): number {
  let any = 0;
  for (let i = 0; i < n; i++) {
    const out = outside[i]! | excludedClass[scl[base + cells[i]!]!]!;
    date[i] = out;
    any |= out;
  }
  return any;
}

/** Band pixels over several SCL pixels (a coarser band): out when any of them is excluded; 1 if any is out. */
function sclMaskAny(
  date: Uint8Array,
  outside: Uint8Array,
  scl: Uint8Array,
  base: number,
  map: CellMap,
  n: number,
): number {
  const { starts, cells } = map;
  let any = 0;
  for (let i = 0; i < n; i++) {
    let out = outside[i]!;
    for (let k = starts[i]!; k < starts[i + 1]!; k++) out |= excludedClass[scl[base + cells[k]!]!]!;
    date[i] = out;
    any |= out;
  }
  return any;
}

export type ClassFrequency = { pixels: number; samples: number };

/** Per class (the background included): label pixels, and one sample for each window where it appears. */
export function addClassFrequencies(
  into: Record<string, ClassFrequency>,
  classPixels: ReadonlyMap<number, number>,
): void {
  for (const [id, pixels] of classPixels) {
    if (pixels === 0) continue;
    const entry = into[String(id)] ?? { pixels: 0, samples: 0 };
    entry.pixels += pixels;
    entry.samples += 1;
    into[String(id)] = entry;
  }
}

/** The rule above in words, for the manifest's `stats.pixels`. */
export const STATS_PIXELS =
  "not the band's nodata, inside the imagery, and no SCL pixel overlapping the band pixel in excludedScl " +
  '(a band at the SCL resolution or finer: the SCL pixel covering it; a coarser band, e.g. 60 m over 20 m SCL: any of the 3 x 3 it overlaps)';
