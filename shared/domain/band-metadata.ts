// Spectral metadata of each band of a dataset: common name, Sentinel-2 band id, centre wavelength and
// FWHM, and the units of value * scale + offset. Taken from the STAC items' eo:bands when they all
// declare the same, otherwise from the built-in Sentinel-2 table below.
import { z } from 'zod';

/** What one asset declares about its (single) band: STAC eo 1.x `eo:bands`, or STAC 1.1 `bands` with `eo:` fields. */
export const EoBandSchema = z.strictObject({
  name: z.string().nullable(),
  commonName: z.string().nullable(),
  /** Micrometres, as STAC writes them. */
  centerWavelength: z.number().nullable(),
  fullWidthHalfMax: z.number().nullable(),
});
export type EoBand = z.infer<typeof EoBandSchema>;

/**
 * Sentinel-2A MSI, centre wavelength and bandwidth in µm: ESA, "Sentinel-2 Spectral Response
 * Functions (S2-SRF)", COPE-GSEG-EOPG-TN-15-0007 issue 3 (2017), as tabulated in the Sentinel-2 MSI
 * User Guide ("Radiometric Resolutions", S2A columns). The bandwidth there is the width of the
 * spectral response at half its maximum (FWHM). S2B and S2C differ by up to a few nm (B01, B02,
 * B05...); the S2A values are used for all.
 */
export const SENTINEL2_BANDS: Readonly<
  Record<string, { commonName: string; centerWavelength: number; fullWidthHalfMax: number }>
> = {
  B01: { commonName: 'coastal', centerWavelength: 0.4427, fullWidthHalfMax: 0.021 },
  B02: { commonName: 'blue', centerWavelength: 0.4924, fullWidthHalfMax: 0.066 },
  B03: { commonName: 'green', centerWavelength: 0.5598, fullWidthHalfMax: 0.036 },
  B04: { commonName: 'red', centerWavelength: 0.6646, fullWidthHalfMax: 0.031 },
  B05: { commonName: 'rededge', centerWavelength: 0.7041, fullWidthHalfMax: 0.015 },
  B06: { commonName: 'rededge', centerWavelength: 0.7405, fullWidthHalfMax: 0.015 },
  B07: { commonName: 'rededge', centerWavelength: 0.7828, fullWidthHalfMax: 0.02 },
  B08: { commonName: 'nir', centerWavelength: 0.8328, fullWidthHalfMax: 0.106 },
  B8A: { commonName: 'nir08', centerWavelength: 0.8647, fullWidthHalfMax: 0.021 },
  B09: { commonName: 'nir09', centerWavelength: 0.9451, fullWidthHalfMax: 0.02 },
  B10: { commonName: 'cirrus', centerWavelength: 1.3735, fullWidthHalfMax: 0.031 },
  B11: { commonName: 'swir16', centerWavelength: 1.6137, fullWidthHalfMax: 0.091 },
  B12: { commonName: 'swir22', centerWavelength: 2.2024, fullWidthHalfMax: 0.175 },
};

/** Earth Search's asset keys (common names, rededge1..3) → band id. */
const ASSET_KEY_BAND: Readonly<Record<string, string>> = {
  coastal: 'B01',
  blue: 'B02',
  green: 'B03',
  red: 'B04',
  rededge1: 'B05',
  rededge2: 'B06',
  rededge3: 'B07',
  nir: 'B08',
  nir08: 'B8A',
  nir09: 'B09',
  cirrus: 'B10',
  swir16: 'B11',
  swir22: 'B12',
};

/** "B2", "b02", "B02_10m", "B8A" → "B02"/"B8A"; null when `s` names no Sentinel-2 band. */
export function sentinel2BandId(s: string | null | undefined): string | null {
  if (!s) return null;
  const m = /^b(\d{1,2})(a?)(?:_\d+m)?$/i.exec(s.trim());
  if (m) {
    const id = m[2] ? `B${Number(m[1])}A` : `B${String(Number(m[1])).padStart(2, '0')}`;
    return id in SENTINEL2_BANDS ? id : null;
  }
  return ASSET_KEY_BAND[s.trim().toLowerCase()] ?? null;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);

/**
 * What an asset declares about its band: the one entry of `eo:bands` (STAC eo 1.x) or of `bands`
 * (STAC 1.1, `eo:`-prefixed fields), or `eo:` fields on the asset itself. null when it declares
 * nothing, or several bands (a true-colour image is not one band).
 */
