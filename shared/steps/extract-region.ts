// ExtractRegion: for one region, fetch every COG tile its windows need exactly once per date and
// asset, decode it once, cut all windows, judge them, and write the region's shard per split (a
// work file, with each sample's byte span recorded for the final shards) plus its rejects and a
// result record. A region with a result record is done. What a window
// becomes (verdict, sample, statistics) is decided in shared/domain; this step only orchestrates.
import { encodeHistogram } from '../domain/band-stats.ts';
import {
  allocatePixels,
  type Pixels as CogPixels,
  cutRect,
  decodeTile,
  fetchTiles,
  tilesForRect,
} from '../domain/cog-tiles.ts';
import type { CogInfo } from '../domain/cog-types.ts';
import { runLimited } from '../domain/concurrency.ts';
import type { Bounds } from '../domain/crs.ts';
import { RecordingRangeReader, unionRanges } from '../domain/fetched-ranges.ts';
import { insideFraction, insideMask, isEdgeWindow, windowBounds, windowRectInBand } from '../domain/grid.ts';
import { effectiveCloudyClasses } from '../domain/job-spec.ts';
import { type AccountWindow, accountRegionFeatures } from '../domain/labels/accounting.ts';
import {
  addRegressionSample,
  emptyRegressionSummary,
  type RegressionSummary,
} from '../domain/labels/regression.ts';
import { labelWindow, type RegionLabels, regionLabels } from '../domain/labels/window.ts';
import { cogRasterGrid, windowRasterGrid } from '../domain/output-grid.ts';
import { dateSlice, perDateKey } from '../domain/per-date.ts';
import type { PlannedWindow, RegionResult, TilePlan } from '../domain/plan.ts';
import { addToTile } from '../domain/radiometry.ts';
import { buildSample, sampleKey } from '../domain/sample.ts';
import { cutFloat } from '../domain/secondary.ts';
import { type ShardSample, ShardWriter } from '../domain/shard.ts';
import type { Split } from '../domain/splits.ts';
import { type RasterGrid, type SourceWindow, sourceWindow, warp, windowGrid } from '../domain/warp.ts';
import { allocateWindowArrays, bandSide, type WindowArrays } from '../domain/window-arrays.ts';
import { addClassFrequencies, addWindowStats, createBandHistograms } from '../domain/window-stats.ts';
import {
  edgeVerdict,
  judgeWindow,
  rejectRecord,
  requireLabelledFraction,
  splitBufferVerdict,
  type Verdict,
  type WindowReject,
} from '../domain/window-verdict.ts';
import { loadJob, readerForCatalog, type StepContext } from '../work/context.ts';
import {
  readWork,
  requireWork,
  WorkFiles,
  writeWork,
  writeWorkLines,
  writeWorkStream,
} from '../work/files.ts';
import { loadLabelSummary, loadRegionLabels } from '../work/labels-store.ts';
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

/** A split's region shard being written: its work key, the tar fed with samples, the store's put. */
type RegionShardStream = { key: string; writer: ShardWriter; put: Promise<void> };

