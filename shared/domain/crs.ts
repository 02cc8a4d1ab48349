// Coordinate transforms between EPSG:4326 and the projected grids of the imagery (UTM for
// Sentinel-2). proj4 does the maths; this module only knows how to name a CRS for it.
import proj4 from 'proj4';
import { InvalidInputError } from './errors.ts';

export type XY = [number, number];

/** proj4 definition for an EPSG code; UTM zones (WGS84 north/south, ETRS89) are built in. */
export function proj4Definition(epsg: number): string {
  if (epsg === 4326) return '+proj=longlat +datum=WGS84 +no_defs';
  if (epsg >= 32601 && epsg <= 32660) return `+proj=utm +zone=${epsg - 32600} +datum=WGS84 +units=m +no_defs`;
  if (epsg >= 32701 && epsg <= 32760)
    return `+proj=utm +zone=${epsg - 32700} +south +datum=WGS84 +units=m +no_defs`;
  if (epsg >= 25828 && epsg <= 25838) return `+proj=utm +zone=${epsg - 25800} +ellps=GRS80 +units=m +no_defs`;
  if (epsg === 3857)
    return '+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +no_defs';
  throw new InvalidInputError(
    `EPSG:${epsg} is not a supported grid CRS yet (supported: UTM 326xx/327xx/258xx, 3857, 4326)`,
    { epsg },
  );
}

const converters = new Map<number, proj4.Converter>();

function converter(epsg: number): proj4.Converter {
  let c = converters.get(epsg);
  if (!c) {
    c = proj4(proj4Definition(4326), proj4Definition(epsg));
    converters.set(epsg, c);
  }
  return c;
}

export function fromWgs84(epsg: number, lonLat: XY): XY {
  return converter(epsg).forward(lonLat) as XY;
}

export function toWgs84(epsg: number, xy: XY): XY {
  return converter(epsg).inverse(xy) as XY;
}

type Ring = GeoJSON.Position[];

function mapRings<G extends GeoJSON.Polygon | GeoJSON.MultiPolygon>(geometry: G, f: (p: XY) => XY): G {
  const ring = (r: Ring): Ring => r.map((p) => f([p[0] as number, p[1] as number]));
  if (geometry.type === 'Polygon')
    return { type: 'Polygon', coordinates: geometry.coordinates.map(ring) } as G;
  return {
    type: 'MultiPolygon',
    coordinates: (geometry as GeoJSON.MultiPolygon).coordinates.map((poly) => poly.map(ring)),
  } as G;
}

/** Projects a WGS84 polygon into `epsg`, densifying edges so long edges stay faithful. */
export function projectPolygon<G extends GeoJSON.Polygon | GeoJSON.MultiPolygon>(
  geometry: G,
  epsg: number,
): G {
  return mapRings(densify(geometry, 0.01), (p) => fromWgs84(epsg, p));
}

/** Inserts vertices so no edge is longer than `step` (in the input's units). */
export function densify<G extends GeoJSON.Polygon | GeoJSON.MultiPolygon>(geometry: G, step: number): G {
  const ring = (r: Ring): Ring => {
    const out: Ring = [];
    for (let i = 0; i < r.length; i++) {
      const a = r[i] as GeoJSON.Position;
      out.push(a);
      const b = r[i + 1];
      if (!b) continue;
      const dx = (b[0] as number) - (a[0] as number);
      const dy = (b[1] as number) - (a[1] as number);
      const n = Math.ceil(Math.hypot(dx, dy) / step);
      for (let k = 1; k < n; k++)
        out.push([(a[0] as number) + (dx * k) / n, (a[1] as number) + (dy * k) / n]);
    }
    return out;
  };
  if (geometry.type === 'Polygon')
    return { type: 'Polygon', coordinates: geometry.coordinates.map(ring) } as G;
  return {
    type: 'MultiPolygon',
    coordinates: (geometry as GeoJSON.MultiPolygon).coordinates.map((poly) => poly.map(ring)),
  } as G;
}

export type Bounds = [minX: number, minY: number, maxX: number, maxY: number];

export function boundsOf(geometry: GeoJSON.Polygon | GeoJSON.MultiPolygon): Bounds {
  let minX = Number.POSITIVE_INFINITY;
  let minY = Number.POSITIVE_INFINITY;
  let maxX = Number.NEGATIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  const polys = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  for (const poly of polys)
    for (const ring of poly)
      for (const p of ring) {
        const x = p[0] as number;
        const y = p[1] as number;
        if (x < minX) minX = x;
        if (y < minY) minY = y;
        if (x > maxX) maxX = x;
        if (y > maxY) maxY = y;
      }
  return [minX, minY, maxX, maxY];
}

/** WGS84 bounds of a projected rectangle (its four corners). */
export function rectToWgs84Bounds(epsg: number, b: Bounds): Bounds {
  const corners = [
    toWgs84(epsg, [b[0], b[1]]),
    toWgs84(epsg, [b[0], b[3]]),
    toWgs84(epsg, [b[2], b[1]]),
    toWgs84(epsg, [b[2], b[3]]),
  ];
  return [
    Math.min(...corners.map((c) => c[0])),
    Math.min(...corners.map((c) => c[1])),
    Math.max(...corners.map((c) => c[0])),
    Math.max(...corners.map((c) => c[1])),
  ];
}
