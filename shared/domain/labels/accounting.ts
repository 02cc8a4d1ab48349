// Where every kept label feature went: into a sample (it owns at least one label pixel there, so it
// is in the sample's instance map) or, with a reason, into the label log. A region reports the
// features of its chunk that no written window gave a pixel; Commit merges the regions and the
// features that reached no region, and checks that kept = in samples + logged.
import { z } from 'zod';
import type { Bounds } from '../crs.ts';
import { IntegrityError } from '../errors.ts';
import { polygonCoverage } from './coverage.ts';
import { rasterizeDense } from './dense.ts';
import type { BurnFeature, LabelFeature, LabelLogEntry, PolygonRings } from './types.ts';

/** Why a kept feature is in no sample. */
export const UnsampledReasonSchema = z.enum([
  /** Its label pixels are all won by other features, or it is smaller than a pixel's share. */
  'no-label-pixel',
  /** It meets only windows that were rejected (edge, clouds, no data, too few labels). */
  'only-in-rejected-windows',
  /** It lies within a region but meets no planned window (between windows, or an alignment margin). */
  'no-window',
  /** It lies outside the imagery of every selected tile. */
  'outside-imagery',
]);
export type UnsampledReason = z.infer<typeof UnsampledReasonSchema>;

/** Precedence when regions disagree about one feature: the nearest miss wins. */
const PRECEDENCE: readonly UnsampledReason[] = [
  'no-label-pixel',
  'only-in-rejected-windows',
  'no-window',
  'outside-imagery',
];

export const UnsampledFeatureSchema = z.strictObject({
  index: z.int().min(0),
  id: z.union([z.string(), z.number()]).nullable(),
  reason: UnsampledReasonSchema,
  /** no-label-pixel: the finest label pixel (1/k of the job's) at which it would own a pixel, if any up to 1/8. */
  keptAt: z.number().positive().nullable().optional(),
  /** only-in-rejected-windows: the reasons of those windows. */
  windowReasons: z.array(z.string()).optional(),
});
export type UnsampledFeature = z.infer<typeof UnsampledFeatureSchema>;

/** A region's account of the features of its chunk. */
export const RegionFeatureAccountSchema = z.strictObject({
  /** Feature indices that own a label pixel in a written sample of this region. */
  inSamples: z.array(z.int().min(0)),
  /** The others, each with why. */
  unsampled: z.array(UnsampledFeatureSchema),
});
export type RegionFeatureAccount = z.infer<typeof RegionFeatureAccountSchema>;

/** One window of a region as the account sees it. */
export type AccountWindow = {
  readonly bounds: Bounds;
  /** The reject reason, or null for a written sample. */
  readonly reason: string | null;
  /** Feature indices whose bounding box meets the window (the index's answer). */
  readonly near: readonly number[];
  /** Written samples: feature indices that own a label pixel (its instance map). */
  readonly inSample?: readonly number[];
};

/**
 * Whether a feature meets a square box: its polygons (footprints included) cover a positive area of
 * it (exact, not a bounding box test); for points kept only as vectors, a point lies in the box
 * (edges included).
 */
export function featureTouches(f: LabelFeature, bounds: Bounds): boolean {
  if (f.polygons.length > 0 || !f.shape) return touches(f.polygons, bounds);
  return f.shape.parts.some((part) => {
    for (let i = 0; i + 1 < part.length; i += 2) {
      const x = part[i] as number;
      const y = part[i + 1] as number;
      if (x >= bounds[0] && x <= bounds[2] && y >= bounds[1] && y <= bounds[3]) return true;
    }
    return false;
  });
}

/** Whether polygons cover a positive area of a square box (exact, not a bounding box test). */
export function touches(polygons: readonly PolygonRings[], bounds: Bounds): boolean {
  // One pixel the size of the box: its coverage is the share of the box the polygons cover.
  const grid = {
    originX: bounds[0],
    originY: bounds[3],
    pixelSize: bounds[2] - bounds[0],
    width: 1,
    height: 1,
  };
  return (polygonCoverage(polygons, grid)?.fractions[0] ?? 0) > 0;
}

