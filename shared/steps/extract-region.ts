// ExtractRegion: for one region, fetch every COG tile its windows need exactly once per date and
// asset, decode it once, cut all windows, score validity and clouds, and write the region's shards
// (create-only) plus its rejects and a result record. A region with a result record is done.
import { addPixels, type BandStats, createBandStats } from '../domain/band-stats.ts';
import { cutRect, decodeTile, fetchTiles, tilesForRect } from '../domain/cog-tiles.ts';
import type { CogInfo, PixelRect } from '../domain/cog-types.ts';
import { runLimited } from '../domain/concurrency.ts';
import { rectToWgs84Bounds } from '../domain/crs.ts';
import { AlreadyExistsError, IntegrityError } from '../domain/errors.ts';
import { windowBounds, windowKey, windowRectInBand } from '../domain/grid.ts';
import { sha256Hex } from '../domain/hashing.ts';
import type { JobSpec } from '../domain/job-spec.ts';
import { encodeNpy } from '../domain/npy.ts';
import {
  type PlannedWindow,
  type RegionPlan,
  type RegionResult,
  type TilePlan,
  workKeys,
} from '../domain/plan.ts';
import { buildShard, type ShardSample } from '../domain/shard.ts';
import type { Split } from '../domain/splits.ts';
import type { BlobStore } from '../ports.ts';
import { getJson, loadJob, putJson, requireJson, type StepContext } from '../work/context.ts';
import { labelWindow, regionLabelsFor, type WindowLabels } from '../work/window-labels.ts';
import type { ExtractBatchEvent, ExtractBatchOutput, RegionTask } from '../workflow/contracts.ts';

export async function extractBatch(event: ExtractBatchEvent, ctx: StepContext): Promise<ExtractBatchOutput> {
  const out: ExtractBatchOutput = { regions: 0, written: 0, rejected: 0, bytesFetched: 0 };
  for (const task of event.Items) {
    const r = await extractRegion(task, ctx);
    out.regions++;
    out.written += r.written;
    out.rejected += r.rejected;
    out.bytesFetched += r.bytesFetched;
  }
  return out;
}

type Pixels = Uint16Array | Uint8Array;

/** One asset (band or SCL) of one window across all dates, [T, C, h, w] per group. */
type WindowArrays = { groups: Map<string, Uint16Array>; scl: Uint8Array | null };

