// The job spec: one JSON document that says what dataset to build. Validated with zod; the JSON
// Schema shipped in schema/job.schema.json is generated from this file (npm run generate).
import { z } from 'zod';
import { JobSpecError } from './errors.ts';
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

/** The label members a sample can carry, each written only when asked for. */
export const LABEL_OUTPUTS = [
  'labels',
  'instances',
  'coverage',
  'double',
  'buildings',
  'multilabel',
] as const;
export type LabelOutput = (typeof LABEL_OUTPUTS)[number];

export const LabelsSchema = z
  .object({
    source: z.string().min(1).describe('GeoJSON, FlatGeobuf (.fgb) or DeepSatData CSV: a path or URI'),
    format: z.enum(['geojson', 'flatgeobuf', 'csv']).optional().describe('Default: from the file extension'),
    classProperty: z.string().min(1),
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
    repair: z.boolean().default(false).describe('Repair self-intersecting polygons instead of dropping them'),
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
  })
  .strict()
  .superRefine((labels, ctx) => {
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
  });

export const CloudsSchema = z
  .object({
    mask: z.literal('scl'),
    maxCloudyFraction: z.number().min(0).max(1).default(1),
    cloudyClasses: z
      .array(z.int().min(0).max(255))
      .default([3, 8, 9, 10])
      .describe('SCL classes counted as cloudy: cloud shadow, medium/high probability cloud, thin cirrus'),
  })
  .strict();

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
    windows: WindowsSchema,
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
  .strict();

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
