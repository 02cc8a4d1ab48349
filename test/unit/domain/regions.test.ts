import { describe, expect, it } from 'vitest';
import { tilesForRect } from '../../../shared/domain/cog-tiles.ts';
import type { CogInfo } from '../../../shared/domain/cog-types.ts';
import { buildTileGrid, regionOf, type TileGrid, windowRectInBand } from '../../../shared/domain/grid.ts';
import { alignedAxis, REGION_BUDGET_BYTES, windowBytesOf } from '../../../shared/domain/regions.ts';

/** A COG header of `size` metres square from (600000, 5100000), shifted by `shift` metres east/south. */
function cog(res: number, tile: number, size = 109_800, shift: [number, number] = [0, 0]): CogInfo {
  const px = Math.round(size / res);
  const across = Math.ceil(px / tile);
  return {
    href: `mem://${res}/${tile}/${shift.join(',')}`,
    width: px,
    height: px,
    tileWidth: tile,
    tileHeight: tile,
    tilesAcross: across,
    tilesDown: across,
    originX: 600_000 + shift[0],
    originY: 5_100_000 - shift[1],
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
  };
}

/** Earth Search's layout, 12 bands + SCL: 10 m in 1024 px tiles, 20 m in 512 (swir16 in 1024), 60 m in 256. */
const EARTH_SEARCH = [
  ...['blue', 'green', 'red', 'nir'].map((name) => ({ name, cog: cog(10, 1024) })),
  ...['rededge1', 'rededge2', 'rededge3', 'nir08', 'swir22'].map((name) => ({ name, cog: cog(20, 512) })),
  { name: 'swir16', cog: cog(20, 1024) },
  ...['coastal', 'nir09'].map((name) => ({ name, cog: cog(60, 256) })),
  { name: 'scl', cog: { ...cog(20, 512), bitsPerSample: 8 as const } },
];

const build = (bands: typeof EARTH_SEARCH, size: number, stride: number, dates: number, extra = {}) =>
  buildTileGrid({
    tile: 't',
    epsg: 32633,
    bands,
    windowSize: size,
    stride,
    windowBytes: windowBytesOf(
      bands.map((b) => b.cog),
      size,
      dates,
    ),
    ...extra,
  });

/**
 * Every (band, tile) pair the planned windows need, with the regions that need it: the oracle of
 * "each tile once" is that no tile has two regions, computed with the same tile arithmetic the
 * region workers use (tilesForRect on each window's rect in each band).
 */
function regionsPerTile(grid: TileGrid, bands: typeof EARTH_SEARCH): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (let row = 0; row < grid.rows; row++) {
    for (let col = 0; col < grid.cols; col++) {
      const r = regionOf(grid, { row, col });
      expect(r.row).toBeGreaterThanOrEqual(0);
      expect(r.col).toBeGreaterThanOrEqual(0);
      for (const b of bands) {
        for (const t of tilesForRect(b.cog, windowRectInBand(grid, b.cog, { row, col }))) {
          const key = `${b.cog.href}#${t}`;
          const set = out.get(key) ?? new Set<string>();
          set.add(`${r.row}:${r.col}`);
          out.set(key, set);
        }
      }
    }
  }
  return out;
}

const shared = (m: Map<string, Set<string>>) => [...m.values()].filter((s) => s.size > 1).length;

