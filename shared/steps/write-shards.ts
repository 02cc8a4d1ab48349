// WriteShard: write final shards as PlanShards dealt them. Each sample's tar blocks are range-read
// from its region shard (a work file) and streamed into the final shard, verbatim: nothing is
// parsed or re-encoded, and memory holds two batches of samples, never a region shard or a whole
// final shard. sha256, size and the samples' index entries (for items.ndjson) are computed while
// streaming. Shards are create-only; a shard with a
// result record is done, and one found written without it (a crash in between) must be identical.
import { createHash } from 'node:crypto';
import { claimDataset } from '../dataset/claim.ts';
import { AlreadyExistsError, IntegrityError } from '../domain/errors.ts';
import { decodeNpy } from '../domain/npy.ts';
import type { ShardRecord } from '../domain/plan.ts';
import {
  encodeRgbPng,
  type QuicklookSource,
  type QuicklookStretch,
  quicklookImage,
} from '../domain/quicklook.ts';
import type { PlannedSample } from '../domain/reshard.ts';
import { buildShard, readShard, spanMember, TAR_END } from '../domain/shard.ts';
import { type SampleIndexEntry, sampleIndexEntry } from '../domain/stac.ts';
import type { BlobStore } from '../ports.ts';
import { loadJob, type StepContext } from '../work/context.ts';
import {
  readWork,
  readWorkRanges,
  requireWork,
  type ShardPlan,
  WorkFiles,
  writeWork,
  writeWorkLines,
} from '../work/files.ts';
import type { ShardTask, WriteShardsEvent, WriteShardsOutput } from '../workflow/contracts.ts';

/**
 * Samples are read in batches of consecutive plan entries, one store call per region shard in the
 * batch (a folder store opens the file once for them, not once a sample), the next batch while the
 * current one is written. A batch holds at most BATCH_SAMPLES samples and BATCH_BYTES bytes (a
 * larger sample is a batch alone): that bounds memory and the reads in flight.
 */
export const BATCH_SAMPLES = 16;
export const BATCH_BYTES = 4 * 1024 * 1024;
/** Chunk size when an existing shard is re-hashed. */
const HASH_CHUNK = 8 * 1024 * 1024;

export async function writeShards(event: WriteShardsEvent, ctx: StepContext): Promise<WriteShardsOutput> {
  const out: WriteShardsOutput = { shards: 0, samples: 0, bytes: 0 };
  for (const task of event.Items) {
    const r = await writeShard(task, ctx);
    out.shards++;
    out.samples += r.samples;
    out.bytes += r.bytes;
  }
  return out;
}

export async function writeShard(task: ShardTask, ctx: StepContext): Promise<ShardRecord> {
  const resultKey = WorkFiles.shardResult.key(task.runId, task.split, task.index);
  const done = await readWork(ctx.work, WorkFiles.shardResult, resultKey);
  if (done) return done;
  const job = await loadJob(ctx, task.jobKey);
  const plan = await requireWork(ctx.work, WorkFiles.shardPlan, task.planKey);
  const dataset = ctx.openStore(job.output.uri);
  // Read right before the shard lands: a run that does not hold the folder writes none there.
  await claimDataset(dataset, { runId: task.runId, job: job.name, now: ctx.clock.now() });

  const hash = createHash('sha256');
  let bytes = 0;
  let finished = false;
  const index: SampleIndexEntry[] = [];
  // Quicklook members WriteShard adds to the copied samples (their bytes are not in the plan).
  const added = { bytes: 0 };
  const body = (async function* () {
    for await (const chunk of shardChunks(ctx, plan, index, added)) {
      hash.update(chunk);
      bytes += chunk.byteLength;
      yield chunk;
    }
    finished = true;
  })();
  let existed = false;
  try {
    await dataset.putStream(plan.path, body, { createOnly: true, contentType: 'application/x-tar' });
  } catch (error) {
    if (!(error instanceof AlreadyExistsError)) throw error;
    existed = true;
  }
  // The store may refuse an existing shard before reading the body: hash what it would have been.
  if (!finished) for await (const _ of body);
  if (!finished) throw new IntegrityError(`shard ${plan.path}: its bytes were not all produced`);
  const sha256 = hash.digest('hex');
  if (bytes !== plan.bytes + added.bytes) {
    throw new IntegrityError(
      `shard ${plan.path} has ${bytes} bytes where its plan says ${plan.bytes} (+ ${added.bytes} of quicklooks)`,
      {
        source: `${dataset.uri}/${plan.path}`,
      },
    );
  }
  if (existed) await checkExisting(dataset, plan.path, bytes, sha256);
  const record: ShardRecord = {
    path: plan.path,
    split: plan.split,
    bytes,
    sha256,
    samples: plan.samples.length,
  };
  // The index before the result: a shard with a result record has its index.
  await writeWorkLines(
    ctx.work,
    WorkFiles.shardIndex,
    WorkFiles.shardIndex.key(task.runId, task.split, task.index),
    index,
  );
  await writeWork(ctx.work, WorkFiles.shardResult, resultKey, record);
  ctx.log.debug('writeShard: done', { path: plan.path, bytes, samples: record.samples, existed });
  return record;
}

/**
 * The shard's bytes: each sample's blocks in plan order (a batch read ahead), then, with quicklooks,
 * its `<key>.png` entry drawn from those blocks' arrays; then the end blocks. Each sample's index
 * entry (from its `.json` member) is pushed to `index` on the way.
 */
