// Rectangles to lon/lat: a UTM tile's straight top edge is a curve in lon/lat that reaches past its
// corners' latitude near the central meridian, so a box from the corners alone would cut it off.
import { describe, expect, it } from 'vitest';
import { rectToWgs84Bounds, toWgs84 } from '../../../shared/domain/crs.ts';

describe('rectToWgs84Bounds', () => {
  const tile: [number, number, number, number] = [399_960, 4_990_200, 509_760, 5_100_000];

  it('holds the middle of the top edge when the edges are sampled', () => {
    const [, topLat] = toWgs84(32633, [500_000, 5_100_000]);
    const corners = rectToWgs84Bounds(32633, tile);
    const sampled = rectToWgs84Bounds(32633, tile, 32);
    // About 8 m of the tile lie north of the corners' latitude on the central meridian.
    expect(topLat).toBeGreaterThan(corners[3] + 5e-5);
    // Sampled every 3.4 km along the edge: within centimetres of the edge's true top.
    expect(sampled[3]).toBeGreaterThan(topLat - 1e-6);
    expect(sampled[0]).toBe(corners[0]);
    expect(sampled[1]).toBe(corners[1]);
  });

  it('is the corners box for a small window', () => {
    const w: [number, number, number, number] = [500_000, 5_000_000, 500_240, 5_000_240];
    const box = rectToWgs84Bounds(32633, w);
    expect(box[0]).toBeCloseTo(15, 6);
    expect(box[2] - box[0]).toBeGreaterThan(0);
    expect(rectToWgs84Bounds(32633, w, 8)[3]).toBeCloseTo(box[3], 9);
  });
});
