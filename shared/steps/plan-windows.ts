// PlanWindows: read each selected COG's header once, build every tile's co-registered window grid,
// keep the windows over the AOI that the tile owns, group them into COG-aligned regions, assign
// splits, and write the regions JSONL that the Distributed Map fans out over.

import { bandGroups, bandMeta, checkBandTypes } from '../domain/band-groups.ts';
import type { Product } from '../domain/catalog.ts';
import { readCogHeader, readCogInfos } from '../domain/cog-header.ts';
import { tilesForRect } from '../domain/cog-tiles.ts';
import type { CogInfo, PixelRect } from '../domain/cog-types.ts';
import { runLimited } from '../domain/concurrency.ts';
import { boundsOf, projectPolygon } from '../domain/crs.ts';
import { InvalidInputError, SatfactoryError } from '../domain/errors.ts';
import {
  buildTileGrid,
  extentOf,
  gridBounds,
  isEdgeWindow,
  regionOf,
  type TileGrid,
  type WindowPos,
  windowBounds,
  windowRectInBand,
  windowsIntersecting,
} from '../domain/grid.ts';
import { type JobSpec, requiredAssets } from '../domain/job-spec.ts';
import { featureTouches, type UnsampledFeature } from '../domain/labels/accounting.ts';
import type { LabelIndex } from '../domain/labels/index.ts';
import {
  cogRasterGrid,
  outputGridOf,
  outputKey,
  outputTileGrid,
  regionWindowsFor,
  windowRasterGrid,
} from '../domain/output-grid.ts';
import { outputOwnership, tileOwnership } from '../domain/ownership.ts';
import type {
  BandMeta,
  PlannedProduct,
  PlannedWindow,
  RegionPlan,
  SecondaryPlan,
  TilePlan,
} from '../domain/plan.ts';
import {
  DEFAULT_RADIOMETRY,
  harmonize,
  type ItemRadiometry,
  isSentinel2,
  metadataRadiometry,
  probeAssetOf,
  withProbe,
} from '../domain/radiometry.ts';
import { countingReader, probeImage, unreadProbe } from '../domain/radiometry-probe.ts';
import { REGION_BUDGET_BYTES, windowBytesOf } from '../domain/regions.ts';
import { onGrid } from '../domain/secondary.ts';
import { parseSelectionReport } from '../domain/selection.ts';
import { blockOf, blockWindows, SPLITS, type Split, splitBufferRejects, splitOf } from '../domain/splits.ts';
import { sourceWindow } from '../domain/warp.ts';
import type { RangeReader } from '../ports.ts';
import { loadJob, readerForCatalog, type StepContext } from '../work/context.ts';
import {
  readWork,
  requireWork,
  type WindowsSummary,
  WorkFiles,
  writeWork,
  writeWorkLines,
} from '../work/files.ts';
import { labelsForTile, loadLabelSummary, loadRunFeatures, writeRegionLabels } from '../work/labels-store.ts';
import type { ExecutionInput, PlanWindowsOutput, RegionTask } from '../workflow/contracts.ts';

