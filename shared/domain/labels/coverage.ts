// Exact pixel coverage of a polygon: the fraction of each pixel's area inside it, by signed-area
// accumulation (as in font rasterizers and exactextract), O(edges x rows + perimeter), no clipping.
import type { Bounds } from '../crs.ts';
import { ringBounds, signedArea } from './rings.ts';
import type { PixelGrid, PolygonRings, Ring } from './types.ts';

/** Fractions for the polygon's bounding box clipped to the grid, row-major, in [0, 1]. */
export type CoverageBlock = {
  readonly col0: number;
  readonly row0: number;
  readonly width: number;
  readonly height: number;
  readonly fractions: Float64Array;
};

/** Below this a fraction is rounding noise (edges cancelling), above 1 - SNAP it is full. */
const SNAP = 1e-12;

/**
 * Coverage of a (multi)polygon: holes subtract, parts add (they are assumed not to overlap).
 * Null when it does not overlap the grid with positive area.
 */
export function polygonCoverage(polygons: readonly PolygonRings[], grid: PixelGrid): CoverageBlock | null {
  const box = pixelBounds(polygons, grid);
  if (box === null) return null;
  const [minCol, minRow, maxCol, maxRow] = box;
  const col0 = Math.max(0, Math.floor(minCol));
  const row0 = Math.max(0, Math.floor(minRow));
  const col1 = Math.min(grid.width, Math.ceil(maxCol));
  const row1 = Math.min(grid.height, Math.ceil(maxRow));
  if (col1 <= col0 || row1 <= row0) return null;

  const acc = new Accumulator(col0, row0, col1 - col0, row1 - row0);
  for (const polygon of polygons) {
    polygon.rings.forEach((ring, i) => {
      // Outer rings add area and holes subtract it, whatever way the file wound them.
      const area = signedArea(ring);
      if (area === 0) return;
      const sign = (i === 0 ? 1 : -1) * Math.sign(area);
      accumulateRing(acc, ring, grid, sign);
    });
  }
  return acc.finish();
}

/** Bounds of the outer rings in pixel coordinates (x right, y down), or null if there are none. */
function pixelBounds(polygons: readonly PolygonRings[], grid: PixelGrid): Bounds | null {
  const world: Bounds = [Infinity, Infinity, -Infinity, -Infinity];
  for (const polygon of polygons) {
    const outer = polygon.rings[0];
    if (outer !== undefined) ringBounds(outer, world);
  }
  const [minX, minY, maxX, maxY] = world;
  if (!(minX <= maxX)) return null;
  const ps = grid.pixelSize;
  // Rows count down from originY: the world's top (maxY) is the first pixel row.
  return [
    (minX - grid.originX) / ps,
    (grid.originY - maxY) / ps,
    (maxX - grid.originX) / ps,
    (grid.originY - minY) / ps,
  ];
}

/**
 * Per row, the difference between a pixel's coverage and its left neighbour's: a prefix sum along
 * the row turns it into coverage. Deltas left of the block fall into its column 0 (they still cover
 * every pixel to their right); deltas right of it cover nothing in the block and are dropped.
 */
class Accumulator {
  readonly col0: number;
  readonly row0: number;
  readonly width: number;
  readonly height: number;
  readonly deltas: Float64Array;

  constructor(col0: number, row0: number, width: number, height: number) {
    this.col0 = col0;
    this.row0 = row0;
    this.width = width;
    this.height = height;
    this.deltas = new Float64Array(width * height);
  }

  add(row: number, col: number, value: number): void {
    const c = col - this.col0;
    if (c >= this.width) return;
    this.deltas[(row - this.row0) * this.width + (c < 0 ? 0 : c)]! += value;
  }

  finish(): CoverageBlock {
    const { width, height, deltas } = this;
    for (let r = 0; r < height; r++) {
      let sum = 0;
      for (let i = r * width, end = i + width; i < end; i++) {
        sum += deltas[i]!;
        deltas[i] = sum < SNAP ? 0 : sum > 1 - SNAP ? 1 : sum;
      }
    }
    return { col0: this.col0, row0: this.row0, width, height, fractions: deltas };
  }
}

