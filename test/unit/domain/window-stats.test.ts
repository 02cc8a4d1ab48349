import { describe, expect, it } from 'vitest';
import { type BandStats, createBandStats, summarize } from '../../../shared/domain/band-stats.ts';
import { allocateWindowArrays, type WindowArrays } from '../../../shared/domain/window-arrays.ts';
import { addClassFrequencies, addWindowStats } from '../../../shared/domain/window-stats.ts';
import { tilePlanOf } from '../../helpers/tile-plan.ts';

describe('addWindowStats', () => {
  it('adds every date of each band to that band, skipping its nodata', () => {
    const tp = tilePlanOf(2);
    const [wa] = allocateWindowArrays(tp, 1) as [WindowArrays];
    const g10 = wa.groups.get('10m') as Uint16Array;
    // [T=2, C=2 (blue, red), 36 px]: blue 100 on date 1, 300 on date 2 (half nodata); red 50 everywhere.
    g10.fill(100, 0, 36);
    g10.fill(50, 36, 72);
    g10.fill(300, 72, 90);
    g10.fill(50, 108, 144);
    (wa.groups.get('20m') as Uint16Array).fill(9);
    const stats: Record<string, BandStats> = {
      blue: createBandStats(),
      red: createBandStats(),
      swir16: createBandStats(),
    };
    addWindowStats(tp, wa, stats);
    const blue = summarize(stats['blue'] as BandStats);
    expect(blue).toMatchObject({ count: 54, min: 100, max: 300 });
    expect(blue.mean).toBeCloseTo((36 * 100 + 18 * 300) / 54, 9);
    expect(stats['blue']?.skipped).toBe(18);
    expect(summarize(stats['red'] as BandStats)).toMatchObject({ count: 72, mean: 50, std: 0 });
    expect(summarize(stats['swir16'] as BandStats)).toMatchObject({ count: 18, mean: 9 });
  });
});

describe('addClassFrequencies', () => {
  it('adds label pixels per class and one sample per window where the class appears', () => {
    const into: Record<string, { pixels: number; samples: number }> = {};
    addClassFrequencies(
      into,
      new Map([
        [1, 10],
        [3, 2],
      ]),
    );
    addClassFrequencies(into, new Map([[1, 5]]));
    expect(into).toEqual({ '1': { pixels: 15, samples: 2 }, '3': { pixels: 2, samples: 1 } });
  });
});
