// Quicklooks: a sample as a true-colour PNG, one frame per date side by side, each frame the
// window on the finest grid of the three bands (nearest neighbour for a coarser one). Every
// channel is stretched linearly between the dataset's statistics, the train split's 2nd and 98th
// percentiles (manifest stats.bands.<band>.p2 / p98): 8-bit value round(255 * (v - p2) / (p98 - p2)),
// clipped to 0..255. A pixel where any of the three bands holds its nodata is black. With labels,
// the outline of the label map (labels.npy, else instances.npy) is drawn in yellow over every
// frame: a frame pixel is on it when its label (the label pixel at its centre) differs from its
// right or lower neighbour's.
import { encode } from 'fast-png';
import { z } from 'zod';
import type { BandSummary } from './band-stats.ts';
import { QUICKLOOK_BANDS } from './job-spec.ts';

/** The outline colour over the frames (yellow). */
export const OUTLINE_RGB = [255, 255, 0] as const;
/** What a channel falls back to when the train split counted no pixel of its band. */
export const FALLBACK_RANGE = { low: 0, high: 10_000 } as const;

export const QuicklookChannelSchema = z
  .object({
    band: z.string().describe('The band shown in this channel (STAC asset key)'),
    low: z.number().describe('Stored value shown as 0'),
    high: z.number().describe('Stored value shown as 255'),
    from: z
      .enum(['stats-p2-p98', 'fixed'])
      .describe(
        '"stats-p2-p98": low and high are stats.bands.<band>.p2 and p98 (train split); "fixed": 0 and 10000, the train split counted no pixel of the band',
      ),
  })
  .strict();
export type QuicklookChannel = z.infer<typeof QuicklookChannelSchema>;

/** The stretch of the three channels (R, G, B), as the manifest and every shard plan carry it. */
export const QuicklookStretchSchema = z.array(QuicklookChannelSchema).length(3);
export type QuicklookStretch = z.infer<typeof QuicklookStretchSchema>;

/** The stretch from the dataset's band statistics (p2 and p98 of the train split). */
export function quicklookStretch(stats: Readonly<Record<string, BandSummary>>): QuicklookStretch {
  return QUICKLOOK_BANDS.map((band) => {
    const s = stats[band];
    if (s && s.p2 !== null && s.p98 !== null) return { band, low: s.p2, high: s.p98, from: 'stats-p2-p98' };
    return { band, ...FALLBACK_RANGE, from: 'fixed' };
  });
}

/** One stored value as an 8-bit channel value under the stretch. */
export function stretchValue(v: number, low: number, high: number): number {
  if (!(high > low)) return v > low ? 255 : 0;
  return Math.min(255, Math.max(0, Math.round(((v - low) / (high - low)) * 255)));
}

/** What a quicklook is made from: a decoded sample's arrays and its `.json`'s groups. */
export type QuicklookSource = {
  /** Arrays by member name without `.npy`: band groups [T, C, s, s], `labels`/`instances` [HL, WL]. */
  arrays: Readonly<Record<string, { shape: readonly number[]; data: ArrayLike<number> }>>;
  /** The sample `.json`'s `groups`: group name → its bands in channel order. */
  groups: Readonly<Record<string, { bands: readonly string[] }>>;
  /** Band → its nodata value (null: none). */
  nodata: Readonly<Record<string, number | null>>;
};

export type RgbImage = { width: number; height: number; data: Uint8Array };

/** The frames of a sample as RGB: width = dates x side, height = side (the finest of the three bands). */
export function quicklookImage(src: QuicklookSource, stretch: QuicklookStretch, key = 'sample'): RgbImage {
  const channels = stretch.map((ch) => {
    const entry = Object.entries(src.groups).find(([, g]) => g.bands.includes(ch.band));
    const array = entry ? src.arrays[entry[0]] : undefined;
    if (!entry || !array) {
      throw new Error(`sample ${key} has no band ${ch.band}: a quicklook needs red, green and blue`);
    }
    const [T, C, s] = array.shape as [number, number, number, number];
    return {
      ...ch,
      data: array.data,
      T,
      C,
      s,
      c: entry[1].bands.indexOf(ch.band),
      nodata: src.nodata[ch.band] ?? null,
    };
  });
  const T = channels[0]?.T ?? 1;
  const S = Math.max(...channels.map((c) => c.s));
  const outline = outlineMask(src.arrays['labels'] ?? src.arrays['instances'], S);
  const width = T * S;
  const out = new Uint8Array(width * S * 3);
  for (let t = 0; t < T; t++) {
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const o = (y * width + t * S + x) * 3;
        if (outline?.[y * S + x]) {
          out.set(OUTLINE_RGB, o);
          continue;
        }
        let blank = false;
        const rgb = [0, 0, 0];
        channels.forEach((ch, i) => {
          const sy = Math.floor((y * ch.s) / S);
          const sx = Math.floor((x * ch.s) / S);
          const v = ch.data[((t * ch.C + ch.c) * ch.s + sy) * ch.s + sx] as number;
          if (v === ch.nodata) blank = true;
          rgb[i] = stretchValue(v, ch.low, ch.high);
        });
        if (!blank) out.set(rgb, o);
      }
    }
  }
  return { width, height: S, data: out };
}

/**
 * [S, S] with 1 where a frame pixel lies on the label outline: its label differs from that of its
 * right or lower neighbour. A frame pixel's label is the label pixel at its centre (label grid
 * HL = k·S: the one at row y·k + floor(k/2), column x·k + floor(k/2)), so outlines stay one frame
 * pixel wide when labels are finer than the bands.
 */
export function outlineMask(
  label: { shape: readonly number[]; data: ArrayLike<number> } | undefined,
  S: number,
): Uint8Array | null {
  if (label === undefined) return null;
  if (label.shape.length !== 2) return null;
  const [H, W] = label.shape as [number, number];
  const at = (y: number, x: number) =>
    label.data[
      (Math.floor((y * H) / S) + Math.floor(H / S / 2)) * W + Math.floor((x * W) / S) + Math.floor(W / S / 2)
    ];
  const out = new Uint8Array(S * S);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const v = at(y, x);
      if ((x + 1 < S && at(y, x + 1) !== v) || (y + 1 < S && at(y + 1, x) !== v)) out[y * S + x] = 1;
    }
  }
  return out;
}

export function encodeRgbPng(image: RgbImage): Uint8Array {
  return encode({ width: image.width, height: image.height, data: image.data, channels: 3, depth: 8 });
}
