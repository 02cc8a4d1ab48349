// A small, valid TilePlan for unit tests of the pure window logic: a 10 m grid with 6 px windows,
// two 10 m bands, one 20 m band and SCL, over `dates` products.
import type { CogInfo } from '../../shared/domain/cog-types.ts';
import { type TilePlan, TilePlanSchema } from '../../shared/domain/plan.ts';
import { metadataRadiometry } from '../../shared/domain/radiometry.ts';

export function cogOf(res: number, fields: Partial<CogInfo> = {}): CogInfo {
  const size = Math.round(600 / res);
  return {
    href: `file:///data/b${res}.tif`,
    width: size,
    height: size,
    tileWidth: size,
    tileHeight: size,
    tilesAcross: 1,
    tilesDown: 1,
    originX: 500_000,
    originY: 5_000_000,
    resX: res,
    resY: res,
    epsg: 32633,
    bitsPerSample: 16,
    sampleFormat: 'uint',
    compression: 8,
    predictor: 2,
    nodata: 0,
    tileOffsets: [1000],
    tileByteCounts: [500],
    ...fields,
  };
}

export function tilePlanOf(dates = 2, options: { scl?: boolean; nodata?: number | null } = {}): TilePlan {
  const scl = options.scl ?? true;
  const nodata = options.nodata === undefined ? 0 : options.nodata;
  const cogs = {
    blue: cogOf(10),
    red: cogOf(10),
    swir16: cogOf(20),
    ...(scl ? { scl: cogOf(20, { bitsPerSample: 8 }) } : {}),
  };
  const declared = Object.fromEntries(
    ['blue', 'swir16', 'red'].map((b) => [b, { scale: 0.0001, offset: -0.1 }]),
  );
  return TilePlanSchema.parse({
    runId: 'r-1',
    tile: '33TWL',
    grid: {
      tile: '33TWL',
      epsg: 32633,
      res: 10,
      originX: 500_000,
      originY: 5_000_000,
      windowSize: 6,
      stride: 6,
      cols: 10,
      rows: 10,
      fullCols: 10,
      fullRows: 10,
      spanX: 60,
      spanY: 60,
      regionWidth: 60,
      regionHeight: 60,
      offsetX: 0,
      offsetY: 0,
    },
    bands: [
      { name: 'blue', resolution: 10, nodata, dataType: 'uint16' },
      { name: 'swir16', resolution: 20, nodata, dataType: 'uint16' },
      { name: 'red', resolution: 10, nodata, dataType: 'uint16' },
    ],
    groups: [
      { name: '10m', resolution: 10, bands: ['blue', 'red'] },
      { name: '20m', resolution: 20, bands: ['swir16'] },
    ],
    scl: scl ? 'scl' : null,
    products: Array.from({ length: dates }, (_, t) => ({
      id: `S2A_33TWL_2023070${t + 1}`,
      collection: 'sentinel-2-l2a',
      datetime: `2023-07-0${t + 1}T10:00:00Z`,
      cogs,
      // Every date declares scale 0.0001 and offset -0.1 (no baseline, no flag: the declared rule).
      radiometry: metadataRadiometry({ id: `S2A_33TWL_2023070${t + 1}`, assets: declared }, [
        'blue',
        'swir16',
        'red',
      ]),
    })),
    labels: null,
  });
}
