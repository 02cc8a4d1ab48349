// manifest.json: the self-description of a dataset, written last by Commit and read by verify and
// by users. This schema is the contract; checkManifestTotals holds the accounting invariants.
import { z } from 'zod';
import { BandMetadataSchema } from './band-metadata.ts';
import { BandSummarySchema } from './band-stats.ts';
import { IntegrityError } from './errors.ts';
import { canonicalJson, sha256Hex } from './hashing.ts';
import { QuicklookStretchSchema } from './quicklook.ts';
import { ItemRadiometrySchema } from './radiometry.ts';
import { SPLITS } from './splits.ts';

export const MANIFEST_FORMAT = 'satfactory-webdataset';
/** Bumped when a reader of the previous version would misread a dataset. */
export const MANIFEST_VERSION = '2';

const count = z.int().min(0);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256');
const classId = z.int().min(0).max(65535);
/** Dataset-relative, '/'-separated, no '..' or leading '/': a manifest must not point outside. */
const relativePath = z
  .string()
  .regex(/^(?!\/)(?!.*(^|\/)\.\.?(\/|$))[^\\]+$/, 'a path relative to the dataset root, without ".."');
const groupName = z.string().regex(/^[0-9]+(p[0-9]+)?m$/, 'a resolution label such as "10m" or "0p5m"');

export const ManifestCatalogSchema = z
  .object({
    /** Human-readable origin, e.g. "STAC https://earth-search.aws.element84.com/v1". */
    description: z
      .string()
      .describe(
        'Where the imagery was searched, in words, e.g. "STAC https://earth-search.aws.element84.com/v1"; a local catalog relative to the dataset',
      ),
    /** STAC API root, or the static catalog file or folder. */
    url: z.string().optional().describe('STAC API root, or the static catalog file or folder'),
    collection: z.string().nullable().describe('The STAC collection searched; null for a static catalog'),
    pages: count.describe('Catalog pages read'),
    items: count.describe('Items the catalog returned'),
    /** Where the raw search requests and answers of the run are kept (key prefix or URI). */
    requestsPrefix: z
      .string()
      .optional()
      .describe(
        "Where the run's raw catalog pages are kept: relative to the dataset (in its work folder, which pull does not copy) or a remote URI",
      ),
    /** The search requests themselves, when small enough to inline. */
    requests: z
      .array(
        z
          .object({
            method: z.string().describe('HTTP method'),
            url: z.string().describe('Request URL'),
            body: z.unknown().optional().describe('Request body (a STAC search)'),
          })
          .strict(),
      )
      .optional()
      .describe('The search requests themselves, when small enough to inline'),
  })
  .strict()
  .describe('The catalog the products were selected from');

export const ManifestSourceSchema = z
  .object({
    id: z.string().min(1).describe('STAC item id of the product'),
    collection: z.string().describe('STAC collection of the item'),
    datetime: z.string().describe('Acquisition time (ISO 8601)'),
    tile: z.string().describe('MGRS tile, lowercase (e.g. "33twl")'),
    epsg: z.int().optional().describe('EPSG code of the product'),
    cloudCover: z.number().nullable().describe('eo:cloud_cover of the item, percent; null when absent'),
    source: z
      .string()
      .optional()
      .describe('The job\'s sources[].name of a second source (e.g. "s1"); absent: the job\'s own imagery'),
    /** Asset key → href of each band read from this product. */
    hrefs: z
      .record(z.string(), z.string())
      .describe(
        'Asset key → href of each band read: remote URLs as the catalog gave them; a local file relative to the dataset (or "local:..." when the dataset is remote)',
      ),
    /**
     * Per band: declared scale/offset (raster:bands), the rule's offset, the effective one, DN added
     * by harmonization and the offset of the stored pixels; the item's baseline, offset flag, rule,
     * and the probe's verdict on its pixels.
     */
    radiometry: ItemRadiometrySchema.optional().describe(
      "The item's offsets: per band declared, by the rule, effective and stored; its baseline, flag, rule and the probe's verdict",
    ),
  })
  .strict()
  .describe('One product (STAC item) whose pixels are in the dataset');

