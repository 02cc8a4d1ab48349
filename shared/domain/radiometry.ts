// Sentinel-2 radiometry per item: what each band declares (raster:bands scale/offset), the
// processing baseline, Earth Search's offset flag, and the offset that makes `value * scale + offset`
// true for the item's pixels. Products of baseline 04.00 and later (25 January 2022) hold
// BOA_ADD_OFFSET (L2A) or RADIO_ADD_OFFSET (L1C) = -1000 DN in their pixels; Earth Search's
// `sentinel-2-l2a` removed it from some COGs and says so with a flag, while still declaring -0.1.
// Pure: the rule, the probe's verdict against it, and harmonization to one offset.
import { z } from 'zod';
import type { CogInfo } from './cog-types.ts';
import { IntegrityError, InvalidInputError, RasterFormatError } from './errors.ts';
import type { TilePlan } from './plan.ts';

/** The add-offset of baseline 04.00 and later, in DN (-1000 DN = -0.1 at scale 0.0001). */
export const ADD_OFFSET_DN = 1000;
/** First processing baseline whose pixels hold the add-offset. */
export const OFFSET_BASELINE = 4;

export const ItemFactsSchema = z.strictObject({
  /** Processing level from the product type or id; the offset rule is the same for both. */
  level: z.enum(['L1C', 'L2A']).nullable().describe('Processing level from the product type or id'),
  /** Processing baseline "NN.NN", e.g. "04.00". */
  baseline: z.string().nullable().describe('Processing baseline "NN.NN", e.g. "04.00"'),
  /** Where the baseline came from: a property name, or "product id" (the N0400 in it). */
  baselineFrom: z
    .string()
    .nullable()
    .describe('Where the baseline came from: a property name, or "product id" (the N0400 in it)'),
  /** Earth Search's `earthsearch:boa_offset_applied` (v1) or `sentinel:boa_offset_applied` (v0). */
  offsetApplied: z
    .boolean()
    .nullable()
    .describe("Earth Search's earthsearch:boa_offset_applied (v1) or sentinel:boa_offset_applied (v0)"),
  /** Share of the scene (percent) that is vegetation or water by the item's scene classification. */
  darkPercent: z
    .number()
    .nullable()
    .describe("Share of the scene (percent) that is vegetation or water by the item's scene classification"),
});
export type ItemFacts = z.infer<typeof ItemFactsSchema>;

export const OffsetRuleSchema = z
  .enum([
    /** Earth Search flag true: the -1000 was already applied to the pixels, whatever raster:bands says. */
    'flag-applied',
    /** Earth Search flag false and baseline >= 04.00: the pixels still hold the +1000. */
    'flag-baseline',
    /** The offset raster:bands (or raster:offset) declares. */
    'declared',
    /** Nothing declared: baseline >= 04.00 holds the +1000, earlier baselines none. */
    'baseline',
    /** Nothing declared, no baseline: 0. */
    'none',
  ])
  .describe('The offset rule: flag-applied, flag-baseline, declared, baseline or none (README, Radiometry)');
export type OffsetRule = z.infer<typeof OffsetRuleSchema>;

export const ProbeVerdictSchema = z
  .enum(['offset-in-pixels', 'no-offset-in-pixels', 'unknown'])
  .describe("The probe's verdict on the pixels");
export type ProbeVerdict = z.infer<typeof ProbeVerdictSchema>;

/** What the smallest overview of an item's blue band says about its pixels. */
export const ProbeSchema = z.strictObject({
  asset: z.string().nullable().describe('The asset probed (the blue band)'),
  /** Size of the image read (the smallest overview). */
  width: z.int().min(0).describe('Width of the image read (the smallest overview)'),
  height: z.int().min(0).describe('Height of the image read'),
  /** Pixels that are not nodata. */
  validPixels: z.int().min(0).describe('Pixels that are not nodata'),
  /** The value below which 1 % of the valid pixels lie (DN); null when none. */
  p1: z
    .number()
    .nullable()
    .describe('The value below which 1 % of the valid pixels lie (DN); null when none'),
  verdict: ProbeVerdictSchema,
  reason: z.string().describe('Why, in words'),
  /** Whether the verdict agrees with the metadata rule; null when the verdict is unknown. */
  agrees: z
    .boolean()
    .nullable()
    .describe('Whether the verdict agrees with the metadata rule; null when unknown'),
  /** Bytes and requests the probe cost (the overview's tiles; its header when read for the probe only). */
  bytes: z.int().min(0).describe('Bytes the probe read'),
  requests: z.int().min(0).describe('Requests the probe made'),
});
export type Probe = z.infer<typeof ProbeSchema>;

