// Every file that steps hand each other through the work store, in one place: its key, its key
// pattern (the IAM grants and the local runtime's access checks derive from it) and its schema.
// Reads parse, never cast: a file of another shape (another satfactory version, a hand edit) fails
// with its key named. WORK_FORMAT_VERSION is part of the run id, so an upgrade starts a new run.
import { z } from 'zod';
import { AreaGeometrySchema } from '../domain/aoi.ts';
import { ProductSchema } from '../domain/catalog.ts';
import { BoundsSchema } from '../domain/crs.ts';
import { IntegrityError } from '../domain/errors.ts';
import { JobSpecSchema, jsonPointer } from '../domain/job-spec.ts';
import { UnsampledFeatureSchema } from '../domain/labels/accounting.ts';
import { LabelCodingSchema } from '../domain/labels/class-table.ts';
import { ClassEntrySchema } from '../domain/labels/classes.ts';
import { LabelLogEntrySchema } from '../domain/labels/types.ts';
import {
  AttemptRecordSchema,
  AttemptReleasedRecordSchema,
  ltaKeys,
  OrderItemSchema,
  OrderRecordSchema,
  SlotDoneRecordSchema,
  SlotRecordSchema,
} from '../domain/lta.ts';
import {
  RegionPlanSchema,
  RegionResultSchema,
  ShardRecordSchema,
  SplitSchema,
  TilePlanSchema,
} from '../domain/plan.ts';
import { QuicklookStretchSchema } from '../domain/quicklook.ts';
import { PlannedSampleSchema } from '../domain/reshard.ts';
import { SampleIndexEntrySchema } from '../domain/stac.ts';
import { WindowRejectSchema } from '../domain/window-verdict.ts';
import { type BlobStore, type ByteRange, readRanges } from '../ports.ts';
import { RegionTaskSchema, ShardTaskSchema } from '../workflow/contracts.ts';

/** Bump whenever a schema below changes shape: runs of an older version are then not resumed. */
export const WORK_FORMAT_VERSION = 9;

const count = z.int().min(0);

/** Plan's record of the catalog answer it selected from; a resumed run keeps it. */
export const StoredSelectionSchema = z.strictObject({
  runId: z.string(),
  aoi: AreaGeometrySchema,
  catalog: z.strictObject({ description: z.string(), pages: count, items: count }),
  chosen: z.record(z.string(), z.array(ProductSchema)),
  /** Job `sources`: source name → tile → its products for that tile (shared/domain/secondary.ts). */
  secondary: z.record(z.string(), z.record(z.string(), z.array(ProductSchema))).optional(),
});
export type StoredSelection = z.infer<typeof StoredSelectionSchema>;

/**
 * The dataset's selection.json as Plan wrote it (every candidate and why): kept with the run, so the
 * dataset's copy is restored if another run's dry run replaced it while this run did not hold the folder.
 */
export const SelectionReportSchema = z.object({ runId: z.string() }).loose();

/** One raw catalog page as received, kept for provenance. */
export const CatalogPageSchema = z.strictObject({
  request: z.strictObject({ method: z.string(), url: z.string(), body: z.unknown().optional() }),
  status: z.int(),
  body: z.unknown(),
});

/** PlanWindows' summary: what its state output says, plus per-tile counts. */
export const WindowsSummarySchema = z.strictObject({
  regionsKey: z.string().min(1),
  regions: count,
  windows: count,
  bytesToFetch: count,
  tiles: z.record(z.string(), z.strictObject({ windows: count, regions: count })),
  /** Per split, the windows that will be read (edge and split-buffer rejects aside). */
  splits: z.strictObject({ train: count, validation: count, test: count }),
});
export type WindowsSummary = z.infer<typeof WindowsSummarySchema>;

