// Builds FlatGeobuf files piece by piece, valid or broken on purpose: any header count, index node
// size and columns; features with any geometry table and raw property bytes. Uses the FlatBuffers
// builder and the generated tables of the `flatgeobuf` package, so the bytes are what a writer emits.
import * as flatbuffers from 'flatbuffers';
import { Column } from 'flatgeobuf/lib/mjs/flat-geobuf/column.js';
import { Crs } from 'flatgeobuf/lib/mjs/flat-geobuf/crs.js';
import { Feature } from 'flatgeobuf/lib/mjs/flat-geobuf/feature.js';
import { Geometry } from 'flatgeobuf/lib/mjs/flat-geobuf/geometry.js';
import { Header } from 'flatgeobuf/lib/mjs/flat-geobuf/header.js';

export const FGB_MAGIC = Uint8Array.from([0x66, 0x67, 0x62, 0x03, 0x66, 0x67, 0x62, 0x00]);

export type FgbHeaderSpec = {
  count: number | bigint;
  /** Written explicitly (0 = no index); FlatBuffers' default when absent is 16. */
  indexNodeSize?: number;
  geometryType?: number;
  columns?: ReadonlyArray<{ name: string; type: number }>;
  epsg?: number;
};

/** The size-prefixed Header table. */
export function fgbHeader(spec: FgbHeaderSpec): Uint8Array {
  const b = new flatbuffers.Builder(256);
  const columns = spec.columns?.map((c) => {
    const name = b.createString(c.name);
    Column.startColumn(b);
    Column.addName(b, name);
    Column.addType(b, c.type);
    return Column.endColumn(b);
  });
  const columnsVector = columns ? Header.createColumnsVector(b, columns) : 0;
  let crs = 0;
  if (spec.epsg) {
    Crs.startCrs(b);
    Crs.addCode(b, spec.epsg);
    crs = Crs.endCrs(b);
  }
  Header.startHeader(b);
  if (crs) Header.addCrs(b, crs);
  b.forceDefaults(true);
  Header.addFeaturesCount(b, BigInt(spec.count));
  Header.addGeometryType(b, spec.geometryType ?? 3);
  Header.addIndexNodeSize(b, spec.indexNodeSize ?? 0);
  b.forceDefaults(false);
  if (columnsVector) Header.addColumns(b, columnsVector);
  b.finishSizePrefixed(Header.endHeader(b));
  return b.asUint8Array();
}

/** A size-prefixed Feature with a polygon (rings of [x, y]) and raw property bytes. */
export function fgbFeature(rings: number[][][], properties?: Uint8Array): Uint8Array {
  const b = new flatbuffers.Builder(256);
  const xy = Geometry.createXyVector(b, rings.flat(2));
  let n = 0;
  const ends = Geometry.createEndsVector(
    b,
    rings.map((r) => {
      n += r.length;
      return n;
    }),
  );
  Geometry.startGeometry(b);
  Geometry.addXy(b, xy);
  Geometry.addEnds(b, ends);
  const geometry = Geometry.endGeometry(b);
  const props = properties ? Feature.createPropertiesVector(b, properties) : 0;
  Feature.startFeature(b);
  Feature.addGeometry(b, geometry);
  if (props) Feature.addProperties(b, props);
  b.finishSizePrefixed(Feature.endFeature(b));
  return b.asUint8Array();
}

/** A size-prefixed Feature whose GeometryCollection parts nest `depth` levels around a polygon. */
export function fgbNestedFeature(depth: number): Uint8Array {
  const b = new flatbuffers.Builder(1024);
  const xy = Geometry.createXyVector(b, [0, 0, 1, 0, 1, 1, 0, 0]);
  Geometry.startGeometry(b);
  Geometry.addXy(b, xy);
  Geometry.addType(b, 3);
  let g = Geometry.endGeometry(b);
  for (let i = 0; i < depth; i++) {
    const parts = Geometry.createPartsVector(b, [g]);
    Geometry.startGeometry(b);
    Geometry.addType(b, 7);
    Geometry.addParts(b, parts);
    g = Geometry.endGeometry(b);
  }
  Feature.startFeature(b);
  Feature.addGeometry(b, g);
  b.finishSizePrefixed(Feature.endFeature(b));
  return b.asUint8Array();
}

/** A copy of a size-prefixed feature whose coordinate vector claims `length` values. */
export function withXyLength(feature: Uint8Array, length: number): Uint8Array {
  const out = Uint8Array.from(feature);
  const bb = new flatbuffers.ByteBuffer(out);
  const f = Feature.getSizePrefixedRootAsFeature(bb);
  const g = f.geometry() as Geometry;
  const at = bb.__vector(g.bb_pos + bb.__offset(g.bb_pos, 6)) - 4;
  new DataView(out.buffer).setUint32(at, length, true);
  return out;
}

/** Property bytes: column index (uint16) then the value, as FlatGeobuf lays them out. */
export function fgbProperties(
  values: ReadonlyArray<{ column: number; int32?: number; text?: string }>,
): Uint8Array {
  const parts: number[] = [];
  for (const v of values) {
    parts.push(v.column & 0xff, v.column >> 8);
    if (v.int32 !== undefined) {
      const d = new DataView(new ArrayBuffer(4));
      d.setInt32(0, v.int32, true);
      parts.push(...new Uint8Array(d.buffer));
    } else {
      const text = new TextEncoder().encode(v.text ?? '');
      const d = new DataView(new ArrayBuffer(4));
      d.setUint32(0, text.length, true);
      parts.push(...new Uint8Array(d.buffer), ...text);
    }
  }
  return Uint8Array.from(parts);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A whole file: signature, header, optional index bytes, features. */
export function fgbFile(header: Uint8Array, features: Uint8Array[], index = new Uint8Array(0)): Uint8Array {
  return concat(FGB_MAGIC, header, index, ...features);
}
