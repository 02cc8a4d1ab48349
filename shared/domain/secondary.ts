// Second sources (job `sources`, e.g. Sentinel-1 beside Sentinel-2): which of their products each
// tile of the job's own imagery takes, and how their pixels sit on the tile's window grid. Pure.
import type { Product } from './catalog.ts';
import { allocatePixels, cutRect, type Pixels } from './cog-tiles.ts';
import type { CogInfo, PixelRect } from './cog-types.ts';
import type { TileGrid } from './grid.ts';
import type { SecondarySource } from './job-spec.ts';
import { aoiCoverage } from './selection.ts';

const DAY = 86_400_000;

/** Why a candidate of a second source was not taken for a tile (selection.json). */
export type SecondaryCandidate = {
  id: string;
  datetime: string;
  tile: string;
  chosen: boolean;
  reason: 'no-overlap' | 'missing-band' | 'not-nearest' | 'too-far' | 'not-spread' | null;
  /** With `nearest`: the job's dates this product serves. */
  forDates?: string[];
};

export type SecondaryChoice = { chosen: Product[]; candidates: SecondaryCandidate[] };

/**
 * The products of a second source one tile takes: those overlapping the tile's footprint with every
 * band, then the nearest to each of the tile's dates (each product once), or `maxDates` spread over
 * the period (the one nearest each evenly spaced instant). Sorted by time.
 */
export function chooseSecondary(
  source: SecondarySource,
  products: readonly Product[],
  tile: { tile: string; footprint: GeoJSON.Polygon | GeoJSON.MultiPolygon; dates: readonly string[] },
  period: { start: string; end: string },
): SecondaryChoice {
  const candidates: SecondaryCandidate[] = [];
  const usable: Product[] = [];
  const sorted = [...products].sort(
    (a, b) => a.datetime.localeCompare(b.datetime) || a.id.localeCompare(b.id),
  );
  for (const p of sorted) {
    const c: SecondaryCandidate = {
      id: p.id,
      datetime: p.datetime,
      tile: tile.tile,
      chosen: false,
      reason: null,
    };
    candidates.push(c);
    if (!(aoiCoverage(p.footprint, tile.footprint) > 0)) c.reason = 'no-overlap';
    else if (source.bands.some((b) => p.assets[b] === undefined)) c.reason = 'missing-band';
    else usable.push(p);
  }
  const picked = new Map<string, string[]>();
  const nearest = (t: number): Product | undefined => {
    let best: Product | undefined;
    let gap = Number.POSITIVE_INFINITY;
    for (const p of usable) {
      const d = Math.abs(Date.parse(p.datetime) - t);
      if (d < gap) {
        best = p;
        gap = d;
      }
    }
    return best;
  };
  if ('nearest' in source.selection) {
    const limit = source.selection.maxDaysApart;
    for (const date of tile.dates) {
      const p = nearest(Date.parse(date));
      if (!p) continue;
      if (limit !== undefined && Math.abs(Date.parse(p.datetime) - Date.parse(date)) > limit * DAY) continue;
      picked.set(p.id, [...(picked.get(p.id) ?? []), date]);
    }
  } else {
    const n = source.selection.maxDates;
    const from = Date.parse(period.start);
    const to = Date.parse(period.end.length === 10 ? `${period.end}T23:59:59.999Z` : period.end);
    // Evenly spaced instants over the period; each takes its nearest product not taken yet.
    for (let k = 0; k < n && picked.size < usable.length; k++) {
      const t = n === 1 ? (from + to) / 2 : from + ((to - from) * k) / (n - 1);
      const free = usable.filter((p) => !picked.has(p.id));
      let best: Product | undefined;
      let gap = Number.POSITIVE_INFINITY;
      for (const p of free) {
        const d = Math.abs(Date.parse(p.datetime) - t);
        if (d < gap) {
          best = p;
          gap = d;
        }
      }
      if (best) picked.set(best.id, []);
    }
  }
  for (const c of candidates) {
    if (c.reason !== null) continue;
    const dates = picked.get(c.id);
    if (dates === undefined) {
      c.reason = 'nearest' in source.selection ? 'not-nearest' : 'not-spread';
      continue;
    }
    c.chosen = true;
    if (dates.length > 0) c.forDates = dates;
  }
  const tooFar = 'nearest' in source.selection && source.selection.maxDaysApart !== undefined;
  if (tooFar) {
    // Dates left without a product because the nearest one was too far: said on that product.
    for (const date of tile.dates) {
      const p = nearest(Date.parse(date));
      const c = p && candidates.find((x) => x.id === p.id);
      if (c && !c.chosen) c.reason = 'too-far';
    }
  }
  return { chosen: usable.filter((p) => picked.has(p.id)), candidates };
}

const isInt = (v: number) => Math.abs(v - Math.round(v)) < 1e-6;

/**
 * Whether a second source's raster sits on the tile's window grid: same CRS, and every window and
 * stride a whole number of its pixels from its origin. Then it is cut as is; otherwise warped.
 */
export function onGrid(grid: TileGrid, cog: CogInfo): boolean {
  if (cog.epsg !== grid.epsg) return false;
  const side = (grid.windowSize * grid.res) / cog.resX;
  const step = (grid.stride * grid.res) / cog.resX;
  const dx = (grid.originX - cog.originX) / cog.resX;
  const dy = (cog.originY - grid.originY) / cog.resY;
  return (
    Math.abs(cog.resX - cog.resY) <= 1e-9 * cog.resX && isInt(side) && isInt(step) && isInt(dx) && isInt(dy)
  );
}

/**
 * Cuts `rect` of a second source's band into float32 `out` at `offset`: the source values, with
 * nodata and everything outside the raster as NaN (so a window a date does not cover says so).
 */
export function cutFloat(
  cog: CogInfo,
  tiles: ReadonlyMap<number, Pixels>,
  rect: PixelRect,
  nodata: number | null,
  out: Float32Array,
  offset: number,
): void {
  const tmp = allocatePixels(cog, rect.width * rect.height);
  cutRect(cog, tiles, rect, tmp);
  for (let y = 0; y < rect.height; y++) {
    const inY = rect.y + y >= 0 && rect.y + y < cog.height;
    for (let x = 0; x < rect.width; x++) {
      const k = y * rect.width + x;
      const v = tmp[k] as number;
      const inside = inY && rect.x + x >= 0 && rect.x + x < cog.width;
      out[offset + k] = inside && v !== nodata ? v : Number.NaN;
    }
  }
}
