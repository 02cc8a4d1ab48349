// A bounded FlatGeobuf reader. The `flatgeobuf` package trusts every length and count in the file:
// a garbage or truncated file made it loop forever (an index of 0 features, a vector length of
// 2^32), or silently return the features before a cut. Here every offset, length and count is
// checked against the bytes that hold it before it is used, so any input ends in a few passes over
// the file: features, or an error naming the byte offset and feature. Layout (flatgeobuf.org):
// magic (8 bytes), header size (uint32) + Header table, optional packed R-tree index, then each
// feature as a size-prefixed Feature table. FlatBuffers tables are read by hand with bounds checks.

import { ColumnType } from 'flatgeobuf/lib/mjs/flat-geobuf/column-type.js';
import { GeometryType } from 'flatgeobuf/lib/mjs/flat-geobuf/geometry-type.js';

export type FgbColumn = { readonly name: string; readonly type: number };
export type FgbCrs = {
  readonly org: string | null;
  readonly code: number;
  readonly codeString: string | null;
};
export type FgbHeader = {
  readonly geometryType: number;
  readonly columns: FgbColumn[];
  /** From the header; 0 means "not known" (a streamed file without index). */
  readonly featuresCount: number;
  readonly indexNodeSize: number;
  readonly crs: FgbCrs | null;
};
export type FgbFeature = {
  readonly geometry: GeoJSON.Geometry | null;
  readonly properties: Record<string, unknown>;
};

/** A file that is not FlatGeobuf or is damaged; `offset` is the byte where the problem is. */
export class FgbFormatError extends Error {
  readonly offset: number;
  readonly feature: number | undefined;
  constructor(message: string, offset: number, feature?: number) {
    super(message);
    this.offset = offset;
    this.feature = feature;
  }
}

const MAGIC = [0x66, 0x67, 0x62, 0x03, 0x66, 0x67, 0x62];
/** GDAL refuses headers over 10 MB; so do we. */
const MAX_HEADER_BYTES = 10 * 1024 * 1024;
/** Nested geometry parts (GeometryCollection in GeometryCollection...) deeper than this are refused. */
const MAX_PART_DEPTH = 32;
/** Bytes of one packed R-tree node: a box of 4 doubles and a uint64 offset. */
const INDEX_NODE_BYTES = 40;
/** The smallest feature record: the size prefix and an empty table (root offset, vtable, table). */
const MIN_FEATURE_BYTES = 4 + 12;

/** A window on the file's bytes; every read is checked to lie inside it. */
class Bounded {
  readonly view: DataView;
  readonly start: number;
  readonly end: number;
  readonly what: string;
  readonly feature: number | undefined;
  constructor(bytes: Uint8Array, start: number, end: number, what: string, feature?: number) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.start = start;
    this.end = end;
    this.what = what;
    this.feature = feature;
  }

  fail(message: string, at: number): never {
    throw new FgbFormatError(`${this.what}: ${message}`, at, this.feature);
  }

  check(pos: number, length: number, what: string): void {
    if (!(pos >= this.start && length >= 0 && pos + length <= this.end)) {
      this.fail(`${what} at byte ${pos} (${length} bytes) runs outside ${this.start}..${this.end}`, pos);
    }
  }
  u8(pos: number): number {
    this.check(pos, 1, 'a byte');
    return this.view.getUint8(pos);
  }
  u16(pos: number): number {
    this.check(pos, 2, 'a uint16');
    return this.view.getUint16(pos, true);
  }
  u32(pos: number): number {
    this.check(pos, 4, 'a uint32');
    return this.view.getUint32(pos, true);
  }
  i32(pos: number): number {
    this.check(pos, 4, 'an int32');
    return this.view.getInt32(pos, true);
  }

  /** The table that the uoffset at `pos` points to. */
  tableAt(pos: number): Table {
    return this.table(pos + this.u32(pos));
  }

  table(pos: number): Table {
    this.check(pos, 4, 'a table');
    const vtable = pos - this.i32(pos);
    const vtableSize = this.u16(vtable);
    if (vtableSize < 4 || vtableSize % 2 !== 0) this.fail(`a vtable of ${vtableSize} bytes`, vtable);
    this.check(vtable, vtableSize, 'a vtable');
    return new Table(this, pos, vtable, vtableSize);
  }

  /** Start and length of the vector that the uoffset at `pos` points to. */
  vector(pos: number, elementBytes: number, what: string): { start: number; length: number } {
    const at = pos + this.u32(pos);
    const length = this.u32(at);
    this.check(at + 4, length * elementBytes, what);
    return { start: at + 4, length };
  }

  string(pos: number, what: string): string {
    const { start, length } = this.vector(pos, 1, what);
    return new TextDecoder().decode(new Uint8Array(this.view.buffer, this.view.byteOffset + start, length));
  }
}

