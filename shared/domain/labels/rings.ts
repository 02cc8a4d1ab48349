// Planar geometry on flat rings ([x0, y0, x1, y1, ...], first vertex not repeated): area, winding,
// point-in-ring and a sweep that finds where rings cross themselves or each other.
import Flatbush from 'flatbush';
import type { Bounds } from '../crs.ts';
import type { Ring } from './types.ts';

/** Signed area (shoelace), positive when counter-clockwise in an x-right, y-up frame. */
export function signedArea(ring: Ring): number {
  const n = ring.length / 2;
  if (n < 3) return 0;
  // Relative to the first vertex: projected coordinates are large and the products lose digits.
  const x0 = ring[0] as number;
  const y0 = ring[1] as number;
  let sum = 0;
  for (let i = 1; i < n - 1; i++) {
    const ax = (ring[2 * i] as number) - x0;
    const ay = (ring[2 * i + 1] as number) - y0;
    const bx = (ring[2 * i + 2] as number) - x0;
    const by = (ring[2 * i + 3] as number) - y0;
    sum += ax * by - bx * ay;
  }
  return sum / 2;
}

/** True when all vertices lie on one line (within `tolerance` of the ring's extent): no area at all. */
export function isCollinear(ring: Ring, tolerance = 1e-12): boolean {
  const n = ring.length / 2;
  const x0 = ring[0] as number;
  const y0 = ring[1] as number;
  let fx = 0;
  let fy = 0;
  let far = 0;
  for (let i = 1; i < n; i++) {
    const dx = (ring[2 * i] as number) - x0;
    const dy = (ring[2 * i + 1] as number) - y0;
    const d = dx * dx + dy * dy;
    if (d > far) [far, fx, fy] = [d, dx, dy];
  }
  if (far === 0) return true;
  const length = Math.sqrt(far);
  for (let i = 1; i < n; i++) {
    const dx = (ring[2 * i] as number) - x0;
    const dy = (ring[2 * i + 1] as number) - y0;
    if (Math.abs(dx * fy - dy * fx) / length > tolerance * length) return false;
  }
  return true;
}

/** The ring with its vertex order reversed (keeps the same first vertex). */
export function reverseRing(ring: Ring): Ring {
  const n = ring.length / 2;
  const out = new Float64Array(ring.length);
  out[0] = ring[0] as number;
  out[1] = ring[1] as number;
  for (let i = 1; i < n; i++) {
    out[2 * i] = ring[2 * (n - i)] as number;
    out[2 * i + 1] = ring[2 * (n - i) + 1] as number;
  }
  return out;
}

/**
 * The ring's bounding box. Given `into`, grows that box to cover the ring and returns it: the one
 * loop behind every box of flat coordinates (features, outer rings, outline segments).
 */
export function ringBounds(ring: Ring, into: Bounds = [Infinity, Infinity, -Infinity, -Infinity]): Bounds {
  for (let i = 0; i + 1 < ring.length; i += 2) {
    const x = ring[i] as number;
    const y = ring[i + 1] as number;
    if (x < into[0]) into[0] = x;
    if (x > into[2]) into[2] = x;
    if (y < into[1]) into[1] = y;
    if (y > into[3]) into[3] = y;
  }
  return into;
}

/** The ring as GeoJSON positions, closed (first vertex repeated at the end), for turf. */
export function closedPositions(ring: Ring): GeoJSON.Position[] {
  const out: GeoJSON.Position[] = [];
  for (let i = 0; i + 1 < ring.length; i += 2) out.push([ring[i] as number, ring[i + 1] as number]);
  if (out[0]) out.push(out[0]);
  return out;
}

