// The STAC builders: a Collection and Items with the required STAC fields (checked with the shapes
// in test/helpers/stac-shape.ts), the footprint computed by PROJ's inverse, and fields the manifest
// does not have left out rather than invented.
import { describe, expect, it } from 'vitest';
import { rectToWgs84Bbox, toWgs84 } from '../../../shared/domain/crs.ts';
import {
  datasetCollection,
  foldExtent,
  type SampleRecord,
  sampleIndex,
  sampleItem,
} from '../../../shared/domain/stac.ts';
import { sampleManifest } from '../../helpers/manifest-sample.ts';
import { LabelSummariesShape, StacCollectionShape, StacItemShape } from '../../helpers/stac-shape.ts';

const bounds: [number, number, number, number] = [501440, 4999280, 501680, 4999520];
const record = (key: string, split: SampleRecord['split'], shard: string, dx = 0): SampleRecord => {
  const b: [number, number, number, number] = [bounds[0] + dx, bounds[1], bounds[2] + dx, bounds[3]];
  return {
    key,
    shard,
    split,
    json: {
      epsg: 32633,
      tile: '33twl',
      bounds: b,
      boundsWgs84: rectToWgs84Bbox(32633, b).map((x) => Math.round(x * 1e7) / 1e7),
      transform: [b[0], 10, 0, b[3], 0, -10],
      dates: ['2023-06-13T10:00:00.000Z', '2023-05-04T10:00:00.000Z'],
      items: ['A', 'B'],
    },
  };
};

describe('sampleItem', () => {
  const m = sampleManifest();
  const item = sampleItem(
    m,
    record('33twl_0002_0006', 'validation', 'validation/crops-validation-000000.tar'),
  );

  it('is a STAC Item with the sample key, split, dates, and its shard as asset', () => {
    const parsed = StacItemShape.parse(item);
    expect(parsed.id).toBe('33twl_0002_0006');
    expect(parsed.collection).toBe('crops');
    expect(parsed.properties['ml-aoi:split']).toBe('validate');
    expect(parsed.properties.start_datetime).toBe('2023-05-04T10:00:00.000Z');
    expect(parsed.properties.end_datetime).toBe('2023-06-13T10:00:00.000Z');
    expect(parsed.properties['proj:code']).toBe('EPSG:32633');
    expect(parsed.assets.shard?.href).toBe('./validation/crops-validation-000000.tar');
  });

  it('has the four corners of the window in WGS84 as geometry, inside its bbox', () => {
    const geometry = item.geometry as GeoJSON.Polygon;
    const ring = geometry.coordinates[0] as number[][];
    const sw = toWgs84(32633, [bounds[0], bounds[1]]);
    expect(ring[0]?.[0]).toBeCloseTo(sw[0], 6);
    expect(ring[0]?.[1]).toBeCloseTo(sw[1], 6);
    const [w, s, e, n] = item.bbox as number[];
    for (const [lon, lat] of ring as [number, number][]) {
      expect(lon).toBeGreaterThanOrEqual(w as number);
      expect(lon).toBeLessThanOrEqual(e as number);
      expect(lat).toBeGreaterThanOrEqual(s as number);
      expect(lat).toBeLessThanOrEqual(n as number);
    }
  });

  it('splits a footprint across the antimeridian into two polygons', () => {
    const r: SampleRecord = {
      key: 'k',
      shard: 'train/a.tar',
      split: 'train',
      json: { boundsWgs84: [179.9, -17, -179.9, -16.9], dates: ['2023-01-01T00:00:00Z'] },
    };
    const it2 = StacItemShape.parse(sampleItem(m, r));
    expect(it2.geometry.type).toBe('MultiPolygon');
  });

  it('writes one line per record', () => {
    const text = sampleIndex(m, [
      record('a', 'train', 'train/crops-train-000000.tar'),
      record('b', 'train', 'train/crops-train-000000.tar', 240),
    ]);
    expect(
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).id),
    ).toEqual(['a', 'b']);
  });
});

