// Single-date samples (job `samples: "per-date"`): one sample per window and acquisition, keyed
// `<window key>_<yyyymmdd>`, its arrays [1, C, H, W]. A date of a window is a tile plan with that
// one product and views into the window's arrays, so the verdict, the sample `.json` and the
// statistics are computed by the same code as for a series, over that date's pixels only.
import type { TilePlan } from './plan.ts';
import type { WindowArrays } from './window-arrays.ts';

/** The UTC day of an ISO datetime as yyyymmdd (one product per tile and day: unique in a window). */
export function dateStamp(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new Error(`"${iso}" is not an ISO datetime`);
  return d.toISOString().slice(0, 10).replaceAll('-', '');
}

/** The key of the sample of one date of a window. */
export function perDateKey(windowKey: string, iso: string): string {
  return `${windowKey}_${dateStamp(iso)}`;
}

/** Date t of a window: the tile plan with only that product, and views of that date's pixels. */
export function dateSlice(tp: TilePlan, wa: WindowArrays, t: number): { tp: TilePlan; wa: WindowArrays } {
  const T = tp.products.length;
  const product = tp.products[t];
  if (!product) throw new Error(`date ${t} is not among the ${T} dates of tile ${tp.tile}`);
  const view = <A extends Uint16Array | Uint8Array>(a: A): A => {
    const n = a.length / T;
    return a.subarray(t * n, (t + 1) * n) as A;
  };
  return {
    tp: { ...tp, products: [product] },
    wa: {
      groups: new Map([...wa.groups].map(([name, data]) => [name, view(data)])),
      scl: wa.scl ? view(wa.scl) : null,
    },
  };
}
