// readCogInfo on TIFFs built in memory: which image it picks, the grid it derives, what it refuses
// (with the URL in the message), and how few reads the header costs.
import { describe, expect, it } from 'vitest';
import { pastEndOfFile } from '../../../shared/adapters/range-readers.ts';
import { epsgOf, parseNodata, readCogInfo } from '../../../shared/domain/cog-header.ts';
import { RasterFormatError } from '../../../shared/domain/errors.ts';
import type { RangeReader } from '../../../shared/ports.ts';
import { buildTiff, noise, type TiffImage } from '../../helpers/tiff-builder.ts';

const HREF = 'https://example.test/scene/B02.tif';

/** Serves one file; past its end it answers like our adapters (a past-end-of-file error). */
function reader(bytes: Uint8Array): RangeReader & { reads: Array<[number, number]> } {
  const reads: Array<[number, number]> = [];
  return {
    reads,
    stats: { requests: 0, bytes: 0 },
    async read(url, offset, length) {
      this.stats.requests++;
      reads.push([offset, length]);
      if (offset + length > bytes.length) throw pastEndOfFile(url, offset, length, bytes.length);
      this.stats.bytes += length;
      return bytes.slice(offset, offset + length);
    },
  };
}

const base = (over: Partial<TiffImage> = {}): TiffImage => ({
  width: 300,
  height: 200,
  data: noise(new Uint16Array(300 * 200), 1),
  tileWidth: 128,
  tileHeight: 64,
  compression: 8,
  predictor: 2,
  nodata: '0',
  geo: { originX: 600000, originY: 5100000, resX: 20, resY: 20, epsg: 32633 },
  ...over,
});

/** Pads a file so a 16 KiB header block fits inside it (a real COG is megabytes). */
const padded = (img: TiffImage) => {
  const bytes = buildTiff([img]);
  const out = new Uint8Array(Math.max(bytes.length, 64 * 1024));
  out.set(bytes);
  return out;
};

