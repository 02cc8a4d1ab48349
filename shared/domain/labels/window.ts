// The label members of one window: the region's polygons (its own chunk, loaded once per region by
// work/labels-store.ts) rasterized on the window's label grid, in the styles the job asks for.
import type { Bounds } from '../crs.ts';
import type { labelMembers } from '../dataset-layout.ts';
import { IntegrityError } from '../errors.ts';
import type { JobSpec, LabelOutput } from '../job-spec.ts';
import { encodeNpy } from '../npy.ts';
import type { ShardSample } from '../shard.ts';
import { featureTouches } from './accounting.ts';
import { buildingMasks } from './buildings.ts';
import { fixedClassLookup, type LabelCoding, trainingIds } from './class-table.ts';
import type { ClassEntry } from './classes.ts';
import { classIdLookup } from './classes.ts';
import { rasterizeDense } from './dense.ts';
import type { LabelIndex } from './index.ts';
import { multiLabel } from './multilabel.ts';
import { rasterizeRegression } from './regression.ts';
import type { BurnFeature, PixelGrid } from './types.ts';
import { vectorObjects } from './vector.ts';
import { windowClass } from './window-class.ts';

/** Label outputs that say, pixel by pixel, which feature is there. */
const PIXEL_MEMBERS = ['labels', 'instances', 'coverage', 'double', 'buildings'] as const;
export type RegionLabels = {
  readonly index: LabelIndex;
  /** Feature position → the feature ready to burn (class id from the table, instance id). */
  readonly burn: ReadonlyMap<number, BurnFeature>;
  readonly classIds: readonly number[];
  /** Training index i is the id trainingIds[i] (the index a `.cls` member holds). */
  readonly trainingIds: readonly number[];
  /** Regression jobs: feature position → its value; null for class jobs. */
  readonly values: ReadonlyMap<number, number> | null;
  readonly background: number;
  /** The id of ignored pixels (fixed class tables), null otherwise. */
  readonly ignoreIndex: number | null;
  readonly outputs: ReadonlySet<LabelOutput>;
  readonly resolution: number;
  readonly size: number;
  readonly job: NonNullable<JobSpec['labels']>;
};

export type WindowLabels = {
  readonly members: ShardSample['members'];
  readonly meta: Record<string, unknown>;
  /** Share of the window's label pixels covered by polygons (each pixel's winning coverage). */
  readonly labelledFraction: number;
  /** Id → label pixels of that id in `.labels.npy`, the background included. */
  readonly classPixels: ReadonlyMap<number, number>;
  /** Feature indices whose bounding box meets the window, and those that own a label pixel in it. */
  readonly near: readonly number[];
  readonly inSample: readonly number[];
  /** Regression jobs: the window's regression.npy values (NaN where none), for the statistics. */
  readonly regression: Float32Array | null;
};

/**
 * The polygons under a region's windows ready to burn: class ids from the run's class table, instance
 * ids = feature position + 1 (0 stays "none"; the sample .json maps them back to feature ids).
 */
export function regionLabels(
  index: LabelIndex,
  table: { classes: readonly ClassEntry[]; coding: LabelCoding },
  job: NonNullable<JobSpec['labels']>,
  grid: { resolution: number; size: number },
): RegionLabels {
  const { classes, coding } = table;
  const regression = job.target === 'regression';
  // A regression job has no classes: every feature is burnt with one id (never written), which
  // decides which feature owns a pixel for the instances and the accounting only.
  const lookup = regression
    ? () => coding.background + 1
    : coding.origin === 'derived'
      ? classIdLookup(classes)
      : fixedClassLookup(classes, coding);
  const burn = new Map<number, BurnFeature>();
  const values = regression ? new Map<number, number>() : null;
  for (const f of index.search([-Infinity, -Infinity, Infinity, Infinity])) {
    values?.set(f.index, f.classValue as number);
    const classId = lookup(f.classValue);
    if (classId === undefined) {
      throw new IntegrityError(
        `feature ${f.index} of ${job.source} has class ${JSON.stringify(f.classValue)}, which is not in the run's class table; the stored labels are inconsistent: delete the run's work folder and run again`,
        { source: job.source },
      );
    }
    burn.set(f.index, { classId, instanceId: f.index + 1, polygons: f.polygons });
  }
  return {
    index,
    burn,
    classIds: classes.map((c) => c.id),
    trainingIds: trainingIds(classes, coding),
    values,
    background: coding.background,
    ignoreIndex: coding.ignoreIndex,
    outputs: new Set(job.outputs),
    resolution: grid.resolution,
    size: grid.size,
    job,
  };
}

