import { describe, expect, it } from 'vitest';
import { converterBetween, type XY } from '../../../shared/domain/crs.ts';
import { ownerOf, tileOwnership } from '../../../shared/domain/ownership.ts';

const box = (x0: number, y0: number, x1: number, y1: number): GeoJSON.Polygon => ({
  type: 'Polygon',
  coordinates: [
    [
      [x0, y0],
      [x1, y0],
      [x1, y1],
      [x0, y1],
      [x0, y0],
    ],
  ],
});

const fromWgs84 = (epsg: number, p: XY): XY => converterBetween(4326, epsg).forward(p) as XY;

// Two overlapping tiles: A spans 15.0-15.6° E, B 15.4-16.0° E; the overlap is 15.4-15.6.
const footprints = new Map([
  ['33TWA', box(15.0, 45.0, 15.6, 45.5)],
  ['33TWB', box(15.4, 45.0, 16.0, 45.5)],
]);

describe('tile ownership', () => {
  it('gives a point to the footprint that holds it deepest, and ties to the smaller tile id', () => {
    expect(ownerOf([15.45, 45.25], footprints)).toBe('33TWA'); // 0.15° inside A, 0.05° inside B
    expect(ownerOf([15.55, 45.25], footprints)).toBe('33TWB');
    expect(
      ownerOf(
        [15.5, 45.25],
        new Map([
          ['B', box(15.4, 45, 15.6, 45.5)],
          ['A', box(15.4, 45, 15.6, 45.5)],
        ]),
      ),
    ).toBe('A');
    expect(ownerOf([14, 45.25], footprints)).toBeUndefined();
  });

  it('keeps a window (UTM bounds) in exactly one tile of an overlap, and outside them all in its own', () => {
    const [x, y] = fromWgs84(32633, [15.45, 45.25]);
    const b: [number, number, number, number] = [x - 120, y - 120, x + 120, y + 120];
    expect(tileOwnership('33TWA', 32633, footprints)(null, b)).toBe(true);
    expect(tileOwnership('33TWB', 32633, footprints)(null, b)).toBe(false);
    const [fx, fy] = fromWgs84(32633, [14, 45.25]);
    expect(tileOwnership('33TWB', 32633, footprints)(null, [fx - 1, fy - 1, fx + 1, fy + 1])).toBe(true);
  });
});
