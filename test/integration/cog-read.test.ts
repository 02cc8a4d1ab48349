// Real Sentinel-2 COGs served over HTTP by the local range server: headers and pixels agree with
// GDAL (rasterio), each needed tile is fetched once in merged ranges, and faults surface as the right errors.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rangeReaderForUrl } from '../../shared/adapters/range-reader-for-url.ts';
import { readCogInfo } from '../../shared/domain/cog-header.ts';
import {
  fetchTiles,
  planTileRanges,
  readRect,
  tileBytes,
  tilesForRect,
} from '../../shared/domain/cog-tiles.ts';
import type { CogInfo, PixelRect } from '../../shared/domain/cog-types.ts';
import { RangeRejectedError, RasterFormatError, type SatfactoryError } from '../../shared/domain/errors.ts';
import { type RangeServer, startRangeServer } from '../helpers/range-server.ts';
import { fixturesRoot, rasterioRead } from '../helpers/rasterio-reference.ts';
import { requireFixture, requirePython } from '../helpers/requirements.ts';

const ROOT = path.join(fixturesRoot(), 'sentinel2');
const RKH = 'earthsearch_S2A_29RKH_20200219_L2A';
const TWL = 'earthsearch_v1_timeseries_T33TWL_2023-08_croatia_120m';
const FILES = [
  `${RKH}/B02.tif`, // 1098², 512-px tiles, DEFLATE, tiles not stored in row-major order
  `${RKH}/B08.tif`,
  `${RKH}/B05.tif`, // 549², one 512 tile plus edge tiles
  `${RKH}/SCL.tif`, // uint8
  `${RKH}/AOT.tif`, // 4 KiB: smaller than one header block
  `${TWL}/S2A_33TWL_20230815_0_L2A/B02.tif`, // 544x224, 256-px tiles, predictor 2, GDAL COG leader/trailer
  `${TWL}/S2A_33TWL_20230815_0_L2A/SCL.tif`,
  `${TWL}/S2B_33TWL_20230810_0_L2A/B08.tif`,
  's2l1c_T33UUU_20170216_brandenburg/T33UUU_20170216T102101_B02.tif', // no nodata
  'sen2rts_jolanda_2020_scl_ndvi_60dates_tiny/NDVI/S2A2A_20200109_022_sampleroi_NDVI_10.tif', // int16, tile > image
];

const ready =
  requireFixture(...new Set(FILES.map((f) => `sentinel2/${f.split('/')[0]}`))) &&
  requirePython(['rasterio', 'numpy']);

/** Windows that exercise every case: inside a tile, across tile borders, at and past the edges. */
function rectsFor(cog: CogInfo): Array<[string, PixelRect]> {
  const { width: W, height: H, tileWidth: tw, tileHeight: th } = cog;
  return [
    ['interior', { x: 5, y: 7, width: 24, height: 24 }],
    ['across tile borders', { x: tw - 12, y: th - 12, width: 24, height: 24 }],
    ['at the bottom-right edge', { x: W - 24, y: H - 24, width: 24, height: 24 }],
    ['partly outside bottom-right', { x: W - 10, y: H - 5, width: 24, height: 24 }],
    ['partly outside top-left', { x: -7, y: -3, width: 24, height: 24 }],
    ['large', { x: 3, y: 2, width: Math.min(W, 700), height: Math.min(H, 300) }],
    ['fully outside', { x: W + 5, y: 0, width: 10, height: 10 }],
  ];
}