export const ManifestBandSchema = z
  .object({
    name: z.string().min(1).describe('Band name: the STAC asset key (e.g. "blue", "rededge1")'),
    /**
     * value * scale + offset is the reflectance. null when the items differ: each sample's `.json`
     * then gives one value per date, and `at` names where every item's value is.
     */
    scale: z
      .number()
      .nullable()
      .describe(
        'value * scale + offset is the reflectance; null when the items differ (per date in each sample .json)',
      ),
    offset: z.number().nullable().describe('Offset of the stored pixels; null when the items differ'),
    at: z.string().optional().describe('Where the per-item values are when scale or offset is null'),
    nodata: z.number().nullable().describe('The nodata value of the stored pixels; null when none'),
    dataType: z.string().describe('numpy-style data type of the stored pixels (e.g. "uint16")'),
    /** Common name, Sentinel-2 band id, centre wavelength and FWHM, units (band-metadata.ts). */
    ...BandMetadataSchema.shape,
  })
  .strict()
  .describe('One band (channel) of a group');

/** How the run treated offsets, and what the radiometry probe found. */
export const ManifestRadiometrySchema = z
  .object({
    /** The job's radiometry.offset and radiometry.harmonize. */
    offset: z
      .enum(['metadata', 'probe'])
      .describe(
        "The job's radiometry.offset: offsets from the metadata rule, or from the probe where it disagrees",
      ),
    harmonize: z
      .boolean()
      .describe("The job's radiometry.harmonize: every date of a band brought to one offset"),
    probed: count.describe('Items whose pixels the probe looked at'),
    /** Items whose pixels and metadata disagree (each has a warning in sources[].radiometry). */
    disagree: count.describe(
      'Items whose pixels and metadata disagree (each has a warning in sources[].radiometry)',
    ),
    /** Items the probe could not judge (bright scenes, L1C, no overview). */
    unknown: count.describe('Items the probe could not judge (bright scenes, L1C, no overview)'),
    /** Bytes the probe read, over all items. */
    probeBytes: count.describe('Bytes the probe read, over all items'),
    warnings: z.array(z.string()).describe('Every disagreement, in words'),
  })
  .strict()
  .describe('How the run treated offsets, and what the radiometry probe found');

/** One `<key>.<group>.npy` member: bands of one native resolution, in channel order. */
export const ManifestBandGroupSchema = z
  .object({
    group: groupName.describe('Member name without .npy: `<key>.<group>.npy`, e.g. "10m"'),
    resolution: z.number().positive().describe('Pixel size of the group, metres'),
    bands: z.array(ManifestBandSchema).min(1).describe('The channels of the member, in order'),
  })
  .strict()
  .describe('One `<key>.<group>.npy` member: the bands of one native resolution, [T, C, H, W]');

export const ManifestGridTileSchema = z
  .object({
    tile: z.string().min(1).describe('MGRS tile, lowercase'),
    epsg: z.int().describe("EPSG code of the grid (the tile's UTM zone)"),
    /** Pixel size of the finest band, metres. */
    resolution: z.number().positive().describe('Pixel size of the finest band, metres'),
    originX: z.number().describe('Grid origin (upper left), x in the EPSG'),
    originY: z.number().describe('Grid origin (upper left), y in the EPSG'),
    dates: z.array(z.string()).describe('Dates of the products chosen for the tile (ISO 8601)'),
  })
  .strict()
  .describe("One tile's window grid");

