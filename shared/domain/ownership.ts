// Where tiles overlap, a window belongs to exactly one of them: the tile whose footprint holds the
// window's centre deepest inside (ties: the smaller tile id), so no place is sampled twice.
import { booleanPointInPolygon, pointToPolygonDistance } from '@turf/turf';
import { continuousFrame } from './antimeridian.ts';
import type { AreaGeometry } from './aoi.ts';
import { type Bounds, toWgs84 } from './crs.ts';

/** The owner of a point (lon/lat) among tile footprints; undefined when no footprint holds it. */
export function ownerOf(point: [number, number], footprints: ReadonlyMap<string, AreaGeometry | undefined>) {
  let best: string | undefined;
  let bestDepth = Number.NEGATIVE_INFINITY;
  for (const [t, fp] of [...footprints].sort(([a], [c]) => a.localeCompare(c))) {
    if (!fp) continue;
    // A footprint across ±180 is measured whole, not up to the cut at the antimeridian.
    const { geometry, toFrame } = framed(fp);
    const p = toFrame(point);
    if (!booleanPointInPolygon(p, geometry)) continue;
    const depth = -pointToPolygonDistance(p, geometry);
    if (depth > bestDepth) {
      best = t;
      bestDepth = depth;
    }
  }
  return best;
}

const frames = new WeakMap<AreaGeometry, ReturnType<typeof continuousFrame>>();
function framed(fp: AreaGeometry): ReturnType<typeof continuousFrame> {
  let f = frames.get(fp);
  if (!f) {
    f = continuousFrame(fp);
    frames.set(fp, f);
  }
  return f;
}

/**
 * A filter of a tile's windows (bounds in the tile's CRS `epsg`): true when the tile owns the window.
 * A window whose centre no footprint holds stays with the tile that planned it.
 */
export function tileOwnership(
  tile: string,
  epsg: number,
  footprints: ReadonlyMap<string, AreaGeometry | undefined>,
): (w: unknown, b: Bounds) => boolean {
  return (_w, b) => {
    const owner = ownerOf(toWgs84(epsg, [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2]), footprints);
    return owner === undefined || owner === tile;
  };
}

/**
 * Ownership on a job-wide output grid (bounds in its CRS `epsg`): every tile plans the same grid, so
 * each window goes to exactly one tile, the one whose footprint holds its centre deepest, or, when
 * none holds it, lies nearest (ties: the smaller tile id).
 */
export function outputOwnership(
  tile: string,
  epsg: number,
  footprints: ReadonlyMap<string, AreaGeometry | undefined>,
): (w: unknown, b: Bounds) => boolean {
  return (_w, b) => {
    const point = toWgs84(epsg, [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2]);
    let best: string | undefined;
    let bestDepth = Number.NEGATIVE_INFINITY;
    for (const [t, fp] of [...footprints].sort(([a], [c]) => a.localeCompare(c))) {
      if (!fp) continue;
      const { geometry, toFrame } = framed(fp);
      const p = toFrame(point);
      const distance = pointToPolygonDistance(p, geometry);
      const depth = booleanPointInPolygon(p, geometry) ? Math.abs(distance) : -Math.abs(distance);
      if (depth > bestDepth) {
        best = t;
        bestDepth = depth;
      }
    }
    return best === undefined || best === tile;
  };
}
