// What every RangeReader adapter shares: the retry loop (exponential backoff with full jitter,
// Retry-After honoured), the Content-Range check, and the "range runs past the end of the file" error.
import { isRetryable, RangeRejectedError, RangeResponseError } from '../domain/errors.ts';
import type { Log, RangeReaderStats } from '../ports.ts';
import { silentLog } from '../ports.ts';
import { backoffDelay, type RetryOptions } from './http-json.ts';
import { retriesOnce } from './network-errors.ts';

export type RangeReaderOptions = RetryOptions & {
  /** Sleeps between attempts; tests pass a recorder that returns at once. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Counter to add to; the dispatcher passes one object to all its adapters so totals are combined. */
  readonly stats?: RangeReaderStats;
  readonly log?: Log;
};

/**
 * Ranges are retried less patiently than catalog calls: a region worker holds many of them in
 * flight, and a Step Functions Retry on the whole region is the next line of defence.
 */
export const RANGE_RETRY_DEFAULTS = {
  maxAttempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 30_000,
  timeoutMs: 60_000,
} as const;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function newStats(): RangeReaderStats {
  return { requests: 0, bytes: 0 };
}

/** Inclusive byte range as written in `Range: bytes=a-b`. */
export function rangeHeader(offset: number, length: number): string {
  return `bytes=${offset}-${offset + length - 1}`;
}

export type ContentRange = { start: number; end: number; total: number | null };

/** Parses `bytes a-b/total` (total may be `*`), or the 416 form `bytes *\/total` (start/end -1). Null if malformed. */
export function parseContentRange(value: string | null | undefined): ContentRange | null {
  if (!value) return null;
  const unsatisfied = /^\s*bytes\s+\*\/(\d+)\s*$/i.exec(value);
  if (unsatisfied) return { start: -1, end: -1, total: Number(unsatisfied[1]) };
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value);
  if (!m) return null;
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) return null;
  return { start, end, total: m[3] === '*' ? null : Number(m[3]) };
}

/**
 * The requested range reaches past the end of the file. Not retryable; `context.fileSize` says
 * where the file ends, so a caller that over-reads on purpose (the COG header reader reads whole
 * blocks) can clip and ask again.
 */
export function pastEndOfFile(
  url: string,
  offset: number,
  length: number,
  fileSize: number,
): RangeRejectedError {
  return new RangeRejectedError(
    `range ${offset}-${offset + length - 1} of ${url} runs past the end of the file (${fileSize} bytes); the file is shorter than its header says (truncated?)`,
    { source: url, offset, length, fileSize, reason: 'past-end-of-file' },
  );
}

/**
 * Checks an answered Content-Range against the request. Returns nothing when it matches; throws a
 * pastEndOfFile error when the server clipped the range at the end of the file, and a
 * RangeRejectedError for any other mismatch (a proxy or server bug, not bad luck).
 */
export function checkContentRange(
  url: string,
  offset: number,
  length: number,
  answered: ContentRange | null,
  header: string | null | undefined,
): void {
  const end = offset + length - 1;
  if (answered === null) {
    throw new RangeRejectedError(
      `partial answer for bytes ${offset}-${end} of ${url} has no valid Content-Range (${header ?? 'none'})`,
      { source: url, offset, length, contentRange: header ?? null },
    );
  }
  if (answered.start === offset && answered.end === end) return;
  if (
    answered.start === offset &&
    answered.total !== null &&
    answered.end === answered.total - 1 &&
    answered.end < end
  ) {
    throw pastEndOfFile(url, offset, length, answered.total);
  }
  throw new RangeRejectedError(
    `asked ${url} for bytes ${offset}-${end} but the answer is Content-Range ${header}; the server or a proxy mangles range requests`,
    { source: url, offset, length, contentRange: header ?? null },
  );
}

/**
 * The error for a body that ended early; retryable, since a dropped connection usually is. `why`
 * names the cause when one is known (the connection was reset, the read timed out).
 */
export function shortBody(
  url: string,
  offset: number,
  length: number,
  received: number,
  why?: { reason: string; cause: unknown },
): RangeResponseError {
  return new RangeResponseError(
    `short answer for bytes ${offset}-${offset + length - 1} of ${url}: ${received} of ${length} bytes arrived${why ? ` (${why.reason})` : ''}`,
    { source: url, offset, length, received },
    why ? { cause: why.cause } : undefined,
  );
}

/**
 * Runs `attempt` until it succeeds, a non-retryable error is thrown, or maxAttempts is reached (then
 * the last error is thrown as is: it names the URL and stays retryable for a Step Functions Retry).
 * A host name that does not resolve gets one quick retry only (network-errors.ts).
 * A retryable error with `retryAfterMs` (HttpStatusError from a 429/503) waits that long, capped.
 */
export async function withRetries<T>(
  url: string,
  options: RangeReaderOptions,
  attempt: (n: number) => Promise<T>,
  shouldRetry: (error: unknown) => boolean = isRetryable,
): Promise<T> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? RANGE_RETRY_DEFAULTS.maxAttempts);
  const maxRetryAfter = options.maxRetryAfterMs ?? RANGE_RETRY_DEFAULTS.maxRetryAfterMs;
  const sleep = options.sleep ?? defaultSleep;
  const log = options.log ?? silentLog;
  const backoff: RetryOptions = {
    baseDelayMs: options.baseDelayMs ?? RANGE_RETRY_DEFAULTS.baseDelayMs,
    maxDelayMs: options.maxDelayMs ?? RANGE_RETRY_DEFAULTS.maxDelayMs,
    ...(options.random ? { random: options.random } : {}),
  };
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (n >= maxAttempts || !(shouldRetry(error) || (n === 1 && retriesOnce(error)))) throw error;
      const retryAfter = retryAfterOf(error);
      const wait = retryAfter !== undefined ? Math.min(retryAfter, maxRetryAfter) : backoffDelay(n, backoff);
      log.warn('range read failed, retrying', { url, attempt: n, waitMs: wait, error: String(error) });
      await sleep(wait);
    }
  }
}

function retryAfterOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('retryAfterMs' in error)) return undefined;
  const value = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof value === 'number' ? value : undefined;
}

/** Offsets and lengths come from tile tables; a bad one is a bug upstream, said loudly here. */
export function assertRange(url: string, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new RangeRejectedError(`invalid byte range offset=${offset} length=${length} for ${url}`, {
      source: url,
      offset,
      length,
    });
  }
}
