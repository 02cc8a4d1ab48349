import { describe, expect, it } from 'vitest';
import { windowBounds, windowTransform } from '../../../shared/domain/grid.ts';
import { decodeNpy } from '../../../shared/domain/npy.ts';
import { buildSample, dayOfYear, sampleMetadata } from '../../../shared/domain/sample.ts';
import { allocateWindowArrays, type WindowArrays } from '../../../shared/domain/window-arrays.ts';
import { judgeWindow } from '../../../shared/domain/window-verdict.ts';
import { tilePlanOf } from '../../helpers/tile-plan.ts';

const w = { row: 2, col: 3, split: 'validation' as const };

describe('the geotransform of a window', () => {
  it('starts at the window top-left corner (not a pixel centre), north up, on the finest grid', () => {
    const grid = tilePlanOf(1).grid;
    // Window (2, 3): 3 strides of 6 px east and 2 down from (500000, 5000000) at 10 m.
    expect(windowTransform(grid, w)).toEqual([500_180, 10, 0, 4_999_880, 0, -10]);
    const [x0, y0, x1, y1] = windowBounds(grid, w);
    expect([x0, y1, x1 - x0, y1 - y0]).toEqual([500_180, 4_999_880, 60, 60]);
  });
});

describe('dayOfYear', () => {
  it('counts from 1 January = 1, in UTC, leap years included', () => {
    expect(dayOfYear('2023-01-01T23:59:59Z')).toBe(1);
    expect(dayOfYear('2024-12-31T00:00:00Z')).toBe(366);
    expect(dayOfYear('2023-03-01T00:30:00+01:00')).toBe(59);
  });
});

describe('a sample', () => {
  function fixture() {
    const tp = tilePlanOf(2);
    const [wa] = allocateWindowArrays(tp, 1) as [WindowArrays];
    (wa.groups.get('10m') as Uint16Array).forEach((_, i, a) => {
      a[i] = 1000 + i;
    });
    (wa.groups.get('20m') as Uint16Array).fill(7);
    (wa.scl as Uint8Array).fill(4);
    return { tp, wa, v: judgeWindow(tp, wa, { cloudyClasses: [9], maxCloudyFraction: 0.5 }) };
  }

  it('describes where, when and how to read it, keys in a fixed order', () => {
    const { tp, wa, v } = fixture();
    const meta = sampleMetadata('crops', tp, w, wa, v, null);
    expect(Object.keys(meta)).toEqual([
      'id',
      'dataset',
      'split',
      'tile',
      'epsg',
      'row',
      'col',
      'transform',
      'bounds',
      'boundsWgs84',
      'dates',
      'doy',
      'items',
      'groups',
      'bands',
      'validFraction',
      'cloudyFraction',
      'usable',
    ]);
    expect(meta).toMatchObject({
      id: '33twl_0002_0003',
      split: 'validation',
      epsg: 32633,
      transform: [500_180, 10, 0, 4_999_880, 0, -10],
      dates: ['2023-07-01T10:00:00Z', '2023-07-02T10:00:00Z'],
      doy: [182, 183],
      groups: {
        '10m': { bands: ['blue', 'red'], resolution: 10, shape: [2, 2, 6, 6] },
        '20m': { bands: ['swir16'], resolution: 20, shape: [2, 1, 3, 3] },
      },
      bands: { swir16: { scale: 0.0001, offset: -0.1, nodata: 0, resolution: 20 } },
      validFraction: [1, 1],
      cloudyFraction: [0, 0],
      usable: [true, true],
    });
    // UTM 33N at x 500180 is near 15° E; the box is 60 m wide.
    const [lon0, , lon1] = meta['boundsWgs84'] as number[];
    expect(lon0).toBeGreaterThan(14.99);
    expect((lon1 as number) - (lon0 as number)).toBeCloseTo(60 / 78_700, 4);
  });

  it('holds the json, each group as [T, C, h, w] uint16 and SCL [T, h, w] uint8, in that order', async () => {
    const { tp, wa, v } = fixture();
    const sample = buildSample('crops', tp, w, wa, v, {
      members: [{ name: 'labels.npy', data: new Uint8Array([1]) }],
      meta: { classes: [1] },
    });
    expect(sample.key).toBe('33twl_0002_0003');
    expect(sample.members.map((m) => m.name)).toEqual([
      'json',
      '10m.npy',
      '20m.npy',
      'scl.npy',
      'labels.npy',
    ]);
    const cube = decodeNpy(sample.members[1]?.data as Uint8Array);
    expect(cube.shape).toEqual([2, 2, 6, 6]);
    expect(cube.dtype).toBe('<u2');
    expect(Array.from((cube.data as Uint16Array).slice(0, 3))).toEqual([1000, 1001, 1002]);
    expect(decodeNpy(sample.members[3]?.data as Uint8Array).shape).toEqual([2, 3, 3]);
    const meta = JSON.parse(new TextDecoder().decode(sample.members[0]?.data));
    expect(meta.labels).toEqual({ classes: [1] });
  });
});

describe('scale and offset per date in a sample', () => {
  it('one number when every date agrees, else one value per date; `added` only when harmonized', () => {
    const tp = tilePlanOf(3);
    const [wa] = allocateWindowArrays(tp, 1) as [WindowArrays];
    const v = judgeWindow(tp, wa, null);
    expect(sampleMetadata('d', tp, w, wa, v, null)['bands']).toMatchObject({
      blue: { scale: 0.0001, offset: -0.1 },
    });
    // The second date's blue holds no +1000 (offset 0), the others do.
    const blue = tp.products[1]?.radiometry.bands['blue'];
    Object.assign(blue ?? {}, { offset: 0, storedOffset: 0 });
    const bands = sampleMetadata('d', tp, w, wa, v, null)['bands'] as Record<string, unknown>;
    expect(bands['blue']).toEqual({ scale: 0.0001, offset: [-0.1, 0, -0.1], nodata: 0, resolution: 10 });
    expect(bands['red']).toEqual({ scale: 0.0001, offset: -0.1, nodata: 0, resolution: 10 });
    Object.assign(blue ?? {}, { added: 1000, storedOffset: -0.1 });
    expect((sampleMetadata('d', tp, w, wa, v, null)['bands'] as Record<string, unknown>)['blue']).toEqual({
      scale: 0.0001,
      offset: -0.1,
      nodata: 0,
      resolution: 10,
      added: [0, 1000, 0],
    });
  });
});
