// A Catalog over a STAC API (POST /search): builds the search body the server understands (CQL2 filter,
// legacy query extension or none), follows `next` links with guards, and keeps every raw page.

import type { StacItem } from '../domain/catalog.ts';
import { CatalogError, HttpStatusError, InvalidInputError, PaginationLoopError } from '../domain/errors.ts';
import { canonicalJson } from '../domain/hashing.ts';
import type { Catalog, CatalogPage, CatalogQuery, CatalogResult, Log } from '../ports.ts';
import { silentLog } from '../ports.ts';
import { fetchJson, type HttpJsonOptions, type HttpJsonResponse } from './http-json.ts';

export type StacApiCatalogOptions = HttpJsonOptions & {
  /** API root (landing page), e.g. https://earth-search.aws.element84.com/v1. */
  readonly url: string;
  /** Used when the query names no collection. */
  readonly collection?: string;
  /** Items per page asked of the server (default 100). */
  readonly limit?: number;
  /** More pages than this is an error, not a silent truncation (default 50). */
  readonly maxPages?: number;
  /** More items than this is an error (default 5000). */
  readonly maxItems?: number;
};

/** How the eo:cloud_cover bound is sent: CQL2-JSON `filter`, the legacy `query` extension, or not at all. */
export type ServerFilter = 'cql2' | 'query' | 'none';

export type SearchRequest = {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly body?: Record<string, unknown>;
  readonly headers?: Readonly<Record<string, string>>;
};

/** A link as STAC API paging writes it (the `next` link may carry method, body, merge and headers). */
export type StacLink = {
  readonly rel: string;
  readonly href: string;
  readonly method?: string;
  readonly body?: unknown;
  readonly merge?: boolean;
  readonly headers?: Record<string, string | string[]>;
};

export const STAC_API_DEFAULTS = { limit: 100, maxPages: 50, maxItems: 5000 } as const;

/**
 * Picks the cloud filter from the landing page's conformsTo. CQL2 needs the item-search filter class
 * and, when the server lists CQL2 encodings at all, cql2-json (POST bodies are JSON). Undefined
 * conformance (no landing page) means no server filter: selection filters again anyway.
 */
