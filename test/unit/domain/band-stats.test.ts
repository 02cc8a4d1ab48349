// Band statistics: nodata and NaN are excluded, merging in any order gives the same answer as one
// pass over all pixels, and large offsets do not wreck the variance (the point of Chan's formula).
import { describe, expect, it } from 'vitest';
import {
  addPixels,
  BandStatsSchema,
  createBandStats,
  mergeBandStats,
  mergeBandStatsRecords,
  summarize,
} from '../../../shared/domain/band-stats.ts';

function direct(values: number[]) {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
  return {
    count: values.length,
    mean,
    std: Math.sqrt(variance),
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

/** Deterministic pseudo-random uint16 pixels, some nodata (0). */
function pixels(n: number, seed: number): Uint16Array {
  let x = seed;
  return new Uint16Array(n).map(() => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x % 10 === 0 ? 0 : x % 10000;
  });
}

describe('band statistics', () => {
  it('counts valid pixels only and matches a direct computation', () => {
    const data = pixels(1000, 7);
    const stats = addPixels(createBandStats(), data, 0);
    const valid = [...data].filter((v) => v !== 0);
    const want = direct(valid);
    const got = summarize(stats);
    expect(got.count).toBe(want.count);
    expect(stats.skipped).toBe(1000 - valid.length);
    expect(got.mean).toBeCloseTo(want.mean, 9);
    expect(got.std).toBeCloseTo(want.std, 9);
    expect(got.min).toBe(want.min);
    expect(got.max).toBe(want.max);
  });

  it('skips NaN, and keeps nodata pixels when the band has no nodata value', () => {
    const s = addPixels(createBandStats(), new Float32Array([1, Number.NaN, 3, 0]), null);
    expect(summarize(s)).toEqual({ count: 3, mean: 4 / 3, std: expect.any(Number), min: 0, max: 3 });
    expect(s.skipped).toBe(1);
  });

  it('merges chunks and regions in any order to the one-pass answer', () => {
    const chunks = [pixels(500, 1), pixels(37, 2), pixels(0, 3), pixels(2000, 4), new Uint16Array(50)];
    const one = addPixels(createBandStats(), Uint16Array.from(chunks.flatMap((c) => [...c])), 0);
    // Chunks added into one accumulator, as a region does per date.
    const sequential = createBandStats();
    for (const c of chunks) addPixels(sequential, c, 0);
    // Per-region accumulators merged in reverse, as Commit might.
    const parts = chunks.map((c) => addPixels(createBandStats(), c, 0));
    const merged = parts.reverse().reduce(mergeBandStats, createBandStats());
    for (const s of [sequential, merged]) {
      expect(s.count).toBe(one.count);
      expect(s.skipped).toBe(one.skipped);
      expect(s.mean).toBeCloseTo(one.mean, 9);
      expect(summarize(s).std).toBeCloseTo(summarize(one).std!, 9);
      expect([s.min, s.max]).toEqual([one.min, one.max]);
    }
  });

  it('keeps precision with a large offset (naive sum of squares would lose it)', () => {
    const base = 1e9;
    const a = addPixels(createBandStats(), new Float64Array([base + 1, base + 2, base + 3]), null);
    const b = addPixels(createBandStats(), new Float64Array([base + 4, base + 5]), null);
    const s = summarize(mergeBandStats(a, b));
    expect(s.mean).toBe(base + 3);
    expect(s.std).toBeCloseTo(Math.sqrt(2), 9);
  });

  it('summarizes an empty accumulator as nulls and merges with it as identity', () => {
    expect(summarize(createBandStats())).toEqual({ count: 0, mean: null, std: null, min: null, max: null });
    const s = addPixels(createBandStats(), new Uint16Array([0, 0]), 0);
    expect(s).toEqual({ count: 0, skipped: 2, mean: 0, m2: 0, min: null, max: null });
    const x = addPixels(createBandStats(), new Uint16Array([5, 7]), 0);
    expect(mergeBandStats(s, x)).toEqual({ ...x, skipped: 2 });
    expect(mergeBandStats(x, s)).toEqual({ ...x, skipped: 2 });
  });

  it('survives JSON (a region result) and merges records by band name', () => {
    const red = addPixels(createBandStats(), new Uint16Array([100, 200]), 0);
    const nir = addPixels(createBandStats(), new Uint16Array([3000]), 0);
    const back = BandStatsSchema.parse(JSON.parse(JSON.stringify(red)));
    expect(back).toEqual(red);
    const merged = mergeBandStatsRecords({ red: back }, { red, nir });
    expect(summarize(merged['red']!)).toMatchObject({ count: 4, mean: 150, min: 100, max: 200 });
    expect(summarize(merged['nir']!)).toMatchObject({ count: 1, mean: 3000, std: 0 });
  });
});
