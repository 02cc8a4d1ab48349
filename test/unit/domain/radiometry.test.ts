// The offset rule of shared/domain/radiometry.ts on REAL catalog items from the shared fixtures
// (Earth Search v0, v1 sentinel-2-l2a / sentinel-2-c1-l2a / sentinel-2-l1c, CDSE, Planetary Computer),
// then on real items EDITED ON PURPOSE in this file (each edit is named where it is made), then the
// pure parts: the probe's verdict, the warning, harmonization and adding DN to decoded tiles.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeItem, productAsset, type StacItem } from '../../../shared/domain/catalog.ts';
import type { CogInfo } from '../../../shared/domain/cog-types.ts';
import { InvalidInputError, RasterFormatError } from '../../../shared/domain/errors.ts';
import {
  addToTile,
  harmonize,
  type ItemRadiometry,
  itemFacts,
  metadataRadiometry,
  parseBaseline,
  perDate,
  withProbe,
} from '../../../shared/domain/radiometry.ts';
import {
  darkPercentile,
  judgeProbe,
  PROBE_DARK_PERCENT,
  PROBE_NO_OFFSET_BELOW,
} from '../../../shared/domain/radiometry-probe.ts';
import { fixturesRoot, requireFixture } from '../../helpers/requirements.ts';

const S2 = 'sentinel2';
const PAIRS = 'stac-earthsearch-v0-v1-boa-offset_2022-04_austria';
const haveFixtures = requireFixture(S2, PAIRS, 'stac');

const read = (rel: string): unknown => JSON.parse(readFileSync(path.join(fixturesRoot(), rel), 'utf8'));
const item = (rel: string) => read(rel) as StacItem;
const features = (rel: string) => (read(rel) as { features: StacItem[] }).features;
const firstOf = (rel: string) => features(rel)[0] as StacItem;
/** The raster:bands entry of an asset, to edit. */
const raster = (i: StacItem, key: string) =>
  (i.assets[key]?.['raster:bands'] ?? [])[0] as { offset?: number };
const product = (i: StacItem) => normalizeItem(i, 'file:///fixtures/', 'test');
const rule = (i: StacItem, bands = ['blue', 'red']) => metadataRadiometry(product(i), bands);
const offsets = (r: ItemRadiometry) =>
  Object.fromEntries(Object.entries(r.bands).map(([b, x]) => [b, x.offset]));

const RKH = `${S2}/earthsearch_S2A_29RKH_20200219_L2A/S2A_29RKH_20200219_0_L2A.json`;
const CROATIA = `${S2}/earthsearch_v1_timeseries_T33TWL_2023-08_croatia_120m`;
const AUSTRIA = `${S2}/earthsearch_v1_T33UWP_2022-04_austria_cloudy_480m`;
const PAIR_IDS = [
  'S2A_33UWP_20220405_0_L2A',
  'S2A_33UWQ_20220405_0_L2A',
  'S2A_33UXP_20220402_0_L2A',
  'S2A_33UXP_20220405_0_L2A',
  'S2A_33UXQ_20220402_0_L2A',
  'S2A_33UXQ_20220405_0_L2A',
];