export type AccountOptions = {
  /** Label pixel size and window side in label pixels. */
  readonly resolution: number;
  readonly size: number;
  readonly background: number;
  /** Features near a box (the region's index). */
  readonly near: (bounds: Bounds) => readonly LabelFeature[];
  readonly burn: ReadonlyMap<number, BurnFeature>;
};

/**
 * Accounts for every feature of a region's chunk. A feature in no written sample is `no-label-pixel`
 * when it meets a written window (then the finest of resolution/2 .. resolution/8 at which it would
 * own a pixel there is given), else `only-in-rejected-windows` when it meets rejected ones, else
 * `no-window`.
 */
export function accountRegionFeatures(
  features: readonly LabelFeature[],
  windows: readonly AccountWindow[],
  options: AccountOptions,
): RegionFeatureAccount {
  const inSamples = new Set<number>();
  for (const w of windows) for (const i of w.inSample ?? []) inSamples.add(i);
  // Feature → the windows its bounding box meets: only those are tested exactly.
  const candidates = new Map<number, AccountWindow[]>();
  for (const w of windows) {
    for (const i of w.near) {
      if (inSamples.has(i)) continue;
      const list = candidates.get(i);
      if (list) list.push(w);
      else candidates.set(i, [w]);
    }
  }
  const unsampled: UnsampledFeature[] = [];
  for (const f of features) {
    if (inSamples.has(f.index)) continue;
    const met = (candidates.get(f.index) ?? []).filter((w) => featureTouches(f, w.bounds));
    const written = met.filter((w) => w.reason === null);
    if (written.length > 0) {
      unsampled.push({
        index: f.index,
        id: f.id,
        reason: 'no-label-pixel',
        keptAt: finerResolution(f, written, options),
      });
    } else if (met.length > 0) {
      const reasons = [...new Set(met.map((w) => w.reason as string))].sort();
      unsampled.push({
        index: f.index,
        id: f.id,
        reason: 'only-in-rejected-windows',
        windowReasons: reasons,
      });
    } else {
      unsampled.push({ index: f.index, id: f.id, reason: 'no-window' });
    }
  }
  return { inSamples: [...inSamples].sort((a, b) => a - b), unsampled };
}

/**
 * The coarsest label pixel finer than the job's (resolution/2 .. /8) at which the feature owns a
 * pixel in one of the windows it meets; null when none up to /8. Only the feature's box within the
 * window is rasterized, with the features near it (its competitors).
 */
function finerResolution(
  f: LabelFeature,
  written: readonly AccountWindow[],
  o: AccountOptions,
): number | null {
  const me = o.burn.get(f.index);
  if (!me) return null;
  for (let k = 2; k <= 8; k++) {
    const px = o.resolution / k;
    for (const w of written) {
      const fb = boundsOfPolygons(f.polygons);
      // The feature's box clipped to the window, snapped outward to the finer grid of the window.
      const c0 = Math.max(0, Math.floor((fb[0] - w.bounds[0]) / px));
      const c1 = Math.min(o.size * k, Math.ceil((fb[2] - w.bounds[0]) / px));
      const r0 = Math.max(0, Math.floor((w.bounds[3] - fb[3]) / px));
      const r1 = Math.min(o.size * k, Math.ceil((w.bounds[3] - fb[1]) / px));
      if (c1 <= c0 || r1 <= r0) continue;
      const grid = {
        originX: w.bounds[0] + c0 * px,
        originY: w.bounds[3] - r0 * px,
        pixelSize: px,
        width: c1 - c0,
        height: r1 - r0,
      };
      const box: Bounds = [
        grid.originX,
        grid.originY - grid.height * px,
        grid.originX + grid.width * px,
        grid.originY,
      ];
      const rivals = o.near(box).flatMap((g) => o.burn.get(g.index) ?? []);
      const dense = rasterizeDense(rivals, grid, o.background);
      if (dense.instances.includes(me.instanceId)) return px;
    }
  }
  return null;
}

