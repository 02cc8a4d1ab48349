// The run's ground truth in the work store. Ingest reads the label file once per run, validates it
// and keeps the valid features plus the validation log; partitioning then reprojects them into each
// tile's CRS in cells of a fixed size, so a region worker loads only the cells under its windows.
import { pathToFileURL } from 'node:url';
import { aoiFromGeoJson, bboxPolygon } from '../domain/aoi.ts';
import type { Product } from '../domain/catalog.ts';
import { type Bounds, boundsOf, projectPolygon, rectToWgs84Bounds } from '../domain/crs.ts';
import { InvalidInputError } from '../domain/errors.ts';
import type { JobSpec } from '../domain/job-spec.ts';
import { buildClassTable, type ClassEntry } from '../domain/labels/classes.ts';
import { decodeLabelChunk, encodeLabelChunk, LabelIndex, reprojectFeatures } from '../domain/labels/index.ts';
import { readLabelSource } from '../domain/labels/read.ts';
import type { LabelFeature } from '../domain/labels/types.ts';
import { validateLabels } from '../domain/labels/validate.ts';
import { getJson, putJson, requireJson, type StepContext } from './context.ts';

/** Side of a label cell in metres: about one 1024 px COG tile of a 10 m band. */
export const LABEL_CELL_METRES = 10_240;

export const labelKeys = {
  summary: (runId: string) => `runs/${runId}/labels/summary.json`,
  features: (runId: string) => `runs/${runId}/labels/features.bin`,
  log: (runId: string) => `runs/${runId}/labels/log.jsonl`,
  tileIndex: (runId: string, tile: string) => `runs/${runId}/labels/tiles/${tile}/index.json`,
  cell: (runId: string, tile: string, cell: string) => `runs/${runId}/labels/tiles/${tile}/cells/${cell}.bin`,
};

export type LabelSummary = {
  source: string;
  /** CRS of the features as read (and stored in features.bin). */
  epsg: number;
  /** Features read from the file, and kept after validation. */
  read: number;
  features: number;
  /** Problem code → number of log entries (see the log for each feature and what was done). */
  problems: Record<string, number>;
  logKey: string;
  classes: ClassEntry[];
  /** Extent of the kept features, lon/lat. */
  extentWgs84: Bounds | null;
};

export type TileLabelIndex = {
  tile: string;
  epsg: number;
  cellSize: number;
  cells: string[];
  features: number;
};

/** Reads, validates and stores the labels once per run; later calls return the stored summary. */
export async function ingestLabels(ctx: StepContext, runId: string, job: JobSpec): Promise<LabelSummary> {
  const key = labelKeys.summary(runId);
  const done = await getJson<LabelSummary>(ctx.work, key);
  if (done) return done;
  const labels = job.labels;
  if (!labels) throw new InvalidInputError('the job has no labels', { pointer: '/labels' });
  const bytes = await readSourceBytes(ctx, labels.source);
  const raw = await readLabelSource(bytes, {
    source: labels.source,
    ...(labels.format ? { format: labels.format } : {}),
    ...(labels.crs ? { crs: labels.crs } : {}),
  });
  const aoi = typeof job.aoi === 'object' ? aoiFromGeoJson(job.aoi, 'job spec /aoi') : undefined;
  const checked = validateLabels(raw, {
    classProperty: labels.classProperty,
    ...(labels.idProperty ? { idProperty: labels.idProperty } : {}),
    ...(labels.year !== undefined ? { year: labels.year } : {}),
    yearProperty: labels.yearProperty,
    repair: labels.repair,
    ...(aoi ? { aoi } : {}),
    source: labels.source,
  });
  // Fixes (rewinding, closing rings) are routine; what was dropped is worth a line each (up to 20).
  const dropped = checked.log.filter((e) => e.action === 'dropped');
  for (const entry of dropped.slice(0, 20)) ctx.log.warn('labels: feature dropped', { ...entry });
  if (checked.features.length === 0) {
    throw new InvalidInputError(
      `${labels.source}: none of its ${raw.features.length} features is usable (${describeCounts(checked.counts)}); see the validation log at ${ctx.work.uri}/${labelKeys.log(runId)}`,
      { source: labels.source, pointer: '/labels/source' },
    );
  }
  await ctx.work.put(labelKeys.log(runId), checked.log.map((e) => `${JSON.stringify(e)}\n`).join(''), {
    contentType: 'application/jsonl',
  });
  await ctx.work.put(labelKeys.features(runId), encodeLabelChunk(checked.features));
  const summary: LabelSummary = {
    source: labels.source,
    epsg: raw.epsg,
    read: raw.features.length,
    features: checked.features.length,
    problems: checked.counts,
    logKey: labelKeys.log(runId),
    classes: buildClassTable(
      checked.features.map((f) => f.classValue),
      labels.background,
    ),
    extentWgs84: rectToWgs84Bounds(raw.epsg, featureBounds(checked.features)),
  };
  await putJson(ctx.work, key, summary);
  ctx.log.info('labels: ingested', {
    read: summary.read,
    kept: summary.features,
    problems: summary.problems,
  });
  return summary;
}

/** The labels' extent as an AOI polygon in lon/lat (`aoi: "labels"`). */
export function labelsExtentAoi(summary: LabelSummary): GeoJSON.Polygon {
  const [x0, y0, x1, y1] = summary.extentWgs84 as Bounds;
  return bboxPolygon({
    type: 'Polygon',
    coordinates: [
      [
        [x0, y0],
        [x1, y1],
      ],
    ],
  });
}

