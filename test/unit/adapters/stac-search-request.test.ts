// The pure parts of the STAC API client: conformance -> filter dialect, the search body, the period,
// next-link requests (GET, POST, merge, headers) and the fingerprints that detect paging loops.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  itemBase,
  nextRequest,
  requestFingerprint,
  type SearchRequest,
  searchBody,
  searchInterval,
  serverFilterFor,
  serverSorts,
} from '../../../shared/adapters/stac-api-catalog.ts';
import { InvalidInputError } from '../../../shared/domain/errors.ts';
import { canonicalJson } from '../../../shared/domain/hashing.ts';
import { fixturesRoot, requireFixture } from '../../helpers/requirements.ts';
import { CONFORMS_CQL2, CONFORMS_QUERY, makeItem } from '../../helpers/stac-stub-server.ts';

function recordedConformsTo(dir: string): string[] | undefined {
  return (
    JSON.parse(readFileSync(path.join(fixturesRoot(), 'stac', dir, 'landing_page.json'), 'utf8')) as {
      conformsTo?: string[];
    }
  ).conformsTo;
}

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
const query = { collection: 'sentinel-2-c1-l2a', intersects: aoi, start: '2023-08-01', end: '2023-08-31' };

describe('serverFilterFor', () => {
  it('picks CQL2 when the server lists the filter extension and cql2-json', () => {
    expect(serverFilterFor(CONFORMS_CQL2)).toBe('cql2');
  });
  it('falls back to the query extension, then to none', () => {
    expect(serverFilterFor(CONFORMS_QUERY)).toBe('query');
    expect(serverFilterFor(['https://api.stacspec.org/v1.0.0/core'])).toBe('none');
    expect(serverFilterFor(undefined)).toBe('none');
  });
  it('does not send CQL2-JSON to a server that only speaks cql2-text', () => {
    const textOnly = [
      'https://api.stacspec.org/v1.0.0-rc.2/item-search#filter',
      'http://www.opengis.net/spec/cql2/1.0/conf/cql2-text',
      'https://api.stacspec.org/v1.0.0/item-search#query',
    ];
    expect(serverFilterFor(textOnly)).toBe('query');
  });
  it('reads the recorded Earth Search v1 landing page as query-extension only', (ctx) => {
    if (!requireFixture('stac/earth-search-v1/landing_page.json')) return ctx.skip();
    expect(serverFilterFor(recordedConformsTo('earth-search-v1'))).toBe('query');
    expect(serverSorts(recordedConformsTo('earth-search-v1'))).toBe(true);
  });
  it('sends sortby unless the conformance is known and lacks sort', () => {
    expect(serverSorts(undefined)).toBe(true);
    expect(serverSorts(['https://api.stacspec.org/v1.0.0/core'])).toBe(false);
  });
});

describe('searchInterval', () => {
  it('expands date-only boundaries to whole UTC days', () => {
    expect(searchInterval('2023-08-01', '2023-08-31')).toEqual({
      start: '2023-08-01T00:00:00Z',
      end: '2023-08-31T23:59:59Z',
    });
  });
  it('keeps datetimes with an offset and reads bare times as UTC', () => {
    expect(searchInterval('2023-08-01T10:00:00+02:00', '2023-08-02T12:30:00')).toEqual({
      start: '2023-08-01T10:00:00+02:00',
      end: '2023-08-02T12:30:00Z',
    });
  });
  it('rejects a boundary that is not a date', () => {
    expect(() => searchInterval('2023-13-45', '2023-08-01')).toThrow(InvalidInputError);
  });
});

