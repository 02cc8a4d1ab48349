// Areas that cross the antimeridian (±180°). In lon/lat an edge from 179.9° to -179.9° is read the
// long way round (RFC 7946 3.1.9), so an area that crosses must be written either with longitudes
// past 180 (179.9 to 180.1) or split into parts that meet at ±180. Everything that handles areas
// in lon/lat (turf's planar tests, STAC `intersects`) wants the split form, within [-180, 180].
import { featureCollection, intersect, polygon, union } from '@turf/turf';

type Position = GeoJSON.Position;
type Ring = Position[];
export type PolygonCoords = Ring[];

const lonOf = (p: Position) => p[0] as number;

/** The largest longitude step between consecutive positions of a ring. */
export function largestLonStep(ring: readonly Position[]): number {
  let step = 0;
  for (let i = 1; i < ring.length; i++)
    step = Math.max(step, Math.abs(lonOf(ring[i] as Position) - lonOf(ring[i - 1] as Position)));
  return step;
}

/**
 * The ring with each position shifted by a multiple of 360° so that it lies within 180° of the one
 * before (the short way across ±180); the first position is shifted to within 180° of `near`.
 */
export function unwrapRing(ring: readonly Position[], near?: number): Ring {
  const out: Ring = [];
  let previous = near;
  for (const p of ring) {
    let lon = lonOf(p);
    if (previous !== undefined) lon += 360 * Math.round((previous - lon) / 360);
    out.push([lon, ...p.slice(1)]);
    previous = lon;
  }
  return out;
}

/** Whether any longitude of the polygons lies outside [-180, 180]. */
export function reachesPastAntimeridian(polygons: readonly PolygonCoords[]): boolean {
  return polygons.some((rings) => rings.some((ring) => ring.some((p) => Math.abs(lonOf(p)) > 180)));
}

function lonRange(polygons: readonly PolygonCoords[]): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const rings of polygons)
    for (const p of rings[0] ?? []) {
      min = Math.min(min, lonOf(p));
      max = Math.max(max, lonOf(p));
    }
  return [min, max];
}

/** Longitude span of the polygons (outer rings), in degrees. */
export function lonSpan(polygons: readonly PolygonCoords[]): number {
  const [min, max] = lonRange(polygons);
  return max > min ? max - min : 0;
}

const shiftRing = (ring: Ring, by: number): Ring =>
  ring.map((p) => {
    let lon = lonOf(p) + by;
    // Clipping puts vertices on ±180 exactly; keep rounding from pushing them a hair outside.
    if (lon > 180 && lon - 180 < 1e-9) lon = 180;
    if (lon < -180 && -180 - lon < 1e-9) lon = -180;
    return [lon, ...p.slice(1)];
  });

/**
 * Polygons whose longitudes may run past ±180 (continuous rings), cut at the antimeridian and
 * brought into [-180, 180]: the parts east of 180 move to -180 and beyond. Polygons already in
 * range are returned as they are; otherwise the parts are merged (overlaps unioned).
 */
export function splitAtAntimeridian(polygons: readonly PolygonCoords[]): PolygonCoords[] {
  if (!reachesPastAntimeridian(polygons)) return polygons.map((rings) => rings.map((r) => [...r]));
  const pieces: PolygonCoords[] = [];
  for (const rings of polygons) {
    const [min, max] = lonRange([rings]);
    // Band k holds longitudes [-180 + 360k, 180 + 360k]; its part moves by -360k.
    const first = Math.floor((min + 180) / 360);
    const last = Math.ceil((max + 180) / 360) - 1;
    for (let k = first; k <= last; k++) {
      const west = -180 + 360 * k;
      if (min >= west && max <= west + 360) {
        pieces.push(rings.map((r) => shiftRing(r, -360 * k)));
        continue;
      }
      const band = polygon([
        [
          [west, -90],
          [west + 360, -90],
          [west + 360, 90],
          [west, 90],
          [west, -90],
        ],
      ]);
      const cut = intersect(featureCollection([polygon(rings), band]));
      if (!cut) continue;
      const parts = cut.geometry.type === 'Polygon' ? [cut.geometry.coordinates] : cut.geometry.coordinates;
      for (const part of parts) pieces.push(part.map((r) => shiftRing(r, -360 * k)));
    }
  }
  if (pieces.length < 2) return pieces;
  const merged = union(featureCollection(pieces.map((p) => polygon(p))));
  if (!merged) return pieces;
  const g = merged.geometry;
  return g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
}

/** Polygon or MultiPolygon of parts: one part is a Polygon. */
export function areaOf(polygons: PolygonCoords[]): GeoJSON.Polygon | GeoJSON.MultiPolygon {
  return polygons.length === 1
    ? { type: 'Polygon', coordinates: polygons[0] as PolygonCoords }
    : { type: 'MultiPolygon', coordinates: polygons };
}

const partsOf = (g: GeoJSON.Polygon | GeoJSON.MultiPolygon): PolygonCoords[] =>
  g.type === 'Polygon' ? [g.coordinates] : g.coordinates;

/**
 * A catalog footprint in the split form. A footprint is at most a few degrees wide, so a ring
 * with an edge longer than 180° of longitude was written across the antimeridian the short way
 * (some catalogs do): it is unwrapped, then split. Footprints that are fine come back unchanged.
 */
export function normalizeFootprint<G extends GeoJSON.Polygon | GeoJSON.MultiPolygon>(
  geometry: G,
): G | GeoJSON.Polygon | GeoJSON.MultiPolygon {
  const parts = partsOf(geometry);
  const wrapped = parts.some((rings) => rings.some((r) => largestLonStep(r) > 180));
  if (!wrapped && !reachesPastAntimeridian(parts)) return geometry;
  const unwrapped = parts.map((rings) => {
    const shell = unwrapRing(rings[0] ?? []);
    const near = shell[0] ? lonOf(shell[0]) : undefined;
    return [shell, ...rings.slice(1).map((h) => unwrapRing(h, near))];
  });
  return areaOf(splitAtAntimeridian(unwrapped));
}

/**
 * Whether an area in the split form has parts on both sides of the antimeridian that meet there
 * (a footprint or AOI across ±180).
 */
export function crossesAntimeridian(geometry: GeoJSON.Polygon | GeoJSON.MultiPolygon): boolean {
  const parts = partsOf(geometry);
  const touches = (edge: number) => parts.some((rings) => (rings[0] ?? []).some((p) => lonOf(p) === edge));
  return touches(180) && touches(-180);
}

/**
 * An area across the antimeridian in one continuous frame (longitudes in [0, 360)), its parts
 * merged: distances to its outline then ignore the cut at ±180. Other areas come back unchanged.
 * `toFrame` maps a lon/lat point into the same frame.
 */
export function continuousFrame(geometry: GeoJSON.Polygon | GeoJSON.MultiPolygon): {
  geometry: GeoJSON.Polygon | GeoJSON.MultiPolygon;
  toFrame: (p: [number, number]) => [number, number];
} {
  if (!crossesAntimeridian(geometry)) return { geometry, toFrame: (p) => p };
  const east = (lon: number) => (lon < 0 ? lon + 360 : lon);
  const shifted = partsOf(geometry).map((rings) =>
    rings.map((r) => r.map((p) => [east(lonOf(p)), ...p.slice(1)])),
  );
  const merged = union(featureCollection(shifted.map((p) => polygon(p))));
  return {
    geometry: merged ? merged.geometry : areaOf(shifted),
    toFrame: ([lon, lat]) => [east(lon), lat],
  };
}
