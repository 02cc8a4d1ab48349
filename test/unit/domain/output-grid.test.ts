// Output grids: web-mercator tiles match the XYZ scheme (slippy-map maths in the test), keys, the
// resampling per asset (categorical SCL always nearest), and an EPSG grid whose origin lies inside
// the AOI is refused with its pointer.
import { describe, expect, it } from 'vitest';
import { windowBounds } from '../../../shared/domain/grid.ts';
import { parseJobSpec } from '../../../shared/domain/job-spec.ts';
import {
  outputGridOf,
  outputKey,
  outputTileGrid,
  regionWindowsFor,
  webMercatorResolution,
} from '../../../shared/domain/output-grid.ts';

const H = 20037508.342789244;

describe('output grids', () => {
  it('web-mercator zoom 13 / 512 px: window (row y, col x) is XYZ tile x/y, keyed <z>_<x>_<y>', () => {
    const spec = { kind: 'webmercator' as const, zoom: 13, tileSize: 512, resampling: 'bilinear' as const };
    const grid = outputTileGrid(spec, '33twl', 24, 24, [0, 0, 1, 1]);
    expect(grid.windowSize).toBe(512);
    expect(grid.res).toBeCloseTo(9.554628535647032, 12);
    expect(webMercatorResolution(0, 256)).toBeCloseTo(156543.03392804097, 8);
    // Tile 13/4453/2936 covers lon 15.6884..15.7324 (x) in the slippy-map scheme.
    const b = windowBounds(grid, { row: 2936, col: 4453 });
    const lonWest = (4453 / 2 ** 13) * 360 - 180;
    expect((b[0] / H) * 180).toBeCloseTo(lonWest, 9);
    const latNorth = (Math.atan(Math.sinh(Math.PI * (1 - (2 * 2936) / 2 ** 13))) * 180) / Math.PI;
    const yNorth = Math.log(Math.tan(Math.PI / 4 + (latNorth * Math.PI) / 360)) * 6378137;
    expect(b[3]).toBeCloseTo(yNorth, 3);
    const output = {
      ...(outputGridOf(spec, ['red', 'scl']) as NonNullable<ReturnType<typeof outputGridOf>>),
      sourceEpsg: 32633,
    };
    expect(outputKey(grid, output, { row: 2936, col: 4453 })).toBe('13_4453_2936');
    expect(output.assetResampling).toEqual({ red: 'bilinear', scl: 'nearest' });
  });

  it('an EPSG grid numbers windows from its origin; an AOI west of or above it is refused', () => {
    const spec = {
      kind: 'crs' as const,
      crs: 'EPSG:3035',
      resolution: 10,
      origin: [4_700_000, 2_500_000] as [number, number],
      resampling: 'cubic' as const,
    };
    const grid = outputTileGrid(spec, '33twl', 64, 64, [4_710_000, 2_480_000, 4_720_000, 2_490_000]);
    expect(grid.epsg).toBe(3035);
    expect(windowBounds(grid, { row: 1, col: 2 })).toEqual([4_701_280, 2_498_720, 4_701_920, 2_499_360]);
    const output = {
      ...(outputGridOf(spec, ['red']) as NonNullable<ReturnType<typeof outputGridOf>>),
      sourceEpsg: 32633,
    };
    expect(outputKey(grid, output, { row: 1, col: 2 })).toBe('epsg3035_0001_0002');
    expect(() => outputTileGrid(spec, 't', 64, 64, [4_690_000, 2_480_000, 4_720_000, 2_490_000])).toThrow(
      /grid\.origin/,
    );
  });

  it('the job spec: utm-tile or absent is the native grid; unknown fields and bad codes are refused', () => {
    const base = {
      name: 'g',
      catalog: { kind: 'static', source: 'items.json' },
      aoi: 'labels',
      period: { start: '2023-01-01', end: '2023-02-01' },
      bands: ['red'],
      windows: { size: 24 },
      output: { uri: 'out' },
    };
    expect(outputGridOf(parseJobSpec(base).grid, ['red'])).toBeUndefined();
    expect(outputGridOf(parseJobSpec({ ...base, grid: { kind: 'utm-tile' } }).grid, ['red'])).toBeUndefined();
    const wm = parseJobSpec({ ...base, grid: { kind: 'webmercator', zoom: 13 } }).grid;
    expect(wm).toEqual({ kind: 'webmercator', zoom: 13, tileSize: 512, resampling: 'bilinear' });
    expect(() => parseJobSpec({ ...base, grid: { kind: 'webmercator', zoom: 13, extra: 1 } })).toThrow(
      /\/grid/,
    );
    expect(() =>
      parseJobSpec({ ...base, grid: { kind: 'crs', crs: '3035', resolution: 10, origin: [0, 0] } }),
    ).toThrow(/\/grid\/crs/);
    expect(() =>
      parseJobSpec({ ...base, grid: { kind: 'webmercator', zoom: 13, resampling: 'lanczos' } }),
    ).toThrow(/\/grid\/resampling/);
  });

  it('regions hold as many windows as the budget allows, 1 to 16 per side', () => {
    expect(regionWindowsFor(512 * 512 * 2 * 5 * 13, 640 * 1024 * 1024)).toBe(4);
    expect(regionWindowsFor(1, 640 * 1024 * 1024)).toBe(16);
    expect(regionWindowsFor(1e12, 640 * 1024 * 1024)).toBe(1);
  });
});
