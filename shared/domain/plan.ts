// The plan a run writes to its work store: per tile the grid, bands, dates and COG indexes; per
// region its windows; per region its result. Region workers need nothing else, and
// never read headers. Each shape is a zod schema: work files are parsed, never cast.
import { z } from 'zod';
import { SparseHistogramSchema } from './band-stats.ts';
import { CogInfoSchema } from './cog-types.ts';
import { FetchedRangesSchema } from './fetched-ranges.ts';
import { TileGridSchema } from './grid.ts';
import { RegionFeatureAccountSchema } from './labels/accounting.ts';
import { RegressionSummarySchema } from './labels/regression.ts';
import { OutputGridSchema } from './output-grid.ts';
import { ItemRadiometrySchema } from './radiometry.ts';
import { RegionShardSchema } from './reshard.ts';
import { SPLITS } from './splits.ts';

const count = z.int().min(0);

export const SplitSchema = z.enum(SPLITS);

/** A band's facts shared by every date; scale and offset are per date (products[].radiometry). */
export const BandMetaSchema = z.strictObject({
  name: z.string().min(1),
  resolution: z.number().positive(),
  nodata: z.number().nullable(),
  dataType: z.string(),
});
export type BandMeta = z.infer<typeof BandMetaSchema>;

/** Bands sharing a native resolution; written together as `<key>.<name>.npy` [T, C, H, W]. */
export const BandGroupSchema = z.strictObject({
  name: z.string().min(1),
  resolution: z.number().positive(),
  bands: z.array(z.string().min(1)).min(1),
});
export type BandGroup = z.infer<typeof BandGroupSchema>;

export const PlannedProductSchema = z.strictObject({
  id: z.string().min(1),
  collection: z.string(),
  datetime: z.string(),
  /** Asset key → COG header facts (the `scl` asset included when clouds use SCL). */
  cogs: z.record(z.string(), CogInfoSchema),
  /** Per band: declared and effective scale/offset, DN added when harmonized; the probe's verdict. */
  radiometry: ItemRadiometrySchema,
});
export type PlannedProduct = z.infer<typeof PlannedProductSchema>;

/** A second source (job `sources`) on one tile: its bands and, per date, each band's COG. */
export const SecondaryPlanSchema = z.strictObject({
  name: z.string().min(1),
  /** Its pixel size (the tile grid's when it has no date on this tile). */
  resolution: z.number().positive(),
  bands: z.array(BandMetaSchema).min(1),
  products: z.array(
    z.strictObject({
      id: z.string().min(1),
      collection: z.string(),
      datetime: z.string(),
      cogs: z.record(z.string(), CogInfoSchema),
    }),
  ),
  /** Set when some band is off the tile's window grid: it is warped onto each window with this. */
  warp: z.enum(['nearest', 'bilinear', 'cubic', 'average']).optional(),
});
export type SecondaryPlan = z.infer<typeof SecondaryPlanSchema>;

export const TilePlanSchema = z.strictObject({
  runId: z.string(),
  tile: z.string().min(1),
  grid: TileGridSchema,
  bands: z.array(BandMetaSchema).min(1),
  groups: z.array(BandGroupSchema).min(1),
  /** Asset key of the scene classification layer, when clouds are masked with it. */
  scl: z.string().nullable(),
  products: z.array(PlannedProductSchema).min(1),
  /** The label grid of a window: pixel size (the finest band's or 1/k of it) and side in pixels. */
  labels: z.strictObject({ resolution: z.number().positive(), size: z.int().min(1) }).nullable(),
  /**
   * A non-native output grid (job `grid`): then `grid` is that grid (this tile plans the windows of
   * it that it owns) and every band is warped onto it; absent on the native UTM tile grid.
   */
  output: OutputGridSchema.optional(),
  /** Second sources, in the job's order (absent: none). */
  secondary: z.array(SecondaryPlanSchema).optional(),
});
export type TilePlan = z.infer<typeof TilePlanSchema>;

export const PlannedWindowSchema = z.strictObject({
  row: z.int().min(0),
  col: z.int().min(0),
  split: SplitSchema,
  /** Rejected by the plan itself, before any read: too near a window of another split. */
  planReject: z.literal('split-buffer').optional(),
});
export type PlannedWindow = z.infer<typeof PlannedWindowSchema>;

export const RegionPlanSchema = z.strictObject({
  runId: z.string(),
  regionId: z.string().min(1),
  tile: z.string().min(1),
  tilePlanKey: z.string().min(1),
  windows: z.array(PlannedWindowSchema),
  /** Work-store key of the label features under this region's windows (jobs with labels). */
  labelsKey: z.string().nullable(),
});
export type RegionPlan = z.infer<typeof RegionPlanSchema>;

export const ShardRecordSchema = z.strictObject({
  path: z.string().min(1),
  split: SplitSchema,
  bytes: count,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  samples: count,
});
export type ShardRecord = z.infer<typeof ShardRecordSchema>;

/** Label pixels of a class, and samples containing it. */
const ClassFrequencySchema = z.strictObject({ pixels: count, samples: count });

export const RegionResultSchema = z.strictObject({
  regionId: z.string().min(1),
  planned: count,
  written: count,
  rejected: count,
  /** Reject reason → windows (they add up to `rejected`). */
  rejectedByReason: z.record(z.string(), count),
  /** One region shard (a work file) per split present; PlanShards deals their samples out. */
  shards: z.array(RegionShardSchema),
  /**
   * Per band, the histogram of the pixels of this region's train samples that count for the
   * statistics (window-stats.ts says which), sparse (band-stats.ts); Commit adds them up.
   */
  stats: z.record(z.string(), SparseHistogramSchema),
  /** COG tile bytes this region fetched (headers are read by PlanWindows, not here). */
  bytesFetched: count,
  requests: count,
  tilesNeeded: count,
  bytesNeeded: count,
  /** The byte ranges behind bytesFetched, merged per URL: Commit unites them into distinct bytes. */
  fetched: FetchedRangesSchema,
  /** Split → class id → label pixels and samples containing the class (jobs with labels only). */
  classes: z.partialRecord(SplitSchema, z.record(z.string(), ClassFrequencySchema)).optional(),
  /** Split → the values of the region's regression.npy pixels (regression jobs only). */
  regression: z.partialRecord(SplitSchema, RegressionSummarySchema).optional(),
  /** Where the region's label features went (jobs with labels only). */
  labelFeatures: RegionFeatureAccountSchema.optional(),
});
export type RegionResult = z.infer<typeof RegionResultSchema>;

/** Group name from a pixel size: 10 → "10m", 0.5 → "0p5m" (keys and member names have no dots). */
export function groupName(resolution: number): string {
  const r = Math.round(resolution * 1000) / 1000;
  return `${String(r).replace('.', 'p')}m`;
}