/** PrepareLabels' summary of the ground truth it read, validated and stored. */
export const LabelSummarySchema = z.strictObject({
  source: z.string(),
  /** CRS of the features as read (and stored in features.bin). */
  epsg: z.int(),
  /** Features read from the file, and kept after validation. */
  read: count,
  features: count,
  /** Problem code → number of log entries (see the log for each feature and what was done). */
  problems: z.record(z.string(), count),
  logKey: z.string(),
  /** By ascending id: the fixed table (labels.classes), or the classes found (derived). */
  classes: z.array(ClassEntrySchema),
  /** How values become ids: where the table came from, the background, the ignore index. */
  coding: LabelCodingSchema,
  /** Extent of the kept features, lon/lat. */
  extentWgs84: BoundsSchema.nullable(),
});
export type LabelSummary = z.infer<typeof LabelSummarySchema>;

/** One final shard as PlanShards dealt it: which sample spans of which region shards, in order. */
export const ShardPlanSchema = z.strictObject({
  runId: z.string(),
  split: SplitSchema,
  index: count,
  /** Dataset-relative path of the final shard. */
  path: z.string().min(1),
  /** Bytes the shard will have: the spans plus the tar's end blocks (plus the quicklooks, when drawn). */
  bytes: count,
  samples: z.array(PlannedSampleSchema).min(1),
  /** output.quicklooks: the stretch of the `<key>.png` each sample gets (from the train statistics). */
  quicklooks: QuicklookStretchSchema.optional(),
});
export type ShardPlan = z.infer<typeof ShardPlanSchema>;

/** What RecordFailure keeps of a failed run: the caught error and when. */
export const FailureRecordSchema = z.strictObject({ error: z.unknown(), at: z.string() });
export type FailureRecord = z.infer<typeof FailureRecordSchema>;

export type WorkFormat = 'json' | 'jsonl' | 'binary';

/** A kind of work file. `schema` checks a whole JSON document, or each line of a JSONL file. */
export type WorkFileSpec<T> = {
  readonly title: string;
  readonly format: WorkFormat;
  /** The key with `*` for each variable part, as IAM writes object patterns. */
  readonly pattern: string;
  readonly schema: z.ZodType<T> | null;
  /** What a binary file holds (for the README's table). */
  readonly content?: string;
};

/** A work file and its key builder. */
export type WorkFile<A extends readonly unknown[], T> = WorkFileSpec<T> & {
  readonly key: (...args: A) => string;
};

type AnyWorkFile = WorkFileSpec<unknown>;

function json<A extends readonly unknown[], S extends z.ZodType>(
  title: string,
  pattern: string,
  key: (...args: A) => string,
  schema: S,
): WorkFile<A, z.output<S>> {
  return { title, format: 'json', pattern, key, schema: schema as z.ZodType<z.output<S>> };
}

function jsonl<A extends readonly unknown[], S extends z.ZodType>(
  title: string,
  pattern: string,
  key: (...args: A) => string,
  schema: S,
): WorkFile<A, z.output<S>> {
  return { title, format: 'jsonl', pattern, key, schema: schema as z.ZodType<z.output<S>> };
}

