// The classification target of a window (`<key>.cls`, labels.outputs "cls"): the class whose
// features cover most of the window, by exact area (the union of the class's polygons inside the
// window, as multi-labels use: overlapping features of one class count once).

/** Areas closer than this (in label pixels) are a tie, so that float rounding never decides. */
const TIE = 1e-9;

/**
 * `classArea`: per class id, the union area in pixels (DenseLabels.classArea); `classIds`: the
 * table's ids in training order. Ties go to the class that comes first in `classIds` (the lower
 * training index). Features burnt with the ignore index (not in `classIds`) and the background
 * never win; null when no class covers any of the window.
 */
export function windowClass(
  classArea: ReadonlyMap<number, number>,
  classIds: readonly number[],
): { id: number; area: number } | null {
  let best: { id: number; area: number } | null = null;
  for (const id of classIds) {
    const area = classArea.get(id) ?? 0;
    if (area <= 0) continue;
    if (best === null || area > best.area + TIE) best = { id, area };
  }
  return best;
}
