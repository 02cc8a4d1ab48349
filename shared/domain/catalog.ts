// Catalog types: STAC items as they arrive, and the normalized Product the pipeline works on.
// normalizeItem is the single place that reads STAC property names (eo:, s2:, proj:, mgrs:).
import { z } from 'zod';
import { normalizeFootprint } from './antimeridian.ts';
import { AreaGeometrySchema } from './aoi.ts';
import { EoBandSchema, eoBandOf } from './band-metadata.ts';
import { InvalidInputError } from './errors.ts';
import { ItemFactsSchema, itemFacts } from './radiometry.ts';

export type StacAsset = {
  href: string;
  type?: string;
  roles?: string[];
  'raster:bands'?: Array<{
    nodata?: number;
    data_type?: string;
    scale?: number;
    offset?: number;
    spatial_resolution?: number;
  }>;
  [key: string]: unknown;
};

export type StacItem = {
  type: 'Feature';
  stac_version?: string;
  id: string;
  collection?: string;
  geometry: GeoJSON.Geometry | null;
  bbox?: number[];
  properties: Record<string, unknown> & { datetime?: string | null };
  assets: Record<string, StacAsset>;
  links?: Array<{ rel: string; href: string; type?: string }>;
};

export const ProductAssetSchema = z.strictObject({
  /** Absolute href (https://, s3://, file:///). */
  href: z.string().min(1),
  /** As declared (raster:bands, or STAC 1.1 raster:scale/raster:offset); null when absent. */
  scale: z.number().nullable(),
  offset: z.number().nullable(),
  nodata: z.number().nullable(),
  dataType: z.string().nullable(),
  /** What the asset says about its band (eo:bands, STAC 1.1 bands); absent in older work files. */
  eo: EoBandSchema.nullable().optional(),
  /** 1-based band of a multi-band file (the files catalog); absent: band 1. */
  band: z.int().min(1).optional(),
});
export type ProductAsset = z.infer<typeof ProductAssetSchema>;

export const ProductSchema = z.strictObject({
  id: z.string().min(1),
  collection: z.string(),
  /** ISO datetime of acquisition. */
  datetime: z.string(),
  /** Grid id shared by all products on the same native grid, e.g. "33TWL". */
  tile: z.string().min(1),
  epsg: z.int(),
  cloudCover: z.number().nullable(),
  nodataPercent: z.number().nullable(),
  /** Footprint in EPSG:4326. */
  footprint: AreaGeometrySchema,
  assets: z.record(z.string(), ProductAssetSchema),
  /** Where the item came from (API URL or file), for provenance. */
  selfHref: z.string().nullable(),
  /** True unless the catalog says the product sits in a long-term archive. */
  online: z.boolean(),
  /** What the offset rule needs: processing level and baseline, Earth Search's flag (radiometry.ts). */
  radiometry: ItemFactsSchema.optional(),
});
export type Product = z.infer<typeof ProductSchema>;

function numberProp(props: Record<string, unknown>, key: string): number | null {
  const v = props[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function epsgOf(props: Record<string, unknown>): number | null {
  const epsg = numberProp(props, 'proj:epsg');
  if (epsg !== null) return epsg;
  const code = props['proj:code'];
  if (typeof code === 'string') {
    const m = /^EPSG:(\d+)$/i.exec(code);
    if (m?.[1]) return Number(m[1]);
  }
  return null;
}

function tileOf(item: StacItem, epsg: number): string {
  const p = item.properties;
  const zone = p['mgrs:utm_zone'];
  const band = p['mgrs:latitude_band'];
  const square = p['mgrs:grid_square'];
  if (zone !== undefined && typeof band === 'string' && typeof square === 'string') {
    return `${String(zone).padStart(2, '0')}${band}${square}`.toLowerCase();
  }
  const grid = p['grid:code'];
  if (typeof grid === 'string') return grid.replace(/^MGRS-/i, '').toLowerCase();
  const tileId = p['s2:tile_id'] ?? p['tile_id'];
  if (typeof tileId === 'string') return tileId.toLowerCase();
  return `epsg${epsg}`;
}

/**
 * A STAC time as RFC 3339 ("T" between date and time): Planetary Computer's sentinel-1-rtc items
 * write start_datetime/end_datetime with a space ("2024-04-19 04:59:04.220006+00:00").
 */
export function stacTime(text: string): string {
  return text.replace(/^(\d{4}-\d{2}-\d{2}) (?=\d)/, '$1T');
}

/** Resolves an asset href against the document the item was read from. */
export function resolveHref(href: string, base: string | null): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(href)) return href;
  if (base === null) return href;
  return new URL(href, base).href;
}

