// The Copernicus Data Space Ecosystem (CDSE) as the long-term archive: availability from the OData
// catalogue's `Online` flag, orders through the On-Demand Production (ODP) OData API, OAuth tokens
// from CDSE's identity service, refreshed before they expire (they live 10 minutes). CDSE answers a
// 5th concurrent connection with 429, so every request passes one semaphore of 4. GETs go through
// fetchJson (per-attempt timeout, jittered backoff, capped Retry-After); an order is sent once.
//
// Endpoints:
// - catalogue: https://catalogue.dataspace.copernicus.eu/odata/v1/Products?$filter=Name eq '<name>'
// - orders: https://odp.dataspace.copernicus.eu/odata/v1 (documented at
//   https://documentation.dataspace.copernicus.eu/APIs/On-Demand%20Production%20API.html), shaped by
//   ESA's ODPRIP ICD (ESA-EOPG-EOPGC-IF-3): POST /ProductionOrder/OData.CSC.Order with the reference
//   product, GET /ProductionOrders(<Id>) and /ProductionOrders?$filter=... for the Status
//   (queued | in_progress | completed | failed | cancelled).
// - tokens: https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect/token
import { HttpStatusError, TransientError } from '../domain/errors.ts';
import { OrderRejectedError, ProductUnknownError } from '../domain/lta.ts';
import { Semaphore } from '../domain/semaphore.ts';
import {
  type ArchiveAvailability,
  type ArchiveOrderStatus,
  type ArchiveOrders,
  type Clock,
  type Log,
  silentLog,
  systemClock,
} from '../ports.ts';
import {
  DEFAULT_RETRY,
  errorDetail,
  type FetchLike,
  fetchJson,
  parseRetryAfter,
  type RetryOptions,
} from './http-json.ts';
import { classifyNetworkError, networkError } from './network-errors.ts';

export const CDSE_ENDPOINTS = {
  catalogue: 'https://catalogue.dataspace.copernicus.eu/odata/v1',
  odp: 'https://odp.dataspace.copernicus.eu/odata/v1',
  token: 'https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect/token',
} as const;

export type CdseCredentials = { readonly username: string; readonly password: string };

export type CdseArchiveOptions = {
  readonly credentials: CdseCredentials;
  readonly catalogueUrl?: string;
  readonly odpUrl?: string;
  readonly tokenUrl?: string;
  /** CDSE's public OAuth client. */
  readonly clientId?: string;
  /** The ODP workflow that restores the product (list them with GET <odp>/Workflows). */
  readonly workflowName?: string;
  /** Concurrent connections, at most 4 for CDSE. */
  readonly maxConnections?: number;
  /**
   * Retries of a GET (429, 5xx, timeouts, dropped connections): fetchJson's options. Orders are never
   * retried here (the quota decides); their timeout is `timeoutMs` too.
   */
  readonly retry?: RetryOptions;
  readonly clock?: Clock;
  readonly log?: Log;
  readonly fetch?: FetchLike;
};

/** Refresh this long before the access token expires: a request must not outlive its token. */
const TOKEN_MARGIN_MS = 60_000;

type Token = { access: string; expiresAt: number; refresh: string | null; refreshExpiresAt: number };
type TokenResponse = {
  access_token?: string;
  expires_in?: number;
  refresh_token?: string;
  refresh_expires_in?: number;
};
type ProductionOrder = { Id?: string; Status?: string; StatusMessage?: string };

export class CdseArchive implements ArchiveOrders {
  readonly description: string;
  readonly #options: CdseArchiveOptions;
  readonly #urls: { catalogue: string; odp: string; token: string };
  readonly #clock: Clock;
  readonly #log: Log;
  readonly #fetch: FetchLike;
  readonly #connections: Semaphore;
  #token: Token | undefined;
  #tokenRequest: Promise<Token> | undefined;
  /** Token grants by kind, for logs and tests. */
  readonly tokenGrants = { password: 0, refresh: 0 };

