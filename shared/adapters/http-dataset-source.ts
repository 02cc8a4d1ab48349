// Read access to a dataset published over HTTP(S) (a static site, CloudFront, a public bucket's
// website endpoint): GET <base>/<key>. 404 means absent; 429, 5xx, dropped connections, timeouts and
// short bodies are retried with backoff (withRetries, as range reads are); other answers fail at once.
import { HttpStatusError, InvalidInputError, RangeResponseError } from '../domain/errors.ts';
import { type FetchLike, parseRetryAfter } from './http-json.ts';
import { classifyNetworkError, networkError } from './network-errors.ts';
import { RANGE_RETRY_DEFAULTS, type RangeReaderOptions, withRetries } from './range-readers.ts';

export type HttpDatasetSourceOptions = RangeReaderOptions & { readonly fetch?: FetchLike };

/** A whole shard in one answer: minutes, not the range reads' seconds. */
const FILE_TIMEOUT_MS = 600_000;

export class HttpDatasetSource {
  readonly uri: string;
  readonly #options: HttpDatasetSourceOptions;
  readonly #fetch: FetchLike;

  constructor(base: string, options: HttpDatasetSourceOptions = {}) {
    this.uri = base.replace(/\/+$/, '');
    this.#options = { maxAttempts: RANGE_RETRY_DEFAULTS.maxAttempts, ...options };
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  urlOf(key: string): string {
    const parts = key.split('/');
    if (key.length === 0 || parts.some((p) => p === '' || p === '.' || p === '..')) {
      throw new InvalidInputError(`"${key}" is not a valid key (relative, '/'-separated, no '.' or '..')`, {
        source: this.uri,
      });
    }
    return `${this.uri}/${parts.map(encodeURIComponent).join('/')}`;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const url = this.urlOf(key);
    return withRetries(url, this.#options, () => this.#once(url));
  }

  async #once(url: string): Promise<Uint8Array | undefined> {
    const timeoutMs = this.#options.timeoutMs ?? FILE_TIMEOUT_MS;
    let response: Response;
    try {
      response = await this.#fetch(url, {
        headers: { 'accept-encoding': 'identity' },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      const failure = classifyNetworkError(cause, url, timeoutMs);
      throw networkError(`GET ${url} failed: ${failure.reason}`, failure, { source: url }, cause);
    }
    if (response.status === 404 || response.status === 410) {
      await response.body?.cancel();
      return undefined;
    }
    if (!response.ok) {
      const text = (await response.text().catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, 300);
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'), new Date());
      throw new HttpStatusError(url, response.status, text || response.statusText, retryAfter);
    }
    let body: Uint8Array;
    try {
      body = new Uint8Array(await response.arrayBuffer());
    } catch (cause) {
      const failure = classifyNetworkError(cause, url, timeoutMs);
      throw networkError(
        `GET ${url}: the body was cut off: ${failure.reason}`,
        failure,
        { source: url },
        cause,
      );
    }
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (Number.isInteger(declared) && declared !== body.byteLength) {
      throw new RangeResponseError(
        `GET ${url}: ${body.byteLength} bytes arrived, ${declared} were announced`,
        {
          source: url,
        },
      );
    }
    return body;
  }
}
