// The job spec: one JSON document that says what dataset to build. Validated with zod; the JSON
// Schema shipped in schema/job.schema.json is generated from this file (npm run generate).
import { z } from 'zod';
import { JobSpecError } from './errors.ts';
import { BIGEARTHNET19_LABELS } from './labels/bigearthnet.ts';
import { ClassTableSpecSchema, classTableProblems } from './labels/class-table.ts';

/** Whether the YYYY-MM-DD of an ISO date names a day that exists (Date.parse takes 2023-02-30 as 2 March). */
function isCalendarDay(s: string): boolean {
  const [y, m, d] = s.slice(0, 10).split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

function dateProblem(s: string): string {
  const month = Number(s.slice(5, 7));
  if (month < 1 || month > 12) return `there is no month ${s.slice(5, 7)}`;
  if (!isCalendarDay(s)) return `${s.slice(0, 7)} has no day ${s.slice(8, 10)}`;
  return 'the time of day is invalid';
}

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/, 'an ISO 8601 date such as "2023-03-01"')
  .superRefine((s, ctx) => {
    if (!isCalendarDay(s) || Number.isNaN(Date.parse(s))) {
      ctx.addIssue({
        code: 'custom',
        message: `${s} is not a real calendar date (${dateProblem(s)})`,
      });
    }
  });

const geoJsonObject = z
  .object({ type: z.string() })
  .loose()
  .describe(
    'A GeoJSON Geometry, Feature or FeatureCollection of polygons in EPSG:4326; across the antimeridian, longitudes past 180 (e.g. 179.9 to 180.1) or a MultiPolygon split at ±180',
  );

/** Asset hrefs that need a short-lived token appended before any read (Planetary Computer). */
export const SigningSchema = z
  .object({
    kind: z.literal('planetary-computer'),
    endpoint: z
      .url()
      .default('https://planetarycomputer.microsoft.com/api/sas/v1/token')
      .describe('SAS token API: GET <endpoint>/<collection> answers {"msft:expiry", "token"}'),
    collection: z
      .string()
      .min(1)
      .optional()
      .describe("Collection whose token signs the hrefs (default: the catalog's collection)"),
  })
  .strict()
  .describe(
    'Sign asset hrefs with a Planetary Computer SAS token (refreshed before it expires); a subscription key, when the collection needs one, is read from env PC_SDK_SUBSCRIPTION_KEY',
  );

export const StacCatalogSchema = z
  .object({
    kind: z.literal('stac'),
    url: z.url().describe('STAC API root, e.g. https://earth-search.aws.element84.com/v1'),
    collection: z.string().min(1),
    limit: z.int().min(1).max(1000).default(100).describe('Items per page'),
    maxPages: z.int().min(1).default(50).describe('Stop with an error past this many pages'),
    maxItems: z.int().min(1).default(5000).describe('Stop with an error past this many items'),
    sign: SigningSchema.optional(),
  })
  .strict();

export const StaticCatalogSchema = z
  .object({
    kind: z.literal('static'),
    source: z
      .string()
      .min(1)
      .describe(
        'A STAC ItemCollection or Catalog JSON file, an Item JSON file, or a folder of Item JSON files',
      ),
    sign: SigningSchema.optional(),
  })
  .strict();

/** One GeoTIFF of a files catalog: a path or URI, or an object naming its bands, date and tile. */
export const CatalogFileSchema = z.union([
  z.string().min(1),
  z
    .object({
      path: z.string().min(1).describe('A path (relative to the job file), file://, https:// or s3:// URI'),
      bands: z
        .array(z.string().min(1))
        .min(1)
        .refine((b) => new Set(b).size === b.length, { message: 'band names must be unique' })
        .optional()
        .describe(
          "Names of the file's bands 1, 2, ... in order (default b1..bN); the job's bands pick from these names",
        ),
      datetime: isoDate
        .optional()
        .describe('Acquisition time of this file (default: catalog.datetime, then TIFFTAG_DATETIME)'),
      tile: z
        .string()
        .regex(/^[a-z0-9]+$/, 'lowercase letters and digits (it starts every sample key)')
        .optional()
        .describe(
          'Grid id of the file (default: files on one extent and CRS share one, named after the first)',
        ),
    })
    .strict(),
]);
export type CatalogFile = z.infer<typeof CatalogFileSchema>;

