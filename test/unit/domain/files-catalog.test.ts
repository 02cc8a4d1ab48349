import { describe, expect, it } from 'vitest';
import { normalizeItem } from '../../../shared/domain/catalog.ts';
import type { CogInfo } from '../../../shared/domain/cog-types.ts';
import { InvalidInputError } from '../../../shared/domain/errors.ts';
import { type FileFacts, itemsFromFiles, parseTiffDatetime } from '../../../shared/domain/files-catalog.ts';

const cog = (over: Partial<CogInfo> = {}): CogInfo => ({
  href: 'file:///data/a.tif',
  width: 900,
  height: 900,
  tileWidth: 900,
  tileHeight: 4,
  tilesAcross: 1,
  tilesDown: 225,
  originX: 733_601,
  originY: 3_725_139,
  resX: 0.5,
  resY: 0.5,
  epsg: 32616,
  bitsPerSample: 16,
  sampleFormat: 'uint',
  compression: 1,
  predictor: 1,
  nodata: 0,
  tileOffsets: [],
  tileByteCounts: [],
  ...over,
});

const facts = (index: number, href: string, over: Partial<FileFacts> = {}, info: Partial<CogInfo> = {}) => ({
  index,
  href,
  info: cog({ href, ...info }),
  bands: 1,
  tiffDatetime: null,
  ...over,
});

describe('parseTiffDatetime', () => {
  it('reads "YYYY:MM:DD HH:MM:SS" as UTC and refuses anything else', () => {
    expect(parseTiffDatetime('2009:12:22 16:39:07')).toBe('2009-12-22T16:39:07.000Z');
    expect(parseTiffDatetime('2009:12:22 16:39:07 ')).toBe('2009-12-22T16:39:07.000Z');
    expect(parseTiffDatetime('2009-12-22 16:39:07')).toBeNull();
    expect(parseTiffDatetime('2023:02:30 00:00:00')).toBeNull();
    expect(parseTiffDatetime('2023:01:01 24:00:00')).toBeNull();
  });
});

describe('itemsFromFiles', () => {
  it('pan + 8-band multispectral on one extent at one time: one item, one tile, bands by file and index', () => {
    const ms = facts(
      1,
      'file:///data/ms.tif',
      { bands: 8, tiffDatetime: '2009:12:22 16:39:07' },
      { width: 225, height: 225, resX: 2, resY: 2 },
    );
    const pan = facts(0, 'file:///data/Pan_Image.tif', { tiffDatetime: '2009:12:22 16:39:07' });
    const items = itemsFromFiles([{ path: 'Pan_Image.tif', bands: ['pan'] }, 'ms.tif'], [pan, ms], undefined);
    expect(items).toHaveLength(1);
    const item = items[0]!;
    expect(Object.keys(item.assets)).toEqual(['pan', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7', 'b8']);
    const product = normalizeItem(item, null, 'files');
    expect(product).toMatchObject({ tile: 'panimage', epsg: 32616, datetime: '2009-12-22T16:39:07.000Z' });
    expect(product.assets['b3']).toMatchObject({ href: 'file:///data/ms.tif', band: 3 });
    expect(product.assets['pan']).toMatchObject({ href: 'file:///data/Pan_Image.tif', band: 1 });
    // The footprint is the grid's outline in lon/lat (Atlanta).
    const ring = (product.footprint as GeoJSON.Polygon).coordinates[0]!;
    for (const [lon, lat] of ring) {
      expect(lon).toBeGreaterThan(-84.49);
      expect(lon).toBeLessThan(-84.47);
      expect(lat).toBeGreaterThan(33.63);
      expect(lat).toBeLessThan(33.65);
    }
  });

  it('two dates of one grid are two items of one tile; another extent is another tile', () => {
    const a = facts(0, 'file:///d/s1_2017.tif', { tiffDatetime: '2017:03:09 05:43:56' });
    const b = facts(1, 'file:///d/s1_2015.tif', { tiffDatetime: '2015:03:09 17:30:17' });
    const c = facts(2, 'file:///d/far.tif', { tiffDatetime: '2015:03:09 17:30:17' }, { originX: 800_000 });
    const items = itemsFromFiles(['a', 'b', 'c'], [a, b, c], undefined);
    expect(items.map((i) => [i.properties['grid:code'], i.properties.datetime])).toEqual([
      ['s12017', '2017-03-09T05:43:56.000Z'],
      ['s12017', '2015-03-09T17:30:17.000Z'],
      ['far', '2015-03-09T17:30:17.000Z'],
    ]);
  });

  it('the job date wins over the tag; a file date over the job date', () => {
    const a = facts(0, 'file:///d/a.tif', { tiffDatetime: '2009:12:22 16:39:07' });
    expect(itemsFromFiles(['a'], [a], '2010-01-01')[0]?.properties.datetime).toBe('2010-01-01T00:00:00.000Z');
    expect(
      itemsFromFiles([{ path: 'a', datetime: '2011-05-05T10:00:00Z' }], [a], '2010-01-01')[0]?.properties
        .datetime,
    ).toBe('2011-05-05T10:00:00.000Z');
  });

  it('refuses, naming the file and pointer: no date, no EPSG, more band names than bands, a name twice', () => {
    const fail = (run: () => unknown, message: RegExp, pointer: string) => {
      try {
        run();
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidInputError);
        expect((error as Error).message).toMatch(message);
        expect((error as InvalidInputError).context['pointer']).toBe(pointer);
        return;
      }
      throw new Error('expected a refusal');
    };
    const a = facts(0, 'file:///d/a.tif');
    fail(() => itemsFromFiles(['a'], [a], undefined), /a\.tif has no acquisition time/, '/catalog/files/0');
    fail(
      () => itemsFromFiles(['a'], [facts(0, 'file:///d/a.tif', { tiffDatetime: 'yesterday' })], undefined),
      /TIFFTAG_DATETIME "yesterday" is not "YYYY:MM:DD HH:MM:SS"/,
      '/catalog/files/0',
    );
    fail(
      () => itemsFromFiles(['a'], [facts(0, 'file:///d/a.tif', {}, { epsg: null })], '2020-01-01'),
      /a\.tif declares no EPSG code/,
      '/catalog/files/0',
    );
    fail(
      () => itemsFromFiles(['a'], [facts(0, 'file:///d/a.tif', {}, { epsg: 999_999 })], '2020-01-01'),
      /a\.tif: unknown CRS: EPSG:999999/,
      '/catalog/files/0',
    );
    fail(
      () => itemsFromFiles([{ path: 'a', bands: ['x', 'y'] }], [a], '2020-01-01'),
      /a\.tif has 1 band\(s\), but \/catalog\/files\/0\/bands names 2/,
      '/catalog/files/0/bands',
    );
    fail(
      () => itemsFromFiles(['a', 'b'], [a, facts(1, 'file:///d/b.tif')], '2020-01-01'),
      /band name "b1" is given twice .* by file:\/\/\/d\/a\.tif and file:\/\/\/d\/b\.tif/,
      '/catalog/files/1/bands',
    );
  });
});
