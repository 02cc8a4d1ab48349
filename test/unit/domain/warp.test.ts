// The warp kernel on small rasters whose answers are known without GDAL (the real-fixture comparison
// with GDAL is test/integration/warp-gdal.test.ts).
import { describe, expect, it } from 'vitest';
import { converterBetween } from '../../../shared/domain/crs.ts';
import {
  type RasterGrid,
  sourceCoordinates,
  sourceWindow,
  warp,
  windowGrid,
} from '../../../shared/domain/warp.ts';

const grid = (w: number, h: number, x0: number, y0: number, res: number, epsg = 32633): RasterGrid => ({
  width: w,
  height: h,
  epsg,
  transform: [x0, res, 0, y0, 0, -res],
});

function ramp(w: number, h: number): Uint16Array {
  const a = new Uint16Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) a[y * w + x] = 1000 + 10 * x + 100 * y;
  return a;
}

describe('warp', () => {
  const src = { ...grid(20, 20, 500000, 5000000, 10), data: ramp(20, 20), nodata: 0 };

  it('onto the same grid returns the source for every resampling', () => {
    for (const r of ['nearest', 'bilinear', 'cubic', 'average'] as const) {
      const out = warp(src, grid(20, 20, 500000, 5000000, 10), r);
      expect(Array.from(out.data), r).toEqual(Array.from(src.data));
      expect(out.valid.every((v) => v === 1)).toBe(true);
    }
  });

  it('shifted by whole pixels (same CRS) copies pixels; outside stays nodata and invalid', () => {
    const out = warp(src, grid(10, 10, 500000 + 15 * 10, 5000000 - 3 * 10, 10), 'nearest');
    expect(out.data[0]).toBe(src.data[3 * 20 + 15]);
    // Columns 5.. fall east of the 20-pixel source.
    expect(out.data[5]).toBe(0);
    expect(out.valid[5]).toBe(0);
    expect(out.valid[4]).toBe(1);
  });

  it('bilinear at half-pixel offsets averages the neighbours of a linear ramp exactly', () => {
    const out = warp(src, grid(4, 4, 500000 + 55, 5000000 - 55, 10), 'bilinear', { output: 'float32' });
    // Centre of output (0,0) = source pixel coordinates (6, 6): between centres 5.5 and 6.5.
    expect(out.data[0]).toBeCloseTo(1000 + 10 * 5.5 + 100 * 5.5, 6);
    expect(out.data).toBeInstanceOf(Float32Array);
  });

  it('average of a 2x coarser grid is the mean of the 4 source pixels', () => {
    const out = warp(src, grid(10, 10, 500000, 5000000, 20), 'average', { output: 'float32' });
    const s = src.data;
    expect(out.data[0]).toBeCloseTo(
      ((s[0] as number) + (s[1] as number) + (s[20] as number) + (s[21] as number)) / 4,
      6,
    );
  });

  it('never lets nodata into a kernel: a hole is skipped by average and bilinear', () => {
    const data = ramp(20, 20);
    data[0] = 0;
    const holed = { ...src, data };
    const avg = warp(holed, grid(10, 10, 500000, 5000000, 20), 'average', { output: 'float32' });
    expect(avg.data[0]).toBeCloseTo(
      ((data[1] as number) + (data[20] as number) + (data[21] as number)) / 3,
      3,
    );
    const bil = warp(holed, grid(2, 2, 500000 + 5, 5000000 - 5, 10), 'bilinear', { output: 'float32' });
    // Output (0,0) is centred on source corner (1,1): weights 1/4 each, the hole's share renormalised.
    expect(bil.data[0]).toBeCloseTo(
      ((data[1] as number) + (data[20] as number) + (data[21] as number)) / 3,
      4,
    );
  });

  it('keeps uint8 and uint16, rounds half up', () => {
    const u8 = { ...grid(2, 1, 0, 0, 1), data: Uint8Array.of(1, 2), nodata: null };
    const out = warp(u8, grid(1, 1, 0.5, 0, 1), 'bilinear');
    expect(out.data).toBeInstanceOf(Uint8Array);
    expect(out.data[0]).toBe(2); // 1.5 rounds up
  });

  it('warping from the window sourceWindow names equals warping from the whole raster (across CRSs)', () => {
    const big = { ...grid(200, 200, 500000, 5000000, 10), data: ramp(200, 200), nodata: 0 };
    // 40 x 40 web-mercator pixels around the raster's centre.
    const [cx, cy] = converterBetween(32633, 3857).forward([501000, 4999000]) as [number, number];
    const dst = grid(40, 40, cx - 20 * 19.1, cy + 20 * 19.1, 19.1, 3857);
    for (const r of ['nearest', 'bilinear', 'cubic', 'average'] as const) {
      const w = sourceWindow(big, dst, r);
      if (!w) throw new Error('the grid meets the raster');
      const g = windowGrid(big, w);
      const part = new Uint16Array(g.width * g.height);
      for (let y = 0; y < g.height; y++)
        part.set(big.data.subarray((w.y0 + y) * 200 + w.x0, (w.y0 + y) * 200 + w.x1), y * g.width);
      const a = warp(big, dst, r);
      const b = warp({ ...g, data: part, nodata: 0 }, dst, r);
      expect(Array.from(b.data), r).toEqual(Array.from(a.data));
    }
  });

  it('the approximate transformer stays within 0.125 source pixels of the exact one', () => {
    const s = grid(10980, 10980, 399960, 5100000, 10);
    const d = grid(512, 512, 1669792.36, 5635549.22, 9.554628535647032, 3857);
    const a = sourceCoordinates(s, d, 0.5);
    const e = sourceCoordinates(s, d, 0.5, 0);
    let max = 0;
    for (let i = 0; i < a.x.length; i++)
      max = Math.max(
        max,
        Math.abs((a.x[i] as number) - (e.x[i] as number)) + Math.abs((a.y[i] as number) - (e.y[i] as number)),
      );
    expect(max).toBeLessThanOrEqual(0.125);
  });
});
