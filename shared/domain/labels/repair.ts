// Repairs self-intersecting polygons like GEOS buffer(0) would for parcels: every ring is split at
// its crossings into simple pieces (turf unkink), shells are merged and holes cut out of them.
import { difference, featureCollection, polygon, union, unkinkPolygon } from '@turf/turf';
import { closedPositions } from './rings.ts';
import type { PolygonRings, Ring } from './types.ts';

type Area = GeoJSON.Feature<GeoJSON.Polygon | GeoJSON.MultiPolygon>;

function simplePieces(ring: Ring): Area[] {
  return unkinkPolygon(polygon([closedPositions(ring)])).features;
}

function merge(pieces: Area[]): Area | null {
  if (pieces.length === 0) return null;
  if (pieces.length === 1) return pieces[0] as Area;
  return union(featureCollection(pieces));
}

/** The repaired polygon as GeoJSON coordinates (possibly several parts), or null when nothing is left. */
export function repairPolygon(part: PolygonRings): GeoJSON.Position[][][] | null {
  const [shell, ...holes] = part.rings;
  if (!shell) return null;
  let result = merge(simplePieces(shell));
  const cut = merge(holes.flatMap(simplePieces));
  if (result && cut) result = difference(featureCollection([result, cut]));
  if (!result) return null;
  const g = result.geometry;
  return g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
}