class Table {
  readonly b: Bounded;
  readonly pos: number;
  readonly vtable: number;
  readonly vtableSize: number;
  constructor(b: Bounded, pos: number, vtable: number, vtableSize: number) {
    this.b = b;
    this.pos = pos;
    this.vtable = vtable;
    this.vtableSize = vtableSize;
  }
  /** Absolute position of field `id` (vtable slot 4 + 2 id), or 0 when absent. */
  field(id: number): number {
    const slot = 4 + 2 * id;
    if (slot + 2 > this.vtableSize) return 0;
    const offset = this.b.u16(this.vtable + slot);
    return offset === 0 ? 0 : this.pos + offset;
  }
  u8(id: number, fallback: number): number {
    const at = this.field(id);
    return at ? this.b.u8(at) : fallback;
  }
  u16(id: number, fallback: number): number {
    const at = this.field(id);
    return at ? this.b.u16(at) : fallback;
  }
  i32(id: number, fallback: number): number {
    const at = this.field(id);
    return at ? this.b.i32(at) : fallback;
  }
  u64(id: number): bigint {
    const at = this.field(id);
    if (!at) return 0n;
    this.b.check(at, 8, 'a uint64');
    return this.b.view.getBigUint64(at, true);
  }
  string(id: number, what: string): string | null {
    const at = this.field(id);
    return at ? this.b.string(at, what) : null;
  }
  table(id: number): Table | null {
    const at = this.field(id);
    return at ? this.b.tableAt(at) : null;
  }
  vector(id: number, elementBytes: number, what: string): { start: number; length: number } | null {
    const at = this.field(id);
    return at ? this.b.vector(at, elementBytes, what) : null;
  }
  /** The tables of a vector of tables. */
  tables(id: number, what: string): Table[] {
    const v = this.vector(id, 4, what);
    if (!v) return [];
    const out: Table[] = [];
    for (let i = 0; i < v.length; i++) out.push(this.b.tableAt(v.start + 4 * i));
    return out;
  }
}

/** Bytes of the packed Hilbert R-tree of `count` features (as flatgeobuf's calcTreeSize, always ending). */
export function indexBytes(count: number, nodeSize: number): number {
  if (count === 0 || nodeSize === 0) return 0;
  const size = Math.min(Math.max(nodeSize, 2), 65535);
  // As GDAL's PackedRTree::size: at least one level above the items (a 1-feature tree has 2 nodes).
  let n = count;
  let nodes = n;
  do {
    n = Math.ceil(n / size);
    nodes += n;
  } while (n > 1);
  return nodes * INDEX_NODE_BYTES;
}

export type FgbLimits = {
  /** More features than this is refused (header count or features found). */
  readonly maxFeatures: number;
};

/**
 * Reads a whole FlatGeobuf file: header, then each feature as GeoJSON geometry and properties.
 * Throws FgbFormatError for anything that does not add up; never reads outside `bytes`.
 */
export function readFlatGeobufBytes(
  bytes: Uint8Array,
  limits: FgbLimits,
): { header: FgbHeader; features: FgbFeature[] } {
  const { header, features } = iterateFlatGeobufBytes(bytes, limits);
  return { header, features: [...features] };
}

/**
 * The header at once (its checks throw here), then the features one at a time: a reader that
 * validates and stores each feature as it comes never holds every decoded geometry at once. The
 * file's structure is checked as the iteration goes (a truncated file throws at its end).
 */
export function iterateFlatGeobufBytes(
  bytes: Uint8Array,
  limits: FgbLimits,
): { header: FgbHeader; features: Generator<FgbFeature> } {
  const size = bytes.byteLength;
  if (size < 12 || !MAGIC.every((m, i) => bytes[i] === m)) {
    const seen = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new FgbFormatError(
      `does not start with the FlatGeobuf version 3 signature (66 67 62 03 66 67 62 xx), but with ${seen || 'nothing'}`,
      0,
    );
  }
  const file = new Bounded(bytes, 0, size, 'the file');
  const headerSize = file.u32(8);
  if (headerSize < 8 || headerSize > MAX_HEADER_BYTES || 12 + headerSize > size) {
    throw new FgbFormatError(
      `its header claims ${headerSize} bytes, but the file has ${size - 12} after the signature (header sizes are 8 bytes to 10 MB): the file is truncated or not FlatGeobuf`,
      8,
    );
  }
  const header = readHeader(new Bounded(bytes, 12, 12 + headerSize, 'the header'));
  let offset = 12 + headerSize;
  const count = header.featuresCount;
  if (count > limits.maxFeatures) {
    throw new FgbFormatError(
      `its header claims ${count} features, more than the ${limits.maxFeatures} a label file may hold; split the file`,
      12,
    );
  }
  const index = indexBytes(count, header.indexNodeSize);
  if (count * MIN_FEATURE_BYTES + index > size - offset) {
    throw new FgbFormatError(
      `its header claims ${count} features${index ? ` and a ${index}-byte index` : ''}, which cannot fit in the ${size - offset} bytes after the header: the file is truncated or its header is damaged`,
      offset,
    );
  }
  offset += index;
  return { header, features: featuresOf(bytes, file, header, offset, limits) };
}

