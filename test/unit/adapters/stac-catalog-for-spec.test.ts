// catalogForSpec maps a job's catalog section onto the right adapter with the right options.
// Checked through a scripted fetch (no network) so the limit reaching the request body is observable.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { catalogForSpec } from '../../../shared/adapters/catalog-for-spec.ts';
import { StacApiCatalog } from '../../../shared/adapters/stac-api-catalog.ts';
import { StaticCatalog } from '../../../shared/adapters/static-catalog.ts';
import { recordingClock } from '../../helpers/stac-stub-server.ts';

describe('catalogForSpec', () => {
  it('opens a StacApiCatalog whose searches use the spec limit and collection', async () => {
    const bodies: unknown[] = [];
    const fetch = async (url: string, init: RequestInit): Promise<Response> => {
      if (init.method === 'POST') bodies.push(JSON.parse(String(init.body)));
      const body = url.endsWith('/search')
        ? { type: 'FeatureCollection', features: [], links: [] }
        : { conformsTo: [] };
      return new Response(JSON.stringify(body), { status: 200 });
    };
    const catalog = catalogForSpec(
      {
        kind: 'stac',
        url: 'https://stac.example/v1/',
        collection: 'sentinel-2-c1-l2a',
        limit: 7,
        maxPages: 2,
        maxItems: 9,
      },
      { clock: recordingClock(), baseDir: '/tmp', fetch },
    );
    expect(catalog).toBeInstanceOf(StacApiCatalog);
    expect(catalog.description).toBe('STAC API https://stac.example/v1');
    const aoi: GeoJSON.Point = { type: 'Point', coordinates: [15, 45] };
    await catalog.search({ collection: '', intersects: aoi, start: '2023-08-01', end: '2023-08-02' });
    expect(bodies[0]).toMatchObject({ collections: ['sentinel-2-c1-l2a'], limit: 7 });
  });

  it('opens a StaticCatalog whose relative source resolves against baseDir', () => {
    const catalog = catalogForSpec(
      { kind: 'static', source: 'items/catalog.json' },
      { clock: recordingClock(), baseDir: '/data/jobs' },
    );
    expect(catalog).toBeInstanceOf(StaticCatalog);
    expect((catalog as StaticCatalog).sourceUrl).toBe(
      pathToFileURL(path.resolve('/data/jobs/items/catalog.json')).href,
    );
    expect(catalog.description).toContain('file:///data/jobs/items/catalog.json');
  });
});
