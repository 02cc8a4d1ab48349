// StacApiCatalog against the STAC stub over real HTTP: what it sends, how it pages, how it retries,
// and how it fails (loops, caps, 4xx) — with the request counts that prove it.
import { afterEach, describe, expect, it } from 'vitest';
import { StacApiCatalog, type StacApiCatalogOptions } from '../../shared/adapters/stac-api-catalog.ts';
import type { StacItem } from '../../shared/domain/catalog.ts';
import { CatalogError, HttpStatusError, PaginationLoopError } from '../../shared/domain/errors.ts';
import type { CatalogQuery, Log } from '../../shared/ports.ts';
import {
  CONFORMS_CQL2,
  CONFORMS_QUERY,
  makeItem,
  recordingClock,
  type StacStub,
  type StubOptions,
  startStacStub,
} from '../helpers/stac-stub-server.ts';

const aoi: GeoJSON.Polygon = {
  type: 'Polygon',
  coordinates: [
    [
      [15.3, 45.2],
      [16.1, 45.2],
      [16.1, 45.4],
      [15.3, 45.4],
      [15.3, 45.2],
    ],
  ],
};
const query: CatalogQuery = {
  collection: 'sentinel-2-c1-l2a',
  intersects: aoi,
  start: '2023-08-01',
  end: '2023-08-31',
  maxCloudCover: 30,
};
const items = (n: number): StacItem[] => Array.from({ length: n }, (_, i) => makeItem(i));

let stub: StacStub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

async function setup(
  stubOptions: StubOptions,
  catalogOptions: Partial<StacApiCatalogOptions> = {},
): Promise<{ stub: StacStub; catalog: StacApiCatalog; clock: ReturnType<typeof recordingClock> }> {
  stub = await startStacStub({ conformsTo: CONFORMS_CQL2, ...stubOptions });
  const clock = recordingClock();
  const catalog = new StacApiCatalog({
    url: stub.url,
    limit: 10,
    clock,
    random: () => 0.5,
    ...catalogOptions,
  });
  return { stub, catalog, clock };
}

const searchRequests = (s: StacStub) => s.requests.filter((r) => r.path === '/search');

describe('StacApiCatalog: the search request', () => {
  it('POSTs collections, intersects, an inclusive datetime, limit, sortby and a CQL2-JSON filter', async () => {
    const { stub, catalog } = await setup({ items: items(3) });
    await catalog.search(query);
    const [first] = searchRequests(stub);
    expect(first?.method).toBe('POST');
    expect(first?.headers['content-type']).toBe('application/json');
    expect(first?.body).toEqual({
      collections: ['sentinel-2-c1-l2a'],
      intersects: aoi,
      datetime: '2023-08-01T00:00:00Z/2023-08-31T23:59:59Z',
      limit: 10,
      sortby: [{ field: 'properties.datetime', direction: 'asc' }],
      'filter-lang': 'cql2-json',
      filter: { op: '<=', args: [{ property: 'eo:cloud_cover' }, 30] },
    });
  });

  it('reads the landing page once per catalog, however many searches', async () => {
    const { stub, catalog } = await setup({ items: items(3) });
    await catalog.search(query);
    await catalog.search(query);
    expect(stub.landingCount()).toBe(1);
    expect(stub.searchCount()).toBe(2);
  });

  it('uses the legacy query extension when conformsTo lists only that', async () => {
    const { stub, catalog } = await setup({ items: items(3), conformsTo: CONFORMS_QUERY });
    await catalog.search(query);
    const body = searchRequests(stub)[0]?.body as Record<string, unknown>;
    expect(body['query']).toEqual({ 'eo:cloud_cover': { lte: 30 } });
    expect(body).not.toHaveProperty('filter');
  });

  it('sends no server filter when the landing page has no conformsTo or cannot be read', async () => {
    const warnings: string[] = [];
    const log: Log = { debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {} };
    for (const stubOptions of [{ items: items(2) }, { items: items(2), faults: { landingStatus: 404 } }]) {
      const s = await startStacStub(stubOptions);
      try {
        const catalog = new StacApiCatalog({ url: s.url, clock: recordingClock(), log });
        const result = await catalog.search(query);
        const body = searchRequests(s)[0]?.body as Record<string, unknown>;
        expect(body).not.toHaveProperty('filter');
        expect(body).not.toHaveProperty('query');
        expect(body['sortby']).toBeDefined();
        expect(result.items).toHaveLength(2);
      } finally {
        await s.close();
      }
    }
    expect(warnings).toHaveLength(2);
  });
});

