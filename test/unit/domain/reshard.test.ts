import { describe, expect, it } from 'vitest';
import {
  neighbourShare,
  planSplitShards,
  type RegionShard,
  seededPermutation,
  shardCount,
  TAR_END_BYTES,
  windowPositionOfKey,
} from '../../../shared/domain/reshard.ts';
import type { Split } from '../../../shared/domain/splits.ts';

/** Region shards of a 3-region split: region r holds `sizes[r]` samples of `bytes` each, row-major. */
function regions(sizes: number[], bytes = 1000, split: Split = 'train'): RegionShard[] {
  return sizes.map((n, r) => ({
    key: `runs/x/region-shards/t-r${r}-${split}.tar`,
    split,
    bytes: n * bytes + 1024,
    sha256: '0'.repeat(64),
    samples: Array.from({ length: n }, (_, i) => ({
      key: `t${r}_${String(Math.floor(i / 8)).padStart(4, '0')}_${String(i % 8).padStart(4, '0')}`,
      offset: i * bytes,
      length: bytes,
    })),
  }));
}

const ids = (s: { source: string; key: string }): string => `${s.source}#${s.key}`;

describe('shardCount', () => {
  it('is the size target, at least the minimum, at most one shard per sample, none for no sample', () => {
    expect(shardCount(1000, 10_000, 1_000, 4)).toBe(10);
    expect(shardCount(1000, 10_001, 1_000, 4)).toBe(11);
    expect(shardCount(1000, 2_000, 1_000, 4)).toBe(4);
    expect(shardCount(3, 2_000, 1_000, 4)).toBe(3);
    expect(shardCount(5, 1_000_000, 1, 1)).toBe(5);
    expect(shardCount(0, 0, 1_000, 4)).toBe(0);
    expect(() => shardCount(3, 1, 0, 4)).toThrow(/shardBytes/);
  });
});

describe('planSplitShards', () => {
  const base = { split: 'train' as const, seed: 7 };

  it('deals every sample exactly once, counts per shard within ±1', () => {
    const input = regions([94, 74, 46, 38]);
    const plans = planSplitShards({ ...base, regionShards: input, shardBytes: 10_000, minShards: 4 });
    // 252 samples of 1000 bytes, 10 kB target: ceil(252000 / 10000) = 26 shards.
    expect(plans).toHaveLength(26);
    const counts = plans.map((p) => p.samples.length);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(252);
    const dealt = plans.flatMap((p) => p.samples.map(ids));
    expect(new Set(dealt).size).toBe(252);
    const all = input.flatMap((r) => r.samples.map((s) => `${r.key}#${s.key}`));
    expect(new Set(dealt)).toEqual(new Set(all));
    expect(plans.map((p) => p.index)).toEqual([...Array(26).keys()]);
    for (const p of plans) {
      expect(p.split).toBe('train');
      expect(p.bytes).toBe(p.samples.length * 1000 + TAR_END_BYTES);
    }
  });

  it('keeps each sample whole: its span is copied as recorded', () => {
    const input = regions([10, 7, 5], 1536);
    const plans = planSplitShards({ ...base, regionShards: input, shardBytes: 1, minShards: 1 });
    const spans = new Map(
      input.flatMap((r) => r.samples.map((s) => [`${r.key}#${s.key}` as string, s] as const)),
    );
    for (const s of plans.flatMap((p) => p.samples)) {
      expect({ key: s.key, offset: s.offset, length: s.length }).toEqual(spans.get(ids(s)));
    }
    // shardBytes 1 forces one shard per sample: the size target, not the minimum.
    expect(plans).toHaveLength(22);
  });

  it('gives at least minShards shards to a small split', () => {
    const plans = planSplitShards({
      ...base,
      regionShards: regions([5, 4, 3]),
      shardBytes: 256 * 1024 * 1024,
      minShards: 8,
    });
    expect(plans).toHaveLength(8);
    expect(plans.map((p) => p.samples.length).sort()).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
  });

  it('is reproducible from the seed, whatever order the regions reported in, and changes with it', () => {
    const input = regions([40, 30, 20]);
    const a = planSplitShards({ ...base, regionShards: input, shardBytes: 5_000, minShards: 2 });
    const b = planSplitShards({
      ...base,
      regionShards: [...input].reverse(),
      shardBytes: 5_000,
      minShards: 2,
    });
    expect(b).toEqual(a);
    const c = planSplitShards({ ...base, seed: 8, regionShards: input, shardBytes: 5_000, minShards: 2 });
    expect(c.map((p) => p.samples.map(ids))).not.toEqual(a.map((p) => p.samples.map(ids)));
  });

  it('only takes the split it plans, and an empty split gets no shard', () => {
    const input = [...regions([6, 6]), ...regions([3], 1000, 'test')];
    const test = planSplitShards({
      ...base,
      split: 'test',
      regionShards: input,
      shardBytes: 1e9,
      minShards: 2,
    });
    expect(test.flatMap((p) => p.samples.map((s) => s.source))).toEqual(
      Array(3).fill('runs/x/region-shards/t-r0-test.tar'),
    );
    expect(
      planSplitShards({ ...base, split: 'validation', regionShards: input, shardBytes: 1e9, minShards: 2 }),
    ).toEqual([]);
  });

  it('mixes regions: every shard of a 3-region split holds samples of more than one region', () => {
    const plans = planSplitShards({
      ...base,
      regionShards: regions([64, 64, 64]),
      shardBytes: 1e9,
      minShards: 8,
    });
    for (const p of plans) expect(new Set(p.samples.map((s) => s.source)).size).toBeGreaterThan(1);
  });
});

describe('seededPermutation', () => {
  it('is a permutation, the same for the same seed and label', () => {
    const p = seededPermutation(1000, 3, 'shards:train');
    expect([...p].sort((a, b) => a - b)).toEqual([...Array(1000).keys()]);
    expect(seededPermutation(1000, 3, 'shards:train')).toEqual(p);
    expect(seededPermutation(1000, 3, 'shards:test')).not.toEqual(p);
    // Not the identity, nor close to it: few fixed points (1 expected for a uniform permutation).
    expect([...p].filter((v, i) => v === i).length).toBeLessThan(10);
  });
});

describe('neighbourShare', () => {
  it('counts consecutive pairs in one tile at most one stride apart in row and column', () => {
    const pos = (key: string) =>
      windowPositionOfKey(key) as NonNullable<ReturnType<typeof windowPositionOfKey>>;
    const shard = [
      '33twl_0000_0000',
      '33twl_0000_0001',
      '33twl_0001_0002',
      '33twl_0003_0002',
      '33twm_0003_0002',
    ];
    // pairs: (0,0)-(0,1) yes; (0,1)-(1,2) yes (diagonal); (1,2)-(3,2) no; other tile: no.
    expect(neighbourShare([shard.map(pos)])).toEqual({ pairs: 4, neighbours: 2, share: 0.5 });
    // Shards are not chained; single-sample shards have no pair.
    expect(neighbourShare([[pos('a_0001_0001')], [pos('a_0001_0002')]])).toEqual({
      pairs: 0,
      neighbours: 0,
      share: null,
    });
  });

  it('reads window keys, and refuses others', () => {
    expect(windowPositionOfKey('33twl_0012_0103')).toEqual({ tile: '33twl', row: 12, col: 103 });
    expect(windowPositionOfKey('nokey')).toBeUndefined();
  });
});