export async function extractRegion(task: RegionTask, ctx: StepContext): Promise<RegionResult> {
  const resultKey = workKeys.result(task.runId, task.regionId);
  const done = await getJson<RegionResult>(ctx.work, resultKey);
  if (done) return done;

  const job = await loadJob(ctx, task.jobKey);
  const region = await requireJson<RegionPlan>(ctx.work, task.planKey, `region ${task.regionId}`);
  const tp = await requireJson<TilePlan>(ctx.work, region.tilePlanKey, `tile plan ${region.tile}`);
  const T = tp.products.length;
  const before = { ...ctx.ranges.stats };

  // Output arrays, allocated once per window.
  const side = (cog: CogInfo) => Math.round((tp.grid.windowSize * tp.grid.res) / cog.resX);
  const ref = tp.products[0]?.cogs ?? {};
  const arrays: WindowArrays[] = region.windows.map(() => ({
    groups: new Map(
      tp.groups.map((g) => {
        const s = side(ref[g.bands[0] as string] as CogInfo);
        return [g.name, new Uint16Array(T * g.bands.length * s * s)];
      }),
    ),
    scl: tp.scl ? new Uint8Array(T * side(ref[tp.scl] as CogInfo) ** 2) : null,
  }));

  // Every (date, asset) pair: fetch its tiles once, decode once, cut every window from them.
  let tilesNeeded = 0;
  let bytesNeeded = 0;
  const jobs: Array<() => Promise<void>> = [];
  tp.products.forEach((product, t) => {
    const assets: Array<{ asset: string; group: string | null; c: number; C: number }> = [];
    for (const g of tp.groups) {
      g.bands.forEach((b, c) => {
        assets.push({ asset: b, group: g.name, c, C: g.bands.length });
      });
    }
    if (tp.scl) assets.push({ asset: tp.scl, group: null, c: 0, C: 1 });
    for (const { asset, group, c, C } of assets) {
      const cog = product.cogs[asset] as CogInfo;
      const rects = region.windows.map((w) => windowRectInBand(tp.grid, cog, w));
      const needed = new Set<number>();
      for (const rect of rects) for (const i of tilesForRect(cog, rect)) needed.add(i);
      tilesNeeded += needed.size;
      for (const i of needed) bytesNeeded += cog.tileByteCounts[i] ?? 0;
      jobs.push(async () => {
        const raw = await fetchTiles(
          ctx.ranges,
          cog,
          [...needed].sort((a, b) => a - b),
        );
        const decoded = new Map<number, Pixels>();
        for (const [i, bytes] of raw) decoded.set(i, decodeTile(cog, bytes) as Pixels);
        const s = side(cog);
        rects.forEach((rect: PixelRect, k) => {
          const wa = arrays[k] as WindowArrays;
          if (group === null) {
            cutRect(cog, decoded, rect, wa.scl as Uint8Array, t * s * s);
          } else {
            cutRect(cog, decoded, rect, wa.groups.get(group) as Uint16Array, (t * C + c) * s * s);
          }
        });
      });
    }
  });
  // A few fetches in flight hide latency; decoding runs as each answer lands.
  await runLimited(jobs, 6);

  const regionLabels = await regionLabelsFor(ctx, job, tp, region);
  const classes: NonNullable<RegionResult['classes']> = {};
  const stats: Record<string, BandStats> = Object.fromEntries(
    tp.bands.map((b) => [b.name, createBandStats()]),
  );
  const bySplit = new Map<Split, ShardSample[]>();
  const rejects: string[] = [];
  region.windows.forEach((w, k) => {
    const wa = arrays[k] as WindowArrays;
    const verdict = judgeWindow(job, tp, wa);
    const key = windowKey(tp.tile, w);
    const labels =
      regionLabels && !verdict.reason ? labelWindow(regionLabels, windowBounds(tp.grid, w)) : null;
    const minLabelled = job.windows.minLabelledFraction ?? 0;
    if (!verdict.reason && labels && labels.labelledFraction < minLabelled) {
      verdict.reason = 'too-few-labels';
      verdict.detail = { labelledFraction: labels.labelledFraction, minLabelledFraction: minLabelled };
    }
    if (verdict.reason) {
      rejects.push(
        JSON.stringify({
          key,
          tile: tp.tile,
          row: w.row,
          col: w.col,
          split: w.split,
          ...verdict.detail,
          reason: verdict.reason,
        }),
      );
      return;
    }
    addStats(tp, wa, stats);
    if (labels) {
      const perClass = classes[w.split] ?? {};
      classes[w.split] = perClass;
      addClassFrequencies(perClass, labels.classPixels);
    }
    const list = bySplit.get(w.split) ?? [];
    list.push(buildSample(job, tp, w, wa, verdict, labels));
    bySplit.set(w.split, list);
  });

  const dataset = ctx.openStore(job.output.uri);
  const shards: RegionResult['shards'] = [];
  for (const [split, samples] of [...bySplit].sort(([a], [b]) => a.localeCompare(b))) {
    const path = region.shards[split] as string;
    const shard = await buildShard(samples);
    await putShard(dataset, path, shard.bytes, shard.sha256);
    shards.push({
      path,
      split,
      bytes: shard.bytes.byteLength,
      sha256: shard.sha256,
      samples: samples.length,
    });
  }
  await ctx.work.put(
    workKeys.rejects(task.runId, task.regionId),
    rejects.length ? `${rejects.join('\n')}\n` : '',
  );
  const written = shards.reduce((n, s) => n + s.samples, 0);
  const result: RegionResult = {
    regionId: task.regionId,
    planned: region.windows.length,
    written,
    rejected: rejects.length,
    shards,
    stats,
    bytesFetched: ctx.ranges.stats.bytes - before.bytes,
    requests: ctx.ranges.stats.requests - before.requests,
    tilesNeeded,
    bytesNeeded,
    ...(regionLabels ? { classes } : {}),
  };
  await putJson(ctx.work, resultKey, result);
  ctx.log.debug('extractRegion: done', {
    regionId: task.regionId,
    written,
    rejected: rejects.length,
    bytesFetched: result.bytesFetched,
    bytesNeeded,
  });
  return result;
}