describe.skipIf(!haveFixtures)('the offset rule on real items', () => {
  it('2020 Earth Search v1 item (29RKH, baseline 02.14, flag false, offset 0): declared 0', () => {
    const r = rule(item(RKH));
    expect(r).toMatchObject({ level: 'L2A', baseline: '02.14', offsetApplied: false, rule: 'declared' });
    expect(r.bands['blue']).toMatchObject({ declaredScale: 0.0001, declaredOffset: 0, offset: 0 });
  });

  it('2022-2023 Earth Search v1 items (flag true, declared -0.1): effective 0, the flag wins', () => {
    const ids = [
      ...['S2A_33UWP_20220402_0_L2A', 'S2A_33UWP_20220405_0_L2A'].map((id) => `${AUSTRIA}/${id}/${id}.json`),
      ...[
        'S2B_33TWL_20230810_0_L2A',
        'S2B_33TWL_20230813_0_L2A',
        'S2A_33TWL_20230815_0_L2A',
        'S2A_33TWL_20230818_0_L2A',
        'S2B_33TWL_20230820_0_L2A',
      ].map((id) => `${CROATIA}/${id}/${id}.json`),
    ];
    for (const rel of ids) {
      const r = rule(item(rel), ['blue', 'green', 'red', 'nir', 'scl']);
      expect(r.offsetApplied, rel).toBe(true);
      expect(Number(r.baseline), rel).toBeGreaterThanOrEqual(4);
      expect(r.rule, rel).toBe('flag-applied');
      expect(r.bands['red'], rel).toMatchObject({ declaredOffset: -0.1, offset: 0, scale: 0.0001 });
      // SCL is not a reflectance band: no flag, no baseline, its declared nothing.
      expect(r.bands['scl'], rel).toMatchObject({ reflectance: false, rule: 'none', offset: 0, scale: 1 });
    }
  });

  it('the v0 and v1 records of the same six 2022 scenes give the same effective offset, 0', () => {
    for (const id of PAIR_IDS) {
      const v0 = rule(item(`${PAIRS}/v0_sentinel-s2-l2a-cogs/${id}.json`), ['B02', 'B04']);
      const v1 = rule(item(`${PAIRS}/v1_sentinel-2-l2a/${id}.json`), ['blue', 'red']);
      // v0: sentinel:* properties, no raster:bands at all; v1: earthsearch:* and raster:bands -0.1.
      expect(v0).toMatchObject({ baseline: '04.00', baselineFrom: 'sentinel:processing_baseline' });
      expect(v0).toMatchObject({ offsetApplied: true, rule: 'flag-applied' });
      expect(v0.bands['B02']).toMatchObject({ declaredScale: null, declaredOffset: null, offset: 0 });
      expect(v1).toMatchObject({ baseline: '04.00', offsetApplied: true, rule: 'flag-applied' });
      expect(v1.bands['blue']).toMatchObject({ declaredOffset: -0.1, offset: 0 });
    }
  });

  it('2020 Earth Search v0 item without baseline property: baseline 02.14 from the product id', () => {
    const r = rule(item('stac/earth-search-v0/item_S2A_28QCH_20200714_0_L2A_sentinel-s2-l2a-cogs.json'), [
      'B02',
    ]);
    expect(r).toMatchObject({ baseline: '02.14', baselineFrom: 'product id', rule: 'baseline' });
    expect(r.bands['B02']?.offset).toBe(0);
  });

  it('sentinel-2-c1-l2a items: no flag, declared -0.1, consistent', () => {
    const items = features(
      'stac/earth-search-v1/rustac_sentinel-2-c1-l2a/item_collection_sentinel-2-c1-l2a_13TDE_2024-03-31_to_04-22_10items.json',
    );
    expect(items).toHaveLength(10);
    for (const i of items) {
      const r = rule(i);
      expect(r).toMatchObject({ offsetApplied: null, baseline: '05.10', rule: 'declared', level: 'L2A' });
      expect(offsets(r)).toEqual({ blue: -0.1, red: -0.1 });
    }
  });

  it('the same 2025 scenes as c1-l2a (-0.1, no flag) and l2a (flag true: 0) and l1c (-0.1)', () => {
    const page = features('stac/earth-search-v1/search_cql2_cloudcover_lte40_page1.json');
    const byProduct = new Map<string, Record<string, ItemRadiometry>>();
    for (const i of page.filter((x) => x.collection?.startsWith('sentinel-2'))) {
      const uri = String(i.properties['s2:product_uri'])
        .replace(/MSIL1C|MSIL2A/, 'MSI')
        .slice(0, 44);
      const entry = byProduct.get(uri) ?? {};
      entry[i.collection as string] = rule(i);
      byProduct.set(uri, entry);
    }
    const pairs = [...byProduct.values()].filter((e) => e['sentinel-2-c1-l2a'] && e['sentinel-2-l2a']);
    expect(pairs.length).toBeGreaterThanOrEqual(2);
    for (const e of pairs) {
      expect(e['sentinel-2-c1-l2a']).toMatchObject({ rule: 'declared', offsetApplied: null });
      expect(offsets(e['sentinel-2-c1-l2a'] as ItemRadiometry)).toEqual({ blue: -0.1, red: -0.1 });
      expect(e['sentinel-2-l2a']).toMatchObject({ rule: 'flag-applied', offsetApplied: true });
      expect(offsets(e['sentinel-2-l2a'] as ItemRadiometry)).toEqual({ blue: 0, red: 0 });
      if (e['sentinel-2-l1c']) {
        expect(e['sentinel-2-l1c']).toMatchObject({ level: 'L1C', rule: 'declared' });
        expect(offsets(e['sentinel-2-l1c'])).toEqual({ blue: -0.1, red: -0.1 });
      }
    }
  });

  it('the 2020 32TMT scene as processed (02.14, 0) and reprocessed (05.00, flag true): both 0', () => {
    const dir = 'stac/earth-search-v1/xcube-stac_sentinel-2-l2a_paging_seq0-seq1';
    const first = rule(item(`${dir}/item_S2A_32TMT_20200305_0_L2A.json`));
    const again = rule(item(`${dir}/item_S2A_32TMT_20200305_1_L2A.json`));
    expect(first).toMatchObject({ baseline: '02.14', rule: 'declared' });
    expect(again).toMatchObject({ baseline: '05.00', rule: 'flag-applied' });
    expect(offsets(first)).toEqual(offsets(again));
  });

  it('CDSE (raster:scale/raster:offset on the asset, processing:version): declared -0.1', () => {
    for (const name of [
      'item_S2A_MSIL2A_20241107T113311_N0511_R080_T32VKR_20241107T123948.json',
      'item_S2A_MSIL2A_20200301T090901_N0500_R050_T35UPU_20230630T033416.json',
    ]) {
      const i = item(`stac/cdse-stac/${name}`);
      // normalizeItem refuses these items (proj:code only per asset), so the parts are used directly.
      const assets = Object.fromEntries(Object.entries(i.assets).map(([k, a]) => [k, productAsset(a, null)]));
      expect(assets['B02_10m']).toMatchObject({ scale: 0.0001, offset: -0.1, nodata: 0, dataType: 'uint16' });
      const r = metadataRadiometry({ id: i.id, radiometry: itemFacts(i), assets }, [
        'B02_10m',
        'B8A_20m',
        'SCL_20m',
        'AOT_10m',
      ]);
      expect(r).toMatchObject({ baselineFrom: 'processing:version', rule: 'declared', level: 'L2A' });
      expect(Number(r.baseline)).toBeGreaterThanOrEqual(5);
      // CDSE declares AOT with scale 0.0001 and offset -0.1 too (Earth Search: 0.001, 0). Not a
      // reflectance band: no rule applies, what it declares is what is written.
      expect(offsets(r)).toEqual({ B02_10m: -0.1, B8A_20m: -0.1, SCL_20m: 0, AOT_10m: -0.1 });
      expect(r.bands['AOT_10m']).toMatchObject({ reflectance: false, rule: 'declared' });
    }
  });

  it('Planetary Computer (02.12, no raster:bands): the baseline rule, 0', () => {
    for (const i of features(
      'stac/planetary-computer/search_items_sentinel-2-l2a_35MNM_2020-06_07_13items.geojson',
    )) {
      const r = rule(i, ['B02', 'B04']);
      expect(r).toMatchObject({ baseline: '02.12', rule: 'baseline' });
      expect(offsets(r)).toEqual({ B02: 0, B04: 0 });
      expect(r.darkPercent).not.toBeNull();
    }
  });
});