export function serverFilterFor(conformsTo: readonly string[] | undefined): ServerFilter {
  if (!conformsTo) return 'none';
  const hasFilter = conformsTo.some(
    (c) => /item-search#filter$/.test(c) || /ogcapi-features-3\/[\d.]+\/conf\/filter$/.test(c),
  );
  const cql2Classes = conformsTo.filter((c) => /\/cql2\/[\d.]+\/conf\//.test(c));
  const hasCql2Json = cql2Classes.some((c) => c.endsWith('/cql2-json'));
  if (hasFilter && (cql2Classes.length === 0 || hasCql2Json)) return 'cql2';
  if (conformsTo.some((c) => /item-search#query$/.test(c))) return 'query';
  return 'none';
}

/** Whether to send `sortby`: yes unless the server's conformance is known and lacks the sort extension. */
export function serverSorts(conformsTo: readonly string[] | undefined): boolean {
  return conformsTo === undefined || conformsTo.some((c) => /item-search#sort$/.test(c));
}

function boundary(value: string, isEnd: boolean, pointer: string): string {
  let out = value;
  // A date-only end means "through that day": the period is inclusive, as users write it.
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) out = isEnd ? `${value}T23:59:59Z` : `${value}T00:00:00Z`;
  // RFC 3339 requires an offset; a bare time is taken as UTC rather than the machine's zone.
  else if (!/(Z|[+-]\d{2}:\d{2})$/i.test(value)) out = `${value}Z`;
  if (Number.isNaN(Date.parse(out))) {
    throw new InvalidInputError(`period boundary "${value}" is not an ISO 8601 date or datetime`, {
      pointer,
    });
  }
  return out;
}

/** The RFC 3339 interval of a query: "start/end", date-only ends expanded to whole days in UTC. */
export function searchInterval(start: string, end: string): { start: string; end: string } {
  return { start: boundary(start, false, '/period/start'), end: boundary(end, true, '/period/end') };
}

export function searchBody(
  query: CatalogQuery,
  collection: string,
  options: { limit: number; filter: ServerFilter; sort: boolean },
): Record<string, unknown> {
  const { start, end } = searchInterval(query.start, query.end);
  const body: Record<string, unknown> = {
    collections: [collection],
    intersects: query.intersects,
    datetime: `${start}/${end}`,
    limit: options.limit,
  };
  if (options.sort) body['sortby'] = [{ field: 'properties.datetime', direction: 'asc' }];
  // A bound of 100 % filters nothing; leaving it out keeps the request valid on more servers.
  const max = query.maxCloudCover;
  if (max !== undefined && max < 100) {
    if (options.filter === 'cql2') {
      body['filter-lang'] = 'cql2-json';
      body['filter'] = { op: '<=', args: [{ property: 'eo:cloud_cover' }, max] };
    } else if (options.filter === 'query') {
      body['query'] = { 'eo:cloud_cover': { lte: max } };
    }
  }
  return body;
}

/** Identity of a request for loop detection: method, absolute URL and canonical body (headers ignored). */
export function requestFingerprint(request: SearchRequest): string {
  return `${request.method} ${request.url} ${request.body === undefined ? '' : canonicalJson(request.body)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function linkHeaders(headers: StacLink['headers']): Record<string, string> | undefined {
  if (!isRecord(headers)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v)) out[k] = v.map(String).join(', ');
  }
  return out;
}

/**
 * The request that follows a `next` link (STAC API paging): GET its href, or POST its body; with
 * `merge: true` the link body is merged over the previous body. A POST link without a body repeats
 * the previous body (pystac-client does the same).
 */
export function nextRequest(link: StacLink, previous: SearchRequest): SearchRequest {
  const method = (link.method ?? 'GET').toUpperCase();
  let url: string;
  try {
    url = new URL(link.href, previous.url).href;
  } catch (cause) {
    throw new CatalogError(
      `the next link of ${previous.url} has an invalid href ${JSON.stringify(link.href)}`,
      {
        source: previous.url,
      },
      { cause },
    );
  }
  const fromLink = linkHeaders(link.headers);
  const headers = link.merge ? { ...previous.headers, ...fromLink } : fromLink;
  const withHeaders = headers && Object.keys(headers).length > 0 ? { headers } : {};
  if (method === 'GET') return { method, url, ...withHeaders };
  if (method !== 'POST') {
    throw new CatalogError(
      `the next link of ${previous.url} asks for method ${method}; only GET and POST are supported`,
      {
        source: previous.url,
      },
    );
  }
  if (link.body !== undefined && !isRecord(link.body)) {
    throw new CatalogError(`the next link of ${previous.url} has a body that is not a JSON object`, {
      source: previous.url,
    });
  }
  const linkBody = link.body;
  const body =
    linkBody === undefined ? previous.body : link.merge ? { ...previous.body, ...linkBody } : linkBody;
  return { method, url, ...(body === undefined ? {} : { body }), ...withHeaders };
}

function findNextLink(page: Record<string, unknown>): StacLink | undefined {
  const links = page['links'];
  if (!Array.isArray(links)) return undefined;
  const next = links.find(
    (l): l is StacLink => isRecord(l) && l['rel'] === 'next' && typeof l['href'] === 'string',
  );
  return next;
}

/** The base to resolve an item's relative hrefs: its self link (absolute), else the page's URL. */
export function itemBase(item: StacItem, pageUrl: string): string {
  const self = item.links?.find((l) => l.rel === 'self' && typeof l.href === 'string');
  if (self) {
    try {
      return new URL(self.href, pageUrl).href;
    } catch {
      // A malformed self link is the server's problem; the page URL still resolves API-relative hrefs.
    }
  }
  return pageUrl;
}

export class StacApiCatalog implements Catalog {
  readonly description: string;
  readonly url: string;
  readonly searchUrl: string;
  private readonly options: StacApiCatalogOptions;
  private readonly log: Log;
  private conformance: Promise<readonly string[] | undefined> | undefined;

  constructor(options: StacApiCatalogOptions) {
    this.options = options;
    this.url = options.url.replace(/\/+$/, '');
    this.searchUrl = `${this.url}/search`;
    this.description = `STAC API ${this.url}`;
    this.log = options.log ?? silentLog;
  }

  /** The landing page's conformsTo, read once per catalog; undefined when the server does not say. */
  conformsTo(): Promise<readonly string[] | undefined> {
    // A failed read is not cached: the next search asks again instead of failing forever.
    this.conformance ??= this.readConformance().catch((error: unknown) => {
      this.conformance = undefined;
      throw error;
    });
    return this.conformance;
  }

  private async readConformance(): Promise<readonly string[] | undefined> {
    try {
      const landing = await fetchJson({ method: 'GET', url: this.url }, this.options);
      const conformsTo = isRecord(landing.body) ? landing.body['conformsTo'] : undefined;
      if (Array.isArray(conformsTo)) return conformsTo.filter((c): c is string => typeof c === 'string');
      this.log.warn(
        'stac: the landing page has no conformsTo; searching without a server-side cloud filter',
        {
          url: this.url,
        },
      );
      return undefined;
    } catch (error) {
      // A server that is down fails the search too; one that merely hides its landing page should not.
      if (error instanceof HttpStatusError && error.retryable) throw error;
      if (!(error instanceof HttpStatusError || error instanceof CatalogError)) throw error;
      this.log.warn('stac: landing page unreadable; searching without a server-side cloud filter', {
        url: this.url,
        error: error.message,
      });
      return undefined;
    }
  }

  async search(query: CatalogQuery): Promise<CatalogResult> {
    const collection = query.collection || this.options.collection;
    if (!collection) {
      throw new InvalidInputError(
        `a search of ${this.url} needs a collection; set catalog.collection in the job spec`,
        {
          source: this.url,
          pointer: '/catalog/collection',
        },
      );
    }
    const limit = this.options.limit ?? STAC_API_DEFAULTS.limit;
    const maxPages = this.options.maxPages ?? STAC_API_DEFAULTS.maxPages;
    const maxItems = this.options.maxItems ?? STAC_API_DEFAULTS.maxItems;
    const conformsTo = await this.conformsTo();
    const body = searchBody(query, collection, {
      limit,
      filter: serverFilterFor(conformsTo),
      sort: serverSorts(conformsTo),
    });

    let request: SearchRequest = { method: 'POST', url: this.searchUrl, body };
    const requested = new Set([requestFingerprint(request)]);
    const seen = new Set<string>();
    const items: StacItem[] = [];
    const bases: Record<string, string> = {};
    const pages: CatalogPage[] = [];
    let otherCollections = 0;

    for (let pageNo = 1; ; pageNo++) {
      const response = await this.send(request, pageNo);
      pages.push({
        request: {
          method: request.method,
          url: request.url,
          ...(request.body === undefined ? {} : { body: request.body }),
        },
        status: response.status,
        body: response.body,
      });
      const page = response.body;
      const features = isRecord(page) ? page['features'] : undefined;
      if (!isRecord(page) || !Array.isArray(features)) {
        throw new CatalogError(
          `page ${pageNo} of the search at ${request.url} is not a STAC ItemCollection (no features array)`,
          { source: request.url, pointer: '/features', index: pageNo },
        );
      }
      // An empty page ends the search even if the server still offers a next link.
      if (features.length === 0) break;

      let fresh = 0;
      for (const [i, feature] of features.entries()) {
        if (!isRecord(feature) || typeof feature['id'] !== 'string') {
          throw new CatalogError(
            `page ${pageNo} of the search at ${request.url} has a feature without an id`,
            {
              source: request.url,
              pointer: `/features/${i}/id`,
              index: pageNo,
            },
          );
        }
        const item = feature as unknown as StacItem;
        const key = `${item.collection ?? ''}\u0000${item.id}`;
        if (seen.has(key)) continue;
        seen.add(key);
        fresh++;
        // A server that ignores `collections` would hand us other products; they are not what was asked.
        if (item.collection !== undefined && item.collection !== collection) {
          otherCollections++;
          continue;
        }
        items.push(item);
        bases[item.id] ??= itemBase(item, request.url);
        if (items.length > maxItems) {
          throw new CatalogError(
            `the search at ${this.searchUrl} matched more than ${maxItems} items (catalog.maxItems) by page ${pageNo}; narrow the AOI or the period, or raise catalog.maxItems in the job spec`,
            { source: this.searchUrl, maxItems, pages: pageNo },
          );
        }
      }
      if (fresh === 0) {
        throw new PaginationLoopError(
          `page ${pageNo} of the search at ${request.url} repeats only items already received; the server's paging is looping. Narrow the AOI or the period so the result fits in fewer pages, or report it to the catalog's operator`,
          { source: request.url, index: pageNo },
        );
      }

      const link = findNextLink(page);
      if (!link) break;
      const next = nextRequest(link, request);
      const fingerprint = requestFingerprint(next);
      if (requested.has(fingerprint)) {
        throw new PaginationLoopError(
          `the next link of page ${pageNo} of the search at ${request.url} repeats an earlier request (${next.method} ${next.url}); the server's paging is looping. Narrow the AOI or the period, or report it to the catalog's operator`,
          { source: next.url, index: pageNo },
        );
      }
      requested.add(fingerprint);
      if (pageNo >= maxPages) {
        throw new CatalogError(
          `the search at ${this.searchUrl} needs more than ${maxPages} pages (catalog.maxPages) of ${limit} items; narrow the AOI or the period, or raise catalog.maxPages (or catalog.limit) in the job spec`,
          { source: this.searchUrl, maxPages, items: items.length },
        );
      }
      request = next;
    }

    if (otherCollections > 0) {
      this.log.warn('stac: the server returned items of other collections; they were dropped', {
        url: this.searchUrl,
        collection,
        dropped: otherCollections,
      });
    }
    this.log.info('stac: search done', { url: this.searchUrl, pages: pages.length, items: items.length });
    return { items, pages, bases };
  }

  private async send(request: SearchRequest, pageNo: number): Promise<HttpJsonResponse> {
    try {
      return await fetchJson(request, this.options);
    } catch (error) {
      if (error instanceof HttpStatusError && !error.retryable) {
        throw new CatalogError(
          `the STAC API refused page ${pageNo} of the search: ${error.message}. Check catalog.url and catalog.collection, the AOI geometry and the period`,
          { source: request.url, status: error.status, index: pageNo },
          { cause: error },
        );
      }
      throw error;
    }
  }
}
