import { describe, expect, it } from 'vitest';
import { allocateWindowArrays, type WindowArrays } from '../../../shared/domain/window-arrays.ts';
import {
  judgeWindow,
  rejectRecord,
  requireLabelledFraction,
  WindowRejectSchema,
} from '../../../shared/domain/window-verdict.ts';
import { tilePlanOf } from '../../helpers/tile-plan.ts';

const clouds = { cloudyClasses: [3, 8, 9, 10], maxCloudyFraction: 0.5 };

/** A window whose 10 m pixels hold `fill` per date (0 = nodata), its SCL `scl` per date. */
function window(fill: number[], scl: number[][]): WindowArrays {
  const tp = tilePlanOf(fill.length);
  const [wa] = allocateWindowArrays(tp, 1) as [WindowArrays];
  const g = wa.groups.get('10m') as Uint16Array;
  const n = 36;
  fill.forEach((v, t) => {
    g.fill(v, t * 2 * n, (t + 1) * 2 * n);
  });
  scl.forEach((classes, t) => {
    for (let i = 0; i < 9; i++) (wa.scl as Uint8Array)[t * 9 + i] = classes[i % classes.length] as number;
  });
  return wa;
}

describe('judgeWindow', () => {
  it('allocates [T, C, h, w] per group at each native resolution, and SCL [T, h, w]', () => {
    const [wa] = allocateWindowArrays(tilePlanOf(3), 1) as [WindowArrays];
    expect(wa.groups.get('10m')).toHaveLength(3 * 2 * 6 * 6);
    expect(wa.groups.get('20m')).toHaveLength(3 * 1 * 3 * 3);
    expect(wa.scl).toHaveLength(3 * 3 * 3);
  });

  it('measures valid and cloudy shares per date and marks the usable dates', () => {
    // Date 1: data, 1 cloudy SCL pixel of 9; date 2: data, 6 of 9 cloudy (over 0.5).
    const wa = window(
      [1200, 900],
      [
        [4, 4, 4, 4, 4, 4, 4, 4, 9],
        [9, 8, 3],
      ],
    );
    const v = judgeWindow(tilePlanOf(2), wa, clouds);
    expect(v.reason).toBeNull();
    expect(v.validFraction).toEqual([1, 1]);
    expect(v.cloudyFraction?.[0]).toBeCloseTo(1 / 9);
    expect(v.cloudyFraction?.[1]).toBe(1);
    expect(v.usable).toEqual([true, false]);
  });

  it('ignores SCL nodata (0) when counting clouds, and counts a date with only SCL nodata as cloudy', () => {
    const wa = window([1200, 1200], [[0, 0, 9], [0]]);
    const v = judgeWindow(tilePlanOf(2), wa, clouds);
    expect(v.cloudyFraction).toEqual([1, 1]);
    expect(v.reason).toBe('too-cloudy');
    expect(v.detail).toEqual({ cloudyFraction: [1, 1], maxCloudyFraction: 0.5 });
  });

  it('rejects a window with no valid pixel on any date as no-valid-pixels', () => {
    const v = judgeWindow(tilePlanOf(2), window([0, 0], [[4], [4]]), clouds);
    expect(v.reason).toBe('no-valid-pixels');
    expect(v.validFraction).toEqual([0, 0]);
  });

  it('counts a pixel valid when any band of the finest group holds data', () => {
    const tp = tilePlanOf(1);
    const [wa] = allocateWindowArrays(tp, 1) as [WindowArrays];
    const g = wa.groups.get('10m') as Uint16Array;
    g.fill(500, 36, 36 + 18); // red only, half the pixels
    expect(judgeWindow(tp, wa, null).validFraction).toEqual([0.5]);
  });

  it('treats every pixel as valid when the band declares no nodata, and ignores SCL without a cloud rule', () => {
    const tp = tilePlanOf(1, { nodata: null });
    const [wa] = allocateWindowArrays(tp, 1) as [WindowArrays];
    const v = judgeWindow(tp, wa, null);
    expect(v).toMatchObject({ reason: null, validFraction: [1], cloudyFraction: null, usable: [true] });
  });

  it('adds the labelled-share rule and writes a reject record with the measurements', () => {
    const tp = tilePlanOf(1);
    const v = judgeWindow(tp, window([1200], [[4]]), clouds);
    requireLabelledFraction(v, 0.2, 0.25);
    expect(v.reason).toBe('too-few-labels');
    const record = rejectRecord('33twl_0001_0002', tp.tile, { row: 1, col: 2, split: 'train' }, v);
    expect(Object.keys(record)).toEqual([
      'key',
      'tile',
      'row',
      'col',
      'split',
      'labelledFraction',
      'minLabelledFraction',
      'reason',
    ]);
    expect(WindowRejectSchema.parse(record)).toEqual(record);
    const kept = judgeWindow(tp, window([1200], [[4]]), clouds);
    requireLabelledFraction(kept, 0.3, 0.25);
    expect(kept.reason).toBeNull();
    expect(() => rejectRecord('k', 't', { row: 0, col: 0, split: 'train' }, kept)).toThrow(
      /was not rejected/,
    );
  });
});
