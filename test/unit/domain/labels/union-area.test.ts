// Union areas of constructed overlaps, with areas worked out by hand, and random axis-aligned
// rectangles against an independent union (coordinate compression). The real parcels are compared
// with shapely in test/integration/union-area-oracle.test.ts.
import { describe, expect, it } from 'vitest';
import { rasterizeDense } from '../../../../shared/domain/labels/dense.ts';
import { multiLabel } from '../../../../shared/domain/labels/multilabel.ts';
import type { BurnFeature, PixelGrid } from '../../../../shared/domain/labels/types.ts';
import { classUnionAreas } from '../../../../shared/domain/labels/union-area.ts';

/** A 10 x 10 grid of 1 m pixels with y up from 0 to 10 (originY 10). */
const GRID: PixelGrid = { originX: 0, originY: 10, pixelSize: 1, width: 10, height: 10 };

const ring = (pts: [number, number][]) => Float64Array.from(pts.flat());
const rect = (x0: number, y0: number, x1: number, y1: number): [number, number][] => [
  [x0, y0],
  [x1, y0],
  [x1, y1],
  [x0, y1],
];
let nextInstance = 1;
function feature(classId: number, ...rings: [number, number][][]): BurnFeature {
  return { classId, instanceId: nextInstance++, polygons: [{ rings: rings.map(ring) }] };
}
/** Both ways: the sweep alone, and through the dense rasterizer (own coverage for lone features). */
function areas(features: BurnFeature[], grid = GRID): Map<number, number>[] {
  return [classUnionAreas(features, grid), rasterizeDense(features, grid, 0).classArea];
}
function expectArea(features: BurnFeature[], classId: number, want: number, grid = GRID): void {
  for (const got of areas(features, grid)) expect(got.get(classId) ?? 0).toBeCloseTo(want, 12);
}

