// Checks every raw feature and turns the usable ones into LabelFeatures (flat rings, outer ring
// counter-clockwise, holes clockwise). Nothing is dropped or changed silently: each problem found
// becomes one log entry saying what was seen and what was done.
import { booleanIntersects } from '@turf/turf';
import { type Bounds, boundsOf, projectPolygon } from '../crs.ts';
import { InvalidInputError } from '../errors.ts';
import { quoteValue } from '../snippet.ts';
import type { RawFeature, RawLabelStream } from './read.ts';
import { repairPolygon } from './repair.ts';
import {
  closedPositions,
  findRingIntersection,
  isCollinear,
  pointInRing,
  RingCheckTooComplex,
  reverseRing,
  ringBounds,
  signedArea,
} from './rings.ts';
import type { LabelFeature, LabelLogEntry, PolygonRings, Ring, VectorShape } from './types.ts';

export type ValidateOptions = {
  readonly classProperty: string;
  /**
   * A regression job: the property holds a number (or a numeric string, as CSV cells may); any
   * other value is an error naming the feature, not a dropped feature. Missing ones are dropped.
   */
  readonly numeric?: boolean;
  readonly idProperty?: string;
  /** Keep only features whose `yearProperty` is this year (a number, or a string/date starting with it). */
  readonly year?: number;
  readonly yearProperty?: string;
  /** Repair self-intersecting polygons instead of dropping them (labels.repair). */
  readonly repair: boolean;
  /** Area of interest in EPSG:4326: features that do not touch it are dropped. */
  readonly aoi?: GeoJSON.Polygon | GeoJSON.MultiPolygon;
  readonly source: string;
  /** Keep Point/MultiPoint features (labels.points); dropped as unsupported-geometry otherwise. */
  readonly points?: boolean;
  /** Keep LineString/MultiLineString features (labels.lines); dropped as unsupported-geometry otherwise. */
  readonly lines?: boolean;
  /** Properties to keep on each feature for vector.json: names, or "*" for all; none when absent. */
  readonly properties?: readonly string[] | '*';
  /**
   * Takes each kept feature as it is validated instead of collecting them in `features` (left
   * empty): with a streamed input, no more than one raw feature is held at a time.
   */
  readonly keep?: (feature: LabelFeature) => void;
};

export type ValidationResult = {
  readonly features: LabelFeature[];
  /** Raw features read, kept ones. */
  readonly read: number;
  readonly kept: number;
  readonly log: LabelLogEntry[];
  /** Problem code → number of log entries. */
  readonly counts: Record<string, number>;
};

type Problem = { problem: string; detail: string; action: LabelLogEntry['action'] };

/** Thrown inside the per-feature check to stop at the first reason to drop a feature. */
class Drop {
  readonly problem: Problem;
  constructor(problem: string, detail: string) {
    this.problem = { problem, detail, action: 'dropped' };
  }
}

export function validateLabels(raw: RawLabelStream, options: ValidateOptions): ValidationResult {
  const yearProperty = options.yearProperty ?? 'year';
  // A whole set is checked before anything else; a stream, once read (same error, nothing kept).
  if (Array.isArray(raw.features)) checkYearProperty(raw.features, options, yearProperty);
  const aoi = options.aoi ? prepareAoi(options.aoi, raw.epsg) : undefined;
  const features: LabelFeature[] = [];
  const log: LabelLogEntry[] = [];
  const counts: Record<string, number> = {};
  let read = 0;
  let kept = 0;
  let withYear = false;
  for (const f of raw.features) {
    read++;
    if (!withYear && f.properties[yearProperty] !== undefined) withYear = true;
    const id = featureId(f, options.idProperty);
    const found: Problem[] = [];
    let feature: LabelFeature | undefined;
    try {
      feature = checkFeature(f, id, raw.epsg, options, yearProperty, aoi, found);
    } catch (error) {
      if (!(error instanceof Drop)) throw error;
      found.push(error.problem);
    }
    if (feature) {
      kept++;
      if (options.keep) options.keep(feature);
      else features.push(feature);
    }
    for (const p of found) {
      log.push({ index: f.index, id, ...p });
      counts[p.problem] = (counts[p.problem] ?? 0) + 1;
    }
  }
  if (options.year !== undefined && read > 0 && !withYear) throw noYearProperty(options, yearProperty);
  return { features, read, kept, log, counts };
}

