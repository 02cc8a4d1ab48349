// Coordinate transforms between EPSG codes: WGS84, the UTM grids of the imagery and any CRS the
// ground truth comes in. proj4 does the maths; this module only knows how to name a CRS for it.
import proj4 from 'proj4';
import definitionsPackage from 'proj4js-definitions/package.json' with { type: 'json' };
import definitions from 'proj4js-definitions/proj4js-definitions.json' with { type: 'json' };
import { z } from 'zod';
import { InvalidInputError } from './errors.ts';

export type XY = [number, number];

/** The EPSG → proj4 table this build ships (scraped from epsg.io by proj4js-definitions). */
const EPSG_DATABASE = `proj4js-definitions@${definitionsPackage.version}`;

let epsgTable: Map<number, string> | undefined;

function epsgLookup(epsg: number): string | undefined {
  // Built on first use: the common UTM/3857/4326 codes never pay for the 4,758-entry table.
  epsgTable ??= new Map(
    (definitions as string[][]).map(([code, def]) => [Number((code ?? '').slice(5)), def ?? '']),
  );
  return epsgTable.get(epsg) || undefined;
}

/**
 * proj4 definition for an EPSG code: UTM zones (WGS84 north/south, ETRS89), 3857 and 4326 are built
 * in (no table look-up on the hot path); any other code comes from the bundled EPSG table.
 */
export function proj4Definition(epsg: number): string {
  if (epsg === 4326) return '+proj=longlat +datum=WGS84 +no_defs';
  if (epsg >= 32601 && epsg <= 32660) return `+proj=utm +zone=${epsg - 32600} +datum=WGS84 +units=m +no_defs`;
  if (epsg >= 32701 && epsg <= 32760)
    return `+proj=utm +zone=${epsg - 32700} +south +datum=WGS84 +units=m +no_defs`;
  if (epsg >= 25828 && epsg <= 25838) return `+proj=utm +zone=${epsg - 25800} +ellps=GRS80 +units=m +no_defs`;
  if (epsg === 3857)
    return '+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +no_defs';
  const def = Number.isInteger(epsg) && epsg > 0 ? epsgLookup(epsg) : undefined;
  if (def) return def;
  throw new InvalidInputError(
    `EPSG:${epsg} is not in the EPSG database of this build (${EPSG_DATABASE}); ` +
      'reproject the data to a listed CRS (e.g. EPSG:4326 or its UTM zone) or check the code',
    { epsg },
  );
}

/** Parses "EPSG:31287", "epsg:31287", "31287", "urn:ogc:def:crs:EPSG::31287", OGC CRS84 → 4326. */
export function parseEpsg(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isInteger(text) && text > 0 ? text : undefined;
  const t = text.trim();
  if (/^(urn:ogc:def:crs:OGC:(1\.3|):CRS84|OGC:CRS84|CRS:84|CRS84)$/i.test(t)) return 4326;
  if (/^https?:\/\/www\.opengis\.net\/def\/crs\/OGC\/[^/]+\/CRS84$/i.test(t)) return 4326;
  const m =
    /^(?:EPSG:{1,2}|urn:ogc:def:crs:EPSG:[^:]*:|https?:\/\/www\.opengis\.net\/def\/crs\/EPSG\/[^/]+\/)?(\d+)$/i.exec(
      t,
    );
  const code = m ? Number(m[1]) : Number.NaN;
  return Number.isInteger(code) && code > 0 ? code : undefined;
}

const pairConverters = new Map<string, proj4.Converter>();

/** A proj4 converter between two EPSG codes, built once per pair. */
export function converterBetween(fromEpsg: number, toEpsg: number): proj4.Converter {
  const key = `${fromEpsg}>${toEpsg}`;
  let c = pairConverters.get(key);
  if (!c) {
    c = proj4(proj4Definition(fromEpsg), proj4Definition(toEpsg));
    pairConverters.set(key, c);
  }
  return c;
}

/** Transforms flat [x0, y0, x1, y1, ...] coordinates into a new array (vertices only, no densify). */
export function transformFlat(coords: Float64Array, fromEpsg: number, toEpsg: number): Float64Array {
  if (fromEpsg === toEpsg) return Float64Array.from(coords);
  const c = converterBetween(fromEpsg, toEpsg);
  const out = new Float64Array(coords.length);
  const p: XY = [0, 0];
  for (let i = 0; i + 1 < coords.length; i += 2) {
    p[0] = coords[i] as number;
    p[1] = coords[i + 1] as number;
    const q = c.forward(p);
    out[i] = q[0] as number;
    out[i + 1] = q[1] as number;
  }
  return out;
}

export function toWgs84(epsg: number, xy: XY): XY {
  return converterBetween(4326, epsg).inverse(xy);
}

type Line = GeoJSON.Position[];

