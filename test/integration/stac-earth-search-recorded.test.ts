// StacApiCatalog against real recorded Earth Search v1 answers (pystac-client cassettes), served by
// the stub with hosts rewritten: the real POST-body `next` token is followed and the pages kept.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StacApiCatalog } from '../../shared/adapters/stac-api-catalog.ts';
import { normalizeItem } from '../../shared/domain/catalog.ts';
import { PaginationLoopError } from '../../shared/domain/errors.ts';
import type { CatalogQuery } from '../../shared/ports.ts';
import { fixturesRoot, requireFixture } from '../helpers/requirements.ts';
import {
  recordingClock,
  type StacStub,
  type StubAnswer,
  startStacStub,
} from '../helpers/stac-stub-server.ts';

const RECORDED = 'stac/earth-search-v1';
const dir = path.join(fixturesRoot(), RECORDED);
const present = requireFixture(RECORDED);
const RECORDED_ROOT = 'https://earth-search.aws.element84.com/v1';

type Page = {
  features: Array<{ id: string; collection: string }>;
  links: Array<{ rel: string; body?: { next?: string } }>;
};

/** A recorded body with the recorded host replaced by the stub's, parsed. */
function recorded(name: string, base: string): unknown {
  return JSON.parse(readFileSync(path.join(dir, name), 'utf8').replaceAll(RECORDED_ROOT, base));
}

function nextToken(page: Page): string | undefined {
  return page.links.find((l) => l.rel === 'next')?.body?.next;
}

const query: CatalogQuery = {
  collection: 'sentinel-2-c1-l2a',
  intersects: {
    type: 'Polygon',
    coordinates: [
      [
        [-180, -90],
        [180, -90],
        [180, 90],
        [-180, 90],
        [-180, -90],
      ],
    ],
  },
  start: '2025-07-31',
  end: '2025-07-31',
  maxCloudCover: 40,
};

let stub: StacStub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

/** Serves landing page, page 1 for a fresh search, page 2 for page 1's token; `afterPage2` answers page 2's token. */
async function serveRecorded(afterPage2: (base: string) => StubAnswer): Promise<StacStub> {
  return startStacStub({
    items: [],
    route: (req, base) => {
      if (req.path === '/v1') return { status: 200, body: recorded('landing_page.json', `${base}/v1`) };
      if (req.path !== '/v1/search') return undefined;
      const page1 = recorded('search_cql2_cloudcover_lte40_page1.json', `${base}/v1`) as Page;
      const page2 = recorded('search_cql2_cloudcover_lte40_page2.json', `${base}/v1`) as Page;
      const token = (req.body as { next?: string } | undefined)?.next;
      if (token === undefined) return { status: 200, body: page1 };
      if (token === nextToken(page1)) return { status: 200, body: page2 };
      if (token === nextToken(page2)) return afterPage2(base);
      return { status: 400, body: { code: 'BadRequest', description: `unknown token ${token}` } };
    },
  });
}

describe.skipIf(!present)('StacApiCatalog over recorded Earth Search v1 pages', () => {
  it('follows the recorded next token and returns the collection’s items, de-duplicated, in order', async () => {
    stub = await serveRecorded(() => ({
      status: 200,
      body: { type: 'FeatureCollection', features: [], links: [] },
    }));
    const catalog = new StacApiCatalog({ url: `${stub.url}/v1`, limit: 10, clock: recordingClock() });
    const result = await catalog.search(query);

    const page1 = recorded('search_cql2_cloudcover_lte40_page1.json', `${stub.url}/v1`) as Page;
    const page2 = recorded('search_cql2_cloudcover_lte40_page2.json', `${stub.url}/v1`) as Page;
    const expected = [...page1.features, ...page2.features]
      .filter((f) => f.collection === 'sentinel-2-c1-l2a')
      .map((f) => f.id);
    expect(expected).toHaveLength(6);
    expect(result.items.map((i) => i.id)).toEqual(expected);
    expect(new Set(result.items.map((i) => i.id)).size).toBe(result.items.length);

    // The second request is exactly what Earth Search recorded for page 2: the link body, not merged.
    const searches = stub.requests.filter((r) => r.path === '/v1/search');
    expect(searches).toHaveLength(3);
    const recordedPage2 = JSON.parse(
      readFileSync(path.join(dir, 'search_cql2_cloudcover_lte40_page2.request.json'), 'utf8'),
    );
    expect(searches[1]?.method).toBe('POST');
    expect(searches[1]?.body).toEqual(recordedPage2.request.body);

    // The recorded landing page lists the query extension, not CQL2 filter: the bound goes as `query`.
    expect((searches[0]!.body as Record<string, unknown>)['query']).toEqual({
      'eo:cloud_cover': { lte: 40 },
    });

    expect(result.pages).toHaveLength(3);
    expect((result.pages[0]!.body as Page).features).toHaveLength(10);
    expect((result.pages[1]!.body as Page).features).toHaveLength(10);

    const first = result.items[0]!;
    expect(result.bases?.[first.id]).toBe(`${stub.url}/v1/collections/sentinel-2-c1-l2a/items/${first.id}`);
    const product = normalizeItem(first, result.bases?.[first.id] ?? null, catalog.description);
    expect(product.assets['blue']?.href).toMatch(/^https:\/\/.+\.tif$/);
  });

  it('raises PaginationLoopError when the server answers page 2’s token with page 1 again', async () => {
    stub = await serveRecorded((base) => ({
      status: 200,
      body: recorded('search_cql2_cloudcover_lte40_page1.json', `${base}/v1`),
    }));
    const catalog = new StacApiCatalog({ url: `${stub.url}/v1`, clock: recordingClock() });
    const error = await catalog.search(query).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaginationLoopError);
    expect((error as Error).message).toContain(`${stub.url}/v1/search`);
    expect(stub.searchCount()).toBe(3);
  });
});
