// RangeReader over http(s) with the global fetch: one `Range: bytes=a-b` request per read, every
// answer checked (206, matching Content-Range, exact length); 429/5xx, refused or dropped connections,
// timeouts and short bodies are retried.
import { HttpStatusError, RangeRejectedError, SatfactoryError } from '../../domain/errors.ts';
import { boundedMessage } from '../../domain/snippet.ts';
import type { RangeReader, RangeReaderStats } from '../../ports.ts';
import { type FetchLike, parseRetryAfter } from '../http-json.ts';
import { classifyNetworkError, networkError } from '../network-errors.ts';
import {
  assertRange,
  checkContentRange,
  newStats,
  parseContentRange,
  pastEndOfFile,
  RANGE_RETRY_DEFAULTS,
  type RangeReaderOptions,
  rangeHeader,
  shortBody,
  withRetries,
} from '../range-readers.ts';

export type HttpRangeReaderOptions = RangeReaderOptions & {
  readonly fetch?: FetchLike;
  /** Sent with every request (e.g. a requester-pays or auth header). */
  readonly headers?: Readonly<Record<string, string>>;
};

/** Bytes of an error body read for the message: enough for S3's XML reason. */
const ERROR_SNIPPET = 300;
/** Characters of it quoted. */
const ERROR_CHARS = 200;

export class HttpRangeReader implements RangeReader {
  readonly stats: RangeReaderStats;
  readonly #options: HttpRangeReaderOptions;
  readonly #fetch: FetchLike;

  constructor(options: HttpRangeReaderOptions = {}) {
    this.#options = options;
    this.stats = options.stats ?? newStats();
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  async read(url: string, offset: number, length: number): Promise<Uint8Array> {
    assertRange(url, offset, length);
    if (length === 0) return new Uint8Array(0);
    return withRetries(url, this.#options, () => this.#once(url, offset, length));
  }

  async #once(url: string, offset: number, length: number): Promise<Uint8Array> {
    const timeoutMs = this.#options.timeoutMs ?? RANGE_RETRY_DEFAULTS.timeoutMs;
    // Our own controller, so an unwanted body (a 200 with the whole file) is cut off, not downloaded.
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(timeoutMs)]);
    let done = false;
    this.stats.requests++;
    let response: Response;
    try {
      response = await this.#fetch(url, {
        headers: {
          ...this.#options.headers,
          range: rangeHeader(offset, length),
          // A compressed answer would not be the bytes we asked for.
          'accept-encoding': 'identity',
        },
        signal,
      });
    } catch (cause) {
      if (cause instanceof SatfactoryError) throw cause; // a refused input: named and final
      const failure = classifyNetworkError(cause, url, timeoutMs);
      throw networkError(
        `range request for bytes ${offset}-${offset + length - 1} of ${url} failed: ${failure.reason}`,
        failure,
        { source: url, offset, length },
        cause,
      );
    }
    try {
      if (response.status === 206) {
        const header = response.headers.get('content-range');
        checkContentRange(url, offset, length, parseContentRange(header), header);
        const body = await readBody(response, url, offset, length, this.stats, timeoutMs);
        done = true;
        return body;
      }
      if (response.status === 200) {
        const declared = Number(response.headers.get('content-length') ?? Number.NaN);
        const type = response.headers.get('content-type') ?? '';
        // Before anything else: a small HTML page would pass for a whole (short) file below.
        if (/^text\/html/i.test(type)) {
          const size = Number.isInteger(declared) ? ` (${declared} bytes)` : '';
          throw new RangeRejectedError(
            `${url} answered 200 with an HTML page${size} instead of raster bytes (a login or error page?); check the URL`,
            { source: url, offset, length, status: 200, contentType: type },
          );
        }
        if (offset === 0 && Number.isInteger(declared) && declared <= length) {
          // Some servers answer a range that covers the whole file with a 200: nothing is wasted.
          const body = await readBody(response, url, 0, declared, this.stats, timeoutMs);
          done = true;
          if (declared === length) return body;
          throw pastEndOfFile(url, offset, length, declared);
        }
        const size = Number.isInteger(declared) ? ` (${declared} bytes)` : '';
        throw new RangeRejectedError(
          `${url} ignored the Range header and answered 200 with the whole file${size}; serve it from a host that supports HTTP range requests (S3, CloudFront, nginx)`,
          { source: url, offset, length, status: 200 },
        );
      }
      if (response.status === 416) {
        const answered = parseContentRange(response.headers.get('content-range'));
        if (answered?.total !== null && answered?.total !== undefined) {
          throw pastEndOfFile(url, offset, length, answered.total);
        }
        throw new RangeRejectedError(
          `${url} answered 416 to bytes ${offset}-${offset + length - 1}: the range is past the end of the file`,
          { source: url, offset, length, status: 416 },
        );
      }
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'), new Date());
      const detail = (await readSnippet(response)) || response.statusText || 'unexpected status';
      done = true;
      throw new HttpStatusError(url, response.status, detail, retryAfter);
    } finally {
      if (!done) controller.abort();
    }
  }
}

/** Reads exactly `length` bytes into one preallocated array, counting what arrives. */
async function readBody(
  response: Response,
  url: string,
  offset: number,
  length: number,
  stats: RangeReaderStats,
  timeoutMs: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let received = 0;
  if (response.body === null) {
    if (length === 0) return out;
    throw shortBody(url, offset, length, 0);
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      stats.bytes += value.byteLength;
      if (received + value.byteLength > length) {
        throw new RangeRejectedError(
          `answer for bytes ${offset}-${offset + length - 1} of ${url} is longer than the ${length} bytes asked for`,
          { source: url, offset, length },
        );
      }
      out.set(value, received);
      received += value.byteLength;
    }
  } catch (cause) {
    if (cause instanceof SatfactoryError) throw cause;
    // The connection dropped or timed out mid-body: a short answer, its cause named.
    throw shortBody(url, offset, length, received, {
      reason: classifyNetworkError(cause, url, timeoutMs).reason,
      cause,
    });
  } finally {
    reader.releaseLock();
  }
  if (received < length) throw shortBody(url, offset, length, received);
  return out;
}

async function readSnippet(response: Response): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < ERROR_SNIPPET) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // The status is the error; a body that fails to arrive adds nothing.
  } finally {
    reader.releaseLock();
  }
  const text = Buffer.concat(chunks).toString('utf8', 0, Math.min(size, ERROR_SNIPPET));
  return boundedMessage(text.replace(/\s+/g, ' ').trim(), ERROR_CHARS);
}
