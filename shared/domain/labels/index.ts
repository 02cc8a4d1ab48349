// A static spatial index over label features (flatbush over their bounding boxes) for finding the
// polygons near a window, plus the reprojection and chunk codec that move features between steps.
import Flatbush from 'flatbush';
import type { Bounds } from '../crs.ts';
import { ringBounds } from './rings.ts';
import type { LabelFeature } from './types.ts';

export { decodeLabelChunk, encodeLabelChunk } from './chunk.ts';
export { reprojectFeatures } from './reproject.ts';

/**
 * The bounding box of every vertex of the features (holes, footprints and the points and lines they
 * were made from included), in their CRS; an inverted box [Infinity, Infinity, -Infinity, -Infinity]
 * when there is none.
 */
export function featureBounds(features: readonly LabelFeature[]): Bounds {
  const b: Bounds = [Infinity, Infinity, -Infinity, -Infinity];
  for (const f of features) {
    for (const p of f.polygons) for (const ring of p.rings) ringBounds(ring, b);
    for (const part of f.shape?.parts ?? []) ringBounds(part, b);
  }
  return b;
}

export class LabelIndex {
  private readonly features: readonly LabelFeature[];
  private readonly tree: Flatbush | undefined;

  private constructor(features: readonly LabelFeature[], tree: Flatbush | undefined) {
    this.features = features;
    this.tree = tree;
  }

  /** Indexes the features' bounding boxes, in whatever CRS their coordinates are in. */
  static build(features: readonly LabelFeature[]): LabelIndex {
    // Sorted by index once, so search results come out in file order without another sort.
    const sorted = [...features].sort((a, b) => a.index - b.index);
    if (sorted.length === 0) return new LabelIndex(sorted, undefined);
    const tree = new Flatbush(sorted.length);
    for (const f of sorted) {
      const b = featureBounds([f]);
      tree.add(b[0], b[1], b[2], b[3]);
    }
    tree.finish();
    return new LabelIndex(sorted, tree);
  }

  get size(): number {
    return this.features.length;
  }

  /** Features whose bounding box meets `bounds` (edges inclusive), in ascending feature index. */
  search(bounds: Bounds): LabelFeature[] {
    if (!this.tree) return [];
    const hits = this.tree.search(bounds[0], bounds[1], bounds[2], bounds[3]);
    hits.sort((a, b) => a - b);
    return hits.map((i) => this.features[i] as LabelFeature);
  }

  /** The bounding box of all features, or undefined when there are none. */
  bounds(): Bounds | undefined {
    // Flatbush keeps the extent of everything added (Float64Array boxes: exact).
    const t = this.tree;
    return t ? [t.minX, t.minY, t.maxX, t.maxY] : undefined;
  }
}
