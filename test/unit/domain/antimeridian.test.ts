// Footprints and AOIs across ±180 (Fiji): catalogs' footprints written the short way are split,
// static search and AOI coverage read them the short way, tile ownership measures depth across
// the cut, and the window grids of UTM zones 60 and 1 take the split AOI without a seam.
import { describe, expect, it } from 'vitest';
import { matchesQuery } from '../../../shared/adapters/static-catalog.ts';
import {
  continuousFrame,
  crossesAntimeridian,
  normalizeFootprint,
} from '../../../shared/domain/antimeridian.ts';
import { parseAoi } from '../../../shared/domain/aoi.ts';
import type { StacItem } from '../../../shared/domain/catalog.ts';
import { normalizeItem } from '../../../shared/domain/catalog.ts';
import { boundsOf, converterBetween, projectPolygon, rectToWgs84Bbox } from '../../../shared/domain/crs.ts';
import { buildTileGrid, windowBounds, windowsIntersecting } from '../../../shared/domain/grid.ts';
import { ownerOf } from '../../../shared/domain/ownership.ts';
import { aoiCoverage } from '../../../shared/domain/selection.ts';
import { cogOf } from '../../helpers/tile-plan.ts';

const box = (x0: number, y0: number, x1: number, y1: number): GeoJSON.Position[] => [
  [x0, y0],
  [x1, y0],
  [x1, y1],
  [x0, y1],
  [x0, y0],
];
const polygon = (ring: GeoJSON.Position[]): GeoJSON.Polygon => ({ type: 'Polygon', coordinates: [ring] });

/** The AOI as a user writes it across the antimeridian: 179.9°E to 179.9°W. */
const FIJI = polygon(box(179.9, -16.6, 180.1, -16.5));
const fijiAoi = () => parseAoi(FIJI, { source: 'job.json', pointer: '/aoi' }).area;

/** A footprint box from lon0 to lon1 (lon1 may pass 180) in the split form, written by hand. */
function splitBox(lon0: number, lon1: number, lat0: number, lat1: number): GeoJSON.MultiPolygon {
  return {
    type: 'MultiPolygon',
    coordinates: [[box(lon0, lat0, 180, lat1)], [box(-180, lat0, lon1 - 360, lat1)]],
  };
}

const item = (id: string, geometry: GeoJSON.Geometry): StacItem => ({
  type: 'Feature',
  id,
  geometry,
  properties: { datetime: '2023-06-01T10:00:00Z', 'proj:epsg': 32760, 'eo:cloud_cover': 1 },
  assets: { red: { href: 'red.tif' } },
  links: [],
});

const query = () => ({
  collection: '',
  intersects: fijiAoi(),
  start: '2023-05-01',
  end: '2023-07-31',
});