/** The (multi)polygon with every ring replaced by `f` of it. */
function mapRings<G extends GeoJSON.Polygon | GeoJSON.MultiPolygon>(geometry: G, f: (ring: Line) => Line): G {
  if (geometry.type === 'Polygon') return { type: 'Polygon', coordinates: geometry.coordinates.map(f) } as G;
  return {
    type: 'MultiPolygon',
    coordinates: (geometry as GeoJSON.MultiPolygon).coordinates.map((poly) => poly.map(f)),
  } as G;
}

/**
 * A copy of any GeoJSON geometry with every position replaced by `f` of its x, y (other ordinates
 * and members such as `bbox` are dropped). An empty Point stays empty.
 */
export function mapPositions<G extends GeoJSON.Geometry>(geometry: G, f: (p: XY) => XY): G {
  const pos = (p: GeoJSON.Position): GeoJSON.Position => f([p[0] as number, p[1] as number]);
  const line = (l: Line): Line => l.map(pos);
  const g: GeoJSON.Geometry = geometry;
  switch (g.type) {
    case 'Point':
      return { type: 'Point', coordinates: g.coordinates.length ? pos(g.coordinates) : [] } as G;
    case 'MultiPoint':
    case 'LineString':
      return { type: g.type, coordinates: line(g.coordinates) } as G;
    case 'MultiLineString':
      return { type: 'MultiLineString', coordinates: g.coordinates.map(line) } as G;
    case 'Polygon':
    case 'MultiPolygon':
      return mapRings(g, line) as G;
    case 'GeometryCollection':
      return { type: 'GeometryCollection', geometries: g.geometries.map((x) => mapPositions(x, f)) } as G;
  }
}

/** Projects a WGS84 polygon into `epsg`, densifying edges so long edges stay faithful. */
export function projectPolygon<G extends GeoJSON.Polygon | GeoJSON.MultiPolygon>(
  geometry: G,
  epsg: number,
): G {
  const c = converterBetween(4326, epsg);
  return mapPositions(densify(geometry, 0.01), (p) => c.forward(p));
}

/** Inserts vertices so no edge is longer than `step` (in the input's units). */
function densify<G extends GeoJSON.Polygon | GeoJSON.MultiPolygon>(geometry: G, step: number): G {
  return mapRings(geometry, (r) => {
    const out: Line = [];
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
  });
}

export type Bounds = [minX: number, minY: number, maxX: number, maxY: number];

export const BoundsSchema = z.tuple([z.number(), z.number(), z.number(), z.number()]);

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

/**
 * WGS84 bounds of a projected rectangle. Its straight edges are curves in lon/lat (a UTM tile's top
 * edge bulges past its corners' latitude by hundreds of metres), so large rectangles want `steps`
 * points along each edge; the four corners (steps = 1) suit a window.
 */
export function rectToWgs84Bounds(epsg: number, b: Bounds, steps = 1): Bounds {
  const out: Bounds = [Infinity, Infinity, -Infinity, -Infinity];
  const add = (x: number, y: number) => {
    const [lon, lat] = toWgs84(epsg, [x, y]);
    if (lon < out[0]) out[0] = lon;
    if (lat < out[1]) out[1] = lat;
    if (lon > out[2]) out[2] = lon;
    if (lat > out[3]) out[3] = lat;
  };
  for (let i = 0; i <= steps; i++) {
    const x = b[0] + ((b[2] - b[0]) * i) / steps;
    const y = b[1] + ((b[3] - b[1]) * i) / steps;
    add(x, b[1]);
    add(x, b[3]);
    add(b[0], y);
    add(b[2], y);
  }
  return out;
}

/**
 * The WGS84 bbox of a projected rectangle as RFC 7946 (5.2) writes it: across the antimeridian,
 * west is greater than east ([179.99, s, -179.99, n]) instead of a box round the world. The
 * outline is walked in order with longitudes kept continuous, so a rectangle that really is wider
 * than 180° (a lon/lat one) keeps its plain bounds.
 */
export function rectToWgs84Bbox(epsg: number, b: Bounds, steps = 1): Bounds {
  const out = rectToWgs84Bounds(epsg, b, steps);
  if (out[2] - out[0] <= 180) return out;
  const outline: XY[] = [];
  const along = (x0: number, y0: number, x1: number, y1: number) => {
    for (let i = 0; i < steps; i++)
      outline.push([x0 + ((x1 - x0) * i) / steps, y0 + ((y1 - y0) * i) / steps]);
  };
  along(b[0], b[1], b[2], b[1]);
  along(b[2], b[1], b[2], b[3]);
  along(b[2], b[3], b[0], b[3]);
  along(b[0], b[3], b[0], b[1]);
  let previous: number | undefined;
  let west = Infinity;
  let east = -Infinity;
  for (const p of outline) {
    let lon = toWgs84(epsg, p)[0];
    if (previous !== undefined) lon += 360 * Math.round((previous - lon) / 360);
    previous = lon;
    west = Math.min(west, lon);
    east = Math.max(east, lon);
  }
  if (east - west > 180) return out;
  const wrap = (lon: number) => ((((lon + 180) % 360) + 360) % 360) - 180;
  return [wrap(west), out[1], wrap(east), out[3]];
}
