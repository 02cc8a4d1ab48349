// The area a class covers in a grid: the area of the UNION of its features' polygons within the
// grid, not the sum of their areas (two overlapping parcels of one class cover their overlap once).
//
// Exact up to float rounding, and cheap where it can be: features of a class whose bounding boxes do
// not overlap another's add their own areas; each group of features with overlapping boxes is
// clipped to the grid (Sutherland-Hodgman, which keeps the winding number of every point inside the
// grid) and measured by a sweep over horizontal slabs between vertex heights, split further where two
// edges cross, so that inside a slab the edges are straight, do not cross, and the covered part
// (where the summed winding number of all rings is positive: inside at least one polygon) is a row of
// trapezoids. Cost: O(vertices x edges crossing a slab) per overlapping group.
import { signedArea } from './rings.ts';
import type { BurnFeature, PixelGrid, PolygonRings } from './types.ts';

/** An edge in pixel coordinates (x right, y down), y0 < y1; `w` its winding contribution. */
type Edge = { x0: number; y0: number; x1: number; y1: number; w: number };

/**
 * Per class id, the area in pixels of the union of its features' polygons inside the grid. Classes
 * with no area in the grid are absent. `featureArea(k)`, when given, is feature k's own area in the
 * grid, its parts added up (used for features that overlap no other of their class and whose parts
 * cannot overlap each other; e.g. the sum of its coverage).
 */
export function classUnionAreas(
  features: readonly BurnFeature[],
  grid: PixelGrid,
  featureArea?: (k: number) => number,
): Map<number, number> {
  const byClass = new Map<number, { k: number; box: Box }[]>();
  features.forEach((f, k) => {
    const box = pixelBox(f.polygons, grid);
    if (box === null) return;
    const list = byClass.get(f.classId) ?? [];
    list.push({ k, box });
    byClass.set(f.classId, list);
  });
  const out = new Map<number, number>();
  for (const [classId, list] of byClass) {
    let area = 0;
    for (const group of overlappingGroups(list)) {
      const k = (group[0] as { k: number }).k;
      if (group.length === 1 && featureArea && !partsOverlap(features[k] as BurnFeature, grid)) {
        area += featureArea(k);
      } else {
        area += unionArea(
          edgesOf(
            group.map(({ k }) => features[k] as BurnFeature),
            grid,
          ),
        );
      }
    }
    if (area > 0) out.set(classId, area);
  }
  return out;
}

type Box = [number, number, number, number];

/**
 * Whether parts of one (multi)polygon feature may overlap (their boxes do): validation does not
 * rule that out (e.g. a GeometryCollection's polygons become one feature's parts), and then the
 * feature's own coverage, which adds its parts up, would count the overlap twice.
 */
function partsOverlap(f: BurnFeature, grid: PixelGrid): boolean {
  if (f.polygons.length < 2) return false;
  const boxes = f.polygons.flatMap((p) => {
    const box = pixelBox([p], grid);
    return box === null ? [] : [{ box }];
  });
  return overlappingGroups(boxes).length < boxes.length;
}

/** Outer rings' bounds in pixel coordinates clipped to the grid; null when no area is left. */
function pixelBox(polygons: readonly PolygonRings[], grid: PixelGrid): Box | null {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const p of polygons) {
    const ring = p.rings[0];
    if (ring === undefined) continue;
    for (let i = 0; i < ring.length; i += 2) {
      const x = (ring[i]! - grid.originX) / grid.pixelSize;
      const y = (grid.originY - ring[i + 1]!) / grid.pixelSize;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
  }
  const box: Box = [
    Math.max(minX, 0),
    Math.max(minY, 0),
    Math.min(maxX, grid.width),
    Math.min(maxY, grid.height),
  ];
  return box[0] < box[2] && box[1] < box[3] ? box : null;
}

