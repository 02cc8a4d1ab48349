import { describe, expect, it } from 'vitest';
import { summarizeHistogram } from '../../../shared/domain/band-stats.ts';
import { type TilePlan, TilePlanSchema } from '../../../shared/domain/plan.ts';
import { allocateWindowArrays, type WindowArrays } from '../../../shared/domain/window-arrays.ts';
import {
  addClassFrequencies,
  addWindowStats,
  createBandHistograms,
  excludedPixels,
  overlappingCells,
} from '../../../shared/domain/window-stats.ts';
import { cogOf, tilePlanOf } from '../../helpers/tile-plan.ts';

/**
 * 12 px windows of 10 m (120 m): blue and red at 10 m (12 x 12), swir16 at 20 m (6 x 6), coastal at
 * 60 m (2 x 2) and SCL at 20 m (6 x 6), over `dates` dates.
 */
function multiResPlan(dates: number, nodata: number | null = 0): TilePlan {
  const base = tilePlanOf(dates, { nodata });
  return TilePlanSchema.parse({
    ...base,
    grid: { ...base.grid, windowSize: 12, stride: 12 },
    bands: [...base.bands, { name: 'coastal', resolution: 60, nodata, dataType: 'uint16' }],
    groups: [...base.groups, { name: '60m', resolution: 60, bands: ['coastal'] }],
    products: base.products.map((p) => ({ ...p, cogs: { ...p.cogs, coastal: cogOf(60) } })),
  });
}

/** Fills band `c` of a group cube [T, C, s, s] on date t with v. */
function fill(wa: WindowArrays, group: string, T: number, C: number, t: number, c: number, v: number): void {
  const data = wa.groups.get(group) as Uint16Array;
  const n = data.length / (T * C);
  data.fill(v, (t * C + c) * n, (t * C + c + 1) * n);
}

describe('overlappingCells: which SCL pixels a band pixel overlaps on aligned grids', () => {
  it('10 m over 20 m SCL: the one covering it; 20 m: the same pixel; 60 m: three per axis', () => {
    // 12 px of 10 m, 6 of 20 m, 2 of 60 m per window side.
    expect(overlappingCells(0, 12, 6)).toEqual([0, 1]);
    expect(overlappingCells(5, 12, 6)).toEqual([2, 3]);
    expect(overlappingCells(11, 12, 6)).toEqual([5, 6]);
    expect(overlappingCells(4, 6, 6)).toEqual([4, 5]);
    expect(overlappingCells(0, 2, 6)).toEqual([0, 3]);
    expect(overlappingCells(1, 2, 6)).toEqual([3, 6]);
  });
});

