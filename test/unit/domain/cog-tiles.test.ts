// Tile math, range planning, decoding and cutting on small synthetic COGs built in memory (no GDAL,
// no network): every path is checked against the source samples.
import { describe, expect, it } from 'vitest';
import { readCogInfo } from '../../../shared/domain/cog-header.ts';
import {
  allocatePixels,
  cutRect,
  decodeTile,
  fetchTiles,
  lzwDecode,
  type Pixels,
  planTileRanges,
  readRect,
  tileBytes,
  tilesForRect,
  undoHorizontalPredictor,
} from '../../../shared/domain/cog-tiles.ts';
import type { CogInfo, PixelRect } from '../../../shared/domain/cog-types.ts';
import { RasterFormatError } from '../../../shared/domain/errors.ts';
import type { RangeReader } from '../../../shared/ports.ts';
import { buildTiff, noise, type SampleArray, type TiffImage } from '../../helpers/tiff-builder.ts';

/** A RangeReader over in-memory files that records every read. */
function memoryReader(files: Record<string, Uint8Array>): RangeReader & { reads: Array<[number, number]> } {
  const reads: Array<[number, number]> = [];
  return {
    reads,
    stats: { requests: 0, bytes: 0 },
    async read(url, offset, length) {
      const file = files[url];
      if (!file) throw new Error(`no ${url}`);
      if (offset + length > file.length) {
        const { pastEndOfFile } = await import('../../../shared/adapters/range-readers.ts');
        throw pastEndOfFile(url, offset, length, file.length);
      }
      reads.push([offset, length]);
      this.stats.requests++;
      this.stats.bytes += length;
      return file.slice(offset, offset + length);
    },
  };
}

function cogStub(over: Partial<CogInfo> = {}): CogInfo {
  return {
    href: 'mem://stub.tif',
    width: 100,
    height: 70,
    tileWidth: 32,
    tileHeight: 32,
    tilesAcross: 4,
    tilesDown: 3,
    originX: 0,
    originY: 0,
    resX: 10,
    resY: 10,
    epsg: 32633,
    bitsPerSample: 16,
    sampleFormat: 'uint',
    compression: 1,
    predictor: 1,
    nodata: 0,
    tileOffsets: [],
    tileByteCounts: [],
    ...over,
  };
}

/** The reference: a rect read straight from the source samples, outside pixels = fill. */
function expectedRect(
  data: SampleArray,
  width: number,
  height: number,
  rect: PixelRect,
  fill: number,
): number[] {
  const out: number[] = [];
  for (let y = rect.y; y < rect.y + rect.height; y++) {
    for (let x = rect.x; x < rect.x + rect.width; x++) {
      out.push(x >= 0 && y >= 0 && x < width && y < height ? (data[y * width + x] as number) : fill);
    }
  }
  return out;
}

async function cogOf(image: TiffImage, href = 'mem://a.tif') {
  const bytes = buildTiff([image]);
  const reader = memoryReader({ [href]: bytes });
  const cog = await readCogInfo(reader, href);
  reader.reads.length = 0;
  reader.stats.requests = 0;
  reader.stats.bytes = 0;
  return { cog, reader, bytes };
}

describe('tilesForRect', () => {
  const cog = cogStub();
  it('names the one tile an interior rect lies in', () => {
    expect(tilesForRect(cog, { x: 1, y: 1, width: 24, height: 24 })).toEqual([0]);
  });
  it('names every tile a rect crosses, row-major', () => {
    expect(tilesForRect(cog, { x: 20, y: 20, width: 24, height: 24 })).toEqual([0, 1, 4, 5]);
    expect(tilesForRect(cog, { x: 31, y: 0, width: 34, height: 1 })).toEqual([0, 1, 2]);
  });
  it('clips to the image at its edges and outside', () => {
    expect(tilesForRect(cog, { x: 90, y: 60, width: 24, height: 24 })).toEqual([6, 7, 10, 11]);
    expect(tilesForRect(cog, { x: 97, y: 65, width: 24, height: 24 })).toEqual([11]);
    expect(tilesForRect(cog, { x: -10, y: -10, width: 12, height: 12 })).toEqual([0]);
    expect(tilesForRect(cog, { x: 100, y: 0, width: 5, height: 5 })).toEqual([]);
    expect(tilesForRect(cog, { x: -24, y: 10, width: 24, height: 5 })).toEqual([]);
  });
  it('treats a tile border exactly: a rect ending at 32 stays in the first tile', () => {
    expect(tilesForRect(cog, { x: 8, y: 8, width: 24, height: 24 })).toEqual([0]);
    expect(tilesForRect(cog, { x: 32, y: 32, width: 1, height: 1 })).toEqual([5]);
  });
});

