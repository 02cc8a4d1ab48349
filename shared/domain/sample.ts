// One sample of the dataset: its `.json` (where, when, which items, how to read the arrays) and its
// `.npy` members, in the order they go into the shard. Pure: the same window gives the same bytes.
import { rectToWgs84Bbox } from './crs.ts';
import { windowBounds, windowKey, windowTransform } from './grid.ts';
import { encodeNpy } from './npy.ts';
import { outputKey } from './output-grid.ts';
import type { PlannedWindow, SecondaryPlan, TilePlan } from './plan.ts';
import { bandDates, perDate } from './radiometry.ts';
import type { ShardSample } from './shard.ts';
import type { WindowArrays } from './window-arrays.ts';
import type { Verdict } from './window-verdict.ts';

/** What the label engine adds to a sample: its members and the `labels` block of the `.json`. */
export type SampleLabels = {
  readonly members: ShardSample['members'];
  readonly meta: Record<string, unknown>;
};

/** A second source's cube of one window: [T1, C, side, side] float32, NaN where it has no value. */
export type SampleSource = {
  readonly plan: SecondaryPlan;
  readonly side: number;
  readonly data: Float32Array;
};

const doyOf = new Map<string, number>();

/** Day of the year (1 = 1 January) of an ISO datetime, in UTC. */
export function dayOfYear(iso: string): number {
  // Every sample of a tile plan names the same few dates: parse each once.
  const known = doyOf.get(iso);
  if (known !== undefined) return known;
  const d = new Date(iso);
  const doy = Math.floor(
    (Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 0)) /
      86_400_000,
  );
  if (doyOf.size >= 4096) doyOf.clear();
  doyOf.set(iso, doy);
  return doy;
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** The sample key: `<tile>_<row>_<col>` on the native grid, the output grid's key otherwise. */
export function sampleKey(tp: TilePlan, w: PlannedWindow | { row: number; col: number }): string {
  return tp.output ? outputKey(tp.grid, tp.output, w) : windowKey(tp.tile, w);
}

/** What a sample's `.json` says of a non-native grid: kind, tile indices, resampling per asset. */
function outputGridMeta(tp: TilePlan, w: PlannedWindow): Record<string, unknown> {
  const o = tp.output as NonNullable<TilePlan['output']>;
  return {
    kind: o.kind,
    ...(o.kind === 'webmercator' ? { zoom: o.zoom, x: w.col, y: w.row } : { row: w.row, col: w.col }),
    resolution: tp.grid.res,
    sourceEpsg: o.sourceEpsg,
    resampling: o.assetResampling,
  };
}

