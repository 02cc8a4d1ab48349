// Plan: claim the output folder, search the catalog for the AOI and period, keep the raw pages,
// select products with the DeepSatData criteria, and write selection.json (every candidate, chosen or
// not, and why).

import { claimDataset } from '../dataset/claim.ts';
import { crossesAntimeridian } from '../domain/antimeridian.ts';
import { type ParsedAoi, parseAoi } from '../domain/aoi.ts';
import { normalizeItem, type Product } from '../domain/catalog.ts';
import { InvalidInputError, NothingToDoError } from '../domain/errors.ts';
import { type JobSpec, requiredAssets } from '../domain/job-spec.ts';
import { metadataRadiometry } from '../domain/radiometry.ts';
import { chooseSecondary } from '../domain/secondary.ts';
import { type Candidate, selectProducts } from '../domain/selection.ts';
import { loadJob, type StepContext } from '../work/context.ts';
import { readWork, type StoredSelection, WorkFiles, writeWork } from '../work/files.ts';
import { ingestLabels, labelsExtentAoi } from '../work/labels-store.ts';
import { restoreSelectionReport, writeSelectionReport } from '../work/selection-report.ts';
import type { ExecutionInput, PlanOutput } from '../workflow/contracts.ts';

/** The AOI of a job given as GeoJSON; `aoi: "labels"` is resolved by the plan step (labelsAoi). */
export function jobAoi(job: JobSpec): ParsedAoi {
  if (job.aoi === 'labels') {
    throw new InvalidInputError(
      'aoi "labels" is the extent of the labels; it is known only once they are read',
      {
        pointer: '/aoi',
      },
    );
  }
  if (typeof job.aoi === 'string') {
    throw new InvalidInputError(
      `aoi "${job.aoi}" is a path; the CLI inlines AOI files before a run, so pass the job through satfactory`,
      { pointer: '/aoi' },
    );
  }
  return parseAoi(job.aoi, { source: 'job spec', pointer: '/aoi', repair: job.aoiRepair ?? false });
}

/** The AOI of a run: the job's, or the extent of its labels (read once, kept for PrepareLabels). */
async function runAoi(job: JobSpec, runId: string, ctx: StepContext): Promise<ParsedAoi> {
  if (job.aoi !== 'labels') {
    const parsed = jobAoi(job);
    for (const fix of parsed.fixes) ctx.log.warn('plan: AOI repaired (aoiRepair)', { ...fix });
    return parsed;
  }
  if (!job.labels) {
    throw new InvalidInputError('aoi "labels" needs /labels: add the labels or give an AOI', {
      pointer: '/aoi',
    });
  }
  const area = labelsExtentAoi(await ingestLabels(ctx, runId, job));
  return { area, fixes: [], antimeridian: crossesAntimeridian(area) };
}

