// The real parcel fixtures (native CRS, metres) as label-engine polygons, for the oracle test and
// the label bench. A tiny GeoJSON reader: Polygon / MultiPolygon only, closing vertex dropped.
import { readFileSync } from 'node:fs';
import type { PixelGrid, PolygonRings, Ring } from '../../shared/domain/labels/types.ts';

/** Parcel files in their native projected CRS, under fixturesRoot()/labels. */
export const PARCEL_FILES = [
  'parcels_nl_brp_2023_sample_EPSG28992.geojson',
  'parcels_at_invekos_2025-1_sample_EPSG31287.geojson',
  'parcels_hr_arkod_2024_sample_EPSG3765.geojson',
] as const;

type Position = readonly number[];
type Geometry =
  | { type: 'Polygon'; coordinates: Position[][] }
  | { type: 'MultiPolygon'; coordinates: Position[][][] }
  | { type: string; coordinates?: unknown };

function ring(positions: Position[]): Ring {
  const first = positions[0];
  const last = positions[positions.length - 1];
  const closed = first !== undefined && last !== undefined && first[0] === last[0] && first[1] === last[1];
  const n = closed ? positions.length - 1 : positions.length;
  const out = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    out[2 * i] = positions[i]![0]!;
    out[2 * i + 1] = positions[i]![1]!;
  }
  return out;
}

/** One entry per feature: its polygon parts (features of other geometry types are skipped). */
export function readParcels(file: string): PolygonRings[][] {
  return readParcelsWith(file).map((f) => f.polygons);
}

/** Polygon features with one property's value (undefined without `property`). */
export function readParcelsWith(
  file: string,
  property?: string,
): { polygons: PolygonRings[]; value: unknown }[] {
  const json = JSON.parse(readFileSync(file, 'utf8')) as {
    features: { geometry: Geometry | null; properties?: Record<string, unknown> | null }[];
  };
  const out: { polygons: PolygonRings[]; value: unknown }[] = [];
  for (const f of json.features) {
    const g = f.geometry;
    const value = property === undefined ? undefined : f.properties?.[property];
    if (g?.type === 'Polygon')
      out.push({ polygons: [{ rings: (g.coordinates as Position[][]).map(ring) }], value });
    else if (g?.type === 'MultiPolygon') {
      out.push({ polygons: (g.coordinates as Position[][][]).map((p) => ({ rings: p.map(ring) })), value });
    }
  }
  return out;
}

/** A grid of the given pixel size over the polygons' bounds, its origin snapped to a multiple of 10 m. */
export function gridOver(features: readonly PolygonRings[][], pixelSize: number): PixelGrid {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const f of features) {
    for (const p of f) {
      const r = p.rings[0]!;
      for (let i = 0; i < r.length; i += 2) {
        minX = Math.min(minX, r[i]!);
        maxX = Math.max(maxX, r[i]!);
        minY = Math.min(minY, r[i + 1]!);
        maxY = Math.max(maxY, r[i + 1]!);
      }
    }
  }
  const originX = Math.floor(minX / 10) * 10;
  const originY = Math.ceil(maxY / 10) * 10;
  return {
    originX,
    originY,
    pixelSize,
    width: Math.ceil((maxX - originX) / pixelSize),
    height: Math.ceil((originY - minY) / pixelSize),
  };
}

/** The `count` parcels nearest to one another: the tightest cluster around any parcel. */
export function tightCluster(features: readonly PolygonRings[][], count: number): PolygonRings[][] {
  const centres = features.map((f) => {
    const g = gridOver([f], 10);
    return [g.originX + (g.width * 10) / 2, g.originY - (g.height * 10) / 2] as const;
  });
  let best: PolygonRings[][] = [];
  let bestArea = Infinity;
  centres.forEach(([x, y]) => {
    const order = centres
      .map(([u, v], j) => [(u - x) ** 2 + (v - y) ** 2, j] as const)
      .sort((a, b) => a[0] - b[0])
      .slice(0, count)
      .map(([, j]) => features[j]!);
    const g = gridOver(order, 10);
    if (g.width * g.height < bestArea) {
      bestArea = g.width * g.height;
      best = order;
    }
  });
  return best;
}