export const BandRadiometrySchema = z.strictObject({
  /** As the item declares them (raster:bands or raster:scale/raster:offset); null when absent. */
  declaredScale: z.number().nullable().describe('Scale the item declares (raster:bands); null when absent'),
  declaredOffset: z.number().nullable().describe('Offset the item declares; null when absent'),
  /** A Sentinel-2 reflectance band (B01..B12): the baseline, the flag and the probe concern it. */
  reflectance: z
    .boolean()
    .describe('A Sentinel-2 reflectance band (B01..B12): the baseline, flag and probe concern it'),
  rule: OffsetRuleSchema,
  /** The offset by the rule. */
  metadataOffset: z.number().describe('The offset by the rule'),
  /** The source pixels: reflectance = value * scale + offset (offset from the rule, or the probe). */
  scale: z.number().describe('Scale of the source pixels'),
  offset: z.number().describe('Effective offset of the source pixels (from the rule, or the probe)'),
  /** DN added to every valid pixel when harmonized (0 otherwise). */
  added: z.int().min(0).describe('DN added to every valid pixel when harmonized (0 otherwise)'),
  /** The stored pixels: value * scale + storedOffset = source value * scale + offset. */
  storedOffset: z
    .number()
    .describe('Offset of the stored pixels: value * scale + storedOffset is the reflectance'),
});
export type BandRadiometry = z.infer<typeof BandRadiometrySchema>;

export const ItemRadiometrySchema = z.strictObject({
  ...ItemFactsSchema.shape,
  /** The rule used for the item's reflectance bands (each band also says its own). */
  rule: OffsetRuleSchema,
  /** Where the offsets come from: the rule, or the probe where it disagreed (radiometry.offset "probe"). */
  offsetFrom: z
    .enum(['metadata', 'probe'])
    .describe('Where the offsets come from: the rule, or the probe where it disagreed'),
  /** Null when the item was not probed (not chosen, or not a Sentinel-2 item). */
  probe: ProbeSchema.nullable().describe('What the probe found; null when the item was not probed'),
  /** Set when pixels and metadata disagree. */
  warning: z.string().nullable().describe('Set when pixels and metadata disagree'),
  bands: z.record(z.string(), BandRadiometrySchema).describe('Band → its radiometry'),
});
export type ItemRadiometry = z.infer<typeof ItemRadiometrySchema>;

/** How a job treats offsets (job spec `radiometry`). */
export type RadiometryOptions = { offset: 'metadata' | 'probe'; harmonize: boolean };
export const DEFAULT_RADIOMETRY: RadiometryOptions = { offset: 'metadata', harmonize: false };

const round12 = (x: number) => Number(x.toPrecision(12)) + 0;

/** The add-offset in the item's units: -1000 DN times its scale (-0.1 at 0.0001). */
export function addOffset(scale: number): number {
  return round12(-ADD_OFFSET_DN * scale);
}

const BASELINE_PROPERTIES = ['s2:processing_baseline', 'processing:version', 'sentinel:processing_baseline'];
const FLAG_PROPERTIES = ['earthsearch:boa_offset_applied', 'sentinel:boa_offset_applied'];
const PRODUCT_ID_PROPERTIES = ['s2:product_uri', 'sentinel:product_id', 'eopf:datastrip_id'];

/** "04.00" from "04.00", "4.0", 4 or "N0400"; null for anything else. */
export function parseBaseline(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value < 100)
    return value.toFixed(2).padStart(5, '0');
  if (typeof value !== 'string') return null;
  const n = /^N?(\d{2})(\d{2})$/.exec(value.trim());
  if (n) return `${n[1]}.${n[2]}`;
  const d = /^(\d{1,2})\.(\d{1,2})$/.exec(value.trim());
  if (d) return `${(d[1] as string).padStart(2, '0')}.${(d[2] as string).padEnd(2, '0')}`;
  return null;
}