export async function extractRegion(task: RegionTask, ctx: StepContext): Promise<RegionResult> {
  const resultKey = WorkFiles.regionResult.key(task.runId, task.regionId);
  const done = await readWork(ctx.work, WorkFiles.regionResult, resultKey);
  if (done) return done;

  const job = await loadJob(ctx, task.jobKey);
  const region = await requireWork(ctx.work, WorkFiles.regionPlan, task.planKey);
  const tp = await requireWork(ctx.work, WorkFiles.tilePlan, region.tilePlanKey);
  // This region's own reads: counted and recorded here, whatever else shares the process's reader.
  const reader = new RecordingRangeReader(readerForCatalog(ctx, job.catalog));
  const arrays = allocateWindowArrays(tp, region.windows.length);
  // Windows past the imagery edge: padded and read, or rejected before any byte is fetched.
  const pad = job.windows.edge === 'pad';
  const read = region.windows.map((w) => !w.planReject && (pad || !isEdgeWindow(tp.grid, w)));

  // Every (date, asset) pair: fetch its tiles once, decode once, cut every window from them.
  let tilesNeeded = 0;
  let bytesNeeded = 0;
  // The bands of one pixel-interleaved file share its tiles: fetched once, each band decodes its own.
  const fetches = new Map<string, Promise<Map<number, Uint8Array>>>();
  const uses = new Map<string, number>();
  const jobs: Array<() => Promise<void>> = [];
  for (const [t, product] of tp.products.entries()) {
    for (const { asset, group, c, C } of assetsOf(tp)) {
      const cog = product.cogs[asset] as CogInfo;
      if (tp.output) {
        // A non-native grid: each window warps from the source pixels it needs (warp.ts).
        const o = warpJob(tp, reader, product, asset, cog, region.windows, read, arrays, t, group, c, C);
        tilesNeeded += o.tiles;
        bytesNeeded += o.bytes;
        jobs.push(o.run);
        continue;
      }
      const rects = region.windows.map((w) => windowRectInBand(tp.grid, cog, w));
      const needed = new Set<number>();
      rects.forEach((rect, k) => {
        if (read[k]) for (const i of tilesForRect(cog, rect)) needed.add(i);
      });
      const sorted = [...needed].sort((a, b) => a - b);
      const fetchKey = `${cog.href}\u0000${sorted.join(',')}`;
      const users = uses.get(fetchKey) ?? 0;
      uses.set(fetchKey, users + 1);
      if (users === 0) {
        tilesNeeded += needed.size;
        for (const i of needed) bytesNeeded += cog.tileByteCounts[i] ?? 0;
      }
      jobs.push(async () => {
        // Made by the first job that needs it, so the fetches in flight stay bounded by runLimited.
        let fetched = fetches.get(fetchKey);
        if (!fetched) {
          fetched = fetchTiles(reader, cog, sorted);
          fetches.set(fetchKey, fetched);
        }
        const raw = await fetched;
        // The last band that needs these bytes lets them go.
        const left = (uses.get(fetchKey) as number) - 1;
        uses.set(fetchKey, left);
        if (left === 0) fetches.delete(fetchKey);
        const decoded = new Map<number, Pixels>();
        // radiometry.harmonize: whole DN added to this date's source pixels, before any window is cut.
        const added = product.radiometry.bands[asset]?.added ?? 0;
        const nodata = tp.bands.find((b) => b.name === asset)?.nodata ?? null;
        for (const [i, bytes] of raw) {
          const pixels = decodeTile(cog, bytes) as Pixels;
          addToTile(cog, i, pixels, added, nodata, { item: product.id, band: asset });
          decoded.set(i, pixels);
        }
        const s = bandSide(tp, cog);
        rects.forEach((rect, k) => {
          if (!read[k]) return;
          const wa = arrays[k] as WindowArrays;
          if (group === null) cutRect(cog, decoded, rect, wa.scl as Uint8Array, t * s * s);
          else cutRect(cog, decoded, rect, wa.groups.get(group) as Uint16Array, (t * C + c) * s * s);
        });
      });
    }
  }
  // Second sources (job `sources`): each date and band cut as float32 on the window, NaN = none.
  const secondary = (tp.secondary ?? []).map((sp) => {
    const k = (job.sources ?? []).findIndex((x) => x.name === sp.name);
    const spec = job.sources?.[k];
    if (!spec) throw new Error(`the tile plan names source ${sp.name}, which the job does not list`);
    const side = Math.round((tp.grid.windowSize * tp.grid.res) / sp.resolution);
    const T1 = sp.products.length;
    const C = sp.bands.length;
    const recorder = new RecordingRangeReader(readerForCatalog(ctx, spec.catalog, `/sources/${k}/catalog`));
    const arrays = region.windows.map(() => new Float32Array(T1 * C * side * side).fill(Number.NaN));
    sp.products.forEach((product, t) => {
      sp.bands.forEach((band, c) => {
        const cog = product.cogs[band.name] as CogInfo;
        if (sp.warp) {
          const o = warpSecondary(cog, band.nodata, sp.warp, tp, region.windows, read, side, recorder);
          tilesNeeded += o.tiles;
          bytesNeeded += o.bytes;
          jobs.push(async () => {
            const planes = await o.run();
            planes.forEach((plane, i) => {
              if (plane) (arrays[i] as Float32Array).set(plane, (t * C + c) * side * side);
            });
          });
          return;
        }
        const rects = region.windows.map((w) => windowRectInBand(tp.grid, cog, w));
        const needed = new Set<number>();
        rects.forEach((rect, i) => {
          if (read[i]) for (const x of tilesForRect(cog, rect)) needed.add(x);
        });
        const sorted = [...needed].sort((a, b) => a - b);
        tilesNeeded += needed.size;
        for (const x of needed) bytesNeeded += cog.tileByteCounts[x] ?? 0;
        jobs.push(async () => {
          const raw = await fetchTiles(recorder, cog, sorted);
          const decoded = new Map<number, CogPixels>();
          for (const [x, bytes] of raw) decoded.set(x, decodeTile(cog, bytes));
          rects.forEach((rect, i) => {
            if (read[i])
              cutFloat(cog, decoded, rect, band.nodata, arrays[i] as Float32Array, (t * C + c) * side * side);
          });
        });
      });
    });
    return { plan: sp, side, arrays, recorder };
  });

  // A few fetches in flight hide latency; decoding runs as each answer lands.
  await runLimited(jobs, 6);

  const labels = await regionLabelsOf(ctx, job, tp, region.labelsKey);
  // The cloudy SCL classes as the job counts them (snow too in per-date mode, unless told not).
  const cloudyClasses = effectiveCloudyClasses(job);
  const clouds = job.clouds ? { cloudyClasses, maxCloudyFraction: job.clouds.maxCloudyFraction } : null;
  const classes: NonNullable<RegionResult['classes']> = {};
  const regression: Partial<Record<Split, RegressionSummary>> = {};
  // Statistics describe the train split only (validation and test must not leak into normalization).
  const histograms = createBandHistograms(tp);
  const excludedScl = tp.scl ? cloudyClasses : [];
  // Region shards are work files: WriteShard copies their samples' tar blocks into the final shards.
  // Each split's shard is streamed to the store while the windows are judged, so the region never
  // holds its built samples: a sample leaves memory once its tar blocks are handed on.
  const shardsBySplit = new Map<Split, RegionShardStream>();
  const addSample = (split: Split, sample: ShardSample): Promise<void> => {
    let stream = shardsBySplit.get(split);
    if (!stream) {
      const key = WorkFiles.regionShard.key(task.runId, task.regionId, split);
      const writer = new ShardWriter();
      stream = { key, writer, put: writeWorkStream(ctx.work, WorkFiles.regionShard, key, writer.chunks) };
      // A store that fails (even before reading a byte) stops the tar, so add() rejects, never hangs.
      stream.put.catch((error: unknown) => writer.abort(error as Error));
      shardsBySplit.set(split, stream);
    }
    return stream.writer.add(sample);
  };
  const rejects: WindowReject[] = [];
  // Per-date mode: each (window, date) is a planned sample of its own, judged, written or rejected
  // alone; the window's labels and split are those of all its dates.
  const perDate = job.samples === 'per-date';
  const unitsOf = (key: string, wa: WindowArrays) =>
    perDate
      ? tp.products.map((p, t) => ({
          key: perDateKey(key, p.datetime),
          date: p.datetime,
          ...dateSlice(tp, wa, t),
        }))
      : [{ key, date: null, tp, wa }];
  // Where each label feature went: every window, its verdict and the features it holds.
  const accountWindows: AccountWindow[] = [];
  const account = (bounds: Bounds, reason: string | null, inSample?: readonly number[]) => {
    if (!labels) return;
    const near = labels.index.search(bounds).map((f) => f.index);
    accountWindows.push({ bounds, reason, near, ...(inSample ? { inSample } : {}) });
  };
  const reject = (key: string, w: PlannedWindow, verdict: Verdict, date: string | null) =>
    rejects.push(
      rejectRecord(key, tp.tile, w, date ? { ...verdict, detail: { date, ...verdict.detail } } : verdict),
    );
  try {
    for (const [k, w] of region.windows.entries()) {
      const wa = arrays[k] as WindowArrays;
      const bounds = windowBounds(tp.grid, w);
      const units = unitsOf(sampleKey(tp, w), wa);
      if (!read[k]) {
        const verdict = w.planReject
          ? splitBufferVerdict(job.splits.buffer)
          : edgeVerdict(insideFraction(tp.grid, w));
        for (const u of units) reject(u.key, w, verdict, u.date);
        account(bounds, verdict.reason);
        continue;
      }
      // Labels are burnt once per window, when some date of it is kept.
      let window: ReturnType<typeof labelWindow> | null | undefined;
      const labelled = () => {
        if (window === undefined) window = labels ? labelWindow(labels, bounds) : null;
        return window;
      };
      // On an output grid there are no edge windows: nodata marks what no source covers.
      const valid = pad && !tp.output ? insideMask(tp.grid, w) : null;
      let firstReason: string | null = null;
      let kept = false;
      for (const u of units) {
        const verdict = judgeWindow(u.tp, u.wa, clouds);
        const lw = verdict.reason ? null : labelled();
        if (lw) requireLabelledFraction(verdict, lw.labelledFraction, job.windows.minLabelledFraction ?? 0);
        if (verdict.reason) {
          reject(u.key, w, verdict, u.date);
          firstReason ??= verdict.reason;
          continue;
        }
        kept = true;
        if (w.split === 'train')
          addWindowStats(
            u.tp,
            u.wa,
            histograms,
            excludedScl,
            valid && isEdgeWindow(tp.grid, w) ? valid : null,
          );
        if (lw?.regression) {
          const summary = regression[w.split] ?? emptyRegressionSummary();
          regression[w.split] = summary;
          addRegressionSample(summary, lw.regression);
        } else if (lw) {
          const perClass = classes[w.split] ?? {};
          classes[w.split] = perClass;
          addClassFrequencies(perClass, lw.classPixels);
        }
        // Second sources keep their own dates: a single-date sample carries their whole series.
        const sources = secondary.map((x) => ({
          plan: x.plan,
          side: x.side,
          data: x.arrays[k] as Float32Array,
        }));
        await addSample(w.split, buildSample(job.name, u.tp, w, u.wa, verdict, lw, valid, u.key, sources));
      }
      if (kept) account(bounds, null, window?.inSample ?? []);
      else account(bounds, firstReason);
    }
    for (const { writer } of shardsBySplit.values()) writer.end();
    await Promise.all([...shardsBySplit.values()].map((x) => x.put));
  } catch (error) {
    // Nothing half-written stays: each store drops a stream that ends in an error.
    for (const { writer } of shardsBySplit.values()) writer.abort(error as Error);
    await Promise.allSettled([...shardsBySplit.values()].map((x) => x.put));
    throw error;
  }
  const shards: RegionResult['shards'] = [...shardsBySplit.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([split, { key, writer }]) => {
      const { bytes, sha256, spans } = writer.result();
      return { key, split, bytes, sha256, samples: spans };
    });
  await writeWorkLines(
    ctx.work,
    WorkFiles.regionRejects,
    WorkFiles.regionRejects.key(task.runId, task.regionId),
    rejects,
  );
  const rejectedByReason: Record<string, number> = {};
  for (const r of rejects) rejectedByReason[r.reason] = (rejectedByReason[r.reason] ?? 0) + 1;
  const written = shards.reduce((n, s) => n + s.samples.length, 0);
  const labelFeatures =
    labels &&
    accountRegionFeatures(labels.index.search([-Infinity, -Infinity, Infinity, Infinity]), accountWindows, {
      resolution: labels.resolution,
      size: labels.size,
      background: labels.background,
      near: (b) => labels.index.search(b),
      burn: labels.burn,
    });
  const readers = [reader, ...secondary.map((x) => x.recorder)];
  const result: RegionResult = {
    regionId: task.regionId,
    // Per-date: every date of every window was planned as a sample (written or rejected).
    planned: region.windows.length * (perDate ? tp.products.length : 1),
    written,
    rejected: rejects.length,
    rejectedByReason,
    shards,
    stats: Object.fromEntries(Object.entries(histograms).map(([band, h]) => [band, encodeHistogram(h)])),
    bytesFetched: readers.reduce((n, r) => n + r.stats.bytes, 0),
    requests: readers.reduce((n, r) => n + r.stats.requests, 0),
    tilesNeeded,
    bytesNeeded,
    fetched: unionRanges(readers.map((r) => r.ranges())),
    ...(labels ? (labels.values ? { regression } : { classes }) : {}),
    ...(labelFeatures ? { labelFeatures } : {}),
  };
  await writeWork(ctx.work, WorkFiles.regionResult, resultKey, result);
  reportMetrics(ctx, result);
  ctx.log.debug('extractRegion: done', {
    regionId: task.regionId,
    written,
    rejected: rejects.length,
    bytesFetched: result.bytesFetched,
    bytesNeeded,
  });
  return result;
}