/** Groups of items whose boxes overlap with positive area, transitively (boxes that only touch do not). */
function overlappingGroups<T extends { box: Box }>(items: readonly T[]): T[][] {
  const parent = items.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i] as number] as number;
      i = parent[i] as number;
    }
    return i;
  };
  const order = items.map((_, i) => i).sort((a, b) => (items[a] as T).box[0] - (items[b] as T).box[0]);
  for (let a = 0; a < order.length; a++) {
    const A = (items[order[a] as number] as T).box;
    for (let b = a + 1; b < order.length; b++) {
      const B = (items[order[b] as number] as T).box;
      if (B[0] >= A[2]) break;
      if (B[1] < A[3] && A[1] < B[3]) parent[find(order[a] as number)] = find(order[b] as number);
    }
  }
  const groups = new Map<number, T[]>();
  items.forEach((item, i) => {
    const root = find(i);
    const g = groups.get(root) ?? [];
    g.push(item);
    groups.set(root, g);
  });
  return [...groups.values()];
}

/**
 * The non-horizontal edges of the features' rings, in pixel coordinates, clipped to the grid. Each
 * ring's edges carry +1/-1 so that, summed over a left-to-right scan, the count is 1 inside an outer
 * ring and 0 inside its holes whatever way the rings are wound; over several polygons it counts the
 * polygons containing the point.
 */
function edgesOf(features: readonly BurnFeature[], grid: PixelGrid): Edge[] {
  const edges: Edge[] = [];
  for (const f of features) {
    for (const p of f.polygons) {
      p.rings.forEach((ring, i) => {
        const pts = clipToGrid(toPixels(ring, grid), grid.width, grid.height);
        const n = pts.length >> 1;
        if (n < 3) return;
        const area = signedArea(pts);
        if (area === 0) return;
        // Scanning left to right, a ring of positive signed area is entered across edges going up
        // (y decreasing); holes count the other way.
        const sign = (i === 0 ? 1 : -1) * Math.sign(area);
        for (let a = n - 1, b = 0; b < n; a = b++) {
          const xa = pts[2 * a]!;
          const ya = pts[2 * a + 1]!;
          const xb = pts[2 * b]!;
          const yb = pts[2 * b + 1]!;
          if (ya === yb) continue;
          if (ya < yb) edges.push({ x0: xa, y0: ya, x1: xb, y1: yb, w: -sign });
          else edges.push({ x0: xb, y0: yb, x1: xa, y1: ya, w: sign });
        }
      });
    }
  }
  return edges;
}

function toPixels(ring: Float64Array, grid: PixelGrid): Float64Array {
  const out = new Float64Array(ring.length);
  for (let i = 0; i < ring.length; i += 2) {
    out[i] = (ring[i]! - grid.originX) / grid.pixelSize;
    out[i + 1] = (grid.originY - ring[i + 1]!) / grid.pixelSize;
  }
  return out;
}

/** Sutherland-Hodgman against [0, width] x [0, height]. */
function clipToGrid(ring: Float64Array, width: number, height: number): Float64Array {
  let pts = ring;
  pts = clipHalf(pts, 0, 0, 1);
  pts = clipHalf(pts, 0, width, -1);
  pts = clipHalf(pts, 1, 0, 1);
  pts = clipHalf(pts, 1, height, -1);
  return pts;
}

/** Keeps the part where side * (coordinate `axis` - limit) >= 0. */
function clipHalf(pts: Float64Array, axis: 0 | 1, limit: number, side: 1 | -1): Float64Array {
  const n = pts.length >> 1;
  if (n === 0) return pts;
  const out: number[] = [];
  const inside = (i: number) => side * (pts[2 * i + axis]! - limit) >= 0;
  for (let a = n - 1, b = 0; b < n; a = b++) {
    const aIn = inside(a);
    const bIn = inside(b);
    if (aIn !== bIn) {
      const ca = pts[2 * a + axis]!;
      const cb = pts[2 * b + axis]!;
      const t = (limit - ca) / (cb - ca);
      const other = 1 - axis;
      const oa = pts[2 * a + other]!;
      const o = oa + t * (pts[2 * b + other]! - oa);
      if (axis === 0) out.push(limit, o);
      else out.push(o, limit);
    }
    if (bIn) out.push(pts[2 * b]!, pts[2 * b + 1]!);
  }
  return Float64Array.from(out);
}

