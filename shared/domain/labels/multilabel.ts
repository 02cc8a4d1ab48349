// Multi-label (BigEarthNet style) targets of a window: the classes covering at least a given
// fraction of it, as a list and as a multi-hot vector, both in class-table order.

/**
 * `classArea` is per class id the covered area in pixels (see DenseLabels.classArea), `totalPixels`
 * the window's pixel count. Class ids missing from `classIds` are ignored (e.g. background).
 */
export function multiLabel(
  classArea: ReadonlyMap<number, number>,
  totalPixels: number,
  classIds: readonly number[],
  minFraction: number,
): { present: number[]; multiHot: Uint8Array } {
  const multiHot = new Uint8Array(classIds.length);
  const present: number[] = [];
  if (totalPixels <= 0) return { present, multiHot };
  classIds.forEach((id, i) => {
    const area = classArea.get(id) ?? 0;
    // An area of zero is never present, even with minFraction 0.
    if (area > 0 && area / totalPixels >= minFraction) {
      multiHot[i] = 1;
      present.push(id);
    }
  });
  return { present, multiHot };
}
