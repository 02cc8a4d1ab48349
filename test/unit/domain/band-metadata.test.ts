// Band metadata for the manifest: what real STAC items declare (Earth Search v1 eo:bands, CDSE's
// STAC 1.1 bands, Earth Search v0 with none), merged over items, else the built-in Sentinel-2A table.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  bandMetadata,
  type EoBand,
  eoBandOf,
  SENTINEL2_BANDS,
  sentinel2BandId,
} from '../../../shared/domain/band-metadata.ts';
import { normalizeItem, productAsset, type StacItem } from '../../../shared/domain/catalog.ts';
import { fixturesRoot, requireFixture } from '../../helpers/requirements.ts';

const C1 =
  'stac/earth-search-v1/rustac_sentinel-2-c1-l2a/item_collection_sentinel-2-c1-l2a_13TDE_2024-03-31_to_04-22_10items.json';
const CDSE = 'stac/cdse-stac/item_S2A_MSIL2A_20241107T113311_N0511_R080_T32VKR_20241107T123948.json';
const V0 = 'stac/earth-search-v0/item_S2A_28QCH_20200714_0_L2A_sentinel-s2-l2a-cogs.json';
const L2A =
  'sentinel2/earthsearch_v1_timeseries_T33TWL_2023-08_croatia_120m/S2A_33TWL_20230815_0_L2A/S2A_33TWL_20230815_0_L2A.json';
const read = (rel: string): unknown => JSON.parse(readFileSync(path.join(fixturesRoot(), rel), 'utf8'));

describe('band ids and the built-in table', () => {
  it('recognizes Sentinel-2 band names and Earth Search asset keys', () => {
    expect(
      ['B2', 'b02', 'B02_10m', 'B8A', 'b8a_20m', 'red', 'rededge2', 'nir08', 'SWIR22'].map(sentinel2BandId),
    ).toEqual(['B02', 'B02', 'B02', 'B8A', 'B8A', 'B04', 'B06', 'B8A', 'B12']);
    expect(['scl', 'B13', 'visual', '', null].map(sentinel2BandId)).toEqual([null, null, null, null, null]);
  });

  it('holds 13 bands with centres ascending and every FWHM below 0.2 µm', () => {
    const order = ['B01', 'B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08', 'B8A', 'B09', 'B10', 'B11', 'B12'];
    expect(Object.keys(SENTINEL2_BANDS).sort()).toEqual([...order].sort());
    const centres = order.map((b) => SENTINEL2_BANDS[b]?.centerWavelength as number);
    expect(centres).toEqual([...centres].sort((a, b) => a - b));
    for (const b of order) expect(SENTINEL2_BANDS[b]?.fullWidthHalfMax).toBeLessThan(0.2);
  });
});

describe.skipIf(!requireFixture(C1, CDSE, V0, L2A))('eo:bands of real items', () => {
  it('reads Earth Search v1 (sentinel-2-c1-l2a) eo:bands and keeps them when the items agree', () => {
    const items = (read(C1) as { features: StacItem[] }).features.map((f) => normalizeItem(f, null, C1));
    expect(items[0]?.assets['nir08']?.eo).toEqual({
      name: 'B8A',
      commonName: 'nir08',
      centerWavelength: 0.865,
      fullWidthHalfMax: 0.033,
    });
    // A three-band true-colour asset declares no single band.
    expect(items[0]?.assets['visual']?.eo).toBeNull();
    const rededge = bandMetadata(
      'rededge1',
      items.map((p) => p.assets['rededge1']?.eo ?? null),
      true,
    );
    expect(rededge).toEqual({
      commonName: 'rededge',
      bandId: 'B05',
      centerWavelength: 0.704,
      fullWidthHalfMax: 0.019,
      wavelengthFrom: 'eo:bands',
      units: 'reflectance',
    });
  });

  it('takes the band id from the asset key when eo:bands names the band by its common name (Earth Search sentinel-2-l2a)', () => {
    const item = normalizeItem(read(L2A) as StacItem, null, L2A);
    expect(item.assets['red']?.eo?.name).toBe('red');
    expect(bandMetadata('red', [item.assets['red']?.eo ?? null], true)).toMatchObject({
      bandId: 'B04',
      commonName: 'red',
      centerWavelength: 0.665,
      fullWidthHalfMax: 0.038,
      wavelengthFrom: 'eo:bands',
    });
  });

  it('reads CDSE STAC 1.1 bands (eo: fields) and says when their FWHM is far from the Sentinel-2A one', () => {
    // Its items carry proj:code on the assets only: read the asset as the catalog adapter does.
    const item = read(CDSE) as StacItem;
    const eo = productAsset(item.assets['B01_60m'] as StacItem['assets'][string], null).eo as EoBand;
    expect(eo).toEqual({
      name: 'B01',
      commonName: 'coastal',
      centerWavelength: 0.443,
      fullWidthHalfMax: 0.228,
    });
    const m = bandMetadata('B01_60m', [eo], true);
    expect(m).toMatchObject({
      bandId: 'B01',
      centerWavelength: 0.443,
      fullWidthHalfMax: 0.228,
      wavelengthFrom: 'eo:bands',
    });
    expect(m.note).toMatch(/FWHM 0\.228 µm \(Sentinel-2A: 0\.021\)/);
  });

  it('falls back to the Sentinel-2A table when items declare nothing (Earth Search v0) or disagree', () => {
    const item = normalizeItem(read(V0) as StacItem, null, V0);
    expect(item.assets['B02']?.eo).toBeNull();
    expect(bandMetadata('B02', [null], false)).toEqual({
      commonName: 'blue',
      bandId: 'B02',
      centerWavelength: 0.4924,
      fullWidthHalfMax: 0.066,
      wavelengthFrom: 'sentinel-2a-srf',
      units: 'DN',
    });
    const a: EoBand = { name: 'B04', commonName: 'red', centerWavelength: 0.665, fullWidthHalfMax: 0.038 };
    expect(bandMetadata('red', [a, { ...a, centerWavelength: 0.6646 }], true)).toMatchObject({
      centerWavelength: 0.6646,
      fullWidthHalfMax: 0.031,
      wavelengthFrom: 'sentinel-2a-srf',
    });
    // One item declaring and another not: not all agree, so the table.
    expect(bandMetadata('red', [a, null], true).wavelengthFrom).toBe('sentinel-2a-srf');
  });

  it('leaves a band it does not know without wavelengths, in DN', () => {
    expect(bandMetadata('vv', [null], true)).toEqual({
      commonName: null,
      bandId: null,
      centerWavelength: null,
      fullWidthHalfMax: null,
      wavelengthFrom: null,
      units: 'DN',
    });
    expect(eoBandOf({ href: 'x' })).toBeNull();
  });
});