export async function plan(input: ExecutionInput, ctx: StepContext): Promise<PlanOutput> {
  const job = await loadJob(ctx, input.jobKey);
  // Ownership first: a run that does not hold output.uri stops here, before it writes anything there.
  const dataset = ctx.openStore(job.output.uri);
  await claimDataset(dataset, { runId: input.runId, job: job.name, now: ctx.clock.now() });
  const selectionKey = WorkFiles.selection.key(input.runId);
  const existing = await readWork(ctx.work, WorkFiles.selection, selectionKey);
  if (existing) {
    // A resumed run keeps the catalog answer it planned with, even if the catalog changed since.
    ctx.log.info('plan: reusing the stored selection', { runId: input.runId });
    await restoreSelectionReport(ctx, dataset, input.runId);
    return summarize(input, selectionKey, existing);
  }
  const parsedAoi = await runAoi(job, input.runId, ctx);
  const aoi = parsedAoi.area;
  const catalog = ctx.openCatalog(job.catalog);
  ctx.log.info('plan: searching the catalog', { catalog: catalog.description });
  const result = await catalog.search({
    collection: job.catalog.kind === 'stac' ? job.catalog.collection : '',
    intersects: aoi,
    start: job.period.start,
    end: job.period.end,
    maxCloudCover: job.selection.maxCloudCover,
  });
  for (const [i, page] of result.pages.entries()) {
    const key = WorkFiles.catalogPage.key(input.runId, i + 1);
    await writeWork(ctx.work, WorkFiles.catalogPage, key, page);
  }

  const products: Product[] = [];
  const invalid: Candidate[] = [];
  for (const item of result.items) {
    try {
      products.push(normalizeItem(item, result.bases?.[item.id] ?? null, catalog.description));
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      ctx.log.warn('plan: item skipped', { item: item.id, error: error.message });
      invalid.push({
        id: item.id,
        collection: item.collection ?? 'unknown',
        tile: '',
        datetime: String(item.properties?.datetime ?? ''),
        cloudCover: null,
        nodataPercent: null,
        aoiCoverage: 0,
        online: true,
        chosen: false,
        reason: 'invalid-item',
        detail: error.message,
      });
    }
  }
  requireKnownAssets(job, products, catalog.description);
  const selection = selectProducts(products, job.selection, {
    aoi,
    start: job.period.start,
    end: job.period.end,
    requiredAssets: requiredAssets(job),
  });
  const byId = new Map(products.map((p) => [p.id, p]));
  const candidates = [
    ...selection.candidates.map((c) => {
      const product = byId.get(c.id);
      return product ? { ...c, radiometry: metadataRadiometry(product, job.bands) } : c;
    }),
    ...invalid,
  ];
  const secondary = await selectSecondaries(
    job,
    input.runId,
    aoi,
    selection.chosen,
    result.pages.length,
    ctx,
  );
  await writeSelectionReport(ctx, dataset, {
    runId: input.runId,
    catalog: catalog.description,
    criteria: job.selection,
    period: job.period,
    // The AOI searched: split at the antimeridian, and repaired when the job asked (aoiRepair).
    aoi: { geometry: aoi, antimeridian: parsedAoi.antimeridian, repairs: parsedAoi.fixes },
    candidates,
    ...(secondary ? { sources: secondary.report } : {}),
  });
  const chosenCount = Object.values(selection.chosen).reduce((n, list) => n + list.length, 0);
  if (chosenCount === 0) {
    const reasons = new Map<string, number>();
    for (const c of candidates) if (c.reason) reasons.set(c.reason, (reasons.get(c.reason) ?? 0) + 1);
    const why = [...reasons].map(([r, n]) => `${n} ${r}`).join(', ') || 'the catalog returned no item';
    throw new NothingToDoError(
      `no product selected for ${job.name} (${why}); widen the period or the AOI, or relax the selection criteria (see ${dataset.uri}/selection.json)`,
      { source: catalog.description },
    );
  }
  const stored: StoredSelection = {
    runId: input.runId,
    aoi,
    catalog: { description: catalog.description, pages: result.pages.length, items: result.items.length },
    chosen: selection.chosen,
    ...(secondary ? { secondary: secondary.chosen } : {}),
  };
  await writeWork(ctx.work, WorkFiles.selection, selectionKey, stored);
  ctx.log.info('plan: products selected', { chosen: chosenCount, candidates: candidates.length });
  return summarize(input, selectionKey, stored);
}

/**
 * The products of each second source (job `sources`) per tile of the job's chosen imagery, with
 * every candidate and why in the report. Searched over the AOI and the period (widened by
 * maxDaysApart), each source's catalog answer kept with the run after the job's own pages.
 */
async function selectSecondaries(
  job: JobSpec,
  runId: string,
  area: GeoJSON.Polygon | GeoJSON.MultiPolygon,
  chosen: Record<string, Product[]>,
  pagesBefore: number,
  ctx: StepContext,
): Promise<
  { chosen: Record<string, Record<string, Product[]>>; report: Record<string, unknown> } | undefined
