import { describe, expect, it } from 'vitest';
import type { Product } from '../../../shared/domain/catalog.ts';
import { aoiCoverage, selectProducts, spreadUniform } from '../../../shared/domain/selection.ts';

const square = (x0: number, y0: number, d: number): GeoJSON.Polygon => ({
  type: 'Polygon',
  coordinates: [
    [
      [x0, y0],
      [x0 + d, y0],
      [x0 + d, y0 + d],
      [x0, y0 + d],
      [x0, y0],
    ],
  ],
});

function product(id: string, datetime: string, extra: Partial<Product> = {}): Product {
  return {
    id,
    collection: 'sentinel-2-c1-l2a',
    datetime,
    tile: '33twl',
    epsg: 32633,
    cloudCover: 10,
    nodataPercent: 0,
    footprint: square(15, 45, 1),
    assets: { red: { href: `https://x/${id}/B04.tif`, scale: 1, offset: 0, nodata: 0, dataType: 'uint16' } },
    selfHref: null,
    online: true,
    ...extra,
  };
}

const aoi = square(15.2, 45.2, 0.2);
const criteria = { maxCloudCover: 30, maxNodataPercent: 20, minAoiCoverage: 0.5, spread: 'uniform' as const };
const ctx = { aoi, start: '2023-01-01', end: '2023-12-31', requiredAssets: ['red'] };

describe('selection', () => {
  it('computes AOI coverage from geodesic areas', () => {
    expect(aoiCoverage(square(15, 45, 1), aoi)).toBeCloseTo(1, 6);
    const half = aoiCoverage(square(15.3, 45, 1), aoi);
    expect(half).toBeGreaterThan(0.45);
    expect(half).toBeLessThan(0.55);
    expect(aoiCoverage(square(20, 45, 1), aoi)).toBe(0);
  });

  it('rejects each candidate with the first failing criterion and says why', () => {
    const result = selectProducts(
      [
        product('ok', '2023-05-01T10:00:00Z'),
        product('cloudy', '2023-05-02T10:00:00Z', { cloudCover: 31 }),
        product('holes', '2023-05-03T10:00:00Z', { nodataPercent: 50 }),
        product('aside', '2023-05-04T10:00:00Z', { footprint: square(15.35, 45, 1) }),
        product('late', '2024-01-02T10:00:00Z'),
        product('nored', '2023-05-05T10:00:00Z', { assets: {} }),
      ],
      criteria,
      ctx,
    );
    const byId = Object.fromEntries(result.candidates.map((c) => [c.id, c]));
    expect(byId.ok?.chosen).toBe(true);
    expect(byId.cloudy?.reason).toBe('cloud-cover');
    expect(byId.cloudy?.detail).toContain('31 > 30');
    expect(byId.holes?.reason).toBe('nodata');
    expect(byId.aside?.reason).toBe('aoi-coverage');
    expect(byId.late?.reason).toBe('outside-period');
    expect(byId.nored?.reason).toBe('missing-band');
    expect(result.chosen['33twl']?.map((p) => p.id)).toEqual(['ok']);
  });

  it('keeps one product per tile and day: the more complete one', () => {
    const result = selectProducts(
      [
        product('a', '2023-05-01T10:00:00Z', { nodataPercent: 5 }),
        product('b', '2023-05-01T10:00:05Z', { nodataPercent: 1 }),
      ],
      criteria,
      ctx,
    );
    expect(result.chosen['33twl']?.map((p) => p.id)).toEqual(['b']);
    expect(result.candidates.find((c) => c.id === 'a')?.reason).toBe('duplicate-date');
  });

  it('spreads maxDates evenly over the period, ties to the less cloudy', () => {
    const monthly = Array.from({ length: 12 }, (_, m) =>
      product(`m${m}`, `2023-${String(m + 1).padStart(2, '0')}-15T10:00:00Z`, { cloudCover: m }),
    );
    const result = selectProducts(monthly, { ...criteria, maxDates: 4 }, ctx);
    const chosen = result.chosen['33twl']?.map((p) => p.datetime.slice(5, 7));
    // Slot centres fall mid-Feb, mid-May, mid-Aug, mid-Nov.
    expect(chosen).toEqual(['02', '05', '08', '11']);
    expect(result.candidates.filter((c) => c.reason === 'max-dates')).toHaveLength(8);

    const tie = spreadUniform(
      [
        { id: 'x', datetime: '2023-01-10T00:00:00Z', cloudCover: 20 },
        { id: 'y', datetime: '2023-01-20T00:00:00Z', cloudCover: 5 },
      ],
      1,
      Date.parse('2023-01-01T00:00:00Z'),
      Date.parse('2023-01-30T00:00:00Z'),
    );
    expect(tie.map((t) => t.id)).toEqual(['y']);
  });

  it('least-cloudy keeps the clearest dates, sorted by date', () => {
    const items = [
      product('p1', '2023-03-01T10:00:00Z', { cloudCover: 9 }),
      product('p2', '2023-04-01T10:00:00Z', { cloudCover: 1 }),
      product('p3', '2023-05-01T10:00:00Z', { cloudCover: 5 }),
    ];
    const result = selectProducts(items, { ...criteria, maxDates: 2, spread: 'least-cloudy' }, ctx);
    expect(result.chosen['33twl']?.map((p) => p.id)).toEqual(['p2', 'p3']);
  });
});