export async function planWindows(input: ExecutionInput, ctx: StepContext): Promise<PlanWindowsOutput> {
  const summaryKey = WorkFiles.windowsSummary.key(input.runId);
  const done = await readWork(ctx.work, WorkFiles.windowsSummary, summaryKey);
  if (done) return pick(done);

  const job = await loadJob(ctx, input.jobKey);
  const selection = await requireWork(ctx.work, WorkFiles.selection, WorkFiles.selection.key(input.runId));
  const tiles = Object.keys(selection.chosen).sort();
  const footprints = new Map(tiles.map((t) => [t, (selection.chosen[t] as Product[])[0]?.footprint]));

  const tilePlans: TilePlan[] = [];
  for (const tile of tiles) {
    const secondary = Object.fromEntries(
      Object.entries(selection.secondary ?? {}).map(([name, perTile]) => [name, perTile[tile] ?? []]),
    );
    tilePlans.push(
      await planTile(
        job,
        input.runId,
        tile,
        selection.chosen[tile] ?? [],
        readerForCatalog(ctx, job.catalog),
        ctx,
        selection.aoi,
        secondary,
      ),
    );
  }
  settleRadiometry(job, tilePlans, ctx);
  await reportRadiometry(ctx, input.runId, tilePlans);

  // The labels, read once for all tiles; each tile takes its own into its CRS, once.
  const labelSummary = job.labels ? await loadLabelSummary(ctx, input.runId) : undefined;
  const runFeatures = labelSummary ? await loadRunFeatures(ctx, input.runId) : undefined;

  // Regions of all tiles in a stable order; shards are numbered per split in that order.
  const regions: RegionPlan[] = [];
  // Features that reach some tile, and some region: the others are logged at Commit, with why.
  const nearTile = new Set<number>();
  const placed = new Set<number>();
  const perTile: WindowsSummary['tiles'] = {};
  for (const tp of tilePlans) {
    const aoi = projectPolygon(selection.aoi, tp.grid.epsg);
    // On an output grid every tile plans on the one grid: the footprint nearest a window's centre
    // owns it, so a place is sampled once whichever tiles (and UTM zones) cover it.
    const keep = tp.output
      ? outputOwnership(tp.tile, tp.grid.epsg, footprints)
      : tiles.length > 1
        ? tileOwnership(tp.tile, tp.grid.epsg, footprints)
        : undefined;
    let windows = windowsIntersecting(tp.grid, aoi, boundsOf(aoi), keep);
    const labels =
      labelSummary &&
      (await labelsForTile(
        ctx,
        input.runId,
        labelSummary,
        {
          epsg: tp.grid.epsg,
          bounds: tp.output ? extentOf(windows.map((w) => windowBounds(tp.grid, w))) : gridBounds(tp.grid),
        },
        runFeatures,
        job.labels ?? {},
      ));
    if (labels)
      for (const f of labels.search([-Infinity, -Infinity, Infinity, Infinity])) nearTile.add(f.index);
    if (labels && job.windows.where === 'labels')
      windows = windows.filter((w) => touchesLabels(labels, tp, w));
    const planned = assignSplits(job, tp, windows);
    const byRegion = new Map<string, PlannedWindow[]>();
    for (const w of planned) {
      const r = regionOf(tp.grid, w);
      const id = `${tp.tile}-r${String(r.row).padStart(3, '0')}-c${String(r.col).padStart(3, '0')}`;
      const list = byRegion.get(id);
      if (list) list.push(w);
      else byRegion.set(id, [w]);
    }
    for (const id of [...byRegion.keys()].sort()) {
      const ws = byRegion.get(id) ?? [];
      let labelsKey: string | null = null;
      if (labels) {
        const extent = extentOf(ws.map((w) => windowBounds(tp.grid, w)));
        const chunk = await writeRegionLabels(ctx, input.runId, id, labels, extent);
        for (const i of chunk.features) placed.add(i);
        labelsKey = chunk.key;
      }
      regions.push({
        runId: input.runId,
        regionId: id,
        tile: tp.tile,
        tilePlanKey: WorkFiles.tilePlan.key(input.runId, tp.tile),
        windows: ws,
        labelsKey,
      });
    }
    perTile[tp.tile] = { windows: windows.length, regions: byRegion.size };
    ctx.log.info('planWindows: regions', {
      tile: tp.tile,
      regions: byRegion.size,
      scheme: tp.grid.regionScheme,
      width: tp.grid.regionWidth,
      height: tp.grid.regionHeight,
    });
  }
  if (runFeatures) {
    const unplaced: UnsampledFeature[] = runFeatures
      .filter((f) => !placed.has(f.index))
      .map((f) => ({
        index: f.index,
        id: f.id,
        reason: nearTile.has(f.index) ? 'no-window' : 'outside-imagery',
      }));
    await writeWorkLines(
      ctx.work,
      WorkFiles.labelsUnplaced,
      WorkFiles.labelsUnplaced.key(input.runId),
      unplaced,
    );
  }
  const splitCounts = checkSplits(job, regions, plansByTileOf(tilePlans));

  let bytesToFetch = 0;
  const plansByTile = plansByTileOf(tilePlans);
  for (const region of regions)
    bytesToFetch += neededBytes(plansByTile.get(region.tile) as TilePlan, region, job.windows.edge);

  for (const tp of tilePlans)
    await writeWork(ctx.work, WorkFiles.tilePlan, WorkFiles.tilePlan.key(input.runId, tp.tile), tp);
  for (const region of regions) {
    const key = WorkFiles.regionPlan.key(input.runId, region.regionId);
    await writeWork(ctx.work, WorkFiles.regionPlan, key, region);
  }
  const tasks = regions.map(
    (r): RegionTask => ({
      runId: input.runId,
      jobKey: input.jobKey,
      regionId: r.regionId,
      planKey: WorkFiles.regionPlan.key(input.runId, r.regionId),
    }),
  );
  const regionsKey = WorkFiles.regions.key(input.runId);
  await writeWorkLines(ctx.work, WorkFiles.regions, regionsKey, tasks);
  const summary: WindowsSummary = {
    regionsKey,
    regions: regions.length,
    windows: regions.reduce((n, r) => n + r.windows.length, 0),
    bytesToFetch,
    tiles: perTile,
    splits: splitCounts,
  };
  const whole = regions.reduce(
    (n, r) =>
      n +
      r.windows.filter((w) => !w.planReject && !isEdgeWindow(plansByTile.get(r.tile)?.grid as TileGrid, w))
        .length,
    0,
  );
  if (summary.windows === 0 || (whole === 0 && job.windows.edge === 'drop')) {
    throw new InvalidInputError(
      `no window of ${job.windows.size} px fits inside both the AOI and the imagery of ${tiles.join(', ')}${job.windows.where === 'labels' ? ' and touches a labelled polygon' : ''}; check the AOI${job.windows.where === 'labels' ? ' and the labels (their CRS, the validation log)' : ''}, use a smaller windows.size${summary.windows > 0 ? ', or windows.edge "pad" to pad the windows that reach past the imagery' : ''}`,
      { pointer: '/windows/size' },
    );
  }
  await writeWork(ctx.work, WorkFiles.windowsSummary, summaryKey, summary);
  ctx.log.info('planWindows: done', { ...pick(summary) });
  return pick(summary);
}

