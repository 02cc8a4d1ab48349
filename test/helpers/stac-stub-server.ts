// A STAC API stub on 127.0.0.1: landing page with conformsTo, POST/GET /search paged through `next`
// links, and injectable faults (loops, repeated items, 429/503 bursts, empty pages). Counts requests.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StacItem } from '../../shared/domain/catalog.ts';

/** How the stub's next links page: POST with a token merged into the body, POST with a full body, or GET. */
export type StubPaging = 'post-merge' | 'post-full' | 'get';

export type StubFaults = {
  /** The next link of this page (1-based) repeats the request that fetched it. */
  loopAtPage?: number;
  /** This page (1-based, >= 2) serves page 1's items again under a fresh token. */
  repeatItemsAtPage?: number;
  /** The first N search requests get 429 with this Retry-After header (omit for none). */
  tooManyRequests?: { count: number; retryAfter?: string };
  /** The first N search requests (after any 429s) get 503. */
  unavailable?: number;
  /** This page (1-based) has no features but still a next link. */
  emptyPage?: number;
  /** Every search gets 400 with a STAC API error body. */
  badRequest?: boolean;
  /** The first N search requests are answered only after this many ms (for client timeouts). */
  slow?: { count: number; delayMs: number };
  /** The landing page answers with this status instead of 200. */
  landingStatus?: number;
};

export type StubOptions = {
  items: StacItem[];
  paging?: StubPaging;
  /** Page size when the request names no limit. */
  pageSize?: number;
  conformsTo?: string[];
  faults?: StubFaults;
  /** Answers a request before the default routes; return undefined to fall through. */
  route?: (request: RecordedRequest, baseUrl: string) => StubAnswer | undefined;
};

export type StubAnswer = { status: number; body: unknown; headers?: Record<string, string> };

export type RecordedRequest = {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
};

export type StacStub = {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Requests to /search (GET or POST), faults included. */
  searchCount(): number;
  landingCount(): number;
  close(): Promise<void>;
};

export const CONFORMS_CQL2 = [
  'https://api.stacspec.org/v1.0.0/core',
  'https://api.stacspec.org/v1.0.0/item-search',
  'https://api.stacspec.org/v1.0.0/item-search#sort',
  'https://api.stacspec.org/v1.0.0-rc.2/item-search#filter',
  'http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2',
  'http://www.opengis.net/spec/cql2/1.0/conf/cql2-json',
  'http://www.opengis.net/spec/cql2/1.0/conf/cql2-text',
];

export const CONFORMS_QUERY = [
  'https://api.stacspec.org/v1.0.0/core',
  'https://api.stacspec.org/v1.0.0/item-search',
  'https://api.stacspec.org/v1.0.0/item-search#sort',
  'https://api.stacspec.org/v1.0.0/item-search#query',
];

