// Per-band pixel statistics that regions compute and Commit merges: count, mean and M2 (sum of
// squared deviations) combined with Chan et al.'s parallel formula, so merge order barely matters.
import { z } from 'zod';

/** Mergeable state; plain JSON so a region result can carry it. min/max are null while count is 0. */
export const BandStatsSchema = z.strictObject({
  /** Valid pixels (not nodata, not NaN). */
  count: z.int().min(0),
  /** Pixels skipped as nodata or NaN. */
  skipped: z.int().min(0),
  mean: z.number(),
  m2: z.number().min(0),
  min: z.number().nullable(),
  max: z.number().nullable(),
});
export type BandStats = z.infer<typeof BandStatsSchema>;

export const BandSummarySchema = z.strictObject({
  count: z.int().min(0),
  mean: z.number().nullable(),
  /** Population standard deviation (numpy's default, ddof=0). */
  std: z.number().nullable(),
  min: z.number().nullable(),
  max: z.number().nullable(),
});
export type BandSummary = z.infer<typeof BandSummarySchema>;

export function createBandStats(): BandStats {
  return { count: 0, skipped: 0, mean: 0, m2: 0, min: null, max: null };
}

/**
 * Adds a run of pixel values to `stats` (mutated and returned: this runs in the extraction hot
 * loop). The run is reduced exactly in two passes, then merged in with Chan's formula.
 */
export function addPixels(stats: BandStats, data: ArrayLike<number>, nodata: number | null): BandStats {
  let n = 0;
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v === nodata || Number.isNaN(v)) continue;
    n++;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  stats.skipped += data.length - n;
  if (n === 0) return stats;
  const mean = sum / n;
  let m2 = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v === nodata || Number.isNaN(v)) continue;
    const d = v - mean;
    m2 += d * d;
  }
  return Object.assign(stats, mergeBandStats(stats, { count: n, skipped: 0, mean, m2, min, max }));
}

/** Combines two accumulators (Chan, Golub & LeVeque 1979); neither input changes. */
export function mergeBandStats(a: BandStats, b: BandStats): BandStats {
  const skipped = a.skipped + b.skipped;
  if (b.count === 0) return { ...a, skipped };
  if (a.count === 0) return { ...b, skipped };
  const count = a.count + b.count;
  const delta = b.mean - a.mean;
  const mean = a.mean + (delta * b.count) / count;
  const m2 = a.m2 + b.m2 + (delta * delta * a.count * b.count) / count;
  return {
    count,
    skipped,
    mean,
    m2,
    min: Math.min(a.min!, b.min!),
    max: Math.max(a.max!, b.max!),
  };
}

/** Merges maps of band name → stats, as Commit does with the region results. */
export function mergeBandStatsRecords(
  a: Readonly<Record<string, BandStats>>,
  b: Readonly<Record<string, BandStats>>,
): Record<string, BandStats> {
  const out: Record<string, BandStats> = { ...a };
  for (const [band, stats] of Object.entries(b)) {
    const prior = out[band];
    out[band] = prior === undefined ? { ...stats } : mergeBandStats(prior, stats);
  }
  return out;
}

export function summarize(stats: BandStats): BandSummary {
  if (stats.count === 0) return { count: 0, mean: null, std: null, min: null, max: null };
  return {
    count: stats.count,
    mean: stats.mean,
    std: Math.sqrt(stats.m2 / stats.count),
    min: stats.min,
    max: stats.max,
  };
}