/**
 * Harmonization (job radiometry.harmonize) brings each band of every date of every tile to one
 * offset, so the whole dataset shares it. Recomputed from the effective offsets: idempotent.
 */
function settleRadiometry(job: JobSpec, tilePlans: TilePlan[], ctx: StepContext): void {
  const products = tilePlans.flatMap((tp) => tp.products);
  if (job.radiometry?.harmonize) {
    const harmonized = harmonize(
      products.map((p) => p.radiometry),
      job.bands,
    );
    products.forEach((p, i) => {
      p.radiometry = harmonized[i] as ItemRadiometry;
    });
  }
  for (const p of products) {
    if (p.radiometry.warning)
      ctx.log.warn('radiometry: pixels and metadata disagree', { item: p.id, warning: p.radiometry.warning });
  }
  const probed = products.filter((p) => p.radiometry.probe);
  ctx.log.info('planWindows: radiometry probed', {
    items: probed.length,
    disagree: probed.filter((p) => p.radiometry.probe?.agrees === false).length,
    unknown: probed.filter((p) => p.radiometry.probe?.agrees === null).length,
    bytes: probed.reduce((n, p) => n + (p.radiometry.probe?.bytes ?? 0), 0),
  });
}

/**
 * selection.json gets each chosen candidate's radiometry as planned (the probe, any warning): the
 * run's own report in the work store is updated here; Commit copies it into the dataset.
 */
async function reportRadiometry(ctx: StepContext, runId: string, tilePlans: TilePlan[]): Promise<void> {
  const key = WorkFiles.selectionReport.key(runId);
  const stored = await readWork(ctx.work, WorkFiles.selectionReport, key);
  if (stored === undefined) {
    ctx.log.warn(
      'planWindows: the run has no selection report; the probe verdicts are in the manifest only',
      {
        source: `${ctx.work.uri}/${key}`,
      },
    );
    return;
  }
  const report = parseSelectionReport(Buffer.from(JSON.stringify(stored)), `${ctx.work.uri}/${key}`);
  const byId = new Map(tilePlans.flatMap((tp) => tp.products.map((p) => [p.id, p.radiometry] as const)));
  for (const c of report.candidates) {
    const r = c.chosen ? byId.get(c.id) : undefined;
    if (r) c['radiometry'] = r;
  }
  await writeWork(ctx.work, WorkFiles.selectionReport, key, report);
}