async function* shardChunks(
  ctx: StepContext,
  plan: ShardPlan,
  index: SampleIndexEntry[],
  added: { bytes: number },
): AsyncGenerator<Uint8Array> {
  const samples = plan.samples;
  /** The end of the batch that starts at `from` (`from` itself past the last sample). */
  const batchEnd = (from: number) => {
    let to = from;
    let bytes = 0;
    while (to < samples.length && to - from < BATCH_SAMPLES) {
      bytes += (samples[to] as PlannedSample).length;
      if (to > from && bytes > BATCH_BYTES) break;
      to++;
    }
    return to;
  };
  const read = (from: number, to: number) => {
    const p = readBatch(ctx, samples.slice(from, to));
    // Awaited below in order; a read left behind when the consumer stops must not go unhandled.
    p.catch(() => undefined);
    return p;
  };
  let from = 0;
  let to = batchEnd(0);
  let pending = read(from, to);
  while (from < to) {
    const chunks = await pending;
    const next = batchEnd(to);
    if (next > to) pending = read(to, next);
    for (let i = from; i < to; i++) {
      const s = samples[i] as PlannedSample;
      yield* sampleChunks(ctx, plan, s, chunks[i - from] as Uint8Array, index, added);
    }
    from = to;
    to = next;
  }
  yield TAR_END;
}

/** A batch's sample blocks, in its order: one range read per region shard it draws from. */
async function readBatch(ctx: StepContext, batch: readonly PlannedSample[]): Promise<Uint8Array[]> {
  const bySource = new Map<string, number[]>();
  for (const [i, s] of batch.entries()) {
    const list = bySource.get(s.source);
    if (list) list.push(i);
    else bySource.set(s.source, [i]);
  }
  const out: Uint8Array[] = new Array(batch.length);
  await Promise.all(
    [...bySource].map(async ([source, picked]) => {
      const ranges = picked.map((i) => batch[i] as PlannedSample);
      const chunks = await readWorkRanges(ctx.work, WorkFiles.regionShard, source, ranges);
      for (const [k, i] of picked.entries()) out[i] = chunks[k] as Uint8Array;
    }),
  );
  return out;
}

/** One sample's copied blocks (checked to be that sample), its quicklook entry; its index entry. */
async function* sampleChunks(
  ctx: StepContext,
  plan: ShardPlan,
  s: PlannedSample,
  chunk: Uint8Array,
  index: SampleIndexEntry[],
  added: { bytes: number },
): AsyncGenerator<Uint8Array> {
  // The span must start with the sample's first header (its name is `<key>.<member>`).
  const name = Buffer.from(chunk.subarray(0, s.key.length + 1)).toString('latin1');
  if (name !== `${s.key}.`) {
    throw new IntegrityError(
      `${ctx.work.uri}/${s.source} holds no sample ${s.key} at byte ${s.offset}; the region shard changed since it was written: rerun the job in a new output folder`,
      { source: `${ctx.work.uri}/${s.source}` },
    );
  }
  const json = spanMember(chunk, 'json');
  index.push(
    sampleIndexEntry(
      s.key,
      json ? (JSON.parse(Buffer.from(json).toString('utf8')) as Record<string, unknown>) : {},
    ),
  );
  yield chunk;
  if (plan.quicklooks) {
    const entry = await quicklookEntry(s.key, chunk, plan.quicklooks);
    added.bytes += entry.byteLength;
    yield entry;
  }
}

/** The tar entry of a sample's quicklook (`<key>.png`), from its copied blocks' `.json` and arrays. */
async function quicklookEntry(
  key: string,
  blocks: Uint8Array,
  stretch: QuicklookStretch,
): Promise<Uint8Array> {
  const withEnd = new Uint8Array(blocks.byteLength + TAR_END.byteLength);
  withEnd.set(blocks);
  const [sample] = await readShard(withEnd);
  const members = new Map((sample?.members ?? []).map((m) => [m.name, m.data]));
  const json = members.get('json');
  if (!sample || sample.key !== key || !json) {
    throw new IntegrityError(`sample ${key}: its blocks hold no .json to draw a quicklook from`);
  }
  const meta = JSON.parse(Buffer.from(json).toString('utf8')) as {
    groups: Record<string, { bands: string[] }>;
    bands: Record<string, { nodata: number | null }>;
  };
  const arrays: Record<string, QuicklookSource['arrays'][string]> = {};
  for (const [name, data] of members) {
    if (name.endsWith('.npy')) arrays[name.slice(0, -'.npy'.length)] = decodeNpy(data);
  }
  const png = encodeRgbPng(
    quicklookImage(
      {
        arrays,
        groups: meta.groups,
        nodata: Object.fromEntries(Object.entries(meta.bands).map(([b, v]) => [b, v.nodata])),
      },
      stretch,
      key,
    ),
  );
  const tar = await buildShard([{ key, members: [{ name: 'png', data: png }] }]);
  return tar.bytes.subarray(0, tar.bytes.byteLength - TAR_END.byteLength);
}

/** An existing shard (an interrupted run wrote it) must be the one this plan makes, byte for byte. */
async function checkExisting(store: BlobStore, path: string, bytes: number, sha256: string): Promise<void> {
  const size = await store.size(path);
  let existingSha: string | null = null;
  if (size === bytes) {
    const hash = createHash('sha256');
    for (let offset = 0; offset < size; offset += HASH_CHUNK) {
      hash.update(await store.getRange(path, offset, Math.min(HASH_CHUNK, size - offset)));
    }
    existingSha = hash.digest('hex');
  }
  if (existingSha !== sha256) {
    throw new IntegrityError(
      `shard ${path} already exists with different content (${size ?? 0} bytes, sha256 ${existingSha ?? 'not computed'}; expected ${bytes} bytes, ${sha256}); delete it or the whole dataset folder and run again`,
      { source: `${store.uri}/${path}` },
    );
  }
}
