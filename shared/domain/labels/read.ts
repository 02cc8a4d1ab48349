// Reads a ground-truth file (GeoJSON, FlatGeobuf or DeepSatData CSV) from its bytes into raw
// features in one CRS. No validation here: validate.ts checks and logs every feature.

import { converterBetween, mapPositions, parseEpsg, proj4Definition } from '../crs.ts';
import { InvalidInputError, SatfactoryError } from '../errors.ts';
import { boundedMessage, jsonSyntaxProblem, quoteSnippet, quoteValue } from '../snippet.ts';
import { parseCsv } from './csv.ts';
import { FgbFormatError, type FgbHeader, iterateFlatGeobufBytes } from './flatgeobuf.ts';
import { parseWkt, type WktResult } from './wkt.ts';

export type LabelFormat = 'geojson' | 'flatgeobuf' | 'csv';

export type RawFeature = {
  /** 0-based position in the file. */
  readonly index: number;
  readonly geometry: GeoJSON.Geometry | null;
  readonly properties: Record<string, unknown>;
  /** The file's own feature id (GeoJSON `id`, FlatGeobuf feature number), when it has one. */
  readonly fileId?: string | number;
  /** Why the reader could not produce a geometry (e.g. bad WKT); the validator logs and drops it. */
  readonly readProblem?: { readonly problem: string; readonly detail: string };
};

export type RawLabelSet = { readonly epsg: number; readonly features: RawFeature[] };

export type ReadLabelOptions = {
  /** File name or URI: used in messages and to pick the format from its extension. */
  readonly source: string;
  readonly format?: LabelFormat;
  /** labels.crs, e.g. "EPSG:31287": declares the CRS and overrides what the file says. */
  readonly crs?: string;
  /** Bounds on what one file may hold (defaults: LABEL_READ_LIMITS). */
  readonly limits?: Partial<LabelReadLimits>;
};

export type LabelReadLimits = {
  /** Features (GeoJSON features, FlatGeobuf features, CSV rows) one label file may hold. */
  readonly maxFeatures: number;
  /** Bytes of a GeoJSON or CSV file: text past V8's longest string (2^29 - 24 characters) cannot be parsed. */
  readonly maxTextBytes: number;
  /** Nesting of GeometryCollections in one feature. */
  readonly maxGeometryDepth: number;
};

/**
 * Every reader stops at these bounds with an error naming the file, so no label file can make a
 * step read or loop without end. Ten million features is more than a national parcel register.
 */
export const LABEL_READ_LIMITS: LabelReadLimits = {
  maxFeatures: 10_000_000,
  maxTextBytes: 0x1fffffe8,
  maxGeometryDepth: 32,
};

/**
 * Reads a label file. CRS: `options.crs` when given, else what the file declares (GeoJSON legacy
 * `crs` member, FlatGeobuf header, CSV `crs` column), else EPSG:4326 for GeoJSON (RFC 7946).
 */
export async function readLabelSource(bytes: Uint8Array, options: ReadLabelOptions): Promise<RawLabelSet> {
  const { source } = options;
  const declared =
    options.crs === undefined ? undefined : parseEpsgOrThrow(options.crs, source, 'labels.crs');
  const format = options.format ?? detectFormat(bytes, source);
  const limits = { ...LABEL_READ_LIMITS, ...options.limits };
  if (format !== 'flatgeobuf' && bytes.byteLength > limits.maxTextBytes) {
    throw new InvalidInputError(
      `${source} is ${bytes.byteLength} bytes, more than the ${limits.maxTextBytes} a ${format === 'csv' ? 'CSV' : 'GeoJSON'} label file can have (the longest text JavaScript can parse); convert it to FlatGeobuf (ogr2ogr -f FlatGeobuf labels.fgb ${format === 'csv' ? 'labels.csv' : 'labels.geojson'}) or split it`,
      { source, pointer: '/labels/source' },
    );
  }
  const set =
    format === 'geojson'
      ? readGeoJson(bytes, source, declared, limits)
      : format === 'flatgeobuf'
        ? readFlatGeobuf(bytes, source, declared, limits)
        : readCsv(bytes, source, declared, limits);
  requireKnownEpsg(set.epsg, source);
  return set;
}

/** Raw features that may come one at a time: iterate them once. */
export type RawLabelStream = { readonly epsg: number; readonly features: Iterable<RawFeature> };

/**
 * As readLabelSource, but FlatGeobuf features are decoded one at a time as the caller iterates, so
 * ingestion never holds every decoded geometry at once (GeoJSON and CSV are read whole). Errors are
 * the same; a damaged FlatGeobuf file throws when the iteration reaches the damage.
 */
