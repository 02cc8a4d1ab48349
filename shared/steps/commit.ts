// Commit: check that every planned region reported, that planned = written + rejected, gather the
// rejects and statistics, and write manifest.json last and create-only: the dataset exists from
// that moment, and a rerun of a committed run returns the manifest it already wrote.
import { claimDataset } from '../dataset/claim.ts';
import { bandMetadata } from '../domain/band-metadata.ts';
import { type BandSummary, mergedBandSummaries } from '../domain/band-stats.ts';
import { classWeights } from '../domain/class-weights.ts';
import { datasetKeys } from '../domain/dataset-layout.ts';
import { AlreadyExistsError, IntegrityError } from '../domain/errors.ts';
import { rangeBytes, refetchRatio, unionRanges } from '../domain/fetched-ranges.ts';
import { canonicalJson, sha256Hex } from '../domain/hashing.ts';
import { effectiveCloudyClasses, type JobSpec } from '../domain/job-spec.ts';
import { mergeFeatureAccounts } from '../domain/labels/accounting.ts';
import { trainingIds } from '../domain/labels/class-table.ts';
import { mergeRegressionSummaries } from '../domain/labels/regression.ts';
import { checkManifestTotals, MANIFEST_VERSION, type Manifest, ManifestSchema } from '../domain/manifest.ts';
import type { RegionResult, ShardRecord, TilePlan } from '../domain/plan.ts';
import { type PortablePaths, portablePathsOfJob } from '../domain/portable-paths.ts';
import { quicklookStretch } from '../domain/quicklook.ts';
import { bandDates, DEFAULT_RADIOMETRY, perDate } from '../domain/radiometry.ts';
import { SPLITS, type Split } from '../domain/splits.ts';
import { STATS_PIXELS } from '../domain/window-stats.ts';
import type { BlobStore } from '../ports.ts';
import { loadJob, type StepContext } from '../work/context.ts';
import {
  readWork,
  readWorkBytes,
  readWorkLines,
  requireWork,
  requireWorkLines,
  type StoredSelection,
  WorkFiles,
} from '../work/files.ts';
import { loadLabelSummary } from '../work/labels-store.ts';
import { loadRegionResults } from '../work/region-results.ts';
import { restoreSelectionReport } from '../work/selection-report.ts';
import type { CommitOutput, ExecutionInput } from '../workflow/contracts.ts';
import { writeDatasetDescriptions } from './describe-dataset.ts';

export const SOFTWARE_VERSION = 'satfactory 0.1.0';

