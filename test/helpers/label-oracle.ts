// Slow, obviously-right references for the label rasterizer tests: per-pixel Sutherland–Hodgman
// clipping for coverage, and seeded random star-shaped polygons (simple by construction).
import type { PixelGrid, PolygonRings, Ring } from '../../shared/domain/labels/types.ts';

/** Area of ring ∩ [x0, x1] x [y0, y1], clipping the ring against the box's four half-planes. */
export function clippedRingArea(ring: Ring, x0: number, y0: number, x1: number, y1: number): number {
  // Shift to the box's corner first: shoelace on UTM-sized coordinates loses ~1e-4 m² to cancellation.
  let pts: number[] = Array.from(ring, (v, i) => v - (i % 2 === 0 ? x0 : y0));
  x1 -= x0;
  y1 -= y0;
  x0 = 0;
  y0 = 0;
  const clip = (
    inside: (x: number, y: number) => boolean,
    cut: (ax: number, ay: number, bx: number, by: number) => [number, number],
  ) => {
    const out: number[] = [];
    const m = pts.length / 2;
    for (let i = 0; i < m; i++) {
      const ax = pts[2 * ((i + m - 1) % m)]!;
      const ay = pts[2 * ((i + m - 1) % m) + 1]!;
      const bx = pts[2 * i]!;
      const by = pts[2 * i + 1]!;
      const aIn = inside(ax, ay);
      const bIn = inside(bx, by);
      if (bIn) {
        if (!aIn) out.push(...cut(ax, ay, bx, by));
        out.push(bx, by);
      } else if (aIn) {
        out.push(...cut(ax, ay, bx, by));
      }
    }
    pts = out;
  };
  const atX =
    (x: number) =>
    (ax: number, ay: number, bx: number, by: number): [number, number] => [
      x,
      ay + ((x - ax) * (by - ay)) / (bx - ax),
    ];
  const atY =
    (y: number) =>
    (ax: number, ay: number, bx: number, by: number): [number, number] => [
      ax + ((y - ay) * (bx - ax)) / (by - ay),
      y,
    ];
  clip((x) => x >= x0, atX(x0));
  clip((x) => x <= x1, atX(x1));
  clip((_, y) => y >= y0, atY(y0));
  clip((_, y) => y <= y1, atY(y1));
  let sum = 0;
  const m = pts.length / 2;
  for (let i = 0; i < m; i++) {
    const j = (i + 1) % m;
    sum += pts[2 * i]! * pts[2 * j + 1]! - pts[2 * j]! * pts[2 * i + 1]!;
  }
  return Math.abs(sum) / 2;
}

/** Coverage of every pixel of the grid, the slow way. */
export function oracleCoverage(polygons: readonly PolygonRings[], grid: PixelGrid): Float64Array {
  const out = new Float64Array(grid.width * grid.height);
  const ps = grid.pixelSize;
  for (let row = 0; row < grid.height; row++) {
    for (let col = 0; col < grid.width; col++) {
      const x0 = grid.originX + col * ps;
      const y1 = grid.originY - row * ps;
      let area = 0;
      for (const polygon of polygons) {
        polygon.rings.forEach((ring, i) => {
          const a = clippedRingArea(ring, x0, y1 - ps, x0 + ps, y1);
          area += i === 0 ? a : -a;
        });
      }
      out[row * grid.width + col] = Math.min(1, Math.max(0, area / (ps * ps)));
    }
  }
  return out;
}

/** A deterministic PRNG (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A star-shaped ring about (cx, cy) with n >= 3 vertices at radii in [rMin, rMax], wound either way at
 * random. Angles are jittered around even steps, so every edge stays at least rMin * cos(1.5 pi / n)
 * from the centre (a hole of smaller radius fits inside when n >= 6).
 */
export function starRing(
  random: () => number,
  cx: number,
  cy: number,
  rMin: number,
  rMax: number,
  n: number,
): Ring {
  const step = (2 * Math.PI) / n;
  const angles = Array.from({ length: n }, (_, i) => (i + (random() - 0.5) * 0.5) * step);
  const pts: number[] = [];
  for (const a of angles) {
    const r = rMin + random() * (rMax - rMin);
    pts.push(cx + r * Math.cos(a), cy + r * Math.sin(a));
  }
  if (random() < 0.5) return reverseRing(new Float64Array(pts));
  return new Float64Array(pts);
}

export function reverseRing(ring: Ring): Ring {
  const m = ring.length / 2;
  const out = new Float64Array(ring.length);
  for (let i = 0; i < m; i++) {
    out[2 * i] = ring[2 * (m - 1 - i)]!;
    out[2 * i + 1] = ring[2 * (m - 1 - i) + 1]!;
  }
  return out;
}

/** An axis-aligned rectangle ring, counter-clockwise. */
export function rect(x0: number, y0: number, x1: number, y1: number): Ring {
  return new Float64Array([x0, y0, x1, y0, x1, y1, x0, y1]);
}
