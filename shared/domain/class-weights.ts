// Suggested loss weights per class id from the train split's label pixel counts (the background
// included): inverse frequency and median frequency balancing (Eigen & Fergus 2015).

export type ClassCount = { readonly id: number; readonly pixels: number; readonly samples: number };

export type ClassWeights = {
  ids: number[];
  pixels: number[];
  /** N / (K * n_c): N label pixels, K ids with n_c > 0; the pixel-weighted mean weight is 1. */
  inverseFrequency: (number | null)[];
  /**
   * median(f) / f_c with f_c = n_c / (S_c * P): S_c samples where c appears, P label pixels per
   * sample, the median over the ids with n_c > 0 (numpy's: the mean of the middle two when even).
   */
  medianFrequency: (number | null)[];
};

/**
 * Weights for `counts` (one entry per id, in the order given). An id with no pixel gets null in
 * both lists: no finite weight exists for a class the split never shows.
 */
export function classWeights(counts: readonly ClassCount[], pixelsPerSample: number): ClassWeights {
  const present = counts.filter((c) => c.pixels > 0);
  const total = present.reduce((n, c) => n + c.pixels, 0);
  const freq = (c: ClassCount) => c.pixels / (c.samples * pixelsPerSample);
  const sorted = present.map(freq).sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length === 0
      ? 0
      : sorted.length % 2 === 1
        ? (sorted[mid] as number)
        : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return {
    ids: counts.map((c) => c.id),
    pixels: counts.map((c) => c.pixels),
    inverseFrequency: counts.map((c) => (c.pixels > 0 ? total / (present.length * c.pixels) : null)),
    medianFrequency: counts.map((c) => (c.pixels > 0 ? median / freq(c) : null)),
  };
}
