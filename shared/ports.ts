// The ports: every piece of I/O the core needs, as small interfaces. Steps take these as arguments,
// so one step runs in a Lambda (AWS adapters) and in the local runtime (local adapters).
import type { StacItem } from './domain/catalog.ts';

/** Object storage under one root (a local folder or an s3://bucket/prefix). Keys use '/'. */
export interface BlobStore {
  /** The root as a URI: file:///abs/path or s3://bucket/prefix. */
  readonly uri: string;
  get(key: string): Promise<Uint8Array | undefined>;
  /** Writes atomically. With createOnly, throws AlreadyExistsError when the key exists. */
  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<void>;
  /**
   * Exactly `length` bytes from `offset` of the object at key (a range read); throws when the
   * object is absent or shorter.
   */
  getRange(key: string, offset: number, length: number): Promise<Uint8Array>;
  /**
   * Several ranges of one object, in the order given, each as getRange returns it. Optional: a store
   * that serves them for less than a getRange each offers it (a folder opens the file once);
   * callers use readRanges, which falls back to getRange.
   */
  getRanges?(key: string, ranges: readonly ByteRange[]): Promise<Uint8Array[]>;
  /**
   * Writes the chunks as one object, atomically like put, holding only a bounded part of them in
   * memory (a temp file locally, a multipart upload on S3). A createOnly write to an existing key
   * throws AlreadyExistsError, possibly before the chunks are consumed.
   */
  putStream(key: string, chunks: AsyncIterable<Uint8Array>, options?: PutOptions): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** The size in bytes of the object at key, without reading it; undefined when absent. */
  size(key: string): Promise<number | undefined>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
}

export type ByteRange = { readonly offset: number; readonly length: number };

/** store.getRanges when the store has it, else one getRange per range (all at once). */
export function readRanges(
  store: BlobStore,
  key: string,
  ranges: readonly ByteRange[],
): Promise<Uint8Array[]> {
  return store.getRanges
    ? store.getRanges(key, ranges)
    : Promise.all(ranges.map((r) => store.getRange(key, r.offset, r.length)));
}

export type PutOptions = { readonly createOnly?: boolean; readonly contentType?: string };

/** Reads byte ranges of remote or local files. Every answer is checked for exact length. */
export interface RangeReader {
  /** Returns exactly `length` bytes starting at `offset`, or throws (RangeRejectedError, ...). */
  read(url: string, offset: number, length: number): Promise<Uint8Array>;
  readonly stats: RangeReaderStats;
}

export type RangeReaderStats = { requests: number; bytes: number };

export type CatalogQuery = {
  readonly collection: string;
  /** GeoJSON geometry in EPSG:4326. */
  readonly intersects: GeoJSON.Geometry;
  readonly start: string;
  readonly end: string;
  readonly maxCloudCover?: number;
};

export type CatalogPage = {
  readonly request: { method: string; url: string; body?: unknown };
  readonly status: number;
  readonly body: unknown;
};

export type CatalogResult = {
  readonly items: StacItem[];
  /** Raw pages as received, kept with the run for provenance. */
  readonly pages: CatalogPage[];
  /**
   * Item id -> the URL the item was read from (its self link, the search URL, or its file://), the
   * base normalizeItem resolves relative asset hrefs against. If two collections share an id, the
   * first item's base is kept (an API search returns one collection, so this only concerns static).
   */
  readonly bases?: Readonly<Record<string, string>>;
};

export interface Catalog {
  readonly description: string;
  search(query: CatalogQuery): Promise<CatalogResult>;
}

export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export type LogFields = Record<string, unknown>;
export interface Log {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export type MetricUnit = 'Count' | 'Bytes' | 'Milliseconds';

/**
 * Figures of the work a step did, for dashboards and alarms: CloudWatch EMF on Lambda. Steps also
 * return them in their results, so a local run reports the same figures in the manifest and the CLI.
 */
export interface Metrics {
  /** Adds `value` to the metric `name`; `dimensions` split it (e.g. a reject reason). */
  add(name: string, unit: MetricUnit, value: number, dimensions?: Readonly<Record<string, string>>): void;
}

/** Progress of long work, for a CLI bar or structured logs. */
export interface Progress {
  start(phase: string, total: number): void;
  advance(phase: string, by?: number): void;
  finish(phase: string): void;
}

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };
export const noMetrics: Metrics = { add() {} };
export const noProgress: Progress = { start() {}, advance() {}, finish() {} };
export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Starts and inspects executions of the deployed workflow (Step Functions on AWS). */
export interface Executions {
  /** Starts execution `name`; one that exists already counts as started (`alreadyExisted: true`). */
  start(name: string, input: unknown): Promise<{ executionArn: string; alreadyExisted: boolean }>;
  /** Status, the state running (or last entered), the Distributed Map's item counts, error/cause. */
  describe(executionArn: string): Promise<ExecutionStatus>;
}

export type ExecutionStatus = {
  executionArn: string;
  name: string;
  /** RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE. */
  status: string;
  startedAt: Date | null;
  stoppedAt: Date | null;
  /** The state entered last; `running` says whether it has not exited yet. */
  state: { name: string; running: boolean } | null;
  /** Item counts of the latest Map Run (ExtractRegions), when one started. */
  mapRun: { total: number; succeeded: number; failed: number; running: number } | null;
  error: string | null;
  cause: string | null;
  output: string | null;
};

/** Whether a product can be read now, per the long-term archive. 'unknown': the archive has no such product. */
export type ArchiveAvailability = 'online' | 'offline' | 'unknown';

/** Where an order stands: 'none' when the archive knows no order of the product. */
export type ArchiveOrderState = 'none' | 'pending' | 'online' | 'failed';

export type ArchiveOrderStatus = {
  readonly state: ArchiveOrderState;
  /** The archive's order id, when it knows one (lets a consumer recover an order it did not record). */
  readonly orderId?: string;
  readonly detail?: string;
};

/** A long-term archive (CDSE) that brings offline products online on order, under a quota. */
export interface ArchiveOrders {
  readonly description: string;
  availability(productId: string): Promise<ArchiveAvailability>;
  /**
   * Places one order. Throws HttpStatusError 429 when the archive's quota refuses it (nothing was
   * ordered), OrderRejectedError/ProductUnknownError when it never can be; anything else is ambiguous.
   */
  order(productId: string): Promise<{ orderId: string }>;
  /** The product's order, by order id when known, else looked up by product. */
  status(productId: string, orderId?: string): Promise<ArchiveOrderStatus>;
}

export type OrderQueueMessage = { readonly [key: string]: unknown };

/** The LTA order queue (SQS, or in-process locally). */
export interface OrderQueue {
  /** delaySeconds: 0..900 (SQS DelaySeconds); the message is invisible until then. */
  send(message: OrderQueueMessage, options?: { readonly delaySeconds?: number }): Promise<void>;
}

/** Answers a waiting `.waitForTaskToken` state. Throws TaskGoneError when the token is no longer waited on. */
export interface TaskCallbacks {
  success(token: string, output: unknown): Promise<void>;
  failure(token: string, error: string, cause: string): Promise<void>;
  heartbeat(token: string): Promise<void>;
}