describe.skipIf(!haveFixtures)('the offset rule on real items edited on purpose', () => {
  const v1 = () => item(`${PAIRS}/v1_sentinel-2-l2a/S2A_33UWP_20220405_0_L2A.json`);

  it('EDITED v1 2022 item, flag set to false (baseline 04.00): the pixels hold the +1000, -0.1', () => {
    const i = v1();
    i.properties['earthsearch:boa_offset_applied'] = false;
    const r = rule(i);
    expect(r.rule).toBe('flag-baseline');
    expect(offsets(r)).toEqual({ blue: -0.1, red: -0.1 });
  });

  it('EDITED v1 2022 item, flag false and raster:bands offset 0: -0.1 all the same (the flag rule)', () => {
    const i = v1();
    i.properties['earthsearch:boa_offset_applied'] = false;
    for (const k of ['blue', 'red']) raster(i, k).offset = 0;
    expect(offsets(rule(i))).toEqual({ blue: -0.1, red: -0.1 });
  });

  it('EDITED v1 2022 item, flag and every offset removed: the baseline rule, -0.1', () => {
    const i = v1();
    delete i.properties['earthsearch:boa_offset_applied'];
    for (const k of ['blue', 'red']) delete raster(i, k).offset;
    const r = rule(i);
    expect(r.rule).toBe('baseline');
    expect(offsets(r)).toEqual({ blue: -0.1, red: -0.1 });
  });

  it('EDITED v1 2022 item, flag and baseline property removed: the baseline is read from s2:product_uri', () => {
    const i = v1();
    delete i.properties['earthsearch:boa_offset_applied'];
    delete i.properties['s2:processing_baseline'];
    expect(itemFacts(i)).toMatchObject({ baseline: '04.00', baselineFrom: 'product id' });
    // raster:bands still declares -0.1: the declared rule.
    expect(rule(i).rule).toBe('declared');
  });

  it('EDITED 2020 item (29RKH), flag false but raster:bands -0.1 (baseline 02.14): what it declares', () => {
    const i = item(RKH);
    for (const k of ['blue', 'red']) raster(i, k).offset = -0.1;
    expect(rule(i)).toMatchObject({ rule: 'declared', offsetApplied: false });
    expect(offsets(rule(i))).toEqual({ blue: -0.1, red: -0.1 });
  });

  it('EDITED Planetary Computer item, baseline 04.00 and no scale declared: -1000 DN at scale 1', () => {
    const i = firstOf('stac/planetary-computer/search_items_sentinel-2-l2a_35MNM_2020-06_07_13items.geojson');
    i.properties['s2:processing_baseline'] = '04.00';
    const r = rule(i, ['B02']);
    expect(r.bands['B02']).toMatchObject({ rule: 'baseline', scale: 1, offset: -1000, declaredScale: null });
  });

  it('EDITED Earth Search L1C item, offset removed (baseline 05.10): RADIO_ADD_OFFSET by the baseline, -0.1', () => {
    const i = firstOf('stac/earth-search-v1/search_sentinel-2-l1c_limit1_eodag.json');
    for (const k of ['blue', 'red']) delete raster(i, k).offset;
    const r = rule(i);
    expect(r).toMatchObject({ level: 'L1C', rule: 'baseline' });
    expect(offsets(r)).toEqual({ blue: -0.1, red: -0.1 });
  });
});

