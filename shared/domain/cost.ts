// What a run costs on AWS: a pure model from a plan's counts (regions, dates, COG tiles and bytes
// to fetch, shards) and unit prices. The prices and every assumption live here, in one place, with
// their date and source; scripts/cost-table.ts prints the README's table from them.

/**
 * AWS on-demand list prices for us-west-2 (where Earth Search's sentinel-cogs bucket is; us-east-1
 * is the same), from aws.amazon.com/{lambda,s3,step-functions}/pricing and the EC2 data transfer
 * page. Written down 2026-12 from those pages as last read, not fetched live: check before quoting.
 * Distributed Map: one transition per child execution started, plus the child's own transitions
 * (docs.aws.amazon.com/step-functions/latest/dg/concepts-transitions.html).
 */
export const PRICES = {
  asOf: 'AWS on-demand list prices, us-west-2, as written down 2026-12 (shared/domain/cost.ts)',
  /** Lambda arm64, first 6 billion GB-s a month. */
  lambdaArmGbSecond: 0.000_013_333_4,
  lambdaRequest: 0.2 / 1e6,
  /** S3 Standard GET/HEAD and PUT/COPY/POST/LIST requests. */
  s3Get: 0.4 / 1e6,
  s3Put: 5 / 1e6,
  s3StorageGbMonth: 0.023,
  /** Step Functions Standard; Distributed Map children of a Standard map are billed the same way. */
  sfnTransition: 0.025 / 1e3,
  /** Between AWS regions (only when the stack is not in the COGs' region). */
  interRegionGb: 0.02,
} as const;
export type Prices = {
  readonly [K in keyof typeof PRICES]: (typeof PRICES)[K] extends string ? string : number;
};

/** The counts of one planned run that drive its cost (a PlanWindows summary plus COG facts). */
export type CostPlan = {
  tiles: number;
  dates: number;
  /** Bands read per date, the cloud mask (SCL) included. */
  assets: number;
  windows: number;
  regions: number;
  /** Range GETs to the COGs (adjacent tiles merged), all regions, bands and dates. */
  cogRequests: number;
  /** Stored (compressed) bytes of the COG tiles the regions need. */
  bytesFetched: number;
  /** Decoded bytes of those tiles: what the decoder works through. */
  bytesDecoded: number;
  /** Bytes of the samples written (uncompressed .npy in tar). */
  bytesWritten: number;
  shards: number;
};

export type CostAssumptions = {
  /**
   * Everything ExtractRegion, WriteShard and Commit do per byte of sample arrays written (range
   * reads served locally, decode, cut, statistics, .npy and tar, resharding), MB per CPU second:
   * measured by the full-tile bench (bench/measured/full-tile.json), not assumed.
   */
  processMBps: number;
  /** S3 range-read throughput of one Lambda, MB/s; reading and decoding are counted one after the other. */
  fetchMBps: number;
  /** Fixed cost of a region: read its plan, write shards and result. */
  regionOverheadSeconds: number;
  extractMemoryMb: number;
  regionsPerBatch: number;
  /** Plan, EnsureOnline, PrepareLabels, PlanWindows, Commit, RecordFailure and the trigger, together. */
  otherLambdaGbSeconds: number;
  otherInvocations: number;
  /** Transitions of the main workflow, and of each Distributed Map child (start + its Task). */
  mainTransitions: number;
  transitionsPerChild: number;
  /** sentinel-cogs is paid by its owner (AWS Open Data): our account pays no COG GETs. */
  cogGetsBilled: boolean;
  sameRegionAsCogs: boolean;
};

/** bench/measured/full-tile.json: 8,194 MB of sample arrays in 328.8 CPU s (a unit test keeps them equal). */
export const MEASURED_PROCESS_MBPS = 24.9;

export const DEFAULT_ASSUMPTIONS: CostAssumptions = {
  processMBps: MEASURED_PROCESS_MBPS,
  fetchMBps: 100,
  regionOverheadSeconds: 0.5,
  extractMemoryMb: 3_008,
  regionsPerBatch: 1,
  otherLambdaGbSeconds: 5 * 2 * 120,
  otherInvocations: 7,
  mainTransitions: 12,
  transitionsPerChild: 2,
  cogGetsBilled: false,
  sameRegionAsCogs: true,
};

export type CostLine = { item: string; quantity: number; unit: string; unitUsd: number; usd: number };
export type CostEstimate = {
  lines: CostLine[];
  /** One run, once. */
  totalUsd: number;
  /** Keeping the dataset in S3 Standard, per month (not in totalUsd). */
  storageUsdPerMonth: number;
  extractSeconds: number;
};

const MB = 1e6;
const GB = 1e9;

export function estimateCost(
  plan: CostPlan,
  assumptions: CostAssumptions = DEFAULT_ASSUMPTIONS,
  prices: Prices = PRICES,
): CostEstimate {
  const a = assumptions;
  const batches = Math.ceil(plan.regions / a.regionsPerBatch);
  const extractSeconds =
    plan.bytesWritten / (a.processMBps * MB) +
    plan.bytesFetched / (a.fetchMBps * MB) +
    plan.regions * a.regionOverheadSeconds;
  const extractGbSeconds = (a.extractMemoryMb / 1024) * extractSeconds;
  // Work bucket per region: region plan, tile plan, job read; result, rejects, region plan written.
  const workGets = 3 * plan.regions + plan.regions + 2 * plan.tiles + 20;
  const workPuts = plan.shards + 3 * plan.regions + plan.tiles + 20;
  const line = (item: string, quantity: number, unit: string, unitUsd: number): CostLine => ({
    item,
    quantity,
    unit,
    unitUsd,
    usd: quantity * unitUsd,
  });
  const lines = [
    line('Lambda ExtractRegion (arm64)', extractGbSeconds, 'GB-s', prices.lambdaArmGbSecond),
    line('Lambda other steps (arm64)', a.otherLambdaGbSeconds, 'GB-s', prices.lambdaArmGbSecond),
    line('Lambda requests', batches + a.otherInvocations, 'requests', prices.lambdaRequest),
    line(
      'Step Functions transitions (main + Distributed Map children)',
      a.mainTransitions + batches * a.transitionsPerChild,
      'transitions',
      prices.sfnTransition,
    ),
    line('S3 GET, COG range reads', plan.cogRequests, 'requests', a.cogGetsBilled ? prices.s3Get : 0),
    line('S3 GET, work bucket', workGets, 'requests', prices.s3Get),
    line('S3 PUT, shards and work files', workPuts, 'requests', prices.s3Put),
    line(
      'Data transfer from the COGs',
      plan.bytesFetched / GB,
      'GB',
      a.sameRegionAsCogs ? 0 : prices.interRegionGb,
    ),
  ];
  return {
    lines,
    totalUsd: lines.reduce((sum, l) => sum + l.usd, 0),
    storageUsdPerMonth: (plan.bytesWritten / GB) * prices.s3StorageGbMonth,
    extractSeconds,
  };
}