function binary<A extends readonly unknown[]>(
  title: string,
  pattern: string,
  key: (...args: A) => string,
  content = 'binary label chunk (domain/labels/chunk.ts, own header)',
): WorkFile<A, Uint8Array> {
  return { title, format: 'binary', pattern, key, schema: null, content };
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Every work file. Run files live under runs/<run id>/; the LTA ledger, shared by runs, under lta/. */
export const WorkFiles = {
  job: json('job spec', 'runs/*/job.json', (run: string) => `runs/${run}/job.json`, JobSpecSchema),
  catalogPage: json(
    'catalog page',
    'runs/*/catalog/page-*.json',
    (run: string, n: number) => `runs/${run}/catalog/page-${pad(n, 6)}.json`,
    CatalogPageSchema,
  ),
  selection: json(
    'selection',
    'runs/*/selection.json',
    (run: string) => `runs/${run}/selection.json`,
    StoredSelectionSchema,
  ),
  selectionReport: json(
    'selection report',
    'runs/*/selection-report.json',
    (run: string) => `runs/${run}/selection-report.json`,
    SelectionReportSchema,
  ),
  /** The run's offline products, one a line: the OrderProducts map reads it. */
  orders: jsonl(
    'orders',
    'runs/*/orders.jsonl',
    (run: string) => `runs/${run}/orders.jsonl`,
    OrderItemSchema,
  ),
  labelsSummary: json(
    'label summary',
    'runs/*/labels/summary.json',
    (run: string) => `runs/${run}/labels/summary.json`,
    LabelSummarySchema,
  ),
  /** Every kept feature in the CRS it was read in (domain/labels/chunk.ts checks its own header). */
  labelsFeatures: binary(
    'label features',
    'runs/*/labels/features.bin',
    (run: string) => `runs/${run}/labels/features.bin`,
  ),
  labelsLog: jsonl(
    'label validation log',
    'runs/*/labels/log.jsonl',
    (run: string) => `runs/${run}/labels/log.jsonl`,
    LabelLogEntrySchema,
  ),
  /** Kept features that reach no region (outside the imagery, or no window), for the label accounting. */
  labelsUnplaced: jsonl(
    'unplaced label features',
    'runs/*/labels/unplaced.jsonl',
    (run: string) => `runs/${run}/labels/unplaced.jsonl`,
    UnsampledFeatureSchema,
  ),
  /** The features under one region's windows, in the tile's CRS. */
  regionLabels: binary(
    'region labels',
    'runs/*/labels/regions/*.bin',
    (run: string, region: string) => `runs/${run}/labels/regions/${region}.bin`,
  ),
  tilePlan: json(
    'tile plan',
    'runs/*/tiles/*.json',
    (run: string, tile: string) => `runs/${run}/tiles/${tile}.json`,
    TilePlanSchema,
  ),
  regionPlan: json(
    'region plan',
    'runs/*/regions/*.json',
    (run: string, region: string) => `runs/${run}/regions/${region}.json`,
    RegionPlanSchema,
  ),
  /** One RegionTask a line: the ExtractRegions Distributed Map's ItemReader reads it. */
  regions: jsonl(
    'region list',
    'runs/*/regions.jsonl',
    (run: string) => `runs/${run}/regions.jsonl`,
    RegionTaskSchema,
  ),
  windowsSummary: json(
    'window plan summary',
    'runs/*/windows.json',
    (run: string) => `runs/${run}/windows.json`,
    WindowsSummarySchema,
  ),
  regionResult: json(
    'region result',
    'runs/*/results/*.json',
    (run: string, region: string) => `runs/${run}/results/${region}.json`,
    RegionResultSchema,
  ),
  /** A region's samples of one split as a tar (ExtractRegion); the final shards copy spans of it. */
  regionShard: binary(
    'region shard',
    'runs/*/region-shards/*.tar',
    (run: string, region: string, split: string) => `runs/${run}/region-shards/${region}-${split}.tar`,
    "tar of the region's samples of one split (domain/shard.ts); each sample's byte span is in the region result",
  ),
  /** One final shard's plan (PlanShards); its key is named by the ShardTask that WriteShard gets. */
  shardPlan: json(
    'shard plan',
    'runs/*/shard-plans/*.json',
    (run: string, split: string, index: number) => `runs/${run}/shard-plans/${split}-${pad(index, 6)}.json`,
    ShardPlanSchema,
  ),
  /** One ShardTask a line: the WriteShards Distributed Map's ItemReader reads it. */
  shardTasks: jsonl(
    'shard list',
    'runs/*/shards.jsonl',
    (run: string) => `runs/${run}/shards.jsonl`,
    ShardTaskSchema,
  ),
  /** A final shard written (path, bytes, sha256, samples): a shard with one is done. */
  shardResult: json(
    'shard result',
    'runs/*/shard-results/*.json',
    (run: string, split: string, index: number) => `runs/${run}/shard-results/${split}-${pad(index, 6)}.json`,
    ShardRecordSchema,
  ),
  /**
   * What the sample index (items.ndjson) needs of each sample of one final shard, in shard order
   * (WriteShard, while streaming it): Commit reads these instead of the shards.
   */
  shardIndex: jsonl(
    'shard sample index',
    'runs/*/shard-index/*.jsonl',
    (run: string, split: string, index: number) => `runs/${run}/shard-index/${split}-${pad(index, 6)}.jsonl`,
    SampleIndexEntrySchema,
  ),
  regionRejects: jsonl(
    'region rejects',
    'runs/*/rejects/*.jsonl',
    (run: string, region: string) => `runs/${run}/rejects/${region}.jsonl`,
    WindowRejectSchema,
  ),
  failure: json(
    'failure record',
    'runs/*/failure.json',
    (run: string) => `runs/${run}/failure.json`,
    FailureRecordSchema,
  ),
  ltaSlot: json('LTA slot', 'lta/slots/*.json', ltaKeys.slot, SlotRecordSchema),
  ltaSlotDone: json('LTA slot release', 'lta/slots/*.done.json', ltaKeys.slotDone, SlotDoneRecordSchema),
  ltaAttempt: json(
    'LTA order attempt',
    'lta/products/*/attempt-*.json',
    ltaKeys.attempt,
    AttemptRecordSchema,
  ),
  ltaAttemptReleased: json(
    'LTA attempt release',
    'lta/products/*/attempt-*.released.json',
    ltaKeys.attemptReleased,
    AttemptReleasedRecordSchema,
  ),
  ltaOrder: json('LTA order record', 'lta/products/*/order-*.json', ltaKeys.order, OrderRecordSchema),
} as const;

export type WorkFileName = keyof typeof WorkFiles;

/** Whether a key matches an IAM-style pattern (`*` matches anything, `/` included). */
export function matchesPattern(key: string, pattern: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(key);
}

function checkKey(file: AnyWorkFile, key: string): void {
  // A key of another kind of file would be parsed with the wrong schema: a bug, said as such.
  if (!matchesPattern(key, file.pattern)) {
    throw new IntegrityError(`${key} is not a ${file.title} (its keys look like ${file.pattern})`, {
      source: key,
    });
  }
}

function invalid(store: BlobStore, file: AnyWorkFile, key: string, detail: string, cause?: unknown) {
  const run = /^runs\/([^/]+)\//.exec(key)?.[1];
  return new IntegrityError(
    `${store.uri}/${key} is not a valid ${file.title} (${detail}); it was written by another version ` +
      `of satfactory (work format ${WORK_FORMAT_VERSION} reads it) or changed by hand: ` +
      (run ? `delete ${store.uri}/runs/${run}/ and run the job again` : 'delete it and try again'),
    { source: `${store.uri}/${key}` },
    cause === undefined ? undefined : { cause },
  );
}

function parseWith<T>(store: BlobStore, file: WorkFileSpec<T>, key: string, value: unknown): T {
  const schema = file.schema as z.ZodType<T>;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue ? `${jsonPointer(issue.path)}: ${issue.message}` : parsed.error.message;
  throw invalid(store, file, key, where, parsed.error);
}

function parseJsonText(store: BlobStore, file: AnyWorkFile, key: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw invalid(store, file, key, 'not JSON', cause);
  }
}