/** A minimal valid Sentinel-2-like item: day `i` of August 2023 (wrapping), a 1-degree footprint. */
export function makeItem(i: number, collection = 'sentinel-2-c1-l2a', cloud = 10): StacItem {
  const day = String((i % 28) + 1).padStart(2, '0');
  return {
    type: 'Feature',
    stac_version: '1.0.0',
    id: `S2A_T33TWL_202308${day}_${String(i).padStart(4, '0')}`,
    collection,
    geometry: {
      type: 'Polygon',
      coordinates: [
        [
          [15, 45],
          [16, 45],
          [16, 46],
          [15, 46],
          [15, 45],
        ],
      ],
    },
    bbox: [15, 45, 16, 46],
    properties: { datetime: `2023-08-${day}T10:00:00Z`, 'eo:cloud_cover': cloud, 'proj:epsg': 32633 },
    assets: { blue: { href: `B02_${i}.tif` } },
    links: [],
  };
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function send(res: ServerResponse, answer: StubAnswer): void {
  res.writeHead(answer.status, { 'content-type': 'application/geo+json', ...answer.headers });
  res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
}

export async function startStacStub(options: StubOptions): Promise<StacStub> {
  const requests: RecordedRequest[] = [];
  const paging = options.paging ?? 'post-merge';
  const faults = options.faults ?? {};
  let searches = 0;
  let landings = 0;
  let baseUrl = '';

  const answer = (rec: RecordedRequest): StubAnswer => {
    if (rec.path === '/' || rec.path === '') {
      landings++;
      if (faults.landingStatus && faults.landingStatus !== 200) {
        return { status: faults.landingStatus, body: { code: 'NotFound', description: 'no landing page' } };
      }
      return {
        status: 200,
        body: {
          type: 'Catalog',
          id: 'stub',
          stac_version: '1.0.0',
          description: 'STAC stub',
          ...(options.conformsTo ? { conformsTo: options.conformsTo } : {}),
          links: [{ rel: 'search', href: `${baseUrl}/search`, method: 'POST' }],
        },
      };
    }
    if (rec.path !== '/search') return { status: 404, body: { code: 'NotFound', description: rec.path } };
    const n = searches;
    const burst429 = faults.tooManyRequests?.count ?? 0;
    if (n <= burst429) {
      const retryAfter = faults.tooManyRequests?.retryAfter;
      return {
        status: 429,
        body: { code: 'TooManyRequests', description: 'slow down' },
        ...(retryAfter === undefined ? {} : { headers: { 'retry-after': retryAfter } }),
      };
    }
    if (n <= burst429 + (faults.unavailable ?? 0)) {
      return {
        status: 503,
        body: '<html>Service Unavailable</html>',
        headers: { 'content-type': 'text/html' },
      };
    }
    if (faults.badRequest) {
      return {
        status: 400,
        body: { code: 'BadRequest', description: 'collections: unknown collection "nope"' },
      };
    }

    const body = (rec.method === 'POST' ? rec.body : undefined) as Record<string, unknown> | undefined;
    const token = rec.method === 'GET' ? rec.query['token'] : (body?.['token'] as string | undefined);
    const page = token ? Number(token) : 1;
    const limitRaw = rec.method === 'GET' ? rec.query['limit'] : body?.['limit'];
    const size = Number(limitRaw ?? options.pageSize ?? 10);
    const start = (page - 1) * size;
    let features = options.items.slice(start, start + size);
    if (faults.repeatItemsAtPage === page) features = options.items.slice(0, size);
    if (faults.emptyPage === page) features = [];
    const more = start + size < options.items.length || faults.emptyPage === page;
    const nextPage = faults.loopAtPage === page ? page : page + 1;
    const links: Record<string, unknown>[] = [{ rel: 'root', href: baseUrl }];
    if (more || faults.loopAtPage === page) {
      if (paging === 'get') {
        links.push({ rel: 'next', href: `${baseUrl}/search?token=${nextPage}&limit=${size}`, method: 'GET' });
      } else if (paging === 'post-merge') {
        links.push({
          rel: 'next',
          href: `${baseUrl}/search`,
          method: 'POST',
          merge: true,
          body: { token: String(nextPage) },
        });
      } else {
        links.push({
          rel: 'next',
          href: `${baseUrl}/search`,
          method: 'POST',
          merge: false,
          body: { ...body, token: String(nextPage) },
        });
      }
    }
    return {
      status: 200,
      body: { type: 'FeatureCollection', features, links, numberReturned: features.length },
    };
  };

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', baseUrl);
      const rec: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname.replace(/\/+$/, '') || '/',
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body: await readBody(req),
      };
      requests.push(rec);
      // Counted before any custom route so that routed searches count too.
      if (rec.path.endsWith('/search')) searches++;
      const custom = options.route?.(rec, baseUrl);
      const result = custom ?? answer(rec);
      const slow = faults.slow;
      if (slow && rec.path === '/search' && searches <= slow.count) {
        await new Promise((resolve) => setTimeout(resolve, slow.delayMs));
        if (res.destroyed || req.destroyed) return;
      }
      send(res, result);
    })().catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}`;
  return {
    url: baseUrl,
    requests,
    searchCount: () => searches,
    landingCount: () => landings,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** A Clock whose sleeps return at once and are recorded, so retry tests do not wait. */
export function recordingClock(now = new Date('2025-07-31T15:06:47Z')): {
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  sleeps: number[];
} {
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
    },
    sleeps,
  };
}
