// PlanShards and WriteShard on in-memory stores: three regions' shards dealt into final shards;
// every sample once and byte for byte; region shards only ever range-read (one sample at a time,
// never whole); a rerun writes nothing new.
import { describe, expect, it } from 'vitest';
import { parseJobSpec } from '../../../shared/domain/job-spec.ts';
import type { RegionResult } from '../../../shared/domain/plan.ts';
import { buildShard, readShard, type ShardSample, sampleSpans } from '../../../shared/domain/shard.ts';
import type { BlobStore, PutOptions } from '../../../shared/ports.ts';
import { noMetrics, silentLog, systemClock } from '../../../shared/ports.ts';
import { planShards } from '../../../shared/steps/plan-shards.ts';
import { writeShards } from '../../../shared/steps/write-shards.ts';
import { type StepContext, storeJob } from '../../../shared/work/context.ts';
import { WorkFiles, writeWork, writeWorkBytes, writeWorkLines } from '../../../shared/work/files.ts';
import type { ShardTask } from '../../../shared/workflow/contracts.ts';
import { MemoryBlobStore } from '../../helpers/memory-blob-store.ts';

const RUN = 'run-reshard';

/** Counts whole reads and range reads of the work store. */
class CountingStore implements BlobStore {
  readonly gets: string[] = [];
  readonly ranges: Array<{ key: string; length: number }> = [];
  readonly puts: string[] = [];
  constructor(readonly inner: MemoryBlobStore) {}
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

async function setup() {
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
    output: { uri: 'memory://out', shardBytes: 4000, minShardsPerSplit: 3 },
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
});