function* featuresOf(
  bytes: Uint8Array,
  file: Bounded,
  header: FgbHeader,
  first: number,
  limits: FgbLimits,
): Generator<FgbFeature> {
  const size = bytes.byteLength;
  const count = header.featuresCount;
  let offset = first;
  let n = 0;
  while (offset < size) {
    if (count > 0 && n >= count) {
      throw new FgbFormatError(
        `${size - offset} bytes follow the ${count} features its header announces: the file is damaged`,
        offset,
        n,
      );
    }
    if (n >= limits.maxFeatures) {
      throw new FgbFormatError(
        `holds more than the ${limits.maxFeatures} features a label file may hold; split the file`,
        offset,
        n,
      );
    }
    if (offset + 4 > size) {
      throw new FgbFormatError(
        `feature ${n} is cut short at byte ${offset}: the file is truncated`,
        offset,
        n,
      );
    }
    const length = file.u32(offset);
    if (length < 8 || offset + 4 + length > size) {
      throw new FgbFormatError(
        `feature ${n} at byte ${offset} claims ${length} bytes, but ${size - offset - 4} remain${length < 8 ? ' (a feature needs at least 8)' : ': the file is truncated'}`,
        offset,
        n,
      );
    }
    const start = offset + 4;
    const feature = new Bounded(
      bytes,
      start,
      start + length,
      `feature ${n} (bytes ${start}..${start + length})`,
      n,
    );
    yield readFeature(feature, header);
    n++;
    offset = start + length;
  }
  if (count > 0 && n !== count) {
    throw new FgbFormatError(
      `ends after ${n} of the ${count} features its header announces: the file is truncated`,
      size,
      n,
    );
  }
}

function readHeader(b: Bounded): FgbHeader {
  const h = b.tableAt(b.start);
  const columns = h.tables(7, 'the column list').map((c, i) => {
    const name = c.string(0, `the name of column ${i}`);
    if (!name) b.fail(`column ${i} has no name`, c.pos);
    return { name, type: c.u8(1, 0) };
  });
  const crsTable = h.table(10);
  const crs = crsTable
    ? {
        org: crsTable.string(0, 'the CRS organisation'),
        code: crsTable.i32(1, 0),
        codeString: crsTable.string(5, 'the CRS code string'),
      }
    : null;
  const count = h.u64(8);
  return {
    geometryType: h.u8(2, 0),
    columns,
    featuresCount: count > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(count),
    indexNodeSize: h.u16(9, 16),
    crs,
  };
}

function readFeature(b: Bounded, header: FgbHeader): FgbFeature {
  const f = b.tableAt(b.start);
  const g = f.table(0);
  return {
    geometry: g ? readGeometry(b, g, header.geometryType, 0) : null,
    properties: readProperties(b, f, header.columns),
  };
}

type Coordinates = number[][];

function readGeometry(b: Bounded, g: Table, headerType: number, depth: number): GeoJSON.Geometry {
  if (depth > MAX_PART_DEPTH) b.fail(`geometry parts nest deeper than ${MAX_PART_DEPTH} levels`, g.pos);
  const type = headerType === GeometryType.Unknown ? g.u8(6, 0) : headerType;
  const parts = () => g.tables(7, 'the geometry parts');
  switch (type) {
    case GeometryType.GeometryCollection:
      return {
        type: 'GeometryCollection',
        geometries: parts().map((p) => readGeometry(b, p, GeometryType.Unknown, depth + 1)),
      };
    case GeometryType.MultiPolygon:
      return {
        type: 'MultiPolygon',
        coordinates: parts().map(
          (p) => (readGeometry(b, p, GeometryType.Polygon, depth + 1) as GeoJSON.Polygon).coordinates,
        ),
      };
    case GeometryType.Point:
      return { type: 'Point', coordinates: pairs(b, g)[0] ?? [] };
    case GeometryType.MultiPoint:
      return { type: 'MultiPoint', coordinates: pairs(b, g) };
    case GeometryType.LineString:
      return { type: 'LineString', coordinates: pairs(b, g) };
    case GeometryType.MultiLineString:
      return { type: 'MultiLineString', coordinates: split(b, g) };
    case GeometryType.Polygon:
      return { type: 'Polygon', coordinates: split(b, g) };
    default:
      // Curves, surfaces, TINs: not areas this reader takes; the validator logs and drops them.
      return { type: GeometryType[type] ?? `type ${type}` } as unknown as GeoJSON.Geometry;
  }
}