/** Whether a baseline holds the add-offset (04.00 and later). */
export function baselineHoldsOffset(baseline: string): boolean {
  return Number(baseline) >= OFFSET_BASELINE;
}

type ItemLike = { id: string; properties?: Record<string, unknown> | null };

/** The facts the rule needs, read once from the item's properties and id. */
export function itemFacts(item: ItemLike): ItemFacts {
  const p = item.properties ?? {};
  let baseline: string | null = null;
  let baselineFrom: string | null = null;
  for (const key of BASELINE_PROPERTIES) {
    baseline = parseBaseline(p[key]);
    if (baseline) {
      baselineFrom = key;
      break;
    }
  }
  const ids = [...PRODUCT_ID_PROPERTIES.map((k) => p[k]), item.id].filter(
    (v): v is string => typeof v === 'string',
  );
  if (!baseline) {
    for (const id of ids) {
      // SAFE names carry the baseline as _N0400_; datastrip ids as _N04.00.
      const m = /_N(\d{2})\.?(\d{2})(?:_|\.|$)/.exec(id);
      if (m) {
        baseline = `${m[1]}.${m[2]}`;
        baselineFrom = 'product id';
        break;
      }
    }
  }
  let offsetApplied: boolean | null = null;
  for (const key of FLAG_PROPERTIES) {
    if (typeof p[key] === 'boolean') {
      offsetApplied = p[key] as boolean;
      break;
    }
  }
  return { level: levelOf(p, ids), baseline, baselineFrom, offsetApplied, darkPercent: darkPercentOf(p) };
}

function levelOf(p: Record<string, unknown>, ids: string[]): ItemFacts['level'] {
  const type = p['s2:product_type'] ?? p['product:type'];
  if (type === 'S2MSI1C') return 'L1C';
  if (type === 'S2MSI2A') return 'L2A';
  for (const id of ids) {
    if (/MSIL1C|_L1C$/.test(id)) return 'L1C';
    if (/MSIL2A|_L2A$/.test(id)) return 'L2A';
  }
  return null;
}

/** Vegetation + water share of the scene (Earth Search/Planetary Computer s2:*, CDSE statistics). */
function darkPercentOf(p: Record<string, unknown>): number | null {
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const veg = num(p['s2:vegetation_percentage']);
  const water = num(p['s2:water_percentage']);
  if (veg !== null && water !== null) return round12(veg + water);
  const stats = p['statistics'];
  if (stats && typeof stats === 'object') {
    const s = stats as Record<string, unknown>;
    const v = num(s['vegetation']);
    const w = num(s['water']);
    if (v !== null && w !== null) return round12(v + w);
  }
  return null;
}

/** Whether the facts say this is a Sentinel-2 product (the only kind the rule and the probe know). */
export function isSentinel2(facts: ItemFacts | undefined): boolean {
  return !!facts && (facts.level !== null || facts.baseline !== null || facts.offsetApplied !== null);
}

const REFLECTANCE = new Set([
  'coastal',
  'blue',
  'green',
  'red',
  'rededge1',
  'rededge2',
  'rededge3',
  'nir',
  'nir08',
  'nir09',
  'cirrus',
  'swir16',
  'swir22',
  'b01',
  'b02',
  'b03',
  'b04',
  'b05',
  'b06',
  'b07',
  'b08',
  'b8a',
  'b09',
  'b10',
  'b11',
  'b12',
]);

/** A Sentinel-2 reflectance band by its asset key: Earth Search names, B01..B12, CDSE's B04_10m. */
export function isReflectanceBand(key: string): boolean {
  return REFLECTANCE.has(
    key
      .toLowerCase()
      .replace(/-jp2$/, '')
      .replace(/_\d+m$/, ''),
  );
}

/** The asset the probe reads: the blue band under its usual keys. */
export function probeAssetOf(assets: Readonly<Record<string, unknown>>): string | null {
  return ['blue', 'B02', 'b02', 'B02_10m'].find((k) => k in assets) ?? null;
}

export type Declared = { scale: number | null; offset: number | null };

