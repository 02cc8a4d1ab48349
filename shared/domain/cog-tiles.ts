// Tile arithmetic, fetching and decoding for one COG described by a CogInfo: which tiles a pixel
// rect needs, fetch each once (byte-adjacent tiles in one range), inflate + undo predictor, cut rects.
import { inflateSync, zstdDecompressSync } from 'node:zlib';
import type { RangeReader } from '../ports.ts';
import type { CogInfo, PixelRect } from './cog-types.ts';
import { RasterFormatError } from './errors.ts';
import { undoRowsU16Simd } from './predictor-simd.ts';
import { boundedMessage } from './snippet.ts';

/** Decoded samples of one tile or rect, row-major, in the COG's sample type. */
export type Pixels =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array;

export type FetchTilesOptions = {
  /**
   * Tiles whose bytes are at most this far apart are read in one range (default 64). GDAL COGs put
   * a 4-byte leader and a 4-byte trailer around each tile, so "adjacent" tiles sit 8 bytes apart.
   */
  readonly maxGapBytes?: number;
  /** A merged range never grows past this (default 32 MiB), so one answer stays a sane size. */
  readonly maxRangeBytes?: number;
  /** Ranges in flight at once (default 8). */
  readonly concurrency?: number;
};

/** A byte range to read and the tiles it serves. */
export type TileRange = { offset: number; length: number; tiles: number[] };

const DEFAULT_MAX_GAP = 64;
const DEFAULT_MAX_RANGE = 32 * 1024 * 1024;
const DEFAULT_CONCURRENCY = 8;

/** An array of `n` samples of the COG's type (zero-filled). */
export function allocatePixels(cog: CogInfo, n: number): Pixels {
  if (cog.sampleFormat === 'float') return new Float32Array(n);
  const signed = cog.sampleFormat === 'int';
  switch (cog.bitsPerSample) {
    case 8:
      return signed ? new Int8Array(n) : new Uint8Array(n);
    case 16:
      return signed ? new Int16Array(n) : new Uint16Array(n);
    case 32:
      return signed ? new Int32Array(n) : new Uint32Array(n);
  }
}

/** Indices (row-major, ascending) of the tiles a pixel rect touches, clipped to the image. */
export function tilesForRect(cog: CogInfo, rect: PixelRect): number[] {
  const x0 = Math.max(rect.x, 0);
  const y0 = Math.max(rect.y, 0);
  const x1 = Math.min(rect.x + rect.width, cog.width);
  const y1 = Math.min(rect.y + rect.height, cog.height);
  if (x1 <= x0 || y1 <= y0) return [];
  const out: number[] = [];
  const tx1 = Math.floor((x1 - 1) / cog.tileWidth);
  const ty1 = Math.floor((y1 - 1) / cog.tileHeight);
  for (let ty = Math.floor(y0 / cog.tileHeight); ty <= ty1; ty++) {
    for (let tx = Math.floor(x0 / cog.tileWidth); tx <= tx1; tx++) out.push(ty * cog.tilesAcross + tx);
  }
  return out;
}

/** Sum of the stored (compressed) bytes of tiles: what an ideal reader fetches for them. */
export function tileBytes(cog: CogInfo, indices: Iterable<number>): number {
  let sum = 0;
  for (const i of new Set(indices)) sum += cog.tileByteCounts[i] ?? 0;
  return sum;
}

/**
 * Groups tiles into byte ranges: sorted by file offset (tile order in the file need not be
 * row-major), neighbours at most maxGapBytes apart share one range. Sparse tiles (0 bytes) need no read.
 */