function checkYearProperty(features: readonly RawFeature[], options: ValidateOptions, yearProperty: string) {
  if (options.year === undefined || features.length === 0) return;
  if (!features.some((f) => f.properties[yearProperty] !== undefined))
    throw noYearProperty(options, yearProperty);
}

function noYearProperty(options: ValidateOptions, yearProperty: string): InvalidInputError {
  return new InvalidInputError(
    `${options.source}: labels.year is ${options.year} but no feature has a "${yearProperty}" property; ` +
      'set labels.yearProperty to the field that holds the year, or remove labels.year',
    { source: options.source, pointer: '/labels/yearProperty' },
  );
}

function featureId(f: RawFeature, idProperty: string | undefined): string | number | null {
  const v = idProperty === undefined ? undefined : f.properties[idProperty];
  if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) return v;
  return f.fileId ?? null;
}

function checkFeature(
  f: RawFeature,
  id: string | number | null,
  epsg: number,
  options: ValidateOptions,
  yearProperty: string,
  aoi: PreparedAoi | undefined,
  found: Problem[],
): LabelFeature | undefined {
  if (f.readProblem) throw new Drop(f.readProblem.problem, f.readProblem.detail);
  const raw = f.properties[options.classProperty];
  if (raw === undefined || raw === null || raw === '') {
    throw new Drop(
      options.numeric ? 'missing-value' : 'missing-class',
      `property "${options.classProperty}" (${options.numeric ? 'the regression value' : 'labels.classProperty'}) is ${raw === '' ? 'empty' : 'missing'}`,
    );
  }
  const classValue = options.numeric ? numericValue(raw, f, id, options) : raw;
  if (typeof classValue !== 'string' && !(typeof classValue === 'number' && Number.isFinite(classValue))) {
    throw new Drop(
      'missing-class',
      `property "${options.classProperty}" is ${quoteValue(classValue)}; class values must be integers or strings`,
    );
  }
  if (options.year !== undefined) checkYear(f.properties[yearProperty], options.year, yearProperty);
  const properties = keptProperties(f.properties, options.properties);
  const kind = vectorKind(f.geometry, options);
  if (kind) {
    const shape = vectorShape(f.geometry as GeoJSON.Geometry, kind, epsg, found);
    if (!shape) return undefined;
    if (aoi && !shapeTouchesAoi(shape, aoi)) {
      found.length = 0;
      throw new Drop('outside-aoi', 'the feature does not intersect the area of interest (job spec /aoi)');
    }
    return { index: f.index, id, classValue, polygons: [], shape, ...(properties ? { properties } : {}) };
  }
  const parts = polygonParts(f.geometry);
  const polygons: PolygonRings[] = [];
  const partProblems: Problem[] = [];
  let rewound = 0;
  parts.forEach((coords, p) => {
    const where = parts.length > 1 ? `polygon ${p}` : 'polygon';
    const rings = toRings(coords, where, epsg, found);
    const checked = checkPart(rings, where, options.repair, found, partProblems);
    for (const part of checked) {
      const oriented = orient(part);
      rewound += oriented.rewound;
      polygons.push(oriented.polygon);
    }
  });
  // A part that was removed is a fix when others remain, and the reason to drop when none does.
  const survives = polygons.length > 0;
  for (const p of partProblems) found.push({ ...p, action: survives ? 'fixed' : 'dropped' });
  if (!survives) {
    if (partProblems.length === 0) throw new Drop('empty-geometry', 'no polygon is left');
    return undefined;
  }
  if (rewound > 0) {
    found.push({
      problem: 'wrong-winding',
      detail: `${rewound} ring(s) wound the wrong way (outer rings must be counter-clockwise, holes clockwise)`,
      action: 'fixed',
    });
  }
  if (aoi && !touchesAoi(polygons, aoi)) {
    // Fixes found so far do not matter for a feature outside the area.
    found.length = 0;
    throw new Drop('outside-aoi', 'the feature does not intersect the area of interest (job spec /aoi)');
  }
  return { index: f.index, id, classValue, polygons, ...(properties ? { properties } : {}) };
}

