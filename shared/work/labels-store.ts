// The run's ground truth in the work store. Ingest reads the label file once per run, validates it
// and keeps the valid features plus the validation log. PlanWindows then takes each tile's features
// into the tile's CRS once and writes every region its own chunk (the features under its windows),
// so a region worker reads one small object and never the whole label set.
import { pathToFileURL } from 'node:url';
import { areaOf, splitAtAntimeridian } from '../domain/antimeridian.ts';
import { parseAoi } from '../domain/aoi.ts';
import { type Bounds, rectToWgs84Bbox, rectToWgs84Bounds } from '../domain/crs.ts';
import { InputRefusedError, IntegrityError, InvalidInputError } from '../domain/errors.ts';
import { sha256Hex } from '../domain/hashing.ts';
import type { JobSpec } from '../domain/job-spec.ts';
import { footprintReach, type GeometrySpec, withFootprint } from '../domain/labels/buffer.ts';
import { LabelChunkWriter } from '../domain/labels/chunk.ts';
import {
  checkClassTableFile,
  classValueKey,
  derivedCoding,
  fixedClassTable,
  type LabelCoding,
  parseClassTableFile,
} from '../domain/labels/class-table.ts';
import { buildClassTable, type ClassEntry } from '../domain/labels/classes.ts';
import {
  decodeLabelChunk,
  encodeLabelChunk,
  featureBounds,
  LabelIndex,
  reprojectFeatures,
} from '../domain/labels/index.ts';
import { readLabelStream } from '../domain/labels/read.ts';
import { bigEarthNet19Table, classRecoder } from '../domain/labels/recode.ts';
import type { LabelFeature, LabelLogEntry } from '../domain/labels/types.ts';
import { validateLabels } from '../domain/labels/validate.ts';
import type { BlobStore } from '../ports.ts';
import type { StepContext } from './context.ts';
import {
  type LabelSummary,
  readWork,
  readWorkBytes,
  requireWork,
  WorkFiles,
  writeWork,
  writeWorkBytes,
  writeWorkLines,
} from './files.ts';

/** Points per edge when a large rectangle (a tile, the labels' extent) is taken to lon/lat. */
const EDGE_STEPS = 32;