export function planTileRanges(
  cog: CogInfo,
  indices: Iterable<number>,
  options: FetchTilesOptions = {},
): TileRange[] {
  const maxGap = options.maxGapBytes ?? DEFAULT_MAX_GAP;
  const maxRange = options.maxRangeBytes ?? DEFAULT_MAX_RANGE;
  const tiles: Array<{ index: number; offset: number; count: number }> = [];
  for (const index of new Set(indices)) {
    const offset = cog.tileOffsets[index];
    const count = cog.tileByteCounts[index];
    if (offset === undefined || count === undefined) {
      throw new RangeError(`tile ${index} does not exist in ${cog.href} (${cog.tileOffsets.length} tiles)`);
    }
    if (count > 0) tiles.push({ index, offset, count });
  }
  tiles.sort((a, b) => a.offset - b.offset);
  const ranges: TileRange[] = [];
  let current: TileRange | undefined;
  for (const t of tiles) {
    const end = t.offset + t.count;
    if (current !== undefined) {
      const currentEnd = current.offset + current.length;
      const mergedLength = Math.max(currentEnd, end) - current.offset;
      if (t.offset - currentEnd <= maxGap && mergedLength <= maxRange) {
        current.length = mergedLength;
        current.tiles.push(t.index);
        continue;
      }
    }
    current = { offset: t.offset, length: t.count, tiles: [t.index] };
    ranges.push(current);
  }
  return ranges;
}

/**
 * Fetches the stored bytes of each tile once. Returns a map tile index → bytes (views into the
 * answer of their range, no copy); sparse tiles map to an empty array, which decodeTile fills with nodata.
 */
export async function fetchTiles(
  reader: RangeReader,
  cog: CogInfo,
  indices: Iterable<number>,
  options: FetchTilesOptions = {},
): Promise<Map<number, Uint8Array>> {
  const wanted = [...new Set(indices)];
  const ranges = planTileRanges(cog, wanted, options);
  const out = new Map<number, Uint8Array>();
  for (const i of wanted) if (cog.tileByteCounts[i] === 0) out.set(i, new Uint8Array(0));
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < ranges.length && !failed) {
      const range = ranges[next++] as TileRange;
      let bytes: Uint8Array;
      try {
        bytes = await reader.read(cog.href, range.offset, range.length);
      } catch (error) {
        // The other lanes stop taking ranges: the caller gets this error, not a half-full map.
        failed = true;
        throw error;
      }
      for (const i of range.tiles) {
        const start = (cog.tileOffsets[i] as number) - range.offset;
        out.set(i, bytes.subarray(start, start + (cog.tileByteCounts[i] as number)));
      }
    }
  };
  const lanes = Math.max(1, Math.min(options.concurrency ?? DEFAULT_CONCURRENCY, ranges.length));
  await Promise.all(Array.from({ length: lanes }, worker));
  return out;
}

/**
 * Decodes one tile's stored bytes into tileWidth x tileHeight samples (edge tiles too: the part
 * past the image is whatever the writer put there). Empty bytes (a sparse tile) give nodata ?? 0.
 */
export function decodeTile(cog: CogInfo, bytes: Uint8Array): Pixels {
  const spp = cog.samplesPerPixel ?? 1;
  if (spp > 1) return decodeInterleaved(cog, bytes, spp);
  const n = cog.tileWidth * cog.tileHeight;
  if (bytes.byteLength === 0) {
    const pixels = allocatePixels(cog, n);
    if (cog.nodata !== null && cog.nodata !== 0) pixels.fill(cog.nodata);
    return pixels;
  }
  const sampleBytes = cog.bitsPerSample / 8;
  const expected = n * sampleBytes;
  let raw: Uint8Array;
  try {
    raw = decompress(cog, bytes, expected);
  } catch (error) {
    if (error instanceof RasterFormatError) throw error;
    throw new RasterFormatError(
      `${cog.href}: a tile of ${bytes.byteLength} bytes does not decode (compression ${cog.compression}): ${boundedMessage(error)}`,
      { source: cog.href },
      { cause: error },
    );
  }
  let pixels: Pixels;
  if (raw !== bytes && raw.byteLength >= expected && raw.byteOffset % sampleBytes === 0) {
    // The decompressor's own buffer, viewed in place: no copy.
    pixels = viewPixels(cog, raw.buffer, raw.byteOffset, n);
  } else {
    // Uncompressed (the input may be shared), misaligned, or a short last strip: copy.
    pixels = allocatePixels(cog, n);
    new Uint8Array(pixels.buffer).set(raw.subarray(0, Math.min(raw.byteLength, expected)));
  }
  if (cog.predictor === 2) undoHorizontalPredictor(pixels, cog.tileWidth, cog.tileHeight);
  else if (cog.predictor !== 1) {
    throw new RasterFormatError(`${cog.href}: predictor ${cog.predictor} is not supported`, {
      source: cog.href,
    });
  }
  return pixels;
}

