import { describe, expect, it } from 'vitest';
import { bandGroups, bandMeta, checkBandTypes } from '../../../shared/domain/band-groups.ts';
import { InvalidInputError } from '../../../shared/domain/errors.ts';
import { cogOf } from '../../helpers/tile-plan.ts';

const asset = { href: 'x', scale: 0.0001, offset: -0.1, nodata: 0, dataType: 'uint16' };

describe('band metadata and groups', () => {
  it("takes nodata from the asset, the header's when the asset has none (scale/offset are per date)", () => {
    expect(bandMeta('red', cogOf(10, { nodata: 7 }), asset)).toEqual({
      name: 'red',
      resolution: 10,
      nodata: 0,
      dataType: 'uint16',
    });
    expect(bandMeta('red', cogOf(10, { nodata: 7 }), { ...asset, nodata: null })).toMatchObject({
      nodata: 7,
    });
    expect(bandMeta('red', cogOf(10, { nodata: 7 }), undefined)).toMatchObject({ nodata: 7 });
  });

  it('groups by native resolution, finest first, bands in the job order within a group', () => {
    const res: Record<string, number> = { coastal: 60, red: 10, swir16: 20, blue: 10, rededge1: 20 };
    const bands = Object.entries(res).map(([name, r]) => bandMeta(name, cogOf(r), asset));
    expect(bandGroups(bands)).toEqual([
      { name: '10m', resolution: 10, bands: ['red', 'blue'] },
      { name: '20m', resolution: 20, bands: ['swir16', 'rededge1'] },
      { name: '60m', resolution: 60, bands: ['coastal'] },
    ]);
    expect(bandGroups([bandMeta('b', cogOf(0.5), asset)])[0]?.name).toBe('0p5m');
  });

  it('refuses bands that are not uint8/uint16, naming the file', () => {
    const float = bandMeta('vv', cogOf(10, { sampleFormat: 'float', bitsPerSample: 32 }), asset);
    expect(() => checkBandTypes([float], () => 's3://b/vv.tif')).toThrow(InvalidInputError);
    expect(() => checkBandTypes([float], () => 's3://b/vv.tif')).toThrow(/band vv is float32/);
  });
});
