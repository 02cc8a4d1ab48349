// AOIs through the real planner (`satfactory plan`, in process): the offline example's AOI with an
// unclosed ring (35 windows along its outline before, silently), a bow-tie, unreadable AOI files;
// and an AOI across the antimeridian near Fiji over tiles of UTM zones 60 and 1 (tiny COGs written
// here, headers only), searched in a static catalog and a STAC API, windowed once.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { area, booleanPointInPolygon, featureCollection, intersect, polygon } from '@turf/turf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOfflineScene } from '../../scripts/make-offline-example.ts';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { converterBetween, toWgs84 } from '../../shared/domain/crs.ts';
import type { TileGrid } from '../../shared/domain/grid.ts';
import { windowBounds } from '../../shared/domain/grid.ts';
import { cliInProcess } from '../helpers/run-cli.ts';
import { CONFORMS_CQL2, type StacStub, startStacStub } from '../helpers/stac-stub-server.ts';
import { buildTiff } from '../helpers/tiff-builder.ts';

const repo = path.resolve(import.meta.dirname, '../..');

const cli = cliInProcess;

const exists = (p: string) =>
  readFile(p).then(
    () => true,
    () => false,
  );

describe('AOI validation through satfactory plan (offline example)', () => {
  let dir: string;
  let job: Record<string, unknown>;
  const ring = [
    [15.0, 45.12],
    [15.06, 45.12],
    [15.06, 45.16],
    [15.0, 45.16],
    [15.0, 45.12],
  ];
  const write = async (name: string, changes: Record<string, unknown>) => {
    const file = path.join(dir, `${name}.json`);
    await writeFile(file, JSON.stringify({ ...job, output: { uri: `out/${name}` }, ...changes }));
    return file;
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-aoi-'));
    await makeOfflineScene(path.join(dir, 'offline-scene'));
    job = JSON.parse(await readFile(path.join(repo, 'examples/offline.json'), 'utf8'));
    delete job.$schema;
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses an AOI with an unclosed ring (exit 2, /aoi/coordinates/0), writing nothing; aoiRepair plans the 320 windows of the closed AOI', async () => {
    const closed = await cli([
      'plan',
      await write('closed', { aoi: { type: 'Polygon', coordinates: [ring] } }),
    ]);
    expect(closed.code, closed.err).toBe(0);
    // One region: 768 px (lcm of 24 px windows and 256 px tiles) holds the whole grid.
    expect(closed.out).toMatch(/windows\s+320 in 1 region/);

    const open = { type: 'Polygon', coordinates: [ring.slice(0, 4)] };
    const refused = await cli(['plan', await write('unclosed', { aoi: open })]);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(
      /InvalidInputError: \S+unclosed\.json \/aoi\/coordinates\/0: the outer ring is not closed: it ends at \[15,45\.16\], not at its first position \[15,45\.12\]; fix the AOI, or set "aoiRepair": true/,
    );
    expect(await exists(path.join(dir, 'out/unclosed'))).toBe(false);

    const repaired = await cli(['plan', await write('repaired', { aoi: open, aoiRepair: true })]);
    expect(repaired.code, repaired.err).toBe(0);
    expect(repaired.out).toMatch(/windows\s+320 in 1 region/); // was 35, along the outline
    const selection = JSON.parse(await readFile(path.join(dir, 'out/repaired/selection.json'), 'utf8'));
    expect(selection.aoi.repairs).toEqual([
      expect.objectContaining({ pointer: '/aoi/coordinates/0', problem: 'unclosed-ring', action: 'fixed' }),
    ]);
    expect(selection.aoi.geometry).toEqual({ type: 'Polygon', coordinates: [ring] });
  });

  it('refuses a bow-tie AOI (exit 2) naming its crossing edges, writing nothing', async () => {
    const bowtie = [ring[0], ring[2], ring[1], ring[3], ring[0]];
    const r = await cli(['plan', await write('bowtie', { aoi: { type: 'Polygon', coordinates: [bowtie] } })]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\/aoi\/coordinates\/0: the outer ring crosses itself \(edges 0 and 2, cross\)/);
    expect(await exists(path.join(dir, 'out/bowtie'))).toBe(false);
  });

  it('refuses an AOI file that is garbage, cut short or nested a million deep (exit 2), naming the file', async () => {
    const aoiFile = path.join(dir, 'aoi.geojson');
    const feature = JSON.stringify({
      type: 'Feature',
      properties: {},
      geometry: { type: 'Polygon', coordinates: [ring] },
    });
    for (const [content, expected] of [
      [
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
        /AOI file \S+aoi\.geojson is not valid JSON/,
      ],
      [feature.slice(0, feature.length / 2), /AOI file \S+aoi\.geojson is not valid JSON/],
      [
        `{"type":"Polygon","coordinates":${'['.repeat(1_000_000)}0${']'.repeat(1_000_000)}}`,
        /aoi\.geojson \/coordinates\/0\/0: is .* not a \[lon, lat\] position/,
      ],
    ] as const) {
      await writeFile(aoiFile, content);
      const r = await cli(['plan', await write('aoi-file', { aoi: 'aoi.geojson' })]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(expected);
      expect(await exists(path.join(dir, 'out/aoi-file'))).toBe(false);
    }
  }, 60_000);
});