export const ManifestOutputGridSchema = z
  .object({
    kind: z.enum(['webmercator', 'crs']).describe('web-mercator XYZ tiles, or windows on an EPSG grid'),
    epsg: z.int().describe('EPSG code of the output grid (3857 for web-mercator)'),
    zoom: z.int().nullable().describe('Zoom level of the XYZ tiles (web-mercator only)'),
    resolution: z.number().positive().describe('Pixel size of every band on the output grid, CRS units'),
    originX: z.number().describe('Top-left corner of window (0, 0), x'),
    originY: z.number().describe('Top-left corner of window (0, 0), y'),
    resampling: z
      .record(z.string(), z.enum(['nearest', 'bilinear', 'cubic', 'average']))
      .describe('How each asset was warped onto the grid (GDAL conventions; categorical bands: nearest)'),
  })
  .strict()
  .describe(
    'A non-native output grid (job grid): every band warped onto it at one resolution, samples keyed <zoom>_<x>_<y> or epsg<code>_<row>_<col>',
  );

export const ManifestClassSchema = z
  .object({
    /** The id written in `.labels.npy`. */
    id: classId.describe('The id written in `.labels.npy`'),
    index: z
      .int()
      .min(0)
      .describe('The contiguous training index of this class (0..K-1): its position in classes.trainingIds'),
    /** The class value as found in the label data (integer or string, e.g. a crop name). */
    value: z
      .union([z.string(), z.number()])
      .describe('The class value in the label data (labels.classProperty), e.g. a crop code or name'),
    name: z.string().optional().describe('The class name from the fixed class table'),
    color: z.string().optional().describe('Display colour "#rrggbb" from the fixed class table'),
    pixels: count.optional().describe('Label pixels of this id over all splits'),
    samples: count.optional().describe('Samples in which this id appears, over all splits'),
  })
  .strict()
  .describe('One class of the table');

const classFrequency = z
  .object({
    id: classId.describe('Class id (as in `.labels.npy`)'),
    pixels: count.describe('Label pixels of the id in the split'),
    samples: count.describe('Samples of the split in which the id appears'),
  })
  .strict()
  .describe('Frequency of one id in one split');

/** The validation of the label file, and where its kept features went. */
const labelValidation = z
  .object({
    source: z
      .string()
      .describe('The label file: a remote URI as given, a local file relative to the dataset'),
    read: count.describe('Features read'),
    kept: count.describe('Features kept after validation'),
    problems: z.record(z.string(), count).describe('Problem code → features with it'),
    log: relativePath.describe('The labels log (JSONL): every problem of every feature and what was done'),
    /**
     * Where the kept features went: kept = inSamples + the unsampled counts (reason → features;
     * each has a line in the log with action "unsampled").
     */
    accounting: z
      .object({
        kept: count.describe('Features kept'),
        inSamples: count.describe('Kept features in at least one sample'),
        unsampled: z.record(z.string(), count).describe('Reason → kept features in no sample'),
      })
      .strict()
      .refine(
        (a) => a.kept === a.inSamples + Object.values(a.unsampled).reduce((n, k) => n + k, 0),
        'kept must equal inSamples + the unsampled counts',
      )
      .optional()
      .describe('Where the kept features went: kept = inSamples + the unsampled counts'),
  })
  .strict()
  .optional();