export const FilesCatalogSchema = z
  .object({
    kind: z.literal('files'),
    files: z
      .array(CatalogFileSchema)
      .min(1)
      .describe(
        'GeoTIFFs (COG or not, striped or tiled, one or many bands) read without STAC items: CRS, footprint and bands from each file. Files of one extent and date are one product (e.g. pan + multispectral)',
      ),
    datetime: isoDate
      .optional()
      .describe(
        'Acquisition time of every file that names none; without it, each file\'s TIFFTAG_DATETIME ("YYYY:MM:DD HH:MM:SS", read as UTC)',
      ),
  })
  .strict();

export const CatalogSpecSchema = z.discriminatedUnion('kind', [
  StacCatalogSchema,
  StaticCatalogSchema,
  FilesCatalogSchema,
]);

export const SelectionSchema = z
  .object({
    maxCloudCover: z.number().min(0).max(100).default(100).describe('eo:cloud_cover upper bound, percent'),
    maxNodataPercent: z
      .number()
      .min(0)
      .max(100)
      .default(100)
      .describe('s2:nodata_pixel_percentage upper bound'),
    minAoiCoverage: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe('Fraction of the AOI the footprint must cover'),
    maxDates: z.int().min(1).optional().describe('Keep at most this many dates per tile'),
    spread: z.enum(['uniform', 'least-cloudy']).default('uniform'),
  })
  .strict();

export const WindowsSchema = z
  .object({
    size: z.int().min(1).describe('Window side in pixels of the finest selected band'),
    stride: z
      .int()
      .min(1)
      .optional()
      .describe('Step between windows in pixels of the finest band (default: size)'),
    where: z
      .enum(['aoi', 'labels'])
      .default('aoi')
      .describe('"labels": only windows that intersect a labelled polygon'),
    minLabelledFraction: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe('Reject windows whose labelled share (sum of coverage fractions) is below this'),
    edge: z
      .enum(['drop', 'pad'])
      .default('drop')
      .describe(
        'Windows that reach past the imagery edge: "drop" rejects them (reason edge, in rejects.jsonl), "pad" fills the outside with nodata and adds a valid mask',
      ),
    regionTiles: z
      .int()
      .min(1)
      .max(8)
      .optional()
      .describe(
        'Side of a region in COG internal tiles of the finest band; absent (recommended): chosen so that no COG tile is fetched by two regions (README: Regions)',
      ),
  })
  .strict();

const ResamplingSchema = z
  .enum(['nearest', 'bilinear', 'cubic', 'average'])
  .describe(
    'How bands are warped onto a non-native grid, as GDAL does it (SCL and other categorical bands always nearest)',
  );

