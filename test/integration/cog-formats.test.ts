// A matrix of TIFF layouts written by GDAL (compressions, predictor, sample types, stripped, sparse,
// BigTIFF, planar bands) read through our path and compared with rasterio; refusals name the file.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rangeReaderForUrl } from '../../shared/adapters/range-reader-for-url.ts';
import { readCogInfo } from '../../shared/domain/cog-header.ts';
import { readRect } from '../../shared/domain/cog-tiles.ts';
import type { PixelRect } from '../../shared/domain/cog-types.ts';
import { RasterFormatError } from '../../shared/domain/errors.ts';
import { PYTHON, rasterioRead } from '../helpers/rasterio-reference.ts';
import { requirePython, requireTool } from '../helpers/requirements.ts';

const MAKE = `
import subprocess, sys
import numpy as np
import rasterio
from rasterio.transform import from_origin
out = sys.argv[1]
rng = np.random.default_rng(42)
H, W = 500, 700
yy, xx = np.mgrid[0:H, 0:W]
base = (yy * 3 + xx * 2) % 4000 + rng.integers(0, 200, (H, W))
def src(name, dtype, nodata, count=1, interleave='band'):
    a = base.astype(dtype)
    if nodata is not None:
        a[0:256, 0:256] = nodata  # whole blocks of nodata, for SPARSE_OK
    path = f'{out}/{name}.src.tif'
    with rasterio.open(path, 'w', driver='GTiff', width=W, height=H, count=count, dtype=dtype,
                       crs='EPSG:32633', transform=from_origin(500000, 5000000, 10, 10), nodata=nodata,
                       interleave=interleave) as d:
        for b in range(count):
            d.write((a + b * 7).astype(dtype), b + 1)
    return path
def gt(src, dst, *opts):
    subprocess.run(['gdal_translate', '-q', *opts, src, f'{out}/{dst}.tif'], check=True)
u16 = src('u16', 'uint16', 0)
gt(u16, 'cog-deflate-pred2', '-of', 'COG', '-co', 'COMPRESS=DEFLATE', '-co', 'PREDICTOR=YES', '-co', 'BLOCKSIZE=256')
gt(u16, 'cog-lzw-pred2', '-of', 'COG', '-co', 'COMPRESS=LZW', '-co', 'PREDICTOR=YES', '-co', 'BLOCKSIZE=256')
gt(u16, 'cog-zstd-pred2', '-of', 'COG', '-co', 'COMPRESS=ZSTD', '-co', 'PREDICTOR=YES', '-co', 'BLOCKSIZE=128')
gt(u16, 'cog-none', '-of', 'COG', '-co', 'COMPRESS=NONE', '-co', 'BLOCKSIZE=256')
gt(u16, 'cog-bigtiff', '-of', 'COG', '-co', 'COMPRESS=DEFLATE', '-co', 'BIGTIFF=YES', '-co', 'BLOCKSIZE=256')
gt(u16, 'gtiff-sparse', '-of', 'GTiff', '-co', 'TILED=YES', '-co', 'COMPRESS=DEFLATE', '-co', 'SPARSE_OK=TRUE')
gt(u16, 'gtiff-strips-lzw', '-of', 'GTiff', '-co', 'COMPRESS=LZW', '-co', 'PREDICTOR=2', '-co', 'BLOCKYSIZE=7')
gt(src('i16', 'int16', -9999), 'cog-int16', '-of', 'COG', '-co', 'COMPRESS=DEFLATE', '-co', 'PREDICTOR=YES', '-co', 'BLOCKSIZE=256')
gt(src('u8', 'uint8', 255), 'cog-uint8', '-of', 'COG', '-co', 'COMPRESS=DEFLATE', '-co', 'PREDICTOR=YES', '-co', 'BLOCKSIZE=256')
gt(src('u32', 'uint32', None), 'cog-uint32', '-of', 'COG', '-co', 'COMPRESS=ZSTD', '-co', 'PREDICTOR=YES', '-co', 'BLOCKSIZE=256')
f32 = src('f32', 'float32', -1)
gt(f32, 'cog-float32', '-of', 'COG', '-co', 'COMPRESS=DEFLATE', '-co', 'BLOCKSIZE=256')
gt(f32, 'cog-float32-pred3', '-of', 'COG', '-co', 'COMPRESS=DEFLATE', '-co', 'PREDICTOR=FLOATING_POINT')
three = src('three', 'uint16', 0, count=3)
gt(three, 'gtiff-planar', '-of', 'GTiff', '-co', 'TILED=YES', '-co', 'COMPRESS=DEFLATE', '-co', 'INTERLEAVE=BAND')
gt(three, 'gtiff-pixel', '-of', 'GTiff', '-co', 'TILED=YES', '-co', 'COMPRESS=DEFLATE', '-co', 'INTERLEAVE=PIXEL')
gt(three, 'gtiff-pixel-strips-pred2', '-of', 'GTiff', '-co', 'COMPRESS=LZW', '-co', 'PREDICTOR=2', '-co', 'BLOCKYSIZE=9', '-co', 'INTERLEAVE=PIXEL')
gt(u16, 'cog-jpeg', '-of', 'GTiff', '-ot', 'Byte', '-scale', '-co', 'COMPRESS=JPEG', '-co', 'TILED=YES')
`;

