// A compact, exact binary form of label features, so a run stores its labels once and region
// workers read only the chunks near them. Layout (little-endian):
//   "SFLC" | u32 version (1) | u32 header bytes | header JSON (UTF-8) | zero pad to 8 | f64 coordinates
// The header lists, per feature, index, id, class value and the vertex count of every ring, then for
// points and lines the kind and vertex count of every part, and the properties kept for vector.json;
// the coordinates of all rings, then of all parts, follow in order. Float64 keeps every bit.
import { InvalidInputError } from '../errors.ts';
import type { LabelFeature, PolygonRings, VectorShape } from './types.ts';

const MAGIC = 0x434c4653; // "SFLC" read as a little-endian u32
/** 2: points, lines and properties (issue 13). */
const VERSION = 2;

/** What a feature has besides polygons: its points or lines, and its properties. */
type HeaderExtra = { k?: VectorShape['kind']; p?: number[]; props?: Record<string, unknown> };

type HeaderFeature =
  | [index: number, id: string | number | null, classValue: string | number, rings: number[][]]
  | [
      index: number,
      id: string | number | null,
      classValue: string | number,
      rings: number[][],
      extra: HeaderExtra,
    ];

export function encodeLabelChunk(features: readonly LabelFeature[]): Uint8Array {
  const writer = new LabelChunkWriter();
  for (const f of features) writer.add(f);
  return writer.finish();
}

/**
 * Builds a chunk feature by feature (the same bytes as encodeLabelChunk), keeping only the small
 * header entry and the coordinates of each: ingestion adds features as they are validated.
 */
export class LabelChunkWriter {
  readonly #header: HeaderFeature[] = [];
  #coords = new Float64Array(1024);
  #length = 0;

  add(f: LabelFeature): void {
    const rings = f.polygons.map((p) => p.rings.map((r) => r.length / 2));
    const extra: HeaderExtra = {
      ...(f.shape ? { k: f.shape.kind, p: f.shape.parts.map((part) => part.length / 2) } : {}),
      ...(f.properties ? { props: { ...f.properties } } : {}),
    };
    this.#header.push(
      f.shape || f.properties
        ? [f.index, f.id, f.classValue, rings, extra]
        : [f.index, f.id, f.classValue, rings],
    );
    for (const p of f.polygons) for (const r of p.rings) this.#append(r);
    for (const part of f.shape?.parts ?? []) this.#append(part);
  }

  #append(r: Float64Array): void {
    if (this.#length + r.length > this.#coords.length) {
      const grown = new Float64Array(Math.max(this.#coords.length * 2, this.#length + r.length));
      grown.set(this.#coords.subarray(0, this.#length));
      this.#coords = grown;
    }
    this.#coords.set(r, this.#length);
    this.#length += r.length;
  }

  get features(): number {
    return this.#header.length;
  }

  finish(): Uint8Array {
    const json = new TextEncoder().encode(JSON.stringify(this.#header));
    const start = align8(12 + json.length);
    const bytes = new Uint8Array(start + this.#length * 8);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, MAGIC, true);
    view.setUint32(4, VERSION, true);
    view.setUint32(8, json.length, true);
    bytes.set(json, 12);
    // Little-endian doubles, bit for bit (a Float64Array copy would use the host's byte order).
    const coords = this.#coords;
    for (let i = 0, offset = start; i < this.#length; i++, offset += 8)
      view.setFloat64(offset, coords[i] as number, true);
    return bytes;
  }
}

export function decodeLabelChunk(bytes: Uint8Array): LabelFeature[] {
  if (bytes.length === 0) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12 || view.getUint32(0, true) !== MAGIC || view.getUint32(4, true) !== VERSION) {
    throw new InvalidInputError(
      'not a label chunk (bad magic or version); it was written by another version?',
      {},
    );
  }
  const headerLength = view.getUint32(8, true);
  const header = JSON.parse(
    new TextDecoder().decode(bytes.subarray(12, 12 + headerLength)),
  ) as HeaderFeature[];
  let offset = align8(12 + headerLength);
  const take = (n: number): Float64Array => {
    const ring = new Float64Array(n * 2);
    for (let i = 0; i < ring.length; i++, offset += 8) ring[i] = view.getFloat64(offset, true);
    return ring;
  };
  return header.map(([index, id, classValue, rings, extra]): LabelFeature => {
    const polygons: PolygonRings[] = rings.map((counts) => ({ rings: counts.map(take) }));
    const shape = extra?.k ? { kind: extra.k, parts: (extra.p ?? []).map(take) } : undefined;
    return {
      index,
      id,
      classValue,
      polygons,
      ...(shape ? { shape } : {}),
      ...(extra?.props ? { properties: extra.props } : {}),
    };
  });
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