describe('the offset rule on minimal items (no fixture)', () => {
  const minimal = (properties: Record<string, unknown>, offset: number | null = null) =>
    metadataRadiometry(
      {
        id: 'x',
        radiometry: itemFacts({ id: 'x', properties }),
        assets: { blue: { scale: 0.0001, offset } },
      },
      ['blue'],
    );

  it('nothing declared, nothing known: 0 by rule none; a custom catalog keeps what it declares', () => {
    expect(minimal({})).toMatchObject({ rule: 'none', bands: { blue: { offset: 0 } } });
    expect(minimal({}, -0.2)).toMatchObject({ rule: 'declared', bands: { blue: { offset: -0.2 } } });
  });

  it('the older Earth Search v0 flag, false, baseline 04.00: -0.1', () => {
    const r = minimal({ 'sentinel:boa_offset_applied': false, 'sentinel:processing_baseline': '04.00' });
    expect(r).toMatchObject({ rule: 'flag-baseline', bands: { blue: { offset: -0.1 } } });
  });

  it('parses baselines as written by each catalog', () => {
    expect(parseBaseline('04.00')).toBe('04.00');
    expect(parseBaseline('5.9')).toBe('05.90');
    expect(parseBaseline('N0509')).toBe('05.09');
    expect(parseBaseline(4)).toBe('04.00');
    expect(parseBaseline('baseline')).toBeNull();
    expect(
      itemFacts({ id: 'S2B_OPER', properties: { 'eopf:datastrip_id': 'S2A_OPER_MSI_L2A_DS_2APS_X_N05.11' } }),
    ).toMatchObject({ baseline: '05.11', level: null });
  });
});

