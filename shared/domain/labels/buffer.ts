// Footprints of points and lines, made in a metric CRS (a tile's UTM) once the features are there:
// a point becomes a disc or a box, a line the polygon buffer(line, width / 2) with round caps and
// round joins. The polygons then go through the same exact coverage as any other (coverage.ts).
//
// Arcs follow GEOS (shapely's buffer) with quad_segs = 16: a point's disc is the regular 64-gon
// inscribed in the circle with a vertex at angle 0, exactly shapely's Point.buffer(r, quad_segs=16),
// area (64/2)·sin(2π/64)·r² = 0.99839·πr² (0.16 % short of the circle). A line's sides are exact
// (offset segments at distance w/2); its caps are half 64-gons and its outer joins fillets of
// round(angle / (π/32)) segments, as GEOS builds them. GEOS also simplifies the line by 1 % of the
// distance before buffering, which this does not: see README (Labels, points and lines).
import type { JobSpec } from '../job-spec.ts';
import { reverseRing, ringBounds, signedArea } from './rings.ts';
import type { LabelFeature, PolygonRings, Ring } from './types.ts';

/** Segments per quarter circle (shapely's quad_segs). */
export const QUAD_SEGS = 16;
const QUANTUM = Math.PI / 2 / QUAD_SEGS;

export type GeometrySpec = Pick<NonNullable<JobSpec['labels']>, 'points' | 'lines'>;

/** The regular 64-gon of radius r around (cx, cy), counter-clockwise, a vertex at angle 0. */
export function discRing(cx: number, cy: number, r: number): Ring {
  const n = 4 * QUAD_SEGS;
  const ring = new Float64Array(2 * n);
  for (let k = 0; k < n; k++) {
    const a = (2 * Math.PI * k) / n;
    ring[2 * k] = cx + r * Math.cos(a);
    ring[2 * k + 1] = cy + r * Math.sin(a);
  }
  return ring;
}

/** The axis-aligned square of half-side r around (cx, cy), counter-clockwise. */
export function boxRing(cx: number, cy: number, r: number): Ring {
  return Float64Array.of(cx - r, cy - r, cx + r, cy - r, cx + r, cy + r, cx - r, cy + r);
}

/**
 * Points along the arc of radius r around (cx, cy) from `from` to `to` (both on the circle,
 * counter-clockwise over `angle` radians): `from`, the fillet points, `to`. The ends are taken as
 * given, so they meet the rectangles' corners exactly.
 */
function arc(
  cx: number,
  cy: number,
  r: number,
  from: [number, number],
  to: [number, number],
  angle: number,
  out: number[],
): void {
  const start = Math.atan2(from[1] - cy, from[0] - cx);
  const n = Math.max(1, Math.round(angle / QUANTUM));
  out.push(from[0], from[1]);
  for (let k = 1; k < n; k++) {
    const a = start + (angle * k) / n;
    out.push(cx + r * Math.cos(a), cy + r * Math.sin(a));
  }
  out.push(to[0], to[1]);
}