/** The sample `.json` of a window (key order is part of the byte-identical shard contract). */
export function sampleMetadata(
  dataset: string,
  tp: TilePlan,
  w: PlannedWindow,
  wa: WindowArrays,
  v: Verdict,
  labels: SampleLabels | null,
  key: string = sampleKey(tp, w),
  sources: readonly SampleSource[] = [],
): Record<string, unknown> {
  const T = tp.products.length;
  const window = sampleKey(tp, w);
  const bounds = windowBounds(tp.grid, w);
  const groups: Record<string, { bands: string[]; resolution: number; shape: number[] }> = {};
  for (const g of tp.groups) {
    const data = wa.groups.get(g.name) as Uint16Array;
    groups[g.name] = { bands: g.bands, resolution: g.resolution, shape: groupShape(data, T, g.bands.length) };
  }
  return {
    id: key,
    // A single-date sample names its window: the samples of one window share it (and its split).
    ...(key !== window ? { window } : {}),
    dataset,
    split: w.split,
    tile: tp.tile,
    epsg: tp.grid.epsg,
    row: w.row,
    col: w.col,
    transform: windowTransform(tp.grid, w),
    bounds,
    boundsWgs84: rectToWgs84Bbox(tp.grid.epsg, bounds).map((x) => Math.round(x * 1e7) / 1e7),
    dates: tp.products.map((p) => p.datetime),
    doy: tp.products.map((p) => dayOfYear(p.datetime)),
    items: tp.products.map((p) => p.id),
    groups,
    // value * scale + offset is the reflectance: one number when every date agrees, else one per date.
    bands: Object.fromEntries(
      tp.bands.map((b) => {
        const r = bandDates(tp, b.name);
        return [
          b.name,
          {
            scale: perDate(r.map((x) => x.scale)),
            offset: perDate(r.map((x) => x.storedOffset)),
            nodata: b.nodata,
            resolution: b.resolution,
            // DN added to each date's pixels by radiometry.harmonize, when any was.
            ...(r.some((x) => x.added > 0) ? { added: r.map((x) => x.added) } : {}),
          },
        ];
      }),
    ),
    ...(tp.output ? { grid: outputGridMeta(tp, w) } : {}),
    validFraction: v.validFraction.map(round4),
    cloudyFraction: v.cloudyFraction?.map(round4) ?? null,
    usable: v.usable,
    // Second sources: their own dates and items; values as the source holds them, nodata as NaN.
    ...(sources.length > 0
      ? {
          sources: Object.fromEntries(
            sources.map((x) => [
              x.plan.name,
              {
                dates: x.plan.products.map((p) => p.datetime),
                doy: x.plan.products.map((p) => dayOfYear(p.datetime)),
                items: x.plan.products.map((p) => p.id),
                bands: x.plan.bands.map((b) => b.name),
                resolution: x.plan.resolution,
                shape: [x.plan.products.length, x.plan.bands.length, x.side, x.side],
                dtype: 'float32',
                nodata: x.plan.bands.map((b) => b.nodata),
                nodataIs: 'NaN',
              },
            ]),
          ),
        }
      : {}),
    ...(labels ? { labels: labels.meta } : {}),
  };
}

const utf8 = new TextEncoder();

/** [T, C, s, s] of a square group cube. */
function groupShape(data: Uint16Array, T: number, C: number): number[] {
  const s = Math.round(Math.sqrt(data.length / (T * C)));
  return [T, C, s, s];
}

/**
 * The sample of a window: `.json`, one `.npy` per band group, the SCL cube, the valid mask (windows
 * padded past the imagery edge: [H, W] uint8 on the finest grid, 1 = inside), then label members.
 */
export function buildSample(
  dataset: string,
  tp: TilePlan,
  w: PlannedWindow,
  wa: WindowArrays,
  v: Verdict,
  labels: SampleLabels | null,
  valid: Uint8Array | null = null,
  key: string = sampleKey(tp, w),
  sources: readonly SampleSource[] = [],
): ShardSample {
  const T = tp.products.length;
  const members: ShardSample['members'] = [];
  for (const g of tp.groups) {
    const data = wa.groups.get(g.name) as Uint16Array;
    members.push({ name: `${g.name}.npy`, data: encodeNpy(data, groupShape(data, T, g.bands.length)) });
  }
  for (const x of sources) {
    const shape = [x.plan.products.length, x.plan.bands.length, x.side, x.side];
    members.push({ name: `${x.plan.name}.npy`, data: encodeNpy(x.data, shape) });
  }
  if (wa.scl) {
    const s = Math.round(Math.sqrt(wa.scl.length / T));
    members.push({ name: 'scl.npy', data: encodeNpy(wa.scl, [T, s, s]) });
  }
  if (valid)
    members.push({ name: 'valid.npy', data: encodeNpy(valid, [tp.grid.windowSize, tp.grid.windowSize]) });
  const meta = sampleMetadata(dataset, tp, w, wa, v, labels, key, sources);
  return {
    key,
    members: [
      { name: 'json', data: utf8.encode(JSON.stringify(meta)) },
      ...members,
      ...(labels?.members ?? []),
    ],
  };
}
