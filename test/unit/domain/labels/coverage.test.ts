import { describe, expect, it } from 'vitest';
import { polygonCoverage } from '../../../../shared/domain/labels/coverage.ts';
import { rasterizeDense } from '../../../../shared/domain/labels/dense.ts';
import { multiLabel } from '../../../../shared/domain/labels/multilabel.ts';
import { signedArea } from '../../../../shared/domain/labels/rings.ts';
import type { PixelGrid, PolygonRings } from '../../../../shared/domain/labels/types.ts';
import { oracleCoverage, rect, reverseRing, rng, starRing } from '../../../helpers/label-oracle.ts';

/** The block written into a full-grid array, so it can be compared pixel by pixel. */
function fullCoverage(polygons: readonly PolygonRings[], grid: PixelGrid): Float64Array {
  const out = new Float64Array(grid.width * grid.height);
  const block = polygonCoverage(polygons, grid);
  if (block === null) return out;
  for (let r = 0; r < block.height; r++) {
    for (let c = 0; c < block.width; c++) {
      out[(block.row0 + r) * grid.width + block.col0 + c] = block.fractions[r * block.width + c]!;
    }
  }
  return out;
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

// UTM-like coordinates, so that precision is tested where it matters.
const grid: PixelGrid = { originX: 500_000, originY: 5_000_100, pixelSize: 10, width: 10, height: 10 };

describe('polygonCoverage: analytic areas', () => {
  it('covers a pixel-aligned square exactly, in either winding', () => {
    for (const ring of [
      rect(500_020, 5_000_030, 500_050, 5_000_070),
      reverseRing(rect(500_020, 5_000_030, 500_050, 5_000_070)),
    ]) {
      const block = polygonCoverage([{ rings: [ring] }], grid)!;
      expect(block).toMatchObject({ col0: 2, row0: 3, width: 3, height: 4 });
      expect(Array.from(block.fractions)).toEqual(new Array(12).fill(1));
    }
  });

  it('gives a triangle its exact area and half pixels along the diagonal', () => {
    // Right triangle with legs of 5 pixels along a pixel diagonal: 12.5 pixels, 5 half pixels.
    const tri = new Float64Array([500_000, 5_000_000, 500_050, 5_000_000, 500_000, 5_000_050]);
    const cov = fullCoverage([{ rings: [tri] }], grid);
    expect(sum(cov)).toBeCloseTo(12.5, 12);
    expect(Array.from(cov).filter((v) => Math.abs(v - 0.5) < 1e-12)).toHaveLength(5);
    expect(Array.from(cov).filter((v) => v === 1)).toHaveLength(10);
  });

  it('gives a square rotated by 45 degrees quarter-triangles in its corner pixels', () => {
    // Diamond centred on a pixel corner with half-diagonal 1 pixel: 4 pixels at 0.5 each.
    const c = [500_050, 5_000_050];
    const d = new Float64Array([c[0]! + 10, c[1]!, c[0]!, c[1]! + 10, c[0]! - 10, c[1]!, c[0]!, c[1]! - 10]);
    const cov = fullCoverage([{ rings: [d] }], grid);
    expect(sum(cov)).toBeCloseTo(2, 12);
    const nonZero = Array.from(cov).filter((v) => v > 0);
    expect(nonZero).toHaveLength(4);
    for (const v of nonZero) expect(v).toBeCloseTo(0.5, 12);
  });

  it('subtracts holes whatever their winding', () => {
    const outer = rect(500_000, 5_000_000, 500_100, 5_000_100);
    const hole = rect(500_025, 5_000_025, 500_075, 5_000_075);
    for (const h of [hole, reverseRing(hole)]) {
      const cov = fullCoverage([{ rings: [outer, h] }], grid);
      expect(sum(cov)).toBeCloseTo(100 - 25, 10);
      expect(cov[4 * 10 + 4]).toBe(0);
      expect(cov[2 * 10 + 2]).toBeCloseTo(0.75, 12);
    }
  });

  it('is null for polygons off the grid or without area', () => {
    expect(polygonCoverage([{ rings: [rect(400_000, 0, 400_010, 10)] }], grid)).toBeNull();
    expect(polygonCoverage([], grid)).toBeNull();
    // Touching the grid's edge only: the block is empty, so null.
    expect(polygonCoverage([{ rings: [rect(499_990, 5_000_000, 500_000, 5_000_010)] }], grid)).toBeNull();
  });

  it('computes signed area counter-clockwise positive', () => {
    expect(signedArea(rect(0, 0, 2, 3))).toBe(6);
    expect(signedArea(reverseRing(rect(0, 0, 2, 3)))).toBe(-6);
  });
});

describe('polygonCoverage: against per-pixel clipping', () => {
  it('matches Sutherland–Hodgman on random polygons, holes and multipolygons within 1e-9', () => {
    const random = rng(42);
    const g: PixelGrid = { originX: 600_000, originY: 4_000_200, pixelSize: 10, width: 20, height: 20 };
    let worst = 0;
    for (let t = 0; t < 60; t++) {
      const polygons: PolygonRings[] = [];
      const parts = 1 + Math.floor(random() * 3);
      for (let p = 0; p < parts; p++) {
        // Parts in separate horizontal strips (and partly off the grid), so they never overlap.
        const cx = g.originX - 40 + random() * 280;
        const cy = g.originY - 20 - p * 80 - random() * 10;
        const rMax = 2 + random() * 33;
        const n = 3 + Math.floor(random() * 12);
        const rings = [starRing(random, cx, cy, rMax * 0.6, rMax, n)];
        // A hole of radius <= 0.4 rMax stays inside an outer ring of 6+ vertices (see starRing).
        if (n >= 6 && random() < 0.5) {
          rings.push(starRing(random, cx, cy, rMax * 0.1, rMax * 0.4, 3 + Math.floor(random() * 6)));
        }
        polygons.push({ rings });
      }
      const ours = fullCoverage(polygons, g);
      const oracle = oracleCoverage(polygons, g);
      worst = Math.max(worst, maxAbsDiff(ours, oracle));
    }
    expect(worst).toBeLessThan(1e-9);
  });

  it('matches the oracle for slivers and near-horizontal or near-vertical edges', () => {
    const g: PixelGrid = { originX: 0, originY: 100, pixelSize: 10, width: 10, height: 10 };
    const cases = [
      new Float64Array([-5, 50.001, 105, 50.002, 105, 50.0031, -5, 50.0011]), // thin, long, horizontal
      new Float64Array([33.3, -5, 33.3001, -5, 33.3004, 107, 33.2999, 107]), // thin, vertical
      new Float64Array([1, 1, 99, 2, 98.9999, 99, 2, 98]), // almost axis-aligned quad
      new Float64Array([-1000, 55, 2000, 45, 2000, 46]), // huge triangle mostly off the grid
    ];
    for (const ring of cases) {
      const polygons = [{ rings: [ring] }];
      expect(maxAbsDiff(fullCoverage(polygons, g), oracleCoverage(polygons, g))).toBeLessThan(1e-9);
    }
  });
});

describe('rasterizeDense', () => {
  const g: PixelGrid = { originX: 0, originY: 30, pixelSize: 10, width: 3, height: 3 };

  it('gives each pixel the class covering most of it, ties to the lowest instance', () => {
    // Split at x = 15: column 1 is half and half.
    const a = { classId: 7, instanceId: 2, polygons: [{ rings: [rect(0, 0, 15, 30)] }] };
    const b = { classId: 9, instanceId: 1, polygons: [{ rings: [rect(15, 0, 30, 30)] }] };
    for (const features of [
      [a, b],
      [b, a],
    ]) {
      const out = rasterizeDense(features, g, 0);
      expect(Array.from(out.labels)).toEqual([7, 9, 9, 7, 9, 9, 7, 9, 9]);
      expect(Array.from(out.instances)).toEqual([2, 1, 1, 2, 1, 1, 2, 1, 1]);
      expect(Array.from(out.double)).toEqual([0, 1, 0, 0, 1, 0, 0, 1, 0]);
      expect(Array.from(out.claimed)).toEqual([1, 2, 1, 1, 2, 1, 1, 2, 1]);
      expect(out.classArea.get(7)).toBeCloseTo(4.5, 12);
      expect(out.classArea.get(9)).toBeCloseTo(4.5, 12);
    }
  });

  it('marks pixels fully covered by one feature and claimed by another with 2', () => {
    const a = { classId: 1, instanceId: 1, polygons: [{ rings: [rect(0, 0, 30, 30)] }] };
    const b = { classId: 2, instanceId: 2, polygons: [{ rings: [rect(12, 12, 18, 18)] }] };
    const out = rasterizeDense([a, b], g, 0);
    expect(out.double[4]).toBe(2);
    expect(out.labels[4]).toBe(1);
    expect(out.coverage[4]).toBe(1);
    expect(out.double[0]).toBe(0);
  });

  it('keeps the background where nothing is covered', () => {
    const a = { classId: 3, instanceId: 5, polygons: [{ rings: [rect(0, 20, 10, 30)] }] };
    const out = rasterizeDense([a], g, 255);
    expect(Array.from(out.labels)).toEqual([3, 255, 255, 255, 255, 255, 255, 255, 255]);
    expect(Array.from(out.instances)).toEqual([5, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('multiLabel', () => {
  it('lists classes covering at least minFraction, in class-table order', () => {
    const area = new Map([
      [4, 30],
      [2, 5],
      [9, 0.5],
    ]);
    const out = multiLabel(area, 100, [9, 2, 4, 1], 0.05);
    expect(out.present).toEqual([2, 4]);
    expect(Array.from(out.multiHot)).toEqual([0, 1, 1, 0]);
    expect(multiLabel(area, 100, [9, 2, 4, 1], 0).present).toEqual([9, 2, 4]);
  });
});