export async function commit(input: ExecutionInput, ctx: StepContext): Promise<CommitOutput> {
  const job = await loadJob(ctx, input.jobKey);
  const dataset = ctx.openStore(job.output.uri);
  await claimDataset(dataset, { runId: input.runId, job: job.name, now: ctx.clock.now() });
  const existing = await readManifest(dataset);
  if (existing) {
    if (existing.runId !== input.runId) {
      throw new IntegrityError(
        `${dataset.uri} already holds a dataset of run ${existing.runId}; choose another output.uri or delete it`,
        { source: `${dataset.uri}/${datasetKeys.manifest}` },
      );
    }
    return output(existing);
  }
  const summary = await requireWork(
    ctx.work,
    WorkFiles.windowsSummary,
    WorkFiles.windowsSummary.key(input.runId),
  );
  const selection = await requireWork(ctx.work, WorkFiles.selection, WorkFiles.selection.key(input.runId));
  const tasks = await requireWorkLines(ctx.work, WorkFiles.regions, summary.regionsKey);

  const results = await loadRegionResults(ctx, input.runId, tasks);

  // The run's report as PlanWindows completed it (probe verdicts), whatever the dataset holds now.
  await restoreSelectionReport(ctx, dataset, input.runId, true);
  // No absolute local path goes into the dataset (portable-paths.ts).
  const paths = portablePathsOfJob(job, ctx.work.uri);
  const rejects: string[] = [];
  for (const t of tasks) {
    const lines = await readWorkLines(
      ctx.work,
      WorkFiles.regionRejects,
      WorkFiles.regionRejects.key(input.runId, t.regionId),
    );
    for (const line of lines ?? []) rejects.push(`${JSON.stringify(paths.value(line))}\n`);
  }
  await dataset.put(datasetKeys.rejects, rejects.join(''), { contentType: 'application/jsonl' });

  const tilePlans: TilePlan[] = [];
  for (const tile of Object.keys(selection.chosen).sort()) {
    tilePlans.push(
      await requireWork(ctx.work, WorkFiles.tilePlan, WorkFiles.tilePlan.key(input.runId, tile)),
    );
  }
  // The regions' train histograms add up to the split's statistics.
  const bandStats = mergedBandSummaries(
    results.map((r) => r.stats),
    ref0(tilePlans).bands.map((b) => b.name),
  );
  const { shards, indexKeys } = await finalShards(ctx, input.runId);
  const written = results.reduce((n, r) => n + r.written, 0);
  const rejected = results.reduce((n, r) => n + r.rejected, 0);
  // Per-date: each date of each window was planned as a sample of its own (region results count them).
  const planned = job.samples === 'per-date' ? results.reduce((n, r) => n + r.planned, 0) : summary.windows;
  const jobJson = canonicalJson(paths.value(job));
  const ref = tilePlans[0] as TilePlan;
  const radiometryOf = new Map(
    tilePlans.flatMap((tp) => tp.products.map((p) => [p.id, p.radiometry] as const)),
  );
  const products = Object.values(selection.chosen).flat();
  const manifest: Manifest = paths.value<Manifest>({
    format: 'satfactory-webdataset',
    version: MANIFEST_VERSION,
    name: job.name,
    runId: input.runId,
    createdAt: ctx.clock.now().toISOString(),
    software: SOFTWARE_VERSION,
    job: JSON.parse(jobJson),
    jobSha256: sha256Hex(jobJson),
    catalog: {
      description: selection.catalog.description,
      collection: job.catalog.kind === 'stac' ? job.catalog.collection : null,
      pages: selection.catalog.pages,
      items: selection.catalog.items,
      requestsPrefix: `${ctx.work.uri}/runs/${input.runId}/catalog/`,
    },
    sources: [
      ...Object.values(selection.chosen)
        .flat()
        .map((p): Manifest['sources'][number] => ({
          id: p.id,
          collection: p.collection,
          datetime: p.datetime,
          tile: p.tile,
          cloudCover: p.cloudCover,
          hrefs: Object.fromEntries(
            [...job.bands, ...(job.clouds ? ['scl'] : [])].map((b) => [b, p.assets[b]?.href ?? '']),
          ),
          radiometry: radiometryOf.get(p.id),
        })),
      ...secondarySources(job, selection),
    ],
    bands: ref.groups.map((g) => ({
      group: g.name,
      resolution: g.resolution,
      bands: g.bands.map((name) => {
        const b = ref.bands.find((x) => x.name === name);
        const all = tilePlans.flatMap((tp) => bandDates(tp, name));
        const scale = perDate(all.map((r) => r.scale));
        const offset = perDate(all.map((r) => r.storedOffset));
        const single = typeof scale === 'number' && typeof offset === 'number';
        return {
          name,
          // The items differ: the per-date values are in every sample's .json, per item here.
          scale: typeof scale === 'number' ? scale : null,
          offset: typeof offset === 'number' ? offset : null,
          ...(single ? {} : { at: `sources[].radiometry.bands.${name} (scale, storedOffset)` }),
          nodata: b?.nodata ?? null,
          dataType: b?.dataType ?? 'uint16',
          ...bandMetadata(
            name,
            products.map((p) => p.assets[name]?.eo ?? null),
            all.every((r) => r.reflectance && r.declaredScale !== null),
          ),
        };
      }),
    })),
    scl: ref.scl ? { member: 'scl.npy', cloudyClasses: effectiveCloudyClasses(job) } : null,
    grid: ref.output
      ? {
          windowSize: ref.grid.windowSize,
          stride: ref.grid.stride,
          tiles: tilePlans.map((tp) => ({ ...sourceGridOf(tp), dates: tp.products.map((p) => p.datetime) })),
          output: {
            kind: ref.output.kind,
            epsg: ref.grid.epsg,
            zoom: ref.output.zoom,
            resolution: ref.grid.res,
            originX: ref.grid.originX,
            originY: ref.grid.originY,
            resampling: ref.output.assetResampling,
          },
        }
      : {
          windowSize: job.windows.size,
          stride: job.windows.stride ?? job.windows.size,
          tiles: tilePlans.map((tp) => ({
            tile: tp.tile,
            epsg: tp.grid.epsg,
            resolution: tp.grid.res,
            originX: tp.grid.originX,
            originY: tp.grid.originY,
            dates: tp.products.map((p) => p.datetime),
          })),
        },
    ...(await labelsOf(ctx, input.runId, job, dataset, tilePlans[0]?.labels ?? null, results, paths)),
    splits: Object.fromEntries(
      SPLITS.map((s) => [
        s,
        {
          samples: shards.filter((x) => x.split === s).reduce((n, x) => n + x.samples, 0),
          shards: shards.filter((x) => x.split === s).length,
        },
      ]),
    ) as Manifest['splits'],
    shards,
    totals: {
      planned,
      written,
      rejected,
      rejectedByReason: mergeCounts(results.map((r) => r.rejectedByReason)),
    },
    rejects: datasetKeys.rejects,
    stats: {
      split: 'train',
      dates: 'all',
      pixels: STATS_PIXELS,
      excludedScl: ref.scl ? effectiveCloudyClasses(job) : [],
      units: 'stored',
      percentiles: 'linear',
      bands: bandStats,
    },
    ...(job.output.quicklooks ? { quicklooks: quicklooksOf(bandStats, job) } : {}),
    io: jobIo(results),
    radiometry: radiometrySummary(job, tilePlans),
  });
  checkManifestTotals(manifest);
  await writeDatasetDescriptions(dataset, manifest, async (shard) => {
    const key = indexKeys.get(shard.path) as string;
    const entries = await requireWorkLines(ctx.work, WorkFiles.shardIndex, key);
    return entries.map((e) => ({ key: e.key, shard: shard.path, split: shard.split, json: e.json }));
  });
  try {
    await dataset.put(datasetKeys.manifest, `${JSON.stringify(manifest, null, 1)}\n`, {
      createOnly: true,
      contentType: 'application/json',
    });
  } catch (error) {
    if (!(error instanceof AlreadyExistsError)) throw error;
    // A concurrent commit of the same run won the race; its manifest is as good as ours.
    return output((await readManifest(dataset)) as Manifest);
  }
  ctx.log.info('commit: manifest written', { samples: written, rejected, shards: shards.length });
  return output(manifest);
}

