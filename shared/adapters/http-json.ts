// JSON over HTTP with bounded retries: 429 and 5xx (and refused or dropped connections, timeouts) are
// retried with exponential backoff and full jitter, honouring Retry-After; sleeps go through the Clock
// port. A missing host or a refused certificate is not worth minutes of backoff (network-errors.ts).
import { CatalogError, HttpStatusError, SatfactoryError } from '../domain/errors.ts';
import { boundedMessage, jsonSyntaxProblem, quoteSnippet } from '../domain/snippet.ts';
import type { Clock, Log } from '../ports.ts';
import { silentLog } from '../ports.ts';
import { classifyNetworkError, networkError, retriesOnce } from './network-errors.ts';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export type RetryOptions = {
  /** Attempts in total, the first one included (default 5). */
  readonly maxAttempts?: number;
  /** Backoff base: attempt n waits up to baseDelayMs * 2^(n-1) (default 500 ms). */
  readonly baseDelayMs?: number;
  /** Cap of one backoff wait (default 20 s). */
  readonly maxDelayMs?: number;
  /** A Retry-After longer than this is cut to it, so a Lambda never sleeps out its budget (default 120 s). */
  readonly maxRetryAfterMs?: number;
  /** Timeout of one attempt, through AbortSignal.timeout (default 30 s). */
  readonly timeoutMs?: number;
  /** Source of jitter in [0, 1); tests pass a constant. */
  readonly random?: () => number;
};

export type HttpJsonOptions = RetryOptions & {
  readonly clock: Clock;
  readonly fetch?: FetchLike;
  readonly log?: Log;
  /** Sent with every request (e.g. an API key header); request headers win. */
  readonly headers?: Readonly<Record<string, string>>;
};

export type HttpJsonRequest = {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
};

export type HttpJsonResponse = {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
  /** How many attempts it took, 1 when the first answer was good. */
  readonly attempts: number;
};

export const DEFAULT_RETRY = {
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  maxRetryAfterMs: 120_000,
  timeoutMs: 30_000,
} as const;

/** Characters of an error answer quoted in messages: enough to see an API's reason. */
const SNIPPET = 200;

/** An error answer's text for a message: one line, cut short, invisible characters escaped. */
export function snippet(text: string): string {
  return boundedMessage(text.replace(/\s+/g, ' ').trim(), SNIPPET);
}

/** Parses Retry-After (delta seconds or an HTTP date) into milliseconds from `now`; undefined if absent/invalid. */
export function parseRetryAfter(value: string | null, now: Date): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}

/** Full-jitter backoff ("Exponential Backoff And Jitter", AWS Architecture Blog): uniform in [0, cap]. */
export function backoffDelay(attempt: number, options: RetryOptions = {}): number {
  const base = options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
  const max = options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs;
  const random = options.random ?? Math.random;
  const cap = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * cap);
}

/**
 * What an error answer says, for messages: STAC APIs (and OGC, FastAPI) send {code, description} or
 * {detail}/{message}; anything else is quoted as a snippet.
 */
export function errorDetail(text: string): string {
  try {
    const body: unknown = JSON.parse(text);
    if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
      const b = body as Record<string, unknown>;
      const said = b['description'] ?? b['detail'] ?? b['message'];
      if (typeof said === 'string')
        return snippet(typeof b['code'] === 'string' ? `${b['code']}: ${said}` : said);
    }
  } catch {
    // Not JSON (an HTML error page from a proxy, say): quote it as it is.
  }
  return snippet(text);
}

function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * Sends one JSON request and returns the parsed 2xx body. Retries 429/5xx, refused or dropped
 * connections and timeouts up to maxAttempts; then throws HttpStatusError (last status) or
 * TransientError (no answer, its cause named), both retryable so a Step Functions Retry can try again
 * later. A cause that waiting cannot fix fails at once under its own name (DnsLookupError after one
 * quick retry, TlsError). Other statuses throw HttpStatusError at once with a snippet of the body; a
 * 2xx that is not JSON throws CatalogError.
 */
export async function fetchJson(
  request: HttpJsonRequest,
  options: HttpJsonOptions,
): Promise<HttpJsonResponse> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_RETRY.maxAttempts);
  const timeoutMs = options.timeoutMs ?? DEFAULT_RETRY.timeoutMs;
  const maxRetryAfter = options.maxRetryAfterMs ?? DEFAULT_RETRY.maxRetryAfterMs;
  const doFetch: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
  const log = options.log ?? silentLog;
  const headers: Record<string, string> = {
    accept: 'application/geo+json, application/json',
    ...options.headers,
  };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  Object.assign(headers, request.headers);
  const body = request.body === undefined ? undefined : JSON.stringify(request.body);

  for (let attempt = 1; ; attempt++) {
    let response: Response;
    let text: string;
    try {
      const init: RequestInit = { method: request.method, headers, signal: AbortSignal.timeout(timeoutMs) };
      if (body !== undefined) init.body = body;
      response = await doFetch(request.url, init);
      text = await response.text();
    } catch (cause) {
      // Ours already (a refused input, a redirect loop): named and final, nothing to classify.
      if (cause instanceof SatfactoryError) throw cause;
      const failure = classifyNetworkError(cause, request.url, timeoutMs);
      const after = attempt > 1 ? ` after ${attempt} attempts` : '';
      const advice = failure.retryable ? '; check the URL and the network, or try again later' : '';
      const error = networkError(
        `${request.method} ${request.url} failed${after}: ${failure.reason}${advice}`,
        failure,
        { source: request.url, attempts: attempt },
        cause,
      );
      if (attempt >= maxAttempts || !(error.retryable || (attempt === 1 && retriesOnce(error)))) throw error;
      const wait = backoffDelay(attempt, options);
      log.warn('http: request failed, retrying', {
        url: request.url,
        attempt,
        reason: failure.reason,
        waitMs: wait,
      });
      await options.clock.sleep(wait);
      continue;
    }

    if (response.ok) {
      try {
        return {
          status: response.status,
          body: JSON.parse(text),
          headers: response.headers,
          attempts: attempt,
        };
      } catch (cause) {
        throw new CatalogError(
          `${request.method} ${request.url} answered ${response.status} but the body is not JSON (${jsonSyntaxProblem(cause)}; it starts ${quoteSnippet(text.trimStart())})`,
          { source: request.url, status: response.status },
          { cause },
        );
      }
    }

    const retryAfter = parseRetryAfter(response.headers.get('retry-after'), options.clock.now());
    if (!isRetryableStatus(response.status)) {
      throw new HttpStatusError(request.url, response.status, errorDetail(text) || response.statusText);
    }
    if (attempt >= maxAttempts) {
      throw new HttpStatusError(
        request.url,
        response.status,
        `still failing after ${attempt} attempts (${errorDetail(text) || response.statusText}); the service is overloaded or down, try again later`,
        retryAfter,
      );
    }
    const wait =
      retryAfter !== undefined ? Math.min(retryAfter, maxRetryAfter) : backoffDelay(attempt, options);
    log.warn('http: retryable status, retrying', {
      url: request.url,
      status: response.status,
      attempt,
      waitMs: wait,
    });
    await options.clock.sleep(wait);
  }
}