function pick(s: PlanWindowsOutput): PlanWindowsOutput {
  return { regionsKey: s.regionsKey, regions: s.regions, windows: s.windows, bytesToFetch: s.bytesToFetch };
}

/** Reads the headers of every asset of every product of a tile (bounded concurrency). */
async function planTile(
  job: JobSpec,
  runId: string,
  tile: string,
  products: Product[],
  ranges: RangeReader,
  ctx: StepContext,
  aoi: GeoJSON.Polygon | GeoJSON.MultiPolygon,
  secondary: Record<string, Product[]> = {},
): Promise<TilePlan> {
  const existing = await readWork(ctx.work, WorkFiles.tilePlan, WorkFiles.tilePlan.key(runId, tile));
  if (existing) return existing;
  const assets = requiredAssets(job);
  const trust = job.radiometry?.offset ?? DEFAULT_RADIOMETRY.offset;
  const jobs: Array<() => Promise<void>> = [];
  const planned: PlannedProduct[] = products.map((p) => ({
    id: p.id,
    collection: p.collection,
    datetime: p.datetime,
    cogs: {},
    radiometry: metadataRadiometry(p, job.bands),
  }));
  products.forEach((p, i) => {
    const target = planned[i] as PlannedProduct;
    // Sentinel-2 items are probed on their blue band's smallest overview; its header is read once.
    const probeAsset = isSentinel2(p.radiometry) ? probeAssetOf(p.assets) : null;
    const probeHref = probeAsset ? p.assets[probeAsset]?.href : undefined;
    const counter = countingReader(ranges);
    // A band of the job: one header read serves the plan and the probe. Otherwise the probe pays it.
    const shared = probeAsset !== null && assets.includes(probeAsset);
    let header: Promise<{ info: CogInfo; smallest: CogInfo }> | undefined;
    const probeHeader = () => {
      header ??= readCogHeader(shared ? ranges : counter, probeHref as string);
      return header;
    };
    // Assets in one file (the bands of a multi-band GeoTIFF): its header is read once for all.
    const byFile = new Map<string, string[]>();
    for (const asset of assets) {
      if (asset === probeAsset) {
        jobs.push(async () => {
          target.cogs[asset] = (await probeHeader()).info;
        });
        continue;
      }
      const href = p.assets[asset]?.href as string;
      byFile.set(href, [...(byFile.get(href) ?? []), asset]);
    }
    for (const [href, inFile] of byFile) {
      jobs.push(async () => {
        const infos = await readCogInfos(
          ranges,
          href,
          inFile.map((a) => p.assets[a]?.band ?? 1),
        );
        inFile.forEach((a, k) => {
          target.cogs[a] = infos[k] as CogInfo;
        });
      });
    }
    if (probeAsset && probeHref) {
      jobs.push(async () => {
        let probe: Awaited<ReturnType<typeof probeImage>>;
        try {
          const { smallest } = await probeHeader();
          probe = await probeImage(counter, smallest, probeAsset, p.radiometry?.darkPercent ?? null);
        } catch (error) {
          // Waiting may help (the state retries); otherwise only the verdict is lost, not the run.
          if (!(error instanceof SatfactoryError) || error.retryable) throw error;
          probe = unreadProbe(probeAsset, error.message, counter);
        }
        target.radiometry = withProbe(p.id, target.radiometry, probe, trust);
      });
    }
  });
  await runLimited(jobs, 16);

  const reference = planned[0] as PlannedProduct;
  for (const p of planned.slice(1)) {
    for (const asset of assets) {
      const a = reference.cogs[asset] as CogInfo;
      const b = p.cogs[asset] as CogInfo;
      if (
        a.originX !== b.originX ||
        a.originY !== b.originY ||
        a.resX !== b.resX ||
        a.width !== b.width ||
        a.height !== b.height
      ) {
        throw new InvalidInputError(
          `${asset} of ${p.id} is not on the same grid as ${reference.id} (tile ${tile}); products of one tile must share a grid`,
          { source: b.href },
        );
      }
    }
  }
  const epsg = reference.cogs[job.bands[0] as string]?.epsg ?? products[0]?.epsg;
  if (!epsg) throw new InvalidInputError(`tile ${tile} has no CRS in its COGs or items`, { tile });
  const gridBands = assets.map((name) => ({ name, cog: reference.cogs[name] as CogInfo }));
  const first = products[0] as Product;
  const output = outputGridOf(job.grid, assets);
  if (output && job.grid && job.grid.kind !== 'utm-tile') {
    if (Object.values(secondary).some((list) => list.length > 0)) {
      throw new InvalidInputError(
        `second sources (${(job.sources ?? []).map((x) => x.name).join(', ')}) are read only on the native grid: they are not warped onto a ${job.grid.kind} grid yet; drop "grid" or "sources"`,
        { pointer: '/sources' },
      );
    }
    // One grid for the job: every band warped onto its one resolution (README: Grids).
    const grid = outputTileGrid(
      job.grid,
      tile,
      job.windows.size,
      job.windows.stride ?? job.windows.size,
      boundsOf(projectPolygon(aoi, output.epsg)),
      regionWindowsFor(outputWindowBytes(job, assets.length, products.length), REGION_BUDGET_BYTES),
    );
    const bands: BandMeta[] = job.bands.map((name) => ({
      ...bandMeta(name, reference.cogs[name] as CogInfo, first.assets[name]),
      resolution: grid.res,
    }));
    checkBandTypes(bands, (name) => reference.cogs[name]?.href ?? name);
    return {
      runId,
      tile,
      grid,
      bands,
      groups: bandGroups(bands),
      scl: job.clouds ? 'scl' : null,
      products: planned,
      labels: job.labels ? labelGrid(grid.res, grid.windowSize, job.labels.resolution) : null,
      output: { ...output, sourceEpsg: epsg },
    };
  }
  const finestRes = Math.min(...gridBands.map((b) => b.cog.resX));
  const labelSide = job.labels ? labelGrid(finestRes, job.windows.size, job.labels.resolution).size : 0;
  const grid = buildTileGrid({
    tile,
    epsg,
    bands: gridBands,
    windowSize: job.windows.size,
    stride: job.windows.stride ?? job.windows.size,
    regionTiles: job.windows.regionTiles,
    // A region holds the whole time series of its windows: the budget caps how many.
    windowBytes: windowBytesOf(
      gridBands.map((b) => b.cog),
      job.windows.size,
      products.length,
      labelSide,
    ),
  });
  const bands: BandMeta[] = job.bands.map((name) =>
    bandMeta(name, reference.cogs[name] as CogInfo, first.assets[name]),
  );
  checkBandTypes(bands, (name) => reference.cogs[name]?.href ?? name);
  const groups = bandGroups(bands);
  const sources = await planSecondaries(job, grid, secondary, ctx);
  return {
    runId,
    tile,
    grid,
    bands,
    groups,
    scl: job.clouds ? 'scl' : null,
    products: planned,
    labels: job.labels ? labelGrid(grid.res, grid.windowSize, job.labels.resolution) : null,
    ...(sources.length > 0 ? { secondary: sources } : {}),
  };
}