describe.skipIf(!ready)(
  'COG reading on real Sentinel-2 fixtures: headers and pixels against GDAL, requests and bytes fetched',
  () => {
    let server: RangeServer;
    beforeAll(async () => {
      server = await startRangeServer({ root: ROOT });
    });
    afterAll(async () => {
      await server.close();
    });
    afterEach(() => {
      server.clearFaults();
      server.resetStats();
    });

    describe.each(FILES)('%s', (file) => {
      it('matches GDAL: header, and pixels of every kind of window', async () => {
        const url = server.urlFor(file);
        const reader = rangeReaderForUrl();
        const cog = await readCogInfo(reader, url);
        // One request for the header; two when the file is smaller than the header block.
        const size = statSync(path.join(ROOT, file)).size;
        expect(server.statsFor(file).requests).toBe(size >= 16 * 1024 ? 1 : 2);

        const rects = rectsFor(cog);
        const ref = rasterioRead(
          path.join(ROOT, file),
          rects.map(([, r]) => r),
        );
        const p = ref.profile;
        expect([cog.width, cog.height]).toEqual([p.width, p.height]);
        expect([cog.originX, cog.resX, 0, cog.originY, 0, -cog.resY]).toEqual(p.transform);
        expect(cog.epsg).toBe(p.epsg);
        expect(cog.nodata).toBe(p.nodata);
        expect(`${cog.sampleFormat}${cog.bitsPerSample}`).toBe(p.dtype.replace(/^uint8$/, 'uint8'));
        expect([cog.tileHeight, cog.tileWidth]).toEqual(p.block);

        for (const [k, [name, rect]] of rects.entries()) {
          server.resetStats();
          const out = await readRect(reader, cog, rect);
          const mine = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
          const theirs = ref.windows[k] as Uint8Array;
          expect(mine.byteLength, name).toBe(theirs.byteLength);
          // Compare element-wise but report only the first difference (arrays reach 200k samples).
          const diff = mine.findIndex((v, i) => v !== theirs[i]);
          expect(diff, `${name}: first differing byte`).toBe(-1);
          // At most one request per needed tile; bytes are exactly those of the merged ranges.
          const needed = tilesForRect(cog, rect);
          const ranges = planTileRanges(cog, needed);
          const got = server.statsFor(file);
          expect(got.requests, name).toBe(ranges.length);
          expect(got.requests, name).toBeLessThanOrEqual(needed.length);
          expect(got.bytes, name).toBe(ranges.reduce((s, r) => s + r.length, 0));
          if (needed.length > 0) expect(got.bytes / tileBytes(cog, needed), name).toBeLessThanOrEqual(1.02);
        }
      });
    });

    it('fetches a region spanning many tiles once each, merging neighbours (GDAL COG: 8-byte gaps)', async () => {
      const file = `${TWL}/S2A_33TWL_20230815_0_L2A/B02.tif`;
      const reader = rangeReaderForUrl();
      const cog = await readCogInfo(reader, server.urlFor(file));
      server.resetStats();
      const all = [...cog.tileOffsets.keys()];
      const tiles = await fetchTiles(reader, cog, all);
      expect(tiles.size).toBe(all.length);
      expect(server.statsFor(file).requests).toBe(1);
      expect(server.statsFor(file).bytes / tileBytes(cog, all)).toBeLessThan(1.001);
    });

    it('merges byte-adjacent tiles stored out of row-major order', async () => {
      const file = `${RKH}/B02.tif`;
      const reader = rangeReaderForUrl();
      const cog = await readCogInfo(reader, server.urlFor(file));
      server.resetStats();
      // Tile 1 is stored right before tile 0 in this file.
      expect((cog.tileOffsets[1] as number) + (cog.tileByteCounts[1] as number)).toBe(cog.tileOffsets[0]);
      await fetchTiles(reader, cog, [0, 1]);
      expect(server.statsFor(file)).toEqual({ requests: 1, bytes: tileBytes(cog, [0, 1]) });
    });

    describe('faults', () => {
      const file = `${TWL}/S2A_33TWL_20230815_0_L2A/B08.tif`;
      const rect = { x: 240, y: 100, width: 48, height: 48 };

      it('retries 503 and 429 on tile reads, then returns the same pixels', async () => {
        const url = server.urlFor(file);
        const reader = rangeReaderForUrl({ sleep: async () => {} });
        const cog = await readCogInfo(reader, url);
        const clean = await readRect(reader, cog, rect);
        server.inject({ path: file, fault: { kind: 'status', status: 503 }, times: 2 });
        server.inject({ path: file, fault: { kind: 'status', status: 429, retryAfter: '1' }, times: 1 });
        server.resetStats();
        expect(await readRect(reader, cog, rect)).toEqual(clean);
        expect(server.log.map((r) => r.status)).toEqual([503, 503, 429, 206]);
      });

      it('refuses a server that ignores Range, naming the URL, without retrying', async () => {
        const url = server.urlFor(file);
        server.inject({ path: file, fault: { kind: 'full-body' } });
        const error = await readCogInfo(rangeReaderForUrl(), url).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RangeRejectedError);
        expect((error as SatfactoryError).message).toContain(url);
        expect(server.statsFor(file).requests).toBe(1);
      });

      it('reports an HTML page where a COG should be as RangeRejectedError naming the page and the URL', async () => {
        const url = server.urlFor(file);
        server.inject({ path: file, fault: { kind: 'html' } });
        const error = await readCogInfo(rangeReaderForUrl(), url).catch((e: unknown) => e);
        // Not parsed as a (short) TIFF: the page is named for what it is, and never retried.
        expect(error).toBeInstanceOf(RangeRejectedError);
        expect((error as SatfactoryError).message).toContain(`${url} answered 200 with an HTML page`);
      });

      it('reports a truncated COG: RasterFormatError in the header, past-end-of-file in the tiles', async () => {
        const bytes = readFileSync(path.join(ROOT, file));
        server.put('/cut-header.tif', bytes.subarray(0, 100));
        const header = await readCogInfo(rangeReaderForUrl(), server.urlFor('cut-header.tif')).catch(
          (e: unknown) => e,
        );
        expect(header).toBeInstanceOf(RasterFormatError);
        expect((header as SatfactoryError).message).toContain('cut-header.tif');

        server.put('/cut-tiles.tif', bytes.subarray(0, Math.floor(bytes.length * 0.6)));
        const reader = rangeReaderForUrl();
        const cog = await readCogInfo(reader, server.urlFor('cut-tiles.tif'));
        const last = cog.tileOffsets.length - 1;
        const error = await fetchTiles(reader, cog, [last]).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RangeRejectedError);
        expect((error as SatfactoryError).context).toMatchObject({ reason: 'past-end-of-file' });
        expect((error as SatfactoryError).message).toContain('cut-tiles.tif');
      });
    });
  },
);