/** A JSON work file, parsed with its schema; undefined when it does not exist (yet). */
export async function readWork<T>(
  store: BlobStore,
  file: WorkFileSpec<T>,
  key: string,
): Promise<T | undefined> {
  checkKey(file, key);
  const bytes = await store.get(key);
  if (bytes === undefined) return undefined;
  return parseWith(store, file, key, parseJsonText(store, file, key, Buffer.from(bytes).toString('utf8')));
}

/** A JSON work file that an earlier step must have written. */
export async function requireWork<T>(store: BlobStore, file: WorkFileSpec<T>, key: string): Promise<T> {
  const value = await readWork(store, file, key);
  if (value === undefined) throw missing(store, file, key);
  return value;
}

/** Writes a JSON work file after checking it against its schema (a bug here must not travel on). */
export async function writeWork<T>(
  store: BlobStore,
  file: WorkFileSpec<T>,
  key: string,
  value: T,
  options: { createOnly?: boolean } = {},
): Promise<void> {
  checkKey(file, key);
  parseWith(store, file, key, value);
  await store.put(key, `${JSON.stringify(value, null, 1)}\n`, {
    createOnly: options.createOnly ?? false,
    contentType: 'application/json',
  });
}

/** The lines of a JSONL work file, each parsed; undefined when the file does not exist. */
export async function readWorkLines<T>(
  store: BlobStore,
  file: WorkFileSpec<T>,
  key: string,
): Promise<T[] | undefined> {
  checkKey(file, key);
  const bytes = await store.get(key);
  if (bytes === undefined) return undefined;
  const lines = Buffer.from(bytes).toString('utf8').split('\n');
  const out: T[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.push(parseWith(store, file, key, parseJsonText(store, file, key, line)));
    } catch (error) {
      if (error instanceof IntegrityError) error.message = `line ${i + 1}: ${error.message}`;
      throw error;
    }
  });
  return out;
}