/** "point" or "line" when the geometry is one the job keeps as such (labels.points / labels.lines). */
function vectorKind(
  geometry: GeoJSON.Geometry | null,
  options: ValidateOptions,
): 'point' | 'line' | undefined {
  const type = (geometry as { type?: unknown } | null)?.type;
  if (options.points && (type === 'Point' || type === 'MultiPoint')) return 'point';
  if (options.lines && (type === 'LineString' || type === 'MultiLineString')) return 'line';
  return undefined;
}

/**
 * The parts of a (Multi)Point or (Multi)LineString as flat arrays: coordinates range-checked,
 * repeated consecutive line vertices removed, lines with fewer than 2 distinct vertices removed
 * (each logged as a fix, or as the reason to drop when no part is left).
 */
function vectorShape(
  geometry: GeoJSON.Geometry,
  kind: 'point' | 'line',
  epsg: number,
  found: Problem[],
): VectorShape | undefined {
  const g = geometry as { type: string; coordinates?: unknown };
  if (!Array.isArray(g.coordinates)) throw new Drop('invalid-geometry', `${g.type} has no coordinates array`);
  const multi = g.type.startsWith('Multi');
  const raw = (multi ? g.coordinates : [g.coordinates]) as unknown[];
  // An empty Point ([]) and an empty MultiPoint/MultiLineString have nothing to keep.
  if (raw.length === 0 || (kind === 'point' && !multi && g.coordinates.length === 0))
    throw new Drop('empty-geometry', `the ${g.type} has no coordinates`);
  const parts: Float64Array[] = [];
  const partProblems: Problem[] = [];
  let duplicates = 0;
  raw.forEach((part, p) => {
    const where = multi ? `${kind} ${p}` : kind;
    if (kind === 'point') {
      const [x, y] = position(part, where, epsg);
      parts.push(Float64Array.of(x, y));
      return;
    }
    if (!Array.isArray(part)) throw new Drop('invalid-geometry', `${where} is not an array of positions`);
    const flat: number[] = [];
    part.forEach((pos: unknown, v) => {
      const [x, y] = position(pos, `${where} vertex ${v}`, epsg);
      const n = flat.length;
      if (n >= 2 && flat[n - 2] === x && flat[n - 1] === y) duplicates++;
      else flat.push(x, y);
    });
    if (flat.length < 4) {
      partProblems.push({
        problem: 'too-few-vertices',
        detail: `${where} has ${flat.length / 2} distinct vertices, at least 2 needed`,
        action: 'dropped',
      });
      return;
    }
    parts.push(Float64Array.from(flat));
  });
  const survives = parts.length > 0;
  for (const p of partProblems) found.push({ ...p, action: survives ? 'fixed' : 'dropped' });
  if (!survives) return undefined;
  if (duplicates > 0) {
    found.push({
      problem: 'duplicate-vertices',
      detail: `${duplicates} repeated consecutive vertex/vertices removed`,
      action: 'fixed',
    });
  }
  return { kind, parts };
}

function position(pos: unknown, where: string, epsg: number): [number, number] {
  const x = Array.isArray(pos) ? pos[0] : undefined;
  const y = Array.isArray(pos) ? pos[1] : undefined;
  if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y)) {
    throw new Drop('out-of-range-coordinates', `${where} is ${quoteValue(pos, 48)}: not two finite numbers`);
  }
  if (epsg === 4326 && (x < -180 || x > 180 || y < -90 || y > 90)) {
    throw new Drop(
      'out-of-range-coordinates',
      `${where} is (${x}, ${y}), outside lon ±180 / lat ±90; is the CRS right (labels.crs)?`,
    );
  }
  return [x, y];
}

/** The properties the job keeps (labels.properties), as JSON values; undefined when none are kept. */
function keptProperties(
  properties: Record<string, unknown>,
  wanted: readonly string[] | '*' | undefined,
): Record<string, unknown> | undefined {
  if (wanted === undefined) return undefined;
  const names = wanted === '*' ? Object.keys(properties) : wanted;
  const out: Record<string, unknown> = {};
  for (const name of names) if (name in properties) out[name] = jsonValue(properties[name]);
  return out;
}

/** A property value as JSON can hold it: binary as base64, non-finite numbers as null. */
function jsonValue(v: unknown): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (v === undefined) return null;
  try {
    return JSON.parse(JSON.stringify(v)) as unknown;
  } catch {
    return String(v);
  }
}