export const GridSchema = z
  .discriminatedUnion('kind', [
    z
      .object({
        kind: z
          .literal('utm-tile')
          .describe("Each Sentinel-2 tile's native UTM grid, no resampling (the default)"),
      })
      .strict(),
    z
      .object({
        kind: z.literal('webmercator'),
        zoom: z.int().min(0).max(20).describe('Zoom level of the XYZ tiles (SatlasPretrain: 13)'),
        tileSize: z
          .int()
          .min(16)
          .max(4096)
          .default(512)
          .describe('Tile side in pixels (SatlasPretrain: 512)'),
        resampling: ResamplingSchema.default('bilinear'),
      })
      .strict()
      .describe('One sample per EPSG:3857 XYZ tile meeting the AOI, keyed <zoom>_<x>_<y>'),
    z
      .object({
        kind: z.literal('crs'),
        crs: z
          .string()
          .regex(/^EPSG:\d+$/, 'an EPSG code such as "EPSG:3035"')
          .describe('The grid\'s CRS, e.g. "EPSG:3035"'),
        resolution: z.number().positive().describe('Pixel size in CRS units'),
        origin: z
          .tuple([z.number(), z.number()])
          .describe('Top-left corner [x, y] of window (0, 0); windows are numbered east and south of it'),
        resampling: ResamplingSchema.default('bilinear'),
      })
      .strict()
      .describe('Windows of windows.size pixels on any EPSG grid, keyed <epsg>_<row>_<col>'),
  ])
  .describe(
    'The output grid: the native UTM tile grid (default, when absent), web-mercator XYZ tiles, or any EPSG grid',
  );
export type GridSpec = z.infer<typeof GridSchema>;

/** The label members a sample can carry, each written only when asked for. */
export const LABEL_OUTPUTS = [
  'labels',
  'instances',
  'coverage',
  'double',
  'buildings',
  'multilabel',
  'cls',
  'regression',
  'vector',
] as const;
export type LabelOutput = (typeof LABEL_OUTPUTS)[number];

/** The members that need a class per feature: not written by a regression job. */
const CLASS_OUTPUTS: readonly LabelOutput[] = ['labels', 'multilabel', 'cls'];

/** Built-in class tables with their mapping from the label data's values (labels.nomenclature). */
export const NOMENCLATURES = ['bigearthnet-19'] as const;

/**
 * A regression job writes the value and, beside it, the coverage it was averaged over: without
 * labels.outputs it gets both, and "coverage" is added to outputs that name "regression".
 */
function regressionOutputs(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const labels = value as Record<string, unknown>;
  if (labels['target'] === 'regression' && labels['outputs'] === undefined)
    return { ...labels, outputs: ['regression', 'coverage'] };
  const outputs = labels['outputs'];
  if (Array.isArray(outputs) && outputs.includes('regression') && !outputs.includes('coverage'))
    return { ...labels, outputs: [...outputs, 'coverage'] };
  return value;
}