  constructor(options: CdseArchiveOptions) {
    this.#options = options;
    this.#urls = {
      catalogue: trimSlash(options.catalogueUrl ?? CDSE_ENDPOINTS.catalogue),
      odp: trimSlash(options.odpUrl ?? CDSE_ENDPOINTS.odp),
      token: options.tokenUrl ?? CDSE_ENDPOINTS.token,
    };
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log ?? silentLog;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#connections = new Semaphore(Math.min(4, options.maxConnections ?? 4));
    this.description = `CDSE (${this.#urls.catalogue})`;
  }

  async availability(productId: string): Promise<ArchiveAvailability> {
    const url = `${this.#urls.catalogue}/Products?$filter=${encodeURIComponent(nameFilter('Name', productId))}&$top=2`;
    const body = (await this.#getJson(url)) as { value?: Array<{ Online?: boolean }> };
    const product = body.value?.[0];
    if (!product) return 'unknown';
    return product.Online === false ? 'offline' : 'online';
  }

  async order(productId: string): Promise<{ orderId: string }> {
    const url = `${this.#urls.odp}/ProductionOrder/OData.CSC.Order`;
    const timeoutMs = this.#options.retry?.timeoutMs ?? DEFAULT_RETRY.timeoutMs;
    let response: Response;
    try {
      response = await this.#authorizedFetch(url, {
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': 'application/json' },
        body: JSON.stringify({
          WorkflowName: this.#options.workflowName ?? 'sentinel2_l2a_restore',
          InputProductReference: { Reference: safeName(productId) },
          Priority: 1,
        }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      // No answer (timeout, reset): the order may or may not exist, and the consumer treats it so.
      const failure = classifyNetworkError(cause, url, timeoutMs);
      throw networkError(
        `POST ${url} got no answer: ${failure.reason}`,
        failure,
        { source: url, productId },
        cause,
      );
    }
    const text = await response.text();
    if (response.status === 404) {
      throw new ProductUnknownError(`CDSE has no product ${productId} to order`, { source: url, productId });
    }
    if (response.status === 429 || response.status >= 500) {
      // The archive's quota (429, with its Retry-After, uncapped: the consumer waits through the queue,
      // not in this process) or an outage; nothing is retried here.
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'), this.#clock.now());
      throw new HttpStatusError(url, response.status, errorDetail(text) || response.statusText, retryAfter);
    }
    if (!response.ok) {
      throw new OrderRejectedError(
        `CDSE refused to order ${productId}: ${response.status} ${errorDetail(text) || response.statusText}`,
        { source: url, productId, status: response.status },
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (cause) {
      throw new TransientError(
        `CDSE answered an order of ${productId} with a body that is not JSON`,
        { source: url, productId },
        { cause },
      );
    }
    const order = unwrap(body as ProductionOrder | { value: ProductionOrder });
    if (!order.Id)
      throw new TransientError(`CDSE answered an order without an Id`, { source: url, productId });
    return { orderId: order.Id };
  }

  async status(productId: string, orderId?: string): Promise<ArchiveOrderStatus> {
    let order: ProductionOrder | undefined;
    if (orderId) {
      const url = `${this.#urls.odp}/ProductionOrders(${orderId})`;
      try {
        order = unwrap((await this.#getJson(url)) as ProductionOrder);
      } catch (error) {
        // An order id the archive no longer knows (purged): say so, and let the consumer decide.
        if (!(error instanceof HttpStatusError && error.status === 404)) throw error;
        order = undefined;
      }
    } else {
      const filter = nameFilter('InputProductReference/Reference', productId);
      const url = `${this.#urls.odp}/ProductionOrders?$filter=${encodeURIComponent(filter)}&$orderby=SubmissionDate%20desc&$top=1`;
      order = ((await this.#getJson(url)) as { value?: ProductionOrder[] }).value?.[0];
    }
    if (!order) return { state: 'none' };
    const common = {
      ...(order.Id ? { orderId: order.Id } : {}),
      ...(order.StatusMessage ? { detail: order.StatusMessage } : {}),
    };
    switch (order.Status) {
      case 'completed':
        return { state: 'online', ...common };
      case 'failed':
      case 'cancelled':
        return { state: 'failed', ...common };
      default:
        return { state: 'pending', ...common };
    }
  }

  /** GET through fetchJson: retries on 429, 5xx, timeouts and dropped connections. */
  async #getJson(url: string): Promise<unknown> {
    const response = await fetchJson(
      { method: 'GET', url, headers: { accept: 'application/json' } },
      { ...this.#options.retry, clock: this.#clock, log: this.#log, fetch: this.#authorizedFetch },
    );
    return response.body;
  }

  /**
   * One authorized request inside the connection limit; a 401 renews the token once. The body is
   * read inside the limit too, so a connection counts until its answer is in.
   */
  readonly #authorizedFetch: FetchLike = (url, init) =>
    this.#connections.use(async () => {
      for (let renewed = false; ; renewed = true) {
        const token = await this.#accessToken(renewed);
        const response = await this.#fetch(url, {
          ...init,
          headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` },
        });
        if (response.status !== 401 || renewed) return buffered(response);
        await response.body?.cancel();
      }
    });

  async #accessToken(forceNew: boolean): Promise<string> {
    const now = this.#clock.now().getTime();
    if (forceNew) this.#token = undefined;
    if (this.#token && this.#token.expiresAt - TOKEN_MARGIN_MS > now) return this.#token.access;
    // One token request at a time: concurrent callers share it.
    this.#tokenRequest ??= this.#grant(now).finally(() => {
      this.#tokenRequest = undefined;
    });
    this.#token = await this.#tokenRequest;
    return this.#token.access;
  }

  async #grant(now: number): Promise<Token> {
    const old = this.#token;
    const canRefresh = old?.refresh && old.refreshExpiresAt - TOKEN_MARGIN_MS > now;
    const form = new URLSearchParams({ client_id: this.#options.clientId ?? 'cdse-public' });
    if (canRefresh && old?.refresh) {
      form.set('grant_type', 'refresh_token');
      form.set('refresh_token', old.refresh);
    } else {
      form.set('grant_type', 'password');
      form.set('username', this.#options.credentials.username);
      form.set('password', this.#options.credentials.password);
    }
    const response = await this.#fetch(this.#urls.token, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    if (!response.ok) {
      // A refused refresh token (revoked, session ended) falls back to the password once.
      if (canRefresh && response.status === 400) {
        this.#token = undefined;
        return this.#grant(now);
      }
      const text = await response.text().catch(() => '');
      throw new HttpStatusError(
        this.#urls.token,
        response.status,
        errorDetail(text) || response.statusText,
        parseRetryAfter(response.headers.get('retry-after'), this.#clock.now()),
      );
    }
    this.tokenGrants[canRefresh ? 'refresh' : 'password'] += 1;
    const body = (await response.json()) as TokenResponse;
    if (!body.access_token)
      throw new TransientError('CDSE issued no access token', { source: this.#urls.token });
    return {
      access: body.access_token,
      expiresAt: now + (body.expires_in ?? 600) * 1000,
      refresh: body.refresh_token ?? null,
      refreshExpiresAt: now + (body.refresh_expires_in ?? 0) * 1000,
    };
  }
}

/** CDSE names Sentinel-2 products `<id>.SAFE`; accept ids given with or without the suffix. */
function safeName(productId: string): string {
  return productId.endsWith('.SAFE') ? productId : `${productId}.SAFE`;
}

function nameFilter(field: string, productId: string): string {
  const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;
  const bare = productId.replace(/\.SAFE$/, '');
  return `${field} eq ${quote(bare)} or ${field} eq ${quote(safeName(productId))}`;
}

function unwrap(body: ProductionOrder | { value: ProductionOrder }): ProductionOrder {
  return 'value' in body && body.value && typeof body.value === 'object'
    ? body.value
    : (body as ProductionOrder);
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** The response with its body read, so that the connection is done with when it is returned. */
async function buffered(response: Response): Promise<Response> {
  const body = await response.arrayBuffer();
  const empty = response.status === 204 || response.status === 304;
  return new Response(empty ? null : body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}
