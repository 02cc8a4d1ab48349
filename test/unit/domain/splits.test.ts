import { describe, expect, it } from 'vitest';
import { hashUnit, splitOf } from '../../../shared/domain/splits.ts';

describe('splits', () => {
  const f = { train: 0.8, validate: 0.1, test: 0.1, seed: 1 };
  it('is deterministic and depends on the seed', () => {
    expect(splitOf(f, 'region-a')).toBe(splitOf(f, 'region-a'));
    const a = Array.from({ length: 50 }, (_, i) => hashUnit(1, `k${i}`));
    const b = Array.from({ length: 50 }, (_, i) => hashUnit(2, `k${i}`));
    expect(a).not.toEqual(b);
  });
  it('follows the fractions over many keys', () => {
    const counts = { train: 0, validate: 0, test: 0 };
    for (let i = 0; i < 20000; i++) counts[splitOf(f, `key-${i}`)]++;
    expect(counts.train / 20000).toBeCloseTo(0.8, 1);
    expect(counts.validate / 20000).toBeCloseTo(0.1, 1);
    expect(counts.test / 20000).toBeCloseTo(0.1, 1);
  });
  it('never assigns a split with a zero fraction', () => {
    const g = { train: 1, validate: 0, test: 0, seed: 0 };
    for (let i = 0; i < 1000; i++) expect(splitOf(g, `k${i}`)).toBe('train');
  });
});