describe('addWindowStats', () => {
  it('leaves out nodata and the pixels over cloudy SCL, per band resolution', () => {
    const T = 2;
    const tp = multiResPlan(T);
    const [wa] = allocateWindowArrays(tp, 1) as [WindowArrays];
    for (let t = 0; t < T; t++) {
      fill(wa, '10m', T, 2, t, 0, 100 + t); // blue
      fill(wa, '10m', T, 2, t, 1, 50); // red
      fill(wa, '20m', T, 1, t, 0, 9); // swir16
      fill(wa, '60m', T, 1, t, 0, 7); // coastal
    }
    // Date 0: SCL 4 (vegetation) everywhere but one cloudy pixel (class 9) at SCL row 1, col 4.
    const scl = wa.scl as Uint8Array;
    scl.fill(4);
    scl[1 * 6 + 4] = 9;
    // Date 1: SCL class 8 at row 5, col 0 (not excluded below: only 9 is), one nodata blue pixel.
    scl[36 + 5 * 6] = 8;
    (wa.groups.get('10m') as Uint16Array)[(1 * 2 + 0) * 144 + 7] = 0;

    const h = createBandHistograms(tp);
    addWindowStats(tp, wa, h, [9]);
    const s = (band: string) => summarizeHistogram(h[band] as Float64Array);
    // 10 m: the 2 x 2 pixels under SCL (1, 4) on date 0 (rows 2-3, cols 8-9); a nodata pixel on date 1.
    expect(s('blue')).toMatchObject({ count: 144 - 4 + 144 - 1, min: 100, max: 101 });
    expect(s('blue').mean).toBeCloseTo((140 * 100 + 143 * 101) / 283, 12);
    expect(s('red').count).toBe(288 - 4);
    // 20 m: the one pixel; 60 m: the pixel (0, 1), whose 3 x 3 SCL pixels (rows 0-2, cols 3-5) hold it.
    expect(s('swir16').count).toBe(72 - 1);
    expect(s('coastal').count).toBe(8 - 1);

    // Without excluded classes (no SCL rule), only nodata is left out.
    const all = createBandHistograms(tp);
    addWindowStats(tp, wa, all, []);
    expect(summarizeHistogram(all['blue'] as Float64Array).count).toBe(288 - 1);
    expect(summarizeHistogram(all['coastal'] as Float64Array).count).toBe(8);
  });

  it('a band that is all nodata counts nothing; a 60 m pixel with one cloudy SCL pixel of its nine is out', () => {
    const tp = multiResPlan(1);
    const [wa] = allocateWindowArrays(tp, 1) as [WindowArrays];
    fill(wa, '10m', 1, 2, 0, 1, 50);
    (wa.scl as Uint8Array).fill(4);
    (wa.scl as Uint8Array)[0] = 10;
    fill(wa, '60m', 1, 1, 0, 0, 3);
    const h = createBandHistograms(tp);
    addWindowStats(tp, wa, h, [3, 8, 9, 10]);
    expect(summarizeHistogram(h['blue'] as Float64Array)).toMatchObject({ count: 0, mean: null, p50: null });
    expect(summarizeHistogram(h['red'] as Float64Array).count).toBe(144 - 4);
    expect(summarizeHistogram(h['coastal'] as Float64Array).count).toBe(3);

    // A date all under cloud counts nothing in any band.
    (wa.scl as Uint8Array).fill(9);
    const cloudy = createBandHistograms(tp);
    addWindowStats(tp, wa, cloudy, [3, 8, 9, 10]);
    for (const band of ['blue', 'red', 'swir16', 'coastal'])
      expect(summarizeHistogram(cloudy[band] as Float64Array).count).toBe(0);
  });

  it('a band without nodata counts 0 as a value; pixels outside the imagery never count', () => {
    const tp = multiResPlan(1, null);
    const [wa] = allocateWindowArrays(tp, 1) as [WindowArrays];
    (wa.scl as Uint8Array).fill(4);
    const h = createBandHistograms(tp);
    addWindowStats(tp, wa, h, [9]);
    expect(summarizeHistogram(h['blue'] as Float64Array)).toMatchObject({ count: 144, min: 0, max: 0 });

    // A padded window: 7 columns and 12 rows of the finest grid inside the imagery.
    const inside = new Uint8Array(144);
    for (let r = 0; r < 12; r++) inside.fill(1, r * 12, r * 12 + 7);
    const padded = createBandHistograms(tp);
    addWindowStats(tp, wa, padded, [9], inside);
    expect(summarizeHistogram(padded['blue'] as Float64Array).count).toBe(12 * 7);
    // 20 m pixels wholly inside: columns 0-2 (col 3 covers finest 6-7, half outside).
    expect(summarizeHistogram(padded['swir16'] as Float64Array).count).toBe(6 * 3);
    // 60 m: column 0 (finest 0-5) is inside, column 1 (6-11) is not.
    expect(summarizeHistogram(padded['coastal'] as Float64Array).count).toBe(2);
  });

  it('matches a pixel-by-pixel recount on random windows with nodata, cloudy SCL and padding', () => {
    // The oracle counts each band pixel on its own, finding the SCL and finest-grid pixels it
    // overlaps by interval intersection (not overlappingCells), with plain arrays and a Map.
    let seed = 12345;
    const random = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    const overlaps = (i: number, side: number, j: number, other: number) =>
      j * side < (i + 1) * other && (j + 1) * side > i * other;
    for (const T of [1, 2, 3]) {
      for (const nodata of [0, null]) {
        const tp = multiResPlan(T, nodata);
        const [wa] = allocateWindowArrays(tp, 1) as [WindowArrays];
        for (const data of wa.groups.values()) {
          for (let i = 0; i < data.length; i++) data[i] = random() < 0.1 ? 0 : Math.floor(random() * 40);
        }
        const scl = wa.scl as Uint8Array;
        for (let i = 0; i < scl.length; i++) scl[i] = random() < 0.3 ? [3, 8, 9, 10][i % 4]! : 4;
        for (const padded of [false, true]) {
          // A ragged valid mask on the finest grid (12 x 12): columns past 3..11 and rows past 5..11.
          const cut = 3 + Math.floor(random() * 9);
          const rows = 5 + Math.floor(random() * 7);
          const inside = padded
            ? new Uint8Array(144).map((_, i) => (i % 12 < cut && i < rows * 12 ? 1 : 0))
            : null;
          for (const excluded of [[], [9], [3, 8, 9, 10]]) {
            const h = createBandHistograms(tp);
            addWindowStats(tp, wa, h, excluded, inside);
            for (const g of tp.groups) {
              const data = wa.groups.get(g.name) as Uint16Array;
              const C = g.bands.length;
              const side = Math.round(Math.sqrt(data.length / (T * C)));
              g.bands.forEach((band, c) => {
                const expected = new Map<number, number>();
                for (let t = 0; t < T; t++) {
                  for (let r = 0; r < side; r++) {
                    for (let x = 0; x < side; x++) {
                      const v = data[(t * C + c) * side * side + r * side + x] as number;
                      if (v === nodata) continue;
                      let out = false;
                      for (let y = 0; y < 12; y++)
                        for (let u = 0; u < 12; u++)
                          if (
                            inside &&
                            overlaps(r, side, y, 12) &&
                            overlaps(x, side, u, 12) &&
                            !inside[y * 12 + u]
                          )
                            out = true;
                      for (let y = 0; y < 6; y++)
                        for (let u = 0; u < 6; u++)
                          if (
                            overlaps(r, side, y, 6) &&
                            overlaps(x, side, u, 6) &&
                            excluded.includes(scl[t * 36 + y * 6 + u] as number)
                          )
                            out = true;
                      if (!out) expected.set(v, (expected.get(v) ?? 0) + 1);
                    }
                  }
                }
                const got = new Map<number, number>();
                (h[band] as Float64Array).forEach((count, v) => {
                  if (count > 0) got.set(v, count);
                });
                expect(got, `${band} T=${T} nodata=${nodata} padded=${padded} excluded=${excluded}`).toEqual(
                  expected,
                );
              });
            }
          }
        }
      }
    }
  });

  it('excludedPixels is null when nothing can be left out', () => {
    expect(excludedPixels(null, [9], null, 2, 6)).toBeNull();
    expect(excludedPixels(new Uint8Array(72), [], null, 2, 6)).toBeNull();
  });
});

describe('addClassFrequencies', () => {
  it('adds label pixels per id, the background included, and one sample per window where it appears', () => {
    const into: Record<string, { pixels: number; samples: number }> = {};
    addClassFrequencies(
      into,
      new Map([
        [0, 30],
        [1, 10],
        [3, 2],
      ]),
    );
    addClassFrequencies(
      into,
      new Map([
        [0, 37],
        [1, 5],
      ]),
    );
    expect(into).toEqual({
      '0': { pixels: 67, samples: 2 },
      '1': { pixels: 15, samples: 2 },
      '3': { pixels: 2, samples: 1 },
    });
  });
});