/** Reads, validates and stores the labels once per run; later calls return the stored summary. */
export async function ingestLabels(ctx: StepContext, runId: string, job: JobSpec): Promise<LabelSummary> {
  const key = WorkFiles.labelsSummary.key(runId);
  const done = await readWork(ctx.work, WorkFiles.labelsSummary, key);
  if (done) return done;
  const labels = job.labels;
  if (!labels) throw new InvalidInputError('the job has no labels', { pointer: '/labels' });
  const bytes = await readSourceBytes(ctx, labels.source);
  // Streamed: each feature is validated and stored in the chunk as it is read, so the raw features
  // and LabelFeature objects of the whole file are never held at once (1 M parcels, bench/labels-scale.ts).
  const raw = await readLabelStream(bytes, {
    source: labels.source,
    ...(labels.format ? { format: labels.format } : {}),
    ...(labels.crs ? { crs: labels.crs } : {}),
  });
  const aoi =
    typeof job.aoi === 'object'
      ? parseAoi(job.aoi, { source: 'job spec', pointer: '/aoi', repair: job.aoiRepair ?? false }).area
      : undefined;
  // A fixed class table is known before the first feature; a derived one from the values kept. A
  // regression job has none: its features carry a number (the value property), not a class.
  const regression = labels.target === 'regression';
  const fixed = regression ? undefined : await fixedTableOf(ctx, labels);
  const known = fixed ? new Set(fixed.classes.map((c) => classValueKey(c.value))) : undefined;
  const rejectUnknown = fixed?.coding.unknown === 'reject';
  const recode = regression ? null : classRecoder(labels, fixed?.classes);
  const rejected: Rejected[] = [];
  const chunk = new LabelChunkWriter();
  const classValues = new Set<string | number>();
  const extent: Bounds = [Infinity, Infinity, -Infinity, -Infinity];
  let stored = 0;
  const checked = validateLabels(raw, {
    classProperty: regression ? (labels.valueProperty ?? labels.classProperty) : labels.classProperty,
    numeric: regression,
    ...(labels.idProperty ? { idProperty: labels.idProperty } : {}),
    ...(labels.year !== undefined ? { year: labels.year } : {}),
    yearProperty: labels.yearProperty,
    repair: labels.repair,
    ...(aoi ? { aoi } : {}),
    source: labels.source,
    ...(labels.points ? { points: true } : {}),
    ...(labels.lines ? { lines: true } : {}),
    // Properties are kept only for vector.json: all of them unless the job lists some.
    ...(labels.outputs.includes('vector') ? { properties: labels.properties ?? '*' } : {}),
    keep: (kept) => {
      let f = kept;
      if (recode) {
        const to = recode(f.classValue);
        if ('problem' in to) {
          // Only index and id are needed for its log line: the geometry is not held.
          rejected.push({
            index: f.index,
            id: f.id,
            problem: to.problem,
            detail: to.detail,
            action: 'dropped',
          });
          return;
        }
        f = { ...f, classValue: to.value };
      }
      if (known && !known.has(classValueKey(f.classValue))) {
        const reject = rejectUnknown;
        rejected.push({
          index: f.index,
          id: f.id,
          problem: 'unknown-class',
          detail: `class ${JSON.stringify(kept.classValue)} (property "${labels.classProperty}") is not in the class table (labels.classes); ${
            reject
              ? 'dropped, as labels.classes.unknown is "reject"'
              : `kept, its pixels get the ignore index ${fixed?.coding.ignoreIndex} (labels.classes.unknown "ignore")`
          }`,
          action: reject ? 'dropped' : 'kept',
        });
        if (reject) return;
      }
      stored++;
      chunk.add(f);
      if (!regression) classValues.add(f.classValue);
      const b = featureBounds([f]);
      extent[0] = Math.min(extent[0], b[0]);
      extent[1] = Math.min(extent[1], b[1]);
      extent[2] = Math.max(extent[2], b[2]);
      extent[3] = Math.max(extent[3], b[3]);
    },
  });
  // Fixes (rewinding, closing rings) are routine; what was dropped is worth a line each (up to 20).
  const dropped = checked.log.filter((e) => e.action === 'dropped');
  for (const entry of dropped.slice(0, 20)) ctx.log.warn('labels: feature dropped', { ...entry });
  if (checked.kept === 0) {
    throw new InvalidInputError(
      `${labels.source}: none of its ${checked.read} features is usable (${describeCounts(checked.counts)}); see the validation log at ${ctx.work.uri}/${WorkFiles.labelsLog.key(runId)}`,
      { source: labels.source, pointer: '/labels/source' },
    );
  }
  const table: RunTable = fixed ?? {
    // A regression job's table stays empty: no class is claimed (its burn id is never written).
    classes: regression ? [] : buildClassTable(classValues, labels.background ?? 0),
    coding: derivedCoding(labels.background ?? 0),
  };
  // Features without a class (unmapped, outside a fixed table): dropped or kept as ignored, each logged.
  const { log, counts } = logRejected(checked, rejected);
  if (stored === 0) {
    throw new InvalidInputError(
      `${labels.source}: none of its ${checked.read} features is usable (${describeCounts(counts)}); see the validation log at ${ctx.work.uri}/${WorkFiles.labelsLog.key(runId)}`,
      { source: labels.source, pointer: '/labels/source' },
    );
  }
  const logKey = WorkFiles.labelsLog.key(runId);
  await writeWorkLines(ctx.work, WorkFiles.labelsLog, logKey, log);
  const featuresKey = WorkFiles.labelsFeatures.key(runId);
  await writeWorkBytes(ctx.work, WorkFiles.labelsFeatures, featuresKey, chunk.finish());
  const summary: LabelSummary = {
    source: labels.source,
    epsg: raw.epsg,
    read: checked.read,
    features: stored,
    problems: counts,
    logKey,
    classes: table.classes,
    coding: table.coding,
    // RFC 7946 form: west > east when the labels cross the antimeridian.
    extentWgs84: rectToWgs84Bbox(raw.epsg, extent, EDGE_STEPS),
  };
  await writeWork(ctx.work, WorkFiles.labelsSummary, key, summary);
  ctx.log.info('labels: ingested', {
    read: summary.read,
    kept: summary.features,
    problems: summary.problems,
  });
  return summary;
}

type Labels = NonNullable<JobSpec['labels']>;
type RunTable = { classes: ClassEntry[]; coding: LabelCoding };