/**
 * One (date, asset) of a region on an output grid: the COG tiles that the source windows of all its
 * windows touch (each fetched once), then per window the source window cut from them and warped
 * onto the window's grid with the asset's resampling (SCL: nearest).
 */
function warpJob(
  tp: TilePlan,
  reader: RecordingRangeReader,
  product: TilePlan['products'][number],
  asset: string,
  cog: CogInfo,
  windows: RegionPlanWindows,
  read: readonly boolean[],
  arrays: WindowArrays[],
  t: number,
  group: string | null,
  c: number,
  C: number,
): { tiles: number; bytes: number; run: () => Promise<void> } {
  const output = tp.output as NonNullable<TilePlan['output']>;
  const resampling = output.assetResampling[asset] ?? 'nearest';
  const src = cogRasterGrid(cog, cog.epsg ?? output.sourceEpsg);
  const dsts = windows.map((w) => windowRasterGrid(tp.grid, w));
  const wins: (SourceWindow | undefined)[] = dsts.map((d, k) =>
    read[k] ? sourceWindow(src, d, resampling) : undefined,
  );
  const rectOf = (s: SourceWindow) => ({ x: s.x0, y: s.y0, width: s.x1 - s.x0, height: s.y1 - s.y0 });
  const needed = new Set<number>();
  for (const s of wins) if (s) for (const i of tilesForRect(cog, rectOf(s))) needed.add(i);
  let bytes = 0;
  for (const i of needed) bytes += cog.tileByteCounts[i] ?? 0;
  const nodata = tp.bands.find((b) => b.name === asset)?.nodata ?? cog.nodata;
  const run = async () => {
    const raw = await fetchTiles(
      reader,
      cog,
      [...needed].sort((a, b) => a - b),
    );
    const decoded = new Map<number, Pixels>();
    const added = product.radiometry.bands[asset]?.added ?? 0;
    for (const [i, b] of raw) {
      const pixels = decodeTile(cog, b) as Pixels;
      addToTile(cog, i, pixels, added, nodata, { item: product.id, band: asset });
      decoded.set(i, pixels);
    }
    const s = tp.grid.windowSize;
    wins.forEach((win, k) => {
      const wa = arrays[k] as WindowArrays;
      const target = group === null ? (wa.scl as Uint8Array) : (wa.groups.get(group) as Uint16Array);
      const offset = group === null ? t * s * s : (t * C + c) * s * s;
      if (!read[k]) return;
      if (!win) {
        // The window does not meet this date's raster: all nodata.
        target.fill(nodata ?? 0, offset, offset + s * s);
        return;
      }
      const rect = rectOf(win);
      const data = allocatePixels(cog, rect.width * rect.height);
      cutRect(cog, decoded, rect, data);
      const warped = warp(
        { ...windowGrid(src, win), data, nodata },
        dsts[k] as ReturnType<typeof windowRasterGrid>,
        resampling,
      );
      target.set(warped.data as Pixels as Uint16Array, offset);
    });
  };
  return { tiles: needed.size, bytes, run };
}

