// The dataset described in STAC, for GIS and EO-ML tools: a Collection (collection.json: extent,
// bands, the class table, splits, links) and a sample index of one STAC Item per sample, one a line
// (items.ndjson). Pure builders over the manifest and the samples' `.json`: they read fields
// tolerantly, so a manifest with more fields (band wavelengths, class names and colours) only adds
// to the output. Every href is relative to the dataset root, where both files live.
import { z } from 'zod';
import { type Bounds, toWgs84, type XY } from './crs.ts';
import { datasetKeys } from './dataset-layout.ts';
import type { Manifest } from './manifest.ts';
import type { Split } from './splits.ts';

export const STAC_VERSION = '1.1.0';
export const STAC_EXTENSIONS = {
  eo: 'https://stac-extensions.github.io/eo/v2.0.0/schema.json',
  raster: 'https://stac-extensions.github.io/raster/v2.0.0/schema.json',
  label: 'https://stac-extensions.github.io/label/v1.0.1/schema.json',
  classification: 'https://stac-extensions.github.io/classification/v2.0.0/schema.json',
  /** v0.1.0 defines `ml-aoi:split` for Items only (its schema accepts Features, and no other ml-aoi: field). */
  mlAoi: 'https://stac-extensions.github.io/ml-aoi/v0.1.0/schema.json',
  proj: 'https://stac-extensions.github.io/projection/v2.0.0/schema.json',
  file: 'https://stac-extensions.github.io/file/v2.1.0/schema.json',
} as const;

/** ml-aoi names the validation split "validate". */
export const ML_AOI_SPLIT: Record<Split, 'train' | 'validate' | 'test'> = {
  train: 'train',
  validation: 'validate',
  test: 'test',
};

/** The eo extension's common band names (v2.0.0); a band named otherwise gets none unless the manifest says. */
const EO_COMMON_NAMES = new Set([
  'pan',
  'coastal',
  'blue',
  'green',
  'green05',
  'yellow',
  'red',
  'rededge',
  'rededge071',
  'rededge075',
  'rededge078',
  'nir',
  'nir08',
  'nir09',
  'cirrus',
  'swir16',
  'swir22',
  'lwir',
  'lwir11',
  'lwir12',
]);

/** What a sample index entry needs from a sample: its key, shard, and the fields of its `.json`. */
export type SampleRecord = {
  key: string;
  shard: string;
  split: Split;
  json: Record<string, unknown>;
};

type Json = Record<string, unknown>;

/** The fields of a sample's `.json` that its index entry (sampleItem) reads. */
export const SAMPLE_INDEX_FIELDS = [
  'boundsWgs84',
  'bounds',
  'epsg',
  'dates',
  'tile',
  'transform',
  'items',
] as const;

/** One sample of a final shard as the sample index needs it (WriteShard writes these). */
export const SampleIndexEntrySchema = z
  .object({ key: z.string().min(1), json: z.record(z.string(), z.unknown()) })
  .strict();
export type SampleIndexEntry = z.infer<typeof SampleIndexEntrySchema>;