export async function readLabelStream(bytes: Uint8Array, options: ReadLabelOptions): Promise<RawLabelStream> {
  const { source } = options;
  const declared =
    options.crs === undefined ? undefined : parseEpsgOrThrow(options.crs, source, 'labels.crs');
  const format = options.format ?? detectFormat(bytes, source);
  const limits = { ...LABEL_READ_LIMITS, ...options.limits };
  if (format === 'geojson' && bytes.byteLength <= limits.maxTextBytes) {
    const stream = streamGeoJson(bytes, source, declared, limits);
    if (stream) {
      requireKnownEpsg(stream.epsg, source);
      return stream;
    }
  }
  if (format !== 'flatgeobuf') return readLabelSource(bytes, { ...options, format });
  const stream = streamFlatGeobuf(bytes, source, limits);
  const epsg = fgbEpsg(stream.header, declared, source);
  requireKnownEpsg(epsg, source);
  return { epsg, features: stream.features };
}

export function detectFormat(bytes: Uint8Array, source: string): LabelFormat {
  const name = source.toLowerCase().replace(/[?#].*$/, '');
  if (/\.(geo)?json$/.test(name)) return 'geojson';
  if (name.endsWith('.fgb')) return 'flatgeobuf';
  if (name.endsWith('.csv')) return 'csv';
  // No telling extension: FlatGeobuf starts with its magic bytes, GeoJSON with "{".
  if (bytes[0] === 0x66 && bytes[1] === 0x67 && bytes[2] === 0x62) return 'flatgeobuf';
  const first = new TextDecoder()
    .decode(bytes.subarray(0, 64))
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (first.startsWith('{')) return 'geojson';
  throw new InvalidInputError(
    `${source}: cannot tell the label format from the name; set labels.format to geojson, flatgeobuf or csv`,
    { source, pointer: '/labels/format' },
  );
}

function parseEpsgOrThrow(text: string, source: string, where: string): number {
  const epsg = parseEpsg(text);
  if (epsg === undefined) {
    throw new InvalidInputError(
      `${source}: ${where} ${quoteSnippet(text, 40)} is not an EPSG code; write it as "EPSG:<code>" (e.g. "EPSG:31287")`,
      where === 'labels.crs' ? { source, pointer: '/labels/crs' } : { source },
    );
  }
  return epsg;
}

function requireKnownEpsg(epsg: number, source: string): void {
  try {
    proj4Definition(epsg);
  } catch (error) {
    if (!(error instanceof SatfactoryError)) throw error;
    throw new InvalidInputError(`${source}: ${error.message}`, { source, epsg }, { cause: error });
  }
}

// --- GeoJSON ---------------------------------------------------------------------------------

function readGeoJson(
  bytes: Uint8Array,
  source: string,
  declared: number | undefined,
  limits: LabelReadLimits,
): RawLabelSet {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes).replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new InvalidInputError(
      `${source} is not valid JSON (${jsonSyntaxProblem(error)}); export it again as GeoJSON`,
      { source },
      { cause: error },
    );
  }
  if (!isObject(doc)) throw notGeoJson(source, 'the document is not a JSON object');
  const fileEpsg = geoJsonCrs(doc, source);
  const epsg = declared ?? fileEpsg ?? 4326;
  let items: unknown[];
  if (doc['type'] === 'FeatureCollection') {
    if (!Array.isArray(doc['features'])) throw notGeoJson(source, '"features" is not an array');
    items = doc['features'];
  } else if (doc['type'] === 'Feature') items = [doc];
  else if (typeof doc['type'] === 'string' && 'coordinates' in doc)
    items = [{ type: 'Feature', geometry: doc }];
  else
    throw notGeoJson(source, `"type" is ${quoteValue(doc['type'])}, expected FeatureCollection or Feature`);
  tooManyFeatures(items.length, limits, source, 'features');
  const features = items.map((item, index) => rawGeoJsonFeature(item, index, limits));
  return { epsg, features };
}

/**
 * A FeatureCollection read feature by feature: a first pass over the bytes finds the top-level
 * members (type, crs, wherever they are) and counts the features without parsing them, then each
 * feature's bytes are parsed as it is iterated. Anything else (a Feature, a geometry, a document
 * the first pass finds malformed) returns undefined: the caller reads the file whole, with its
 * messages. A feature that does not parse throws what the whole-file reader says about the file.
 */