/** The label member a quicklook outlines: labels.npy, else instances.npy, else none. */
function outlineMemberOf(job: JobSpec): string | null {
  const outputs = job.labels?.outputs ?? [];
  return outputs.includes('labels') ? 'labels.npy' : outputs.includes('instances') ? 'instances.npy' : null;
}

const ref0 = (tilePlans: TilePlan[]) => tilePlans[0] as TilePlan;

/** How the `<key>.png` members were drawn: the stretch PlanShards gave WriteShard, from these stats. */
function quicklooksOf(stats: Record<string, BandSummary>, job: JobSpec): NonNullable<Manifest['quicklooks']> {
  return {
    member: 'png',
    channels: quicklookStretch(stats),
    nodata: 'black: a pixel where any of the three bands holds its nodata',
    outline: outlineMemberOf(job) ? { member: outlineMemberOf(job) as string, color: '#ffff00' } : null,
  };
}

/**
 * The final shards WriteShards wrote (each has its result record), sorted by path, and the work
 * key of each one's sample index.
 */
async function finalShards(
  ctx: StepContext,
  runId: string,
): Promise<{ shards: ShardRecord[]; indexKeys: Map<string, string> }> {
  const tasks = await requireWorkLines(ctx.work, WorkFiles.shardTasks, WorkFiles.shardTasks.key(runId));
  const shards: ShardRecord[] = [];
  const indexKeys = new Map<string, string>();
  const missing: string[] = [];
  for (const t of tasks) {
    const r = await readWork(
      ctx.work,
      WorkFiles.shardResult,
      WorkFiles.shardResult.key(runId, t.split, t.index),
    );
    if (r) {
      shards.push(r);
      indexKeys.set(r.path, WorkFiles.shardIndex.key(runId, t.split, t.index));
    } else missing.push(`${t.split} ${t.index}`);
  }
  if (missing.length > 0) {
    throw new IntegrityError(
      `${missing.length} of ${tasks.length} final shards are not written (${missing.slice(0, 5).join(', ')}); rerun the job to resume them`,
      { source: ctx.work.uri },
    );
  }
  return { shards: shards.sort((a, b) => a.path.localeCompare(b.path)), indexKeys };
}

/**
 * The class table with frequencies (class jobs) or the regression target with its values
 * (regression jobs), and the validation log copied next to the manifest.
 */
