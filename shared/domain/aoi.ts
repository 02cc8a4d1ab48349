// The area of interest as one WGS84 Polygon/MultiPolygon, from whatever the job spec gives: an
// inline Geometry/Feature/FeatureCollection, or a GeoJSON document read by the caller.
import { z } from 'zod';
import { InvalidInputError } from './errors.ts';
import { quoteValue } from './snippet.ts';

export type AreaGeometry = GeoJSON.Polygon | GeoJSON.MultiPolygon;

const position = z.array(z.number()).min(2);
/** A GeoJSON Polygon or MultiPolygon as stored in work files (AOIs, footprints), coordinates checked. */
export const AreaGeometrySchema: z.ZodType<AreaGeometry> = z.union([
  z.object({ type: z.literal('Polygon'), coordinates: z.array(z.array(position)) }).loose(),
  z.object({ type: z.literal('MultiPolygon'), coordinates: z.array(z.array(z.array(position))) }).loose(),
]) as z.ZodType<AreaGeometry>;

/** Collects the polygons of any GeoJSON object into one geometry; `source` names it in errors. */
export function aoiFromGeoJson(value: unknown, source: string): AreaGeometry {
  const polygons: GeoJSON.Position[][][] = [];
  const visit = (obj: unknown, pointer: string): void => {
    if (!obj || typeof obj !== 'object') {
      throw new InvalidInputError(`${source}${pointer} is not a GeoJSON object`, { source, pointer });
    }
    const o = obj as {
      type?: unknown;
      coordinates?: unknown;
      geometry?: unknown;
      features?: unknown;
      crs?: unknown;
    };
    switch (o.type) {
      case 'Polygon':
        polygons.push(o.coordinates as GeoJSON.Position[][]);
        return;
      case 'MultiPolygon':
        polygons.push(...(o.coordinates as GeoJSON.Position[][][]));
        return;
      case 'Feature':
        visit(o.geometry, `${pointer}/geometry`);
        return;
      case 'FeatureCollection':
        (o.features as unknown[]).forEach((f, i) => {
          visit(f, `${pointer}/features/${i}`);
        });
        return;
      case 'GeometryCollection':
        ((o as { geometries?: unknown[] }).geometries ?? []).forEach((g, i) => {
          visit(g, `${pointer}/geometries/${i}`);
        });
        return;
      default:
        throw new InvalidInputError(
          `${source}${pointer || '/'} has type ${quoteValue(o.type)}; the AOI needs Polygon or MultiPolygon areas`,
          { source, pointer: pointer || '/' },
        );
    }
  };
  const crs = (value as { crs?: { properties?: { name?: string } } })?.crs?.properties?.name;
  if (crs && !/(CRS84|4326)$/.test(crs)) {
    throw new InvalidInputError(`${source} declares CRS ${crs}; the AOI must be in EPSG:4326 (lon, lat)`, {
      source,
      pointer: '/crs',
    });
  }
  visit(value, '');
  if (polygons.length === 0) throw new InvalidInputError(`${source} contains no polygon`, { source });
  for (const poly of polygons)
    for (const ring of poly)
      for (const p of ring) {
        const [x, y] = p as [number, number];
        if (!(Math.abs(x) <= 180 && Math.abs(y) <= 90)) {
          throw new InvalidInputError(`${source} has coordinate (${x}, ${y}) outside lon/lat range`, {
            source,
          });
        }
      }
  return polygons.length === 1
    ? { type: 'Polygon', coordinates: polygons[0] as GeoJSON.Position[][] }
    : { type: 'MultiPolygon', coordinates: polygons };
}

/** Bounding box of an area as a polygon: the AOI of `aoi: "labels"`. */
export function bboxPolygon(area: AreaGeometry): GeoJSON.Polygon {
  const xs: number[] = [];
  const ys: number[] = [];
  const polys = area.type === 'Polygon' ? [area.coordinates] : area.coordinates;
  for (const poly of polys)
    for (const ring of poly)
      for (const p of ring) {
        xs.push(p[0] as number);
        ys.push(p[1] as number);
      }
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  return {
    type: 'Polygon',
    coordinates: [
      [
        [x0, y0],
        [x1, y0],
        [x1, y1],
        [x0, y1],
        [x0, y0],
      ],
    ],
  };
}
