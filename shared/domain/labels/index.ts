// A static spatial index over label features (flatbush over their bounding boxes) for finding the
// polygons near a window, plus the reprojection and chunk codec that move features between steps.
import Flatbush from 'flatbush';
import type { Bounds } from '../crs.ts';
import { ringBounds } from './rings.ts';
import type { LabelFeature } from './types.ts';

export { decodeLabelChunk, encodeLabelChunk } from './chunk.ts';
export { reprojectFeature, reprojectFeatures } from './reproject.ts';

export class LabelIndex {
  private readonly features: readonly LabelFeature[];
  private readonly tree: Flatbush | undefined;
  private readonly extent: Bounds | undefined;

  private constructor(
    features: readonly LabelFeature[],
    tree: Flatbush | undefined,
    extent: Bounds | undefined,
  ) {
    this.features = features;
    this.tree = tree;
    this.extent = extent;
  }

  /** Indexes the features' bounding boxes, in whatever CRS their coordinates are in. */
  static build(features: readonly LabelFeature[]): LabelIndex {
    // Sorted by index once, so search results come out in file order without another sort.
    const sorted = [...features].sort((a, b) => a.index - b.index);
    if (sorted.length === 0) return new LabelIndex(sorted, undefined, undefined);
    const tree = new Flatbush(sorted.length);
    const extent: Bounds = [Infinity, Infinity, -Infinity, -Infinity];
    for (const f of sorted) {
      const b = featureBox(f);
      tree.add(b[0], b[1], b[2], b[3]);
      extent[0] = Math.min(extent[0], b[0]);
      extent[1] = Math.min(extent[1], b[1]);
      extent[2] = Math.max(extent[2], b[2]);
      extent[3] = Math.max(extent[3], b[3]);
    }
    tree.finish();
    return new LabelIndex(sorted, tree, extent);
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
    return this.extent ? [...this.extent] : undefined;
  }
}

function featureBox(f: LabelFeature): Bounds {
  const b: Bounds = [Infinity, Infinity, -Infinity, -Infinity];
  for (const p of f.polygons) {
    const outer = p.rings[0];
    if (!outer) continue;
    // Holes lie inside their outer ring: its box is the polygon's.
    const r = ringBounds(outer);
    b[0] = Math.min(b[0], r[0]);
    b[1] = Math.min(b[1], r[1]);
    b[2] = Math.max(b[2], r[2]);
    b[3] = Math.max(b[3], r[3]);
  }
  return b;
}