/** A regression value: a finite number, or a string that is one ("6.6"); anything else is an error. */
function numericValue(
  value: unknown,
  f: RawFeature,
  id: string | number | null,
  options: ValidateOptions,
): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(value))
    return Number(value);
  throw new InvalidInputError(
    `${options.source}: feature ${f.index}${id !== null ? ` (id ${JSON.stringify(id)})` : ''} has property "${options.classProperty}" = ${quoteValue(value)}, which is not a number; a regression job (labels.target "regression") needs a finite number in every feature: fix the value or choose another labels.valueProperty`,
    { source: options.source, pointer: '/labels/valueProperty' },
  );
}

function checkYear(value: unknown, year: number, yearProperty: string): void {
  if (value === undefined || value === null || value === '') {
    throw new Drop('missing-year', `property "${yearProperty}" is missing; labels.year is ${year}`);
  }
  const seen =
    typeof value === 'number'
      ? value
      : typeof value === 'string'
        ? Number(/^\s*(-?\d{1,4})/.exec(value)?.[1])
        : NaN;
  if (seen !== year) {
    throw new Drop(
      'year-mismatch',
      `property "${yearProperty}" is ${quoteValue(value)}, labels.year is ${year}`,
    );
  }
}

/** The polygon parts of a geometry as raw coordinate arrays; anything that is not an area is dropped. */
function polygonParts(geometry: GeoJSON.Geometry | null): unknown[][] {
  if (geometry === null || geometry === undefined) throw new Drop('null-geometry', 'the geometry is null');
  const g = geometry as { type?: unknown; coordinates?: unknown; geometries?: unknown };
  if (g.type === 'Polygon' || g.type === 'MultiPolygon') {
    if (!Array.isArray(g.coordinates))
      throw new Drop('invalid-geometry', `${g.type} has no coordinates array`);
    if (g.coordinates.length === 0) throw new Drop('empty-geometry', `the ${g.type} has no coordinates`);
    return g.type === 'Polygon' ? [g.coordinates] : (g.coordinates as unknown[][]);
  }
  if (g.type === 'GeometryCollection' && Array.isArray(g.geometries)) {
    const members = g.geometries as GeoJSON.Geometry[];
    if (members.length === 0) throw new Drop('empty-geometry', 'the GeometryCollection is empty');
    const other = members.find((m) => m?.type !== 'Polygon' && m?.type !== 'MultiPolygon');
    if (other) {
      throw new Drop(
        'unsupported-geometry',
        `the GeometryCollection holds a ${String(other?.type)}; a collection may hold only areas (points and lines are kept, with labels.points / labels.lines, as features of their own)`,
      );
    }
    return members.flatMap((m) => polygonParts(m));
  }
  const hint =
    g.type === 'Point' || g.type === 'MultiPoint'
      ? 'set labels.points (e.g. {"rasterize": "disc", "radius": 5}) to keep points'
      : g.type === 'LineString' || g.type === 'MultiLineString'
        ? 'set labels.lines (e.g. {"width": 10}) to keep lines'
        : 'labels must be Polygon, MultiPolygon or, with labels.points / labels.lines, points and lines';
  throw new Drop('unsupported-geometry', `geometry type ${String(g.type)} is not an area; ${hint}`);
}

