// Product selection, the DeepSatData criteria: cloud cover, no-data share, AOI coverage, one product
// per tile and day, and at most maxDates per tile spread evenly over the period (ties: less cloudy).
import { area, intersect } from '@turf/turf';
import { z } from 'zod';
import type { Product } from './catalog.ts';
import { IntegrityError } from './errors.ts';
import { ItemRadiometrySchema } from './radiometry.ts';

export type SelectionCriteria = {
  maxCloudCover: number;
  maxNodataPercent: number;
  minAoiCoverage: number;
  maxDates?: number | undefined;
  spread: 'uniform' | 'least-cloudy';
};

export const RejectReasonSchema = z.enum([
  'outside-period',
  'missing-band',
  'cloud-cover',
  'nodata',
  'aoi-coverage',
  'duplicate-date',
  'max-dates',
  'invalid-item',
]);
export type RejectReason = z.infer<typeof RejectReasonSchema>;

/** One catalog item as selection judged it: chosen, or rejected with a reason (selection.json). */
export const CandidateSchema = z.strictObject({
  id: z.string(),
  collection: z.string(),
  tile: z.string(),
  datetime: z.string(),
  cloudCover: z.number().nullable(),
  nodataPercent: z.number().nullable(),
  aoiCoverage: z.number(),
  online: z.boolean(),
  chosen: z.boolean(),
  reason: RejectReasonSchema.nullable(),
  detail: z.string().nullable(),
  /** Offsets by the metadata rule; for chosen items also the probe's verdict (set by PlanWindows). */
  radiometry: ItemRadiometrySchema.optional(),
});
export type Candidate = z.infer<typeof CandidateSchema>;

/** selection.json as read back to add to it: its candidates, other fields kept as they are. */
export const SelectionReportSchema = z
  .object({
    runId: z.string(),
    candidates: z.array(z.object({ id: z.string(), chosen: z.boolean() }).loose()),
  })
  .loose();
export type SelectionReport = z.infer<typeof SelectionReportSchema>;

export function parseSelectionReport(bytes: Uint8Array, source: string): SelectionReport {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new IntegrityError(
      `${source} is not JSON; it was changed by hand or damaged`,
      { source },
      { cause },
    );
  }
  const parsed = SelectionReportSchema.safeParse(raw);
  if (!parsed.success) {
    throw new IntegrityError(
      `${source} is not a selection report (${parsed.error.issues[0]?.message ?? 'invalid'}); it was changed by hand or damaged`,
      { source },
    );
  }
  return parsed.data;
}

export type SelectionResult = {
  candidates: Candidate[];
  /** Chosen products per tile, sorted by datetime. */
  chosen: Record<string, Product[]>;
};

/** Fraction of the AOI's area that the footprint covers (geodesic areas, both in EPSG:4326). */
export function aoiCoverage(
  footprint: GeoJSON.Polygon | GeoJSON.MultiPolygon,
  aoi: GeoJSON.Polygon | GeoJSON.MultiPolygon,
): number {
  const aoiArea = area(aoi);
  if (aoiArea === 0) return 0;
  const inter = intersect({
    type: 'FeatureCollection',
    features: [
      { type: 'Feature', properties: {}, geometry: footprint },
      { type: 'Feature', properties: {}, geometry: aoi },
    ],
  });
  return inter ? Math.min(1, area(inter) / aoiArea) : 0;
}

const cloudOf = (p: { cloudCover: number | null }) => p.cloudCover ?? 100;
const dayOf = (iso: string) => iso.slice(0, 10);

/**
 * Picks up to n items spread evenly over [start, end]: for each of n equal slots, the item nearest
 * the slot's centre that is still free (ties to the less cloudy, then the id).
 */
export function spreadUniform<T extends { datetime: string; cloudCover: number | null; id: string }>(
  items: T[],
  n: number,
  start: number,
  end: number,
): T[] {
  if (items.length <= n) return [...items];
  const free = new Set(items);
  const picked: T[] = [];
  const span = Math.max(end - start, 1);
  for (let i = 0; i < n; i++) {
    const target = start + ((i + 0.5) * span) / n;
    let best: T | undefined;
    let bestKey: [number, number, string] | undefined;
    for (const item of free) {
      const key: [number, number, string] = [
        Math.abs(Date.parse(item.datetime) - target),
        cloudOf(item),
        item.id,
      ];
      if (
        !bestKey ||
        key[0] < bestKey[0] ||
        (key[0] === bestKey[0] && (key[1] < bestKey[1] || (key[1] === bestKey[1] && key[2] < bestKey[2])))
      ) {
        best = item;
        bestKey = key;
      }
    }
    if (best) {
      picked.push(best);
      free.delete(best);
    }
  }
  return picked;
}

