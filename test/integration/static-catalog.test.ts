// StaticCatalog over real Earth Search items with local COGs, and over small STAC trees written to a
// temp folder (ItemCollection, Catalog -> Collection -> Items, over file:// and http://), errors included.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticCatalog } from '../../shared/adapters/static-catalog.ts';
import { normalizeItem, resolveHref, type StacItem } from '../../shared/domain/catalog.ts';
import { CatalogError, InvalidInputError } from '../../shared/domain/errors.ts';
import type { CatalogQuery } from '../../shared/ports.ts';
import { fixturesRoot, requireFixture } from '../helpers/requirements.ts';
import { makeItem, recordingClock } from '../helpers/stac-stub-server.ts';

const CROATIA = 'sentinel2/earthsearch_v1_timeseries_T33TWL_2023-08_croatia_120m';
const croatia = path.join(fixturesRoot(), CROATIA);
const present = requireFixture(CROATIA);

const box = (w: number, s: number, e: number, n: number): GeoJSON.Polygon => ({
  type: 'Polygon',
  coordinates: [
    [
      [w, s],
      [e, s],
      [e, n],
      [w, n],
      [w, s],
    ],
  ],
});
/** The window of the 120 m COGs in northern Croatia. */
const aoi = box(15.34, 45.18, 16.18, 45.43);
const august: CatalogQuery = { collection: '', intersects: aoi, start: '2023-08-01', end: '2023-08-31' };
const clock = recordingClock();

describe.skipIf(!present)('StaticCatalog over the Earth Search T33TWL folder', () => {
  const catalog = () => new StaticCatalog({ source: croatia, clock });

  it('finds the 5 items, sorted by datetime, each read from its own file', async () => {
    const result = await catalog().search(august);
    expect(result.items.map((i) => i.id)).toEqual([
      'S2B_33TWL_20230810_0_L2A',
      'S2B_33TWL_20230813_0_L2A',
      'S2A_33TWL_20230815_0_L2A',
      'S2A_33TWL_20230818_0_L2A',
      'S2B_33TWL_20230820_0_L2A',
    ]);
    expect(result.pages).toHaveLength(5);
    for (const item of result.items) {
      expect(result.bases?.[item.id]).toBe(
        pathToFileURL(path.join(croatia, item.id, `${item.id}.json`)).href,
      );
    }
  });

  it('filters by period, inclusive of the whole end day', async () => {
    const result = await catalog().search({ ...august, start: '2023-08-13', end: '2023-08-18' });
    expect(result.items.map((i) => i.id)).toEqual([
      'S2B_33TWL_20230813_0_L2A',
      'S2A_33TWL_20230815_0_L2A',
      'S2A_33TWL_20230818_0_L2A',
    ]);
  });

  it('filters by eo:cloud_cover', async () => {
    const result = await catalog().search({ ...august, maxCloudCover: 40 });
    expect(result.items.map((i) => i.id)).toEqual([
      'S2B_33TWL_20230813_0_L2A',
      'S2A_33TWL_20230815_0_L2A',
      'S2B_33TWL_20230820_0_L2A',
    ]);
  });

  it('filters by footprint against the AOI', async () => {
    expect((await catalog().search({ ...august, intersects: box(20, 50, 21, 51) })).items).toEqual([]);
    const corner = box(16.3, 45.9, 16.5, 46.2);
    expect((await catalog().search({ ...august, intersects: corner })).items).toHaveLength(5);
  });

  it('compares the collection only when the query names one', async () => {
    expect((await catalog().search({ ...august, collection: 'sentinel-2-l2a' })).items).toHaveLength(5);
    expect((await catalog().search({ ...august, collection: 'sentinel-2-c1-l2a' })).items).toHaveLength(0);
  });

  it('resolves the relative blue href to the local COG next to the item', async () => {
    const result = await catalog().search(august);
    const item = result.items[0]!;
    const href = resolveHref(item.assets['blue']!.href, result.bases?.[item.id] ?? null);
    expect(href).toBe(pathToFileURL(path.join(croatia, item.id, 'B02.tif')).href);
    expect(existsSync(fileURLToPath(href))).toBe(true);
    const product = normalizeItem(item, result.bases?.[item.id] ?? null, 'test');
    expect(product.assets['blue']?.href).toBe(href);
    expect(product.assets['coastal']?.href).toMatch(/^https:\/\/sentinel-cogs\./);
  });

  it('accepts the folder as a file:// URL and as a path relative to baseDir', async () => {
    const viaUrl = new StaticCatalog({ source: pathToFileURL(croatia).href, clock });
    expect((await viaUrl.search(august)).items).toHaveLength(5);
    const relative = new StaticCatalog({
      source: path.basename(croatia),
      baseDir: path.dirname(croatia),
      clock,
    });
    expect((await relative.search(august)).items).toHaveLength(5);
  });
});