/**
 * A tile of a pixel-interleaved file: decoded as tileWidth x spp samples per row (the predictor
 * differences each sample with the same sample of the pixel to its left), then this band's kept.
 */
function decodeInterleaved(cog: CogInfo, bytes: Uint8Array, spp: number): Pixels {
  const n = cog.tileWidth * cog.tileHeight;
  const out = allocatePixels(cog, n);
  if (bytes.byteLength === 0) {
    if (cog.nodata !== null && cog.nodata !== 0) out.fill(cog.nodata);
    return out;
  }
  const all = decodeTile(
    { ...cog, samplesPerPixel: undefined, tileWidth: cog.tileWidth * spp, predictor: 1 },
    bytes,
  );
  if (cog.predictor === 2) undoHorizontalPredictor(all, cog.tileWidth, cog.tileHeight, spp);
  const k = cog.sample ?? 0;
  for (let i = 0, j = k; i < n; i++, j += spp) out[i] = all[j] as number;
  return out;
}

function decompress(cog: CogInfo, bytes: Uint8Array, expected: number): Uint8Array {
  switch (cog.compression) {
    case 1:
      return bytes;
    case 8:
    case 32946:
      // One output chunk a little larger than the tile: zlib neither concatenates 16 KiB pieces nor,
      // having filled the chunk exactly, allocates a second one just to find the end of the stream.
      return inflateSync(bytes, { chunkSize: expected + 64 });
    case 50000:
      return zstdDecompressSync(bytes, { chunkSize: expected + 64 });
    case 5:
      return lzwDecode(bytes, expected);
    default:
      throw new RasterFormatError(
        `${cog.href}: compression ${cog.compression} is not supported (none, LZW, DEFLATE, ZSTD)`,
        { source: cog.href },
      );
  }
}

function viewPixels(cog: CogInfo, buffer: ArrayBufferLike, byteOffset: number, n: number): Pixels {
  if (cog.sampleFormat === 'float') return new Float32Array(buffer, byteOffset, n);
  const signed = cog.sampleFormat === 'int';
  switch (cog.bitsPerSample) {
    case 8:
      return signed ? new Int8Array(buffer, byteOffset, n) : new Uint8Array(buffer, byteOffset, n);
    case 16:
      return signed ? new Int16Array(buffer, byteOffset, n) : new Uint16Array(buffer, byteOffset, n);
    case 32:
      return signed ? new Int32Array(buffer, byteOffset, n) : new Uint32Array(buffer, byteOffset, n);
  }
}

/**
 * Undoes TIFF predictor 2 in place: each sample was stored as the difference to its left
 * neighbour (same sample plane) within a row. Integer typed arrays wrap on store, as the TIFF
 * spec's modular arithmetic wants. Assumes a little-endian host, like the rest of Node on x64/arm64.
 */
export function undoHorizontalPredictor(
  pixels: Pixels,
  width: number,
  height: number,
  samplesPerPixel = 1,
): void {
  if (pixels instanceof Float32Array) {
    throw new RasterFormatError('predictor 2 does not apply to floating-point samples', {});
  }
  const rowLength = width * samplesPerPixel;
  // Split by type so each loop stays monomorphic: V8 keeps it a tight typed-array loop.
  if (pixels instanceof Uint16Array) undoRowsU16(pixels, rowLength, height, samplesPerPixel);
  else if (pixels instanceof Uint8Array) undoRowsU8(pixels, rowLength, height, samplesPerPixel);
  else undoRowsAny(pixels, rowLength, height, samplesPerPixel);
}

