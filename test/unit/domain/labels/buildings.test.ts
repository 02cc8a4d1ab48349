import { describe, expect, it } from 'vitest';
import { buildingMasks } from '../../../../shared/domain/labels/buildings.ts';
import type { BurnFeature, PixelGrid } from '../../../../shared/domain/labels/types.ts';
import { rect, rng, starRing } from '../../../helpers/label-oracle.ts';

/** Brute force: every pixel against every segment of every building, even-odd by ray casting. */
function oracle(features: readonly BurnFeature[], grid: PixelGrid, cap: number, contactDistance: number) {
  const n = grid.width * grid.height;
  const distance = new Float64Array(n);
  const inside = new Uint8Array(n);
  const near = new Uint8Array(n);
  const nearest = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    const x = grid.originX + ((p % grid.width) + 0.5) * grid.pixelSize;
    const y = grid.originY - (Math.floor(p / grid.width) + 0.5) * grid.pixelSize;
    let best = Infinity;
    for (const f of features) {
      let d2 = Infinity;
      let odd = false;
      for (const polygon of f.polygons) {
        for (const ring of polygon.rings) {
          const m = ring.length / 2;
          for (let i = 0; i < m; i++) {
            const ax = ring[2 * i]!;
            const ay = ring[2 * i + 1]!;
            const bx = ring[2 * ((i + 1) % m)]!;
            const by = ring[2 * ((i + 1) % m) + 1]!;
            const t = Math.max(
              0,
              Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)),
            );
            d2 = Math.min(d2, (ax + t * (bx - ax) - x) ** 2 + (ay + t * (by - ay) - y) ** 2);
            if (ay > y !== by > y && x < ax + ((y - ay) * (bx - ax)) / (by - ay)) odd = !odd;
          }
        }
      }
      const d = Math.sqrt(d2);
      best = Math.min(best, d);
      if (odd) inside[p] = 1;
      if (odd || d <= contactDistance) near[p]!++;
    }
    nearest[p] = best;
    distance[p] = (inside[p] ? 1 : -1) * Math.min(best, cap);
  }
  return { distance, inside, near, nearest };
}

describe('buildingMasks', () => {
  it('matches a brute-force oracle on random buildings', () => {
    const random = rng(7);
    const grid: PixelGrid = { originX: 700_000, originY: 3_700_060, pixelSize: 0.5, width: 120, height: 120 };
    const features: BurnFeature[] = [];
    for (let i = 0; i < 12; i++) {
      const cx = grid.originX - 5 + random() * 70;
      const cy = grid.originY - 5 - random() * 60;
      features.push({
        classId: 1,
        instanceId: i + 1,
        polygons: [{ rings: [starRing(random, cx, cy, 2, 3 + random() * 5, 4 + Math.floor(random() * 6))] }],
      });
    }
    const options = { boundaryWidth: 1, contactDistance: 2, maxDistance: 6 };
    const ours = buildingMasks(features, grid, options);
    const ref = oracle(features, grid, 6, 2);
    let worst = 0;
    let mismatches = 0;
    for (let p = 0; p < grid.width * grid.height; p++) {
      worst = Math.max(worst, Math.abs(ours.distance[p]! - Math.fround(ref.distance[p]!)));
      if (ours.footprint[p] !== ref.inside[p]) mismatches++;
      if (ours.boundary[p] !== (ref.nearest[p]! <= 0.5 ? 1 : 0)) mismatches++;
      if (ours.contact[p] !== (ref.inside[p] === 0 && ref.near[p]! >= 2 ? 1 : 0)) mismatches++;
    }
    expect(mismatches).toBe(0);
    expect(worst).toBe(0);
    // The random layout must exercise every mask.
    expect(ours.contact.some((v) => v === 1)).toBe(true);
    expect(ours.boundary.some((v) => v === 1)).toBe(true);
  });

  it('gives a square building its analytic distances, band and contact gap', () => {
    const grid: PixelGrid = { originX: 0, originY: 10, pixelSize: 1, width: 10, height: 10 };
    const a: BurnFeature = { classId: 1, instanceId: 1, polygons: [{ rings: [rect(1, 1, 4, 9)] }] };
    const b: BurnFeature = { classId: 1, instanceId: 2, polygons: [{ rings: [rect(6, 1, 9, 9)] }] };
    const out = buildingMasks([a, b], grid, { boundaryWidth: 1, contactDistance: 1.5, maxDistance: 3 });
    const at = (col: number, row: number) => row * 10 + col;
    // Pixel (2, 5) has its centre at (2.5, 4.5): 1.5 m from the left and right sides of building a.
    expect(out.footprint[at(2, 5)]).toBe(1);
    expect(out.distance[at(2, 5)]).toBeCloseTo(1.5, 6);
    // Pixel (4, 5), centre (4.5, 4.5): 0.5 m outside a, 1.5 m from b: in the band and in the gap.
    expect(out.distance[at(4, 5)]).toBeCloseTo(-0.5, 6);
    expect(out.boundary[at(4, 5)]).toBe(1);
    expect(out.contact[at(4, 5)]).toBe(1);
    expect(out.contact[at(5, 5)]).toBe(1);
    // A lone building: far pixels are clipped at -maxDistance, and there is no contact.
    const lone = buildingMasks([a], grid, { boundaryWidth: 1, contactDistance: 1, maxDistance: 2 });
    expect(lone.distance[at(9, 5)]).toBe(-2);
    expect(lone.contact.every((v) => v === 0)).toBe(true);
  });
});