export const LabelsSchema = z.preprocess(
  regressionOutputs,
  z
    .object({
      source: z.string().min(1).describe('GeoJSON, FlatGeobuf (.fgb) or DeepSatData CSV: a path or URI'),
      format: z
        .enum(['geojson', 'flatgeobuf', 'csv'])
        .optional()
        .describe('Default: from the file extension'),
      classProperty: z
        .string()
        .min(1)
        .describe(
          'The property holding each feature\'s class (and, for target "regression" without valueProperty, its value)',
        ),
      target: z
        .enum(['classes', 'regression'])
        .default('classes')
        .describe(
          '"classes" (default): a class per feature, a class table; "regression": a number per feature, written as regression.npy (the coverage-weighted mean of the features meeting each pixel), no class table',
        ),
      valueProperty: z
        .string()
        .min(1)
        .optional()
        .describe('target "regression": the numeric property (default: classProperty)'),
      unit: z
        .string()
        .min(1)
        .optional()
        .describe('target "regression": the unit of the value, e.g. "degrees", recorded in the manifest'),
      nomenclature: z
        .enum(NOMENCLATURES)
        .optional()
        .describe(
          'A built-in class table: "bigearthnet-19" (the 19 BigEarthNet classes in official order, ids 0..18; the class property holds CORINE Land Cover level-3 codes such as 211 or "211")',
        ),
      mapping: z
        .record(z.string(), z.union([z.string().min(1), z.int().min(0).max(65_535)]))
        .optional()
        .describe(
          'Value in the label data → class: with labels.classes or labels.nomenclature a class name or id (bigearthnet-19: its index 0..18), else the class value the derived table is built from. A value not in the mapping is dropped (problem unmapped-value)',
        ),
      idProperty: z.string().min(1).optional(),
      year: z.int().optional().describe('Keep only features whose year property equals this'),
      yearProperty: z.string().min(1).default('year'),
      resolution: z
        .number()
        .positive()
        .optional()
        .describe('Label pixel size in metres: the finest band pixel (default) or 1/k of it'),
      background: z
        .int()
        .min(0)
        .max(65535)
        .optional()
        .describe(
          'Without labels.classes: the id of pixels no polygon covers (default 0). With labels.classes, declare labels.classes.background instead',
        ),
      classes: ClassTableSpecSchema.optional().describe(
        'A fixed class table (value → id, name, colour). Without it the table is derived from the classes found in the AOI',
      ),
      crs: z
        .string()
        .optional()
        .describe('e.g. "EPSG:31287": the CRS of the coordinates, overriding what the file declares'),
      repair: z
        .boolean()
        .default(false)
        .describe('Repair self-intersecting polygons instead of dropping them'),
      outputs: z
        .array(z.enum(LABEL_OUTPUTS))
        .min(1)
        .default(['labels'])
        .refine((o) => new Set(o).size === o.length, { message: 'outputs must be unique' }),
      buildings: z
        .object({
          boundaryWidth: z.number().positive().default(2).describe('Metres'),
          contactDistance: z.number().positive().default(2).describe('Metres'),
        })
        .strict()
        .default({ boundaryWidth: 2, contactDistance: 2 }),
      multilabel: z
        .object({ minFraction: z.number().min(0).max(1).default(0.01) })
        .strict()
        .default({ minFraction: 0.01 }),
      points: z
        .object({
          rasterize: z
            .enum(['disc', 'box', 'none'])
            .default('disc')
            .describe(
              '"disc": a circle of `radius` metres (a regular 64-gon, as shapely buffer(radius, quad_segs=16)); "box": an axis-aligned square of half-side `radius`; "none": kept only as vectors (vector.json)',
            ),
          radius: z
            .number()
            .positive()
            .optional()
            .describe('Metres: the disc radius or the box half-side (required unless rasterize is "none")'),
        })
        .strict()
        .optional()
        .describe(
          'Keep Point/MultiPoint features (without it they are dropped as unsupported-geometry, each logged)',
        ),
      lines: z
        .object({
          width: z
            .number()
            .positive()
            .describe(
              'Metres: a line is rasterized as buffer(line, width / 2) with round caps and joins (arcs of 16 segments a quarter circle)',
            ),
        })
        .strict()
        .optional()
        .describe(
          'Keep LineString/MultiLineString features (without it they are dropped as unsupported-geometry, each logged)',
        ),
      properties: z
        .union([z.literal('*'), z.array(z.string().min(1)).min(1)])
        .optional()
        .describe(
          'Feature properties written with each object of vector.json: a list of names, or "*" for all (the default when "vector" is in outputs)',
        ),
    })
    .strict()
    .superRefine((labels, ctx) => {
      targetProblems(labels, ctx);
      const points = labels.points;
      if (points && points.rasterize !== 'none' && points.radius === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['points', 'radius'],
          message: `points rasterized as ${points.rasterize === 'disc' ? 'discs' : 'boxes'} need a radius in metres (e.g. "radius": 5), or set rasterize to "none"`,
        });
      }
      if (points?.rasterize === 'none' && !labels.outputs.includes('vector')) {
        ctx.addIssue({
          code: 'custom',
          path: ['points', 'rasterize'],
          message:
            'points kept only as vectors ("none") are written nowhere but vector.json: add "vector" to labels.outputs',
        });
      }
      if (labels.outputs.includes('buildings') && (labels.points || labels.lines)) {
        ctx.addIssue({
          code: 'custom',
          path: [labels.points ? 'points' : 'lines'],
          message:
            'buildings.npy and distance.npy outline polygons (buildings); they cannot be made from points or lines: remove "buildings" from labels.outputs or labels.points / labels.lines',
        });
      }
      if (labels.properties !== undefined && !labels.outputs.includes('vector')) {
        ctx.addIssue({
          code: 'custom',
          path: ['properties'],
          message: 'labels.properties are written only to vector.json: add "vector" to labels.outputs',
        });
      }
      if (labels.classes && labels.background !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['background'],
          message:
            'with labels.classes, declare the background as labels.classes.background ({"class": id} or "ignore"), not labels.background',
        });
      }
      const table = labels.classes?.table;
      if (labels.classes && Array.isArray(table)) {
        for (const p of classTableProblems(table, labels.classes)) {
          ctx.addIssue({ code: 'custom', path: ['classes', ...p.path], message: p.message });
        }
      }
    }),
);

