// What a region adds up over the windows it writes: per-band pixel statistics (mergeable, see
// band-stats.ts) and per-class label frequencies; Commit merges the regions' sums.
import { addPixels, type BandStats } from './band-stats.ts';
import type { TilePlan } from './plan.ts';
import type { WindowArrays } from './window-arrays.ts';

/** Adds every date of every band of a window, skipping each band's nodata. */
export function addWindowStats(tp: TilePlan, wa: WindowArrays, stats: Record<string, BandStats>): void {
  const T = tp.products.length;
  for (const g of tp.groups) {
    const data = wa.groups.get(g.name) as Uint16Array;
    const C = g.bands.length;
    const n = data.length / (T * C);
    g.bands.forEach((band, c) => {
      const nodata = tp.bands.find((b) => b.name === band)?.nodata ?? null;
      for (let t = 0; t < T; t++) {
        addPixels(stats[band] as BandStats, data.subarray((t * C + c) * n, (t * C + c + 1) * n), nodata);
      }
    });
  }
}

export type ClassFrequency = { pixels: number; samples: number };

/** Per class: label pixels, and one sample for each window where the class appears. */
export function addClassFrequencies(
  into: Record<string, ClassFrequency>,
  classPixels: ReadonlyMap<number, number>,
): void {
  for (const [id, pixels] of classPixels) {
    const entry = into[String(id)] ?? { pixels: 0, samples: 0 };
    entry.pixels += pixels;
    entry.samples += 1;
    into[String(id)] = entry;
  }
}
