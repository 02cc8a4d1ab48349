// The area of interest as one WGS84 Polygon/MultiPolygon, from whatever the job spec gives: an
// inline Geometry/Feature/FeatureCollection, or a GeoJSON document read by the caller.
import { z } from 'zod';
import {
  areaOf,
  crossesAntimeridian,
  largestLonStep,
  lonSpan,
  type PolygonCoords,
  splitAtAntimeridian,
  unwrapRing,
} from './antimeridian.ts';
import { InvalidInputError, shortJson } from './errors.ts';
import { repairPolygon } from './labels/repair.ts';
import { findRingIntersection, isCollinear, pointInRing, RingCheckTooComplex } from './labels/rings.ts';
import { quoteValue } from './snippet.ts';

export type AreaGeometry = GeoJSON.Polygon | GeoJSON.MultiPolygon;

const position = z.array(z.number()).min(2);
/** A GeoJSON Polygon or MultiPolygon as stored in work files (AOIs, footprints), coordinates checked. */
export const AreaGeometrySchema: z.ZodType<AreaGeometry> = z.union([
  z.object({ type: z.literal('Polygon'), coordinates: z.array(z.array(position)) }).loose(),
  z.object({ type: z.literal('MultiPolygon'), coordinates: z.array(z.array(z.array(position))) }).loose(),
]) as z.ZodType<AreaGeometry>;

/** What was wrong with an AOI at a place (JSON pointer), and what repair did (`aoiRepair: true`). */
export type AoiFix = {
  readonly pointer: string;
  readonly problem: AoiProblem;
  readonly detail: string;
  readonly action: 'fixed' | 'removed';
};
export type AoiProblem =
  | 'unclosed-ring'
  | 'self-intersection'
  | 'empty-geometry'
  | 'empty-ring'
  | 'too-few-vertices'
  | 'zero-area'
  | 'hole-outside-shell'
  | 'antimeridian-edge';

export type ParsedAoi = {
  /** In lon/lat within [-180, 180]; an AOI across the antimeridian is split there. */
  readonly area: AreaGeometry;
  /** Repairs made (empty unless `repair`). */
  readonly fixes: AoiFix[];
  /** Whether the AOI crosses ±180 (its parts meet there). */
  readonly antimeridian: boolean;
};

export type AoiOptions = {
  /** Names the document in errors: the job file, or the AOI file. */
  readonly source: string;
  /** JSON pointer of the AOI in that document: "/aoi" inline in a job spec, "" for an AOI file. */
  readonly pointer?: string;
  /** Repair what can be repaired (the job's `aoiRepair`) instead of refusing the AOI. */
  readonly repair?: boolean;
};

/** The widest polygon an AOI may hold, in degrees of longitude: wider ones are misread crossings. */
const MAX_LON_SPAN = 180;
/** Nested GeometryCollections deeper than this are refused (the traversal recurses). */
const MAX_DEPTH = 32;

/**
 * Reads and validates an AOI given as any GeoJSON object, as labels are validated: a ring that is
 * not closed, crosses itself or another, is empty, has fewer than 3 vertices or no area, a hole
 * outside its shell, or an edge longer than 180° of longitude (a crossing of the antimeridian
 * written the long way) is an error naming its JSON pointer, or, with `repair`, fixed and listed.
 * Longitudes past ±180 (up to ±360) express a crossing; the result is split at the antimeridian.
 */