describe('readCogInfo', () => {
  it('describes the image: grid, tiles, encoding, nodata, tile tables', async () => {
    const bytes = padded(base());
    const r = reader(bytes);
    const info = await readCogInfo(r, HREF);
    const { tileOffsets, tileByteCounts, ...rest } = info;
    expect(rest).toEqual({
      href: HREF,
      width: 300,
      height: 200,
      tileWidth: 128,
      tileHeight: 64,
      tilesAcross: 3,
      tilesDown: 4,
      originX: 600000,
      originY: 5100000,
      resX: 20,
      resY: 20,
      epsg: 32633,
      bitsPerSample: 16,
      sampleFormat: 'uint',
      compression: 8,
      predictor: 2,
      nodata: 0,
    });
    expect(tileOffsets).toHaveLength(12);
    expect(tileByteCounts).toHaveLength(12);
    expect(tileOffsets.every((o) => typeof o === 'number' && o > 0)).toBe(true);
    // Plain JSON: it survives a round trip unchanged.
    expect(JSON.parse(JSON.stringify(info))).toEqual(info);
  });

  it('costs one request for a header that fits the first block', async () => {
    const r = reader(padded(base()));
    await readCogInfo(r, HREF);
    expect(r.reads).toEqual([[0, 16 * 1024]]);
  });

  it('reads a file smaller than one block by learning its size (two requests)', async () => {
    const bytes = buildTiff([
      base({ width: 20, height: 10, data: new Uint16Array(200), tileWidth: 16, tileHeight: 16 }),
    ]);
    expect(bytes.length).toBeLessThan(16 * 1024);
    const r = reader(bytes);
    const info = await readCogInfo(r, HREF);
    expect(info.width).toBe(20);
    expect(r.reads).toEqual([
      [0, 16 * 1024],
      [0, bytes.length],
    ]);
  });

  it('reads tile tables past the first block in one more range, not one per value', async () => {
    const img = base({
      width: 2048,
      height: 2048,
      data: new Uint8Array(2048 * 2048),
      tileWidth: 16,
      tileHeight: 16,
      compression: 1,
    });
    const bytes = buildTiff([img]);
    const r = reader(bytes);
    const info = await readCogInfo(r, HREF, { blockSize: 16 * 1024 });
    expect(info.tileOffsets).toHaveLength(128 * 128);
    expect(info.tileOffsets[128 * 128 - 1]).toBe(bytes.length - 256);
    expect(r.reads.length).toBeLessThanOrEqual(3);
  });

  it('picks the full-resolution image, not an overview or a mask', async () => {
    const full = base();
    const overview = base({ width: 150, height: 100, data: new Uint16Array(150 * 100), subfileType: 1 });
    const mask = base({ width: 600, height: 400, data: new Uint8Array(600 * 400), subfileType: 4 });
    const info = await readCogInfo(reader(buildTiff([overview, mask, full])), HREF);
    expect([info.width, info.height, info.bitsPerSample]).toEqual([300, 200, 16]);
  });

  it('describes a stripped TIFF as tiles of width x rowsPerStrip', async () => {
    const { tileWidth: _w, tileHeight: _h, ...stripped } = base();
    const info = await readCogInfo(reader(padded({ ...stripped, rowsPerStrip: 8 })), HREF);
    expect([info.tileWidth, info.tileHeight, info.tilesAcross, info.tilesDown]).toEqual([300, 8, 1, 25]);
    expect(info.tileOffsets).toHaveLength(25);
  });

  it('shifts PixelIsPoint tie points by half a pixel, as GDAL does', async () => {
    const info = await readCogInfo(
      reader(
        padded(
          base({
            geo: { originX: 600000, originY: 5100000, resX: 20, resY: 20, epsg: 32633, pixelIsPoint: true },
          }),
        ),
      ),
      HREF,
    );
    expect([info.originX, info.originY]).toEqual([600000, 5100000]);
  });

  it('reads a north-up ModelTransformation and refuses a rotated one', async () => {
    const matrix = [10, 0, 0, 400000, 0, -10, 0, 6000000, 0, 0, 0, 0, 0, 0, 0, 1];
    const info = await readCogInfo(reader(padded(base({ geo: { matrix, epsg: 32632 } }))), HREF);
    expect([info.originX, info.originY, info.resX, info.resY, info.epsg]).toEqual([
      400000, 6000000, 10, 10, 32632,
    ]);
    const rotated = [10, 1, 0, 400000, 1, -10, 0, 6000000, 0, 0, 0, 0, 0, 0, 0, 1];
    await expect(readCogInfo(reader(padded(base({ geo: { matrix: rotated } }))), HREF)).rejects.toThrow(
      /B02\.tif: the grid is rotated or sheared/,
    );
  });

  it('reads geographic EPSG codes and null for none', async () => {
    const geo = { originX: 10, originY: 50, resX: 0.001, resY: 0.001, epsg: 4326, geographic: true };
    expect((await readCogInfo(reader(padded(base({ geo }))), HREF)).epsg).toBe(4326);
    const noEpsg = { originX: 10, originY: 50, resX: 1, resY: 1 };
    expect((await readCogInfo(reader(padded(base({ geo: noEpsg }))), HREF)).epsg).toBeNull();
    expect(epsgOf([1, 1, 0, 2, 1024, 0, 1, 1, 3072, 0, 1, 32767])).toBeNull();
  });

  it('parses GDAL_NODATA text', () => {
    expect(parseNodata('-32768')).toBe(-32768);
    expect(parseNodata('0\0')).toBe(0);
    expect(parseNodata('nan')).toBeNull();
    expect(parseNodata(undefined)).toBeNull();
    expect(parseNodata('')).toBeNull();
  });

  it('reports signed and float sample formats', async () => {
    const i16 = await readCogInfo(
      reader(padded(base({ data: new Int16Array(300 * 200), nodata: '-32768' }))),
      HREF,
    );
    expect([i16.sampleFormat, i16.bitsPerSample, i16.nodata]).toEqual(['int', 16, -32768]);
    const f32 = await readCogInfo(
      reader(padded(base({ data: new Float32Array(300 * 200), predictor: 1 }))),
      HREF,
    );
    expect([f32.sampleFormat, f32.bitsPerSample]).toEqual(['float', 32]);
  });

  describe('refuses, with the URL in a RasterFormatError', () => {
    const cases: Array<[string, Uint8Array, RegExp]> = [
      [
        'an HTML page',
        new TextEncoder().encode('<!doctype html><html><body>Sign in</body></html>'),
        /not a readable GeoTIFF/,
      ],
      ['an empty file', new Uint8Array(0), /not a readable GeoTIFF/],
      ['a truncated header', buildTiff([base()]).slice(0, 60), /not a readable GeoTIFF/],
      ['JPEG compression', padded(base({ compressionTag: 7 })), /compression 7 is not supported/],
      ['no georeferencing', padded(base({ geo: null })), /no georeferencing/],
      [
        'a south-up grid',
        padded(base({ geo: { matrix: [10, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1] } })),
        /not north-up/,
      ],
      [
        'predictor 2 on floats',
        padded(base({ data: new Float32Array(300 * 200), predictor: 2 })),
        /predictor 2 on floating-point/,
      ],
    ];
    it.each(cases)('%s', async (_name, bytes, message) => {
      const error = await readCogInfo(reader(bytes), HREF).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RasterFormatError);
      expect((error as RasterFormatError).message).toMatch(message);
      expect((error as RasterFormatError).message).toContain(HREF);
      expect((error as RasterFormatError).context.source).toBe(HREF);
    });
  });

  it('lets I/O errors through untouched (they carry their own retryability)', async () => {
    const failing: RangeReader = {
      stats: { requests: 0, bytes: 0 },
      read: async () => {
        const { HttpStatusError } = await import('../../../shared/domain/errors.ts');
        throw new HttpStatusError(HREF, 503, 'slow down');
      },
    };
    await expect(readCogInfo(failing, HREF)).rejects.toMatchObject({
      name: 'HttpStatusError',
      retryable: true,
    });
  });
});