/** A sample's index entry from its `.json` (the fields sampleItem reads, nothing else). */
export function sampleIndexEntry(key: string, json: Record<string, unknown>): SampleIndexEntry {
  const picked: Record<string, unknown> = {};
  for (const f of SAMPLE_INDEX_FIELDS) if (json[f] !== undefined) picked[f] = json[f];
  return { key, json: picked };
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const round7 = (x: number) => Math.round(x * 1e7) / 1e7;

function boundsOf(v: unknown): Bounds | undefined {
  if (!Array.isArray(v) || v.length !== 4 || !v.every((x) => num(x) !== undefined)) return undefined;
  return v as Bounds;
}

/** The sample's footprint: its four projected corners in WGS84 (a polygon; two across the antimeridian). */
function footprint(
  json: Json,
): { bbox: Bounds; geometry: GeoJSON.Polygon | GeoJSON.MultiPolygon } | undefined {
  const bbox = boundsOf(json.boundsWgs84);
  if (!bbox) return undefined;
  const [w, s, e, n] = bbox;
  if (w > e) {
    const rect = (a: number, b: number): GeoJSON.Position[][] => [
      [
        [a, s],
        [b, s],
        [b, n],
        [a, n],
        [a, s],
      ],
    ];
    return { bbox, geometry: { type: 'MultiPolygon', coordinates: [rect(w, 180), rect(-180, e)] } };
  }
  const native = boundsOf(json.bounds);
  const epsg = num(json.epsg);
  if (native && epsg !== undefined) {
    const corners: XY[] = [
      [native[0], native[1]],
      [native[2], native[1]],
      [native[2], native[3]],
      [native[0], native[3]],
    ];
    const ring = corners.map((c) => toWgs84(epsg, c).map(round7) as GeoJSON.Position);
    return { bbox, geometry: { type: 'Polygon', coordinates: [[...ring, ring[0] as GeoJSON.Position]] } };
  }
  return {
    bbox,
    geometry: {
      type: 'Polygon',
      coordinates: [
        [
          [w, s],
          [e, s],
          [e, n],
          [w, n],
          [w, s],
        ],
      ],
    },
  };
}

function datesOf(json: Json): string[] {
  return Array.isArray(json.dates) ? json.dates.filter((d): d is string => typeof d === 'string').sort() : [];
}

/** One STAC Item of the sample index: where the sample is, when, which split, and its shard. */
export function sampleItem(manifest: Manifest, record: SampleRecord): Json {
  const { json } = record;
  const where = footprint(json);
  const dates = datesOf(json);
  const epsg = num(json.epsg);
  const native = boundsOf(json.bounds);
  const extensions = [STAC_EXTENSIONS.mlAoi, ...(epsg !== undefined ? [STAC_EXTENSIONS.proj] : [])];
  return {
    type: 'Feature',
    stac_version: STAC_VERSION,
    stac_extensions: extensions,
    id: record.key,
    collection: manifest.name,
    geometry: where?.geometry ?? null,
    ...(where ? { bbox: where.bbox } : {}),
    properties: {
      // A time series: the item covers its first to its last date; every date is listed.
      datetime: null,
      start_datetime: dates[0] ?? null,
      end_datetime: dates[dates.length - 1] ?? null,
      'ml-aoi:split': ML_AOI_SPLIT[record.split],
      'satfactory:split': record.split,
      'satfactory:dates': dates,
      ...(str(json.tile) ? { 'satfactory:tile': json.tile } : {}),
      ...(epsg !== undefined ? { 'proj:code': `EPSG:${epsg}` } : {}),
      ...(native ? { 'proj:bbox': native } : {}),
      ...(Array.isArray(json.transform) ? { 'proj:transform': json.transform } : {}),
      ...(Array.isArray(json.items) ? { 'satfactory:items': json.items } : {}),
    },
    links: [
      { rel: 'collection', href: `./${datasetKeys.collection}`, type: 'application/json' },
      { rel: 'root', href: `./${datasetKeys.collection}`, type: 'application/json' },
      { rel: 'parent', href: `./${datasetKeys.collection}`, type: 'application/json' },
    ],
    assets: {
      shard: {
        href: `./${record.shard}`,
        type: 'application/x-tar',
        title: `WebDataset shard: this sample is its members ${record.key}.*`,
        roles: ['data'],
        'satfactory:key': record.key,
      },
    },
  };
}

/** The items file: one Item a line, in the manifest's shard order, then the samples' order in each. */
export function sampleIndex(manifest: Manifest, records: readonly SampleRecord[]): string {
  return records.map((r) => `${JSON.stringify(sampleItem(manifest, r))}\n`).join('');
}

type ManifestBand = Manifest['bands'][number]['bands'][number];

/** A band of the manifest as STAC 1.1 `bands` and eo `eo:bands` entries (fields it has, only). */
function bandEntries(band: ManifestBand, resolution: number): { bands: Json; eo: Json } {
  const commonName = band.commonName ?? (EO_COMMON_NAMES.has(band.name) ? band.name : undefined);
  const center = band.centerWavelength ?? undefined;
  const fwhm = band.fullWidthHalfMax ?? undefined;
  const description = band.bandId ?? undefined;
  const eo: Json = {
    name: band.name,
    ...(description ? { description } : {}),
    ...(commonName ? { common_name: commonName } : {}),
    ...(center !== undefined ? { center_wavelength: center } : {}),
    ...(fwhm !== undefined ? { full_width_half_max: fwhm } : {}),
  };
  const bands: Json = {
    name: band.name,
    ...(description ? { description } : {}),
    ...(commonName ? { 'eo:common_name': commonName } : {}),
    ...(center !== undefined ? { 'eo:center_wavelength': center } : {}),
    ...(fwhm !== undefined ? { 'eo:full_width_half_max': fwhm } : {}),
    data_type: band.dataType,
    ...(band.nodata !== null ? { nodata: band.nodata } : {}),
    ...(band.scale !== null ? { 'raster:scale': band.scale } : {}),
    ...(band.offset !== null ? { 'raster:offset': band.offset } : {}),
    'raster:spatial_resolution': resolution,
  };
  return { bands, eo };
}

/** The class table as the classification extension's Class objects (value = id in `.labels.npy`). */
function classificationClasses(classes: NonNullable<Manifest['classes']>): Json[] {
  const table = classes.table;
  const out: Json[] = [];
  if (!table.some((c) => c.id === classes.background)) {
    out.push({ value: classes.background, name: 'background', description: 'no label (labels.background)' });
  }
  for (const c of table) {
    const name = c.name ?? String(c.value);
    const colour = c.color?.replace(/^#/, '');
    out.push({
      value: c.id,
      name: name.replace(/[^A-Za-z0-9_-]+/g, '_'),
      title: name,
      description: `value ${JSON.stringify(c.value)} of ${classes.property} in the label data`,
      ...(colour && /^[0-9A-Fa-f]{6}$/.test(colour) ? { color_hint: colour.toUpperCase() } : {}),
    });
  }
  return out.sort((a, b) => (a.value as number) - (b.value as number));
}

/** The union of bboxes (west > east when it crosses the antimeridian is kept per item, not merged). */
function unionBbox(records: readonly SampleRecord[]): Bounds | undefined {
  let out: Bounds | undefined;
  for (const r of records) {
    const b = boundsOf(r.json.boundsWgs84);
    if (!b) continue;
    const [w, s, e, n] = b[0] > b[2] ? [-180, b[1], 180, b[3]] : b;
    out = out
      ? [Math.min(out[0], w), Math.min(out[1], s), Math.max(out[2], e), Math.max(out[3], n)]
      : [w, s, e, n];
  }
  return out;
}

/**
 * The records datasetCollection needs for its extent, folded into at most one: the union of their
 * WGS84 bounds and their first and last dates. datasetCollection gives the same extent for the
 * folded record as for all of them, so a caller can fold as records stream by.
 */
export function foldExtent(records: readonly SampleRecord[]): SampleRecord[] {
  const first = records[0];
  if (!first) return [];
  const dates = records.flatMap((r) => datesOf(r.json)).sort();
  const bbox = unionBbox(records);
  const last = dates[dates.length - 1];
  return [
    {
      ...first,
      json: {
        ...(bbox ? { boundsWgs84: bbox } : {}),
        dates: dates[0] !== undefined && last !== undefined ? [dates[0], last] : [],
      },
    },
  ];
}

export type CollectionOptions = {
  /** Licence of the dataset (SPDX id or "other"); the card says what "other" means. */
  license?: string;
};

/** collection.json: the dataset as a STAC Collection with the label, classification and ml-aoi fields. */
export function datasetCollection(
  manifest: Manifest,
  records: readonly SampleRecord[],
  options: CollectionOptions = {},
): Json {
  const bbox = unionBbox(records) ?? [-180, -90, 180, 90];
  const allDates = records.flatMap((r) => datesOf(r.json));
  const tileDates = manifest.grid.tiles.flatMap((t) => t.dates);
  const dates = (allDates.length > 0 ? allDates : tileDates).slice().sort();
  const job = manifest.job as { period?: { start?: string; end?: string } };
  const interval = [
    dates[0] ?? (job.period?.start ? `${job.period.start}T00:00:00Z` : null),
    dates[dates.length - 1] ?? (job.period?.end ? `${job.period.end}T23:59:59Z` : null),
  ];
  const bands = manifest.bands.flatMap((g) => g.bands.map((b) => bandEntries(b, g.resolution)));
  const splits = (Object.keys(manifest.splits) as Split[]).filter((s) => manifest.splits[s].samples > 0);
  const classes = manifest.classes;
  const labelFields: Json = classes
    ? {
        'label:type': ['raster'],
        'label:properties': [classes.property],
        'label:tasks': ['segmentation'],
        'label:description': [
          `Raster labels rasterized from the vector property "${classes.property}": .labels.npy holds the ids of the class table (background ${classes.background}).`,
        ],
        'label:classes': [{ name: null, classes: classificationClasses(classes).map((c) => c.value) }],
        ...(classes.table.some((c) => c.pixels !== undefined)
          ? {
              'label:overviews': [
                {
                  property_key: classes.property,
                  counts: classes.table.map((c) => ({
                    name: String(str((c as unknown as Json).name) ?? c.value),
                    count: c.pixels ?? 0,
                  })),
                },
              ],
            }
          : {}),
        'classification:classes': classificationClasses(classes),
      }
    : manifest.regression
      ? {
          'label:type': ['raster'],
          'label:properties': [manifest.regression.property],
          'label:tasks': ['regression'],
          'label:description': [
            `Regression target from the vector property "${manifest.regression.property}"${manifest.regression.unit ? ` (${manifest.regression.unit})` : ''}: .regression.npy holds per pixel the coverage-weighted mean of the features meeting it, NaN where none.`,
          ],
        }
      : {};
  const shardsOf = (s: Split) => manifest.shards.filter((x) => x.split === s);
  return {
    type: 'Collection',
    stac_version: STAC_VERSION,
    stac_extensions: [
      STAC_EXTENSIONS.eo,
      STAC_EXTENSIONS.raster,
      STAC_EXTENSIONS.file,
      ...(classes
        ? [STAC_EXTENSIONS.label, STAC_EXTENSIONS.classification]
        : manifest.regression
          ? [STAC_EXTENSIONS.label]
          : []),
    ],
    id: manifest.name,
    title: `${manifest.name} (satfactory dataset)`,
    description:
      `Sentinel-2 time-series samples of ${manifest.grid.windowSize} px windows in WebDataset shards, made by ${manifest.software} (run ${manifest.runId}). ` +
      `Every sample is one Item of ${datasetKeys.items}; manifest.json describes the dataset in full.`,
    keywords: ['satellite imagery', 'sentinel-2', 'earth observation', 'machine learning', 'webdataset'],
    license: options.license ?? 'other',
    providers: [{ name: 'satfactory', roles: ['processor'], description: manifest.software }],
    extent: { spatial: { bbox: [bbox] }, temporal: { interval: [interval] } },
    // The splits under ml-aoi's field name; the Collection does not declare ml-aoi, whose schema
    // (v0.1.0) validates Items only.
    summaries: {
      bands: bands.map((b) => b.bands),
      'eo:bands': bands.map((b) => b.eo),
      'ml-aoi:split': splits.map((s) => ML_AOI_SPLIT[s]),
      ...labelFields,
    },
    'satfactory:splits': Object.fromEntries(
      (Object.keys(manifest.splits) as Split[]).map((s) => [
        s,
        {
          'ml-aoi:split': ML_AOI_SPLIT[s],
          samples: manifest.splits[s].samples,
          shards: shardsOf(s).length,
        },
      ]),
    ),
    links: [
      { rel: 'root', href: `./${datasetKeys.collection}`, type: 'application/json' },
      {
        rel: 'items',
        href: `./${datasetKeys.items}`,
        type: 'application/x-ndjson',
        title: 'Sample index: one STAC Item per sample, one a line',
      },
      { rel: 'describedby', href: `./${datasetKeys.manifest}`, type: 'application/json', title: 'manifest' },
      { rel: 'about', href: `./${datasetKeys.card}`, type: 'text/markdown', title: 'dataset card' },
      {
        rel: 'license',
        href: `./${datasetKeys.card}#license`,
        type: 'text/markdown',
        title: 'licence terms',
      },
    ],
    assets: {
      manifest: { href: `./${datasetKeys.manifest}`, type: 'application/json', roles: ['metadata'] },
      items: { href: `./${datasetKeys.items}`, type: 'application/x-ndjson', roles: ['metadata'] },
      ...Object.fromEntries(
        manifest.shards.map((s) => [
          s.path.replace(/\.tar$/, '').replace(/[^A-Za-z0-9_-]+/g, '-'),
          {
            href: `./${s.path}`,
            type: 'application/x-tar',
            roles: ['data'],
            'ml-aoi:split': ML_AOI_SPLIT[s.split],
            'file:size': s.bytes,
            'file:checksum': `1220${s.sha256}`,
          },
        ]),
      ),
    },
  };
}
