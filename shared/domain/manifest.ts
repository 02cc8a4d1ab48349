// manifest.json: the self-description of a dataset, written last by Commit and read by verify and
// by users. This schema is the contract; checkManifestTotals holds the accounting invariants.
import { z } from 'zod';
import { BandMetadataSchema } from './band-metadata.ts';
import { BandSummarySchema } from './band-stats.ts';
import { IntegrityError } from './errors.ts';
import { canonicalJson, sha256Hex } from './hashing.ts';
import { ItemRadiometrySchema } from './radiometry.ts';
import { SPLITS } from './splits.ts';

export const MANIFEST_FORMAT = 'satfactory-webdataset';
/** Bumped when a reader of the previous version would misread a dataset. */
export const MANIFEST_VERSION = '2';

const count = z.int().min(0);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256');
/** Dataset-relative, '/'-separated, no '..' or leading '/': a manifest must not point outside. */
const relativePath = z
  .string()
  .regex(/^(?!\/)(?!.*(^|\/)\.\.?(\/|$))[^\\]+$/, 'a path relative to the dataset root, without ".."');
const groupName = z.string().regex(/^[0-9]+(p[0-9]+)?m$/, 'a resolution label such as "10m" or "0p5m"');

export const ManifestCatalogSchema = z
  .object({
    /** Human-readable origin, e.g. "STAC https://earth-search.aws.element84.com/v1". */
    description: z.string(),
    /** STAC API root, or the static catalog file or folder. */
    url: z.string().optional(),
    collection: z.string().nullable(),
    pages: count,
    items: count,
    /** Where the raw search requests and answers of the run are kept (key prefix or URI). */
    requestsPrefix: z.string().optional(),
    /** The search requests themselves, when small enough to inline. */
    requests: z
      .array(z.object({ method: z.string(), url: z.string(), body: z.unknown().optional() }).strict())
      .optional(),
  })
  .strict();

export const ManifestSourceSchema = z
  .object({
    id: z.string().min(1),
    collection: z.string(),
    datetime: z.string(),
    tile: z.string(),
    epsg: z.int().optional(),
    cloudCover: z.number().nullable(),
    /** Asset key → absolute href of each band read from this product. */
    hrefs: z.record(z.string(), z.string()),
    /**
     * Per band: declared scale/offset (raster:bands), the rule's offset, the effective one, DN added
     * by harmonization and the offset of the stored pixels; the item's baseline, offset flag, rule,
     * and the probe's verdict on its pixels.
     */
    radiometry: ItemRadiometrySchema.optional(),
  })
  .strict();

export const ManifestBandSchema = z
  .object({
    name: z.string().min(1),
    /**
     * value * scale + offset is the reflectance. null when the items differ: each sample's `.json`
     * then gives one value per date, and `at` names where every item's value is.
     */
    scale: z.number().nullable(),
    offset: z.number().nullable(),
    at: z.string().optional(),
    nodata: z.number().nullable(),
    dataType: z.string(),
    /** Common name, Sentinel-2 band id, centre wavelength and FWHM, units (band-metadata.ts). */
    ...BandMetadataSchema.shape,
  })
  .strict();

/** How the run treated offsets, and what the radiometry probe found. */
export const ManifestRadiometrySchema = z
  .object({
    /** The job's radiometry.offset and radiometry.harmonize. */
    offset: z.enum(['metadata', 'probe']),
    harmonize: z.boolean(),
    probed: count,
    /** Items whose pixels and metadata disagree (each has a warning in sources[].radiometry). */
    disagree: count,
    /** Items the probe could not judge (bright scenes, L1C, no overview). */
    unknown: count,
    /** Bytes the probe read, over all items. */
    probeBytes: count,
    warnings: z.array(z.string()),
  })
  .strict();

/** One `<key>.<group>.npy` member: bands of one native resolution, in channel order. */
export const ManifestBandGroupSchema = z
  .object({
    group: groupName,
    resolution: z.number().positive(),
    bands: z.array(ManifestBandSchema).min(1),
  })
  .strict();

export const ManifestGridTileSchema = z
  .object({
    tile: z.string().min(1),
    epsg: z.int(),
    /** Pixel size of the finest band, metres. */
    resolution: z.number().positive(),
    originX: z.number(),
    originY: z.number(),
    dates: z.array(z.string()),
  })
  .strict();