/** Bytes of one output-grid window's arrays, all dates (uint16 bands and SCL alike, labels ~16 B/px). */
function outputWindowBytes(job: JobSpec, assets: number, dates: number): number {
  const side = job.grid?.kind === 'webmercator' ? job.grid.tileSize : job.windows.size;
  return side * side * (dates * assets * 2 + (job.labels ? 16 : 0));
}

/** The headers of every second source's bands on this tile, each file once, checked on the grid. */
async function planSecondaries(
  job: JobSpec,
  grid: TileGrid,
  chosen: Record<string, Product[]>,
  ctx: StepContext,
): Promise<SecondaryPlan[]> {
  const out: SecondaryPlan[] = [];
  for (const [k, source] of (job.sources ?? []).entries()) {
    const reader = readerForCatalog(ctx, source.catalog, `/sources/${k}/catalog`);
    const products = chosen[source.name] ?? [];
    const planned: SecondaryPlan['products'] = [];
    const jobs: Array<() => Promise<void>> = [];
    for (const p of products) {
      const target: SecondaryPlan['products'][number] = {
        id: p.id,
        collection: p.collection,
        datetime: p.datetime,
        cogs: {},
      };
      planned.push(target);
      const byFile = new Map<string, string[]>();
      for (const b of source.bands) {
        const href = p.assets[b]?.href as string;
        byFile.set(href, [...(byFile.get(href) ?? []), b]);
      }
      for (const [href, inFile] of byFile) {
        jobs.push(async () => {
          const infos = await readCogInfos(
            reader,
            href,
            inFile.map((b) => p.assets[b]?.band ?? 1),
          );
          inFile.forEach((b, i) => {
            target.cogs[b] = infos[i] as CogInfo;
          });
        });
      }
    }
    await runLimited(jobs, 16);
    const first = planned[0];
    const firstCog = first?.cogs[source.bands[0] as string];
    // Pixels of a geographic CRS have no metre size: a warped source then takes the tile's.
    const resolution = firstCog && firstCog.epsg !== 4326 ? firstCog.resX : grid.res;
    // Any band off the tile's window grid (another CRS, pixel size or origin): the source is warped.
    let offGrid = false;
    for (const p of planned) {
      for (const b of source.bands) {
        const cog = p.cogs[b] as CogInfo;
        if (!onGrid(grid, cog)) offGrid = true;
        const size = (firstCog as CogInfo).resX;
        if (Math.abs(cog.resX - size) > 1e-9 * size) {
          throw new InvalidInputError(
            `source ${source.name}: band ${b} of ${p.id} has ${cog.resX} m pixels, ${source.bands[0]} ${size} m; a source's bands must share one pixel size`,
            { source: cog.href, pointer: `/sources/${k}/bands` },
          );
        }
      }
    }
    const bands: BandMeta[] = source.bands.map((name) => {
      const cog = first?.cogs[name];
      const asset = products[0]?.assets[name];
      return cog
        ? bandMeta(name, cog, asset)
        : { name, resolution, nodata: asset?.nodata ?? null, dataType: asset?.dataType ?? 'unknown' };
    });
    out.push({
      name: source.name,
      resolution,
      bands,
      products: planned,
      ...(offGrid ? { warp: source.resampling } : {}),
    });
  }
  return out;
}