describe('StacApiCatalog: paging', () => {
  it('follows POST next links with merge: true, returning every item in order', async () => {
    const { stub, catalog } = await setup({ items: items(25), paging: 'post-merge' });
    const result = await catalog.search(query);
    const reqs = searchRequests(stub);
    expect(reqs).toHaveLength(3);
    const firstBody = reqs[0]?.body as Record<string, unknown>;
    expect(reqs[1]?.body).toEqual({ ...firstBody, token: '2' });
    expect(reqs[2]?.body).toEqual({ ...firstBody, token: '3' });
    expect(result.items.map((i) => i.id)).toEqual(items(25).map((i) => i.id));
  });

  it('follows POST next links with merge: false, sending the link body as is', async () => {
    const { stub, catalog } = await setup({ items: items(15), paging: 'post-full' });
    const result = await catalog.search(query);
    const reqs = searchRequests(stub);
    expect(reqs).toHaveLength(2);
    expect((reqs[1]!.body as Record<string, unknown>)['token']).toBe('2');
    expect(result.items).toHaveLength(15);
  });

  it('follows GET next links', async () => {
    const { stub, catalog } = await setup({ items: items(12), paging: 'get' });
    const result = await catalog.search(query);
    const reqs = searchRequests(stub);
    expect(reqs.map((r) => r.method)).toEqual(['POST', 'GET']);
    expect(reqs[1]?.query).toEqual({ token: '2', limit: '10' });
    expect(reqs[1]?.body).toBeUndefined();
    expect(result.items.map((i) => i.id)).toEqual(items(12).map((i) => i.id));
  });

  it('sends the headers a next link asks for', async () => {
    const all = items(4);
    const { stub, catalog } = await setup({
      items: all,
      route: (req, base) => {
        if (req.path !== '/search') return undefined;
        const token = (req.body as Record<string, unknown>)['token'];
        const next = {
          rel: 'next',
          href: `${base}/search`,
          method: 'POST',
          merge: true,
          body: { token: 'b' },
        };
        return token === 'b'
          ? { status: 200, body: { type: 'FeatureCollection', features: all.slice(2), links: [] } }
          : {
              status: 200,
              body: {
                type: 'FeatureCollection',
                features: all.slice(0, 2),
                links: [{ ...next, headers: { 'x-page-key': 'k2' } }],
              },
            };
      },
    });
    const result = await catalog.search(query);
    expect(searchRequests(stub)[1]?.headers['x-page-key']).toBe('k2');
    expect(result.items).toHaveLength(4);
  });

  it('keeps every raw page with its request for provenance', async () => {
    const { stub, catalog } = await setup({ items: items(15) });
    const result = await catalog.search(query);
    expect(result.pages).toHaveLength(2);
    const reqs = searchRequests(stub);
    result.pages.forEach((page, i) => {
      expect(page.request).toEqual({ method: 'POST', url: `${stub.url}/search`, body: reqs[i]?.body });
      expect(page.status).toBe(200);
      expect((page.body as { features: unknown[] }).features).toHaveLength(i === 0 ? 10 : 5);
    });
  });

  it('stops at an empty page even when it offers a next link', async () => {
    const { stub, catalog } = await setup({ items: items(40), faults: { emptyPage: 2 } });
    const result = await catalog.search(query);
    expect(stub.searchCount()).toBe(2);
    expect(result.items).toHaveLength(10);
    expect(result.pages).toHaveLength(2);
  });

  it('de-duplicates by (collection, id), first wins, and drops other collections', async () => {
    const all = items(6);
    const dup = { ...makeItem(1), properties: { ...makeItem(1).properties, 'eo:cloud_cover': 99 } };
    const other = makeItem(2, 'sentinel-2-l1c');
    const served = [...all.slice(0, 4), dup, other, ...all.slice(4)];
    const { catalog } = await setup({ items: served }, { limit: 3 });
    const result = await catalog.search(query);
    expect(result.items.map((i) => i.id)).toEqual(all.map((i) => i.id));
    expect(result.items[1]?.properties['eo:cloud_cover']).toBe(10);
    expect(result.items.every((i) => i.collection === 'sentinel-2-c1-l2a')).toBe(true);
  });

  it('gives each item its self link as base, else the search URL', async () => {
    const withSelf = makeItem(0);
    withSelf.links = [{ rel: 'self', href: '/collections/sentinel-2-c1-l2a/items/x0' }];
    const { stub, catalog } = await setup({ items: [withSelf, makeItem(1)] });
    const result = await catalog.search(query);
    expect(result.bases?.[withSelf.id]).toBe(`${stub.url}/collections/sentinel-2-c1-l2a/items/x0`);
    expect(result.bases?.[makeItem(1).id]).toBe(`${stub.url}/search`);
  });
});