/** Shards are create-only; an existing one from an interrupted run must be byte-identical. */
async function putShard(store: BlobStore, path: string, bytes: Uint8Array, sha256: string): Promise<void> {
  try {
    await store.put(path, bytes, { createOnly: true, contentType: 'application/x-tar' });
  } catch (error) {
    if (!(error instanceof AlreadyExistsError)) throw error;
    const existing = await store.get(path);
    const existingSha = existing ? sha256Hex(existing) : null;
    if (existingSha !== sha256) {
      throw new IntegrityError(
        `shard ${path} already exists with different content (sha256 ${existingSha} != ${sha256}); delete it or the whole dataset folder and run again`,
        { source: `${store.uri}/${path}` },
      );
    }
  }
}

type Verdict = {
  reason: 'no-valid-pixels' | 'too-cloudy' | 'too-few-labels' | null;
  detail: Record<string, unknown>;
  validFraction: number[];
  cloudyFraction: number[] | null;
  usable: boolean[];
};

/** Per date: share of valid pixels (first band of the finest group), and cloudy share from SCL. */
function judgeWindow(job: JobSpec, tp: TilePlan, wa: WindowArrays): Verdict {
  const T = tp.products.length;
  const g0 = tp.groups[0];
  const data = wa.groups.get(g0?.name ?? '') as Uint16Array;
  const C = g0?.bands.length ?? 1;
  const n = data.length / (T * C);
  const nodata = tp.bands.find((b) => b.name === g0?.bands[0])?.nodata ?? null;
  const validFraction: number[] = [];
  for (let t = 0; t < T; t++) {
    if (nodata === null) {
      validFraction.push(1);
      continue;
    }
    // A pixel is valid when any band of the group has data there.
    let valid = 0;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < C; c++) {
        if (data[(t * C + c) * n + i] !== nodata) {
          valid++;
          break;
        }
      }
    }
    validFraction.push(valid / n);
  }
  let cloudyFraction: number[] | null = null;
  if (wa.scl && job.clouds) {
    const classes = new Set(job.clouds.cloudyClasses);
    const m = wa.scl.length / T;
    cloudyFraction = [];
    for (let t = 0; t < T; t++) {
      let cloudy = 0;
      let seen = 0;
      for (let i = t * m; i < (t + 1) * m; i++) {
        const v = wa.scl[i] as number;
        if (v === 0) continue;
        seen++;
        if (classes.has(v)) cloudy++;
      }
      cloudyFraction.push(seen ? cloudy / seen : 1);
    }
  }
  const maxCloudy = job.clouds?.maxCloudyFraction ?? 1;
  const usable = validFraction.map(
    (v, t) => v > 0 && (cloudyFraction === null || (cloudyFraction[t] as number) <= maxCloudy),
  );
  const round = (v: number) => Math.round(v * 1e4) / 1e4;
  if (validFraction.every((v) => v === 0)) {
    return { reason: 'no-valid-pixels', detail: { dates: T }, validFraction, cloudyFraction, usable };
  }
  if (!usable.some(Boolean)) {
    return {
      reason: 'too-cloudy',
      detail: { cloudyFraction: cloudyFraction?.map(round), maxCloudyFraction: maxCloudy },
      validFraction,
      cloudyFraction,
      usable,
    };
  }
  return { reason: null, detail: {}, validFraction, cloudyFraction, usable };
}

