// PlanShards and WriteShard on in-memory stores: three regions' shards dealt into final shards;
// every sample once and byte for byte; region shards only ever range-read (each sample once, never
// whole, a batch's samples of one region shard in one call); a rerun writes nothing new; a region
// shard that changed is refused, naming it.
import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../../../shared/domain/errors.ts';
import { parseJobSpec } from '../../../shared/domain/job-spec.ts';
import type { RegionResult } from '../../../shared/domain/plan.ts';
import { buildShard, readShard, type ShardSample, sampleSpans } from '../../../shared/domain/shard.ts';
import type { BlobStore, ByteRange, PutOptions } from '../../../shared/ports.ts';
import { noMetrics, silentLog, systemClock } from '../../../shared/ports.ts';
import { planShards } from '../../../shared/steps/plan-shards.ts';
import { BATCH_SAMPLES, writeShards } from '../../../shared/steps/write-shards.ts';
import { type StepContext, storeJob } from '../../../shared/work/context.ts';
import { WorkFiles, writeWork, writeWorkBytes, writeWorkLines } from '../../../shared/work/files.ts';
import type { ShardTask } from '../../../shared/workflow/contracts.ts';
import { MemoryBlobStore } from '../../helpers/memory-blob-store.ts';

const RUN = 'run-reshard';

/** Counts whole reads and range reads of the work store (getRanges calls and the ranges they ask). */
class CountingStore implements BlobStore {
  readonly gets: string[] = [];
  readonly ranges: Array<{ key: string; length: number }> = [];
  readonly rangeCalls: Array<{ key: string; ranges: number }> = [];
  readonly puts: string[] = [];
  readonly inner: MemoryBlobStore;
  constructor(inner: MemoryBlobStore) {
    this.inner = inner;
  }
  get uri() {
    return this.inner.uri;
  }
  get(key: string) {
    this.gets.push(key);
    return this.inner.get(key);
  }
  getRange(key: string, offset: number, length: number) {
    this.ranges.push({ key, length });
    return this.inner.getRange(key, offset, length);
  }
  getRanges(key: string, ranges: readonly ByteRange[]) {
    this.rangeCalls.push({ key, ranges: ranges.length });
    return Promise.all(ranges.map((r) => this.getRange(key, r.offset, r.length)));
  }
  put(key: string, body: Uint8Array | string, options?: PutOptions) {
    this.puts.push(key);
    return this.inner.put(key, body, options);
  }
  putStream(key: string, chunks: AsyncIterable<Uint8Array>, options?: PutOptions) {
    this.puts.push(key);
    return this.inner.putStream(key, chunks, options);
  }
  exists(key: string) {
    return this.inner.exists(key);
  }
  size(key: string) {
    return this.inner.size(key);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
}

function sample(key: string, n: number): ShardSample {
  return {
    key,
    members: [
      { name: 'json', data: new TextEncoder().encode(JSON.stringify({ id: key })) },
      // Sizes differ per sample (some cross a 512-byte block, one is a whole block).
      { name: '10m.npy', data: new Uint8Array(300 + ((n * 97) % 900)).fill(n % 251) },
    ],
  };
}

async function setup(
  output: { shardBytes: number; minShardsPerSplit: number } = { shardBytes: 4000, minShardsPerSplit: 3 },
) {
  const work = new CountingStore(new MemoryBlobStore('memory://work'));
  const dataset = new MemoryBlobStore('memory://out');
  const ctx: StepContext = {
    work,
    openStore: (uri) => {
      if (uri !== dataset.uri) throw new Error(`unexpected store ${uri}`);
      return dataset;
    },
    ranges: {} as StepContext['ranges'],
    openCatalog: () => {
      throw new Error('no catalog');
    },
    clock: systemClock,
    log: silentLog,
    metrics: noMetrics,
  };
  const job = parseJobSpec({
    name: 'mix',
    catalog: { kind: 'static', source: 'items.json' },
    aoi: {
      type: 'Polygon',
      coordinates: [
        [
          [0, 0],
          [1, 0],
          [1, 1],
          [0, 1],
          [0, 0],
        ],
      ],
    },
    period: { start: '2023-05-01', end: '2023-05-31' },
    bands: ['red'],
    windows: { size: 24 },
    splits: { method: 'random', train: 0.8, validation: 0, test: 0.2, seed: 5 },
    output: { uri: 'memory://out', ...output },
  });
  const input = await storeJob(work, job, RUN);
  const written = new Map<string, ShardSample>();
  const regions = ['t-r000-c000', 't-r000-c001', 't-r001-c000'];
  let n = 0;
  for (const [r, regionId] of regions.entries()) {
    const shards: RegionResult['shards'] = [];
    for (const [split, count] of [
      ['test', 2 + r],
      ['train', 9 + 3 * r],
    ] as const) {
      const samples = Array.from({ length: count }, (_, i) =>
        sample(`t_${String(r * 100 + i).padStart(4, '0')}_${split === 'test' ? '0001' : '0000'}`, n++),
      );
      for (const s of samples) written.set(s.key, s);
      const shard = await buildShard(samples);
      const key = WorkFiles.regionShard.key(RUN, regionId, split);
      await writeWorkBytes(work, WorkFiles.regionShard, key, shard.bytes);
      shards.push({
        key,
        split,
        bytes: shard.bytes.byteLength,
        sha256: shard.sha256,
        samples: sampleSpans(shard.bytes),
      });
    }
    const result: RegionResult = {
      regionId,
      planned: 0,
      written: 0,
      rejected: 0,
      rejectedByReason: {},
      shards,
      stats: {},
      bytesFetched: 0,
      requests: 0,
      tilesNeeded: 0,
      bytesNeeded: 0,
      fetched: {},
    };
    await writeWork(work, WorkFiles.regionResult, WorkFiles.regionResult.key(RUN, regionId), result);
  }
  const regionsKey = WorkFiles.regions.key(RUN);
  await writeWorkLines(
    work,
    WorkFiles.regions,
    regionsKey,
    regions.map((regionId) => ({
      runId: RUN,
      jobKey: input.jobKey,
      regionId,
      planKey: `runs/${RUN}/regions/${regionId}.json`,
    })),
  );
  await writeWork(work, WorkFiles.windowsSummary, WorkFiles.windowsSummary.key(RUN), {
    regionsKey,
    regions: 3,
    windows: written.size,
    bytesToFetch: 0,
    tiles: {},
    splits: { train: 36, validation: 0, test: 9 },
  });
  return { work, dataset, ctx, input, written };
}

/** getRanges calls WriteShard should make: per plan, per batch of BATCH_SAMPLES, its distinct sources. */
async function expectedRangeCalls(work: CountingStore): Promise<number> {
  let calls = 0;
  for (const key of await work.inner.list(`runs/${RUN}/shard-plans/`)) {
    const plan = work.inner.json<{ samples: Array<{ source: string; length: number }> }>(key);
    for (let i = 0; i < plan.samples.length; i += BATCH_SAMPLES) {
      const batch = plan.samples.slice(i, i + BATCH_SAMPLES);
      // Far below the batch byte limit here, so only the sample count cuts batches.
      expect(batch.reduce((n, s) => n + s.length, 0)).toBeLessThan(100_000);
      calls += new Set(batch.map((s) => s.source)).size;
    }
  }
  return calls;
}

async function tasksOf(work: CountingStore, shardsKey: string): Promise<ShardTask[]> {
  return (work.inner.text(shardsKey) ?? '')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as ShardTask);
}