describe('StaticCatalog over STAC documents', () => {
  let dir: string;
  let server: Server;
  let httpBase: string;

  const item = (i: number, href = `data/B02_${i}.tif`): StacItem => {
    const it = makeItem(i, 'sentinel-2-c1-l2a');
    it.assets = { blue: { href } };
    return it;
  };
  const write = async (rel: string, value: unknown): Promise<string> => {
    const file = path.join(dir, rel);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, typeof value === 'string' ? value : JSON.stringify(value));
    return file;
  };
  const fullQuery: CatalogQuery = {
    collection: '',
    intersects: box(15.2, 45.2, 15.8, 45.8),
    start: '2023-08-01',
    end: '2023-08-31',
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'satfactory-static-'));
    // ItemCollection: items 0..2, one repeated (dedup), one of another collection.
    await write('ic/items.json', {
      type: 'FeatureCollection',
      features: [item(0), item(1), item(0), { ...item(2), collection: 'other' }],
    });
    // Catalog -> Collection -> Items, with relative links and a child link back to the root (a cycle).
    await write('tree/catalog.json', {
      type: 'Catalog',
      stac_version: '1.0.0',
      id: 'root',
      description: 'd',
      links: [
        { rel: 'root', href: './catalog.json' },
        { rel: 'child', href: './s2/collection.json' },
      ],
    });
    await write('tree/s2/collection.json', {
      type: 'Collection',
      stac_version: '1.0.0',
      id: 's2',
      links: [
        { rel: 'item', href: './a/item-a.json' },
        { rel: 'item', href: 'b/item-b.json' },
        { rel: 'child', href: '../catalog.json' },
        { rel: 'parent', href: '../catalog.json' },
      ],
    });
    await write('tree/s2/a/item-a.json', item(3, './B02.tif'));
    await write('tree/s2/b/item-b.json', item(4, '../shared/B02.tif'));
    await write('single/item.json', item(5));
    await write('remote-evil/catalog.json', {
      type: 'Catalog',
      stac_version: '1.0.0',
      id: 'evil',
      links: [{ rel: 'item', href: `${pathToFileURL(path.join(dir, 'single/item.json')).href}` }],
    });
    await write('bad/broken.json', '{"type": "Feature", "id": ');
    await write('bad/not-stac.json', { type: 'Topology', objects: {} });
    await write('bad/ic-missing-assets.json', {
      type: 'FeatureCollection',
      features: [item(6), { type: 'Feature', id: 'x', properties: {}, geometry: null }],
    });
    await write('folder/one/item.json', item(7));
    await write('folder/two/item.json', item(8));
    await write('folder/tileinfo_metadata.json', { path: 'tiles/33/T/WL', productName: 'x' });

    server = createServer((req, res) => {
      void readFile(path.join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)))
        .then((body) => res.writeHead(200, { 'content-type': 'application/json' }).end(body))
        .catch(() => res.writeHead(404).end('{"code":"NotFound","description":"no such document"}'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    httpBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('reads an ItemCollection, de-duplicating and keeping the file as base', async () => {
    const result = await new StaticCatalog({ source: path.join(dir, 'ic/items.json'), clock }).search(
      fullQuery,
    );
    expect(result.items.map((i) => i.id)).toEqual([item(0).id, item(1).id, item(2).id]);
    const base = pathToFileURL(path.join(dir, 'ic/items.json')).href;
    expect(result.bases?.[item(1).id]).toBe(base);
    expect(resolveHref(result.items[1]!.assets['blue']!.href, base)).toBe(
      pathToFileURL(path.join(dir, 'ic/data/B02_1.tif')).href,
    );
    expect(result.pages).toHaveLength(1);
  });

  it('filters by collection when the query names one', async () => {
    const result = await new StaticCatalog({ source: path.join(dir, 'ic/items.json'), clock }).search({
      ...fullQuery,
      collection: 'sentinel-2-c1-l2a',
    });
    expect(result.items.map((i) => i.id)).toEqual([item(0).id, item(1).id]);
  });

  it('walks Catalog -> Collection -> Items, resolving hrefs against each item file, without looping', async () => {
    const result = await new StaticCatalog({ source: 'tree/catalog.json', baseDir: dir, clock }).search(
      fullQuery,
    );
    expect(result.items.map((i) => i.id)).toEqual([item(3).id, item(4).id]);
    expect(result.pages.map((p) => path.relative(dir, fileURLToPath(p.request.url)))).toEqual([
      'tree/catalog.json',
      'tree/s2/collection.json',
      'tree/s2/a/item-a.json',
      'tree/s2/b/item-b.json',
    ]);
    const [a, b] = result.items;
    expect(resolveHref(a!.assets['blue']!.href, result.bases?.[a!.id] ?? null)).toBe(
      pathToFileURL(path.join(dir, 'tree/s2/a/B02.tif')).href,
    );
    expect(resolveHref(b!.assets['blue']!.href, result.bases?.[b!.id] ?? null)).toBe(
      pathToFileURL(path.join(dir, 'tree/s2/shared/B02.tif')).href,
    );
  });

  it('reads the same tree over http, with http bases', async () => {
    const source = `${httpBase}/tree/catalog.json`;
    const result = await new StaticCatalog({ source, clock }).search(fullQuery);
    expect(result.items).toHaveLength(2);
    expect(result.bases?.[item(3).id]).toBe(`${httpBase}/tree/s2/a/item-a.json`);
  });

  it('refuses a remote catalog that links to local files', async () => {
    const error = await new StaticCatalog({ source: `${httpBase}/remote-evil/catalog.json`, clock })
      .search(fullQuery)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).context.pointer).toBe('/links/0/href');
  });

  it('names a missing remote document with its URL', async () => {
    const error = await new StaticCatalog({ source: `${httpBase}/nope.json`, clock })
      .search(fullQuery)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CatalogError);
    expect((error as Error).message).toContain(`${httpBase}/nope.json`);
    expect((error as Error).message).toContain('no such document');
  });

  it('reads a single Item file', async () => {
    const result = await new StaticCatalog({
      source: pathToFileURL(path.join(dir, 'single/item.json')).href,
      clock,
    }).search(fullQuery);
    expect(result.items.map((i) => i.id)).toEqual([item(5).id]);
  });

  it('walks a folder for Item files and skips other JSON', async () => {
    const result = await new StaticCatalog({ source: path.join(dir, 'folder'), clock }).search(fullQuery);
    expect(result.items.map((i) => i.id)).toEqual([item(7).id, item(8).id]);
    expect(result.pages).toHaveLength(2);
  });

  it('names the file of bad JSON', async () => {
    const file = path.join(dir, 'bad/broken.json');
    const error = await new StaticCatalog({ source: file, clock }).search(fullQuery).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toContain(file);
    expect((error as InvalidInputError).context).toMatchObject({ source: file, pointer: '/' });
  });

  it('names the file and pointer of a document that is not STAC', async () => {
    const error = await new StaticCatalog({ source: path.join(dir, 'bad/not-stac.json'), clock })
      .search(fullQuery)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatch(/not a STAC ItemCollection, Catalog, Collection or Item/);
    expect((error as InvalidInputError).context.pointer).toBe('/type');
  });

  it('names the pointer of an item without assets in an ItemCollection', async () => {
    const error = await new StaticCatalog({ source: path.join(dir, 'bad/ic-missing-assets.json'), clock })
      .search(fullQuery)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).context.pointer).toBe('/features/1/assets');
    expect((error as Error).message).toContain('ic-missing-assets.json');
  });

  it('names a source that does not exist', async () => {
    const error = await new StaticCatalog({ source: path.join(dir, 'absent'), clock })
      .search(fullQuery)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).context.pointer).toBe('/catalog/source');
    expect((error as Error).message).toContain(path.join(dir, 'absent'));
  });

  it('refuses unsupported schemes up front', () => {
    expect(() => new StaticCatalog({ source: 's3://bucket/catalog.json', clock })).toThrow(
      /unsupported scheme/,
    );
  });
});
