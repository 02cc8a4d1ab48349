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
    const left = excludedPixels(wa.scl, excludedScl, inside, T, side);
    g.bands.forEach((band, c) => {
      const h = histograms[band] as Histogram;
      const nodata = tp.bands.find((b) => b.name === band)?.nodata ?? null;
      for (let t = 0; t < T; t++) {
        const base = (t * C + c) * n;
        const out = left === null ? null : left.subarray(t * n, (t + 1) * n);
        for (let i = 0; i < n; i++) {
          const v = data[base + i] as number;
          if (v === nodata || (out !== null && out[i] === 1)) continue;
          h[v]!++;
        }
      }
    });
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
  const useScl = scl !== null && excludedScl.length > 0;
  if (!useScl && inside === null) return null;
  const n = side * side;
  const out = new Uint8Array(T * n);
  if (inside !== null) {
    // Outside unless every finest-grid pixel under the band pixel is inside.
    const fine = Math.round(Math.sqrt(inside.length));
    const outside = new Uint8Array(n);
    for (let r = 0; r < side; r++) {
      const [r0, r1] = overlappingCells(r, side, fine);
      for (let c = 0; c < side; c++) {
        const [c0, c1] = overlappingCells(c, side, fine);
        outside[r * side + c] = anyIs(inside, fine, r0, r1, c0, c1, (v) => v === 0) ? 1 : 0;
      }
    }
    for (let t = 0; t < T; t++) out.set(outside, t * n);
  }
  if (useScl) {
    const excluded = new Uint8Array(256);
    for (const k of excludedScl) excluded[k] = 1;
    const sS = Math.round(Math.sqrt(scl.length / T));
    const m = sS * sS;
    const cells = Array.from({ length: side }, (_, i) => overlappingCells(i, side, sS));
    for (let t = 0; t < T; t++) {
      const date = scl.subarray(t * m, (t + 1) * m);
      for (let r = 0; r < side; r++) {
        const [r0, r1] = cells[r] as [number, number];
        for (let c = 0; c < side; c++) {
          const [c0, c1] = cells[c] as [number, number];
          if (anyIs(date, sS, r0, r1, c0, c1, (v) => excluded[v] === 1)) out[t * n + r * side + c] = 1;
        }
      }
    }
  }
  return out;
}

function anyIs(
  grid: Uint8Array,
  side: number,
  r0: number,
  r1: number,
  c0: number,
  c1: number,
  test: (v: number) => boolean,
): boolean {
  for (let r = r0; r < r1; r++) {
    for (let c = c0; c < c1; c++) if (test(grid[r * side + c] as number)) return true;
  }
  return false;
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