/** Labels are rasterized at the finest band's pixel or 1/k of it (k an integer): say so otherwise. */
export function labelGrid(
  finest: number,
  windowSize: number,
  resolution: number | undefined,
): { resolution: number; size: number } {
  const r = resolution ?? finest;
  const k = finest / r;
  if (Math.abs(k - Math.round(k)) > 1e-9 || Math.round(k) < 1) {
    throw new InvalidInputError(
      `labels.resolution ${r} m must be the finest band's pixel (${finest} m) divided by a whole number, e.g. ${finest} or ${finest / 4}`,
      { pointer: '/labels/resolution' },
    );
  }
  return { resolution: finest / Math.round(k), size: windowSize * Math.round(k) };
}

/** Whether a window meets a label feature (an exact area test, not bounding boxes). */
function touchesLabels(labels: LabelIndex, tp: TilePlan, w: WindowPos): boolean {
  const b = windowBounds(tp.grid, w);
  return labels.search(b).some((f) => featureTouches(f, b));
}

/** Bytes of the COG tiles a region needs, summed over its dates and assets. */
export function neededBytes(tp: TilePlan, region: RegionPlan, edge: 'drop' | 'pad' = 'drop'): number {
  let bytes = 0;
  // Edge windows are read only when padded; windows the plan rejects, never.
  const windows = region.windows.filter(
    (w) => !w.planReject && (edge === 'pad' || !isEdgeWindow(tp.grid, w)),
  );
  // The bands of a pixel-interleaved file share its tiles: each counts once.
  const counted = new Set<string>();
  const count = (cog: CogInfo, rect: PixelRect) => {
    for (const t of tilesForRect(cog, rect)) {
      const key = `${cog.href}#${t}`;
      if (counted.has(key)) continue;
      counted.add(key);
      bytes += cog.tileByteCounts[t] ?? 0;
    }
  };
  for (const p of tp.products)
    for (const [asset, cog] of Object.entries(p.cogs))
      for (const w of windows) count(cog, sourceRectOf(tp, asset, cog, w));
  for (const sp of tp.secondary ?? [])
    for (const p of sp.products)
      for (const cog of Object.values(p.cogs))
        for (const w of windows) count(cog, windowRectInBand(tp.grid, cog, w));
  return bytes;
}