export const ManifestClassSchema = z
  .object({
    /** The id written in `.labels.npy`. */
    id: z.int().min(0).max(65535).describe('The id written in .labels.npy'),
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
  .strict();

const classFrequency = z.object({ id: z.int().min(0).max(65535), pixels: count, samples: count }).strict();

export const ManifestClassesSchema = z
  .object({
    property: z.string().describe('The label property holding the class value (labels.classProperty)'),
    origin: z
      .enum(['job', 'file', 'derived'])
      .describe(
        'Where the table comes from: "job" (labels.classes inline), "file" (labels.classes.table names a file), "derived" (the classes found in the AOI: another AOI may give other ids)',
      ),
    file: z
      .object({ name: z.string(), sha256 })
      .strict()
      .optional()
      .describe('The class table file (origin "file"): its name and the sha256 of its bytes'),
    background: z.int().min(0).max(65535).describe('The id written in .labels.npy where no polygon is'),
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
    resolution: z.number().positive().optional(),
    size: z.int().min(1).optional(),
    /** The label members each sample carries (`<key>.<output>.npy`). */
    outputs: z.array(z.string()).optional(),
    table: z.array(ManifestClassSchema),
    /**
     * Per split: label pixels of each id of `.labels.npy` (trainingIds and the ignore index, ids
     * ascending, absent classes with 0), and samples in which it appears.
     */
    splits: z
      .object({
        train: z.array(classFrequency),
        validation: z.array(classFrequency),
        test: z.array(classFrequency),
      })
      .strict()
      .optional(),
    /**
     * Suggested loss weights from the train split, one per id of `ids` (= trainingIds: entry i is
     * training index i); null for an id with no train pixel. See class-weights.ts.
     */
    weights: z
      .object({
        split: z.literal('train'),
        ids: z.array(z.int().min(0).max(65535)),
        pixels: z.array(count),
        inverseFrequency: z.array(z.number().positive().nullable()),
        medianFrequency: z.array(z.number().positive().nullable()),
      })
      .strict()
      .optional(),
    /** The validation of the label file: counts per problem, and the log with every entry. */
    validation: z
      .object({
        source: z.string(),
        read: count,
        kept: count,
        problems: z.record(z.string(), count),
        log: relativePath,
        /**
         * Where the kept features went: kept = inSamples + the unsampled counts (reason → features;
         * each has a line in the log with action "unsampled").
         */
        accounting: z
          .object({ kept: count, inSamples: count, unsampled: z.record(z.string(), count) })
          .strict()
          .refine(
            (a) => a.kept === a.inSamples + Object.values(a.unsampled).reduce((n, k) => n + k, 0),
            'kept must equal inSamples + the unsampled counts',
          )
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const ManifestShardSchema = z
  .object({
    path: relativePath,
    split: z.enum(SPLITS),
    bytes: count,
    sha256,
    samples: count,
  })
  .strict();

/**
 * Per band statistics of the train split, in stored units (before scale and offset): every date of
 * every written train sample, over the pixels `pixels` describes (window-stats.ts).
 */
export const ManifestStatsSchema = z
  .object({
    split: z.literal('train'),
    /** "all": every date of a sample counts, usable or not; cloudy pixels are left out one by one. */
    dates: z.literal('all'),
    /** Which pixels count, in words. */
    pixels: z.string(),
    /** SCL classes whose pixels are left out (the job's cloudy classes; empty without SCL). */
    excludedScl: z.array(z.int().min(0).max(255)),
    units: z.literal('stored'),
    /** numpy.percentile's default method. */
    percentiles: z.literal('linear'),
    bands: z.record(z.string(), BandSummarySchema),
  })
  .strict();

const splitCount = z.object({ samples: count, shards: count }).strict();

export const ManifestSchema = z
  .object({
    format: z.literal(MANIFEST_FORMAT),
    version: z.literal(MANIFEST_VERSION),
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    runId: z.string().min(1),
    createdAt: z.iso.datetime(),
    /** e.g. "satfactory 0.1.0". */
    software: z.string().min(1),
    /** The job spec as run (defaults applied); its hash is jobSha256Of(job). */
    job: z.record(z.string(), z.unknown()),
    jobSha256: sha256,
    catalog: ManifestCatalogSchema,
    sources: z.array(ManifestSourceSchema),
    bands: z
      .array(ManifestBandGroupSchema)
      .min(1)
      .refine(
        (groups) => new Set(groups.map((g) => g.group)).size === groups.length,
        'band groups must be unique',
      ),
    /** The `<key>.scl.npy` member, when clouds are masked with the scene classification. */
    scl: z
      .object({
        member: z.string(),
        cloudyClasses: z.array(z.int().min(0).max(255)),
        resolution: z.number().optional(),
      })
      .strict()
      .nullable(),
    grid: z
      .object({ windowSize: z.int().min(1), stride: z.int().min(1), tiles: z.array(ManifestGridTileSchema) })
      .strict(),
    classes: ManifestClassesSchema.nullable(),
    splits: z.object({ train: splitCount, validation: splitCount, test: splitCount }).strict(),
    shards: z.array(ManifestShardSchema),
    totals: z
      .object({
        planned: count,
        written: count,
        rejected: count,
        /** Reject reason → windows; adds up to `rejected` (rejects.jsonl has each window). */
        rejectedByReason: z.record(z.string(), count).optional(),
      })
      .strict(),
    /** Key of rejects.jsonl: one line per planned sample not written, with its reason. */
    rejects: relativePath,
    stats: ManifestStatsSchema,
    /**
     * What the regions fetched from the COGs (headers and the radiometry probe excluded): bytes,
     * range requests, the distinct bytes of those ranges (their union per URL across all regions)
     * and `refetchRatio` = bytesFetched / bytesDistinct (1: no byte fetched twice; null: nothing
     * fetched). `bytesNeeded`/`tilesNeeded` sum each region's own tiles (a tile two regions need
     * counts twice).
     */
    io: z
      .object({
        bytesFetched: count,
        bytesDistinct: count.optional(),
        requests: count,
        refetchRatio: z.number().positive().nullable().optional(),
        bytesNeeded: count,
        tilesNeeded: count,
      })
      .strict()
      .optional(),
    /** Offsets: per source in sources[].radiometry; this is the run's summary. */
    radiometry: ManifestRadiometrySchema.optional(),
  })
  .strict();

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