describe('StacApiCatalog: guards', () => {
  it('raises PaginationLoopError when a next link repeats an earlier request', async () => {
    const { stub, catalog } = await setup({ items: items(40), faults: { loopAtPage: 2 } });
    const error = await catalog.search(query).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaginationLoopError);
    expect((error as Error).name).toBe('PaginationLoopError');
    expect((error as Error).message).toContain(`${stub.url}/search`);
    expect(stub.searchCount()).toBe(2);
  });

  it('raises PaginationLoopError when a page holds only items already seen', async () => {
    const { stub, catalog } = await setup({ items: items(40), faults: { repeatItemsAtPage: 2 } });
    const error = await catalog.search(query).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaginationLoopError);
    expect((error as Error).message).toMatch(/repeats only items already received/);
    expect(stub.searchCount()).toBe(2);
  });

  it('raises CatalogError past maxPages, naming the URL and the setting to change', async () => {
    const { stub, catalog } = await setup({ items: items(50) }, { maxPages: 2 });
    const error = await catalog.search(query).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CatalogError);
    expect((error as Error).name).toBe('CatalogError');
    expect((error as Error).message).toContain(`${stub.url}/search`);
    expect((error as Error).message).toMatch(/narrow the AOI or the period, or raise catalog\.maxPages/);
    expect(stub.searchCount()).toBe(2);
  });

  it('raises CatalogError past maxItems', async () => {
    const { stub, catalog } = await setup({ items: items(50) }, { maxItems: 15 });
    const error = await catalog.search(query).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CatalogError);
    expect((error as Error).message).toMatch(/more than 15 items \(catalog\.maxItems\)/);
    expect(stub.searchCount()).toBe(2);
  });

  it('allows exactly maxItems and exactly maxPages', async () => {
    const { catalog } = await setup({ items: items(20) }, { maxItems: 20, maxPages: 2 });
    expect((await catalog.search(query)).items).toHaveLength(20);
  });

  it('turns a 400 into CatalogError quoting the server, without retrying', async () => {
    const { stub, catalog, clock } = await setup({ items: items(3), faults: { badRequest: true } });
    const error = await catalog.search(query).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CatalogError);
    expect((error as Error).message).toContain('unknown collection "nope"');
    expect((error as Error).message).toContain(`${stub.url}/search`);
    expect((error as CatalogError).cause).toBeInstanceOf(HttpStatusError);
    expect(stub.searchCount()).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });
});

describe('StacApiCatalog: retries', () => {
  it('retries 429 after Retry-After seconds, sleeping on the clock', async () => {
    const { stub, catalog, clock } = await setup({
      items: items(3),
      faults: { tooManyRequests: { count: 2, retryAfter: '7' } },
    });
    const result = await catalog.search(query);
    expect(result.items).toHaveLength(3);
    expect(stub.searchCount()).toBe(3);
    expect(clock.sleeps).toEqual([7000, 7000]);
    expect(result.pages).toHaveLength(1);
  });

  it('retries 429 after a Retry-After HTTP date', async () => {
    const { catalog, clock } = await setup({
      items: items(3),
      faults: { tooManyRequests: { count: 1, retryAfter: 'Thu, 31 Jul 2025 15:06:52 GMT' } },
    });
    await catalog.search(query);
    expect(clock.sleeps).toEqual([5000]);
  });

  it('retries 503 with exponential backoff and full jitter', async () => {
    const { stub, catalog, clock } = await setup(
      { items: items(3), faults: { unavailable: 3 } },
      { baseDelayMs: 1000 },
    );
    const result = await catalog.search(query);
    expect(result.items).toHaveLength(3);
    expect(stub.searchCount()).toBe(4);
    expect(clock.sleeps).toEqual([500, 1000, 2000]);
  });

  it('gives up after maxAttempts with a retryable HttpStatusError', async () => {
    const { stub, catalog } = await setup(
      { items: items(3), faults: { unavailable: 10 } },
      { maxAttempts: 3 },
    );
    const error = await catalog.search(query).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpStatusError);
    expect((error as HttpStatusError).status).toBe(503);
    expect((error as HttpStatusError).retryable).toBe(true);
    expect((error as Error).message).toContain(`${stub.url}/search`);
    expect(stub.searchCount()).toBe(3);
  });

  it('defaults to 5 attempts', async () => {
    const { stub, catalog } = await setup({ items: items(3), faults: { unavailable: 10 } });
    await expect(catalog.search(query)).rejects.toThrow(HttpStatusError);
    expect(stub.searchCount()).toBe(5);
  });

  it('times out a slow answer and retries it', async () => {
    const { stub, catalog, clock } = await setup(
      // A generous timeout: only the slow answer may hit it, even on a busy machine.
      { items: items(3), faults: { slow: { count: 1, delayMs: 10_000 } } },
      { timeoutMs: 1_000 },
    );
    const result = await catalog.search(query);
    expect(result.items).toHaveLength(3);
    expect(stub.searchCount()).toBe(2);
    expect(clock.sleeps).toHaveLength(1);
  });
});

describe('StacApiCatalog: landing page failures', () => {
  it('reads the landing page again after it failed, instead of caching the failure', async () => {
    let landingFails = 1;
    const flaky = await startStacStub({
      items: items(2),
      conformsTo: CONFORMS_CQL2,
      route: (req) => {
        if (req.path !== '/' || landingFails === 0) return undefined;
        landingFails--;
        return { status: 503, body: 'down' };
      },
    });
    try {
      const c = new StacApiCatalog({ url: flaky.url, clock: recordingClock(), maxAttempts: 1 });
      await expect(c.search(query)).rejects.toThrow(HttpStatusError);
      expect(flaky.searchCount()).toBe(0);
      const result = await c.search(query);
      expect(result.items).toHaveLength(2);
      const body = flaky.requests.filter((r) => r.path === '/search')[0]?.body as Record<string, unknown>;
      expect(body['filter-lang']).toBe('cql2-json');
    } finally {
      await flaky.close();
    }
  });
});