type RegionPlanWindows = readonly { row: number; col: number }[];

/**
 * A second source's band off the tile's grid: each window's footprint on the sample's grid at the
 * source's pixel size (`side` px), warped from the tiles under all windows' source windows (fetched
 * and decoded once) as GDAL warps, as float32; NaN where the source has no value.
 */
function warpSecondary(
  cog: CogInfo,
  nodata: number | null,
  resampling: NonNullable<TilePlan['secondary']>[number]['warp'] & string,
  tp: TilePlan,
  windows: RegionPlanWindows,
  read: readonly boolean[],
  side: number,
  reader: RecordingRangeReader,
): { tiles: number; bytes: number; run: () => Promise<(Float32Array | null)[]> } {
  const src = cogRasterGrid(cog, cog.epsg ?? tp.grid.epsg);
  const px = (tp.grid.windowSize * tp.grid.res) / side;
  const dsts = windows.map((w): RasterGrid => {
    const g = windowRasterGrid(tp.grid, w);
    return { ...g, width: side, height: side, transform: [g.transform[0], px, 0, g.transform[3], 0, -px] };
  });
  const wins = dsts.map((d, k) => (read[k] ? sourceWindow(src, d, resampling) : undefined));
  const rectOf = (s: SourceWindow) => ({ x: s.x0, y: s.y0, width: s.x1 - s.x0, height: s.y1 - s.y0 });
  const needed = new Set<number>();
  for (const s of wins) if (s) for (const i of tilesForRect(cog, rectOf(s))) needed.add(i);
  let bytes = 0;
  for (const i of needed) bytes += cog.tileByteCounts[i] ?? 0;
  const run = async () => {
    const raw = await fetchTiles(
      reader,
      cog,
      [...needed].sort((a, b) => a - b),
    );
    const decoded = new Map<number, CogPixels>();
    for (const [i, b] of raw) decoded.set(i, decodeTile(cog, b));
    return wins.map((win, k) => {
      if (!read[k]) return null;
      const plane = new Float32Array(side * side).fill(Number.NaN);
      if (!win) return plane;
      const rect = rectOf(win);
      const data = allocatePixels(cog, rect.width * rect.height);
      cutRect(cog, decoded, rect, data);
      const warped = warp({ ...windowGrid(src, win), data, nodata }, dsts[k] as RasterGrid, resampling, {
        output: 'float32',
      });
      warped.valid.forEach((ok, p) => {
        if (ok) plane[p] = warped.data[p] as number;
      });
      return plane;
    });
  };
  return { tiles: needed.size, bytes, run };
}

