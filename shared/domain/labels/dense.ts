// Dense labels for one grid (DeepSatData §4.1): per pixel the class and instance of the feature
// covering most of it, that feature's coverage, and masks of pixels claimed by two or more features.
import { polygonCoverage } from './coverage.ts';
import type { BurnFeature, PixelGrid } from './types.ts';
import { classUnionAreas } from './union-area.ts';

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
  /**
   * Per class id, the area in pixels of the union of its features' polygons in the grid (overlaps
   * of features of one class count once; see union-area.ts).
   */
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
  // Work is proportional to the pixels the features touch: nothing below walks the whole grid. The
  // outputs (12 bytes a pixel) are the only full-grid arrays, since V8 zero-fills every allocation
  // and on a large sparse grid that fill is most of the cost.
  const labels = new Uint16Array(n);
  if (background !== 0) labels.fill(background);
  const instances = new Uint32Array(n);
  const coverage = new Float32Array(n);
  const claimed = new Uint8Array(n);
  const double = new Uint8Array(n);
  /** Per feature, its own area in the grid: the sum of its coverage. */
  const featureArea = new Float64Array(features.length);
  const best = new BestPages(grid.width, grid.height);

  for (const [k, feature] of features.entries()) {
    const block = polygonCoverage(feature.polygons, grid);
    if (block === null) continue;
    const { col0, row0, width, height, fractions } = block;
    const id = feature.instanceId;
    let area = 0;
    for (let r = 0; r < height; r++) {
      const row = row0 + r;
      const rowOffset = row * grid.width;
      // The block's row, cut where it crosses from one page of `best` into the next.
      for (let c = col0, end = col0 + width; c < end; ) {
        const spanEnd = Math.min(end, (c | PAGE_MASK) + 1);
        const page = best.page(row, c);
        let k = best.offset(row, c);
        for (let i = r * width + c - col0, p = rowOffset + c; p < rowOffset + spanEnd; i++, p++, k++) {
          const f = fractions[i]!;
          if (f <= 0) continue;
          area += f;
          if (claimed[p]! < 255) claimed[p]!++;
          // The sign of `best` records that some feature covers the pixel fully (see BestPages).
          const stored = page[k]!;
          const full = stored < 0 || f >= FULL;
          // Claims and full cover only grow, so the latest verdict is the final one.
          if (claimed[p]! >= 2) double[p] = full ? 2 : 1;
          const current = stored < 0 ? -stored : stored;
          const owner = instances[p]!;
          if (owner === 0 || f > current + TIE || (f >= current - TIE && id < owner)) {
            page[k] = full ? -f : f;
            coverage[p] = f;
            instances[p] = id;
            labels[p] = feature.classId;
          } else if (full && stored > 0) {
            page[k] = -stored;
          }
        }
        c = spanEnd;
      }
    }
    featureArea[k] = area;
  }

  const classArea = classUnionAreas(features, grid, (k) => featureArea[k] as number);
  return { labels, instances, coverage, double, claimed, classArea };
}

/** log2 of the side of a page of `best`: 64 x 64 pixels, 32 KiB. */
const PAGE_BITS = 6;
const PAGE_SIDE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIDE - 1;

/**
 * The winning feature's exact (float64) coverage per pixel, allocated in 64 x 64 pages only where
 * features are burned: ties are decided on the exact value, which the float32 `coverage` output
 * cannot hold. A negative value means that some feature (maybe not the winner) covers the pixel
 * fully; coverages are > 0, so the sign is free. 0 where no feature has claimed the pixel.
 */
class BestPages {
  readonly #pagesPerRow: number;
  readonly #pages: (Float64Array | undefined)[];

  constructor(width: number, height: number) {
    this.#pagesPerRow = Math.ceil(width / PAGE_SIDE);
    this.#pages = new Array<Float64Array | undefined>(this.#pagesPerRow * Math.ceil(height / PAGE_SIDE));
  }

  /** The page holding pixel (col, row), allocated on first use. */
  page(row: number, col: number): Float64Array {
    const at = (row >> PAGE_BITS) * this.#pagesPerRow + (col >> PAGE_BITS);
    let page = this.#pages[at];
    if (page === undefined) {
      page = new Float64Array(PAGE_SIDE * PAGE_SIDE);
      this.#pages[at] = page;
    }
    return page;
  }

  /** Index of pixel (col, row) inside its page. */
  offset(row: number, col: number): number {
    return ((row & PAGE_MASK) << PAGE_BITS) | (col & PAGE_MASK);
  }
}