async function labelsOf(
  ctx: StepContext,
  runId: string,
  job: JobSpec,
  dataset: BlobStore,
  grid: TilePlan['labels'],
  results: RegionResult[],
  paths: PortablePaths,
): Promise<Pick<Manifest, 'classes' | 'regression'>> {
  if (!job.labels) return { classes: null };
  const summary = await loadLabelSummary(ctx, runId);
  // Every kept feature is in a sample or, with why, in the log: the books must balance.
  const unplaced =
    (await readWorkLines(ctx.work, WorkFiles.labelsUnplaced, WorkFiles.labelsUnplaced.key(runId))) ?? [];
  const accounting = mergeFeatureAccounts(
    summary.features,
    results.flatMap((r) => (r.labelFeatures ? [r.labelFeatures] : [])),
    unplaced,
  );
  // The validation log as written (each line was checked when PrepareLabels wrote it), then the
  // kept features that are in no sample.
  const log = (await readWorkBytes(ctx.work, WorkFiles.labelsLog, summary.logKey)) ?? new Uint8Array();
  const logLines = Buffer.from(log)
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => `${JSON.stringify(paths.value(JSON.parse(line) as unknown))}\n`);
  const unsampled = accounting.entries.map((e) => `${JSON.stringify(paths.value(e))}\n`);
  await dataset.put(datasetKeys.labelsLog, [...logLines, ...unsampled].join(''), {
    contentType: 'application/jsonl',
  });
  if (accounting.entries.length > 0) {
    ctx.log.warn('commit: kept label features in no sample (see the labels log)', {
      unsampled: accounting.unsampled,
    });
  }
  const validation = {
    source: summary.source,
    read: summary.read,
    kept: summary.features,
    problems: summary.problems,
    log: datasetKeys.labelsLog,
    accounting: {
      kept: accounting.kept,
      inSamples: accounting.inSamples,
      unsampled: accounting.unsampled,
    },
  };
  if (job.labels.target === 'regression') {
    const values = (split?: Split) => {
      const s = mergeRegressionSummaries(
        results.flatMap((r) =>
          Object.entries(r.regression ?? {}).flatMap(([k, v]) =>
            split === undefined || k === split ? [v] : [],
          ),
        ),
      );
      return {
        samples: s.samples,
        pixels: s.pixels,
        min: s.min,
        max: s.max,
        mean: s.pixels > 0 ? s.sum / s.pixels : null,
      };
    };
    return {
      classes: null,
      regression: {
        property: job.labels.valueProperty ?? job.labels.classProperty,
        unit: job.labels.unit ?? null,
        member: 'regression.npy',
        coverage: 'coverage.npy',
        ...(grid ? { resolution: grid.resolution, size: grid.size } : {}),
        outputs: job.labels.outputs,
        values: {
          all: values(),
          train: values('train'),
          validation: values('validation'),
          test: values('test'),
        },
        validation,
      },
    };
  }
  // Training index i is id training[i]: the table's classes (and a background that is a class),
  // ascending. Every id .labels.npy may hold: those and the ignore index.
  const { coding } = summary;
  const training = trainingIds(summary.classes, coding);
  const ids =
    coding.ignoreIndex === null ? training : [...training, coding.ignoreIndex].sort((a, b) => a - b);
  const merged = (split: Split) => {
    const out = new Map<number, { pixels: number; samples: number }>();
    for (const r of results) {
      for (const [id, f] of Object.entries(r.classes?.[split] ?? {})) {
        const m = out.get(Number(id)) ?? { pixels: 0, samples: 0 };
        m.pixels += f.pixels;
        m.samples += f.samples;
        out.set(Number(id), m);
      }
    }
    return out;
  };
  const counts = Object.fromEntries(SPLITS.map((s) => [s, merged(s)])) as Record<
    Split,
    ReturnType<typeof merged>
  >;
  const perSplit = (split: Split) =>
    ids.map((id) => ({ id, ...(counts[split].get(id) ?? { pixels: 0, samples: 0 }) }));
  const splits = { train: perSplit('train'), validation: perSplit('validation'), test: perSplit('test') };
  const total = (id: number, field: 'pixels' | 'samples') =>
    SPLITS.reduce((n, s) => n + (counts[s].get(id)?.[field] ?? 0), 0);
  // Weights for the training indices only: the loss ignores the ignore index.
  const trainCounts = splits.train.filter((c) => c.id !== coding.ignoreIndex);
  const classes: Manifest['classes'] = {
    property: job.labels.classProperty,
    origin: coding.origin,
    ...(job.labels.nomenclature ? { nomenclature: job.labels.nomenclature } : {}),
    ...(coding.file ? { file: coding.file } : {}),
    background: coding.background,
    backgroundIs: coding.backgroundIs,
    ignoreIndex: coding.ignoreIndex,
    unknown: coding.unknown,
    ...(grid ? { resolution: grid.resolution, size: grid.size } : {}),
    outputs: job.labels.outputs,
    trainingIds: training,
    table: summary.classes.map((c) => ({
      id: c.id,
      index: training.indexOf(c.id),
      value: c.value,
      ...(c.name !== undefined ? { name: c.name } : {}),
      ...(c.color !== undefined ? { color: c.color } : {}),
      pixels: total(c.id, 'pixels'),
      samples: total(c.id, 'samples'),
    })),
    splits,
    ...(grid
      ? { weights: { split: 'train' as const, ...classWeights(trainCounts, grid.size * grid.size) } }
      : {}),
    validation,
  };
  return { classes };
}