> {
  if (!job.sources?.length) return undefined;
  const out: Record<string, Record<string, Product[]>> = {};
  const report: Record<string, unknown> = {};
  let page = pagesBefore;
  for (const source of job.sources) {
    const catalog = ctx.openCatalog(source.catalog);
    const days = 'nearest' in source.selection ? (source.selection.maxDaysApart ?? 0) : 0;
    const widen = (iso: string, sign: number) =>
      new Date(
        Date.parse(iso.length === 10 ? `${iso}T${sign < 0 ? '00:00:00.000' : '23:59:59.999'}Z` : iso) +
          sign * days * 86_400_000,
      ).toISOString();
    const result = await catalog.search({
      collection: source.catalog.kind === 'stac' ? source.catalog.collection : '',
      intersects: area,
      start: widen(job.period.start, -1),
      end: widen(job.period.end, 1),
    });
    for (const p of result.pages)
      await writeWork(ctx.work, WorkFiles.catalogPage, WorkFiles.catalogPage.key(runId, ++page), p);
    const products: Product[] = [];
    const invalid: Array<{ id: string; detail: string }> = [];
    for (const item of result.items) {
      try {
        products.push(normalizeItem(item, result.bases?.[item.id] ?? null, catalog.description));
      } catch (error) {
        if (!(error instanceof InvalidInputError)) throw error;
        invalid.push({ id: item.id, detail: error.message });
      }
    }
    const keys = new Set(products.flatMap((p) => Object.keys(p.assets)));
    const unknown = source.bands.find((b) => !keys.has(b));
    if (products.length > 0 && unknown !== undefined) {
      throw new InvalidInputError(
        `source ${source.name}: band "${unknown}" is not an asset of any of the ${products.length} item(s) found in ${catalog.description}; these items have: ${[...keys].sort().join(', ')}`,
        { source: catalog.description, pointer: `/sources/${job.sources.indexOf(source)}/bands` },
      );
    }
    const perTile: Record<string, Product[]> = {};
    const candidates: unknown[] = [];
    for (const [tile, list] of Object.entries(chosen)) {
      const first = list[0];
      if (!first) continue;
      const choice = chooseSecondary(
        source,
        products,
        { tile, footprint: first.footprint, dates: list.map((p) => p.datetime) },
        job.period,
      );
      perTile[tile] = choice.chosen;
      candidates.push(...choice.candidates);
      ctx.log.info('plan: second source selected', {
        source: source.name,
        tile,
        chosen: choice.chosen.length,
      });
    }
    out[source.name] = perTile;
    report[source.name] = { catalog: catalog.description, selection: source.selection, candidates, invalid };
  }
  return { chosen: out, report };
}

/**
 * A band that no item of the search has as an asset is a wrong name (or the wrong collection), not
 * a reason to widen the search: refused before anything is written, listing the keys there are.
 */
function requireKnownAssets(job: JobSpec, products: readonly Product[], catalog: string): void {
  if (products.length === 0) return;
  const keys = new Set(products.flatMap((p) => Object.keys(p.assets)));
  const unknown = requiredAssets(job).filter((a) => !keys.has(a));
  if (unknown.length === 0) return;
  const name = unknown[0] as string;
  const at = job.bands.indexOf(name);
  const pointer = at >= 0 ? `/bands/${at}` : '/clouds/mask';
  const what = at >= 0 ? `band "${name}"` : `clouds.mask "scl" needs an asset "${name}", which`;
  throw new InvalidInputError(
    `${unknown.length > 1 ? `bands ${unknown.map((u) => `"${u}"`).join(', ')} are` : `${what} is`} not an asset of any of the ${products.length} item(s) found in ${catalog}; band names are STAC asset keys, and these items have: ${[...keys].sort().join(', ')}`,
    { source: catalog, pointer },
  );
}

function summarize(input: ExecutionInput, selectionKey: string, s: StoredSelection): PlanOutput {
  const all = Object.values(s.chosen).flat();
  return {
    runId: input.runId,
    jobKey: input.jobKey,
    selectionKey,
    products: all.length,
    tiles: Object.keys(s.chosen).length,
    offline: all.filter((p) => !p.online).length,
  };
}