export const ManifestClassesSchema = z
  .object({
    property: z.string().describe('The label property holding the class value (labels.classProperty)'),
    origin: z
      .enum(['job', 'file', 'nomenclature', 'derived'])
      .describe(
        'Where the table comes from: "job" (labels.classes inline), "file" (labels.classes.table names a file), "nomenclature" (a built-in table, labels.nomenclature, named in `nomenclature`), "derived" (the classes found in the AOI: another AOI may give other ids)',
      ),
    nomenclature: z
      .literal('bigearthnet-19')
      .optional()
      .describe(
        'The built-in table (origin "nomenclature"): "bigearthnet-19", the 19 BigEarthNet classes in official order (id = index = official index), mapped from CORINE Land Cover level-3 codes',
      ),
    file: z
      .object({
        name: z.string().describe('File name of the class table'),
        sha256: sha256.describe('sha256 of its bytes'),
      })
      .strict()
      .optional()
      .describe('The class table file (origin "file"): its name and the sha256 of its bytes'),
    background: classId.describe('The id written in .labels.npy where no polygon is'),
    backgroundIs: z
      .enum(['class', 'ignore'])
      .describe('"class": background pixels are a class (a training index); "ignore": they hold ignoreIndex'),
    ignoreIndex: z
      .int()
      .min(0)
      .max(65535)
      .nullable()
      .describe(
        'The id of ignored pixels in .labels.npy, kept as is among training indices (the loss ignore_index); null without a fixed table',
      ),
    unknown: z
      .enum(['ignore', 'reject'])
      .nullable()
      .describe(
        'Features whose class is not in the fixed table: rejected (logged as unknown-class) or burnt with ignoreIndex; null without a fixed table',
      ),
    trainingIds: z
      .array(z.int().min(0).max(65535))
      .describe(
        'Training index i is the id trainingIds[i]: the classes by ascending id, with the background when it is a class; never the ignore index',
      ),
    /** Label pixel size in metres and window side in label pixels. */
    resolution: z.number().positive().optional().describe('Label pixel size, metres'),
    size: z.int().min(1).optional().describe('Window side in label pixels (HL = WL)'),
    /** The label members each sample carries (`<key>.<output>.npy`; "vector": `<key>.vector.json`). */
    outputs: z
      .array(z.string())
      .optional()
      .describe(
        'The label members each sample carries (`<key>.<output>.npy`; "vector": `<key>.vector.json`)',
      ),
    table: z.array(ManifestClassSchema).describe('The class table: value in the label data → id'),
    /**
     * Per split: label pixels of each id of `.labels.npy` (trainingIds and the ignore index, ids
     * ascending, absent classes with 0), and samples in which it appears.
     */
    splits: z
      .object({
        train: z.array(classFrequency).describe('Frequencies in the train split'),
        validation: z.array(classFrequency).describe('Frequencies in the validation split'),
        test: z.array(classFrequency).describe('Frequencies in the test split'),
      })
      .strict()
      .optional()
      .describe(
        'Per split: label pixels of each id of `.labels.npy` (background and classes, ids ascending), and samples in which it appears',
      ),
    /**
     * Suggested loss weights from the train split, one per id of `ids` (= trainingIds: entry i is
     * training index i); null for an id with no train pixel. See class-weights.ts.
     */
    weights: z
      .object({
        split: z.literal('train').describe('Weights come from the train split'),
        ids: z.array(classId).describe('The ids weighted: the background and every class, ascending'),
        pixels: z.array(count).describe('Train label pixels of each id'),
        inverseFrequency: z
          .array(z.number().positive().nullable())
          .describe('Inverse frequency weight of each id, null for an id with no train pixel'),
        medianFrequency: z
          .array(z.number().positive().nullable())
          .describe('Median frequency balancing weight of each id, null for an id with no train pixel'),
      })
      .strict()
      .optional()
      .describe('Suggested loss weights from the train split (class-weights.ts)'),
    /** The validation of the label file: counts per problem, and the log with every entry. */
    validation: labelValidation.describe(
      'The validation of the label file: counts per problem, and the log with every entry',
    ),
  })
  .strict()
  .describe(
    'The labels: class table, frequencies, weights and validation; null without labels and for a regression job (see regression)',
  );

/** The values of regression.npy over the written samples of a split (or all). */
const regressionValues = z
  .object({
    samples: count.describe('Written samples'),
    pixels: count.describe('Label pixels with a value (not NaN)'),
    min: z.number().nullable().describe('Least value of those pixels as written (float32); null when none'),
    max: z
      .number()
      .nullable()
      .describe('Greatest value of those pixels as written (float32); null when none'),
    mean: z.number().nullable().describe('Mean of those pixels; null when none'),
  })
  .strict()
  .describe('The values of regression.npy over the written samples');