/** Reprojects the run's features into each tile's CRS and stores them in cells. Idempotent. */
export async function partitionLabels(
  ctx: StepContext,
  runId: string,
  summary: LabelSummary,
  tiles: Record<string, Product[]>,
): Promise<TileLabelIndex[]> {
  let all: readonly LabelFeature[] | undefined;
  const out: TileLabelIndex[] = [];
  for (const tile of Object.keys(tiles).sort()) {
    const existing = await getJson<TileLabelIndex>(ctx.work, labelKeys.tileIndex(runId, tile));
    if (existing) {
      out.push(existing);
      continue;
    }
    const first = tiles[tile]?.[0];
    if (!first) continue;
    all ??= decodeLabelChunk((await ctx.work.get(labelKeys.features(runId))) ?? new Uint8Array());
    const epsg = first.epsg;
    const inTile = reprojectFeatures(all, summary.epsg, epsg);
    const footprint = boundsOf(projectPolygon(first.footprint, epsg));
    const cells = new Map<string, LabelFeature[]>();
    let count = 0;
    for (const f of inTile) {
      const b = featureBounds([f]);
      if (b[2] < footprint[0] || b[0] > footprint[2] || b[3] < footprint[1] || b[1] > footprint[3]) continue;
      count++;
      for (const cell of cellsOf(b)) cells.set(cell, [...(cells.get(cell) ?? []), f]);
    }
    for (const [cell, features] of cells) {
      await ctx.work.put(labelKeys.cell(runId, tile, cell), encodeLabelChunk(features));
    }
    const index: TileLabelIndex = {
      tile,
      epsg,
      cellSize: LABEL_CELL_METRES,
      cells: [...cells.keys()].sort(),
      features: count,
    };
    // The index is written last: a tile with an index has all its cells.
    await putJson(ctx.work, labelKeys.tileIndex(runId, tile), index);
    out.push(index);
  }
  return out;
}

/** The features of a tile near `bounds` (tile CRS), each once, from the cells under the bounds. */
export async function loadLabelsNear(
  ctx: StepContext,
  runId: string,
  tile: string,
  bounds: Bounds,
): Promise<LabelIndex> {
  const index = await requireJson<TileLabelIndex>(
    ctx.work,
    labelKeys.tileIndex(runId, tile),
    `the label index of tile ${tile}`,
  );
  const present = new Set(index.cells);
  const byIndex = new Map<number, LabelFeature>();
  for (const cell of cellsOf(bounds)) {
    if (!present.has(cell)) continue;
    const bytes = await ctx.work.get(labelKeys.cell(runId, tile, cell));
    for (const f of decodeLabelChunk(bytes ?? new Uint8Array())) byIndex.set(f.index, f);
  }
  return LabelIndex.build([...byIndex.values()].sort((a, b) => a.index - b.index));
}

function cellsOf(b: Bounds): string[] {
  const c0 = Math.floor(b[0] / LABEL_CELL_METRES);
  const c1 = Math.floor(b[2] / LABEL_CELL_METRES);
  const r0 = Math.floor(b[1] / LABEL_CELL_METRES);
  const r1 = Math.floor(b[3] / LABEL_CELL_METRES);
  const cells: string[] = [];
  for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) cells.push(`${c}_${r}`);
  return cells;
}

export function featureBounds(features: readonly LabelFeature[]): Bounds {
  const b: Bounds = [Infinity, Infinity, -Infinity, -Infinity];
  for (const f of features)
    for (const p of f.polygons)
      for (const ring of p.rings)
        for (let i = 0; i < ring.length; i += 2) {
          const x = ring[i] as number;
          const y = ring[i + 1] as number;
          if (x < b[0]) b[0] = x;
          if (y < b[1]) b[1] = y;
          if (x > b[2]) b[2] = x;
          if (y > b[3]) b[3] = y;
        }
  return b;
}

function describeCounts(counts: Record<string, number>): string {
  return (
    Object.entries(counts)
      .map(([k, n]) => `${k}: ${n}`)
      .join(', ') || 'no features'
  );
}

/** The bytes of a local path or a file:// or s3:// URI, through the blob store of its folder. */
async function readSourceBytes(ctx: StepContext, source: string): Promise<Uint8Array> {
  let folder: string;
  let name: string;
  if (/^(file|s3):\/\//i.test(source)) {
    const cut = source.lastIndexOf('/');
    folder = source.slice(0, cut);
    // file:// URIs are percent-encoded; s3:// URIs carry the key as it is (as the AWS CLI writes them).
    name = /^file:/i.test(source) ? decodeURIComponent(source.slice(cut + 1)) : source.slice(cut + 1);
  } else if (source.startsWith('/')) {
    const cut = source.lastIndexOf('/');
    folder = pathToFileURL(source.slice(0, cut) || '/').href;
    name = source.slice(cut + 1);
  } else {
    throw new InvalidInputError(
      `labels.source "${source}" must be an absolute path, a file:// or an s3:// URI (the CLI resolves relative paths against the job file)`,
      { pointer: '/labels/source' },
    );
  }
  const bytes = await ctx.openStore(folder).get(name);
  if (bytes === undefined) {
    throw new InvalidInputError(`labels.source ${source} does not exist; check the path`, {
      source,
      pointer: '/labels/source',
    });
  }
  return bytes;
}