function addStats(tp: TilePlan, wa: WindowArrays, stats: Record<string, BandStats>): void {
  const T = tp.products.length;
  for (const g of tp.groups) {
    const data = wa.groups.get(g.name) as Uint16Array;
    const C = g.bands.length;
    const n = data.length / (T * C);
    g.bands.forEach((band, c) => {
      const nodata = tp.bands.find((b) => b.name === band)?.nodata ?? null;
      for (let t = 0; t < T; t++) {
        addPixels(stats[band] as BandStats, data.subarray((t * C + c) * n, (t * C + c + 1) * n), nodata);
      }
    });
  }
}

/** Per class: label pixels, and one sample for each window where the class appears. */
function addClassFrequencies(
  into: Record<string, { pixels: number; samples: number }>,
  classPixels: ReadonlyMap<number, number>,
): void {
  for (const [id, pixels] of classPixels) {
    const entry = into[String(id)] ?? { pixels: 0, samples: 0 };
    entry.pixels += pixels;
    entry.samples += 1;
    into[String(id)] = entry;
  }
}

function dayOfYear(iso: string): number {
  const d = new Date(iso);
  return Math.floor(
    (Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 0)) /
      86_400_000,
  );
}

function buildSample(
  job: JobSpec,
  tp: TilePlan,
  w: PlannedWindow,
  wa: WindowArrays,
  v: Verdict,
  labels: WindowLabels | null,
): ShardSample {
  const T = tp.products.length;
  const key = windowKey(tp.tile, w);
  const bounds = windowBounds(tp.grid, w);
  const groups: Record<string, { bands: string[]; resolution: number; shape: number[] }> = {};
  const members: ShardSample['members'] = [];
  for (const g of tp.groups) {
    const data = wa.groups.get(g.name) as Uint16Array;
    const s = Math.round(Math.sqrt(data.length / (T * g.bands.length)));
    const shape = [T, g.bands.length, s, s];
    groups[g.name] = { bands: g.bands, resolution: g.resolution, shape };
    members.push({ name: `${g.name}.npy`, data: encodeNpy(data, shape) });
  }
  if (wa.scl) {
    const s = Math.round(Math.sqrt(wa.scl.length / T));
    members.push({ name: 'scl.npy', data: encodeNpy(wa.scl, [T, s, s]) });
  }
  const round = (x: number) => Math.round(x * 1e4) / 1e4;
  const meta = {
    id: key,
    dataset: job.name,
    split: w.split,
    tile: tp.tile,
    epsg: tp.grid.epsg,
    row: w.row,
    col: w.col,
    transform: [bounds[0], tp.grid.res, 0, bounds[3], 0, -tp.grid.res],
    bounds: bounds,
    boundsWgs84: rectToWgs84Bounds(tp.grid.epsg, bounds).map((x) => Math.round(x * 1e7) / 1e7),
    dates: tp.products.map((p) => p.datetime),
    doy: tp.products.map((p) => dayOfYear(p.datetime)),
    items: tp.products.map((p) => p.id),
    groups,
    bands: Object.fromEntries(
      tp.bands.map((b) => [
        b.name,
        { scale: b.scale, offset: b.offset, nodata: b.nodata, resolution: b.resolution },
      ]),
    ),
    validFraction: v.validFraction.map(round),
    cloudyFraction: v.cloudyFraction?.map(round) ?? null,
    usable: v.usable,
    ...(labels ? { labels: labels.meta } : {}),
  };
  return {
    key,
    members: [
      { name: 'json', data: new TextEncoder().encode(JSON.stringify(meta)) },
      ...members,
      ...(labels?.members ?? []),
    ],
  };
}