/** The offset of one band of one item by the rule, and the rule used. */
export function ruleOffset(
  declared: Declared,
  facts: ItemFacts | undefined,
  reflectance: boolean,
): { scale: number; offset: number; rule: OffsetRule } {
  const scale = declared.scale ?? 1;
  const viaDeclared = (): { scale: number; offset: number; rule: OffsetRule } =>
    declared.offset !== null
      ? { scale, offset: declared.offset, rule: 'declared' }
      : { scale, offset: 0, rule: 'none' };
  if (!reflectance || !facts) return viaDeclared();
  const holds = facts.baseline !== null && baselineHoldsOffset(facts.baseline);
  if (facts.offsetApplied === true) return { scale, offset: 0, rule: 'flag-applied' };
  if (facts.offsetApplied === false && holds)
    return { scale, offset: addOffset(scale), rule: 'flag-baseline' };
  if (facts.offsetApplied === false || declared.offset !== null) return viaDeclared();
  if (facts.baseline !== null) return { scale, offset: holds ? addOffset(scale) : 0, rule: 'baseline' };
  return viaDeclared();
}

/** What a product must offer: its facts, and each asset's declared scale and offset. */
export type RadiometrySource = {
  readonly id: string;
  readonly radiometry?: ItemFacts | undefined;
  readonly assets: Readonly<Record<string, { scale: number | null; offset: number | null } | undefined>>;
};

/** The item's radiometry by the metadata rule alone (not probed, not harmonized). */
export function metadataRadiometry(product: RadiometrySource, bands: readonly string[]): ItemRadiometry {
  const facts = product.radiometry ?? {
    level: null,
    baseline: null,
    baselineFrom: null,
    offsetApplied: null,
    darkPercent: null,
  };
  const out: Record<string, BandRadiometry> = {};
  for (const band of bands) {
    const asset = product.assets[band];
    const declared = { scale: asset?.scale ?? null, offset: asset?.offset ?? null };
    const reflectance = isReflectanceBand(band);
    const r = ruleOffset(declared, product.radiometry, reflectance);
    out[band] = {
      declaredScale: declared.scale,
      declaredOffset: declared.offset,
      reflectance,
      rule: r.rule,
      metadataOffset: r.offset,
      scale: r.scale,
      offset: r.offset,
      added: 0,
      storedOffset: r.offset,
    };
  }
  const first = Object.values(out).find((b) => b.reflectance) ?? Object.values(out)[0];
  return {
    ...facts,
    rule: first?.rule ?? 'none',
    offsetFrom: 'metadata',
    probe: null,
    warning: null,
    bands: out,
  };
}

/** Whether the metadata says the item's reflectance pixels hold the +1000 (null: no reflectance band). */
export function metadataHoldsOffset(r: ItemRadiometry): boolean | null {
  const b = Object.values(r.bands).find((x) => x.reflectance);
  return b ? b.metadataOffset < 0 : null;
}

/**
 * Adds the probe to an item's radiometry: whether it agrees with the rule, a warning when not, and,
 * when the job trusts the probe, the offsets it implies for the reflectance bands.
 */
export function withProbe(
  id: string,
  r: ItemRadiometry,
  probe: Omit<Probe, 'agrees'>,
  trust: RadiometryOptions['offset'],
): ItemRadiometry {
  const holds = metadataHoldsOffset(r);
  const says = probe.verdict === 'unknown' ? null : probe.verdict === 'offset-in-pixels';
  const agrees = holds === null || says === null ? null : holds === says;
  if (agrees !== false) return { ...r, probe: { ...probe, agrees }, warning: null };
  const useProbe = trust === 'probe';
  const bands: Record<string, BandRadiometry> = {};
  for (const [name, b] of Object.entries(r.bands)) {
    const offset = b.reflectance && useProbe ? (says ? addOffset(b.scale) : 0) : b.offset;
    bands[name] = { ...b, offset, storedOffset: offset, added: 0 };
  }
  const meta = holds ? 'hold the +1000' : 'do not hold the +1000';
  const pixels = says ? 'do' : 'do not';
  const warning =
    `${id}: the metadata say its pixels ${meta} (rule ${r.rule}${r.baseline ? `, baseline ${r.baseline}` : ''}` +
    `${r.offsetApplied === null ? '' : `, offset flag ${r.offsetApplied}`}), but the pixels of ${probe.asset} ${pixels} ` +
    `(${probe.reason}); ` +
    (useProbe
      ? 'offsets taken from the probe (radiometry.offset "probe")'
      : 'offsets kept from the metadata; set radiometry.offset to "probe" to use the pixels\' verdict');
  return {
    ...r,
    offsetFrom: useProbe ? 'probe' : 'metadata',
    probe: { ...probe, agrees: false },
    warning,
    bands,
  };
}

