// Moves label features between CRSs vertex by vertex (parcels are small: no densifying needed).
import { transformFlat } from '../crs.ts';
import type { LabelFeature } from './types.ts';

/** The feature with every ring transformed from `fromEpsg` to `toEpsg`. */
export function reprojectFeature(feature: LabelFeature, fromEpsg: number, toEpsg: number): LabelFeature {
  if (fromEpsg === toEpsg) return feature;
  return {
    ...feature,
    polygons: feature.polygons.map((p) => ({
      rings: p.rings.map((r) => transformFlat(r, fromEpsg, toEpsg)),
    })),
  };
}

export function reprojectFeatures(
  features: readonly LabelFeature[],
  fromEpsg: number,
  toEpsg: number,
): LabelFeature[] {
  return features.map((f) => reprojectFeature(f, fromEpsg, toEpsg));
}
