// Whether a window becomes a sample: per date its share of valid pixels and (with SCL) of cloudy
// ones, which dates are usable, and the reason when none is. A rejected window becomes one line of
// rejects.jsonl; planned = written + rejected counts every window.
import { z } from 'zod';
import type { PlannedWindow, TilePlan } from './plan.ts';
import type { WindowArrays } from './window-arrays.ts';

export const WindowRejectReasonSchema = z.enum([
  'edge',
  'split-buffer',
  'no-valid-pixels',
  'too-cloudy',
  'too-few-labels',
]);
export type WindowRejectReason = z.infer<typeof WindowRejectReasonSchema>;

/** One line of rejects.jsonl: the window, its split, the reason and what was measured. */
export const WindowRejectSchema = z
  .object({
    key: z.string().min(1),
    tile: z.string(),
    row: z.int().min(0),
    col: z.int().min(0),
    split: z.string(),
    reason: WindowRejectReasonSchema,
  })
  .loose();
export type WindowReject = z.infer<typeof WindowRejectSchema>;

export type Verdict = {
  reason: WindowRejectReason | null;
  detail: Record<string, unknown>;
  /** Per date: share of pixels where any band of the finest group holds data. */
  validFraction: number[];
  /** Per date: cloudy share of the SCL pixels that are not nodata (null without SCL). */
  cloudyFraction: number[] | null;
  /** Per date: some valid pixel, and not cloudier than allowed. */
  usable: boolean[];
};

export type CloudRule = { readonly cloudyClasses: readonly number[]; readonly maxCloudyFraction: number };

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

/** Judges a window from its pixels: valid share from the finest group, cloudy share from SCL. */
export function judgeWindow(tp: TilePlan, wa: WindowArrays, clouds: CloudRule | null): Verdict {
  const T = tp.products.length;
  const g0 = tp.groups[0];
  const data = wa.groups.get(g0?.name ?? '') as Uint16Array;
  const C = g0?.bands.length ?? 1;
  const n = data.length / (T * C);
  const nodata = tp.bands.find((b) => b.name === g0?.bands[0])?.nodata ?? null;
  const validFraction: number[] = [];
  for (let t = 0; t < T; t++) {
    if (nodata === null) {
      validFraction.push(1);
      continue;
    }
    // A pixel is valid when any band of the group has data there.
    let valid = 0;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < C; c++) {
        if (data[(t * C + c) * n + i] !== nodata) {
          valid++;
          break;
        }
      }
    }
    validFraction.push(valid / n);
  }
  let cloudyFraction: number[] | null = null;
  if (wa.scl && clouds) {
    // A table lookup per SCL pixel, not a Set's: this runs over every pixel of every window.
    const classes = new Uint8Array(256);
    for (const k of clouds.cloudyClasses) classes[k] = 1;
    const scl = wa.scl;
    const m = scl.length / T;
    cloudyFraction = [];
    for (let t = 0; t < T; t++) {
      let cloudy = 0;
      let seen = 0;
      for (let i = t * m; i < (t + 1) * m; i++) {
        const v = scl[i]!;
        if (v === 0) continue;
        seen++;
        cloudy += classes[v]!;
      }
      cloudyFraction.push(seen ? cloudy / seen : 1);
    }
  }
  const maxCloudy = clouds?.maxCloudyFraction ?? 1;
  const usable = validFraction.map(
    (v, t) => v > 0 && (cloudyFraction === null || (cloudyFraction[t] as number) <= maxCloudy),
  );
  if (validFraction.every((v) => v === 0)) {
    return { reason: 'no-valid-pixels', detail: { dates: T }, validFraction, cloudyFraction, usable };
  }
  if (!usable.some(Boolean)) {
    return {
      reason: 'too-cloudy',
      detail: { cloudyFraction: cloudyFraction?.map(round4), maxCloudyFraction: maxCloudy },
      validFraction,
      cloudyFraction,
      usable,
    };
  }
  return { reason: null, detail: {}, validFraction, cloudyFraction, usable };
}

/**
 * A window that reaches past the imagery's edge, with `windows.edge: "drop"`: rejected before any
 * pixel is read, saying how much of it lies inside.
 */
export function edgeVerdict(insideFraction: number): Verdict {
  return {
    reason: 'edge',
    detail: { insideFraction: round4(insideFraction) },
    validFraction: [],
    cloudyFraction: null,
    usable: [],
  };
}

/** A window the plan rejected: nearer than splits.buffer to a window of another split. */
export function splitBufferVerdict(buffer: number): Verdict {
  return {
    reason: 'split-buffer',
    detail: { bufferMetres: buffer },
    validFraction: [],
    cloudyFraction: null,
    usable: [],
  };
}

/** Rejects a window whose labelled share is below the job's minimum (verdict changed in place). */
export function requireLabelledFraction(verdict: Verdict, labelledFraction: number, minimum: number): void {
  if (verdict.reason || labelledFraction >= minimum) return;
  verdict.reason = 'too-few-labels';
  verdict.detail = { labelledFraction, minLabelledFraction: minimum };
}

/** The rejects.jsonl record of a rejected window (measurements before the reason, as always). */
export function rejectRecord(key: string, tile: string, w: PlannedWindow, verdict: Verdict): WindowReject {
  if (!verdict.reason) throw new Error(`window ${key} was not rejected`);
  return {
    key,
    tile,
    row: w.row,
    col: w.col,
    split: w.split,
    ...verdict.detail,
    reason: verdict.reason,
  };
}
