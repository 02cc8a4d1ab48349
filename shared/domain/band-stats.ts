// Per-band pixel statistics as exact histograms of the stored uint16 values: regions count, Commit
// adds the counts up (order cannot matter: integer sums) and reads count, mean, std, min, max and
// percentiles off the merged histogram, exactly as numpy computes them over the same pixels.
import { z } from 'zod';

/** One bin per uint16 value. */
export const HISTOGRAM_BINS = 65_536;

/**
 * Pixel count per stored value. Float64 holds whole counts exactly up to 2^53, which a Uint32 bin
 * could overflow on a large region (8 x 8 tiles of 1024 px x 100 dates is 6.7e9 pixels).
 */
export type Histogram = Float64Array;

export function createHistogram(): Histogram {
  return new Float64Array(HISTOGRAM_BINS);
}

/**
 * The sparse form a region result carries (a work file: most of the 65,536 bins are empty, and a
 * dense array would make every result ~1 MB): the non-empty bins in ascending value order as one
 * string of comma-separated whole numbers `v0,c0,d1,c1,d2,c2,...`, where v0 is the first value, each
 * d the step from the previous value (>= 1) and each c a count (>= 1). Reflectances cluster, so steps
 * are mostly 1-2 digits; a string, not an array, so that the work file's indented JSON keeps it on
 * one line (~55 KB for a band of 600,000 cloudy and clear pixels with 11,700 distinct values).
 */
export const SparseHistogramSchema = z
  .string()
  .regex(/^(\d+(,\d+)*)?$/, 'comma-separated whole numbers')
  .refine(
    (s) => decodeSparse(s) !== null,
    'an even count of entries: values ascending within 0..65535 (first value, then steps >= 1), counts >= 1',
  );
export type SparseHistogram = z.infer<typeof SparseHistogramSchema>;

export function encodeHistogram(h: Histogram): SparseHistogram {
  const out: number[] = [];
  let previous = -1;
  for (let v = 0; v < HISTOGRAM_BINS; v++) {
    const c = h[v] as number;
    if (c === 0) continue;
    out.push(previous < 0 ? v : v - previous, c);
    previous = v;
  }
  return out.join(',');
}

/** [value, count, value, count, ...] of a sparse histogram; null when it is not one. */
function decodeSparse(sparse: string): number[] | null {
  if (sparse === '') return [];
  if (!/^\d+(,\d+)*$/.test(sparse)) return null;
  const a = sparse.split(',').map(Number);
  if (a.length % 2 !== 0) return null;
  let value = -1;
  for (let i = 0; i < a.length; i += 2) {
    const step = a[i] as number;
    const count = a[i + 1] as number;
    if (!Number.isSafeInteger(step) || !Number.isSafeInteger(count) || count < 1 || (i > 0 && step < 1))
      return null;
    value = i === 0 ? step : value + step;
    if (value >= HISTOGRAM_BINS) return null;
    a[i] = value;
  }
  return a;
}

/** Adds a sparse histogram's counts into a dense one (the merge: counts add, nothing else). */
export function addSparse(into: Histogram, sparse: SparseHistogram): Histogram {
  const a = decodeSparse(sparse);
  if (a === null) throw new RangeError(`not a sparse histogram: ${sparse.slice(0, 40)}`);
  for (let i = 0; i < a.length; i += 2) into[a[i] as number]! += a[i + 1] as number;
  return into;
}

/** The percentiles every band summary reports. */
export const PERCENTILES = [1, 2, 50, 98, 99] as const;

const nullableNumber = z.number().nullable();

