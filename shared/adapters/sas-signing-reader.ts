// Planetary Computer assets (e.g. sentinel-1-rtc) are read with a SAS token appended to each href:
// GET <endpoint>/<collection> → {"msft:expiry": RFC 3339, "token": "st=...&se=...&sig=..."} (no
// leading "?"). The token is fetched once, shared by every read, and fetched again 5 minutes before
// it expires. Hrefs in work files and datasets stay unsigned: the token is added at read time only.
import { CatalogError, HttpStatusError } from '../domain/errors.ts';
import type { Clock, Log, RangeReader, RangeReaderStats } from '../ports.ts';
import { type FetchLike, fetchJson } from './http-json.ts';

export const PC_TOKEN_ENDPOINT = 'https://planetarycomputer.microsoft.com/api/sas/v1/token';
/** Where a subscription key is read from (the Planetary Computer SDK's own variable). */
export const PC_KEY_ENV = 'PC_SDK_SUBSCRIPTION_KEY';
const REFRESH_BEFORE_MS = 5 * 60_000;

export type SasSigningOptions = {
  readonly endpoint: string;
  readonly collection: string;
  readonly clock: Clock;
  readonly fetch?: FetchLike;
  readonly log?: Log;
  /** Sent as Ocp-Apim-Subscription-Key when set (default: env PC_SDK_SUBSCRIPTION_KEY). */
  readonly subscriptionKey?: string | undefined;
  readonly maxAttempts?: number;
};

/** `refreshAt`: 5 minutes before expiry, or half-way for a token that lives less than 10 minutes. */
type Token = { token: string; expiresAt: number; refreshAt: number };

export class SasSigningReader implements RangeReader {
  readonly stats: RangeReaderStats;
  /** Token requests made (tests check the token is shared and refreshed). */
  tokenRequests = 0;
  readonly #inner: RangeReader;
  readonly #options: SasSigningOptions;
  #current: Promise<Token> | undefined;

  constructor(inner: RangeReader, options: SasSigningOptions) {
    this.#inner = inner;
    this.#options = options;
    this.stats = inner.stats;
  }

  get tokenUrl(): string {
    return `${this.#options.endpoint.replace(/\/+$/, '')}/${encodeURIComponent(this.#options.collection)}`;
  }

  async read(url: string, offset: number, length: number): Promise<Uint8Array> {
    const { token } = await this.token();
    return this.#inner.read(`${url}${url.includes('?') ? '&' : '?'}${token}`, offset, length);
  }

  /** The current token, fetched when there is none or it is due for refresh. */
  token(): Promise<Token> {
    const now = this.#options.clock.now().getTime();
    const current = this.#current;
    if (current === undefined) return this.#fetch();
    return current.then((t) => (t.refreshAt > now ? t : this.#refresh(current)));
  }

  #refresh(stale: Promise<Token>): Promise<Token> {
    // One refresh for all reads that found the token stale at once.
    return this.#current === stale ? this.#fetch() : (this.#current as Promise<Token>);
  }

  #fetch(): Promise<Token> {
    const promise = this.#request();
    this.#current = promise;
    promise.catch(() => {
      if (this.#current === promise) this.#current = undefined;
    });
    return promise;
  }

  async #request(): Promise<Token> {
    const url = this.tokenUrl;
    const key = this.#options.subscriptionKey ?? process.env[PC_KEY_ENV];
    this.tokenRequests++;
    let body: unknown;
    try {
      body = (
        await fetchJson(
          { method: 'GET', url, ...(key ? { headers: { 'Ocp-Apim-Subscription-Key': key } } : {}) },
          {
            clock: this.#options.clock,
            ...(this.#options.fetch ? { fetch: this.#options.fetch } : {}),
            ...(this.#options.log ? { log: this.#options.log } : {}),
            ...(this.#options.maxAttempts !== undefined ? { maxAttempts: this.#options.maxAttempts } : {}),
          },
        )
      ).body;
    } catch (error) {
      if (error instanceof HttpStatusError && (error.status === 401 || error.status === 403)) {
        throw new CatalogError(
          `the SAS token endpoint ${url} refused a token (${error.status})${key ? ' with the subscription key given' : ''}: this collection needs a Planetary Computer subscription key; ${key ? 'check it' : `set ${PC_KEY_ENV}`} (sent as Ocp-Apim-Subscription-Key)`,
          { source: url, status: error.status },
          { cause: error },
        );
      }
      throw error;
    }
    const b = body as { token?: unknown; 'msft:expiry'?: unknown } | null;
    const expiresAt = typeof b?.['msft:expiry'] === 'string' ? Date.parse(b['msft:expiry']) : Number.NaN;
    if (typeof b?.token !== 'string' || b.token === '' || Number.isNaN(expiresAt)) {
      throw new CatalogError(`the SAS token endpoint ${url} answered no "token" and "msft:expiry"`, {
        source: url,
      });
    }
    const now = this.#options.clock.now().getTime();
    if (expiresAt <= now) {
      throw new CatalogError(
        `the SAS token endpoint ${url} answered a token that expired at ${b['msft:expiry']}`,
        {
          source: url,
        },
      );
    }
    const refreshAt = Math.max(expiresAt - REFRESH_BEFORE_MS, now + (expiresAt - now) / 2);
    return { token: b.token.replace(/^\?/, ''), expiresAt, refreshAt };
  }
}