export const ManifestRegressionSchema = z
  .object({
    property: z
      .string()
      .describe('The numeric label property (labels.valueProperty, else labels.classProperty)'),
    unit: z.string().nullable().describe('Its unit (labels.unit); null when the job gives none'),
    member: z
      .literal('regression.npy')
      .describe(
        '`<key>.regression.npy` [HL, WL] float32: per pixel the coverage-weighted mean sum(v_i a_i) / sum(a_i) of the values v_i of the features meeting it (a_i: exact area inside the pixel), normalized by the covered area, not the pixel area; NaN where no feature meets the pixel',
      ),
    coverage: z
      .literal('coverage.npy')
      .describe(
        '`<key>.coverage.npy` [HL, WL] float32: sum(a_i) / pixel area, the share of the pixel the mean is taken over (the covered share where features do not overlap); 0 where the value is NaN',
      ),
    resolution: z.number().positive().optional().describe('Label pixel size, metres'),
    size: z.int().min(1).optional().describe('Window side in label pixels (HL = WL)'),
    outputs: z.array(z.string()).describe('The label members each sample carries'),
    values: z
      .object({
        all: regressionValues,
        train: regressionValues,
        validation: regressionValues,
        test: regressionValues,
      })
      .strict()
      .describe('The values written, over all splits and per split, from the pixels themselves'),
    validation: labelValidation.describe(
      'The validation of the label file: counts per problem, and the log with every entry',
    ),
  })
  .strict()
  .describe('A regression target (labels.target "regression"): no class table; absent for class jobs');

export const ManifestShardSchema = z
  .object({
    path: relativePath.describe('Path of the tar, relative to the dataset'),
    split: z.enum(SPLITS).describe('The split of every sample in the shard'),
    bytes: count.describe('Size of the tar, bytes'),
    sha256: sha256.describe('sha256 of the tar, lowercase hex'),
    samples: count.describe('Samples in the shard'),
  })
  .strict()
  .describe('One WebDataset shard');

/**
 * Per band statistics of the train split, in stored units (before scale and offset): every date of
 * every written train sample, over the pixels `pixels` describes (window-stats.ts).
 */
export const ManifestStatsSchema = z
  .object({
    split: z.literal('train').describe('Statistics of the train split only'),
    /** "all": every date of a sample counts, usable or not; cloudy pixels are left out one by one. */
    dates: z
      .literal('all')
      .describe('Every date of a sample counts, usable or not; cloudy pixels are left out one by one'),
    /** Which pixels count, in words. */
    pixels: z.string().describe('Which pixels count, in words'),
    /** SCL classes whose pixels are left out (the job's cloudy classes; empty without SCL). */
    excludedScl: z
      .array(z.int().min(0).max(255))
      .describe("SCL classes whose pixels are left out (the job's cloudy classes; empty without SCL)"),
    units: z.literal('stored').describe('Stored values (DN), before scale and offset'),
    /** numpy.percentile's default method. */
    percentiles: z.literal('linear').describe("numpy.percentile's default method"),
    bands: z.record(z.string(), BandSummarySchema).describe('Band name → statistics'),
  })
  .strict()
  .describe('Per band statistics of the train split, in stored units');

const splitCount = z
  .object({
    samples: count.describe('Samples in the split'),
    shards: count.describe('Shards of the split'),
  })
  .strict();