function accumulateRing(acc: Accumulator, ring: Ring, grid: PixelGrid, sign: number): void {
  const n = ring.length >> 1;
  const ps = grid.pixelSize;
  let xa = (ring[2 * n - 2]! - grid.originX) / ps;
  let ya = (grid.originY - ring[2 * n - 1]!) / ps;
  for (let i = 0; i < n; i++) {
    const xb = (ring[2 * i]! - grid.originX) / ps;
    const yb = (grid.originY - ring[2 * i + 1]!) / ps;
    accumulateEdge(acc, xa, ya, xb, yb, sign);
    xa = xb;
    ya = yb;
  }
}

/**
 * One edge in pixel coordinates. In each row it crosses, the edge adds (signed by direction) the
 * part of each pixel's row band lying to its right; summed over a closed ring that is exactly the
 * ring's area inside the pixel, because a horizontal line is inside where crossings to its left
 * wind to non-zero. The sign is chosen so that a counter-clockwise (world) outer ring adds area.
 */
function accumulateEdge(
  acc: Accumulator,
  xa: number,
  ya: number,
  xb: number,
  yb: number,
  sign: number,
): void {
  if (ya === yb) return;
  // A counter-clockwise (world) ring runs down its left side: going down opens the inside.
  const dir = ya < yb ? sign : -sign;
  const yTop = ya < yb ? ya : yb;
  const yBottom = ya < yb ? yb : ya;
  const rowStart = Math.max(acc.row0, Math.floor(yTop));
  const rowEnd = Math.min(acc.row0 + acc.height, Math.ceil(yBottom));
  if (rowStart >= rowEnd) return;
  const dxdy = (xb - xa) / (yb - ya);
  const blockLeft = acc.col0;
  const blockRight = acc.col0 + acc.width;
  const edgeLeft = Math.min(xa, xb);
  const edgeRight = Math.max(xa, xb);
  if (edgeLeft >= blockRight) return;
  for (let row = rowStart; row < rowEnd; row++) {
    const y0 = row > yTop ? row : yTop;
    const y1 = row + 1 < yBottom ? row + 1 : yBottom;
    const d = (y1 - y0) * dir;
    // Evaluated from the edge's start each time, not stepped, so error does not build up.
    const x0 = y0 === ya ? xa : y0 === yb ? xb : xa + (y0 - ya) * dxdy;
    const x1 = y1 === ya ? xa : y1 === yb ? xb : xa + (y1 - ya) * dxdy;
    if (edgeRight <= blockLeft) {
      acc.add(row, blockLeft, d);
      continue;
    }
    spanRow(acc, row, x0 < x1 ? x0 : x1, x0 < x1 ? x1 : x0, d);
  }
}

/**
 * Spreads one row-band piece of an edge, whose x runs over [lo, hi], into the row's deltas. Pixel c
 * is covered (right of the piece) by d * mean over the piece of clamp(c + 1 - x, 0, 1), which for x
 * uniform on [lo, hi] is d * (Q(c + 1) - Q(c)) / (hi - lo) with Q(u) = integral of max(u - x, 0).
 */
function spanRow(acc: Accumulator, row: number, lo: number, hi: number, d: number): void {
  const c0 = Math.floor(lo);
  if (hi <= c0 + 1) {
    // Within one column: the covered share is the distance from the piece's midpoint to the right.
    const mid = (lo + hi) / 2 - c0;
    acc.add(row, c0, d * (1 - mid));
    acc.add(row, c0 + 1, d * mid);
    return;
  }
  // Local coordinates (relative to column c0) keep the differences below small and accurate.
  const l = lo - c0;
  const h = hi - c0;
  const width = h - l;
  const q = (u: number): number =>
    u <= l ? 0 : u >= h ? width * (u - (l + h) / 2) : ((u - l) * (u - l)) / 2;
  const columns = Math.ceil(h);
  // Columns left of the block only matter through their sum, which is the coverage of the last one.
  const first = Math.max(0, acc.col0 - c0);
  const last = Math.min(columns, acc.col0 + acc.width - c0);
  let qPrev = q(first);
  let previous = first === 0 ? 0 : (d * (qPrev - q(first - 1))) / width;
  if (first > 0) acc.add(row, c0 + first - 1, previous);
  for (let k = first; k < last; k++) {
    const qNext = q(k + 1);
    const covered = (d * (qNext - qPrev)) / width;
    acc.add(row, c0 + k, covered - previous);
    previous = covered;
    qPrev = qNext;
  }
  // Every pixel further right is covered across the whole band: the deltas telescope to d.
  if (last === columns) acc.add(row, c0 + columns, d - previous);
}