/** The assets read per date: every band (with its group and channel), then SCL. */
function assetsOf(tp: TilePlan): Array<{ asset: string; group: string | null; c: number; C: number }> {
  const assets = tp.groups.flatMap((g) =>
    g.bands.map((asset, c) => ({ asset, group: g.name as string | null, c, C: g.bands.length })),
  );
  if (tp.scl) assets.push({ asset: tp.scl, group: null, c: 0, C: 1 });
  return assets;
}

/** The region's polygons ready to burn; null when the job has no labels. */
async function regionLabelsOf(
  ctx: StepContext,
  job: Awaited<ReturnType<typeof loadJob>>,
  tp: TilePlan,
  labelsKey: string | null,
): Promise<RegionLabels | null> {
  if (!job.labels || !tp.labels || !labelsKey) return null;
  const summary = await loadLabelSummary(ctx, tp.runId);
  return regionLabels(await loadRegionLabels(ctx, labelsKey, job.labels), summary, job.labels, tp.labels);
}

function reportMetrics(ctx: StepContext, r: RegionResult): void {
  ctx.metrics.add('BytesFetched', 'Bytes', r.bytesFetched);
  ctx.metrics.add('BytesNeeded', 'Bytes', r.bytesNeeded);
  ctx.metrics.add('RangeRequests', 'Count', r.requests);
  ctx.metrics.add('SamplesWritten', 'Count', r.written);
  for (const [reason, n] of Object.entries(r.rejectedByReason)) {
    ctx.metrics.add('WindowsRejected', 'Count', n, { reason });
  }
}