describe('planTileRanges', () => {
  const cog = cogStub({
    tilesAcross: 3,
    tilesDown: 1,
    width: 96,
    height: 32,
    // tile 1 is stored first, tile 0 right after it, tile 2 after an 8-byte gap (GDAL leader/trailer).
    tileOffsets: [1100, 1000, 1208],
    tileByteCounts: [100, 100, 50],
  });
  it('merges byte-adjacent tiles whatever their index order', () => {
    expect(planTileRanges(cog, [0, 1], { maxGapBytes: 0 })).toEqual([
      { offset: 1000, length: 200, tiles: [1, 0] },
    ]);
  });
  it('bridges small gaps up to maxGapBytes and no further', () => {
    expect(planTileRanges(cog, [0, 1, 2])).toEqual([{ offset: 1000, length: 258, tiles: [1, 0, 2] }]);
    expect(planTileRanges(cog, [0, 1, 2], { maxGapBytes: 7 })).toEqual([
      { offset: 1000, length: 200, tiles: [1, 0] },
      { offset: 1208, length: 50, tiles: [2] },
    ]);
  });
  it('keeps tiles apart when the merged range would pass maxRangeBytes', () => {
    expect(planTileRanges(cog, [0, 1], { maxRangeBytes: 150 })).toHaveLength(2);
  });
  it('asks nothing for sparse tiles and each tile once', () => {
    const sparse = { ...cog, tileOffsets: [0, 1000, 1208], tileByteCounts: [0, 100, 50] };
    expect(planTileRanges(sparse, [0, 0, 1, 1])).toEqual([{ offset: 1000, length: 100, tiles: [1] }]);
  });
  it('refuses a tile index the COG does not have', () => {
    expect(() => planTileRanges(cog, [3])).toThrow(/tile 3 does not exist in mem:\/\/stub.tif/);
  });
  it('sums stored bytes of distinct tiles', () => {
    expect(tileBytes(cog, [0, 1, 1, 2])).toBe(250);
  });
});

describe('undoHorizontalPredictor', () => {
  it('integrates each row on its own, wrapping like the TIFF spec (uint16)', () => {
    const a = Uint16Array.from([5, 1, 65535, 3, /* row 2 */ 7, 2, 2, 2]);
    undoHorizontalPredictor(a, 4, 2);
    expect(Array.from(a)).toEqual([5, 6, 5, 8, 7, 9, 11, 13]);
  });
  it('works for uint8, int16 and uint32 samples', () => {
    const u8 = Uint8Array.from([250, 10, 1]);
    undoHorizontalPredictor(u8, 3, 1);
    expect(Array.from(u8)).toEqual([250, 4, 5]);
    const i16 = Int16Array.from([-32768, -1, 5]);
    undoHorizontalPredictor(i16, 3, 1);
    expect(Array.from(i16)).toEqual([-32768, 32767, -32764]);
    const u32 = Uint32Array.from([4294967295, 2, 3]);
    undoHorizontalPredictor(u32, 3, 1);
    expect(Array.from(u32)).toEqual([4294967295, 1, 4]);
  });
  it('differences per sample plane with several samples per pixel', () => {
    const a = Uint16Array.from([1, 10, 1, 10, 1, 10]);
    undoHorizontalPredictor(a, 3, 1, 2);
    expect(Array.from(a)).toEqual([1, 10, 2, 20, 3, 30]);
  });
  it('refuses floats', () => {
    expect(() => undoHorizontalPredictor(new Float32Array(4), 2, 2)).toThrow(RasterFormatError);
  });
  it('matches a plain modular running sum for every integer type, width, spp and alignment', () => {
    // The oracle: per row and sample plane, a running sum in plain numbers, wrapped to the type.
    const wrap = (v: number, bits: number, signed: boolean) => {
      const m = 2 ** bits;
      const u = ((v % m) + m) % m;
      return signed && u >= m / 2 ? u - m : u;
    };
    const kinds = [
      { make: (b: ArrayBuffer, o: number, n: number) => new Uint8Array(b, o, n), bits: 8, signed: false },
      { make: (b: ArrayBuffer, o: number, n: number) => new Int8Array(b, o, n), bits: 8, signed: true },
      { make: (b: ArrayBuffer, o: number, n: number) => new Uint16Array(b, o, n), bits: 16, signed: false },
      { make: (b: ArrayBuffer, o: number, n: number) => new Int16Array(b, o, n), bits: 16, signed: true },
      { make: (b: ArrayBuffer, o: number, n: number) => new Uint32Array(b, o, n), bits: 32, signed: false },
      { make: (b: ArrayBuffer, o: number, n: number) => new Int32Array(b, o, n), bits: 32, signed: true },
    ];
    let seed = 1;
    for (const kind of kinds) {
      const size = kind.bits / 8;
      for (const width of [1, 2, 3, 4, 5, 7, 8, 33, 256, 257]) {
        for (const spp of [1, 2, 3]) {
          for (const height of [1, 3]) {
            // Offset by one sample too: views into a shared buffer need not be 4-byte aligned.
            for (const offset of [0, size]) {
              const n = width * spp * height;
              const a = kind.make(new ArrayBuffer(offset + n * size), offset, n);
              const input = noise(new Uint32Array(n), seed++, 2 ** 32 - 1);
              for (let i = 0; i < n; i++) a[i] = wrap(input[i] as number, kind.bits, kind.signed);
              const expected = Array.from(a);
              const row = width * spp;
              for (let r = 0; r < height; r++) {
                for (let i = r * row + spp; i < (r + 1) * row; i++) {
                  expected[i] = wrap(
                    (expected[i] as number) + (expected[i - spp] as number),
                    kind.bits,
                    kind.signed,
                  );
                }
              }
              undoHorizontalPredictor(a, width, height, spp);
              expect(
                Array.from(a),
                `${a.constructor.name} ${width}x${height} spp ${spp} at +${offset}`,
              ).toEqual(expected);
            }
          }
        }
      }
    }
  });
});