describe('foldExtent', () => {
  it('folds records into one that gives datasetCollection the same extent, folded in any grouping', () => {
    const m = sampleManifest();
    const records = [
      record('a', 'train', 's0', 0),
      record('b', 'train', 's0', 2400),
      record('c', 'test', 's1', -7200),
      { ...record('d', 'test', 's1', 1200), json: { dates: ['2022-12-01T10:00:00.000Z'] } },
      { ...record('e', 'test', 's1', 99_000), json: { boundsWgs84: [179.9, -1, -179.9, 1] } },
    ];
    const extentOf = (rs: readonly SampleRecord[]) =>
      (datasetCollection(m, rs) as { extent: unknown }).extent as Record<string, unknown>;
    const whole = extentOf(records);
    // Folded all at once, and folded as a stream shard by shard (the running fold plus the next).
    expect(extentOf(foldExtent(records))).toEqual(whole);
    let running: SampleRecord[] = [];
    for (const group of [records.slice(0, 2), records.slice(2, 3), records.slice(3)])
      running = foldExtent([...running, ...group]);
    expect(running).toHaveLength(1);
    expect(extentOf(running)).toEqual(whole);
    // The antimeridian record widens the box to the whole longitude range; the odd date comes first.
    expect(whole).toMatchObject({
      spatial: { bbox: [[-180, expect.any(Number), 180, expect.any(Number)]] },
      temporal: { interval: [['2022-12-01T10:00:00.000Z', '2023-06-13T10:00:00.000Z']] },
    });
    expect(foldExtent([])).toEqual([]);
  });
});

describe('datasetCollection', () => {
  it('is a STAC Collection with extent, bands, classes and splits', () => {
    const m = sampleManifest();
    const records = [
      record('a', 'train', 'train/crops-train-000000.tar'),
      record('b', 'train', 'train/crops-train-000000.tar', 2400),
    ];
    const c = StacCollectionShape.parse(datasetCollection(m, records));
    const [w, s, e, n] = c.extent.spatial.bbox[0] as number[];
    const first = records[0]?.json.boundsWgs84 as number[];
    const second = records[1]?.json.boundsWgs84 as number[];
    expect(w).toBe(first[0]);
    expect(e).toBe(second[2]);
    expect(s).toBeLessThan(n as number);
    expect(c.extent.temporal.interval[0]).toEqual(['2023-05-04T10:00:00.000Z', '2023-06-13T10:00:00.000Z']);
    // Common names only where the eo vocabulary has the name; no wavelength is invented.
    expect(c.summaries['eo:bands']).toEqual([{ name: 'blue', common_name: 'blue' }, { name: 'rededge1' }]);
    expect(c.summaries.bands[0]).toMatchObject({
      name: 'blue',
      'raster:scale': 0.0001,
      'raster:offset': -0.1,
      nodata: 0,
    });
    expect(c.summaries.bands[1]).not.toHaveProperty('raster:scale');
    expect(c.summaries['ml-aoi:split']).toEqual(['train', 'validate']);
    const labels = LabelSummariesShape.parse(c.summaries);
    expect(labels['label:classes'][0]?.classes).toEqual([0, 1, 2]);
    expect(labels['classification:classes'].map((x) => [x.value, x.name])).toEqual([
      [0, 'background'],
      [1, 'winter_wheat'],
      [2, 'maize'],
    ]);
    expect(Object.values(c.assets ?? {}).filter((a) => a.roles?.includes('data'))).toHaveLength(3);
    expect(c.links.find((l) => l.rel === 'items')?.href).toBe('./items.ndjson');
  });

  it('takes band wavelengths, class names and colours when the manifest has them', () => {
    const m = sampleManifest();
    const band = m.bands[0]?.bands[0] as unknown as Record<string, unknown>;
    Object.assign(band, {
      commonName: 'blue',
      bandId: 'B02',
      centerWavelength: 0.49,
      fullWidthHalfMax: 0.098,
    });
    Object.assign(m.classes?.table[0] as object, { name: 'Winter wheat', color: '#ffcc00' });
    const c = datasetCollection(m, []);
    const summaries = c.summaries as Record<string, unknown[]>;
    expect(summaries['eo:bands']?.[0]).toEqual({
      name: 'blue',
      description: 'B02',
      common_name: 'blue',
      center_wavelength: 0.49,
      full_width_half_max: 0.098,
    });
    expect(summaries['classification:classes']?.[1]).toMatchObject({
      value: 1,
      name: 'Winter_wheat',
      color_hint: 'FFCC00',
    });
  });

  it('without labels has no label fields, and a dataset with no sample falls back to the period', () => {
    const m = sampleManifest({ classes: null });
    const c = StacCollectionShape.parse(datasetCollection(m, []));
    expect(c.summaries).not.toHaveProperty('label:classes');
    expect(c.extent.temporal.interval[0]).toEqual(['2023-05-01T00:00:00Z', '2023-07-31T23:59:59Z']);
  });
});