/** The convex pieces whose union is buffer(line, r): segment rectangles, end caps, outer joins. */
export function linePieces(line: Float64Array, r: number): Ring[] {
  const n = line.length / 2;
  const x = (i: number) => line[2 * i] as number;
  const y = (i: number) => line[2 * i + 1] as number;
  // Unit direction and left normal of each segment.
  const dirs: [number, number][] = [];
  for (let i = 0; i + 1 < n; i++) {
    const dx = x(i + 1) - x(i);
    const dy = y(i + 1) - y(i);
    const len = Math.hypot(dx, dy);
    dirs.push([dx / len, dy / len]);
  }
  const left = (i: number, v: number): [number, number] => {
    const [dx, dy] = dirs[i] as [number, number];
    return [x(v) - r * dy, y(v) + r * dx];
  };
  const right = (i: number, v: number): [number, number] => {
    const [dx, dy] = dirs[i] as [number, number];
    return [x(v) + r * dy, y(v) - r * dx];
  };
  const last = dirs.length - 1;
  if (last === 0) {
    // One segment: the stadium, convex, as one ring.
    const out: number[] = [];
    arc(x(0), y(0), r, left(0, 0), right(0, 0), Math.PI, out);
    arc(x(1), y(1), r, right(0, 1), left(0, 1), Math.PI, out);
    return [Float64Array.from(out)];
  }
  const pieces: Ring[] = [];
  for (let i = 0; i <= last; i++)
    pieces.push(Float64Array.of(...right(i, i), ...right(i, i + 1), ...left(i, i + 1), ...left(i, i)));
  const start: number[] = [];
  arc(x(0), y(0), r, left(0, 0), right(0, 0), Math.PI, start);
  pieces.push(Float64Array.from(start));
  const end: number[] = [];
  arc(x(n - 1), y(n - 1), r, right(last, n - 1), left(last, n - 1), Math.PI, end);
  pieces.push(Float64Array.from(end));
  for (let v = 1; v < n - 1; v++) {
    const [ax, ay] = dirs[v - 1] as [number, number];
    const [bx, by] = dirs[v] as [number, number];
    const turn = Math.atan2(ax * by - ay * bx, ax * bx + ay * by);
    if (turn === 0) continue;
    // The fillet on the outer side of the turn, between the two segments' offset corners.
    const sector: number[] = [x(v), y(v)];
    if (turn > 0) arc(x(v), y(v), r, right(v - 1, v), right(v, v), turn, sector);
    else arc(x(v), y(v), r, left(v, v), left(v - 1, v), -turn, sector);
    pieces.push(Float64Array.from(sector));
  }
  return pieces;
}

/** An edge with y0 < y1 (world coordinates, y up); `w` +1 where it enters a ring from the left, -1 where it leaves. */
type Edge = { x0: number; y0: number; x1: number; y1: number; w: number };

/**
 * The union of counter-clockwise rings as polygons that do not overlap (so exact coverage may add
 * them up): the trapezoids of a sweep over horizontal slabs between vertex heights (split again where
 * two edges cross), covering where the summed winding number is positive, as in union-area.ts.
 * A trapezoid is carried on through the following slabs while it lies between the same two edges.
 * No topology is built, so no input can make it fail or loop: polyclip-ts (turf union) did both on
 * the buffers of real parcel boundaries. Rings that do not overlap, or a single one, are kept as
 * they are; many vertices are first cut into bands (a long road's pieces would all be active in
 * every slab).
 */
export function unionOf(rings: readonly Ring[]): PolygonRings[] {
  const oriented = rings.map((r) => orient(r, true));
  if (!overlapping(oriented)) return oriented.map((r) => ({ rings: [r] }));
  const vertices = oriented.reduce((n, r) => n + r.length / 2, 0);
  if (vertices <= BAND_VERTICES) return sweepUnion(oriented);
  // A long line's pieces all meet one sweep line: cut them into bands across its longer side, each
  // with about BAND_VERTICES vertices, and unite each band on its own (the bands do not overlap).
  const box = [Infinity, Infinity, -Infinity, -Infinity] as [number, number, number, number];
  for (const r of oriented) ringBounds(r, box);
  const axis = box[2] - box[0] >= box[3] - box[1] ? 0 : 1;
  const bands = Math.ceil(vertices / BAND_VERTICES);
  const lo = box[axis] as number;
  const step = ((box[axis + 2] as number) - lo) / bands;
  const out: PolygonRings[] = [];
  for (let b = 0; b < bands; b++) {
    const from = lo + b * step;
    const to = b === bands - 1 ? (box[axis + 2] as number) : lo + (b + 1) * step;
    const pieces: Ring[] = [];
    for (const r of oriented) {
      const [x0, y0, x1, y1] = ringBounds(r);
      const [min, max] = axis === 0 ? [x0, x1] : [y0, y1];
      if (max <= from || min >= to) continue;
      const cut = min >= from && max <= to ? r : clipBand(r, axis, from, to);
      if (cut.length >= 6) pieces.push(cut);
    }
    out.push(...(overlapping(pieces) ? sweepUnion(pieces) : pieces.map((r) => ({ rings: [r] }))));
  }
  return out;
}

