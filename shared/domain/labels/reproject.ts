// Moves label features between CRSs vertex by vertex (parcels are small: no densifying needed);
// points and lines move with them, and are buffered only afterwards, in the metric CRS (buffer.ts).
import { transformFlat } from '../crs.ts';
import type { LabelFeature } from './types.ts';

/** The features with every ring transformed from `fromEpsg` to `toEpsg` (the same objects when equal). */
export function reprojectFeatures(
  features: readonly LabelFeature[],
  fromEpsg: number,
  toEpsg: number,
): LabelFeature[] {
  if (fromEpsg === toEpsg) return [...features];
  return features.map((f) => ({
    ...f,
    polygons: f.polygons.map((p) => ({ rings: p.rings.map((r) => transformFlat(r, fromEpsg, toEpsg)) })),
    ...(f.shape
      ? {
          shape: {
            kind: f.shape.kind,
            parts: f.shape.parts.map((part) => transformFlat(part, fromEpsg, toEpsg)),
          },
        }
      : {}),
  }));
}