describe('region layout (each COG tile read by one region)', () => {
  it('Earth Search layout, 24 px windows: the lcm over every band (6144 px) when few dates fit it', () => {
    const grid = build(EARTH_SEARCH, 24, 24, 1);
    // lcm(24, 1024, 512 x 2, 1024 x 2, 256 x 6) = 6144 px: 256 x 256 windows.
    expect(grid.regionScheme).toBe('aligned');
    expect([grid.regionWidth, grid.regionHeight]).toEqual([6144, 6144]);
    expect([grid.regionAnchorX, grid.regionAnchorY]).toEqual([0, 0]);
  });

  it('6 dates: the lcm over the smallest tiles (3072 px), within the memory budget', () => {
    const grid = build(EARTH_SEARCH, 24, 24, 6);
    expect(grid.regionScheme).toBe('aligned-finest');
    expect(grid.regionWidth).toBe(3072);
    const bytes = windowBytesOf(
      EARTH_SEARCH.map((b) => b.cog),
      24,
      6,
    );
    expect((3072 / 24) ** 2 * bytes).toBeLessThanOrEqual(REGION_BUDGET_BYTES);
    expect((6144 / 24) ** 2 * bytes).toBeGreaterThan(REGION_BUDGET_BYTES);
  });

  it('73 dates: not even 3072 px fit; blocks of one 1024 px tile, as before', () => {
    const grid = build(EARTH_SEARCH, 24, 24, 73);
    expect(grid.regionScheme).toBe('tiles');
    expect([grid.regionWidth, grid.regionHeight, grid.regionAnchorX]).toEqual([1024, 1024, 0]);
  });

  it('windows.regionTiles keeps its meaning: blocks of that many finest-band tiles from the COG origin', () => {
    const grid = build(EARTH_SEARCH, 24, 24, 1, { regionTiles: 2 });
    expect(grid.regionScheme).toBe('fixed');
    expect([grid.regionWidth, grid.regionHeight, grid.regionAnchorX, grid.regionAnchorY]).toEqual([
      2048, 2048, 0, 0,
    ]);
  });

  // Small scenes (12 km) where every window can be checked: sizes, strides, tile sides and band
  // origins that do not line up with each other.
  const cases: Array<{ what: string; bands: typeof EARTH_SEARCH; size: number; stride: number }> = [
    {
      what: '10 m in 64 px, 20 m in 32 and 64 px, 24 px windows',
      bands: [
        { name: 'blue', cog: cog(10, 64, 12_000) },
        { name: 'rededge1', cog: cog(20, 32, 12_000) },
        { name: 'swir16', cog: cog(20, 64, 12_000) },
      ],
      size: 24,
      stride: 24,
    },
    {
      what: '60 m band in 16 px tiles, 18 px windows with a stride of 30 (gaps between windows)',
      bands: [
        { name: 'blue', cog: cog(10, 48, 12_000) },
        { name: 'coastal', cog: cog(60, 16, 12_000) },
      ],
      size: 18,
      stride: 30,
    },
    {
      what: 'a 20 m band whose grid starts 80 m further east and 160 m further south',
      bands: [
        { name: 'blue', cog: cog(10, 48, 12_000) },
        { name: 'rededge1', cog: cog(20, 20, 11_800, [80, 160]) },
      ],
      size: 20,
      stride: 20,
    },
  ];
  for (const c of cases) {
    it(`no window straddles two regions' tiles: ${c.what}`, () => {
      const grid = build(c.bands, c.size, c.stride, 5);
      expect(grid.regionScheme).toBe('aligned');
      const perTile = regionsPerTile(grid, c.bands);
      expect(perTile.size).toBeGreaterThan(100);
      expect(new Set([...perTile.values()].flatMap((s) => [...s])).size).toBeGreaterThanOrEqual(9);
      expect(shared(perTile)).toBe(0);
      // The old layout (one finest tile per region) shares tiles on every region border.
      expect(
        shared(regionsPerTile(build(c.bands, c.size, c.stride, 5, { regionTiles: 1 }), c.bands)),
      ).toBeGreaterThan(0);
    });
  }

  it('overlapping windows straddle every border: regions grow in whole periods up to the budget', () => {
    const bands = [{ name: 'blue', cog: cog(10, 64, 20_000) }];
    const bytes = windowBytesOf(
      bands.map((b) => b.cog),
      24,
      5,
    );
    // A budget of 40 x 40 windows: periods of lcm(12, 64) = 192 px (16 windows) fit twice, not three times.
    const grid = build(bands, 24, 12, 5, { regionBudgetBytes: 1600 * bytes });
    expect(grid.regionScheme).toBe('aligned');
    expect(grid.regionWidth).toBe(384);
    const perTile = regionsPerTile(grid, bands);
    const tilesRead = [...perTile.values()].reduce((n, s) => n + s.size, 0);
    // Only the tiles on region borders are read twice: far fewer than with one tile per region.
    const old = regionsPerTile(build(bands, 24, 12, 5, { regionTiles: 1 }), bands);
    const oldRead = [...old.values()].reduce((n, s) => n + s.size, 0);
    expect(tilesRead / perTile.size).toBeLessThan(1.4);
    expect(oldRead / old.size).toBeGreaterThan(2);
  });

  it('grids whose window and tile borders never meet fall back to tile blocks', () => {
    // Window borders at 10 + 20 j (from the common extent), 40 px tiles at 0 + 40 m: never equal.
    expect(alignedAxis([{ period: 40, phase: 0 }], 20, 10, 10_000)).toBeNull();
    expect(alignedAxis([{ period: 40, phase: 0 }], 20, 20, 10_000)).toEqual({ period: 40, anchor: 0 });
    expect(alignedAxis([{ period: 64, phase: 0 }], 24, 0, 100)).toBeNull();
    // Borders at 8 + 192 m: 200 = 32 + 7 x 24 = 8 + 3 x 64, and one period back, before the first window.
    expect(alignedAxis([{ period: 64, phase: 8 }], 24, 32, 10_000)).toEqual({ period: 192, anchor: 8 });
  });

  it('a band whose tile grid cannot meet the others falls back to blocks of finest tiles', () => {
    // 40 px tiles at phase 0 and, 40 m east, 20 m tiles of 40 px at phase 4: no border in common.
    const bands = [
      { name: 'blue', cog: cog(10, 40, 12_000) },
      { name: 'rededge1', cog: cog(20, 20, 11_800, [40, 20]) },
    ];
    const grid = build(bands, 20, 20, 5, {
      regionBudgetBytes:
        30 *
        30 *
        windowBytesOf(
          bands.map((b) => b.cog),
          20,
          5,
        ),
    });
    expect(grid.regionScheme).toBe('tiles');
    // As many 40 px tiles as 30 x 30 windows allow: 15 tiles (600 px, 30 windows).
    expect(grid.regionWidth).toBe(600);
  });
});
