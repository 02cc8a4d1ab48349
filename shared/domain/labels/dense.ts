// Dense labels for one grid (DeepSatData §4.1): per pixel the class and instance of the feature
// covering most of it, that feature's coverage, and masks of pixels claimed by two or more features.
import { polygonCoverage } from './coverage.ts';
import type { BurnFeature, PixelGrid } from './types.ts';

export type DenseLabels = {
  /** Class id of the winning feature, `background` where no feature covers any of the pixel. */
  readonly labels: Uint16Array;
  /** Instance id of the winning feature, 0 where none. */
  readonly instances: Uint32Array;
  /** The winning feature's coverage fraction, 0 where none. */
  readonly coverage: Float32Array;
  /** 0 ok, 1 partly claimed by 2+ features (none covers it fully), 2 fully covered by one and claimed by another. */
  readonly double: Uint8Array;
  /** How many features cover part of the pixel, saturating at 255. */
  readonly claimed: Uint8Array;
  /** Per class id, the sum over pixels of its features' coverage (in pixels; overlaps count twice). */
  readonly classArea: Map<number, number>;
};

/** Coverages closer than this are a tie (rounding noise must not decide a pixel's class). */
const TIE = 1e-12;
/** A feature covers a pixel fully from here on. */
const FULL = 1 - 1e-9;

/**
 * Rasterizes features with exact coverage. The class of a pixel is that of the feature with the
 * largest coverage in it; ties go to the lowest instance id, so the result does not depend on order.
 */
export function rasterizeDense(
  features: readonly BurnFeature[],
  grid: PixelGrid,
  background: number,
): DenseLabels {
  const n = grid.width * grid.height;
  // Work is proportional to the pixels the features touch: nothing below walks the whole grid
  // (zeroed typed arrays are cheap), so a large sparse grid costs little more than a small one.
  const labels = new Uint16Array(n);
  if (background !== 0) labels.fill(background);
  const instances = new Uint32Array(n);
  const best = new Float64Array(n);
  const coverage = new Float32Array(n);
  const claimed = new Uint8Array(n);
  const full = new Uint8Array(n);
  const double = new Uint8Array(n);
  const classArea = new Map<number, number>();

  for (const feature of features) {
    const block = polygonCoverage(feature.polygons, grid);
    if (block === null) continue;
    const { col0, row0, width, height, fractions } = block;
    const id = feature.instanceId;
    let area = 0;
    for (let r = 0; r < height; r++) {
      const rowOffset = (row0 + r) * grid.width + col0;
      for (let c = 0, i = r * width; c < width; c++, i++) {
        const f = fractions[i]!;
        if (f <= 0) continue;
        const p = rowOffset + c;
        area += f;
        if (claimed[p]! < 255) claimed[p]!++;
        if (f >= FULL) full[p] = 1;
        // Claims and full cover only grow, so the latest verdict is the final one.
        if (claimed[p]! >= 2) double[p] = full[p] === 1 ? 2 : 1;
        const current = best[p]!;
        const owner = instances[p]!;
        if (owner === 0 || f > current + TIE || (f >= current - TIE && id < owner)) {
          best[p] = f;
          coverage[p] = f;
          instances[p] = id;
          labels[p] = feature.classId;
        }
      }
    }
    if (area > 0) classArea.set(feature.classId, (classArea.get(feature.classId) ?? 0) + area);
  }

  return { labels, instances, coverage, double, claimed, classArea };
}