describe('decodeTile', () => {
  const W = 70;
  const H = 45;
  const data = noise(new Uint16Array(W * H), 7);
  it.each([
    ['DEFLATE + predictor 2', { compression: 8, predictor: 2 }],
    ['DEFLATE', { compression: 8, predictor: 1 }],
    ['ZSTD + predictor 2', { compression: 50000, predictor: 2 }],
    ['none + predictor 2', { compression: 1, predictor: 2 }],
    ['none', { compression: 1, predictor: 1 }],
  ] as const)('%s gives full tiles of the source samples, edge tiles included', async (_name, enc) => {
    const { cog, reader } = await cogOf({ width: W, height: H, data, tileWidth: 32, tileHeight: 16, ...enc });
    const raw = await fetchTiles(reader, cog, [...Array(cog.tileOffsets.length).keys()]);
    for (const [i, bytes] of raw) {
      const tile = decodeTile(cog, bytes);
      expect(tile).toBeInstanceOf(Uint16Array);
      expect(tile.length).toBe(32 * 16);
      const tx = i % cog.tilesAcross;
      const ty = Math.floor(i / cog.tilesAcross);
      const rect = { x: tx * 32, y: ty * 16, width: 32, height: 16 };
      const inside = expectedRect(data, W, H, rect, 0);
      expect(Array.from(tile)).toEqual(inside);
    }
  });
  it('leaves the fetched bytes untouched (they may be shared views)', async () => {
    const { cog, reader } = await cogOf({
      width: 32,
      height: 32,
      data,
      tileWidth: 32,
      compression: 1,
      predictor: 2,
    });
    const raw = (await fetchTiles(reader, cog, [0])).get(0) as Uint8Array;
    const before = raw.slice();
    decodeTile(cog, raw);
    expect(raw).toEqual(before);
  });
  it('fills a sparse tile (no bytes) with nodata', () => {
    const tile = decodeTile(cogStub({ nodata: 7, tileWidth: 4, tileHeight: 2 }), new Uint8Array(0));
    expect(Array.from(tile)).toEqual([7, 7, 7, 7, 7, 7, 7, 7]);
    const zero = decodeTile(
      cogStub({ nodata: null, tileWidth: 2, tileHeight: 2, sampleFormat: 'int' }),
      new Uint8Array(0),
    );
    expect(zero).toBeInstanceOf(Int16Array);
    expect(Array.from(zero)).toEqual([0, 0, 0, 0]);
  });
  it('wraps a corrupt stream in RasterFormatError naming the file', () => {
    const cog = cogStub({ compression: 8, href: 'https://example.test/broken.tif' });
    expect(() => decodeTile(cog, Uint8Array.from([1, 2, 3, 4, 5]))).toThrow(RasterFormatError);
    expect(() => decodeTile(cog, Uint8Array.from([1, 2, 3, 4, 5]))).toThrow(/broken\.tif/);
  });
  it('refuses compressions it cannot decode', () => {
    expect(() => decodeTile(cogStub({ compression: 7 }), Uint8Array.from([1]))).toThrow(
      /compression 7 is not supported/,
    );
  });
});