type LabelsShape = {
  target: 'classes' | 'regression';
  outputs: readonly LabelOutput[];
  valueProperty?: string | undefined;
  unit?: string | undefined;
  nomenclature?: (typeof NOMENCLATURES)[number] | undefined;
  mapping?: Record<string, string | number> | undefined;
  background?: number | undefined;
  classes?: { table: unknown } | undefined;
};

/** What labels.target, nomenclature and mapping may be combined with. */
function targetProblems(labels: LabelsShape, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path, message });
  if (labels.target === 'regression') {
    for (const field of ['classes', 'nomenclature', 'mapping', 'background'] as const) {
      if (labels[field] !== undefined)
        issue(
          [field],
          `a regression job (labels.target "regression") has no classes: remove labels.${field}`,
        );
    }
    labels.outputs.forEach((o, i) => {
      if (CLASS_OUTPUTS.includes(o))
        issue(
          ['outputs', i],
          `"${o}" needs classes; a regression job writes "regression" (with "coverage"), "instances", "double", "buildings"`,
        );
    });
    if (!labels.outputs.includes('regression'))
      issue(['outputs'], 'a regression job must write "regression"');
    return;
  }
  for (const field of ['valueProperty', 'unit'] as const) {
    if (labels[field] !== undefined)
      issue([field], `labels.${field} is for labels.target "regression"; remove it or set the target`);
  }
  labels.outputs.forEach((o, i) => {
    if (o === 'regression')
      issue(['outputs', i], '"regression" needs labels.target "regression" and a numeric property');
  });
  if (labels.nomenclature !== undefined) {
    if (labels.classes !== undefined)
      issue(
        ['nomenclature'],
        'labels.nomenclature is a class table: remove labels.classes, or the nomenclature',
      );
    if (labels.background !== undefined)
      issue(
        ['background'],
        `labels.nomenclature "${labels.nomenclature}" has no background class: uncovered pixels get the ignore index 65535; remove labels.background`,
      );
  }
  const mapping = labels.mapping ?? {};
  const table =
    labels.classes && Array.isArray(labels.classes.table)
      ? (labels.classes.table as { id: number; name: string }[])
      : undefined;
  for (const [value, to] of Object.entries(mapping)) {
    if (labels.nomenclature === 'bigearthnet-19') {
      const ok =
        typeof to === 'number' ? to < BIGEARTHNET19_LABELS.length : BIGEARTHNET19_LABELS.includes(to);
      if (!ok)
        issue(
          ['mapping', value],
          `${JSON.stringify(to)} is no bigearthnet-19 class: give its index 0..18 or its official name, e.g. "Arable land"`,
        );
    } else if (table) {
      const ok = table.some((c) => (typeof to === 'number' ? c.id === to : c.name === to));
      if (!ok)
        issue(
          ['mapping', value],
          `${JSON.stringify(to)} is no class of labels.classes: give a class ${typeof to === 'number' ? 'id' : 'name'} of the table`,
        );
    }
  }
}