// The common case (one band, rows a whole number of 8-sample vectors, as 256-1024 px tiles are) goes
// through a WebAssembly SIMD kernel, about 2x faster than the best JavaScript loop here, copies in
// and out included. Otherwise: two samples per 32-bit load and store, four per iteration, the running
// sum in a register (about 1.5x faster than one sample at a time on V8, itself about 3x faster than
// a[i] += a[i - 1]).
function undoRowsU16(a: Uint16Array, rowLength: number, height: number, spp: number): void {
  if (spp !== 1) {
    undoRowsAny(a, rowLength, height, spp);
    return;
  }
  if (undoRowsU16Simd(a, rowLength, height)) return;
  if ((rowLength & 1) !== 0 || (a.byteOffset & 3) !== 0) {
    undoRowsU16Single(a, rowLength, height);
    return;
  }
  // Little-endian host: sample 2k is the low half of word k.
  const w = new Uint32Array(a.buffer, a.byteOffset, (rowLength * height) >> 1);
  const half = rowLength >> 1;
  for (let start = 0; start < w.length; start += half) {
    const end = start + half;
    // Bits past the low 16 of the sums are dropped by the masks and shifts on store.
    let p = 0;
    let i = start;
    for (; i + 1 < end; i += 2) {
      const x = w[i]!;
      const y = w[i + 1]!;
      const s0 = p + (x & 0xffff);
      const s1 = s0 + (x >>> 16);
      const s2 = s1 + (y & 0xffff);
      p = (s2 + (y >>> 16)) & 0xffff;
      w[i] = (s0 & 0xffff) | (s1 << 16);
      w[i + 1] = (s2 & 0xffff) | (p << 16);
    }
    if (i < end) {
      const x = w[i]!;
      const s0 = p + (x & 0xffff);
      w[i] = (s0 & 0xffff) | ((s0 + (x >>> 16)) << 16);
    }
  }
}

/** One sample at a time (odd row lengths, misaligned arrays). */
function undoRowsU16Single(a: Uint16Array, rowLength: number, height: number): void {
  for (let row = 0; row < height; row++) {
    const start = row * rowLength;
    const end = start + rowLength;
    let prev = a[start]!;
    for (let i = start + 1; i < end; i++) {
      prev = (prev + a[i]!) & 0xffff;
      a[i] = prev;
    }
  }
}

function undoRowsU8(a: Uint8Array, rowLength: number, height: number, spp: number): void {
  if (spp !== 1) {
    undoRowsAny(a, rowLength, height, spp);
    return;
  }
  for (let row = 0; row < height; row++) {
    const start = row * rowLength;
    const end = start + rowLength;
    let prev = a[start]!;
    for (let i = start + 1; i < end; i++) {
      prev = (prev + a[i]!) & 0xff;
      a[i] = prev;
    }
  }
}

/** The general case: the typed array's store does the wrap-around. */
function undoRowsAny(
  a: Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array,
  rowLength: number,
  height: number,
  spp: number,
): void {
  for (let row = 0; row < height; row++) {
    const start = row * rowLength;
    const end = start + rowLength;
    for (let i = start + spp; i < end; i++) a[i] = a[i]! + a[i - spp]!;
  }
}

/**
 * Copies `rect` of the image into `out` (rect.width x rect.height, row-major) starting at
 * outOffset, from decoded tiles (every tile tilesForRect(cog, rect) names must be in `tiles`).
 * Pixels outside the image get nodata ?? 0.
 */
export function cutRect(
  cog: CogInfo,
  tiles: ReadonlyMap<number, Pixels>,
  rect: PixelRect,
  out: Pixels,
  outOffset = 0,
): void {
  const W = rect.width;
  const size = W * rect.height;
  if (outOffset < 0 || outOffset + size > out.length) {
    throw new RangeError(
      `cutRect: ${W}x${rect.height} at offset ${outOffset} does not fit an array of ${out.length}`,
    );
  }
  const x0 = Math.max(rect.x, 0);
  const y0 = Math.max(rect.y, 0);
  const x1 = Math.min(rect.x + W, cog.width);
  const y1 = Math.min(rect.y + rect.height, cog.height);
  if (x0 !== rect.x || y0 !== rect.y || x1 !== rect.x + W || y1 !== rect.y + rect.height) {
    out.fill(cog.nodata ?? 0, outOffset, outOffset + size);
  }
  if (x1 <= x0 || y1 <= y0) return;
  const tw = cog.tileWidth;
  const th = cog.tileHeight;
  // Same sample type: copy rows as bytes with Buffer#copy (native, no view object per row, ~2.5x
  // faster than set(subarray) for 24-pixel rows). Otherwise let set() convert.
  const outBytes = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  const size1 = out.BYTES_PER_ELEMENT;
  for (let ty = Math.floor(y0 / th); ty * th < y1; ty++) {
    const cy0 = Math.max(y0, ty * th);
    const cy1 = Math.min(y1, (ty + 1) * th);
    for (let tx = Math.floor(x0 / tw); tx * tw < x1; tx++) {
      const index = ty * cog.tilesAcross + tx;
      const tile = tiles.get(index);
      if (tile === undefined) {
        throw new RangeError(`cutRect: tile ${index} of ${cog.href} is needed but was not decoded`);
      }
      const cx0 = Math.max(x0, tx * tw);
      const run = Math.min(x1, (tx + 1) * tw) - cx0;
      let src = (cy0 - ty * th) * tw + (cx0 - tx * tw);
      let dst = outOffset + (cy0 - rect.y) * W + (cx0 - rect.x);
      if (tile.constructor === out.constructor) {
        const tileView = Buffer.from(tile.buffer, tile.byteOffset, tile.byteLength);
        const runBytes = run * size1;
        for (let y = cy0; y < cy1; y++, src += tw, dst += W) {
          tileView.copy(outBytes, dst * size1, src * size1, src * size1 + runBytes);
        }
      } else {
        for (let y = cy0; y < cy1; y++, src += tw, dst += W) out.set(tile.subarray(src, src + run), dst);
      }
    }
  }
}

