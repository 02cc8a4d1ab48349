// Regression targets (labels.target "regression"): per label pixel the coverage-weighted mean of the
// values of the features meeting it, sum(value_i * a_i) / sum(a_i) with a_i the exact area of
// feature i inside the pixel. Normalized by the covered area, not the pixel's: a pixel half covered
// by one parcel of value 6 holds 6, not 3. NaN where no feature meets the pixel.
import { z } from 'zod';
import { polygonCoverage } from './coverage.ts';
import type { PixelGrid, PolygonRings } from './types.ts';

export type RegressionFeature = { readonly value: number; readonly polygons: readonly PolygonRings[] };

export type RegressionRaster = {
  /** The weighted mean per pixel, NaN where no feature meets it. */
  readonly value: Float32Array;
  /**
   * sum(a_i) / pixel area: the share of the pixel the mean is taken over. Where features do not
   * overlap (parcels) it is the covered share, at most 1; overlapping features each count.
   */
  readonly coverage: Float32Array;
  /** Per feature (in the order given), whether it covers a positive area of some pixel: its value is in the raster. */
  readonly met: readonly boolean[];
};

export function rasterizeRegression(
  features: readonly RegressionFeature[],
  grid: PixelGrid,
): RegressionRaster {
  const n = grid.width * grid.height;
  // Sums in float64: only the results are rounded to float32.
  const weighted = new Float64Array(n);
  const area = new Float64Array(n);
  const met = features.map(() => false);
  for (const [k, f] of features.entries()) {
    const block = polygonCoverage(f.polygons, grid);
    if (block === null) continue;
    const { col0, row0, width, height, fractions } = block;
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const a = fractions[r * width + c] as number;
        if (a <= 0) continue;
        const p = (row0 + r) * grid.width + col0 + c;
        weighted[p] = (weighted[p] as number) + f.value * a;
        area[p] = (area[p] as number) + a;
        met[k] = true;
      }
    }
  }
  const value = new Float32Array(n);
  const coverage = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    const a = area[p] as number;
    value[p] = a > 0 ? (weighted[p] as number) / a : Number.NaN;
    coverage[p] = a;
  }
  return { value, coverage, met };
}

/** The values of some pixels, to be merged across windows, regions and splits. */
export const RegressionSummarySchema = z.strictObject({
  /** Samples and non-NaN pixels counted. */
  samples: z.int().min(0),
  pixels: z.int().min(0),
  /** Sum of the pixels' float32 values, in float64. */
  sum: z.number(),
  /** Least and greatest value (as written, float32), null when no pixel has one. */
  min: z.number().nullable(),
  max: z.number().nullable(),
});
export type RegressionSummary = z.infer<typeof RegressionSummarySchema>;

export function emptyRegressionSummary(): RegressionSummary {
  return { samples: 0, pixels: 0, sum: 0, min: null, max: null };
}

/** Adds one sample's regression.npy to `into` (NaN pixels have no value and are left out). */
export function addRegressionSample(into: RegressionSummary, value: Float32Array): void {
  into.samples++;
  for (const v of value) {
    if (Number.isNaN(v)) continue;
    into.pixels++;
    into.sum += v;
    if (into.min === null || v < into.min) into.min = v;
    if (into.max === null || v > into.max) into.max = v;
  }
}

export function mergeRegressionSummaries(parts: readonly RegressionSummary[]): RegressionSummary {
  const out = emptyRegressionSummary();
  for (const s of parts) {
    out.samples += s.samples;
    out.pixels += s.pixels;
    out.sum += s.sum;
    if (s.min !== null && (out.min === null || s.min < out.min)) out.min = s.min;
    if (s.max !== null && (out.max === null || s.max > out.max)) out.max = s.max;
  }
  return out;
}