/** The pixels of a COG that a window needs: its rect on the native grid, or what warping reads. */
export function sourceRectOf(tp: TilePlan, asset: string, cog: CogInfo, w: WindowPos): PixelRect {
  if (!tp.output) return windowRectInBand(tp.grid, cog, w);
  const src = cogRasterGrid(cog, cog.epsg ?? tp.output.sourceEpsg);
  const win = sourceWindow(src, windowRasterGrid(tp.grid, w), tp.output.assetResampling[asset] ?? 'nearest');
  return win
    ? { x: win.x0, y: win.y0, width: win.x1 - win.x0, height: win.y1 - win.y0 }
    : { x: 0, y: 0, width: 0, height: 0 };
}

const plansByTileOf = (plans: readonly TilePlan[]) => new Map(plans.map((tp) => [tp.tile, tp]));

/** The default block: 10 window strides of the first tile's grid, in metres. */
function defaultBlockSize(plans: ReadonlyMap<string, TilePlan>): number {
  const grid = [...plans.values()][0]?.grid;
  return grid ? 10 * grid.stride * grid.res : 0;
}

/**
 * The split of every window of a tile: per spatial block (squares of whole windows, `blockSize`
 * metres, default 10 strides) or per window (random); with blocks, the windows nearer than
 * `splits.buffer` to a window of another split (or overlapping one) are rejected by the plan.
 */
function assignSplits(job: JobSpec, tp: TilePlan, windows: readonly WindowPos[]): PlannedWindow[] {
  const { grid } = tp;
  if (job.splits.method === 'random') {
    return windows.map((w) => ({
      ...w,
      split: splitOf(
        job.splits,
        tp.output ? outputKey(tp.grid, tp.output, w) : `${tp.tile}_${w.row}_${w.col}`,
      ),
    }));
  }
  const side = blockWindows(
    job.splits.blockSize ?? defaultBlockSize(new Map([[tp.tile, tp]])),
    grid.stride,
    grid.res,
  );
  const planned = windows.map((w) => {
    const b = blockOf(w, side);
    // On an output grid, blocks are the grid's, whichever tile plans their windows.
    return { ...w, split: splitOf(job.splits, `${tp.output ? 'grid' : tp.tile}-b${b.row}-${b.col}`) };
  });
  const rejected = splitBufferRejects(planned, grid, job.splits.buffer / grid.res);
  return planned.map((w) =>
    rejected.has(`${w.row}:${w.col}`) ? { ...w, planReject: 'split-buffer' as const } : w,
  );
}

/**
 * A split the job gives a share that gets no window to write is an error (unless allowEmpty), said
 * before any pixel is read, with the counts and what to change.
 */
function checkSplits(
  job: JobSpec,
  regions: readonly RegionPlan[],
  plans: ReadonlyMap<string, TilePlan>,
): Record<Split, number> {
  const counts: Record<Split, number> = { train: 0, validation: 0, test: 0 };
  for (const r of regions) {
    const grid = (plans.get(r.tile) as TilePlan).grid;
    for (const w of r.windows) {
      if (w.planReject || (job.windows.edge === 'drop' && isEdgeWindow(grid, w))) continue;
      counts[w.split]++;
    }
  }
  const empty = SPLITS.filter((s) => job.splits[s] > 0 && counts[s] === 0);
  if (empty.length === 0 || job.splits.allowEmpty) return counts;
  const hint =
    job.splits.method === 'blocks'
      ? `the AOI holds too few blocks of ${job.splits.blockSize ?? `${defaultBlockSize(plans)} (the default, 10 window strides)`} m: use a smaller splits.blockSize, splits.method "random", or splits.allowEmpty: true`
      : 'too few windows: enlarge the AOI, or set splits.allowEmpty: true';
  throw new InvalidInputError(
    `split${empty.length > 1 ? 's' : ''} ${empty.join(' and ')} would get no window (train ${counts.train}, validation ${counts.validation}, test ${counts.test}); ${hint}`,
    { pointer: '/splits' },
  );
}