/**
 * The job's fetching: bytes and requests summed over the regions, and the distinct bytes of their
 * ranges, united per URL across regions (each ran on its own, maybe in another Lambda).
 */
export function jobIo(results: readonly RegionResult[]): NonNullable<Manifest['io']> {
  const bytesFetched = results.reduce((n, r) => n + r.bytesFetched, 0);
  const bytesDistinct = rangeBytes(unionRanges(results.map((r) => r.fetched)));
  return {
    bytesFetched,
    bytesDistinct,
    requests: results.reduce((n, r) => n + r.requests, 0),
    refetchRatio: refetchRatio({ bytesFetched, bytesDistinct }),
    bytesNeeded: results.reduce((n, r) => n + r.bytesNeeded, 0),
    tilesNeeded: results.reduce((n, r) => n + r.tilesNeeded, 0),
  };
}

/** The run's radiometry: the job's choices, what the probe found, and every disagreement. */
function radiometrySummary(job: JobSpec, tilePlans: TilePlan[]): Manifest['radiometry'] {
  const items = tilePlans.flatMap((tp) => tp.products.map((p) => p.radiometry));
  const probed = items.filter((r) => r.probe !== null);
  return {
    offset: job.radiometry?.offset ?? DEFAULT_RADIOMETRY.offset,
    harmonize: job.radiometry?.harmonize ?? DEFAULT_RADIOMETRY.harmonize,
    probed: probed.length,
    disagree: probed.filter((r) => r.probe?.agrees === false).length,
    unknown: probed.filter((r) => r.probe?.agrees === null).length,
    probeBytes: probed.reduce((n, r) => n + (r.probe?.bytes ?? 0), 0),
    warnings: items.flatMap((r) => (r.warning ? [r.warning] : [])),
  };
}

function output(m: Manifest): CommitOutput {
  return {
    manifestKey: datasetKeys.manifest,
    samples: m.totals.written,
    rejected: m.totals.rejected,
    shards: m.shards.length,
  };
}

/** Sums count records key by key (sorted keys, so the manifest is stable). */
function mergeCounts(records: ReadonlyArray<Readonly<Record<string, number>>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) for (const [k, n] of Object.entries(r)) out[k] = (out[k] ?? 0) + n;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** The dataset's manifest, when it has one; a manifest that is not one is a broken dataset. */
async function readManifest(dataset: BlobStore): Promise<Manifest | undefined> {
  const bytes = await dataset.get(datasetKeys.manifest);
  if (bytes === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (cause) {
    throw new IntegrityError(
      `${dataset.uri}/${datasetKeys.manifest} is not JSON; the dataset is damaged`,
      { source: `${dataset.uri}/${datasetKeys.manifest}` },
      { cause },
    );
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new IntegrityError(
      `${dataset.uri}/${datasetKeys.manifest} is not a satfactory manifest (${parsed.error.issues[0]?.message ?? 'invalid'}); choose another output.uri`,
      { source: `${dataset.uri}/${datasetKeys.manifest}` },
    );
  }
  return parsed.data;
}

/** A source tile's own grid (its finest COG) when the samples are on an output grid. */
function sourceGridOf(tp: TilePlan): {
  tile: string;
  epsg: number;
  resolution: number;
  originX: number;
  originY: number;
} {
  const cogs = Object.values(tp.products[0]?.cogs ?? {});
  const finest = cogs.reduce((a, b) => (b.resX < a.resX ? b : a));
  return {
    tile: tp.tile,
    epsg: finest.epsg ?? (tp.output?.sourceEpsg as number),
    resolution: finest.resX,
    originX: finest.originX,
    originY: finest.originY,
  };
}

/** The products of the job's second sources (each once, though several tiles may share one). */
function secondarySources(job: JobSpec, selection: StoredSelection): Manifest['sources'] {
  const out: Manifest['sources'] = [];
  for (const source of job.sources ?? []) {
    const seen = new Set<string>();
    for (const p of Object.values(selection.secondary?.[source.name] ?? {}).flat()) {
      if (seen.has(p.id)) continue;
      seen.add(p.id);
      out.push({
        id: p.id,
        collection: p.collection,
        datetime: p.datetime,
        tile: p.tile,
        cloudCover: p.cloudCover,
        source: source.name,
        hrefs: Object.fromEntries(source.bands.map((b) => [b, p.assets[b]?.href ?? ''])),
      });
    }
  }
  return out;
}
