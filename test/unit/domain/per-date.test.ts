import { describe, expect, it } from 'vitest';
import { effectiveCloudyClasses, parseJobSpec } from '../../../shared/domain/job-spec.ts';
import { dateSlice, dateStamp, perDateKey } from '../../../shared/domain/per-date.ts';
import { windowPositionOfKey } from '../../../shared/domain/reshard.ts';
import { buildSample } from '../../../shared/domain/sample.ts';
import { allocateWindowArrays, type WindowArrays } from '../../../shared/domain/window-arrays.ts';
import { judgeWindow } from '../../../shared/domain/window-verdict.ts';
import { tilePlanOf } from '../../helpers/tile-plan.ts';

const base = {
  name: 'j',
  catalog: { kind: 'static', source: 'items.json' },
  aoi: 'aoi.geojson',
  period: { start: '2023-01-01', end: '2023-12-31' },
  bands: ['red', 'green', 'blue'],
  windows: { size: 24 },
  output: { uri: 'out' },
};

describe('per-date samples', () => {
  it('keys a date by its UTC day, after the window key; reshard reads the window position back', () => {
    expect(dateStamp('2023-08-15T09:50:31.024000Z')).toBe('20230815');
    // 23:30 at UTC-2 is the next day in UTC.
    expect(dateStamp('2023-08-15T23:30:00-02:00')).toBe('20230816');
    expect(perDateKey('33twl_0003_0012', '2023-08-15T09:50:31Z')).toBe('33twl_0003_0012_20230815');
    expect(windowPositionOfKey('33twl_0003_0012_20230815')).toEqual({ tile: '33twl', row: 3, col: 12 });
    expect(windowPositionOfKey('33twl_0003_0012')).toEqual({ tile: '33twl', row: 3, col: 12 });
  });

  it('slices one date of a window: its product, its pixels, its verdict and a [1, C, H, W] sample', () => {
    const tp = tilePlanOf(3);
    const [wa] = allocateWindowArrays(tp, 1) as [WindowArrays];
    const g10 = wa.groups.get('10m') as Uint16Array;
    for (let t = 0; t < 3; t++) g10.fill(100 + t, t * 72, (t + 1) * 72);
    // Date 2 all cloud (SCL 9), the others clear (4).
    (wa.scl as Uint8Array).fill(4);
    (wa.scl as Uint8Array).fill(9, 9, 18);
    const clouds = { cloudyClasses: [9], maxCloudyFraction: 0.5 };
    const verdicts = [0, 1, 2].map((t) => {
      const d = dateSlice(tp, wa, t);
      expect(d.tp.products).toEqual([tp.products[t]]);
      expect([...new Set(d.wa.groups.get('10m'))]).toEqual([100 + t]);
      return judgeWindow(d.tp, d.wa, clouds);
    });
    expect(verdicts.map((v) => v.reason)).toEqual([null, 'too-cloudy', null]);
    expect(verdicts.map((v) => v.cloudyFraction)).toEqual([[0], [1], [0]]);
    const d = dateSlice(tp, wa, 2);
    const w = tp.products[2]?.datetime as string;
    const key = perDateKey('33twl_0000_0000', w);
    const sample = buildSample(
      'ds',
      d.tp,
      { row: 0, col: 0, split: 'train' },
      d.wa,
      verdicts[2] as never,
      null,
      null,
      key,
    );
    expect(sample.key).toBe(key);
    const meta = JSON.parse(Buffer.from(sample.members[0]?.data as Uint8Array).toString());
    expect(meta).toMatchObject({
      id: key,
      window: '33twl_0000_0000',
      dates: [w],
      items: [tp.products[2]?.id],
    });
    expect(meta.groups['10m'].shape).toEqual([1, 2, 6, 6]);
  });

  it('counts snow (SCL 11) as cloudy in per-date mode unless the job says not; never by default in series', () => {
    const job = (extra: Record<string, unknown>) => parseJobSpec({ ...base, ...extra });
    const clouds = { mask: 'scl', maxCloudyFraction: 0.1 };
    expect(effectiveCloudyClasses(job({ clouds }))).toEqual([3, 8, 9, 10]);
    expect(effectiveCloudyClasses(job({ clouds, samples: 'per-date' }))).toEqual([3, 8, 9, 10, 11]);
    expect(
      effectiveCloudyClasses(job({ clouds: { ...clouds, snowIsCloudy: false }, samples: 'per-date' })),
    ).toEqual([3, 8, 9, 10]);
    expect(effectiveCloudyClasses(job({ clouds: { ...clouds, snowIsCloudy: true } }))).toEqual([
      3, 8, 9, 10, 11,
    ]);
    expect(effectiveCloudyClasses(job({ samples: 'per-date' }))).toEqual([]);
  });

  it('refuses quicklooks on a job without red, green or blue, naming the field and the bands', () => {
    expect(() =>
      parseJobSpec({ ...base, bands: ['red', 'nir'], output: { uri: 'o', quicklooks: true } }, 'job.json'),
    ).toThrow(
      /job\.json is invalid:\n {2}\/output\/quicklooks: quicklooks are true colour from the bands red, green and blue; this job does not read green, blue \(its bands: red, nir\)/,
    );
    expect(parseJobSpec({ ...base, output: { uri: 'o', quicklooks: true } }).output.quicklooks).toBe(true);
  });
});