/**
 * Harmonization: every date of a band gets the band's lowest offset (e.g. -0.1) by adding whole DN
 * to the pixels of the other dates (1000 where the offset is 0), so no value is clipped and
 * `value * scale + storedOffset` stays the source's reflectance. Returns new radiometries in order.
 */
export function harmonize(items: readonly ItemRadiometry[], bands: readonly string[]): ItemRadiometry[] {
  const target = new Map<string, number>();
  for (const band of bands) {
    const offsets = items.map((r) => r.bands[band]?.offset).filter((o): o is number => o !== undefined);
    if (offsets.length > 0) target.set(band, Math.min(...offsets));
  }
  return items.map((r) => {
    const out: Record<string, BandRadiometry> = {};
    for (const [name, b] of Object.entries(r.bands)) {
      const to = target.get(name) ?? b.offset;
      const dn = (b.offset - to) / b.scale;
      const added = Math.round(dn);
      if (Math.abs(dn - added) > 1e-6) {
        throw new InvalidInputError(
          `radiometry.harmonize cannot bring ${name} to one offset: offset ${b.offset} at scale ${b.scale} differs from ${to} by ${dn} DN, not a whole number; run without harmonize (each sample then gives the offset per date)`,
          { pointer: '/radiometry/harmonize', band: name },
        );
      }
      out[name] = { ...b, added, storedOffset: to };
    }
    return { ...r, bands: out };
  });
}

/** One number when every date has the same value, else one value per date. */
export function perDate(values: readonly number[]): number | number[] {
  const first = values[0];
  return values.every((v) => v === first) && first !== undefined ? first : [...values];
}

/**
 * Adds `added` DN to the valid pixels of one decoded tile (the part inside the image), in place,
 * before windows are cut from it: padding stays nodata. A value that would pass the sample type's
 * maximum or become the nodata value fails, naming the file, item and band: nothing is clipped.
 */
export function addToTile(
  cog: CogInfo,
  index: number,
  pixels: Uint16Array | Uint8Array,
  added: number,
  nodata: number | null,
  where: { item: string; band: string },
): void {
  if (added === 0) return;
  const top = pixels instanceof Uint8Array ? 255 : 65535;
  const x0 = (index % cog.tilesAcross) * cog.tileWidth;
  const y0 = Math.floor(index / cog.tilesAcross) * cog.tileHeight;
  const w = Math.min(cog.tileWidth, cog.width - x0);
  const h = Math.min(cog.tileHeight, cog.height - y0);
  for (let y = 0; y < h; y++) {
    for (let i = y * cog.tileWidth, end = i + w; i < end; i++) {
      const v = pixels[i] as number;
      if (v === nodata) continue;
      const out = v + added;
      if (out > top || out === nodata) {
        throw new RasterFormatError(
          `radiometry.harmonize: ${where.band} of ${where.item} holds ${v} at pixel (${x0 + i - y * cog.tileWidth}, ${y0 + y}) of ${cog.href}; adding ${added} gives ${out}, ${out > top ? `past the maximum ${top} of its type` : 'its nodata value'}. A reflectance never gets there: check the item's offset, or run without harmonize`,
          { source: cog.href, band: where.band, item: where.item },
        );
      }
      pixels[i] = out;
    }
  }
}

/** A band's radiometry on every date of a tile plan, in date order. */
export function bandDates(tp: Pick<TilePlan, 'tile' | 'products'>, band: string): BandRadiometry[] {
  return tp.products.map((p) => {
    const r = p.radiometry.bands[band];
    if (!r) {
      throw new IntegrityError(`the tile plan of ${tp.tile} has no radiometry for ${band} of ${p.id}`, {
        tile: tp.tile,
        item: p.id,
      });
    }
    return r;
  });
}
