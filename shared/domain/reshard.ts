// Final shards: every region writes its samples of a split into one region shard (a work file);
// the plan here deals all samples of a split, across regions, into final shards: a count set by
// the size target and the minimum, a seeded permutation (reproducible), counts within ±1, each
// sample whole in one shard. The writer then copies each sample's tar blocks verbatim.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InvalidInputError } from './errors.ts';
import type { Split } from './splits.ts';

const count = z.int().min(0);

/** One sample's tar blocks inside a region shard (shard.ts sampleSpans). */
export const SampleSpanSchema = z.strictObject({ key: z.string().min(1), offset: count, length: count });

/** A region's shard of one split, in the work store, with where each sample lies in it. */
export const RegionShardSchema = z.strictObject({
  /** Work-store key of the region tar. */
  key: z.string().min(1),
  split: z.enum(['train', 'validation', 'test']),
  bytes: count,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  samples: z.array(SampleSpanSchema),
});
export type RegionShard = z.infer<typeof RegionShardSchema>;

/** One sample of a final shard: its bytes in a region shard. */
export const PlannedSampleSchema = z.strictObject({
  source: z.string().min(1),
  key: z.string().min(1),
  offset: count,
  length: count,
});
export type PlannedSample = z.infer<typeof PlannedSampleSchema>;

export type FinalShardPlan = { split: Split; index: number; samples: PlannedSample[]; bytes: number };

/** Bytes a final shard takes: its samples' blocks plus the tar's two end blocks. */
export const TAR_END_BYTES = 1024;

/**
 * Shards of a split: enough for the size target, at least the minimum, never more than samples
 * (a shard holds at least one sample), none for an empty split.
 */
export function shardCount(samples: number, bytes: number, shardBytes: number, minShards: number): number {
  if (!(shardBytes >= 1) || !(minShards >= 1)) {
    throw new InvalidInputError(
      `shardBytes (${shardBytes}) and minShardsPerSplit (${minShards}) must be at least 1`,
    );
  }
  if (samples === 0) return 0;
  return Math.min(samples, Math.max(minShards, Math.ceil(bytes / shardBytes)));
}

/** A 128-bit seeded generator (sfc32) keyed by sha256 of the seed and a label: uniform in [0, 1). */
export function seededRandom(seed: number, label: string): () => number {
  const d = createHash('sha256').update(`${seed}:${label}`).digest();
  let a = d.readUInt32LE(0);
  let b = d.readUInt32LE(4);
  let c = d.readUInt32LE(8);
  let n = d.readUInt32LE(12);
  const next = () => {
    const t = (((a + b) | 0) + n) | 0;
    n = (n + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** Fisher-Yates over 0..n-1 with the seeded generator. */
export function seededPermutation(n: number, seed: number, label: string): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const random = seededRandom(seed, label);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = p[i] as number;
    p[i] = p[j] as number;
    p[j] = t;
  }
  return p;
}

/**
 * Deals a split's samples into final shards. The samples are first put in a canonical order
 * (region shard key, offset), so the plan does not depend on the order regions reported in; the
 * seeded permutation then spreads every region over every shard, and shard i takes the slice
 * [floor(i·N/S), floor((i+1)·N/S)) of it: counts differ by at most one.
 */
export function planSplitShards(options: {
  split: Split;
  regionShards: readonly RegionShard[];
  shardBytes: number;
  minShards: number;
  seed: number;
}): FinalShardPlan[] {
  const samples: PlannedSample[] = [];
  for (const r of [...options.regionShards].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))) {
    if (r.split !== options.split) continue;
    for (const s of [...r.samples].sort((x, y) => x.offset - y.offset)) {
      samples.push({ source: r.key, key: s.key, offset: s.offset, length: s.length });
    }
  }
  const n = samples.length;
  const bytes = samples.reduce((sum, s) => sum + s.length, 0);
  const shards = shardCount(n, bytes, options.shardBytes, options.minShards);
  const order = seededPermutation(n, options.seed, `shards:${options.split}`);
  const out: FinalShardPlan[] = [];
  for (let i = 0; i < shards; i++) {
    const from = Math.floor((i * n) / shards);
    const to = Math.floor(((i + 1) * n) / shards);
    const picked: PlannedSample[] = [];
    for (let k = from; k < to; k++) picked.push(samples[order[k] as number] as PlannedSample);
    const size = picked.reduce((sum, s) => sum + s.length, TAR_END_BYTES);
    out.push({ split: options.split, index: i, samples: picked, bytes: size });
  }
  return out;
}

/** Where a window sample sits: its tile and window row/column (in strides), from its key. */
export type SamplePosition = { tile: string; row: number; col: number };

/**
 * `<tile>_<row>_<col>` (grid.ts windowKey; web-mercator `<zoom>_<x>_<y>` reads alike), with the
 * `_<yyyymmdd>` of a single-date sample after it (the dates of one window share its position).
 */
export function windowPositionOfKey(key: string): SamplePosition | undefined {
  const m = /^(.+?)_(\d+)_(\d+)(?:_\d{8})?$/.exec(key);
  if (!m) return undefined;
  return { tile: m[1] as string, row: Number(m[2]), col: Number(m[3]) };
}

/**
 * Share of consecutive sample pairs within a shard that are spatial neighbours: same tile, window
 * origins at most one stride apart in x and in y. A shard of n samples has n - 1 pairs; shards are
 * not chained. `pairs` 0 gives share null (nothing to measure).
 */
export function neighbourShare(shards: ReadonlyArray<ReadonlyArray<SamplePosition>>): {
  pairs: number;
  neighbours: number;
  share: number | null;
} {
  let pairs = 0;
  let neighbours = 0;
  for (const shard of shards) {
    for (let i = 1; i < shard.length; i++) {
      const a = shard[i - 1] as SamplePosition;
      const b = shard[i] as SamplePosition;
      pairs++;
      if (a.tile === b.tile && Math.abs(a.row - b.row) <= 1 && Math.abs(a.col - b.col) <= 1) neighbours++;
    }
  }
  return { pairs, neighbours, share: pairs === 0 ? null : neighbours / pairs };
}