/** Area where the summed winding number of `edges` is positive. */
function unionArea(edges: Edge[]): number {
  if (edges.length === 0) return 0;
  const ys = [...new Set(edges.flatMap((e) => [e.y0, e.y1]))].sort((a, b) => a - b);
  edges.sort((a, b) => a.y0 - b.y0);
  let active: Edge[] = [];
  let next = 0;
  let area = 0;
  for (let k = 0; k + 1 < ys.length; k++) {
    const ya = ys[k] as number;
    const yb = ys[k + 1] as number;
    active = active.filter((e) => e.y1 > ya);
    while (next < edges.length && (edges[next] as Edge).y0 <= ya) active.push(edges[next++] as Edge);
    // Every vertex height is a slab boundary, so each active edge spans the whole slab.
    if (active.length > 1) area += slabArea(active, ya, yb);
  }
  return area;
}

function xAt(e: Edge, y: number): number {
  if (y <= e.y0) return e.x0;
  if (y >= e.y1) return e.x1;
  return e.x0 + ((y - e.y0) * (e.x1 - e.x0)) / (e.y1 - e.y0);
}

/** The covered area of one slab: split where edges cross, then trapezoids between entry and exit edges. */
function slabArea(active: readonly Edge[], ya: number, yb: number): number {
  const top = active.map((e) => xAt(e, ya));
  const bottom = active.map((e) => xAt(e, yb));
  const order = active.map((_, i) => i).sort((i, j) => top[i]! - top[j]! || bottom[i]! - bottom[j]!);
  let crossed = false;
  for (let i = 0; i + 1 < order.length; i++) {
    if (bottom[order[i]!]! > bottom[order[i + 1]!]!) {
      crossed = true;
      break;
    }
  }
  if (!crossed) return trapezoids(active, order, top, bottom, yb - ya);
  // Heights where two edges swap places: below each, the order at the slab's middle holds.
  const cuts = new Set<number>([ya, yb]);
  for (let a = 0; a < order.length; a++) {
    for (let b = a + 1; b < order.length; b++) {
      const i = order[a]!;
      const j = order[b]!;
      const dTop = top[j]! - top[i]!;
      const dBottom = bottom[j]! - bottom[i]!;
      if (dBottom >= 0) continue;
      const y = ya + ((yb - ya) * dTop) / (dTop - dBottom);
      if (y > ya && y < yb) cuts.add(y);
    }
  }
  const heights = [...cuts].sort((a, b) => a - b);
  let area = 0;
  for (let k = 0; k + 1 < heights.length; k++) {
    const y0 = heights[k] as number;
    const y1 = heights[k + 1] as number;
    const t = active.map((e) => xAt(e, y0));
    const b = active.map((e) => xAt(e, y1));
    const mid = active.map((e) => xAt(e, (y0 + y1) / 2));
    const o = active.map((_, i) => i).sort((i, j) => mid[i]! - mid[j]!);
    area += trapezoids(active, o, t, b, y1 - y0);
  }
  return area;
}

/** Walks the edges left to right; between an edge that makes the count positive and the one that ends it lies a covered trapezoid. */
function trapezoids(
  active: readonly Edge[],
  order: readonly number[],
  top: readonly number[],
  bottom: readonly number[],
  height: number,
): number {
  let count = 0;
  let left = -1;
  let width = 0;
  for (const i of order) {
    const before = count;
    count += (active[i] as Edge).w;
    if (before <= 0 && count > 0) left = i;
    else if (before > 0 && count <= 0) width += top[i]! - top[left]! + (bottom[i]! - bottom[left]!);
  }
  return (width / 2) * height;
}
