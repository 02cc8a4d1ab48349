// The pixels of one window across all dates, as a region worker fills them: one [T, C, h, w] array
// per band group (each at its native resolution) and the SCL cube [T, h, w] when clouds use SCL.
import type { CogInfo } from './cog-types.ts';
import { allocateManyForNpy } from './npy.ts';
import type { TilePlan } from './plan.ts';

export type WindowArrays = { groups: Map<string, Uint16Array>; scl: Uint8Array | null };

/** Side in pixels of a window in a band of this COG (the window is square on the finest grid). */
export function bandSide(tp: TilePlan, cog: CogInfo): number {
  // On an output grid every band is warped onto the grid's one resolution.
  if (tp.output) return tp.grid.windowSize;
  return Math.round((tp.grid.windowSize * tp.grid.res) / cog.resX);
}

/**
 * Zeroed arrays for `count` windows of a tile plan (sides from its first product's COGs), each with
 * room for its .npy header in front, so the sample's `.npy` members are these bytes, not copies.
 * Each group's windows share one buffer: one large allocation per region, which the system maps and
 * takes back whole when the region is done, instead of thousands of small ones that fragment the
 * heap a worker keeps from region to region.
 */
export function allocateWindowArrays(tp: TilePlan, count: number): WindowArrays[] {
  const T = tp.products.length;
  const ref = tp.products[0]?.cogs ?? {};
  const sideOf = (asset: string) => bandSide(tp, ref[asset] as CogInfo);
  const groups = tp.groups.map((g) => {
    const side = sideOf(g.bands[0] as string);
    return { name: g.name, arrays: allocateManyForNpy(Uint16Array, [T, g.bands.length, side, side], count) };
  });
  const sclSide = tp.scl ? sideOf(tp.scl) : 0;
  const scl = tp.scl ? allocateManyForNpy(Uint8Array, [T, sclSide, sclSide], count) : null;
  return Array.from({ length: count }, (_, k) => ({
    groups: new Map(groups.map((g) => [g.name, g.arrays[k] as Uint16Array])),
    scl: scl ? (scl[k] as Uint8Array) : null,
  }));
}
