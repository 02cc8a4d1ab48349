// The plan a run writes to its work store: per tile the grid, bands, dates and COG indexes; per
// region its windows and shard paths. Region workers need nothing else, and never read headers.
import type { CogInfo } from './cog-types.ts';
import type { TileGrid } from './grid.ts';
import type { Split } from './splits.ts';

export type BandMeta = {
  name: string;
  resolution: number;
  scale: number;
  offset: number;
  nodata: number | null;
  dataType: string;
};

/** Bands sharing a native resolution; written together as `<key>.<name>.npy` [T, C, H, W]. */
export type BandGroup = { name: string; resolution: number; bands: string[] };

export type PlannedProduct = {
  id: string;
  collection: string;
  datetime: string;
  /** Asset key → COG header facts (the `scl` asset included when clouds use SCL). */
  cogs: Record<string, CogInfo>;
};

export type TilePlan = {
  runId: string;
  tile: string;
  grid: TileGrid;
  bands: BandMeta[];
  groups: BandGroup[];
  /** Asset key of the scene classification layer, when clouds are masked with it. */
  scl: string | null;
  products: PlannedProduct[];
  /** The label grid of a window: pixel size (the finest band's or 1/k of it) and side in pixels. */
  labels: { resolution: number; size: number } | null;
};

export type PlannedWindow = { row: number; col: number; split: Split };

export type RegionPlan = {
  runId: string;
  regionId: string;
  tile: string;
  tilePlanKey: string;
  windows: PlannedWindow[];
  /** Dataset-relative shard path per split present in this region. */
  shards: Partial<Record<Split, string>>;
  /** Work-store key of the label features under this region's windows (jobs with labels). */
  labelsKey: string | null;
};

export type RegionResult = {
  regionId: string;
  planned: number;
  written: number;
  rejected: number;
  shards: Array<{ path: string; split: Split; bytes: number; sha256: string; samples: number }>;
  /** Per band (and per group of the same name) mergeable statistics, see band-stats.ts. */
  stats: Record<string, unknown>;
  bytesFetched: number;
  requests: number;
  tilesNeeded: number;
  bytesNeeded: number;
  /** Split → class id → label pixels and samples containing the class (jobs with labels only). */
  classes?: Partial<Record<Split, Record<string, { pixels: number; samples: number }>>>;
};

/** Group name from a pixel size: 10 → "10m", 0.5 → "0p5m" (keys and member names have no dots). */
export function groupName(resolution: number): string {
  const r = Math.round(resolution * 1000) / 1000;
  return `${String(r).replace('.', 'p')}m`;
}

export const workKeys = {
  job: (runId: string) => `runs/${runId}/job.json`,
  catalogPage: (runId: string, n: number) => `runs/${runId}/catalog/page-${String(n).padStart(6, '0')}.json`,
  selection: (runId: string) => `runs/${runId}/selection.json`,
  /** The run's offline products, one OrderItem a line: the OrderProducts map reads it. */
  orders: (runId: string) => `runs/${runId}/orders.jsonl`,
  tilePlan: (runId: string, tile: string) => `runs/${runId}/tiles/${tile}.json`,
  region: (runId: string, regionId: string) => `runs/${runId}/regions/${regionId}.json`,
  regions: (runId: string) => `runs/${runId}/regions.jsonl`,
  windowsSummary: (runId: string) => `runs/${runId}/windows.json`,
  result: (runId: string, regionId: string) => `runs/${runId}/results/${regionId}.json`,
  resultsPrefix: (runId: string) => `runs/${runId}/results/`,
  rejects: (runId: string, regionId: string) => `runs/${runId}/rejects/${regionId}.jsonl`,
  rejectsPrefix: (runId: string) => `runs/${runId}/rejects/`,
  failure: (runId: string) => `runs/${runId}/failure.json`,
} as const;

export const datasetKeys = {
  manifest: 'manifest.json',
  selection: 'selection.json',
  rejects: 'rejects.jsonl',
  shard: (name: string, split: Split, index: number) =>
    `${split}/${name}-${split}-${String(index).padStart(6, '0')}.tar`,
} as const;