/** Vertices one sweep unites at most before the pieces are cut into bands. */
const BAND_VERTICES = 256;

/** The part of a ring with from <= coordinate `axis` <= to (Sutherland-Hodgman, two half-planes). */
function clipBand(ring: Ring, axis: 0 | 1, from: number, to: number): Ring {
  const half = (pts: number[], side: 1 | -1, limit: number): number[] => {
    const out: number[] = [];
    const n = pts.length / 2;
    for (let i = 0; i < n; i++) {
      const j = (i + 1) % n;
      const a = [pts[2 * i] as number, pts[2 * i + 1] as number];
      const b = [pts[2 * j] as number, pts[2 * j + 1] as number];
      const aIn = side * ((a[axis] as number) - limit) >= 0;
      const bIn = side * ((b[axis] as number) - limit) >= 0;
      if (aIn) out.push(a[0] as number, a[1] as number);
      if (aIn !== bIn) {
        const t = (limit - (a[axis] as number)) / ((b[axis] as number) - (a[axis] as number));
        const p = [
          (a[0] as number) + t * ((b[0] as number) - (a[0] as number)),
          (a[1] as number) + t * ((b[1] as number) - (a[1] as number)),
        ];
        p[axis] = limit;
        out.push(p[0] as number, p[1] as number);
      }
    }
    return out;
  };
  return Float64Array.from(half(half([...ring], 1, from), -1, to));
}

function sweepUnion(oriented: readonly Ring[]): PolygonRings[] {
  const edges: Edge[] = [];
  for (const r of oriented) {
    const n = r.length / 2;
    for (let i = 0; i < n; i++) {
      const j = (i + 1) % n;
      const xa = r[2 * i] as number;
      const ya = r[2 * i + 1] as number;
      const xb = r[2 * j] as number;
      const yb = r[2 * j + 1] as number;
      if (ya === yb) continue;
      edges.push(
        ya < yb ? { x0: xa, y0: ya, x1: xb, y1: yb, w: -1 } : { x0: xb, y0: yb, x1: xa, y1: ya, w: 1 },
      );
    }
  }
  const ys = [...new Set(edges.flatMap((e) => [e.y0, e.y1]))].sort((a, b) => a - b);
  edges.sort((a, b) => a.y0 - b.y0);
  const out: PolygonRings[] = [];
  // Trapezoids still open at the current height, by their left and right edges.
  let open = new Map<Edge, { right: Edge; bottom: number }>();
  const close = (left: Edge, right: Edge, bottom: number, top: number) => {
    const ring = trapezoid(left, right, bottom, top);
    if (ring) out.push({ rings: [ring] });
  };
  let active: Edge[] = [];
  let next = 0;
  for (let k = 0; k + 1 < ys.length; k++) {
    const ya = ys[k] as number;
    const yb = ys[k + 1] as number;
    active = active.filter((e) => e.y1 > ya);
    while (next < edges.length && (edges[next] as Edge).y0 <= ya) active.push(edges[next++] as Edge);
    for (const [y0, y1] of subSlabs(active, ya, yb)) {
      const mid = (y0 + y1) / 2;
      const order = [...active].sort((a, b) => xAt(a, mid) - xAt(b, mid));
      const now = new Map<Edge, { right: Edge; bottom: number }>();
      let count = 0;
      let left: Edge | undefined;
      for (const e of order) {
        const before = count;
        count += e.w;
        if (before <= 0 && count > 0) left = e;
        else if (before > 0 && count <= 0 && left) {
          const prior = open.get(left);
          if (prior && prior.right === e) {
            now.set(left, prior);
            open.delete(left);
          } else now.set(left, { right: e, bottom: y0 });
        }
      }
      for (const [l, t] of open) close(l, t.right, t.bottom, y0);
      open = now;
    }
  }
  for (const [l, t] of open) close(l, t.right, t.bottom, ys[ys.length - 1] as number);
  return out;
}

/** Whether any two rings' bounding boxes overlap with positive area. */
function overlapping(rings: readonly Ring[]): boolean {
  if (rings.length < 2) return false;
  const boxes = rings.map((r) => ringBounds(r));
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i] as number[];
      const b = boxes[j] as number[];
      if (a[0]! < b[2]! && b[0]! < a[2]! && a[1]! < b[3]! && b[1]! < a[3]!) return true;
    }
  return false;
}