describe('classUnionAreas', () => {
  it('counts the overlap of two squares of one class once (16 + 16 - 4)', () => {
    expectArea([feature(1, rect(0, 0, 4, 4)), feature(1, rect(2, 2, 6, 6))], 1, 28);
  });

  it('is exact when two polygons overlap partly inside one pixel (clipping a coverage sum at 1 is not)', () => {
    // Both inside pixel (0, 9): 0.25 + 0.25 - 0.04 = 0.46; the summed coverage would say 0.5.
    const f = [feature(1, rect(0.1, 0.1, 0.6, 0.6)), feature(1, rect(0.4, 0.4, 0.9, 0.9))];
    expectArea(f, 1, 0.46);
    const dense = rasterizeDense(f, GRID, 0);
    // The pixel's winning coverage stays the larger single feature's (0.25).
    expect(dense.coverage[9 * 10]).toBeCloseTo(0.25, 6);
  });

  it('counts duplicates and nested polygons once', () => {
    expectArea([feature(1, rect(1, 1, 5, 5)), feature(1, rect(1, 1, 5, 5))], 1, 16);
    expectArea([feature(1, rect(1, 1, 5, 5)), feature(1, rect(2, 2, 3, 3))], 1, 16);
  });

  it('fills a hole with another polygon of the class, and leaves it empty otherwise', () => {
    const donut = rect(0, 0, 6, 6);
    const hole = rect(2, 2, 4, 4);
    expectArea([feature(1, donut, hole)], 1, 32);
    expectArea([feature(1, donut, hole), feature(1, rect(2, 2, 4, 4))], 1, 36);
    // Half the hole filled, and the filler sticking out of the donut (no extra area: inside the outer ring).
    expectArea([feature(1, donut, hole), feature(1, rect(1, 2, 3, 4))], 1, 32 + 2);
  });

  it('handles crossing edges: a square and a diamond (4 + 2.88 - 2.72)', () => {
    const diamond: [number, number][] = [
      [1, 1 - 1.2],
      [1 + 1.2, 1],
      [1, 1 + 1.2],
      [1 - 1.2, 1],
    ];
    // Shifted into the grid by (3, 3).
    const shift = (pts: [number, number][]) => pts.map(([x, y]) => [x + 3, y + 3] as [number, number]);
    expectArea([feature(1, shift(rect(0, 0, 2, 2))), feature(1, shift(diamond))], 1, 4.16);
  });

  it('measures only what lies inside the grid', () => {
    // 8 x 8 squares around the corner (-2, -2): 6 x 6 inside each, overlapping in 4 x 6 inside.
    expectArea([feature(1, rect(-2, -2, 6, 6)), feature(1, rect(0, -3, 4, 6))], 1, 36);
    // A concave polygon leaving and re-entering the grid across its left edge.
    const u: [number, number][] = [
      [-3, 1],
      [4, 1],
      [4, 9],
      [-3, 9],
      [-3, 7],
      [2, 7],
      [2, 3],
      [-3, 3],
    ];
    // Inside: two arms of 4 x 2 and a column of 2 x 4 (24), plus the bar's part x 1..2, y 3..7 (4).
    expectArea([feature(1, u), feature(1, rect(1, 2, 3, 8))], 1, 28);
  });

  it('unites shared edges and touching parcels without gaps or double counts', () => {
    const f = [feature(1, rect(0, 0, 2, 2)), feature(1, rect(2, 0, 4, 2)), feature(1, rect(1, 1, 3, 3))];
    expectArea(f, 1, 10);
  });

  it('keeps classes apart: overlaps of different classes count for each', () => {
    const [direct, dense] = areas([feature(1, rect(0, 0, 4, 4)), feature(2, rect(2, 2, 6, 6))]);
    for (const m of [direct, dense]) {
      expect(m?.get(1)).toBeCloseTo(16, 12);
      expect(m?.get(2)).toBeCloseTo(16, 12);
    }
  });

  it('does not depend on ring orientation or feature order', () => {
    const a = rect(0, 0, 4, 4);
    const b = rect(2, 2, 6, 6).reverse();
    const donut = [rect(3, 0, 9, 6), rect(5, 2, 7, 4).reverse()];
    const one = [feature(1, a), feature(1, b), feature(1, ...donut)];
    const two = [
      feature(1, ...donut.map((r) => [...r].reverse())),
      feature(1, [...b].reverse()),
      feature(1, a),
    ];
    expect(classUnionAreas(one, GRID).get(1)).toBeCloseTo(classUnionAreas(two, GRID).get(1) as number, 12);
  });

  it('a multipolygon feature whose parts overlap counts their union', () => {
    const f: BurnFeature = {
      classId: 3,
      instanceId: 99,
      polygons: [{ rings: [ring(rect(0, 0, 4, 4))] }, { rings: [ring(rect(2, 0, 6, 4))] }],
    };
    // Also through the rasterizer, whose own coverage of the feature adds its parts up (32).
    for (const m of areas([f])) expect(m.get(3)).toBeCloseTo(24, 12);
    // Parts apart: their areas add up.
    const apart: BurnFeature = {
      classId: 3,
      instanceId: 98,
      polygons: [{ rings: [ring(rect(0, 0, 4, 4))] }, { rings: [ring(rect(5, 0, 9, 4))] }],
    };
    for (const m of areas([apart])) expect(m.get(3)).toBeCloseTo(32, 12);
  });

  it('feeds the multi-label: two overlapping halves of a window are 0.5 of it, not 1', () => {
    const f = [feature(5, rect(0, 0, 10, 5)), feature(5, rect(0, 0, 10, 5)), feature(6, rect(0, 5, 10, 6))];
    const dense = rasterizeDense(f, GRID, 0);
    expect(dense.classArea.get(5)).toBeCloseTo(50, 12);
    expect(multiLabel(dense.classArea, 100, [5, 6], 0.6).present).toEqual([]);
    expect(multiLabel(dense.classArea, 100, [5, 6], 0.05).present).toEqual([5, 6]);
  });

  it('equals an independent union of random rectangles (coordinate compression)', () => {
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let trial = 0; trial < 40; trial++) {
      const rects: [number, number, number, number][] = [];
      const count = 2 + Math.floor(rand() * 12);
      for (let i = 0; i < count; i++) {
        // On a 0.25 m lattice, some past the grid's edges, sizes 0.25 .. 6 m.
        const x0 = Math.round((rand() * 13 - 2) * 4) / 4;
        const y0 = Math.round((rand() * 13 - 2) * 4) / 4;
        const w = Math.max(0.25, Math.round(rand() * 24) / 4);
        const h = Math.max(0.25, Math.round(rand() * 24) / 4);
        rects.push([x0, y0, x0 + w, y0 + h]);
      }
      const want = rectangleUnion(rects, [0, 0, 10, 10]);
      const features = rects.map((r) => feature(1, rect(...r)));
      for (const got of areas(features)) expect(got.get(1) ?? 0).toBeCloseTo(want, 10);
    }
  });
});

/** Area of a union of rectangles inside `clip`, by coordinate compression (the textbook method). */
function rectangleUnion(
  rects: [number, number, number, number][],
  clip: [number, number, number, number],
): number {
  const inside = rects
    .map(([a, b, c, d]) => [
      Math.max(a, clip[0]),
      Math.max(b, clip[1]),
      Math.min(c, clip[2]),
      Math.min(d, clip[3]),
    ])
    .filter(([a, b, c, d]) => (a as number) < (c as number) && (b as number) < (d as number)) as [
    number,
    number,
    number,
    number,
  ][];
  const xs = [...new Set(inside.flatMap((r) => [r[0], r[2]]))].sort((a, b) => a - b);
  const ys = [...new Set(inside.flatMap((r) => [r[1], r[3]]))].sort((a, b) => a - b);
  let area = 0;
  for (let i = 0; i + 1 < xs.length; i++) {
    for (let j = 0; j + 1 < ys.length; j++) {
      const cx = ((xs[i] as number) + (xs[i + 1] as number)) / 2;
      const cy = ((ys[j] as number) + (ys[j + 1] as number)) / 2;
      if (inside.some((r) => r[0] < cx && cx < r[2] && r[1] < cy && cy < r[3])) {
        area += ((xs[i + 1] as number) - (xs[i] as number)) * ((ys[j + 1] as number) - (ys[j] as number));
      }
    }
  }
  return area;
}