/** Flat rings from raw coordinates: closes, deduplicates and range-checks; logs what it fixed. */
function toRings(coords: unknown[], where: string, epsg: number, found: Problem[]): Ring[] {
  const rings: Ring[] = [];
  let unclosed = 0;
  let duplicates = 0;
  coords.forEach((ringCoords, r) => {
    if (!Array.isArray(ringCoords))
      throw new Drop('invalid-geometry', `${where} ring ${r} is not an array of positions`);
    const flat: number[] = [];
    ringCoords.forEach((pos: unknown, v) => {
      const x = Array.isArray(pos) ? pos[0] : undefined;
      const y = Array.isArray(pos) ? pos[1] : undefined;
      if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y)) {
        throw new Drop(
          'out-of-range-coordinates',
          `${where} ring ${r} vertex ${v} is ${quoteValue(pos, 48)}: not two finite numbers`,
        );
      }
      if (epsg === 4326 && (x < -180 || x > 180 || y < -90 || y > 90)) {
        throw new Drop(
          'out-of-range-coordinates',
          `${where} ring ${r} vertex ${v} is (${x}, ${y}), outside lon ±180 / lat ±90; is the CRS right (labels.crs)?`,
        );
      }
      const n = flat.length;
      if (n >= 2 && flat[n - 2] === x && flat[n - 1] === y) {
        duplicates++;
        return;
      }
      flat.push(x, y);
    });
    const n = flat.length;
    if (n >= 4 && flat[0] === flat[n - 2] && flat[1] === flat[n - 1]) flat.length = n - 2;
    else if (n >= 2) unclosed++;
    // After removing the closing vertex, a repeat of the first vertex at the end is a duplicate.
    while (flat.length >= 4 && flat[0] === flat[flat.length - 2] && flat[1] === flat[flat.length - 1]) {
      flat.length -= 2;
      duplicates++;
    }
    rings.push(Float64Array.from(flat));
  });
  if (unclosed > 0)
    found.push({
      problem: 'unclosed-ring',
      detail: `${where}: ${unclosed} ring(s) not closed`,
      action: 'fixed',
    });
  if (duplicates > 0) {
    found.push({
      problem: 'duplicate-vertices',
      detail: `${where}: ${duplicates} repeated consecutive vertex/vertices removed`,
      action: 'fixed',
    });
  }
  return rings;
}

/** Degenerate rings, self-intersections and stray holes of one polygon; returns its valid parts. */
function checkPart(
  rings: Ring[],
  where: string,
  repair: boolean,
  found: Problem[],
  partProblems: Problem[],
): PolygonRings[] {
  const [shell, ...holeRings] = rings;
  if (!shell || shell.length === 0) {
    partProblems.push({ problem: 'empty-geometry', detail: `${where} has no outer ring`, action: 'dropped' });
    return [];
  }
  const degenerate = (ring: Ring, name: string): Problem | undefined => {
    if (ring.length < 6) {
      return {
        problem: 'too-few-vertices',
        detail: `${where} ${name} has ${ring.length / 2} distinct vertices, at least 3 needed`,
        action: 'dropped',
      };
    }
    // Collinear rather than |area| = 0: a bowtie's halves cancel to zero area but it is no line.
    if (isCollinear(ring)) {
      return {
        problem: 'zero-area',
        detail: `${where} ${name} encloses no area (its vertices are collinear)`,
        action: 'dropped',
      };
    }
    return undefined;
  };
  const shellProblem = degenerate(shell, 'outer ring');
  if (shellProblem) {
    partProblems.push(shellProblem);
    return [];
  }
  const holes: Ring[] = [];
  holeRings.forEach((hole, h) => {
    const p = degenerate(hole, `hole ${h + 1}`);
    if (p) found.push({ ...p, detail: `${p.detail}; the hole was removed`, action: 'fixed' });
    else holes.push(hole);
  });
  const all = [shell, ...holes];
  let hit: ReturnType<typeof findRingIntersection>;
  try {
    hit = findRingIntersection(all);
  } catch (error) {
    if (!(error instanceof RingCheckTooComplex)) throw error;
    throw new Drop('too-complex', `${where}: ${error.message}`);
  }
  if (hit) {
    const name = (r: number) => (r === 0 ? 'the outer ring' : `hole ${r}`);
    const at =
      hit.ringA === hit.ringB
        ? `${name(hit.ringA)} crosses itself (edges ${hit.segmentA} and ${hit.segmentB}, ${hit.kind})`
        : `${name(hit.ringA)} and ${name(hit.ringB)} cross (edges ${hit.segmentA} and ${hit.segmentB}, ${hit.kind})`;
    if (!repair) {
      throw new Drop(
        'self-intersection',
        `${where}: ${at}; set labels.repair to true to repair such polygons`,
      );
    }
    const repaired = repairPolygon({ rings: all });
    const parts: PolygonRings[] = [];
    const usable = (ring: Ring) => ring.length >= 6 && signedArea(ring) !== 0;
    for (const poly of repaired ?? []) {
      const [outer, ...inner] = poly.map(dedupe);
      if (outer && usable(outer)) parts.push({ rings: [outer, ...inner.filter(usable)] });
    }
    if (parts.length === 0)
      throw new Drop('self-intersection', `${where}: ${at}; nothing was left after repair`);
    found.push({
      problem: 'self-intersection',
      detail: `${where}: ${at}; repaired into ${parts.length} polygon(s)`,
      action: 'fixed',
    });
    return parts;
  }
  // With no crossings a hole is wholly inside or wholly outside: test a vertex that is not on the shell.
  const inner = holes.filter((hole, h) => {
    const inside = holeInside(hole, shell);
    if (!inside) {
      found.push({
        problem: 'hole-outside-shell',
        detail: `${where} hole ${h + 1} lies outside its outer ring; removed`,
        action: 'fixed',
      });
    }
    return inside;
  });
  return [{ rings: [shell, ...inner] }];
}