export const CloudsSchema = z
  .object({
    mask: z.literal('scl'),
    maxCloudyFraction: z.number().min(0).max(1).default(1),
    cloudyClasses: z
      .array(z.int().min(0).max(255))
      .default([3, 8, 9, 10])
      .describe('SCL classes counted as cloudy: cloud shadow, medium/high probability cloud, thin cirrus'),
    snowIsCloudy: z
      .boolean()
      .optional()
      .describe(
        'Count SCL class 11 (snow or ice) as cloudy too. Default: true with samples "per-date" (single-date patches, as BigEarthNet excludes snow), false with "series"',
      ),
  })
  .strict();

/** The SCL class of snow and ice. */
export const SCL_SNOW = 11;

/**
 * The SCL classes a job counts as cloudy (rejects, statistics): its cloudyClasses, plus snow (11)
 * when clouds.snowIsCloudy says so, by default in per-date mode. Sorted, each once.
 */
export function effectiveCloudyClasses(job: Pick<JobSpec, 'clouds' | 'samples'>): number[] {
  if (!job.clouds) return [];
  const snow = job.clouds.snowIsCloudy ?? job.samples === 'per-date';
  const classes = new Set(job.clouds.cloudyClasses);
  if (snow) classes.add(SCL_SNOW);
  return [...classes].sort((a, b) => a - b);
}

/** `validate` was the name of the validation split before 0.2: still read, with a warning. */
function renameValidate(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const { validate, ...rest } = value as Record<string, unknown>;
  if (validate === undefined || 'validation' in rest) return value;
  return { ...rest, validation: validate };
}

export const SplitsSchema = z.preprocess(
  renameValidate,
  z
    .object({
      method: z
        .enum(['blocks', 'random'])
        .default('blocks')
        .describe('"blocks": spatial blocks, no shared pixels between splits; "random": per window'),
      train: z.number().min(0).max(1),
      validation: z.number().min(0).max(1),
      test: z.number().min(0).max(1),
      seed: z.int().default(0),
      blockSize: z
        .number()
        .positive()
        .optional()
        .describe('Side of a spatial block in metres, rounded to whole windows (default: 10 window strides)'),
      buffer: z
        .number()
        .min(0)
        .default(0)
        .describe(
          'Metres kept between windows of different splits: nearer windows are rejected as split-buffer (overlapping ones always)',
        ),
      allowEmpty: z
        .boolean()
        .default(false)
        .describe('Accept a split with a positive fraction that gets no window (otherwise planning fails)'),
    })
    .strict()
    .refine((s) => Math.abs(s.train + s.validation + s.test - 1) < 1e-9, {
      message: 'train + validation + test must add up to 1',
    }),
);

/** Warnings for fields that still work but have a new name (shown by the CLI and the upload trigger). */
export function jobSpecWarnings(raw: unknown): string[] {
  const splits = (raw as { splits?: Record<string, unknown> } | null)?.splits;
  return splits && typeof splits === 'object' && 'validate' in splits && !('validation' in splits)
    ? ['/splits/validate is now /splits/validation (the split folder is validation/); read as such']
    : [];
}

export const RadiometrySchema = z
  .object({
    offset: z
      .enum(['metadata', 'probe'])
      .default('metadata')
      .describe(
        'Where an item\'s offset comes from when its pixels and metadata disagree: "metadata" (the rule; the disagreement is a warning) or "probe" (the verdict of its blue overview)',
      ),
    harmonize: z
      .boolean()
      .default(false)
      .describe(
        'Bring every date of a band to one offset (the lowest) by adding whole DN to the others (1000 where the +1000 is not in the pixels); nothing is clipped',
      ),
  })
  .strict();

/** Member names a sample already uses: a second source may not take one. */
const RESERVED_SOURCE_NAMES = new Set([
  'json',
  'scl',
  'valid',
  'png',
  'cls',
  'vector',
  'distance',
  ...LABEL_OUTPUTS,
]);