/** Asset field the files catalog sets: which band of a multi-band file the asset is (1-based). */
export const FILE_BAND = 'satfactory:band';

/** One asset: its absolute href and what it declares (raster:bands, else STAC 1.1 asset fields). */
export function productAsset(asset: StacAsset, base: string | null): ProductAsset {
  const rb = asset['raster:bands']?.[0];
  return {
    href: resolveHref(asset.href, base),
    scale: rb?.scale ?? numberProp(asset, 'raster:scale'),
    offset: rb?.offset ?? numberProp(asset, 'raster:offset'),
    nodata: rb?.nodata ?? numberProp(asset, 'nodata'),
    dataType: rb?.data_type ?? (typeof asset['data_type'] === 'string' ? asset['data_type'] : null),
    eo: eoBandOf(asset),
    ...(typeof asset[FILE_BAND] === 'number' ? { band: asset[FILE_BAND] } : {}),
  };
}

/**
 * Turns a STAC item into a Product. `base` is the URL (https:// or file://) the item was read from,
 * used to resolve relative asset hrefs. Throws InvalidInputError naming the item and the field.
 */
export function normalizeItem(item: StacItem, base: string | null, source: string): Product {
  const where = { source, item: item.id };
  const props = item.properties ?? {};
  const raw = props.datetime ?? (props['start_datetime'] as string | undefined);
  const datetime = typeof raw === 'string' ? stacTime(raw) : raw;
  if (typeof datetime !== 'string' || Number.isNaN(Date.parse(datetime))) {
    throw new InvalidInputError(`item ${item.id} has no valid properties.datetime`, {
      ...where,
      pointer: '/properties/datetime',
    });
  }
  const epsg = epsgOf(props);
  if (epsg === null) {
    throw new InvalidInputError(`item ${item.id} has neither proj:epsg nor proj:code; its grid is unknown`, {
      ...where,
      pointer: '/properties/proj:epsg',
    });
  }
  const geometry = item.geometry;
  if (!geometry || (geometry.type !== 'Polygon' && geometry.type !== 'MultiPolygon')) {
    throw new InvalidInputError(`item ${item.id} has no Polygon/MultiPolygon footprint`, {
      ...where,
      pointer: '/geometry',
    });
  }
  const assets: Record<string, ProductAsset> = {};
  for (const [key, asset] of Object.entries(item.assets ?? {})) {
    if (typeof asset?.href !== 'string') continue;
    assets[key] = productAsset(asset, base);
  }
  const storage = props['storage:tier'] ?? props['order:status'];
  return {
    id: item.id,
    collection: item.collection ?? 'unknown',
    datetime: new Date(datetime).toISOString(),
    tile: tileOf(item, epsg),
    epsg,
    cloudCover: numberProp(props, 'eo:cloud_cover'),
    nodataPercent: numberProp(props, 's2:nodata_pixel_percentage'),
    // Split at the antimeridian, so that lon/lat tests (coverage, ownership) read it the short way.
    footprint: normalizeFootprint(geometry),
    assets,
    selfHref: base,
    online: !(storage === 'offline' || storage === 'orderable' || props['online'] === false),
    radiometry: itemFacts(item),
  };
}