export function eoBandOf(asset: Record<string, unknown>): EoBand | null {
  const list = asset['eo:bands'] ?? asset['bands'];
  let b: Record<string, unknown>;
  if (Array.isArray(list)) {
    if (list.length !== 1 || typeof list[0] !== 'object' || list[0] === null) return null;
    b = list[0] as Record<string, unknown>;
  } else b = asset;
  const band: EoBand = {
    name: str(b['name']),
    commonName: str(b['common_name'] ?? b['eo:common_name']),
    centerWavelength: num(b['center_wavelength'] ?? b['eo:center_wavelength']),
    fullWidthHalfMax: num(b['full_width_half_max'] ?? b['eo:full_width_half_max']),
  };
  const declared =
    band.commonName !== null || band.centerWavelength !== null || band.fullWidthHalfMax !== null;
  return declared || Array.isArray(list) ? band : null;
}

export const BandMetadataSchema = z.strictObject({
  commonName: z.string().nullable().describe('STAC eo common name, e.g. "red", "nir08"; null when unknown'),
  bandId: z
    .string()
    .nullable()
    .describe('The Sentinel-2 band, "B01" ... "B12", "B8A"; null for other sources'),
  centerWavelength: z.number().nullable().describe('Centre wavelength, µm'),
  fullWidthHalfMax: z.number().nullable().describe('Full width at half maximum of the spectral response, µm'),
  wavelengthFrom: z
    .enum(['eo:bands', 'sentinel-2a-srf'])
    .nullable()
    .describe(
      "Where centre and FWHM come from: the items' eo:bands (all agreeing), or the built-in table of Sentinel-2A values (ESA S2-SRF, COPE-GSEG-EOPG-TN-15-0007)",
    ),
  units: z
    .enum(['reflectance', 'DN'])
    .describe(
      'What value * scale + offset is: "reflectance" (unitless; top of atmosphere for L1C, bottom for L2A) for a Sentinel-2 band with a declared scale, else "DN" (the stored numbers as they are)',
    ),
  note: z.string().optional().describe('Where the declared values look wrong next to the Sentinel-2A table'),
});
export type BandMetadata = z.infer<typeof BandMetadataSchema>;

/**
 * The metadata of one band of a dataset from what each chosen item declares for its asset
 * (`declared`: one entry per item, null where an item declares nothing) and whether a scale is
 * known for every item. Declared values are used when every item declares the same; otherwise
 * the built-in Sentinel-2A table, found by the declared band name or the asset key.
 */
export function bandMetadata(
  assetKey: string,
  declared: readonly (EoBand | null)[],
  scaled: boolean,
): BandMetadata {
  const all = declared.filter((d): d is EoBand => d !== null);
  const first = all[0];
  const agree =
    first !== undefined &&
    all.length === declared.length &&
    all.every(
      (d) =>
        d.name === first.name &&
        d.commonName === first.commonName &&
        d.centerWavelength === first.centerWavelength &&
        d.fullWidthHalfMax === first.fullWidthHalfMax,
    );
  const bandId = sentinel2BandId(agree ? first.name : null) ?? sentinel2BandId(assetKey);
  const table = bandId ? SENTINEL2_BANDS[bandId] : undefined;
  const units = scaled && bandId !== null ? 'reflectance' : 'DN';
  if (agree && first.centerWavelength !== null) {
    const note = table ? implausible(first, table) : undefined;
    return {
      commonName: first.commonName ?? table?.commonName ?? null,
      bandId,
      centerWavelength: first.centerWavelength,
      fullWidthHalfMax: first.fullWidthHalfMax ?? null,
      wavelengthFrom: 'eo:bands',
      units,
      ...(note ? { note } : {}),
    };
  }
  return {
    commonName: (agree ? first.commonName : null) ?? table?.commonName ?? null,
    bandId,
    centerWavelength: table?.centerWavelength ?? null,
    fullWidthHalfMax: table?.fullWidthHalfMax ?? null,
    wavelengthFrom: table ? 'sentinel-2a-srf' : null,
    units,
  };
}

/** A declared centre more than 20 nm off, or a FWHM more than twice (or under half) the S2A one. */
function implausible(
  d: EoBand,
  t: { centerWavelength: number; fullWidthHalfMax: number },
): string | undefined {
  const problems: string[] = [];
  if (d.centerWavelength !== null && Math.abs(d.centerWavelength - t.centerWavelength) > 0.02) {
    problems.push(`centre ${d.centerWavelength} µm (Sentinel-2A: ${t.centerWavelength})`);
  }
  const f = d.fullWidthHalfMax;
  if (f !== null && (f > 2 * t.fullWidthHalfMax || f < t.fullWidthHalfMax / 2)) {
    problems.push(`FWHM ${f} µm (Sentinel-2A: ${t.fullWidthHalfMax})`);
  }
  return problems.length > 0
    ? `the items declare ${problems.join(' and ')}; kept as declared, compare with the Sentinel-2A values`
    : undefined;
}
