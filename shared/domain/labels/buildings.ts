// SpaceNet-style building targets: footprint, outline band, contact (gaps between buildings) and a
// signed distance map, all computed exactly from the polygons (segment distances), not from a mask.
import { ringBounds } from './rings.ts';
import type { BurnFeature, PixelGrid } from './types.ts';

export type BuildingMaskOptions = {
  /** Width in metres of the outline band: pixels whose centre is within half of it of an outline. */
  readonly boundaryWidth: number;
  /** A background pixel is "contact" when its centre is within this many metres of 2+ buildings. */
  readonly contactDistance: number;
  /** Distances are clipped to +-maxDistance metres (default 16 pixels); far pixels hold -maxDistance. */
  readonly maxDistance?: number;
};

export type BuildingMasks = {
  /** 1 where the pixel centre is inside a building (the SpaceNet / rasterio default rule). */
  readonly footprint: Uint8Array;
  readonly boundary: Uint8Array;
  readonly contact: Uint8Array;
  /** Signed Euclidean distance in metres from the pixel centre to the nearest outline: + inside. */
  readonly distance: Float32Array;
};

/**
 * Each feature is one building. Work per building is bounded to its bounding box grown by the
 * largest distance any output needs, so cost grows with buildings, not with the grid.
 */
export function buildingMasks(
  features: readonly BurnFeature[],
  grid: PixelGrid,
  options: BuildingMaskOptions,
): BuildingMasks {
  const { width, height, pixelSize: ps } = grid;
  const n = width * height;
  const cap = options.maxDistance ?? 16 * ps;
  const halfBand = options.boundaryWidth / 2;
  const reach = Math.max(cap, halfBand, options.contactDistance);
  const nearest = new Float64Array(n).fill(Infinity);
  const footprint = new Uint8Array(n);
  const near = new Uint8Array(n);

  for (const feature of features) {
    const segments = outlineSegments(feature);
    if (segments.length === 0) continue;
    // The segments' endpoints, read as one flat list of vertices, are the outline's vertices.
    const [minX, minY, maxX, maxY] = ringBounds(segments);
    const colStart = Math.max(0, Math.floor((minX - reach - grid.originX) / ps));
    const colEnd = Math.min(width, Math.ceil((maxX + reach - grid.originX) / ps));
    const rowStart = Math.max(0, Math.floor((grid.originY - maxY - reach) / ps));
    const rowEnd = Math.min(height, Math.ceil((grid.originY - minY + reach) / ps));
    for (let row = rowStart; row < rowEnd; row++) {
      const y = grid.originY - (row + 0.5) * ps;
      const crossings = rowCrossings(segments, y);
      let k = 0;
      for (let col = colStart; col < colEnd; col++) {
        const x = grid.originX + (col + 0.5) * ps;
        // Even-odd over all rings: holes and separate parts need no orientation.
        while (k < crossings.length && crossings[k]! < x) k++;
        const inside = (k & 1) === 1;
        const dist = Math.sqrt(minSquaredDistance(segments, x, y));
        const p = row * width + col;
        if (dist < nearest[p]!) nearest[p] = dist;
        if (inside) footprint[p] = 1;
        if ((inside || dist <= options.contactDistance) && near[p]! < 255) near[p]!++;
      }
    }
  }

  const boundary = new Uint8Array(n);
  const contact = new Uint8Array(n);
  const distance = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    const d = Math.min(nearest[p]!, cap);
    distance[p] = footprint[p] === 1 ? d : -d;
    if (nearest[p]! <= halfBand) boundary[p] = 1;
    if (footprint[p] === 0 && near[p]! >= 2) contact[p] = 1;
  }
  return { footprint, boundary, contact, distance };
}

/** All ring edges of a feature as [x0, y0, x1, y1, ...] quadruples. */
function outlineSegments(feature: BurnFeature): Float64Array {
  let count = 0;
  for (const polygon of feature.polygons) {
    for (const ring of polygon.rings) if (ring.length >= 6) count += ring.length >> 1;
  }
  const out = new Float64Array(count * 4);
  let o = 0;
  for (const polygon of feature.polygons) {
    for (const ring of polygon.rings) {
      const m = ring.length >> 1;
      if (m < 3) continue;
      for (let i = 0; i < m; i++) {
        const j = (i + 1) % m;
        out[o++] = ring[2 * i]!;
        out[o++] = ring[2 * i + 1]!;
        out[o++] = ring[2 * j]!;
        out[o++] = ring[2 * j + 1]!;
      }
    }
  }
  return out;
}

/** Sorted x where the horizontal line at y crosses the outline (half-open rule: no double counts). */
function rowCrossings(s: Float64Array, y: number): number[] {
  const xs: number[] = [];
  for (let i = 0; i < s.length; i += 4) {
    const y0 = s[i + 1]!;
    const y1 = s[i + 3]!;
    if (y0 <= y !== y1 <= y) {
      const x0 = s[i]!;
      xs.push(x0 + ((y - y0) * (s[i + 2]! - x0)) / (y1 - y0));
    }
  }
  return xs.sort((a, b) => a - b);
}

function minSquaredDistance(s: Float64Array, x: number, y: number): number {
  let best = Infinity;
  for (let i = 0; i < s.length; i += 4) {
    const ax = s[i]!;
    const ay = s[i + 1]!;
    const dx = s[i + 2]! - ax;
    const dy = s[i + 3]! - ay;
    const len2 = dx * dx + dy * dy;
    let t = len2 > 0 ? ((x - ax) * dx + (y - ay) * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    const ex = ax + t * dx - x;
    const ey = ay + t * dy - y;
    const d2 = ex * ex + ey * ey;
    if (d2 < best) best = d2;
  }
  return best;
}