export async function requireWorkLines<T>(
  store: BlobStore,
  file: WorkFileSpec<T>,
  key: string,
): Promise<T[]> {
  const lines = await readWorkLines(store, file, key);
  if (lines === undefined) throw missing(store, file, key);
  return lines;
}

/** Writes a JSONL work file, one checked value a line. */
export async function writeWorkLines<T>(
  store: BlobStore,
  file: WorkFileSpec<T>,
  key: string,
  values: readonly T[],
): Promise<void> {
  checkKey(file, key);
  const text = values
    .map((value) => {
      parseWith(store, file, key, value);
      return `${JSON.stringify(value)}\n`;
    })
    .join('');
  await store.put(key, text, { contentType: 'application/jsonl' });
}

/**
 * The raw bytes of a work file (a binary one checks its own header; a JSON one read this way is
 * only copied, e.g. the label log into the dataset); undefined when it does not exist.
 */
export async function readWorkBytes(
  store: BlobStore,
  file: WorkFileSpec<unknown>,
  key: string,
): Promise<Uint8Array | undefined> {
  checkKey(file, key);
  return store.get(key);
}

export async function requireWorkBytes(
  store: BlobStore,
  file: WorkFileSpec<Uint8Array>,
  key: string,
): Promise<Uint8Array> {
  const bytes = await readWorkBytes(store, file, key);
  if (bytes === undefined) throw missing(store, file, key);
  return bytes;
}

export async function writeWorkBytes(
  store: BlobStore,
  file: WorkFileSpec<Uint8Array>,
  key: string,
  bytes: Uint8Array,
): Promise<void> {
  checkKey(file, key);
  await store.put(key, bytes, { contentType: 'application/octet-stream' });
}

/** A binary work file written from a stream (the store makes it visible only once complete). */
export async function writeWorkStream(
  store: BlobStore,
  file: WorkFileSpec<Uint8Array>,
  key: string,
  chunks: AsyncIterable<Uint8Array>,
): Promise<void> {
  checkKey(file, key);
  await store.putStream(key, chunks, { contentType: 'application/octet-stream' });
}

function missing(store: BlobStore, file: AnyWorkFile, key: string): IntegrityError {
  return new IntegrityError(
    `the ${file.title} is missing at ${store.uri}/${key}; the step that writes it has not run (or its ` +
      'output was deleted): run the job again to resume',
    { source: `${store.uri}/${key}` },
  );
}

/** `length` bytes at `offset` of a binary work file (a range read: the file is never read whole). */
export async function readWorkRange(
  store: BlobStore,
  file: WorkFileSpec<Uint8Array>,
  key: string,
  offset: number,
  length: number,
): Promise<Uint8Array> {
  checkKey(file, key);
  return store.getRange(key, offset, length);
}

/** Several ranges of one binary work file, in the order given (one open file on a folder store). */
export async function readWorkRanges(
  store: BlobStore,
  file: WorkFileSpec<Uint8Array>,
  key: string,
  ranges: readonly ByteRange[],
): Promise<Uint8Array[]> {
  checkKey(file, key);
  return readRanges(store, key, ranges);
}
