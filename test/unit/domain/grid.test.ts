import { describe, expect, it } from 'vitest';
import type { CogInfo } from '../../../shared/domain/cog-types.ts';
import { InvalidInputError } from '../../../shared/domain/errors.ts';
import {
  buildTileGrid,
  regionOf,
  windowBounds,
  windowKey,
  windowRectInBand,
  windowsIntersecting,
} from '../../../shared/domain/grid.ts';

/** A Sentinel-2-like COG header: full tile 109.8 km, origin (600000, 5100000). */
function cog(res: number, tile: number, extra: Partial<CogInfo> = {}): CogInfo {
  const size = Math.round(109800 / res);
  const across = Math.ceil(size / tile);
  return {
    href: `mem://${res}`,
    width: size,
    height: size,
    tileWidth: tile,
    tileHeight: tile,
    tilesAcross: across,
    tilesDown: across,
    originX: 600000,
    originY: 5100000,
    resX: res,
    resY: res,
    epsg: 32633,
    bitsPerSample: 16,
    sampleFormat: 'uint',
    compression: 8,
    predictor: 2,
    nodata: 0,
    tileOffsets: [],
    tileByteCounts: [],
    ...extra,
  };
}

const s2 = [
  { name: 'blue', cog: cog(10, 1024) },
  { name: 'rededge1', cog: cog(20, 512) },
  { name: 'coastal', cog: cog(60, 256) },
];

describe('tile grid', () => {
  it('co-registers 10/20/60 m bands: a 24 px window is 24, 12 and 4 px', () => {
    const grid = buildTileGrid({
      tile: '33twl',
      epsg: 32633,
      bands: s2,
      windowSize: 24,
      stride: 24,
      regionTiles: 1,
    });
    expect(grid.res).toBe(10);
    expect(grid.fullCols).toBe(Math.floor((10980 - 24) / 24) + 1);
    // 10980 = 457 x 24 + 12: one more column of windows reaches 12 px past the edge.
    expect(grid.cols).toBe(grid.fullCols + 1);
    const w = { row: 3, col: 5 };
    expect(windowRectInBand(grid, s2[0]!.cog, w)).toEqual({ x: 120, y: 72, width: 24, height: 24 });
    expect(windowRectInBand(grid, s2[1]!.cog, w)).toEqual({ x: 60, y: 36, width: 12, height: 12 });
    expect(windowRectInBand(grid, s2[2]!.cog, w)).toEqual({ x: 20, y: 12, width: 4, height: 4 });
    expect(windowBounds(grid, w)).toEqual([601200, 5099040, 601440, 5099280]);
  });

  it('refuses a window size that cannot co-register, naming the band and the fix', () => {
    const build = () =>
      buildTileGrid({ tile: 't', epsg: 32633, bands: s2, windowSize: 25, stride: 24, regionTiles: 1 });
    expect(build).toThrow(InvalidInputError);
    expect(build).toThrow(/windows.size 25 px at 10 m does not co-register band rededge1 .*multiple of 2/);
    expect(() =>
      buildTileGrid({ tile: 't', epsg: 32633, bands: s2, windowSize: 24, stride: 16, regionTiles: 1 }),
    ).toThrow(/windows.stride 16 .* coastal .*multiple of 6/);
  });

  it('does not assume 10 m: a 120 m scene makes a 120 m grid', () => {
    const bands = [{ name: 'red', cog: cog(120, 256) }];
    const grid = buildTileGrid({ tile: 't', epsg: 32633, bands, windowSize: 24, stride: 12, regionTiles: 1 });
    expect(grid.res).toBe(120);
    expect(grid.fullCols).toBe(Math.floor((915 - 24) / 12) + 1);
    expect(grid.cols).toBe(grid.fullCols + 1);
  });

  it('anchors on the common extent and keeps every band aligned', () => {
    // The 20 m band starts one 20 m pixel further east: windows start there, on a multiple of 2.
    const shifted = [
      { name: 'blue', cog: cog(10, 1024) },
      { name: 'rededge1', cog: cog(20, 512, { originX: 600020 }) },
    ];
    const grid = buildTileGrid({
      tile: 't',
      epsg: 32633,
      bands: shifted,
      windowSize: 24,
      stride: 24,
      regionTiles: 1,
    });
    expect(grid.originX).toBe(600020);
    expect(grid.offsetX).toBe(2);
    expect(windowRectInBand(grid, shifted[1]!.cog, { row: 0, col: 0 }).x).toBe(0);
    expect(() =>
      buildTileGrid({
        tile: 't',
        epsg: 32633,
        bands: [s2[0]!, { name: 'bad', cog: cog(20, 512, { originX: 600005 }) }],
        windowSize: 24,
        stride: 24,
        regionTiles: 1,
      }),
    ).toThrow(/not aligned/);
  });

  it('selects the windows over an area and groups them into COG-aligned regions', () => {
    const grid = buildTileGrid({
      tile: '33twl',
      epsg: 32633,
      bands: s2,
      windowSize: 24,
      stride: 24,
      regionTiles: 1,
    });
    // A 1 km square straddling the first 1024 px tile border (x = 610240).
    const area: GeoJSON.Polygon = {
      type: 'Polygon',
      coordinates: [
        [
          [609800, 5099000],
          [610800, 5099000],
          [610800, 5100000],
          [609800, 5100000],
          [609800, 5099000],
        ],
      ],
    };
    const windows = windowsIntersecting(grid, area, [609800, 5099000, 610800, 5100000]);
    for (const w of windows) {
      const b = windowBounds(grid, w);
      expect(b[2] > 609800 && b[0] < 610800 && b[3] > 5099000 && b[1] < 5100000).toBe(true);
    }
    // 240 m windows: x from 609600 to 610800 → 5 columns; y 5 rows (edge windows touch, not intersect).
    expect(windows).toHaveLength(5 * 5);
    const regions = new Set(windows.map((w) => JSON.stringify(regionOf(grid, w))));
    expect([...regions].sort()).toEqual(['{"row":0,"col":0}', '{"row":0,"col":1}']);
    expect(windowKey('33TWL', { row: 7, col: 12 })).toBe('33twl_0007_0012');
  });
});