const READABLE: Array<[string, number]> = [
  ['cog-deflate-pred2', 1],
  ['cog-lzw-pred2', 1],
  ['cog-zstd-pred2', 1],
  ['cog-none', 1],
  ['cog-bigtiff', 1],
  ['gtiff-sparse', 1],
  ['gtiff-strips-lzw', 1],
  ['cog-int16', 1],
  ['cog-uint8', 1],
  ['cog-uint32', 1],
  ['cog-float32', 1],
  ['gtiff-planar', 2],
  ['gtiff-planar', 3],
  // Pixel-interleaved (GDAL's default for multi-band GTiff, e.g. 8-band WorldView): every band.
  ['gtiff-pixel', 1],
  ['gtiff-pixel', 3],
  ['gtiff-pixel-strips-pred2', 1],
  ['gtiff-pixel-strips-pred2', 2],
  ['gtiff-pixel-strips-pred2', 3],
];

const REFUSED: Array<[string, RegExp]> = [
  ['cog-float32-pred3', /predictor 3 is not supported/],
  ['cog-jpeg', /compression 7 is not supported/],
];

const RECTS: PixelRect[] = [
  { x: 5, y: 7, width: 24, height: 24 },
  { x: 244, y: 244, width: 24, height: 24 },
  { x: 100, y: 200, width: 400, height: 150 },
  { x: 690, y: 490, width: 24, height: 24 },
  { x: -10, y: 480, width: 48, height: 48 },
  { x: 0, y: 0, width: 700, height: 500 },
];

const ready = requireTool('gdal_translate') && requirePython(['rasterio', 'numpy']);

describe.skipIf(!ready)('TIFF layouts written by GDAL', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'satfactory-formats-'));
    const run = spawnSync(PYTHON, ['-c', MAKE, dir], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`making test rasters failed: ${run.stderr}`);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(READABLE)('%s band %i reads like rasterio', async (name, band) => {
    const file = path.join(dir, `${name}.tif`);
    const reader = rangeReaderForUrl();
    const cog = await readCogInfo(reader, file, { band });
    const ref = rasterioRead(file, RECTS, band);
    expect(`${cog.sampleFormat}${cog.bitsPerSample}`).toBe(ref.profile.dtype);
    expect(cog.nodata).toBe(ref.profile.nodata);
    if (name === 'gtiff-sparse') expect(cog.tileByteCounts.filter((c) => c === 0).length).toBeGreaterThan(0);
    for (const [k, rect] of RECTS.entries()) {
      const out = await readRect(reader, cog, rect);
      const mine = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      const theirs = ref.windows[k] as Uint8Array;
      expect(mine.byteLength).toBe(theirs.byteLength);
      expect(
        mine.findIndex((v, i) => v !== theirs[i]),
        `${name} ${JSON.stringify(rect)}`,
      ).toBe(-1);
    }
  });

  it.each(REFUSED)('%s is refused with a RasterFormatError naming the file', async (name, message) => {
    const file = path.join(dir, `${name}.tif`);
    const error = await readCogInfo(rangeReaderForUrl(), file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RasterFormatError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(file);
  });
});