export function labelWindow(rl: RegionLabels, bounds: Bounds): WindowLabels {
  const grid: PixelGrid = {
    originX: bounds[0],
    originY: bounds[3],
    pixelSize: rl.resolution,
    width: rl.size,
    height: rl.size,
  };
  const near = rl.index.search(bounds);
  // Points kept only as vectors have no polygon: nothing to burn.
  const features = near.filter((f) => f.polygons.length > 0).map((f) => rl.burn.get(f.index) as BurnFeature);
  const dense = rasterizeDense(features, grid, rl.background);
  const shape = [rl.size, rl.size];
  const members: ShardSample['members'] = [];
  if (rl.outputs.has('labels')) members.push({ name: 'labels.npy', data: encodeNpy(dense.labels, shape) });
  if (rl.outputs.has('instances'))
    members.push({ name: 'instances.npy', data: encodeNpy(dense.instances, shape) });
  // Regression: the weighted mean, and beside it the share of each pixel it was taken over.
  const reg = rl.values
    ? rasterizeRegression(
        near.map((f) => ({ value: rl.values?.get(f.index) as number, polygons: f.polygons })),
        grid,
      )
    : null;
  if (reg && rl.outputs.has('regression'))
    members.push({
      name: 'regression.npy' satisfies keyof typeof labelMembers,
      data: encodeNpy(reg.value, shape),
    });
  if (rl.outputs.has('coverage'))
    members.push({ name: 'coverage.npy', data: encodeNpy(reg ? reg.coverage : dense.coverage, shape) });
  if (rl.outputs.has('double')) members.push({ name: 'double.npy', data: encodeNpy(dense.double, shape) });
  if (rl.outputs.has('buildings')) {
    const masks = buildingMasks(features, grid, rl.job.buildings);
    const n = rl.size * rl.size;
    const stacked = new Uint8Array(3 * n);
    stacked.set(masks.footprint, 0);
    stacked.set(masks.boundary, n);
    stacked.set(masks.contact, 2 * n);
    members.push({ name: 'buildings.npy', data: encodeNpy(stacked, [3, rl.size, rl.size]) });
    members.push({ name: 'distance.npy', data: encodeNpy(masks.distance, shape) });
  }
  const pixels = rl.size * rl.size;
  const multi = multiLabel(dense.classArea, pixels, rl.classIds, rl.job.multilabel.minFraction);
  if (rl.outputs.has('multilabel'))
    members.push({ name: 'multilabel.npy', data: encodeNpy(multi.multiHot, [rl.classIds.length]) });
  // The class covering most of the window (WebDataset .cls: its training index as ASCII decimal);
  // no member when no class covers any of it.
  const top = reg ? null : windowClass(dense.classArea, rl.classIds);
  const cls = top ? rl.trainingIds.indexOf(top.id) : null;
  if (cls !== null && rl.outputs.has('cls'))
    members.push({
      name: 'cls' satisfies keyof typeof labelMembers,
      data: new TextEncoder().encode(String(cls)),
    });
  // Every feature meeting the window, in label-grid pixel coordinates (vector.ts).
  const meeting = rl.outputs.has('vector') ? near.filter((f) => featureTouches(f, bounds)) : [];
  const inVector = new Set(meeting.map((f) => f.index));
  if (rl.outputs.has('vector')) {
    const doc = vectorObjects(meeting, grid, (i) => (rl.burn.get(i) as BurnFeature).classId);
    members.push({ name: 'vector.json', data: new TextEncoder().encode(JSON.stringify(doc)) });
  }

  // One pass over the pixels: label pixels per class, the instances that own a pixel, and the
  // labelled share (the winning polygons' coverage: overlaps do not count twice).
  const classPixels = new Map<number, number>();
  const present = new Set<number>();
  let covered = 0;
  for (let p = 0; p < pixels; p++) {
    const id = dense.labels[p] as number;
    classPixels.set(id, (classPixels.get(id) ?? 0) + 1);
    const instance = dense.instances[p] as number;
    if (instance !== 0) present.add(instance);
    covered += dense.coverage[p] as number;
  }
  // Only window-level members (multi-label, .cls): no pixel says which feature it belongs to.
  const windowTargetsOnly = !PIXEL_MEMBERS.some((m) => rl.outputs.has(m));
  const multiPresent = new Set(multi.present);
  const instances: Record<string, string | number | null> = {};
  for (const f of near) if (present.has(f.index + 1)) instances[String(f.index + 1)] = f.id;
  const labelledFraction = covered / pixels;
  const common = {
    members,
    labelledFraction,
    near: near.map((f) => f.index),
    // A regression feature is in the sample wherever its value enters the mean (some pixel's
    // area), even where another feature owns every pixel it meets.
    inSample: reg
      ? near.filter((_, k) => reg.met[k]).map((f) => f.index)
      : // Owns a label pixel, or (points kept only as vectors) is in its vector.json, or (a job
        // whose labels are per window: multilabel or cls, no per-pixel member) meets the window
        // with a class the window's multi-label holds.
        near
          .filter(
            (f) =>
              present.has(f.index + 1) ||
              (f.polygons.length === 0 && inVector.has(f.index)) ||
              (windowTargetsOnly &&
                multiPresent.has((rl.burn.get(f.index) as BurnFeature).classId) &&
                featureTouches(f, bounds)),
          )
          .map((f) => f.index),
  };
  if (reg) {
    return {
      ...common,
      classPixels: new Map(),
      regression: reg.value,
      meta: {
        resolution: rl.resolution,
        size: rl.size,
        labelledFraction: Math.round(labelledFraction * 1e6) / 1e6,
        regression: regressionMeta(reg.value),
        instances,
        doublyAssigned: countNonZero(dense.double),
      },
    };
  }
  return {
    ...common,
    classPixels,
    regression: null,
    meta: {
      resolution: rl.resolution,
      size: rl.size,
      background: rl.background,
      ...(rl.ignoreIndex !== null ? { ignoreIndex: rl.ignoreIndex } : {}),
      labelledFraction: Math.round(labelledFraction * 1e6) / 1e6,
      // The classes present: not the background, not ignored pixels.
      classes: [...classPixels.keys()]
        .filter((id) => id !== rl.background && id !== rl.ignoreIndex)
        .sort((a, b) => a - b),
      multilabel: multi.present,
      ...(rl.outputs.has('cls') ? { cls, clsId: top?.id ?? null } : {}),
      instances,
      doublyAssigned: countNonZero(dense.double),
    },
  };
}

function countNonZero(a: Uint8Array): number {
  let n = 0;
  for (const v of a) if (v !== 0) n++;
  return n;
}

/** The sample's regression values in its .json: pixels with a value, their least, greatest and mean. */
function regressionMeta(value: Float32Array): Record<string, number | null> {
  let pixels = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of value) {
    if (Number.isNaN(v)) continue;
    pixels++;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return pixels === 0
    ? { pixels, min: null, max: null, mean: null }
    : { pixels, min, max, mean: sum / pixels };
}