describe('the probe verdict', () => {
  it('p1 is a lower order statistic over valid pixels (nodata left out), as numpy would sort', () => {
    const px = Uint16Array.from({ length: 1000 }, (_, i) => (i * 7919) % 3001);
    const sorted = Array.from(px)
      .filter((v) => v !== 0)
      .sort((a, b) => a - b);
    const { p1, valid } = darkPercentile(px, 0);
    expect(valid).toBe(sorted.length);
    expect(p1).toBe(sorted[Math.floor(0.01 * (sorted.length - 1))]);
  });

  it('below 800 DN: no offset; from 1000 with >= 25 % vegetation/water: offset; else unknown', () => {
    expect(judgeProbe(PROBE_NO_OFFSET_BELOW - 1, 500, null).verdict).toBe('no-offset-in-pixels');
    expect(judgeProbe(1010, 5000, 0).verdict).toBe('unknown'); // the 2020 desert scene
    expect(judgeProbe(1253, 5000, PROBE_DARK_PERCENT).verdict).toBe('offset-in-pixels');
    expect(judgeProbe(1253, 5000, PROBE_DARK_PERCENT - 0.1).verdict).toBe('unknown');
    expect(judgeProbe(900, 5000, 90).verdict).toBe('unknown');
    expect(judgeProbe(100, 20, 90)).toMatchObject({
      verdict: 'unknown',
      reason: 'only 20 valid pixels in the overview',
    });
  });
});

describe('pixels against metadata', () => {
  const base = (offsetApplied: boolean) =>
    metadataRadiometry(
      {
        id: 'S2X',
        radiometry: { level: 'L2A', baseline: '05.09', baselineFrom: 's2', offsetApplied, darkPercent: 90 },
        assets: { blue: { scale: 0.0001, offset: -0.1 }, scl: { scale: null, offset: null } },
      },
      ['blue', 'scl'],
    );
  const probe = (verdict: 'offset-in-pixels' | 'no-offset-in-pixels' | 'unknown') => ({
    asset: 'blue',
    width: 10,
    height: 10,
    validPixels: 100,
    p1: verdict === 'offset-in-pixels' ? 1200 : 300,
    verdict,
    reason: 'r',
    bytes: 1,
    requests: 1,
  });

  it('agreement: no warning, offsets as the rule says', () => {
    const r = withProbe('S2X', base(true), probe('no-offset-in-pixels'), 'metadata');
    expect(r).toMatchObject({ warning: null, offsetFrom: 'metadata', probe: { agrees: true } });
    expect(withProbe('S2X', base(true), probe('unknown'), 'probe').probe?.agrees).toBeNull();
  });

  it('disagreement: a warning naming both sides; the metadata kept unless the job trusts the probe', () => {
    const kept = withProbe('S2X', base(false), probe('no-offset-in-pixels'), 'metadata');
    expect(kept.probe?.agrees).toBe(false);
    expect(kept.warning).toMatch(/S2X: the metadata say its pixels hold the \+1000 .*flag-baseline.*do not/);
    expect(kept.bands['blue']?.offset).toBe(-0.1);
    const trusted = withProbe('S2X', base(false), probe('no-offset-in-pixels'), 'probe');
    expect(trusted).toMatchObject({
      offsetFrom: 'probe',
      bands: { blue: { offset: 0, metadataOffset: -0.1 } },
    });
    expect(trusted.bands['scl']?.offset).toBe(0);
    const other = withProbe('S2X', base(true), probe('offset-in-pixels'), 'probe');
    expect(other.bands['blue']).toMatchObject({ offset: -0.1, storedOffset: -0.1, metadataOffset: 0 });
  });
});