/**
 * A second source beside the job's own imagery (e.g. Sentinel-1 beside Sentinel-2): its own catalog,
 * bands and dates, cut on each sample's grid and written as `<key>.<name>.npy` [T1, C, h, w] float32.
 */
export const SecondarySourceSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9]*$/, 'lowercase letters and digits, starting with a letter, e.g. "s1"')
      .refine((n) => !RESERVED_SOURCE_NAMES.has(n), { message: 'this name is a sample member already' })
      .describe('Names the member <key>.<name>.npy and the block in the sample .json'),
    catalog: CatalogSpecSchema,
    bands: z
      .array(z.string().min(1))
      .min(1)
      .refine((b) => new Set(b).size === b.length, { message: 'band names must be unique' })
      .describe('Asset keys, e.g. ["vv", "vh"]; all of one pixel size'),
    selection: z
      .union([
        z
          .object({
            nearest: z.literal(true),
            maxDaysApart: z
              .number()
              .positive()
              .optional()
              .describe('Farther than this from a chosen date: no date of this source for it'),
          })
          .strict()
          .describe("Per tile, the date nearest each of the job's chosen dates (each once)"),
        z
          .object({ maxDates: z.int().min(1).describe('Per tile, this many dates spread over the period') })
          .strict(),
      ])
      .default({ nearest: true }),
    resampling: ResamplingSchema.default('bilinear').describe(
      "How the source is warped onto the sample's grid when it is not on it (another CRS, pixel size or origin), as GDAL warps; a source on the grid is cut as is",
    ),
  })
  .strict();
export type SecondarySource = z.infer<typeof SecondarySourceSchema>;

/** Final shard size target and minimum count (issue 10): see OutputSchema. */
export const DEFAULT_SHARD_BYTES = 256 * 1024 * 1024;
export const DEFAULT_MIN_SHARDS_PER_SPLIT = 8;

export const OutputSchema = z
  .object({
    uri: z.string().min(1).describe('A local folder, file:// URI or s3://bucket/prefix'),
    work: z.string().min(1).optional().describe('Scratch space for the run (default: <uri>/.satfactory)'),
    // WebDataset recommends shards of 100 MB to 1 GB: big enough for streaming reads, small enough
    // to shuffle, retry and spread over workers. 256 MiB is a quarter-second S3 GET at 1 GB/s.
    shardBytes: z
      .int()
      .min(1)
      .default(DEFAULT_SHARD_BYTES)
      .describe(
        'Target size of a final shard in bytes (default 256 MiB, WebDataset recommends 100 MB to 1 GB); a split gets ceil(split bytes / shardBytes) shards, at least minShardsPerSplit',
      ),
    // 8 shards let 2 ranks x 4 DataLoader workers each read whole shards of a split.
    minShardsPerSplit: z
      .int()
      .min(1)
      .max(100_000)
      .default(DEFAULT_MIN_SHARDS_PER_SPLIT)
      .describe(
        'Fewest shards per split (default 8, so 2 ranks x 4 DataLoader workers each get whole shards); a split with fewer samples gets one shard per sample',
      ),
    quicklooks: z
      .boolean()
      .optional()
      .describe(
        "Add a <key>.png true-colour quicklook (red, green, blue; one frame per date side by side, the label outline over it) to every sample, stretched between the train split's 2nd and 98th percentiles (manifest stats); the job must read red, green and blue",
      ),
  })
  .strict();

