import { describe, expect, it } from 'vitest';
import { buildClassTable, classIdLookup } from '../../../../shared/domain/labels/classes.ts';
import { labelGrid } from '../../../../shared/steps/plan-windows.ts';

describe('class table', () => {
  it('keeps integer crop codes as ids, sorted', () => {
    expect(buildClassTable([310, 200, 310, 422], 0)).toEqual([
      { id: 200, value: 200 },
      { id: 310, value: 310 },
      { id: 422, value: 422 },
    ]);
  });

  it('numbers names 1..n in sorted order, skipping the background id', () => {
    expect(buildClassTable(['wheat', 'maize', 'meadow'], 2)).toEqual([
      { id: 1, value: 'maize' },
      { id: 3, value: 'meadow' },
      { id: 4, value: 'wheat' },
    ]);
  });

  it('renumbers codes that collide with the background or do not fit uint16', () => {
    expect(buildClassTable([0, 5], 0).map((c) => c.id)).toEqual([1, 2]);
    expect(buildClassTable([70_000, 5], 0)).toEqual([
      { id: 1, value: 5 },
      { id: 2, value: 70_000 },
    ]);
  });

  it('keeps 7 and "7" apart in lookups', () => {
    const table = buildClassTable([7, '7'], 0);
    const lookup = classIdLookup(table);
    expect(lookup(7)).not.toBe(lookup('7'));
    expect(lookup('absent')).toBeUndefined();
  });
});

describe('label grid', () => {
  it('is the finest pixel or 1/k of it', () => {
    expect(labelGrid(10, 24, undefined)).toEqual({ resolution: 10, size: 24 });
    expect(labelGrid(10, 24, 2.5)).toEqual({ resolution: 2.5, size: 96 });
    expect(labelGrid(120, 8, 30)).toEqual({ resolution: 30, size: 32 });
  });

  it('names the field when the resolution does not divide the pixel', () => {
    expect(() => labelGrid(10, 24, 3)).toThrow(
      /labels.resolution 3 m must be the finest band's pixel \(10 m\) divided by a whole number/,
    );
    expect(() => labelGrid(10, 24, 20)).toThrow(/labels.resolution/);
  });
});