export const ManifestSchema = z
  .object({
    format: z.literal(MANIFEST_FORMAT).describe('Always "satfactory-webdataset"'),
    version: z
      .literal(MANIFEST_VERSION)
      .describe('Manifest version: bumped when a reader of the previous version would misread a dataset'),
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/)
      .describe('Dataset name (the job name); shards are named after it'),
    runId: z
      .string()
      .min(1)
      .describe('The run that wrote the dataset: the job name and a hash of the job and its inputs'),
    createdAt: z.iso.datetime().describe('When the manifest was written (ISO 8601, UTC)'),
    /** e.g. "satfactory 0.1.0". */
    software: z.string().min(1).describe('The software and version that wrote it, e.g. "satfactory 0.1.0"'),
    /** The job spec as run (defaults applied); its hash is jobSha256Of(job). */
    job: z
      .record(z.string(), z.unknown())
      .describe(
        'The job spec as run (defaults applied, the AOI inlined); local paths in it are relative to the dataset (output.uri is ".")',
      ),
    jobSha256: sha256.describe('sha256 of the canonical JSON of `job` (sorted keys, no spaces)'),
    catalog: ManifestCatalogSchema,
    sources: z.array(ManifestSourceSchema).describe('Every product whose pixels are in the dataset'),
    bands: z
      .array(ManifestBandGroupSchema)
      .min(1)
      .refine(
        (groups) => new Set(groups.map((g) => g.group)).size === groups.length,
        'band groups must be unique',
      )
      .describe('The band groups: one `<key>.<group>.npy` member per native resolution'),
    /** The `<key>.scl.npy` member, when clouds are masked with the scene classification. */
    scl: z
      .object({
        member: z.string().describe('Member name without the key, e.g. "scl.npy"'),
        cloudyClasses: z.array(z.int().min(0).max(255)).describe('SCL classes counted as cloudy'),
        resolution: z.number().optional().describe('Pixel size of the SCL, metres'),
      })
      .strict()
      .nullable()
      .describe(
        'The `<key>.scl.npy` member [T, h, w] uint8, when clouds are masked with the scene classification; null otherwise',
      ),
    grid: z
      .object({
        windowSize: z.int().min(1).describe('Window side in pixels of the finest band'),
        stride: z.int().min(1).describe('Window stride in pixels of the finest band'),
        tiles: z
          .array(ManifestGridTileSchema)
          .describe("Each tile's grid and dates (on a non-native output grid: the source tiles' own grids)"),
        output: ManifestOutputGridSchema.optional(),
      })
      .strict()
      .describe('The window grid'),
    classes: ManifestClassesSchema.nullable(),
    regression: ManifestRegressionSchema.optional(),
    splits: z
      .object({
        train: splitCount.describe('The train split'),
        validation: splitCount.describe('The validation split'),
        test: splitCount.describe('The test split'),
      })
      .strict()
      .describe('Samples and shards per split'),
    shards: z.array(ManifestShardSchema).describe('Every shard, with its checksum'),
    totals: z
      .object({
        planned: count.describe(
          'Samples planned: windows, or with samples "per-date" windows x the dates of their tile',
        ),
        written: count.describe('Samples written (planned = written + rejected)'),
        rejected: count.describe('Planned samples not written'),
        /** Reject reason → windows; adds up to `rejected` (rejects.jsonl has each window). */
        rejectedByReason: z
          .record(z.string(), count)
          .optional()
          .describe('Reject reason → windows; adds up to `rejected` (rejects.jsonl has each window)'),
      })
      .strict()
      .describe('The accounting of planned windows'),
    /** Key of rejects.jsonl: one line per planned sample not written, with its reason. */
    rejects: relativePath.describe('rejects.jsonl: one line per planned sample not written, with its reason'),
    stats: ManifestStatsSchema,
    /**
     * What the regions fetched from the COGs (headers and the radiometry probe excluded): bytes,
     * range requests, the distinct bytes of those ranges (their union per URL across all regions)
     * and `refetchRatio` = bytesFetched / bytesDistinct (1: no byte fetched twice; null: nothing
     * fetched). `bytesNeeded`/`tilesNeeded` sum each region's own tiles (a tile two regions need
     * counts twice).
     */
    quicklooks: z
      .object({
        member: z.literal('png').describe('Every sample has a `<key>.png` member'),
        channels: QuicklookStretchSchema.describe(
          'R, G, B: the band of each and its linear stretch, 8-bit value round(255 * (v - low) / (high - low)) clipped to 0..255',
        ),
        nodata: z.string().describe('How nodata pixels are drawn'),
        outline: z
          .object({
            member: z.string().describe('The label member outlined'),
            color: z.string().describe('Outline colour "#rrggbb"'),
          })
          .strict()
          .nullable()
          .describe('The label outline drawn over every frame; null without labels'),
      })
      .strict()
      .optional()
      .describe(
        'output.quicklooks: the `<key>.png` true-colour quicklook of every sample, one frame per date side by side',
      ),
    io: z
      .object({
        bytesFetched: count.describe(
          'Bytes fetched from the COGs by the regions (headers and probe excluded)',
        ),
        bytesDistinct: count
          .optional()
          .describe('Distinct bytes of those ranges: their union per URL across all regions'),
        requests: count.describe('Range requests made by the regions'),
        refetchRatio: z
          .number()
          .positive()
          .nullable()
          .optional()
          .describe('bytesFetched / bytesDistinct (1: no byte fetched twice; null: nothing fetched)'),
        bytesNeeded: count.describe(
          "Sum of each region's needed COG tile bytes (a tile two regions need counts twice)",
        ),
        tilesNeeded: count.describe("Sum of each region's needed COG tiles"),
      })
      .strict()
      .optional()
      .describe('What the regions fetched from the COGs, and how often a byte was fetched twice'),
    /** Offsets: per source in sources[].radiometry; this is the run's summary. */
    radiometry: ManifestRadiometrySchema.optional(),
  })
  .strict()
  .describe('manifest.json of a satfactory dataset: written last; the dataset exists iff it exists');

