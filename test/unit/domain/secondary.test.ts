import { describe, expect, it } from 'vitest';
import type { Product } from '../../../shared/domain/catalog.ts';
import type { CogInfo } from '../../../shared/domain/cog-types.ts';
import { chooseSecondary, cutFloat } from '../../../shared/domain/secondary.ts';

const square = (x0: number, y0: number, d = 1): GeoJSON.Polygon => ({
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

const s1 = (id: string, datetime: string, footprint = square(10, 45), bands = ['vv', 'vh']): Product => ({
  id,
  collection: 'sentinel-1-rtc',
  datetime,
  tile: 'epsg32633',
  epsg: 32633,
  cloudCover: null,
  nodataPercent: null,
  footprint,
  assets: Object.fromEntries(
    bands.map((b) => [
      b,
      { href: `https://x/${id}/${b}.tif`, scale: null, offset: null, nodata: -32768, dataType: 'float32' },
    ]),
  ),
  selfHref: null,
  online: true,
});

const tile = {
  tile: '33tuv',
  footprint: square(10.2, 45.2, 0.5),
  dates: ['2023-06-10T10:00:00.000Z', '2023-06-20T10:00:00.000Z'],
};
const period = { start: '2023-06-01', end: '2023-06-30' };
const source = (selection: Record<string, unknown>) =>
  ({ name: 's1', catalog: { kind: 'static', source: 'x' }, bands: ['vv', 'vh'], selection }) as never;

describe('chooseSecondary', () => {
  const products = [
    s1('a', '2023-06-02T05:00:00Z'),
    s1('b', '2023-06-09T17:00:00Z'),
    s1('c', '2023-06-11T05:00:00Z', square(10, 45), ['vv']),
    s1('d', '2023-06-21T05:00:00Z'),
    s1('far', '2023-06-10T05:00:00Z', square(30, 10)),
  ];

  it('nearest: per chosen date the nearest overlapping product with every band, each once, and why not the others', () => {
    const r = chooseSecondary(source({ nearest: true }), products, tile, period);
    expect(r.chosen.map((p) => p.id)).toEqual(['b', 'd']);
    const why = Object.fromEntries(r.candidates.map((c) => [c.id, c.reason]));
    expect(why).toEqual({ a: 'not-nearest', b: null, far: 'no-overlap', c: 'missing-band', d: null });
    expect(r.candidates.find((c) => c.id === 'b')?.forDates).toEqual(['2023-06-10T10:00:00.000Z']);
  });

  it('nearest with maxDaysApart: a date whose nearest is farther gets none, said on that product', () => {
    // b is 17 hours from the first date, d 19 hours from the second.
    const r = chooseSecondary(source({ nearest: true, maxDaysApart: 0.75 }), products, tile, period);
    expect(r.chosen.map((p) => p.id)).toEqual(['b']);
    expect(r.candidates.find((c) => c.id === 'd')?.reason).toBe('too-far');
  });

  it('maxDates: that many, spread over the period', () => {
    const r = chooseSecondary(source({ maxDates: 2 }), products, tile, period);
    expect(r.chosen.map((p) => p.id)).toEqual(['a', 'd']);
  });
});

describe('cutFloat', () => {
  it('keeps source values, and gives NaN for nodata and outside the raster', () => {
    const cog = {
      href: 'x',
      width: 2,
      height: 2,
      tileWidth: 2,
      tileHeight: 2,
      tilesAcross: 1,
      tilesDown: 1,
      originX: 0,
      originY: 0,
      resX: 1,
      resY: 1,
      epsg: 32633,
      bitsPerSample: 32,
      sampleFormat: 'float',
      compression: 1,
      predictor: 1,
      nodata: -32768,
      tileOffsets: [0],
      tileByteCounts: [16],
    } satisfies CogInfo;
    const out = new Float32Array(9);
    cutFloat(
      cog,
      new Map([[0, new Float32Array([0.5, -32768, 0.25, 0])]]),
      { x: 0, y: 0, width: 3, height: 3 },
      -32768,
      out,
      0,
    );
    expect([...out]).toEqual([
      0.5,
      Number.NaN,
      Number.NaN,
      0.25,
      0,
      Number.NaN,
      Number.NaN,
      Number.NaN,
      Number.NaN,
    ]);
  });
});