export const JobSpecSchema = z
  .object({
    $schema: z.string().optional(),
    name: z
      .string()
      .max(63)
      .regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and dashes, e.g. "crops-2023"'),
    catalog: CatalogSpecSchema,
    aoi: z.union([z.literal('labels'), z.string().min(1), geoJsonObject]),
    aoiRepair: z
      .boolean()
      .optional()
      .describe(
        'Repair an invalid AOI instead of refusing it: close rings, split self-intersecting polygons, remove empty or degenerate rings and holes outside their shell, take edges longer than 180° the short way across the antimeridian. Each repair is logged and listed in selection.json',
      ),
    period: z
      .object({ start: isoDate, end: isoDate })
      .strict()
      // Only between real dates: an impossible one is reported on its own field.
      .refine((p) => !(Date.parse(p.start) > Date.parse(p.end)), {
        message: 'period.start must not be after period.end',
      }),
    selection: SelectionSchema.default(SelectionSchema.parse({})),
    bands: z
      .array(z.string().min(1))
      .min(1)
      .refine((b) => new Set(b).size === b.length, { message: 'band names must be unique' })
      .describe('STAC asset keys, e.g. blue, green, red, nir, swir16'),
    samples: z
      .enum(['series', 'per-date'])
      .optional()
      .describe(
        'What one sample is: "series" (default) a window with every date [T, C, H, W]; "per-date" one sample per window and date (key <key>_<yyyymmdd>, arrays [1, C, H, W]), a date cloudier than clouds.maxCloudyFraction rejected on its own',
      ),
    windows: WindowsSchema,
    grid: GridSchema.optional(),
    labels: LabelsSchema.optional(),
    clouds: CloudsSchema.optional(),
    sources: z
      .array(SecondarySourceSchema)
      .optional()
      .refine((list) => !list || new Set(list.map((x) => x.name)).size === list.length, {
        message: 'source names must be unique',
      })
      .describe(
        'More sources beside the imagery above (e.g. Sentinel-1 RTC beside Sentinel-2), each on the sample grid with its own dates',
      ),
    radiometry: RadiometrySchema.optional().describe(
      'Sentinel-2 offsets per date: which source to trust, and optional harmonization (default: metadata, no harmonization)',
    ),
    splits: SplitsSchema.default({
      method: 'blocks',
      train: 0.8,
      validation: 0.1,
      test: 0.1,
      seed: 0,
      buffer: 0,
      allowEmpty: false,
    }),
    output: OutputSchema,
  })
  .strict()
  .superRefine((job, ctx) => {
    if (!job.output.quicklooks) return;
    const missing = QUICKLOOK_BANDS.filter((b) => !job.bands.includes(b));
    if (missing.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['output', 'quicklooks'],
        message: `quicklooks are true colour from the bands red, green and blue; this job does not read ${missing.join(', ')} (its bands: ${job.bands.join(', ')}): add ${missing.length > 1 ? 'them' : 'it'} to bands, or leave quicklooks out`,
      });
    }
  });

/** The STAC asset keys of a quicklook's channels, in PNG order (R, G, B). */
export const QUICKLOOK_BANDS = ['red', 'green', 'blue'] as const;

export type JobSpec = z.infer<typeof JobSpecSchema>;
export type JobSpecInput = z.input<typeof JobSpecSchema>;
export type CatalogSpec = z.infer<typeof CatalogSpecSchema>;

/** The assets a job reads from every product: its bands, and SCL when clouds are masked with it. */
export function requiredAssets(job: JobSpec): string[] {
  return job.clouds ? [...job.bands, 'scl'] : [...job.bands];
}

/** JSON pointer (RFC 6901) of a zod issue path. */
export function jsonPointer(path: readonly PropertyKey[]): string {
  return path.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('') || '/';
}

/** Parses a job spec; on failure throws one JobSpecError listing every problem with its pointer. */
export function parseJobSpec(raw: unknown, source = 'job spec'): JobSpec {
  const result = JobSpecSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `  ${jsonPointer(issue.path)}: ${issue.message}`);
  const first = result.error.issues[0];
  throw new JobSpecError(
    `${source} is invalid:\n${problems.join('\n')}\nFix these fields (the JSON Schema is schema/job.schema.json).`,
    { source, pointer: first ? jsonPointer(first.path) : '/' },
  );
}

/** The JSON Schema of the job spec, as users and editors read it. */
export function jobSpecJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(JobSpecSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