export function selectProducts(
  products: Product[],
  criteria: SelectionCriteria,
  context: {
    aoi: GeoJSON.Polygon | GeoJSON.MultiPolygon;
    start: string;
    end: string;
    requiredAssets: string[];
  },
): SelectionResult {
  const start = Date.parse(context.start);
  const end = Date.parse(context.end.length === 10 ? `${context.end}T23:59:59.999Z` : context.end);
  const candidates = new Map<string, Candidate>();
  const passing: Product[] = [];
  const sorted = [...products].sort(
    (a, b) => a.datetime.localeCompare(b.datetime) || a.id.localeCompare(b.id),
  );

  for (const p of sorted) {
    const c: Candidate = {
      id: p.id,
      collection: p.collection,
      tile: p.tile,
      datetime: p.datetime,
      cloudCover: p.cloudCover,
      nodataPercent: p.nodataPercent,
      aoiCoverage: aoiCoverage(p.footprint, context.aoi),
      online: p.online,
      chosen: false,
      reason: null,
      detail: null,
    };
    candidates.set(p.id, c);
    const t = Date.parse(p.datetime);
    const missing = context.requiredAssets.filter((a) => !p.assets[a]);
    if (t < start || t > end) {
      c.reason = 'outside-period';
      c.detail = `${p.datetime} is outside ${context.start}..${context.end}`;
    } else if (missing.length > 0) {
      c.reason = 'missing-band';
      c.detail = `no asset for ${missing.join(', ')}`;
    } else if (cloudOf(p) > criteria.maxCloudCover) {
      c.reason = 'cloud-cover';
      c.detail = `eo:cloud_cover ${p.cloudCover ?? 'unknown'} > ${criteria.maxCloudCover}`;
    } else if ((p.nodataPercent ?? 0) > criteria.maxNodataPercent) {
      c.reason = 'nodata';
      c.detail = `s2:nodata_pixel_percentage ${p.nodataPercent} > ${criteria.maxNodataPercent}`;
    } else if (c.aoiCoverage < criteria.minAoiCoverage) {
      c.reason = 'aoi-coverage';
      c.detail = `footprint covers ${(c.aoiCoverage * 100).toFixed(1)}% of the AOI < ${criteria.minAoiCoverage * 100}%`;
    } else {
      passing.push(p);
    }
  }

  // One product per tile and day: keep the most complete, then the least cloudy.
  const byTileDay = new Map<string, Product>();
  for (const p of passing) {
    const key = `${p.tile}|${dayOf(p.datetime)}`;
    const kept = byTileDay.get(key);
    const better =
      !kept ||
      (p.nodataPercent ?? 0) < (kept.nodataPercent ?? 0) ||
      ((p.nodataPercent ?? 0) === (kept.nodataPercent ?? 0) && cloudOf(p) < cloudOf(kept));
    if (better) {
      if (kept) reject(candidates, kept, 'duplicate-date', `same tile and day as ${p.id}`);
      byTileDay.set(key, p);
    } else {
      reject(candidates, p, 'duplicate-date', `same tile and day as ${kept.id}`);
    }
  }

  const perTile = new Map<string, Product[]>();
  for (const p of byTileDay.values()) perTile.set(p.tile, [...(perTile.get(p.tile) ?? []), p]);

  const chosen: Record<string, Product[]> = {};
  for (const tile of [...perTile.keys()].sort()) {
    const items = perTile.get(tile) ?? [];
    const n = criteria.maxDates ?? items.length;
    const picked =
      criteria.spread === 'uniform'
        ? spreadUniform(items, n, start, end)
        : [...items].sort((a, b) => cloudOf(a) - cloudOf(b) || a.id.localeCompare(b.id)).slice(0, n);
    const pickedIds = new Set(picked.map((p) => p.id));
    for (const p of items) {
      const c = candidates.get(p.id);
      if (!c) continue;
      if (pickedIds.has(p.id)) c.chosen = true;
      else reject(candidates, p, 'max-dates', `tile ${tile} keeps ${n} dates (${criteria.spread})`);
    }
    chosen[tile] = picked.sort((a, b) => a.datetime.localeCompare(b.datetime) || a.id.localeCompare(b.id));
  }
  return { candidates: [...candidates.values()], chosen };
}

function reject(candidates: Map<string, Candidate>, p: Product, reason: RejectReason, detail: string): void {
  const c = candidates.get(p.id);
  if (c) {
    c.reason = reason;
    c.detail = detail;
    c.chosen = false;
  }
}