function boundsOfPolygons(polygons: readonly PolygonRings[]): Bounds {
  const b: Bounds = [Infinity, Infinity, -Infinity, -Infinity];
  for (const p of polygons) {
    const ring = p.rings[0];
    if (!ring) continue;
    for (let i = 0; i < ring.length; i += 2) {
      const x = ring[i] as number;
      const y = ring[i + 1] as number;
      if (x < b[0]) b[0] = x;
      if (y < b[1]) b[1] = y;
      if (x > b[2]) b[2] = x;
      if (y > b[3]) b[3] = y;
    }
  }
  return b;
}

export type FeatureAccounting = {
  readonly kept: number;
  readonly inSamples: number;
  readonly unsampled: Record<string, number>;
  /** One log entry per kept feature in no sample, by feature index. */
  readonly entries: LabelLogEntry[];
};

/**
 * Merges the regions' accounts and the features that reached no region (`unplaced`, each with
 * outside-imagery or no-window). A feature in a sample anywhere is in samples; otherwise it takes
 * the nearest miss any region saw. Throws when the books do not balance.
 */
export function mergeFeatureAccounts(
  kept: number,
  regions: readonly RegionFeatureAccount[],
  unplaced: readonly UnsampledFeature[],
): FeatureAccounting {
  const inSamples = new Set<number>();
  for (const r of regions) for (const i of r.inSamples) inSamples.add(i);
  const misses = new Map<number, UnsampledFeature>();
  const consider = (u: UnsampledFeature) => {
    if (inSamples.has(u.index)) return;
    const prior = misses.get(u.index);
    if (!prior || PRECEDENCE.indexOf(u.reason) < PRECEDENCE.indexOf(prior.reason)) misses.set(u.index, u);
    else if (prior.reason === u.reason && u.reason === 'no-label-pixel') {
      // The finer resolution that keeps it anywhere: the coarsest found.
      const a = prior.keptAt ?? 0;
      const b = u.keptAt ?? 0;
      if (b > a) misses.set(u.index, u);
    }
  };
  for (const r of regions) for (const u of r.unsampled) consider(u);
  for (const u of unplaced) consider(u);
  const sorted = [...misses.values()].sort((a, b) => a.index - b.index);
  const unsampled: Record<string, number> = {};
  for (const u of sorted) unsampled[u.reason] = (unsampled[u.reason] ?? 0) + 1;
  if (inSamples.size + sorted.length !== kept) {
    throw new IntegrityError(
      `label accounting does not add up: ${kept} features kept, ${inSamples.size} in samples + ${sorted.length} logged; run the job again from the start`,
      {},
    );
  }
  return {
    kept,
    inSamples: inSamples.size,
    unsampled: Object.fromEntries(Object.entries(unsampled).sort(([a], [b]) => a.localeCompare(b))),
    entries: sorted.map(logEntryOf),
  };
}

function logEntryOf(u: UnsampledFeature): LabelLogEntry {
  const detail = {
    'no-label-pixel':
      u.keptAt != null
        ? `every label pixel it meets is won by another feature or by background at this resolution; at ${round(u.keptAt)} m label pixels (labels.resolution) it would own one`
        : 'every label pixel it meets is won by another feature or by background, even at 1/8 of the label pixel',
    'only-in-rejected-windows': `it meets only rejected windows (${(u.windowReasons ?? []).join(', ')}; see rejects.jsonl)`,
    'no-window': 'it meets no planned window (between windows, or in the margin left to align the grid)',
    'outside-imagery': 'it lies outside the imagery of every selected tile',
  }[u.reason];
  return { index: u.index, id: u.id, problem: u.reason, detail, action: 'unsampled' };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