// --- the antimeridian -------------------------------------------------------------------------

const RES = 60;
const SIZE = 1250; // 75 km at 60 m
/** A grid of each zone around 180°: zone 60 (EPSG:32760) and zone 1 (EPSG:32701), south. */
const TILES = [
  { id: 'S2_60KAA_20230610', tile: ['60', 'K', 'AA'], epsg: 32760, originX: 795000 },
  { id: 'S2_01KBB_20230612', tile: ['1', 'K', 'BB'], epsg: 32701, originX: 130000 },
] as const;
const ORIGIN_Y = 8200000;

/** 179.85°E to 179.6°W (A) and 179.6°E to 179.85°W (B): boxes inside their grids, meeting near 180°. */
const box = (x0: number, y0: number, x1: number, y1: number) => [
  [x0, y0],
  [x1, y0],
  [x1, y1],
  [x0, y1],
  [x0, y0],
];
const FOOTPRINTS: Record<string, GeoJSON.Geometry> = {
  // As Earth Search writes such footprints: a MultiPolygon split at ±180.
  S2_60KAA_20230610: {
    type: 'MultiPolygon',
    coordinates: [[box(179.85, -16.85, 180, -16.3)], [box(-180, -16.85, -179.6, -16.3)]],
  },
  // As some catalogs write them: one ring across ±180 the short way.
  S2_01KBB_20230612: {
    type: 'Polygon',
    coordinates: [
      [
        [179.6, -16.85],
        [-179.85, -16.85],
        [-179.85, -16.3],
        [179.6, -16.3],
        [179.6, -16.85],
      ],
    ],
  },
  // An item at longitude 0: a 359.8° band round the world used to select it.
  S2_31KAA_20230611: { type: 'Polygon', coordinates: [box(0.1, -16.85, 0.6, -16.3)] },
};
/** The AOI as the user writes it: 179.9°E to 179.9°W, longitudes past 180. */
const AOI = { type: 'Polygon', coordinates: [box(179.9, -16.6, 180.1, -16.5)] };

async function writeAntimeridianScene(folder: string): Promise<Record<string, unknown>[]> {
  const cog = (epsg: number, originX: number) =>
    buildTiff([
      {
        width: SIZE,
        height: SIZE,
        data: new Uint16Array(SIZE * SIZE),
        tileWidth: 256,
        tileHeight: 256,
        compression: 8,
        nodata: '0',
        geo: { originX, originY: ORIGIN_Y, resX: RES, resY: RES, epsg },
      },
    ]);
  const items: Record<string, unknown>[] = [];
  const all = [...TILES, { id: 'S2_31KAA_20230611', tile: ['31', 'K', 'AA'], epsg: 32731, originX: 170000 }];
  for (const t of all) {
    const dir = path.join(folder, t.id);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'red.tif'), cog(t.epsg, t.originX));
    const item = {
      type: 'Feature',
      stac_version: '1.0.0',
      id: t.id,
      collection: 'synthetic-s2',
      geometry: FOOTPRINTS[t.id],
      properties: {
        datetime: `2023-06-${t.id.slice(-2)}T22:00:00Z`,
        'eo:cloud_cover': 1,
        'proj:epsg': t.epsg,
        'mgrs:utm_zone': Number(t.tile[0]),
        'mgrs:latitude_band': t.tile[1],
        'mgrs:grid_square': t.tile[2],
      },
      links: [],
      assets: { red: { href: 'red.tif', 'raster:bands': [{ nodata: 0, data_type: 'uint16' }] } },
    };
    await writeFile(path.join(dir, `${t.id}.json`), JSON.stringify(item));
    items.push({
      ...item,
      assets: { red: { ...item.assets.red, href: `file://${path.join(dir, 'red.tif')}` } },
    });
  }
  return items;
}