/** What the manifest gives per band; every field but count is null when no pixel was counted. */
export const BandSummarySchema = z.strictObject({
  count: z.int().min(0).describe('Pixels counted'),
  mean: nullableNumber.describe('Mean; null when no pixel counted'),
  /** Population standard deviation (numpy's default, ddof=0). */
  std: nullableNumber.describe("Population standard deviation (numpy's default, ddof=0)"),
  min: nullableNumber.describe('Smallest value'),
  max: nullableNumber.describe('Largest value'),
  /** numpy.percentile(values, p) with its default method, "linear" (see percentileOf). */
  p1: nullableNumber.describe('1st percentile (numpy.percentile, method "linear")'),
  p2: nullableNumber.describe('2nd percentile'),
  p50: nullableNumber.describe('Median'),
  p98: nullableNumber.describe('98th percentile'),
  p99: nullableNumber.describe('99th percentile'),
});
export type BandSummary = z.infer<typeof BandSummarySchema>;

export function summarizeHistogram(h: Histogram): BandSummary {
  let count = 0;
  let sum = 0;
  let min = -1;
  let max = -1;
  for (let v = 0; v < HISTOGRAM_BINS; v++) {
    const c = h[v] as number;
    if (c === 0) continue;
    if (min < 0) min = v;
    max = v;
    count += c;
    // Whole numbers below 2^53 (65535 x 1.4e11 pixels): the sum is exact.
    sum += v * c;
  }
  if (count === 0) {
    return {
      count: 0,
      mean: null,
      std: null,
      min: null,
      max: null,
      p1: null,
      p2: null,
      p50: null,
      p98: null,
      p99: null,
    };
  }
  const mean = sum / count;
  let m2 = 0;
  for (let v = min; v <= max; v++) {
    const c = h[v] as number;
    if (c !== 0) m2 += c * (v - mean) * (v - mean);
  }
  const [p1, p2, p50, p98, p99] = PERCENTILES.map((p) => percentileOf(h, count, p)) as [
    number,
    number,
    number,
    number,
    number,
  ];
  return { count, mean, std: Math.sqrt(m2 / count), min, max, p1, p2, p50, p98, p99 };
}

/**
 * numpy.percentile(values, p) with method "linear" (numpy's default; Hyndman & Fan type 7), computed
 * the way numpy 1.22+ computes it so that the results are bit-identical: with the values sorted
 * (x[0..n-1]), h = (n - 1) * (p / 100), i = floor(h), t = h - i; the result is x[n-1] when h >= n - 1,
 * else a + (b - a) * t with a = x[i], b = x[i + 1], evaluated as b - (b - a) * (1 - t) when t >= 0.5
 * (numpy's _lerp). `count` is the histogram's total (> 0).
 */
export function percentileOf(h: Histogram, count: number, p: number): number {
  const virtual = (count - 1) * (p / 100);
  if (virtual >= count - 1) return orderStatistic(h, count - 1);
  const i = Math.floor(virtual);
  const t = virtual - i;
  const a = orderStatistic(h, i);
  const b = orderStatistic(h, i + 1);
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** The k-th smallest counted value (0-based). */
function orderStatistic(h: Histogram, k: number): number {
  let seen = 0;
  for (let v = 0; v < HISTOGRAM_BINS; v++) {
    seen += h[v] as number;
    if (seen > k) return v;
  }
  throw new RangeError(`order statistic ${k} of a histogram of ${seen} values`);
}

/**
 * The dataset's band statistics from the regions' train histograms (whole counts: the order
 * cannot matter), for the bands given. Commit writes them as manifest stats.bands; PlanShards
 * takes the quicklook stretch from the same numbers.
 */
export function mergedBandSummaries(
  regionStats: ReadonlyArray<Readonly<Record<string, SparseHistogram>>>,
  bands: readonly string[],
): Record<string, BandSummary> {
  const histograms = new Map<string, Histogram>();
  for (const stats of regionStats) {
    for (const [band, sparse] of Object.entries(stats)) {
      histograms.set(band, addSparse(histograms.get(band) ?? createHistogram(), sparse));
    }
  }
  return Object.fromEntries(
    bands.map((b) => [b, summarizeHistogram(histograms.get(b) ?? createHistogram())]),
  );
}