/** The job's fixed class table (a nomenclature, inline or read from its file); undefined when derived. */
async function fixedTableOf(ctx: StepContext, labels: Labels): Promise<RunTable | undefined> {
  if (labels.nomenclature === 'bigearthnet-19') return bigEarthNet19Table();
  const spec = labels.classes;
  if (!spec) return undefined;
  if (Array.isArray(spec.table)) return fixedClassTable(spec.table, spec, null);
  const source = spec.table;
  const bytes = await readSourceBytes(ctx, source, 'labels.classes.table', '/labels/classes/table');
  const table = parseClassTableFile(bytes, source);
  checkClassTableFile(table, spec, source);
  const name = source.replace(/[?#].*$/, '').replace(/^.*\//, '');
  return fixedClassTable(table, spec, { name, sha256: sha256Hex(bytes) });
}

/** A kept feature that gets no class of its own: unmapped, or outside a fixed table. */
type Rejected = LabelLogEntry & { action: 'dropped' | 'kept' };

/**
 * Adds a line per feature that has no class: dropped (unmapped-value, not-clc-code,
 * no-bigearthnet19-class, unknown-class with "reject") or kept as ignored (unknown-class with
 * "ignore"); each counted under its problem.
 */
function logRejected(
  checked: { log: LabelLogEntry[]; counts: Record<string, number> },
  rejected: readonly Rejected[],
): { log: LabelLogEntry[]; counts: Record<string, number> } {
  if (rejected.length === 0) return checked;
  const log = [...checked.log];
  const counts = { ...checked.counts };
  for (const r of rejected) {
    // A dropped feature's earlier fixes no longer matter (as for outside-aoi): its one line says
    // why it is gone, and the counts stay one per log line.
    if (r.action === 'dropped') {
      for (let i = log.length - 1; i >= 0; i--) {
        const e = log[i] as LabelLogEntry;
        if (e.index !== r.index) continue;
        log.splice(i, 1);
        counts[e.problem] = (counts[e.problem] ?? 1) - 1;
        if (counts[e.problem] === 0) delete counts[e.problem];
      }
    }
    log.push(r);
    counts[r.problem] = (counts[r.problem] ?? 0) + 1;
  }
  log.sort((a, b) => a.index - b.index);
  return { log, counts };
}

/** The labels' extent as an AOI in lon/lat (`aoi: "labels"`), split at the antimeridian if it crosses. */
export function labelsExtentAoi(summary: LabelSummary): GeoJSON.Polygon | GeoJSON.MultiPolygon {
  const [x0, y0, x1, y1] = summary.extentWgs84 as Bounds;
  if (x1 - x0 > 180) {
    throw new InvalidInputError(
      `the labels of ${summary.source} span ${(x1 - x0).toFixed(1)}° of longitude (from ${x0} to ${x1}); if they cross the antimeridian, give the AOI explicitly (longitudes past 180, or a MultiPolygon split at ±180) instead of aoi "labels"`,
      { source: summary.source, pointer: '/aoi' },
    );
  }
  // West > east: the extent crosses ±180; written with longitudes past 180, then split there.
  const east = x1 < x0 ? x1 + 360 : x1;
  const ring = [
    [x0, y0],
    [east, y0],
    [east, y1],
    [x0, y1],
    [x0, y0],
  ];
  return areaOf(splitAtAntimeridian([[ring]]));
}

/**
 * The run's features that may fall on a tile, in the tile's CRS, indexed. Features are first
 * matched by their lon/lat box (cheap), and only those are reprojected; points and lines then get
 * their footprint (disc, box, buffer) in the tile's metric CRS.
 */
export async function labelsForTile(
  ctx: StepContext,
  runId: string,
  summary: LabelSummary,
  tile: { epsg: number; bounds: Bounds },
  all?: readonly LabelFeature[],
  geometry: GeometrySpec = {},
): Promise<LabelIndex> {
  const features = all ?? (await loadRunFeatures(ctx, runId));
  // Padded by about 10 m: between sampled points an edge may still reach a few centimetres further;
  // and by the reach of a footprint (a disc's radius) in degrees, where a degree is shortest.
  const [w, south, e, north] = rectToWgs84Bounds(tile.epsg, tile.bounds, EDGE_STEPS);
  const cos = Math.max(0.01, Math.cos((Math.max(Math.abs(south), Math.abs(north)) * Math.PI) / 180));
  const pad = 1e-4 + footprintReach(geometry) / (110_000 * cos);
  const box: Bounds = [w - pad, south - pad, e + pad, north + pad];
  const near = features.filter((f) => {
    const b = rectToWgs84Bounds(summary.epsg, featureBounds([f]));
    return b[0] <= box[2] && b[2] >= box[0] && b[1] <= box[3] && b[3] >= box[1];
  });
  const inTile = reprojectFeatures(near, summary.epsg, tile.epsg).map((f) =>
    f.shape ? footprintOf(f, geometry, summary.source) : f,
  );
  return LabelIndex.build(inTile);
}

function footprintOf(f: LabelFeature, geometry: GeometrySpec, source: string): LabelFeature {
  try {
    return withFootprint(f, geometry);
  } catch (error) {
    // The polygon union (turf/polyclip-ts) refused the pieces: name the feature rather than fail blind.
    throw new InvalidInputError(
      `feature ${f.index} of ${source}: its ${f.shape?.kind} footprint could not be built (${(error as Error).message}); check its geometry in the label file`,
      { source, index: f.index, pointer: '/labels/source' },
      { cause: error },
    );
  }
}

/** Every kept feature of the run, in the CRS they were read in. */
export async function loadRunFeatures(ctx: StepContext, runId: string): Promise<LabelFeature[]> {
  const key = WorkFiles.labelsFeatures.key(runId);
  const bytes = await readWorkBytes(ctx.work, WorkFiles.labelsFeatures, key);
  if (bytes === undefined) {
    throw new IntegrityError(
      `the run's labels are missing at ${ctx.work.uri}/${key}; run the job again from the start`,
      {
        source: `${ctx.work.uri}/${key}`,
      },
    );
  }
  return decodeLabelChunk(bytes);
}

/** Stores the features under a region's windows as the region's chunk; returns its key and theirs. */
export async function writeRegionLabels(
  ctx: StepContext,
  runId: string,
  regionId: string,
  index: LabelIndex,
  extent: Bounds,
): Promise<{ key: string; features: number[] }> {
  const key = WorkFiles.regionLabels.key(runId, regionId);
  const features = index.search(extent);
  // Points and lines travel as they are (a line's footprint is hundreds of trapezoids): the region
  // builds their footprints again when it loads them (loadRegionLabels), to the same bits.
  const stored = features.map((f) => (f.shape ? { ...f, polygons: [] } : f));
  await writeWorkBytes(ctx.work, WorkFiles.regionLabels, key, encodeLabelChunk(stored));
  return { key, features: features.map((f) => f.index) };
}

/** The run's label summary (class table, counts), written by PrepareLabels. */
export async function loadLabelSummary(ctx: StepContext, runId: string): Promise<LabelSummary> {
  return requireWork(ctx.work, WorkFiles.labelsSummary, WorkFiles.labelsSummary.key(runId));
}

/** A region's chunk, indexed for per-window lookups; points and lines get their footprints. */
export async function loadRegionLabels(
  ctx: StepContext,
  key: string,
  geometry: GeometrySpec & { source?: string } = {},
): Promise<LabelIndex> {
  const bytes = await readWorkBytes(ctx.work, WorkFiles.regionLabels, key);
  if (bytes === undefined) {
    throw new IntegrityError(`the region's labels are missing at ${ctx.work.uri}/${key}; run the job again`, {
      source: `${ctx.work.uri}/${key}`,
    });
  }
  const source = geometry.source ?? key;
  return LabelIndex.build(
    decodeLabelChunk(bytes).map((f) => (f.shape ? footprintOf(f, geometry, source) : f)),
  );
}

function describeCounts(counts: Record<string, number>): string {
  return (
    Object.entries(counts)
      .map(([k, n]) => `${k}: ${n}`)
      .join(', ') || 'no features'
  );
}

/** The bytes of a local path or a file:// or s3:// URI, through the blob store of its folder. */
async function readSourceBytes(
  ctx: StepContext,
  source: string,
  field = 'labels.source',
  pointer = '/labels/source',
): Promise<Uint8Array> {
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
      `${field} "${source}" must be an absolute path, a file:// or an s3:// URI (the CLI resolves relative paths against the job file)`,
      { pointer },
    );
  }
  let store: BlobStore;
  let bytes: Uint8Array | undefined;
  try {
    store = ctx.openStore(folder);
    bytes = await store.get(name);
  } catch (error) {
    // A deployed run refuses local files: say so about the field the user wrote.
    if (!(error instanceof InputRefusedError)) throw error;
    throw new InputRefusedError(
      `${field} ${source}: ${error.message.replace(/^storage \S+: /, '')}`,
      { source, pointer },
      { cause: error },
    );
  }
  if (bytes === undefined) {
    // A folder (or an S3 prefix) is not a label file: say so, and what is in it.
    const inside = await store.list(`${name}/`).catch(() => [] as string[]);
    if (inside.length > 0) {
      const shown = inside.slice(0, 5).map((k) => k.slice(name.length + 1));
      throw new InvalidInputError(
        `${field} ${source} is a folder (holding ${inside.length} file(s): ${shown.join(', ')}${inside.length > 5 ? ', ...' : ''}); name one ${field === 'labels.source' ? 'label file in it (GeoJSON, FlatGeobuf or CSV)' : 'file in it'}`,
        { source, pointer },
      );
    }
    throw new InvalidInputError(`${field} ${source} does not exist; check the path`, {
      source,
      pointer,
    });
  }
  return bytes;
}