/** Fetches, decodes and cuts one rect: the one-shot path for tests, tools and the bench. */
export async function readRect(
  reader: RangeReader,
  cog: CogInfo,
  rect: PixelRect,
  options: FetchTilesOptions = {},
): Promise<Pixels> {
  const raw = await fetchTiles(reader, cog, tilesForRect(cog, rect), options);
  const decoded = new Map<number, Pixels>();
  for (const [i, bytes] of raw) decoded.set(i, decodeTile(cog, bytes));
  const out = allocatePixels(cog, rect.width * rect.height);
  cutRect(cog, decoded, rect, out);
  return out;
}

/**
 * TIFF LZW (MSB-first codes of 9-12 bits, "early change" as libtiff writes it). Sync, so decodeTile
 * stays sync; geotiff's decoders are async imports.
 */
export function lzwDecode(input: Uint8Array, expectedBytes: number): Uint8Array {
  const CLEAR = 256;
  const EOI = 257;
  const prefix = new Int32Array(4096);
  const suffix = new Uint8Array(4096);
  const first = new Uint8Array(4096);
  const lengths = new Int32Array(4096);
  for (let i = 0; i < 256; i++) {
    suffix[i] = i;
    first[i] = i;
    lengths[i] = 1;
  }
  let out = new Uint8Array(Math.max(expectedBytes, 256));
  let pos = 0;
  const totalBits = input.length * 8;
  let bit = 0;
  let width = 9;
  let next = 258;
  let old = -1;
  while (bit + width <= totalBits) {
    const at = bit >>> 3;
    const word = (input[at]! << 16) | ((input[at + 1] ?? 0) << 8) | (input[at + 2] ?? 0);
    const code = (word >>> (24 - (bit & 7) - width)) & ((1 << width) - 1);
    bit += width;
    if (code === EOI) break;
    if (code === CLEAR) {
      width = 9;
      next = 258;
      old = -1;
      continue;
    }
    if (old !== -1) {
      if (code > next) throw new RangeError(`LZW code ${code} is past the table (${next})`);
      if (next < 4096) {
        // New entry: the previous string plus the first byte of this one (of itself when code === next).
        prefix[next] = old;
        suffix[next] = code === next ? first[old]! : first[code]!;
        first[next] = first[old]!;
        lengths[next] = lengths[old]! + 1;
        next++;
        if (next >= (1 << width) - 1 && width < 12) width++;
      }
    } else if (code > 255) {
      throw new RangeError(`LZW stream starts with code ${code}`);
    }
    const len = lengths[code]!;
    if (pos + len > out.length) {
      const grown = new Uint8Array(Math.max(out.length * 2, pos + len));
      grown.set(out);
      out = grown;
    }
    let c = code;
    for (let k = pos + len - 1; k >= pos; k--) {
      out[k] = suffix[c]!;
      c = prefix[c]!;
    }
    pos += len;
    old = code;
  }
  return out.subarray(0, pos);
}