/** Even-odd test; points on the boundary may go either way. */
export function pointInRing(x: number, y: number, ring: Ring): boolean {
  const n = ring.length / 2;
  let inside = false;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = ring[2 * i] as number;
    const yi = ring[2 * i + 1] as number;
    const xj = ring[2 * j] as number;
    const yj = ring[2 * j + 1] as number;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

type Contact = 'none' | 'touch' | 'cross' | 'overlap';

function orient(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): number {
  const v = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
  return v > 0 ? 1 : v < 0 ? -1 : 0;
}

function onSegment(ax: number, ay: number, bx: number, by: number, px: number, py: number): boolean {
  return Math.min(ax, bx) <= px && px <= Math.max(ax, bx) && Math.min(ay, by) <= py && py <= Math.max(ay, by);
}

/** How segments AB and CD meet: a proper crossing, a touch (an endpoint on the other), an overlap. */
function contact(a: number[], b: number[], c: number[], d: number[]): Contact {
  const [ax, ay] = a as [number, number];
  const [bx, by] = b as [number, number];
  const [cx, cy] = c as [number, number];
  const [dx, dy] = d as [number, number];
  const o1 = orient(ax, ay, bx, by, cx, cy);
  const o2 = orient(ax, ay, bx, by, dx, dy);
  const o3 = orient(cx, cy, dx, dy, ax, ay);
  const o4 = orient(cx, cy, dx, dy, bx, by);
  if (o1 === 0 && o2 === 0) {
    // Collinear: overlapping when they share more than one point.
    const useX = Math.abs(bx - ax) >= Math.abs(by - ay);
    const [p0, p1] = useX ? [Math.min(ax, bx), Math.max(ax, bx)] : [Math.min(ay, by), Math.max(ay, by)];
    const [q0, q1] = useX ? [Math.min(cx, dx), Math.max(cx, dx)] : [Math.min(cy, dy), Math.max(cy, dy)];
    const lo = Math.max(p0, q0);
    const hi = Math.min(p1, q1);
    return hi > lo ? 'overlap' : hi === lo ? 'touch' : 'none';
  }
  if (o1 !== o2 && o3 !== o4) {
    return o1 === 0 || o2 === 0 || o3 === 0 || o4 === 0 ? 'touch' : 'cross';
  }
  if (o1 === 0 && onSegment(ax, ay, bx, by, cx, cy)) return 'touch';
  if (o2 === 0 && onSegment(ax, ay, bx, by, dx, dy)) return 'touch';
  if (o3 === 0 && onSegment(cx, cy, dx, dy, ax, ay)) return 'touch';
  if (o4 === 0 && onSegment(cx, cy, dx, dy, bx, by)) return 'touch';
  return 'none';
}

export type RingIntersection = {
  readonly ringA: number;
  readonly segmentA: number;
  readonly ringB: number;
  readonly segmentB: number;
  readonly kind: 'cross' | 'touch' | 'overlap';
};

/**
 * Raised when a polygon's edges overlap so much (thousands of long edges whose boxes all meet)
 * that checking them pair by pair would take minutes: such an input must not hold a core.
 */
export class RingCheckTooComplex extends Error {
  readonly edges: number;
  constructor(edges: number, tests: number) {
    super(
      `its ${edges} edges have more than ${tests} pairs of overlapping boxes to check for crossings; simplify it`,
    );
    this.edges = edges;
  }
}

/** Pairs of edges with overlapping boxes checked before giving up (a few seconds of work). */
export const MAX_EDGE_PAIR_TESTS = 20_000_000;

/**
 * The first invalid contact between edges of a polygon's rings, or undefined. Within a ring any
 * contact of non-adjacent edges is invalid (a bowtie, a figure 8), and adjacent edges may not fold
 * back on each other; between rings only crossings and overlaps are (a hole touching its shell at a
 * point is valid, as in OGC Simple Features). Edges are paired through an R-tree of their boxes, so
 * a ring of many short edges costs O(n log n) whatever its shape (a sweep over x alone was O(n^2)
 * for a comb: 20 s for 10,000 vertices); "first" is the smallest (ring, edge) pair, so the answer
 * does not depend on the index. Throws RingCheckTooComplex past `maxTests` box-overlapping pairs.
 */
export function findRingIntersection(
  rings: readonly Ring[],
  maxTests = MAX_EDGE_PAIR_TESTS,
): RingIntersection | undefined {
  type Seg = { ring: number; seg: number; n: number; a: number[]; b: number[] };
  const segs: Seg[] = [];
  rings.forEach((ring, r) => {
    const n = ring.length / 2;
    for (let i = 0; i < n; i++) {
      const j = (i + 1) % n;
      const a = [ring[2 * i] as number, ring[2 * i + 1] as number];
      const b = [ring[2 * j] as number, ring[2 * j + 1] as number];
      segs.push({ ring: r, seg: i, n, a, b });
    }
  });
  if (segs.length < 2) return undefined;
  const index = new Flatbush(segs.length);
  for (const { a, b } of segs) {
    index.add(
      Math.min(a[0] as number, b[0] as number),
      Math.min(a[1] as number, b[1] as number),
      Math.max(a[0] as number, b[0] as number),
      Math.max(a[1] as number, b[1] as number),
    );
  }
  index.finish();
  let tests = 0;
  // Segments are in (ring, edge) order: the first s with an invalid contact with a later t,
  // and the smallest such t, is the smallest pair.
  for (let k = 0; k < segs.length; k++) {
    const s = segs[k] as Seg;
    let best = -1;
    index.search(
      Math.min(s.a[0] as number, s.b[0] as number),
      Math.min(s.a[1] as number, s.b[1] as number),
      Math.max(s.a[0] as number, s.b[0] as number),
      Math.max(s.a[1] as number, s.b[1] as number),
      (m) => {
        if (m <= k || (best >= 0 && m >= best)) return false;
        if (++tests > maxTests) throw new RingCheckTooComplex(segs.length, maxTests);
        const t = segs[m] as Seg;
        const kind = contact(s.a, s.b, t.a, t.b);
        if (kind === 'none') return false;
        let invalid: boolean;
        if (s.ring !== t.ring) invalid = kind !== 'touch';
        else {
          const d = Math.abs(s.seg - t.seg);
          const adjacent = d === 1 || d === s.n - 1;
          invalid = adjacent ? kind === 'overlap' : true;
        }
        if (invalid) best = m;
        return false;
      },
    );
    if (best >= 0) {
      const t = segs[best] as Seg;
      const kind = contact(s.a, s.b, t.a, t.b) as RingIntersection['kind'];
      return { ringA: s.ring, segmentA: s.seg, ringB: t.ring, segmentB: t.seg, kind };
    }
  }
  return undefined;
}