describe('PlanShards and WriteShard', () => {
  it('deal three regions into even final shards, every sample once, bytes copied verbatim', async () => {
    const { work, dataset, ctx, input, written } = await setup();
    const planned = await planShards(input, ctx);
    expect(planned.samples).toBe(written.size);
    const tasks = (await work.inner.text(planned.shardsKey))
      ?.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ShardTask) as ShardTask[];
    expect(tasks).toHaveLength(planned.shards);

    work.gets.length = 0;
    const out = await writeShards({ Items: tasks }, ctx);
    expect(out).toMatchObject({ shards: tasks.length, samples: written.size });
    // Region shards are never read whole, only sample by sample.
    expect(work.gets.filter((k) => k.includes('/region-shards/'))).toEqual([]);
    const spanOf = (s: ShardSample) =>
      s.members.reduce((n, m) => n + 512 + Math.ceil(m.data.byteLength / 512) * 512, 0);
    expect(Math.max(...work.ranges.map((r) => r.length))).toBe(
      Math.max(...[...written.values()].map(spanOf)),
    );
    expect(work.ranges).toHaveLength(written.size);
    // Batched: one call per region shard a batch draws from, fewer calls than samples.
    expect(work.rangeCalls.reduce((n, c) => n + c.ranges, 0)).toBe(written.size);
    expect(work.rangeCalls).toHaveLength(await expectedRangeCalls(work));
    expect(work.rangeCalls.length).toBeLessThan(written.size);

    const seen = new Set<string>();
    for (const split of ['train', 'test'] as const) {
      const paths = (await dataset.list(`${split}/`)).filter((k) => k.endsWith('.tar'));
      // The size target sets the count (4 kB against 1 to 2.5 kB a sample), at least the minimum of 3.
      const inSplit = [...written.values()].filter((s) =>
        s.key.endsWith(split === 'test' ? '_0001' : '_0000'),
      );
      const bytes = inSplit.reduce((n, s) => n + spanOf(s), 0);
      expect(paths.length).toBe(Math.max(3, Math.ceil(bytes / 4000)));
      const counts: number[] = [];
      for (const p of paths) {
        const samples = await readShard((await dataset.get(p)) as Uint8Array);
        counts.push(samples.length);
        for (const s of samples) {
          expect(seen.has(s.key)).toBe(false);
          seen.add(s.key);
          expect(s.members).toEqual(written.get(s.key)?.members);
        }
        const record = work.inner.json<{ sha256: string; bytes: number; samples: number }>(
          WorkFiles.shardResult.key(RUN, split, paths.indexOf(p)),
        );
        const bytes = (await dataset.get(p)) as Uint8Array;
        expect(record.bytes).toBe(bytes.byteLength);
        expect(record.samples).toBe(samples.length);
        expect(record.sha256).toBe((await buildShard(samples)).sha256);
      }
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
    expect(seen.size).toBe(written.size);

    // A rerun finds every result and writes nothing.
    work.puts.length = 0;
    const again = await writeShards({ Items: tasks }, ctx);
    expect(again).toEqual(out);
    expect(work.puts).toEqual([]);
  });

  it('writes the same plan again on a rerun of PlanShards (seeded, reproducible)', async () => {
    const { work, ctx, input } = await setup();
    const first = await planShards(input, ctx);
    const plans = async () =>
      Promise.all((await work.list(`runs/${RUN}/shard-plans/`)).map(async (k) => work.inner.text(k)));
    const a = await plans();
    const second = await planShards(input, ctx);
    expect(second).toEqual(first);
    expect(await plans()).toEqual(a);
  });

  it('reads a shard of more samples than a batch in several batches, the bytes in plan order', async () => {
    // One shard per split: the 36 train samples take several batches, the 9 test samples one.
    const { work, dataset, ctx, input, written } = await setup({
      shardBytes: 10_000_000,
      minShardsPerSplit: 1,
    });
    const planned = await planShards(input, ctx);
    expect(planned.shards).toBe(2);
    const tasks = await tasksOf(work, planned.shardsKey);
    await writeShards({ Items: tasks }, ctx);
    expect(work.rangeCalls).toHaveLength(await expectedRangeCalls(work));
    expect(BATCH_SAMPLES).toBeLessThan(36);
    expect(work.rangeCalls.length).toBeLessThanOrEqual((Math.ceil(36 / BATCH_SAMPLES) + 1) * 3);
    for (const split of ['train', 'test'] as const) {
      const plan = work.inner.json<{ path: string; samples: Array<{ key: string }> }>(
        WorkFiles.shardPlan.key(RUN, split, 0),
      );
      // Independent oracle: the tar the plan's samples make when built afresh, in plan order.
      const expected = await buildShard(plan.samples.map((s) => written.get(s.key) as ShardSample));
      expect(Buffer.compare(Buffer.from((await dataset.get(plan.path))!), Buffer.from(expected.bytes))).toBe(
        0,
      );
    }
  });

  it('refuses a region shard whose bytes moved, naming it and the sample, and writes no final shard', async () => {
    const { work, dataset, ctx, input } = await setup();
    const planned = await planShards(input, ctx);
    const tasks = await tasksOf(work, planned.shardsKey);
    // Shift one region shard by a block: every span now starts at the wrong sample.
    const key = WorkFiles.regionShard.key(RUN, 't-r000-c001', 'train');
    const bytes = (await work.inner.get(key))!;
    await work.inner.put(key, Buffer.concat([new Uint8Array(512), bytes]));
    const planOf = (t: ShardTask) =>
      work.inner.json<{ path: string; samples: Array<{ source: string }> }>(t.planKey);
    const task = tasks.find((t) => planOf(t).samples.some((s) => s.source === key)) as ShardTask;
    const run = writeShards({ Items: [task] }, ctx);
    await expect(run).rejects.toThrow(IntegrityError);
    await expect(run).rejects.toThrow(new RegExp(`${key}.* holds no sample t_01\\d\\d_0000 at byte \\d+`));
    // Nothing of that shard: not in the dataset, no result recorded.
    expect(await dataset.exists(planOf(task).path)).toBe(false);
    expect(await work.inner.list(`runs/${RUN}/shard-results/`)).toEqual([]);
  });
});
