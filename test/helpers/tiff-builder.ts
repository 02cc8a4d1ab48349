// Writes small little-endian GeoTIFFs in memory for fast tests without GDAL: tiled or stripped,
// none/DEFLATE/ZSTD, predictor 2, GDAL_NODATA, GeoKeys, extra images, odd tile orders and sparse tiles.

import { deflateSync, zstdCompressSync } from 'node:zlib';
import type { Pixels } from '../../shared/domain/cog-tiles.ts';

/** Row-major samples of one band: the decoded pixel types the reader supports. */
export type SampleArray = Pixels;

export type TiffGeo =
  | {
      originX: number;
      originY: number;
      resX: number;
      resY: number;
      epsg?: number;
      pixelIsPoint?: boolean;
      geographic?: boolean;
    }
  | { matrix: number[]; epsg?: number };

export type TiffImage = {
  width: number;
  height: number;
  /** Row-major samples, width * height (single band). */
  data: SampleArray;
  /** Tiled when set; stripped (rowsPerStrip rows) otherwise. */
  tileWidth?: number;
  tileHeight?: number;
  rowsPerStrip?: number;
  compression?: 1 | 8 | 50000;
  /** Written in the Compression tag instead of `compression` (to fake an unsupported codec). */
  compressionTag?: number;
  predictor?: 1 | 2;
  nodata?: string;
  geo?: TiffGeo | null;
  /** NewSubfileType: 1 reduced-resolution (overview), 4 mask. */
  subfileType?: number;
  /** Order of tile data in the file: row-major (default) or reversed. */
  tileOrder?: 'row-major' | 'reverse';
  /** Bytes of filler between consecutive tiles (GDAL COGs have 8: leader + trailer). */
  gapBytes?: number;
  /** Tiles whose samples all equal nodata are left out (offset 0, count 0), as GDAL's SPARSE_OK. */
  sparse?: boolean;
};

type Entry = { tag: number; type: 2 | 3 | 4 | 12; values: number[] | string };

const TYPE_SIZE = { 2: 1, 3: 2, 4: 4, 12: 8 } as const;

/** Builds a TIFF with the images in the given order (IFD 0 first). */
export function buildTiff(images: TiffImage[]): Uint8Array {
  const tiles = images.map(encodeTiles);
  // Pass 1 with placeholder offsets measures the IFDs; pass 2 writes them with real offsets.
  const measure = images.map((img, k) =>
    entriesFor(img, new Array((tiles[k] as Uint8Array[]).length).fill(0), tiles[k] as Uint8Array[]),
  );
  let at = 8;
  const ifdStarts: number[] = [];
  for (const entries of measure) {
    ifdStarts.push(at);
    at += ifdSize(entries);
  }
  const dataStart = at;
  const tileOffsets: number[][] = [];
  for (let k = 0; k < images.length; k++) {
    const img = images[k] as TiffImage;
    const list = tiles[k] as Uint8Array[];
    const offsets = new Array<number>(list.length).fill(0);
    const order = list.map((_, i) => i);
    if (img.tileOrder === 'reverse') order.reverse();
    for (const i of order) {
      const t = list[i] as Uint8Array;
      if (t.byteLength === 0) continue;
      offsets[i] = at;
      at += t.byteLength + (img.gapBytes ?? 0);
    }
    tileOffsets.push(offsets);
  }
  const out = new Uint8Array(at);
  const view = new DataView(out.buffer);
  out[0] = 0x49;
  out[1] = 0x49;
  view.setUint16(2, 42, true);
  view.setUint32(4, 8, true);
  for (let k = 0; k < images.length; k++) {
    const entries = entriesFor(images[k] as TiffImage, tileOffsets[k] as number[], tiles[k] as Uint8Array[]);
    const next = k + 1 < images.length ? (ifdStarts[k + 1] as number) : 0;
    writeIfd(view, ifdStarts[k] as number, entries, next);
  }
  for (let k = 0; k < images.length; k++) {
    (tiles[k] as Uint8Array[]).forEach((t, i) => {
      if (t.byteLength > 0) out.set(t, (tileOffsets[k] as number[])[i] as number);
    });
  }
  if (dataStart > out.length) throw new Error('layout error');
  return out;
}

function entriesFor(img: TiffImage, offsets: number[], tiles: Uint8Array[]): Entry[] {
  const bits = img.data.BYTES_PER_ELEMENT * 8;
  const format = img.data instanceof Float32Array ? 3 : isSigned(img.data) ? 2 : 1;
  const tiled = img.tileWidth !== undefined;
  const e: Entry[] = [
    { tag: 254, type: 4, values: [img.subfileType ?? 0] },
    { tag: 256, type: 4, values: [img.width] },
    { tag: 257, type: 4, values: [img.height] },
    { tag: 258, type: 3, values: [bits] },
    { tag: 259, type: 3, values: [img.compressionTag ?? img.compression ?? 1] },
    { tag: 262, type: 3, values: [1] },
    { tag: 277, type: 3, values: [1] },
    { tag: 284, type: 3, values: [1] },
    { tag: 317, type: 3, values: [img.predictor ?? 1] },
    { tag: 339, type: 3, values: [format] },
  ];
  const counts = tiles.map((t) => t.byteLength);
  if (tiled) {
    e.push({ tag: 322, type: 3, values: [img.tileWidth as number] });
    e.push({ tag: 323, type: 3, values: [img.tileHeight ?? (img.tileWidth as number)] });
    e.push({ tag: 324, type: 4, values: offsets });
    e.push({ tag: 325, type: 4, values: counts });
  } else {
    e.push({ tag: 273, type: 4, values: offsets });
    e.push({ tag: 278, type: 4, values: [img.rowsPerStrip ?? img.height] });
    e.push({ tag: 279, type: 4, values: counts });
  }
  const geo =
    img.geo === undefined ? { originX: 500000, originY: 5000000, resX: 10, resY: 10, epsg: 32633 } : img.geo;
  if (geo !== null) {
    if ('matrix' in geo) {
      e.push({ tag: 34264, type: 12, values: geo.matrix });
    } else {
      e.push({ tag: 33550, type: 12, values: [geo.resX, geo.resY, 0] });
      const half = geo.pixelIsPoint ? 0.5 : 0;
      e.push({
        tag: 33922,
        type: 12,
        values: [0, 0, 0, geo.originX + half * geo.resX, geo.originY - half * geo.resY, 0],
      });
    }
    const geographic = 'geographic' in geo && geo.geographic === true;
    const keys: number[][] = [
      [1024, 0, 1, geographic ? 2 : 1],
      [1025, 0, 1, 'pixelIsPoint' in geo && geo.pixelIsPoint ? 2 : 1],
    ];
    if (geo.epsg !== undefined) keys.push([geographic ? 2048 : 3072, 0, 1, geo.epsg]);
    e.push({ tag: 34735, type: 3, values: [1, 1, 0, keys.length, ...keys.flat()] });
  }
  if (img.nodata !== undefined) e.push({ tag: 42113, type: 2, values: img.nodata });
  return e.sort((a, b) => a.tag - b.tag);
}