export function parseAoi(value: unknown, options: AoiOptions): ParsedAoi {
  const { source } = options;
  const base = options.pointer ?? '';
  const repair = options.repair ?? false;
  const fixes: AoiFix[] = [];
  const where = (pointer: string) => `${source} ${pointer || '/'}`;
  const fail = (pointer: string, what: string): never => {
    throw new InvalidInputError(`${where(pointer)}: ${what}`, { source, pointer: pointer || '/' });
  };
  /**
   * A problem repair can fix: without `repair` an error saying what to do, with it a fix entry.
   * `todo` says the repair ("close it"), `done` what was done ("closed").
   */
  const problem = (
    pointer: string,
    code: AoiProblem,
    what: string,
    action: AoiFix['action'],
    todo: string,
    done: string,
  ): void => {
    if (!repair) {
      throw new InvalidInputError(
        `${where(pointer)}: ${what}; fix the AOI, or set "aoiRepair": true in the job to ${todo} (each repair is logged)`,
        { source, pointer: pointer || '/', problem: code },
      );
    }
    fixes.push({ pointer: pointer || '/', problem: code, detail: `${what}: ${done}`, action });
  };

  const crs = (value as { crs?: { properties?: { name?: string } } })?.crs?.properties?.name;
  if (crs && !/(CRS84|4326)$/.test(crs)) {
    fail(`${base}/crs`, `declares CRS ${crs}; the AOI must be in EPSG:4326 (lon, lat)`);
  }
  const polygons: PolygonCoords[] = [];
  const visit = (obj: unknown, pointer: string, depth: number): void => {
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
      fail(pointer, 'is not a GeoJSON object');
    }
    if (depth > MAX_DEPTH) fail(pointer, `nests GeometryCollections deeper than ${MAX_DEPTH} levels`);
    const o = obj as { type?: unknown; coordinates?: unknown; geometry?: unknown; features?: unknown };
    switch (o.type) {
      case 'Polygon':
        polygons.push(...checkPolygon(o.coordinates, `${pointer}/coordinates`));
        return;
      case 'MultiPolygon': {
        const parts = arrayAt(o.coordinates, `${pointer}/coordinates`, 'an array of polygons');
        if (parts.length === 0) {
          problem(
            `${pointer}/coordinates`,
            'empty-geometry',
            'the MultiPolygon has no polygon',
            'removed',
            'remove it',
            'removed',
          );
        }
        parts.forEach((part, p) => {
          polygons.push(...checkPolygon(part, `${pointer}/coordinates/${p}`));
        });
        return;
      }
      case 'Feature':
        if (o.geometry === null)
          fail(`${pointer}/geometry`, 'is null; the AOI needs Polygon or MultiPolygon areas');
        visit(o.geometry, `${pointer}/geometry`, depth + 1);
        return;
      case 'FeatureCollection':
        arrayAt(o.features, `${pointer}/features`, 'an array of features').forEach((f, i) => {
          visit(f, `${pointer}/features/${i}`, depth + 1);
        });
        return;
      case 'GeometryCollection':
        arrayAt(
          (o as { geometries?: unknown }).geometries,
          `${pointer}/geometries`,
          'an array of geometries',
        ).forEach((g, i) => {
          visit(g, `${pointer}/geometries/${i}`, depth + 1);
        });
        return;
      default:
        fail(pointer, `has type ${quoteValue(o.type)}; the AOI needs Polygon or MultiPolygon areas`);
    }
  };
  const arrayAt = (v: unknown, pointer: string, what: string): unknown[] =>
    Array.isArray(v) ? v : fail(pointer, `is not ${what}`);

  /** One polygon's rings: checked, closed, with continuous longitudes; [] when repair removed it. */
  const checkPolygon = (coords: unknown, at: string): PolygonCoords[] => {
    const raw = arrayAt(coords, at, 'an array of rings (arrays of [lon, lat] positions)');
    if (raw.length === 0) {
      problem(at, 'empty-geometry', 'the polygon has no rings', 'removed', 'remove it', 'removed');
      return [];
    }
    const rings: Ring[] = [];
    for (const [r, ringRaw] of raw.entries()) {
      const ringAt = `${at}/${r}`;
      const name = r === 0 ? 'the outer ring' : `hole ${r}`;
      const drop = r === 0 ? 'the polygon' : 'the hole';
      const positions = arrayAt(ringRaw, ringAt, 'an array of [lon, lat] positions');
      if (positions.length === 0) {
        problem(
          ringAt,
          'empty-ring',
          `${name} has no positions`,
          'removed',
          `remove ${drop}`,
          `removed ${drop}`,
        );
        if (r === 0) return [];
        continue;
      }
      let ring: GeoJSON.Position[] = [];
      for (const [v, pos] of positions.entries()) {
        const x = Array.isArray(pos) ? pos[0] : undefined;
        const y = Array.isArray(pos) ? pos[1] : undefined;
        if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y)) {
          fail(`${ringAt}/${v}`, `is ${shortJson(pos)}, not a [lon, lat] position of two numbers`);
        }
        const [lon, lat] = [x as number, y as number];
        if (Math.abs(lat) > 90 || Math.abs(lon) > 360) {
          fail(
            `${ringAt}/${v}`,
            `(${lon}, ${lat}) is outside lon ±360 / lat ±90; the AOI must be lon, lat in EPSG:4326 (longitudes past ±180 express a crossing of the antimeridian)`,
          );
        }
        const last = ring[ring.length - 1];
        if (!last || last[0] !== lon || last[1] !== lat) ring.push([lon, lat]);
      }
      const first = ring[0] as GeoJSON.Position;
      const end = ring[ring.length - 1] as GeoJSON.Position;
      if (ring.length === 1 || first[0] !== end[0] || first[1] !== end[1]) {
        problem(
          ringAt,
          'unclosed-ring',
          `${name} is not closed: it ends at ${JSON.stringify(end)}, not at its first position ${JSON.stringify(first)}`,
          'fixed',
          'close it (repeat the first position at the end)',
          'closed',
        );
        ring.push([...first]);
      }
      const distinct = ring.length - 1;
      if (distinct < 3) {
        problem(
          ringAt,
          'too-few-vertices',
          `${name} has ${distinct} distinct position(s), at least 3 needed`,
          'removed',
          `remove ${drop}`,
          `removed ${drop}`,
        );
        if (r === 0) return [];
        continue;
      }
      const step = largestLonStep(ring);
      if (step > 180) {
        problem(
          ringAt,
          'antimeridian-edge',
          `${name} has an edge ${step.toFixed(1)}° of longitude long, which GeoJSON reads the long way round the world; to cross the antimeridian, write longitudes past 180 (e.g. 179.9 to 180.1) or split the AOI into a MultiPolygon at ±180`,
          'fixed',
          'take every edge the short way across ±180',
          'took every edge the short way across ±180',
        );
        ring = unwrapRing(ring, r === 0 ? undefined : (rings[0]?.[0]?.[0] as number | undefined));
      } else if (r > 0 && rings[0]) {
        // A hole written on the other side of ±180 than its shell: bring it next to the shell.
        ring = unwrapRing(ring, rings[0][0]?.[0] as number);
      }
      if (isCollinear(flat(ring))) {
        problem(
          ringAt,
          'zero-area',
          `${name} encloses no area (its positions are collinear)`,
          'removed',
          `remove ${drop}`,
          `removed ${drop}`,
        );
        if (r === 0) return [];
        continue;
      }
      rings.push(ring);
    }
    const span = lonSpan([rings]);
    if (span > MAX_LON_SPAN) {
      fail(
        `${at}/0`,
        `the polygon spans ${span.toFixed(1)}° of longitude; an AOI polygon may span at most ${MAX_LON_SPAN}° (to cross the antimeridian, write longitudes past 180, e.g. 179.9 to 180.1, or split the AOI into a MultiPolygon at ±180)`,
      );
    }
    let hit: ReturnType<typeof findRingIntersection>;
    try {
      hit = findRingIntersection(rings.map(flat));
    } catch (error) {
      if (!(error instanceof RingCheckTooComplex)) throw error;
      return fail(at, `the polygon cannot be checked: ${error.message}`);
    }
    if (hit) {
      const ringName = (i: number) => (i === 0 ? 'the outer ring' : `hole ${i}`);
      const what =
        hit.ringA === hit.ringB
          ? `${ringName(hit.ringA)} crosses itself (edges ${hit.segmentA} and ${hit.segmentB}, ${hit.kind})`
          : `${ringName(hit.ringA)} and ${ringName(hit.ringB)} cross (edges ${hit.segmentA} and ${hit.segmentB}, ${hit.kind})`;
      const repaired = repair ? repairPolygon({ rings: rings.map(flat) }) : null;
      problem(
        `${at}/${hit.ringA}`,
        'self-intersection',
        what,
        'fixed',
        'split it into simple polygons',
        `split into ${repaired?.length ?? 0} simple polygon(s)`,
      );
      if (!repaired || repaired.length === 0) fail(at, `${what}; nothing is left of it after repair`);
      return repaired as PolygonCoords[];
    }
    const [shell, ...holes] = rings as [Ring, ...Ring[]];
    const kept = [shell];
    holes.forEach((hole, h) => {
      if (holeInside(flat(hole), flat(shell))) kept.push(hole);
      else
        problem(
          `${at}/${h + 1}`,
          'hole-outside-shell',
          `hole ${h + 1} lies outside the outer ring`,
          'removed',
          'remove the hole',
          'removed the hole',
        );
    });
    return [kept];
  };

  visit(value, base, 0);
  if (polygons.length === 0) {
    fail(base, fixes.length > 0 ? 'nothing is left of the AOI after repair' : 'contains no polygon');
  }
  const parts = splitAtAntimeridian(polygons);
  if (parts.length === 0) fail(base, 'nothing is left of the AOI after cutting it at the antimeridian');
  const area = areaOf(parts);
  return { area, fixes, antimeridian: crossesAntimeridian(area) };
}

/** The AOI of any GeoJSON object, validated (parseAoi); `source` names it in errors. */
export function aoiFromGeoJson(value: unknown, source: string, repair = false): AreaGeometry {
  return parseAoi(value, { source, repair }).area;
}

type Ring = GeoJSON.Position[];

/** Flat coordinates of a closed ring, without the closing position (labels/rings.ts works on these). */
function flat(ring: Ring): Float64Array {
  const out = new Float64Array((ring.length - 1) * 2);
  for (let i = 0; i + 1 < ring.length; i++) {
    out[2 * i] = ring[i]?.[0] as number;
    out[2 * i + 1] = ring[i]?.[1] as number;
  }
  return out;
}

function holeInside(hole: Float64Array, shell: Float64Array): boolean {
  // No crossings were found, so a hole is wholly inside or outside; vertices on the shell may
  // test either way: a majority of the first few decides.
  let votes = 0;
  for (let i = 0; i + 1 < hole.length && Math.abs(votes) < 3; i += 2) {
    votes += pointInRing(hole[i] as number, hole[i + 1] as number, shell) ? 1 : -1;
  }
  return votes > 0;
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