function streamGeoJson(
  bytes: Uint8Array,
  source: string,
  declared: number | undefined,
  limits: LabelReadLimits,
): RawLabelStream | undefined {
  const scan = scanFeatureCollection(bytes);
  if (!scan) return undefined;
  tooManyFeatures(scan.count, limits, source, 'features');
  const members = { type: 'FeatureCollection', ...(scan.crs === undefined ? {} : { crs: scan.crs }) };
  const epsg = declared ?? geoJsonCrs(members, source) ?? 4326;
  const decoder = new TextDecoder();
  function* features(): Generator<RawFeature> {
    let index = 0;
    for (const [start, end] of elements(bytes, scan!.features)) {
      let item: unknown;
      try {
        item = JSON.parse(decoder.decode(bytes.subarray(start, end)));
      } catch (error) {
        // The whole-file reader names the syntax error and where it is (it throws here).
        readGeoJson(bytes, source, declared, limits);
        throw error;
      }
      yield rawGeoJsonFeature(item, index++, limits);
    }
  }
  return { epsg, features: features() };
}

const WS = (c: number | undefined) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function skipWs(b: Uint8Array, i: number): number {
  while (i < b.length && WS(b[i])) i++;
  return i;
}

/** End (exclusive) of the JSON string starting at b[i] === '"', or -1. */
function skipString(b: Uint8Array, i: number): number {
  for (i++; i < b.length; i++) {
    const c = b[i];
    if (c === 0x5c) i++;
    else if (c === 0x22) return i + 1;
  }
  return -1;
}

/** End (exclusive) of the JSON value starting at b[i], by its brackets and strings, or -1. */
function skipValue(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c === 0x22) return skipString(b, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    while (i < b.length) {
      const d = b[i];
      if (d === 0x22) {
        i = skipString(b, i);
        if (i < 0) return -1;
        continue;
      }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return -1;
  }
  const start = i;
  while (i < b.length && b[i] !== 0x2c && b[i] !== 0x7d && b[i] !== 0x5d && !WS(b[i])) i++;
  return i > start ? i : -1;
}

/** The [start, end) spans of the elements of the array opening at b[open] === '['; throws if malformed. */
function* elements(b: Uint8Array, open: number): Generator<[number, number]> {
  let i = skipWs(b, open + 1);
  if (b[i] === 0x5d) return;
  for (;;) {
    const end = skipValue(b, i);
    if (end < 0) throw new Error('malformed array');
    yield [i, end];
    i = skipWs(b, end);
    if (b[i] === 0x5d) return;
    if (b[i] !== 0x2c) throw new Error('malformed array');
    i = skipWs(b, i + 1);
  }
}

/** Top-level members of a FeatureCollection document (its features only located and counted). */
function scanFeatureCollection(
  b: Uint8Array,
): { features: number; count: number; crs?: unknown } | undefined {
  const decoder = new TextDecoder();
  const parse = (start: number, end: number): unknown => JSON.parse(decoder.decode(b.subarray(start, end)));
  try {
    let i = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
    i = skipWs(b, i);
    if (b[i] !== 0x7b) return undefined;
    i = skipWs(b, i + 1);
    let type: unknown;
    let crs: unknown;
    let features = -1;
    let count = 0;
    while (b[i] !== 0x7d) {
      if (b[i] !== 0x22) return undefined;
      const keyEnd = skipString(b, i);
      if (keyEnd < 0) return undefined;
      const key = parse(i, keyEnd);
      i = skipWs(b, keyEnd);
      if (b[i] !== 0x3a) return undefined;
      i = skipWs(b, i + 1);
      let end: number;
      if (key === 'features') {
        // A second "features" member would win in JSON.parse: leave such a file to the whole reader.
        if (features >= 0 || b[i] !== 0x5b) return undefined;
        features = i;
        end = i + 1;
        for (const [, e] of elements(b, i)) {
          count++;
          end = e;
        }
        end = skipWs(b, count ? end : i + 1) + 1; // past the closing ']'
      } else {
        end = skipValue(b, i);
        if (end < 0) return undefined;
        if (key === 'type') type = parse(i, end);
        else if (key === 'crs') crs = parse(i, end);
      }
      i = skipWs(b, end);
      if (b[i] === 0x2c) {
        i = skipWs(b, i + 1);
        if (b[i] !== 0x22) return undefined; // a trailing comma is not JSON
      } else if (b[i] !== 0x7d) return undefined;
    }
    if (skipWs(b, i + 1) !== b.length) return undefined;
    if (type !== 'FeatureCollection' || features < 0) return undefined;
    return { features, count, ...(crs === undefined ? {} : { crs }) };
  } catch {
    return undefined;
  }
}