/** The xy vector as [x, y] pairs. */
function pairs(b: Bounded, g: Table): Coordinates {
  const xy = g.vector(1, 8, 'the coordinates');
  if (!xy) return [];
  if (xy.length % 2 !== 0) b.fail(`an odd number (${xy.length}) of x/y values`, xy.start);
  const out: Coordinates = [];
  for (let i = 0; i < xy.length; i += 2) {
    out.push([b.view.getFloat64(xy.start + 8 * i, true), b.view.getFloat64(xy.start + 8 * i + 8, true)]);
  }
  return out;
}

/** Rings (or lines) of the xy vector, cut at the `ends` vertex counts. */
function split(b: Bounded, g: Table): Coordinates[] {
  const all = pairs(b, g);
  const ends = g.vector(0, 4, 'the ring ends');
  if (!ends || ends.length === 0) return all.length ? [all] : [];
  const out: Coordinates[] = [];
  let from = 0;
  for (let i = 0; i < ends.length; i++) {
    const end = b.view.getUint32(ends.start + 4 * i, true);
    if (end < from || end > all.length) {
      b.fail(`ring end ${i} is vertex ${end}, outside ${from}..${all.length}`, ends.start + 4 * i);
    }
    out.push(all.slice(from, end));
    from = end;
  }
  return out;
}

const textDecoder = new TextDecoder();

function readProperties(b: Bounded, f: Table, columns: readonly FgbColumn[]): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const v = f.vector(1, 1, 'the properties');
  if (!v) return properties;
  const end = v.start + v.length;
  let at = v.start;
  const take = (n: number): number => {
    if (at + n > end) b.fail(`a property value runs past the end of the properties (byte ${end})`, at);
    const here = at;
    at += n;
    return here;
  };
  const view = b.view;
  while (at < end) {
    const i = view.getUint16(take(2), true);
    const column = columns[i];
    if (!column) b.fail(`a property names column ${i}, but the header has ${columns.length}`, at - 2);
    const name = column.name;
    switch (column.type) {
      case ColumnType.Bool:
        properties[name] = view.getUint8(take(1)) !== 0;
        break;
      case ColumnType.Byte:
        properties[name] = view.getInt8(take(1));
        break;
      case ColumnType.UByte:
        properties[name] = view.getUint8(take(1));
        break;
      case ColumnType.Short:
        properties[name] = view.getInt16(take(2), true);
        break;
      case ColumnType.UShort:
        properties[name] = view.getUint16(take(2), true);
        break;
      case ColumnType.Int:
        properties[name] = view.getInt32(take(4), true);
        break;
      case ColumnType.UInt:
        properties[name] = view.getUint32(take(4), true);
        break;
      case ColumnType.Long:
        properties[name] = Number(view.getBigInt64(take(8), true));
        break;
      case ColumnType.ULong:
        properties[name] = Number(view.getBigUint64(take(8), true));
        break;
      case ColumnType.Float:
        properties[name] = view.getFloat32(take(4), true);
        break;
      case ColumnType.Double:
        properties[name] = view.getFloat64(take(8), true);
        break;
      case ColumnType.String:
      case ColumnType.DateTime:
      case ColumnType.Json:
      case ColumnType.Binary: {
        const length = view.getUint32(take(4), true);
        const start = take(length);
        const raw = new Uint8Array(view.buffer, view.byteOffset + start, length);
        if (column.type === ColumnType.Binary) properties[name] = raw.slice();
        else if (column.type === ColumnType.Json) {
          try {
            properties[name] = JSON.parse(textDecoder.decode(raw));
          } catch {
            b.fail(`the JSON value of column "${name}" is not valid JSON`, start);
          }
        } else properties[name] = textDecoder.decode(raw);
        break;
      }
      default:
        b.fail(`column "${name}" has unknown type ${column.type}`, at);
    }
  }
  return properties;
}