describe('harmonization', () => {
  const item = (offset: number, scale = 0.0001) =>
    metadataRadiometry({ id: 'i', assets: { blue: { scale, offset }, scl: { scale: null, offset: null } } }, [
      'blue',
      'scl',
    ]);

  it('brings every date to the lowest offset with whole DN, so value * scale + offset is unchanged', () => {
    const out = harmonize([item(0), item(-0.1), item(0)], ['blue', 'scl']);
    expect(out.map((r) => r.bands['blue']?.added)).toEqual([1000, 0, 1000]);
    expect(perDate(out.map((r) => r.bands['blue']?.storedOffset as number))).toBe(-0.1);
    expect(out.map((r) => r.bands['scl']?.added)).toEqual([0, 0, 0]);
    for (const [t, r] of out.entries()) {
      const b = r.bands['blue'];
      const src = [item(0), item(-0.1), item(0)][t]?.bands['blue'];
      for (const v of [1, 523, 8000]) {
        expect((v + (b?.added ?? 0)) * (b?.scale ?? 0) + (b?.storedOffset ?? 0)).toBeCloseTo(
          v * (src?.scale ?? 0) + (src?.offset ?? 0),
          12,
        );
      }
    }
  });

  it('refuses offsets that differ by a fraction of a DN', () => {
    expect(() => harmonize([item(0), item(-0.10005)], ['blue'])).toThrow(InvalidInputError);
    expect(() => harmonize([item(0), item(-0.10005)], ['blue'])).toThrow(/not a whole number/);
  });

  it('perDate: one number when all dates agree, else the list', () => {
    expect(perDate([-0.1, -0.1])).toBe(-0.1);
    expect(perDate([0, -0.1, 0])).toEqual([0, -0.1, 0]);
  });
});

describe('adding DN to a decoded tile', () => {
  const cog = {
    href: 'http://x/B02.tif',
    width: 3,
    height: 2,
    tileWidth: 4,
    tileHeight: 4,
    tilesAcross: 1,
  } as CogInfo;

  it('adds to valid pixels inside the image only; nodata and the tile padding stay', () => {
    const tile = Uint16Array.from([1, 0, 3, 9, 4, 5, 6, 9, 9, 9, 9, 9, 9, 9, 9, 9]);
    addToTile(cog, 0, tile, 1000, 0, { item: 'i', band: 'blue' });
    expect(Array.from(tile)).toEqual([1001, 0, 1003, 9, 1004, 1005, 1006, 9, 9, 9, 9, 9, 9, 9, 9, 9]);
  });

  it('fails clearly instead of clipping, naming the file, item, band and pixel', () => {
    const tile = new Uint16Array(16).fill(100);
    tile[5] = 64600;
    expect(() => addToTile(cog, 0, tile, 1000, 0, { item: 'S2X', band: 'blue' })).toThrow(RasterFormatError);
    expect(() => addToTile(cog, 0, tile, 1000, 0, { item: 'S2X', band: 'blue' })).toThrow(
      /blue of S2X holds 64600 at pixel \(1, 1\) of http:\/\/x\/B02.tif; adding 1000 gives 65600, past the maximum 65535/,
    );
    const nodata = new Uint16Array(16).fill(100);
    nodata[0] = 64535;
    expect(() => addToTile(cog, 0, nodata, 1000, 65535, { item: 'S2X', band: 'blue' })).toThrow(
      /its nodata value/,
    );
  });
});
