// Band statistics from histograms: merging in any order gives the histogram of all pixels, the sparse
// work-file form round-trips and refuses what is not a histogram, and the summary's edge cases (no
// pixel, one value, two values) are what numpy says. The comparison with numpy itself over many
// distributions is test/interop/band-stats-numpy.test.ts.
import { describe, expect, it } from 'vitest';
import {
  addSparse,
  createHistogram,
  encodeHistogram,
  type Histogram,
  percentileOf,
  SparseHistogramSchema,
  summarizeHistogram,
} from '../../../shared/domain/band-stats.ts';

/** Deterministic pseudo-random uint16 pixels. */
function pixels(n: number, seed: number, range = 10_000): Uint16Array {
  let x = seed;
  return new Uint16Array(n).map(() => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x % range;
  });
}

function histogramOf(values: ArrayLike<number>): Histogram {
  const h = createHistogram();
  for (let i = 0; i < values.length; i++) h[values[i] as number]!++;
  return h;
}

describe('histograms', () => {
  it('merge in any order to the histogram of all pixels, through the sparse form', () => {
    const chunks = [
      pixels(500, 1),
      pixels(37, 2),
      pixels(0, 3),
      pixels(2000, 4, 65_536),
      new Uint16Array(50),
    ];
    const all = histogramOf(Uint16Array.from(chunks.flatMap((c) => [...c])));
    const sparse = chunks.map((c) =>
      SparseHistogramSchema.parse(JSON.parse(JSON.stringify(encodeHistogram(histogramOf(c))))),
    );
    const forward = sparse.reduce((h, s) => addSparse(h, s), createHistogram());
    const backward = [...sparse].reverse().reduce((h, s) => addSparse(h, s), createHistogram());
    expect(encodeHistogram(forward)).toEqual(encodeHistogram(all));
    expect(encodeHistogram(backward)).toEqual(encodeHistogram(all));
    expect(summarizeHistogram(forward)).toEqual(summarizeHistogram(all));
  });

  it('encodes sparsely: first value, then steps and counts', () => {
    const h = createHistogram();
    h[3] = 2;
    h[4] = 1;
    h[65_535] = 7;
    expect(encodeHistogram(h)).toBe('3,2,1,1,65531,7');
    expect(encodeHistogram(createHistogram())).toBe('');
    expect(encodeHistogram(addSparse(createHistogram(), '3,2,1,1,65531,7'))).toBe(encodeHistogram(h));
    expect(addSparse(createHistogram(), '3,2,1,1,65531,7')[65_535]).toBe(7);
  });

  it('refuses what is not a sparse histogram', () => {
    for (const bad of [
      '1',
      '3,0',
      '3,1,0,1',
      '65536,1',
      '65535,1,1,1',
      '-1,1',
      '1.5,1',
      '1,,1',
      ' 1,1',
      '1,1,',
    ]) {
      expect(SparseHistogramSchema.safeParse(bad).success, bad).toBe(false);
      expect(() => addSparse(createHistogram(), bad)).toThrow();
    }
    expect(SparseHistogramSchema.safeParse('0,1,65535,1').success).toBe(true);
    expect(SparseHistogramSchema.safeParse('').success).toBe(true);
  });
});

describe('summaries', () => {
  it('an empty band (no pixel counted, e.g. all nodata or all cloudy): count 0 and nulls', () => {
    expect(summarizeHistogram(createHistogram())).toEqual({
      count: 0,
      mean: null,
      std: null,
      min: null,
      max: null,
      p1: null,
      p2: null,
      p50: null,
      p98: null,
      p99: null,
    });
  });

  it('one value, any number of times: every statistic is that value, std 0', () => {
    for (const [v, n] of [
      [0, 1],
      [1234, 1],
      [65_535, 3],
    ] as const) {
      const h = createHistogram();
      h[v] = n;
      expect(summarizeHistogram(h)).toEqual({
        count: n,
        mean: v,
        std: 0,
        min: v,
        max: v,
        p1: v,
        p2: v,
        p50: v,
        p98: v,
        p99: v,
      });
    }
  });

  it('two values: numpy linear interpolation, with its b - (b - a)(1 - t) form above t = 0.5', () => {
    const h = histogramOf([0, 10]);
    // np.percentile([0, 10], [1, 2, 50, 98, 99]) -> 0.1, 0.2, 5.0, 9.8, 9.9 (as numpy rounds them).
    expect(summarizeHistogram(h)).toMatchObject({ count: 2, mean: 5, std: 5, min: 0, max: 10 });
    expect(percentileOf(h, 2, 1)).toBe(0 + 10 * 0.01);
    expect(percentileOf(h, 2, 50)).toBe(5);
    expect(percentileOf(h, 2, 99)).toBe(10 - 10 * (1 - 0.99));
    expect(percentileOf(h, 2, 100)).toBe(10);
    expect(percentileOf(h, 2, 0)).toBe(0);
  });

  it('ties: percentiles inside a run of equal values are that value', () => {
    const h = createHistogram();
    h[100] = 1;
    h[200] = 1000;
    h[300] = 1;
    const s = summarizeHistogram(h);
    expect([s.p1, s.p2, s.p50, s.p98, s.p99]).toEqual([200, 200, 200, 200, 200]);
    expect([s.min, s.max]).toEqual([100, 300]);
  });
});