describe('searchBody', () => {
  it('builds collections, intersects, datetime, limit, sortby and a CQL2-JSON cloud filter', () => {
    const body = searchBody({ ...query, maxCloudCover: 30 }, 'sentinel-2-c1-l2a', {
      limit: 50,
      filter: 'cql2',
      sort: true,
    });
    expect(body).toEqual({
      collections: ['sentinel-2-c1-l2a'],
      intersects: aoi,
      datetime: '2023-08-01T00:00:00Z/2023-08-31T23:59:59Z',
      limit: 50,
      sortby: [{ field: 'properties.datetime', direction: 'asc' }],
      'filter-lang': 'cql2-json',
      filter: { op: '<=', args: [{ property: 'eo:cloud_cover' }, 30] },
    });
  });
  it('uses the legacy query extension when that is all the server has', () => {
    const body = searchBody({ ...query, maxCloudCover: 30 }, 'c', {
      limit: 10,
      filter: 'query',
      sort: false,
    });
    expect(body['query']).toEqual({ 'eo:cloud_cover': { lte: 30 } });
    expect(body['filter']).toBeUndefined();
    expect(body['sortby']).toBeUndefined();
  });
  it('sends no cloud filter when the server has none, or when the bound is 100 %', () => {
    const none = searchBody({ ...query, maxCloudCover: 30 }, 'c', { limit: 10, filter: 'none', sort: true });
    expect(Object.keys(none)).not.toContain('filter');
    expect(Object.keys(none)).not.toContain('query');
    const all = searchBody({ ...query, maxCloudCover: 100 }, 'c', { limit: 10, filter: 'cql2', sort: true });
    expect(Object.keys(all)).not.toContain('filter');
  });
});

describe('nextRequest', () => {
  const first: SearchRequest = {
    method: 'POST',
    url: 'https://stac.example/v1/search',
    body: { collections: ['c'], limit: 10 },
  };
  it('merges the link body into the previous body when merge is true', () => {
    const next = nextRequest(
      { rel: 'next', href: './search', method: 'POST', merge: true, body: { token: 'p2' } },
      first,
    );
    expect(next).toEqual({
      method: 'POST',
      url: 'https://stac.example/v1/search',
      body: { collections: ['c'], limit: 10, token: 'p2' },
    });
  });
  it('sends the link body alone when merge is false (Earth Search v1 style)', () => {
    const next = nextRequest(
      {
        rel: 'next',
        href: 'https://stac.example/v1/search',
        method: 'POST',
        merge: false,
        body: { next: 'tok' },
      },
      first,
    );
    expect(next.body).toEqual({ next: 'tok' });
  });
  it('repeats the previous body for a POST link without one', () => {
    expect(nextRequest({ rel: 'next', href: first.url, method: 'POST' }, first).body).toEqual(first.body);
  });
  it('follows GET links without a body, resolving relative hrefs', () => {
    const next = nextRequest({ rel: 'next', href: 'search?token=3' }, first);
    expect(next).toEqual({ method: 'GET', url: 'https://stac.example/v1/search?token=3' });
  });
  it('carries link headers (arrays joined)', () => {
    const next = nextRequest(
      {
        rel: 'next',
        href: first.url,
        method: 'POST',
        body: {},
        headers: { 'x-key': 'k', 'x-list': ['a', 'b'] },
      },
      first,
    );
    expect(next.headers).toEqual({ 'x-key': 'k', 'x-list': 'a, b' });
  });
  it('refuses methods other than GET and POST', () => {
    expect(() => nextRequest({ rel: 'next', href: first.url, method: 'PUT' }, first)).toThrow(
      /only GET and POST/,
    );
  });
});

describe('fingerprints', () => {
  it('ignore key order but not values', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"e":3,"f":2}]},"b":1}',
    );
    const a = requestFingerprint({ method: 'POST', url: 'u', body: { x: 1, y: 2 } });
    expect(requestFingerprint({ method: 'POST', url: 'u', body: { y: 2, x: 1 } })).toBe(a);
    expect(requestFingerprint({ method: 'POST', url: 'u', body: { y: 2, x: 2 } })).not.toBe(a);
    expect(requestFingerprint({ method: 'GET', url: 'u' })).not.toBe(
      requestFingerprint({ method: 'GET', url: 'v' }),
    );
  });
});

describe('itemBase', () => {
  it('is the self link, resolved against the page, else the page URL', () => {
    const item = makeItem(1);
    expect(itemBase(item, 'https://stac.example/v1/search')).toBe('https://stac.example/v1/search');
    item.links = [{ rel: 'self', href: '/v1/collections/c/items/x' }];
    expect(itemBase(item, 'https://stac.example/v1/search')).toBe(
      'https://stac.example/v1/collections/c/items/x',
    );
  });
});