function xAt(e: Edge, y: number): number {
  if (y <= e.y0) return e.x0;
  if (y >= e.y1) return e.x1;
  return e.x0 + ((y - e.y0) * (e.x1 - e.x0)) / (e.y1 - e.y0);
}

/** The slab [ya, yb] cut at the heights where two active edges cross inside it. */
function subSlabs(active: readonly Edge[], ya: number, yb: number): [number, number][] {
  const top = active.map((e) => xAt(e, ya));
  const bottom = active.map((e) => xAt(e, yb));
  const cuts = new Set<number>([ya, yb]);
  for (let i = 0; i < active.length; i++)
    for (let j = i + 1; j < active.length; j++) {
      const d0 = top[j]! - top[i]!;
      const d1 = bottom[j]! - bottom[i]!;
      // They swap places strictly inside the slab.
      if ((d0 < 0 && d1 > 0) || (d0 > 0 && d1 < 0)) {
        const y = ya + ((yb - ya) * d0) / (d0 - d1);
        if (y > ya && y < yb) cuts.add(y);
      }
    }
  const heights = [...cuts].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (let k = 0; k + 1 < heights.length; k++) out.push([heights[k] as number, heights[k + 1] as number]);
  return out;
}

/** The counter-clockwise trapezoid between two edges from `bottom` to `top`; null when it has no area. */
function trapezoid(left: Edge, right: Edge, bottom: number, top: number): Ring | null {
  const lb = xAt(left, bottom);
  const rb = xAt(right, bottom);
  const rt = xAt(right, top);
  const lt = xAt(left, top);
  if (!(top > bottom) || !(rb - lb + (rt - lt) > 0)) return null;
  const pts = [lb, bottom, rb, bottom, rt, top, lt, top];
  // A triangle where the two edges meet: drop the repeated vertex.
  const ring: number[] = [];
  for (let i = 0; i < 8; i += 2) {
    const n = ring.length;
    if (n >= 2 && ring[n - 2] === pts[i] && ring[n - 1] === pts[i + 1]) continue;
    ring.push(pts[i] as number, pts[i + 1] as number);
  }
  if (ring.length >= 4 && ring[0] === ring[ring.length - 2] && ring[1] === ring[ring.length - 1])
    ring.length -= 2;
  return ring.length >= 6 ? Float64Array.from(ring) : null;
}

function orient(ring: Ring, outer: boolean): Ring {
  return signedArea(ring) > 0 === outer ? ring : reverseRing(ring);
}

/**
 * The feature with its footprint in `polygons` (points: discs or boxes, lines: their buffer); the
 * same feature for polygons and for points kept only as vectors. Coordinates must be metric.
 */
export function withFootprint(f: LabelFeature, spec: GeometrySpec): LabelFeature {
  const shape = f.shape;
  if (!shape) return f;
  if (shape.kind === 'point') {
    const p = spec.points;
    if (!p || p.rasterize === 'none' || p.radius === undefined) return { ...f, polygons: [] };
    const r = p.radius;
    const make = p.rasterize === 'disc' ? discRing : boxRing;
    const rings = shape.parts.map((pt) => make(pt[0] as number, pt[1] as number, r));
    return { ...f, polygons: unionOf(rings) };
  }
  const width = spec.lines?.width;
  if (width === undefined) return { ...f, polygons: [] };
  const rings = shape.parts.flatMap((line) => linePieces(line, width / 2));
  return { ...f, polygons: unionOf(rings) };
}

/** How far (metres) a footprint reaches past the points and lines it is made of. */
export function footprintReach(spec: GeometrySpec): number {
  const points = spec.points && spec.points.rasterize !== 'none' ? (spec.points.radius ?? 0) : 0;
  // A box's corner lies √2 · half-side from its centre.
  const pointReach = spec.points?.rasterize === 'box' ? points * Math.SQRT2 : points;
  return Math.max(pointReach, (spec.lines?.width ?? 0) / 2);
}