function holeInside(hole: Ring, shell: Ring): boolean {
  const [hx0, hy0, hx1, hy1] = ringBounds(hole);
  const [sx0, sy0, sx1, sy1] = ringBounds(shell);
  if (hx0 < sx0 || hy0 < sy0 || hx1 > sx1 || hy1 > sy1) return false;
  // Vertices on the shell may test either way: a majority of the first few decides.
  let votes = 0;
  for (let i = 0; i + 1 < hole.length && Math.abs(votes) < 3; i += 2) {
    votes += pointInRing(hole[i] as number, hole[i + 1] as number, shell) ? 1 : -1;
  }
  return votes > 0;
}

/** Flat ring from closed GeoJSON positions, without the closing vertex and repeated vertices. */
function dedupe(ring: GeoJSON.Position[]): Ring {
  const flat: number[] = [];
  for (const p of ring) {
    const x = p[0] as number;
    const y = p[1] as number;
    const n = flat.length;
    if (n >= 2 && flat[n - 2] === x && flat[n - 1] === y) continue;
    flat.push(x, y);
  }
  while (flat.length >= 4 && flat[0] === flat[flat.length - 2] && flat[1] === flat[flat.length - 1])
    flat.length -= 2;
  return Float64Array.from(flat);
}

function orient(part: PolygonRings): { polygon: PolygonRings; rewound: number } {
  let rewound = 0;
  const rings = part.rings.map((ring, r) => {
    const ccw = signedArea(ring) > 0;
    if (ccw === (r === 0)) return ring;
    rewound++;
    return reverseRing(ring);
  });
  return { polygon: { rings }, rewound };
}

type PreparedAoi = {
  bounds: Bounds;
  geometry: GeoJSON.Polygon | GeoJSON.MultiPolygon;
};

function prepareAoi(aoi: GeoJSON.Polygon | GeoJSON.MultiPolygon, epsg: number): PreparedAoi {
  const geometry = epsg === 4326 ? aoi : projectPolygon(aoi, epsg);
  return { bounds: boundsOf(geometry), geometry };
}

/** Points and lines: whether their geometry (not their future footprint) meets the AOI. */
function shapeTouchesAoi(shape: VectorShape, aoi: PreparedAoi): boolean {
  const positions = shape.parts.map((part) => {
    const out: GeoJSON.Position[] = [];
    for (let i = 0; i + 1 < part.length; i += 2) out.push([part[i] as number, part[i + 1] as number]);
    return out;
  });
  const geometry: GeoJSON.Geometry =
    shape.kind === 'point'
      ? { type: 'MultiPoint', coordinates: positions.map((p) => p[0] as GeoJSON.Position) }
      : { type: 'MultiLineString', coordinates: positions };
  return booleanIntersects(geometry, aoi.geometry);
}

function touchesAoi(polygons: readonly PolygonRings[], aoi: PreparedAoi): boolean {
  const [ax0, ay0, ax1, ay1] = aoi.bounds;
  let boxHit = false;
  for (const p of polygons) {
    const [x0, y0, x1, y1] = ringBounds(p.rings[0] as Ring);
    if (x1 >= ax0 && x0 <= ax1 && y1 >= ay0 && y0 <= ay1) boxHit = true;
  }
  if (!boxHit) return false;
  const coordinates = polygons.map((p) => p.rings.map(closedPositions));
  return booleanIntersects({ type: 'MultiPolygon', coordinates }, aoi.geometry);
}