describe('lzwDecode', () => {
  it('round-trips a TIFF LZW stream through every code width, with a table reset', () => {
    const input = new Uint8Array(20_000);
    for (let i = 0; i < input.length; i++) input[i] = ((i * 7 + (i >> 5)) % 251) ^ (i % 13 === 0 ? 0xff : 0);
    const encoded = lzwEncode(input);
    expect(Array.from(lzwDecode(encoded, input.length))).toEqual(Array.from(input));
  });
  it('handles the KwKwK case (a code used the moment it is made)', () => {
    const input = new Uint8Array(1000).fill(65);
    expect(Array.from(lzwDecode(lzwEncode(input), 10))).toEqual(Array.from(input));
  });
});

describe('cutRect and readRect', () => {
  const W = 100;
  const H = 70;
  const data = noise(new Uint16Array(W * H), 3, 60_000);
  const rects: PixelRect[] = [
    { x: 4, y: 4, width: 24, height: 24 },
    { x: 20, y: 10, width: 24, height: 24 },
    { x: 0, y: 0, width: 100, height: 70 },
    { x: 90, y: 60, width: 24, height: 24 },
    { x: -5, y: -3, width: 12, height: 8 },
    { x: 120, y: 5, width: 6, height: 6 },
    { x: 31, y: 31, width: 2, height: 2 },
  ];
  it.each(rects)('reads %o like the source (nodata outside)', async (rect) => {
    const { cog, reader } = await cogOf({
      width: W,
      height: H,
      data,
      tileWidth: 32,
      compression: 8,
      predictor: 2,
      nodata: '9',
    });
    const out = await readRect(reader, cog, rect);
    expect(Array.from(out)).toEqual(expectedRect(data, W, H, rect, 9));
    // Each tile it needed was read once, in as few ranges as adjacency allows.
    expect(reader.stats.requests).toBeLessThanOrEqual(tilesForRect(cog, rect).length);
    expect(reader.stats.bytes).toBe(tileBytes(cog, tilesForRect(cog, rect)));
  });
  it('writes at outOffset and nowhere else, converting to the output type', async () => {
    const { cog, reader } = await cogOf({ width: W, height: H, data, tileWidth: 32, compression: 8 });
    const rect = { x: 28, y: 28, width: 8, height: 8 };
    const tiles = new Map<number, Pixels>();
    for (const [i, b] of await fetchTiles(reader, cog, tilesForRect(cog, rect)))
      tiles.set(i, decodeTile(cog, b));
    const out = new Uint16Array(200).fill(1);
    cutRect(cog, tiles, rect, out, 100);
    expect(Array.from(out.subarray(0, 100))).toEqual(new Array(100).fill(1));
    expect(Array.from(out.subarray(100, 164))).toEqual(expectedRect(data, W, H, rect, 0));
    expect(Array.from(out.subarray(164))).toEqual(new Array(36).fill(1));
    const f32 = new Float32Array(64);
    cutRect(cog, tiles, rect, f32);
    expect(Array.from(f32)).toEqual(expectedRect(data, W, H, rect, 0));
  });
  it('says which tile is missing, and refuses an output that is too small', () => {
    const cog = cogStub();
    expect(() => cutRect(cog, new Map(), { x: 0, y: 0, width: 2, height: 2 }, new Uint16Array(4))).toThrow(
      /tile 0 of mem:\/\/stub.tif is needed but was not decoded/,
    );
    expect(() => cutRect(cog, new Map(), { x: 0, y: 0, width: 2, height: 2 }, new Uint16Array(3))).toThrow(
      /does not fit/,
    );
  });
  it('handles every sample type', async () => {
    const arrays: SampleArray[] = [
      noise(new Uint8Array(W * H), 1, 255),
      noise(new Int8Array(W * H), 2, 120),
      noise(new Int16Array(W * H), 3, 30_000),
      noise(new Uint32Array(W * H), 4, 4_000_000_000),
      noise(new Int32Array(W * H), 5, 2_000_000_000),
      noise(new Float32Array(W * H), 6, 1000),
    ];
    for (const a of arrays) {
      const predictor = a instanceof Float32Array ? 1 : 2;
      const { cog, reader } = await cogOf({
        width: W,
        height: H,
        data: a,
        tileWidth: 32,
        compression: 8,
        predictor,
      });
      const rect = { x: 25, y: 50, width: 30, height: 30 };
      const out = await readRect(reader, cog, rect);
      expect(out.constructor).toBe(a.constructor);
      expect(Array.from(out)).toEqual(expectedRect(a, W, H, rect, 0));
      expect(allocatePixels(cog, 1).constructor).toBe(a.constructor);
    }
  });
  it('reads a stripped TIFF (tiles of width x rowsPerStrip, short last strip)', async () => {
    const { cog, reader } = await cogOf({
      width: W,
      height: H,
      data,
      rowsPerStrip: 16,
      compression: 8,
      predictor: 2,
    });
    expect([cog.tileWidth, cog.tileHeight, cog.tilesAcross, cog.tilesDown]).toEqual([100, 16, 1, 5]);
    const rect = { x: 10, y: 60, width: 30, height: 20 };
    expect(Array.from(await readRect(reader, cog, rect))).toEqual(expectedRect(data, W, H, rect, 0));
  });
  it('reads sparse tiles as nodata without asking for them', async () => {
    const sparseData = new Uint16Array(W * H).fill(5);
    sparseData.fill(0, 0, W * 40); // the first tile row is all nodata
    const { cog, reader } = await cogOf({
      width: W,
      height: H,
      data: sparseData,
      tileWidth: 32,
      compression: 8,
      nodata: '0',
      sparse: true,
    });
    expect(cog.tileByteCounts.slice(0, 4)).toEqual([0, 0, 0, 0]);
    const rect = { x: 0, y: 20, width: 40, height: 20 };
    expect(Array.from(await readRect(reader, cog, rect))).toEqual(expectedRect(sparseData, W, H, rect, 0));
    expect(reader.stats.requests).toBe(1);
  });
  it('reads a row of tiles stored with GDAL leader/trailer gaps in one request', async () => {
    const { cog, reader } = await cogOf({
      width: W,
      height: H,
      data,
      tileWidth: 32,
      compression: 8,
      gapBytes: 8,
    });
    const rect = { x: 0, y: 0, width: 100, height: 10 };
    expect(Array.from(await readRect(reader, cog, rect))).toEqual(expectedRect(data, W, H, rect, 0));
    expect(reader.stats.requests).toBe(1);
    expect(reader.stats.bytes).toBe(tileBytes(cog, [0, 1, 2, 3]) + 3 * 8);
  });
});

/** TIFF LZW encoder (MSB-first, early change), only to test the decoder without GDAL. */
function lzwEncode(input: Uint8Array): Uint8Array {
  const out: number[] = [];
  let acc = 0;
  let nbits = 0;
  let width = 9;
  const write = (code: number) => {
    acc = (acc << width) | code;
    nbits += width;
    while (nbits >= 8) {
      out.push((acc >>> (nbits - 8)) & 0xff);
      nbits -= 8;
    }
    acc &= (1 << nbits) - 1;
  };
  let table = new Map<number, number>();
  let next = 258;
  write(256);
  let w = input[0] as number;
  for (let i = 1; i < input.length; i++) {
    const k = input[i] as number;
    const key = w * 256 + k;
    const found = table.get(key);
    if (found !== undefined) {
      w = found;
      continue;
    }
    write(w);
    table.set(key, next++);
    // The decoder adds its entry one code later, so the encoder widens one entry later too.
    if (next >= 1 << width && width < 12) width++;
    if (next >= 4094) {
      write(256);
      table = new Map();
      next = 258;
      width = 9;
    }
    w = k;
  }
  write(w);
  write(257);
  if (nbits > 0) out.push((acc << (8 - nbits)) & 0xff);
  return Uint8Array.from(out);
}