/** One element of a FeatureCollection's `features` as a raw feature (a problem noted, never thrown). */
function rawGeoJsonFeature(item: unknown, index: number, limits: LabelReadLimits): RawFeature {
  if (!isObject(item)) {
    return {
      index,
      geometry: null,
      properties: {},
      readProblem: {
        problem: 'invalid-feature',
        detail: `/features/${index} is not a GeoJSON Feature object`,
      },
    };
  }
  const id = item['id'];
  const geometry = item['geometry'];
  const depth = isObject(geometry) ? collectionDepth(geometry, limits.maxGeometryDepth) : 0;
  return {
    index,
    geometry: isObject(geometry) ? (geometry as unknown as GeoJSON.Geometry) : null,
    properties: isObject(item['properties']) ? item['properties'] : {},
    ...(typeof id === 'string' || typeof id === 'number' ? { fileId: id } : {}),
    ...(depth > limits.maxGeometryDepth
      ? {
          readProblem: {
            problem: 'invalid-geometry',
            detail: `/features/${index}/geometry nests GeometryCollections deeper than ${limits.maxGeometryDepth} levels`,
          },
        }
      : {}),
  };
}

/** The legacy (2008) `crs` member: {"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::28992"}}. */
function geoJsonCrs(doc: Record<string, unknown>, source: string): number | undefined {
  const crs = doc['crs'];
  if (crs === undefined || crs === null) return undefined;
  const props = isObject(crs) && isObject(crs['properties']) ? crs['properties'] : undefined;
  const name = props?.['name'] ?? props?.['code'];
  if (typeof name === 'string' || typeof name === 'number')
    return parseEpsgOrThrow(String(name), source, 'crs member');
  throw new InvalidInputError(
    `${source}: its "crs" member names no CRS (${quoteSnippet(JSON.stringify(crs), 48)}); remove it and set labels.crs`,
    { source, pointer: '/crs' },
  );
}

/** How deep GeometryCollections nest in a geometry, counted without recursion up to `stop` + 1. */
function collectionDepth(geometry: Record<string, unknown>, stop: number): number {
  let depth = 0;
  let level: unknown[] = [geometry];
  while (level.length > 0 && depth <= stop) {
    const next: unknown[] = [];
    for (const g of level) {
      if (isObject(g) && g['type'] === 'GeometryCollection' && Array.isArray(g['geometries'])) {
        next.push(...g['geometries']);
      }
    }
    if (next.length === 0) break;
    depth++;
    level = next;
  }
  return depth;
}

function tooManyFeatures(count: number, limits: LabelReadLimits, source: string, what: string): void {
  if (count > limits.maxFeatures) {
    throw new InvalidInputError(
      `${source} holds ${count} ${what}, more than the ${limits.maxFeatures} a label file may hold; split it into several jobs`,
      { source, pointer: '/labels/source' },
    );
  }
}

