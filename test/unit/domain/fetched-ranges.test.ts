import { describe, expect, it } from 'vitest';
import {
  mergeIntervals,
  RecordingRangeReader,
  rangeBytes,
  refetchRatio,
  unionRanges,
} from '../../../shared/domain/fetched-ranges.ts';
import type { RangeReader } from '../../../shared/ports.ts';

describe('fetched ranges', () => {
  it('merges overlapping and touching intervals, keeps gaps', () => {
    expect(
      mergeIntervals([
        [10, 20],
        [0, 5],
        [5, 8],
        [15, 30],
        [40, 41],
        [7, 7],
      ]),
    ).toEqual([
      [0, 8],
      [10, 30],
      [40, 41],
    ]);
  });

  it('unites regions per URL: bytes two regions fetched count once in the distinct bytes', () => {
    const a = { 'http://x/B02.tif': [[100, 200]] as Array<[number, number]> };
    const b = {
      'http://x/B02.tif': [[150, 260]] as Array<[number, number]>,
      'http://x/B03.tif': [[100, 200]] as Array<[number, number]>,
    };
    const union = unionRanges([a, b]);
    expect(union).toEqual({ 'http://x/B02.tif': [[100, 260]], 'http://x/B03.tif': [[100, 200]] });
    const fetched = rangeBytes(a) + rangeBytes(b);
    expect(fetched).toBe(310);
    expect(rangeBytes(union)).toBe(260);
    expect(refetchRatio({ bytesFetched: fetched, bytesDistinct: rangeBytes(union) })).toBeCloseTo(310 / 260);
    expect(refetchRatio({ bytesFetched: 0, bytesDistinct: 0 })).toBeNull();
  });

  it('records what a reader read, with its own counters', async () => {
    const inner: RangeReader = {
      stats: { requests: 99, bytes: 99 },
      read: async (_url, _offset, length) => new Uint8Array(length),
    };
    const reader = new RecordingRangeReader(inner);
    await reader.read('u', 0, 10);
    await reader.read('u', 10, 5);
    await reader.read('u', 0, 10);
    await reader.read('v', 100, 1);
    expect(reader.stats).toEqual({ requests: 4, bytes: 26 });
    expect(reader.ranges()).toEqual({ u: [[0, 15]], v: [[100, 101]] });
  });
});
