// RangeReader over s3://bucket/key with GetObject and a Range header. The answer's ContentRange and
// body length are checked like an HTTP 206; the SDK retries throttling itself, we retry short bodies.
import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import {
  HttpStatusError,
  InvalidInputError,
  RangeRejectedError,
  RangeResponseError,
  SatfactoryError,
} from '../../domain/errors.ts';
import type { RangeReader, RangeReaderStats } from '../../ports.ts';
import { classifyNetworkError, networkError } from '../network-errors.ts';
import {
  assertRange,
  checkContentRange,
  newStats,
  parseContentRange,
  pastEndOfFile,
  type RangeReaderOptions,
  rangeHeader,
  shortBody,
  withRetries,
} from '../range-readers.ts';
import { awsSetupError } from './aws-setup.ts';

export type S3RangeReaderOptions = RangeReaderOptions & { readonly client: S3Client };

type AwsErrorShape = { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };

export class S3RangeReader implements RangeReader {
  readonly stats: RangeReaderStats;
  readonly #options: S3RangeReaderOptions;

  constructor(options: S3RangeReaderOptions) {
    this.#options = options;
    this.stats = options.stats ?? newStats();
  }

  async read(url: string, offset: number, length: number): Promise<Uint8Array> {
    assertRange(url, offset, length);
    if (length === 0) return new Uint8Array(0);
    const { bucket, key } = parseS3Url(url);
    // The SDK already retried throttling and 5xx; only our own checks (short body) are retried here.
    return withRetries(
      url,
      this.#options,
      () => this.#once(url, bucket, key, offset, length),
      (error) => error instanceof RangeResponseError,
    );
  }

  async #once(url: string, bucket: string, key: string, offset: number, length: number): Promise<Uint8Array> {
    const controller = new AbortController();
    this.stats.requests++;
    let output: GetObjectCommandOutput;
    try {
      output = await this.#options.client.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, Range: rangeHeader(offset, length) }),
        { abortSignal: controller.signal },
      );
    } catch (cause) {
      throw s3Error(url, offset, length, cause);
    }
    let consumed = false;
    try {
      const header = output.ContentRange;
      if (header === undefined) {
        // S3 answers a range with 206 and ContentRange; without one the whole object is coming.
        if (offset === 0 && output.ContentLength !== undefined && output.ContentLength <= length) {
          const body = await this.#body(output, url, offset, output.ContentLength);
          consumed = true;
          if (output.ContentLength === length) return body;
          throw pastEndOfFile(url, offset, length, output.ContentLength);
        }
        throw new RangeRejectedError(
          `${url} answered the whole object instead of bytes ${offset}-${offset + length - 1}; the S3-compatible server ignores Range`,
          { source: url, offset, length },
        );
      }
      checkContentRange(url, offset, length, parseContentRange(header), header);
      const body = await this.#body(output, url, offset, length);
      consumed = true;
      return body;
    } finally {
      if (!consumed) {
        controller.abort();
        (output.Body as { destroy?: () => void } | undefined)?.destroy?.();
      }
    }
  }

  async #body(
    output: GetObjectCommandOutput,
    url: string,
    offset: number,
    length: number,
  ): Promise<Uint8Array> {
    if (output.Body === undefined) throw shortBody(url, offset, length, 0);
    let bytes: Uint8Array;
    try {
      bytes = await output.Body.transformToByteArray();
    } catch (cause) {
      throw shortBody(url, offset, length, 0, { reason: classifyNetworkError(cause, url).reason, cause });
    }
    this.stats.bytes += bytes.byteLength;
    if (bytes.byteLength < length) throw shortBody(url, offset, length, bytes.byteLength);
    if (bytes.byteLength > length) {
      throw new RangeRejectedError(
        `answer for bytes ${offset}-${offset + length - 1} of ${url} is longer than the ${length} bytes asked for`,
        { source: url, offset, length },
      );
    }
    return bytes;
  }
}

/** s3://bucket/key/with/slashes → { bucket, key }; the key is taken verbatim (S3 URIs are not percent-encoded). */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!m) throw new InvalidInputError(`not an s3://bucket/key URI: ${url}`, { source: url });
  return { bucket: m[1] as string, key: m[2] as string };
}

function s3Error(url: string, offset: number, length: number, cause: unknown): SatfactoryError {
  if (cause instanceof SatfactoryError) return cause;
  const setup = awsSetupError(cause, `GetObject for bytes ${offset}-${offset + length - 1} of ${url}`);
  if (setup) return setup;
  const e = (typeof cause === 'object' && cause !== null ? cause : {}) as AwsErrorShape;
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'InvalidRange' || status === 416) {
    return new RangeRejectedError(
      `bytes ${offset}-${offset + length - 1} of ${url} start past the end of the object`,
      { source: url, offset, length, status: 416 },
    );
  }
  if (status !== undefined) {
    return new HttpStatusError(url, status, `${e.name ?? 'S3 error'}: ${e.message ?? ''}`.trim());
  }
  // No HTTP answer after the SDK's own retries: name the socket's cause (DNS, refused, reset).
  const failure = classifyNetworkError(cause, url);
  return networkError(
    `GetObject for bytes ${offset}-${offset + length - 1} of ${url} failed: ${failure.reason}`,
    failure,
    { source: url, offset, length },
    cause,
  );
}