/** The manifest's JSON Schema (schema/manifest.schema.json is this, kept equal by a test). */
export function manifestJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ManifestSchema, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
}

export type Manifest = z.infer<typeof ManifestSchema>;
export type ManifestShard = z.infer<typeof ManifestShardSchema>;

/** The hash recorded as jobSha256: over canonical JSON, so formatting and key order do not matter. */
export function jobSha256Of(job: unknown): string {
  return sha256Hex(canonicalJson(job));
}

/** Every broken accounting invariant, as sentences; empty when the books balance. */
export function manifestTotalsProblems(m: Manifest): string[] {
  const problems: string[] = [];
  const { planned, written, rejected } = m.totals;
  if (planned !== written + rejected) {
    problems.push(`totals: planned ${planned} != written ${written} + rejected ${rejected}`);
  }
  if (m.totals.rejectedByReason) {
    const byReason = Object.values(m.totals.rejectedByReason).reduce((n, k) => n + k, 0);
    if (byReason !== rejected)
      problems.push(`totals: rejected ${rejected} != ${byReason} rejects counted by reason`);
  }
  const inShards = m.shards.reduce((n, s) => n + s.samples, 0);
  if (inShards !== written)
    problems.push(`totals: written ${written} != ${inShards} samples listed in shards`);
  for (const split of SPLITS) {
    const shards = m.shards.filter((s) => s.split === split);
    const samples = shards.reduce((n, s) => n + s.samples, 0);
    const declared = m.splits[split];
    if (declared.samples !== samples || declared.shards !== shards.length) {
      problems.push(
        `splits.${split}: declares ${declared.samples} samples in ${declared.shards} shards, ` +
          `shards list ${samples} in ${shards.length}`,
      );
    }
  }
  const paths = new Set<string>();
  for (const s of m.shards) {
    if (paths.has(s.path)) problems.push(`shards: ${s.path} is listed twice`);
    paths.add(s.path);
    if (!s.path.startsWith(`${s.split}/`)) problems.push(`shards: ${s.path} is not under ${s.split}/`);
  }
  return problems;
}

/** Throws IntegrityError when the accounting does not add up (planned = written + rejected, ...). */
export function checkManifestTotals(m: Manifest): void {
  const problems = manifestTotalsProblems(m);
  if (problems.length > 0) {
    throw new IntegrityError(`the manifest of run ${m.runId} does not add up: ${problems.join('; ')}`, {
      runId: m.runId,
      problems,
    });
  }
}

/** Zod issues as "path: message" lines, for reports. */
export function manifestSchemaProblems(raw: unknown): string[] {
  const result = ManifestSchema.safeParse(raw);
  if (result.success) return [];
  return result.error.issues.map((i) => `manifest.json /${i.path.join('/')}: ${i.message}`);
}