function notGeoJson(source: string, why: string): InvalidInputError {
  return new InvalidInputError(`${source} is not GeoJSON: ${why}`, { source });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// --- FlatGeobuf ------------------------------------------------------------------------------

function readFlatGeobuf(
  bytes: Uint8Array,
  source: string,
  declared: number | undefined,
  limits: LabelReadLimits,
): RawLabelSet {
  const stream = streamFlatGeobuf(bytes, source, limits);
  // Every feature first: a damaged file says so before a missing CRS does.
  const features = [...stream.features];
  return { epsg: fgbEpsg(stream.header, declared, source), features };
}

/** The header read at once, then the features one by one; format errors name the file. */
function streamFlatGeobuf(
  bytes: Uint8Array,
  source: string,
  limits: LabelReadLimits,
): { header: FgbHeader; features: Generator<RawFeature> } {
  const fail = (error: FgbFormatError) =>
    new InvalidInputError(
      `${source} is not a readable FlatGeobuf file (${bytes.byteLength} bytes): ${boundedMessage(error, 160)}; export it again, or set labels.format if it is another format`,
      {
        source,
        pointer: '/labels/source',
        byteOffset: error.offset,
        ...(error.feature !== undefined ? { index: error.feature } : {}),
      },
      { cause: error },
    );
  let read: ReturnType<typeof iterateFlatGeobufBytes>;
  try {
    read = iterateFlatGeobufBytes(bytes, limits);
  } catch (error) {
    if (!(error instanceof FgbFormatError)) throw error;
    throw fail(error);
  }
  function* features(): Generator<RawFeature> {
    let index = 0;
    try {
      for (const f of read.features) {
        yield { index, geometry: f.geometry, properties: f.properties, fileId: index };
        index++;
      }
    } catch (error) {
      if (!(error instanceof FgbFormatError)) throw error;
      throw fail(error);
    }
  }
  return { header: read.header, features: features() };
}

function fgbEpsg(header: FgbHeader, declared: number | undefined, source: string): number {
  const crs = header.crs;
  const fileEpsg =
    crs && crs.code > 0 && (crs.org === null || crs.org.toUpperCase() === 'EPSG')
      ? crs.code
      : crs?.codeString
        ? parseEpsg(crs.codeString)
        : undefined;
  const epsg = declared ?? fileEpsg;
  if (epsg === undefined) {
    throw new InvalidInputError(
      `${source}: the FlatGeobuf header has no EPSG code${crs?.org ? ` (its CRS is ${crs.org}:${crs.code})` : ''}; set labels.crs (e.g. "EPSG:4326")`,
      { source, pointer: '/labels/crs' },
    );
  }
  return epsg;
}

// --- DeepSatData CSV -------------------------------------------------------------------------

/**
 * Columns id, ground_truth, crs, year, geometry (WKT). Every column but geometry becomes a property;
 * cells that are plain numbers become numbers (class values and years are usually integers). When
 * rows name different CRSs, the set takes the first row's and the other rows are reprojected to it.
 */
function readCsv(
  bytes: Uint8Array,
  source: string,
  declared: number | undefined,
  limits: LabelReadLimits,
): RawLabelSet {
  let table: ReturnType<typeof parseCsv>;
  try {
    table = parseCsv(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new InvalidInputError(`${source}: ${boundedMessage(error)}`, { source }, { cause: error });
  }
  tooManyFeatures(table.rows.length, limits, source, 'rows');
  const geometryColumn = table.header.findIndex(
    (h) => h.toLowerCase() === 'geometry' || h.toLowerCase() === 'wkt',
  );
  if (geometryColumn < 0) {
    throw new InvalidInputError(
      `${source}: the CSV has no "geometry" column (${describeColumns(table.header)}); add the WKT geometry as "geometry"`,
      { source },
    );
  }
  const crsColumn = table.header.findIndex((h) => h.toLowerCase() === 'crs');
  const rowCrs: (number | undefined)[] = table.rows.map((row, r) => {
    const cell = crsColumn >= 0 ? row[crsColumn]?.trim() : undefined;
    return cell ? parseEpsgOrThrow(cell, source, `row ${r} (line ${table.lines[r]}) crs`) : undefined;
  });
  const parsed = table.rows.map((row, r) => {
    try {
      return parseWkt(row[geometryColumn] ?? '');
    } catch (error) {
      return new Error(`line ${table.lines[r]}: ${(error as Error).message}`);
    }
  });
  const firstDeclared =
    rowCrs.find((c) => c !== undefined) ?? parsed.find((p): p is WktResult => !(p instanceof Error))?.srid;
  const epsg = declared ?? firstDeclared ?? 4326;
  const features = table.rows.map((row, index): RawFeature => {
    const properties: Record<string, unknown> = {};
    table.header.forEach((name, c) => {
      if (c !== geometryColumn) properties[name] = typedCell(row[c] ?? '');
    });
    const id = properties['id'];
    const fileId = typeof id === 'string' || typeof id === 'number' ? { fileId: id } : {};
    const result = parsed[index];
    if (result === undefined || result instanceof Error) {
      return {
        index,
        geometry: null,
        properties,
        ...fileId,
        readProblem: {
          problem: 'invalid-wkt',
          detail: `geometry is not valid WKT: ${result?.message ?? 'missing'}`,
        },
      };
    }
    const from = declared ?? rowCrs[index] ?? result.srid ?? epsg;
    const geometry = from === epsg ? result.geometry : reprojectGeometry(result.geometry, from, epsg, source);
    return { index, geometry, properties, ...fileId };
  });
  return { epsg, features };
}

/**
 * The header of a CSV for a message: at most a few names, each short and escaped. A file that is not
 * a label table at all (a job pointing labels.source at the wrong file) shows no more than a glimpse.
 */
function describeColumns(header: readonly string[]): string {
  const shown = header.slice(0, 6).map((h) => quoteSnippet(h, 20));
  const more = header.length > 6 ? ` and ${header.length - 6} more` : '';
  return `${header.length} column(s): ${shown.join(', ')}${more}`;
}

function typedCell(cell: string): string | number | null {
  const t = cell.trim();
  if (t === '') return null;
  return /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t) ? Number(t) : cell;
}

function reprojectGeometry(g: GeoJSON.Geometry, from: number, to: number, source: string): GeoJSON.Geometry {
  requireKnownEpsg(from, source);
  const c = converterBetween(from, to);
  return mapPositions(g, (p) => c.forward(p));
}