function valueBytes(entry: Entry): number {
  const n = typeof entry.values === 'string' ? entry.values.length + 1 : entry.values.length;
  return n * TYPE_SIZE[entry.type];
}

function ifdSize(entries: Entry[]): number {
  let size = 2 + entries.length * 12 + 4;
  for (const entry of entries) {
    const bytes = valueBytes(entry);
    if (bytes > 4) size += bytes + (bytes & 1);
  }
  return size;
}

function writeIfd(view: DataView, start: number, entries: Entry[], next: number): void {
  view.setUint16(start, entries.length, true);
  let data = start + 2 + entries.length * 12 + 4;
  entries.forEach((entry, k) => {
    const at = start + 2 + k * 12;
    const count = typeof entry.values === 'string' ? entry.values.length + 1 : entry.values.length;
    view.setUint16(at, entry.tag, true);
    view.setUint16(at + 2, entry.type, true);
    view.setUint32(at + 4, count, true);
    const bytes = valueBytes(entry);
    let target = at + 8;
    if (bytes > 4) {
      view.setUint32(at + 8, data, true);
      target = data;
      data += bytes + (bytes & 1);
    }
    writeValues(view, target, entry);
  });
  view.setUint32(start + 2 + entries.length * 12, next, true);
}

function writeValues(view: DataView, at: number, entry: Entry): void {
  if (typeof entry.values === 'string') {
    for (let i = 0; i < entry.values.length; i++) view.setUint8(at + i, entry.values.charCodeAt(i));
    view.setUint8(at + entry.values.length, 0);
    return;
  }
  entry.values.forEach((v, i) => {
    if (entry.type === 3) view.setUint16(at + i * 2, v, true);
    else if (entry.type === 4) view.setUint32(at + i * 4, v, true);
    else view.setFloat64(at + i * 8, v, true);
  });
}

function isSigned(a: SampleArray): boolean {
  return a instanceof Int8Array || a instanceof Int16Array || a instanceof Int32Array;
}

/** Cuts the image into tiles (or strips), applies predictor 2 and compresses each. */
function encodeTiles(img: TiffImage): Uint8Array[] {
  const tiled = img.tileWidth !== undefined;
  const tw = tiled ? (img.tileWidth as number) : img.width;
  const th = tiled ? (img.tileHeight ?? tw) : (img.rowsPerStrip ?? img.height);
  const across = Math.ceil(img.width / tw);
  const down = Math.ceil(img.height / th);
  const Ctor = img.data.constructor as new (n: number) => SampleArray;
  const nodata = img.nodata === undefined ? 0 : Number(img.nodata);
  const out: Uint8Array[] = [];
  for (let ty = 0; ty < down; ty++) {
    for (let tx = 0; tx < across; tx++) {
      // Stripped files end with a short strip; tiles are always full size.
      const rows = tiled ? th : Math.min(th, img.height - ty * th);
      const tile = new Ctor(tw * rows);
      let allNodata = true;
      for (let y = 0; y < rows; y++) {
        for (let x = 0; x < tw; x++) {
          const ix = tx * tw + x;
          const iy = ty * th + y;
          const v = ix < img.width && iy < img.height ? (img.data[iy * img.width + ix] as number) : 0;
          tile[y * tw + x] = v;
          if (ix < img.width && iy < img.height && v !== nodata) allNodata = false;
        }
      }
      if (img.sparse && allNodata) {
        out.push(new Uint8Array(0));
        continue;
      }
      if ((img.predictor ?? 1) === 2) {
        for (let y = 0; y < rows; y++) {
          for (let x = tw - 1; x > 0; x--)
            tile[y * tw + x] = (tile[y * tw + x] as number) - (tile[y * tw + x - 1] as number);
        }
      }
      const raw = new Uint8Array(tile.buffer, tile.byteOffset, tile.byteLength);
      const compression = img.compression ?? 1;
      const encoded =
        compression === 8 ? deflateSync(raw) : compression === 50000 ? zstdCompressSync(raw) : raw.slice();
      out.push(new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength));
    }
  }
  return out;
}

/** Deterministic pseudo-random samples (a small LCG), so tests need no fixtures. */
export function noise<T extends SampleArray>(array: T, seed = 1, max = 10_000): T {
  let s = seed >>> 0;
  for (let i = 0; i < array.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    array[i] = (s >>> 8) % max;
  }
  return array;
}
