// The error vocabulary of satfactory. Every error has a stable `name` (Step Functions Retry/Catch
// match on it through Lambda's errorType), a `retryable` flag and context that tells a user where.

export type ErrorContext = {
  /** File, URL or S3 URI the problem is in. */
  readonly source?: string;
  /** JSON pointer into a document (job spec, STAC item), e.g. `/selection/maxDates`. */
  readonly pointer?: string;
  /** Index of a feature, item or sample. */
  readonly index?: number;
  readonly [key: string]: unknown;
};

export class SatfactoryError extends Error {
  override readonly name: string = 'SatfactoryError';
  readonly retryable: boolean = false;
  readonly context: ErrorContext;

  constructor(message: string, context: ErrorContext = {}, options?: ErrorOptions) {
    super(message, options);
    this.context = context;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, message: this.message, retryable: this.retryable, context: this.context };
  }
}

/** Invalid user input (job spec, vectors, catalog files): exit code 2, never retried. */
export class InvalidInputError extends SatfactoryError {
  override readonly name: string = 'InvalidInputError';
}

export class JobSpecError extends InvalidInputError {
  override readonly name = 'JobSpecError';
}

/** A remote answered in a way that may succeed later (429, 5xx, refused or reset connection, timeout). */
export class TransientError extends SatfactoryError {
  override readonly name: string = 'TransientError';
  override readonly retryable = true;
}

export class HttpStatusError extends SatfactoryError {
  /**
   * Step Functions retries by error name alone, so a permanent answer (4xx other than 429: not
   * found, forbidden) carries its own name, HttpRejectedError, and is never retried there.
   */
  override readonly name: 'HttpStatusError' | 'HttpRejectedError';
  override readonly retryable: boolean;
  readonly status: number;
  readonly retryAfterMs: number | undefined;
  constructor(url: string, status: number, detail: string, retryAfterMs?: number) {
    super(`${status} from ${url}: ${detail}`, { source: url, status });
    this.status = status;
    this.retryable = status === 429 || status >= 500;
    this.name = this.retryable ? 'HttpStatusError' : 'HttpRejectedError';
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * A range answer arrived short (the connection dropped mid-body): retryable. Every other wrong answer
 * is a RangeRejectedError, whose own name keeps Step Functions from retrying it.
 */
export class RangeResponseError extends SatfactoryError {
  override readonly name = 'RangeResponseError';
  override readonly retryable = true;
}

/**
 * A range request that cannot succeed by asking again: the server ignores Range (200 with the whole
 * file, an HTML page), the range runs past the end of the file, the range itself is invalid, or the
 * Content-Range names other bytes.
 */
export class RangeRejectedError extends SatfactoryError {
  override readonly name = 'RangeRejectedError';
}

/**
 * The host name did not resolve: no such host (ENOTFOUND, a wrong name or no network) or no answer
 * from the resolver (EAI_AGAIN, usually no network).
 */
export class DnsLookupError extends SatfactoryError {
  override readonly name = 'DnsLookupError';
}

/** The TLS handshake failed (an untrusted or expired certificate, TLS spoken to a plain port). */
export class TlsError extends SatfactoryError {
  override readonly name = 'TlsError';
}

/** A raster could not be parsed or decoded (truncated, not a TIFF, unsupported layout). */
export class RasterFormatError extends SatfactoryError {
  override readonly name = 'RasterFormatError';
}

export class CatalogError extends SatfactoryError {
  override readonly name: string = 'CatalogError';
}

export class PaginationLoopError extends CatalogError {
  override readonly name = 'PaginationLoopError';
}

/** The inputs cannot produce a dataset (no product selected, no window planned). */
export class NothingToDoError extends SatfactoryError {
  override readonly name = 'NothingToDoError';
}

/**
 * A store cannot be written or read for lack of rights: a read-only folder or file system, a
 * folder of another user. Not retryable: waiting does not change permissions.
 */
export class StorageAccessError extends SatfactoryError {
  override readonly name = 'StorageAccessError';
}

/** AWS is not set up for this process: no region, no credentials. Not retryable. */
export class AwsSetupError extends SatfactoryError {
  override readonly name = 'AwsSetupError';
}

/** A create-only write found the key already present. */
export class AlreadyExistsError extends SatfactoryError {
  override readonly name = 'AlreadyExistsError';
}

/**
 * The output folder belongs to another run (its claim.json, or the manifest of a dataset committed
 * before claims existed): this run writes nothing there. Exit code 2: the job must name another
 * output.uri, or the folder must go.
 */
export class DatasetOwnedError extends SatfactoryError {
  override readonly name = 'DatasetOwnedError';
}

/**
 * An input this runtime may not read: on Lambda, a local file or a path, plain http, or an address in
 * loopback, link-local or private ranges that the stage config does not allow. Never retried.
 */
export class InputRefusedError extends InvalidInputError {
  override readonly name = 'InputRefusedError';
}

/** An accounting invariant failed (planned != written + rejected, checksum mismatch). */
export class IntegrityError extends SatfactoryError {
  override readonly name = 'IntegrityError';
}

/**
 * The storage a run writes to is full (ENOSPC, EDQUOT). Not retried: waiting does not free space;
 * once it is freed, a rerun resumes where the run stopped.
 */
export class StorageFullError extends SatfactoryError {
  override readonly name = 'StorageFullError';
}

export function isRetryable(error: unknown): boolean {
  return error instanceof SatfactoryError ? error.retryable : false;
}

/** Gives any thrown value a message, for logs and CLI output. */
export function describeError(error: unknown): string {
  if (error instanceof SatfactoryError) {
    const where = Object.entries(error.context)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `${error.name}: ${error.message}${where ? ` (${where})` : ''}`;
  }
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** A value as short JSON for a message; a hostile one (nested a million deep) cannot overflow the stack. */
export function shortJson(value: unknown, max = 60): string {
  try {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > max ? `${text.slice(0, max - 3)}...` : text;
  } catch {
    return Array.isArray(value) ? 'an array nested too deep to show' : 'a value that cannot be shown';
  }
}