describe('footprints across the antimeridian', () => {
  it('splits a footprint written the short way across ±180 (an edge from 179.7 to -179.7)', () => {
    const wrapped = polygon([
      [179.7, -16.8],
      [-179.7, -16.8],
      [-179.7, -16.3],
      [179.7, -16.3],
      [179.7, -16.8],
    ]);
    const fp = normalizeFootprint(wrapped);
    expect(crossesAntimeridian(fp)).toBe(true);
    expect(boundsOf(fp)).toEqual([-180, -16.8, 180, -16.3]);
    const parts = (fp as GeoJSON.MultiPolygon).coordinates.map((p) =>
      boundsOf({ type: 'Polygon', coordinates: p }),
    );
    expect(parts.map((b) => b.map((v) => Math.round(v * 1e9) / 1e9))).toEqual(
      expect.arrayContaining([
        [179.7, -16.8, 180, -16.3],
        [-180, -16.8, -179.7, -16.3],
      ]),
    );
    // A footprint that needs nothing comes back as it is (same object).
    const plain = polygon(box(15, 45, 16, 46));
    expect(normalizeFootprint(plain)).toBe(plain);
    // normalizeItem stores the split form, whatever the catalog wrote.
    expect(crossesAntimeridian(normalizeItem(item('a', wrapped), null, 'test').footprint)).toBe(true);
  });

  it('static search matches items near 180° and not an item at longitude 0 (the AOI is no band round the world)', () => {
    const near = item('near', splitBox(179.7, 180.3, -16.8, -16.3));
    const wrapped = item('wrapped', {
      type: 'Polygon',
      coordinates: [
        [
          [179.7, -16.8],
          [-179.7, -16.8],
          [-179.7, -16.3],
          [179.7, -16.3],
          [179.7, -16.8],
        ],
      ],
    });
    const zero = item('zero', polygon(box(0, -16.8, 0.5, -16.3)));
    expect(matchesQuery(near, query(), 'test')).toBe(true);
    expect(matchesQuery(wrapped, query(), 'test')).toBe(true);
    expect(matchesQuery(zero, query(), 'test')).toBe(false);
    // And a footprint written across ±180 is no band either: it does not meet an AOI at longitude 0.
    expect(
      matchesQuery(wrapped, { ...query(), intersects: polygon(box(0, -16.6, 0.1, -16.5)) }, 'test'),
    ).toBe(false);
  });

  it('measures AOI coverage across the seam: a footprint holding the whole AOI covers 100 %, half of it 50 %', () => {
    expect(aoiCoverage(splitBox(179.7, 180.3, -16.8, -16.3), fijiAoi())).toBeCloseTo(1, 9);
    expect(aoiCoverage(splitBox(179.7, 180.0, -16.8, -16.3), fijiAoi())).toBeCloseTo(0.5, 3);
    expect(aoiCoverage(polygon(box(0, -16.8, 0.5, -16.3)), fijiAoi())).toBe(0);
  });

  it('gives a point to the footprint that holds it deepest, measured across the cut at ±180', () => {
    // A spans 179.85°E..179.6°W, B 179.6°E..179.85°W: at 179.99°E B holds it 0.16° deep, A 0.14°;
    // at 179.97°W A holds it 0.18°, B 0.12°. Measured only up to the cut, both would be ~0.01-0.03°.
    const footprints = new Map<string, GeoJSON.MultiPolygon>([
      ['60kaa', splitBox(179.85, 180.4, -17.5, -15.5)],
      ['01kbb', splitBox(179.6, 180.15, -17.5, -15.5)],
    ]);
    expect(ownerOf([179.99, -16.5], footprints)).toBe('01kbb');
    expect(ownerOf([-179.97, -16.5], footprints)).toBe('60kaa');
    expect(ownerOf([179.7, -16.5], footprints)).toBe('01kbb');
    expect(ownerOf([-179.7, -16.5], footprints)).toBe('60kaa');
    expect(ownerOf([0, -16.5], footprints)).toBeUndefined();
    // The continuous frame: one polygon from 179.85 to 180.4.
    expect(boundsOf(continuousFrame(splitBox(179.85, 180.4, -17.5, -15.5)).geometry)).toEqual([
      179.85, -17.5, 180.4, -15.5,
    ]);
  });

  it('writes a window straddling ±180 with a west > east WGS84 bbox (RFC 7946), not a box round the world', () => {
    const [x] = converterBetween(4326, 32760).forward([180, -16.5]);
    const b = rectToWgs84Bbox(32760, [(x as number) - 720, 8172000, (x as number) + 720, 8173440]);
    expect(b[0]).toBeGreaterThan(179.99);
    expect(b[2]).toBeLessThan(-179.99);
    expect(b[2] - b[0]).toBeLessThan(-359.9);
  });
});

describe('window grids of UTM zones 60 and 1 under an AOI across ±180', () => {
  // A 60 m tile (1250 px = 75 km) around the antimeridian in each zone; 24 px windows of 1440 m.
  const grid = (epsg: number, originX: number) =>
    buildTileGrid({
      tile: `t${epsg}`,
      epsg,
      bands: [
        { name: 'red', cog: cogOf(60, { originX, originY: 8200000, width: 1250, height: 1250, epsg }) },
      ],
      windowSize: 24,
      stride: 24,
      regionTiles: 1,
    });

  for (const [epsg, originX] of [
    [32760, 795000],
    [32701, 130000],
  ] as const) {
    it(`EPSG:${epsg}: the split AOI selects the same windows as the AOI projected whole, about its area`, () => {
      const g = grid(epsg, originX);
      const split = projectPolygon(fijiAoi(), epsg);
      const whole = projectPolygon(FIJI, epsg); // proj4 takes 180.1 as 179.9°W: an independent path
      const viaSplit = windowsIntersecting(g, split, boundsOf(split));
      const viaWhole = windowsIntersecting(g, whole, boundsOf(whole));
      expect(viaSplit).toEqual(viaWhole);
      expect(new Set(viaSplit.map((w) => `${w.row}/${w.col}`)).size).toBe(viaSplit.length);
      // 21.3 km x 11.1 km of AOI in 1.44 km windows: 15 x 8 = 120 inside, up to 17 x 10 touching it.
      expect(viaSplit.length).toBeGreaterThanOrEqual(15 * 8);
      expect(viaSplit.length).toBeLessThanOrEqual(17 * 10);
      // Windows on both sides of 180°: the grid runs across the seam.
      const toLonLat = converterBetween(4326, epsg);
      const lons = viaSplit.map((w) => {
        const b = windowBounds(g, w);
        return toLonLat.inverse([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2])[0] as number;
      });
      expect(lons.some((l) => l > 179.9 && l < 180)).toBe(true);
      expect(lons.some((l) => l < -179.9 && l > -180)).toBe(true);
    });
  }
});