type PlannedWindow = { tile: string; lonlat: GeoJSON.Position[] };

/** Every planned window (from the region plans in the work store) as a lon/lat ring, lon in 0..360. */
async function plannedWindows(workRoot: string): Promise<PlannedWindow[]> {
  const work = new FsBlobStore(workRoot);
  const out: PlannedWindow[] = [];
  for (const key of await work.list('runs/')) {
    if (!/\/regions\/[^/]+\.json$/.test(key)) continue;
    const region = JSON.parse(Buffer.from((await work.get(key)) as Uint8Array).toString());
    const tilePlan = JSON.parse(Buffer.from((await work.get(region.tilePlanKey)) as Uint8Array).toString());
    const grid = tilePlan.grid as TileGrid;
    for (const w of region.windows) {
      const [x0, y0, x1, y1] = windowBounds(grid, w);
      const ring = [
        [x0, y0],
        [x1, y0],
        [x1, y1],
        [x0, y1],
        [x0, y0],
      ].map(([x, y]) => {
        const [lon, lat] = toWgs84(grid.epsg, [x as number, y as number]);
        return [lon < 0 ? lon + 360 : lon, lat];
      });
      out.push({ tile: region.tile, lonlat: ring });
    }
  }
  return out;
}

describe('an AOI across the antimeridian through satfactory plan (UTM zones 60 and 1)', () => {
  let dir: string;
  let items: Record<string, unknown>[];
  let stub: StacStub | undefined;
  const baseJob = () => ({
    name: 'fiji',
    catalog: { kind: 'static', source: 'scene' },
    aoi: AOI,
    period: { start: '2023-06-01', end: '2023-06-30' },
    bands: ['red'],
    windows: { size: 24 },
    // A plan of where windows fall, not of splits: one split for all of them.
    splits: { method: 'random', train: 1, validation: 0, test: 0 },
    output: { uri: 'out/static' },
  });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-antimeridian-'));
    items = await writeAntimeridianScene(path.join(dir, 'scene'));
  });
  afterAll(async () => {
    await stub?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('searches the static catalog as two parts meeting at ±180: both tiles, not the item at longitude 0', async () => {
    await writeFile(path.join(dir, 'static.json'), JSON.stringify(baseJob()));
    const r = await cli(['plan', path.join(dir, 'static.json')]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/products\s+2 on 2 tile\(s\)/);
    const selection = JSON.parse(await readFile(path.join(dir, 'out/static/selection.json'), 'utf8'));
    expect(selection.candidates.map((c: { id: string }) => c.id).sort()).toEqual([
      'S2_01KBB_20230612',
      'S2_60KAA_20230610',
    ]);
    // Each footprint holds the whole AOI, read the short way round.
    for (const c of selection.candidates) expect(c.aoiCoverage).toBeCloseTo(1, 6);
    expect(selection.aoi.antimeridian).toBe(true);
    expect(selection.aoi.geometry.type).toBe('MultiPolygon');
    for (const part of selection.aoi.geometry.coordinates)
      for (const [lon] of part[0]) expect(Math.abs(lon)).toBeLessThanOrEqual(180);
  });

  it('plans each place once: windows of both zones, about the AOI area, overlapping by seam slivers only, covering it', async () => {
    const windows = await plannedWindows(path.join(dir, 'out/static/.satfactory'));
    const byTile = new Map<string, number>();
    for (const w of windows) byTile.set(w.tile, (byTile.get(w.tile) ?? 0) + 1);
    expect([...byTile.keys()].sort()).toEqual(['01kbb', '60kaa']);
    for (const n of byTile.values()) expect(n).toBeGreaterThan(20);

    // The AOI in the same continuous frame (lon 179.9..180.1): turf's areas are geodesic.
    const aoi = polygon([box(179.9, -16.6, 180.1, -16.5)]);
    const windowArea = (1440 * 1440) / 1e6; // km², to a fraction of a percent at this latitude
    const aoiArea = area(aoi) / 1e6;
    expect(windows.length).toBeGreaterThanOrEqual(Math.floor(aoiArea / windowArea));
    expect(windows.length).toBeLessThanOrEqual(Math.ceil((aoiArea / windowArea) * 1.35));

    // Overlap between the two tiles' windows: the seam only (each tile keeps what it holds deepest).
    const a = windows.filter((w) => w.tile === '60kaa').map((w) => polygon([w.lonlat]));
    const b = windows.filter((w) => w.tile === '01kbb').map((w) => polygon([w.lonlat]));
    let overlap = 0;
    for (const p of a)
      for (const q of b) {
        const hit = intersect(featureCollection([p, q]));
        if (hit) overlap += area(hit) / 1e6;
      }
    expect(overlap / aoiArea).toBeLessThan(0.05);

    // Coverage: points across the AOI fall in some window (the seam may leave slivers).
    let covered = 0;
    let total = 0;
    for (let i = 0; i < 40; i++)
      for (let j = 0; j < 20; j++) {
        const pt: [number, number] = [179.9 + (0.2 * (i + 0.5)) / 40, -16.6 + (0.1 * (j + 0.5)) / 20];
        total++;
        if ([...a, ...b].some((p) => booleanPointInPolygon(pt, p))) covered++;
      }
    expect(covered / total).toBeGreaterThan(0.97);
  });

  it('sends the STAC API the AOI as a MultiPolygon split at ±180 (the request body), and plans the same windows', async () => {
    stub = await startStacStub({
      conformsTo: CONFORMS_CQL2,
      // A real server filters by `intersects`; the stub answers with the two tiles near 180°.
      items: items.filter((i) => i['id'] !== 'S2_31KAA_20230611') as never,
    });
    const job = {
      ...baseJob(),
      catalog: { kind: 'stac', url: stub.url, collection: 'synthetic-s2' },
      output: { uri: 'out/api' },
    };
    await writeFile(path.join(dir, 'api.json'), JSON.stringify(job));
    const r = await cli(['plan', path.join(dir, 'api.json')]);
    expect(r.code, r.err).toBe(0);
    const search = stub.requests.find((q) => q.path === '/search');
    expect(search).toBeDefined();
    const intersects = (search?.body as { intersects: GeoJSON.MultiPolygon } | undefined)?.intersects;
    if (!intersects) throw new Error('no intersects in the search body');
    expect(intersects.type).toBe('MultiPolygon');
    expect(intersects.coordinates).toHaveLength(2);
    const lons = intersects.coordinates.flatMap((p) => (p[0] ?? []).map((q) => q[0] as number));
    expect(Math.max(...lons)).toBe(180);
    expect(Math.min(...lons)).toBe(-180);
    const viaApi = await plannedWindows(path.join(dir, 'out/api/.satfactory'));
    const viaStatic = await plannedWindows(path.join(dir, 'out/static/.satfactory'));
    const keys = (ws: PlannedWindow[]) => ws.map((w) => `${w.tile} ${JSON.stringify(w.lonlat[0])}`).sort();
    expect(keys(viaApi)).toEqual(keys(viaStatic));
  });

  it('projects the AOI into both zones continuously: 180°E and 180°W land on one easting', () => {
    for (const epsg of [32760, 32701]) {
      const c = converterBetween(4326, epsg);
      const [east] = c.forward([180, -16.5]);
      const [west] = c.forward([-180, -16.5]);
      expect(Math.abs((east as number) - (west as number))).toBeLessThan(1e-6);
    }
  });
});
