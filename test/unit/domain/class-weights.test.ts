import { describe, expect, it } from 'vitest';
import { classWeights } from '../../../shared/domain/class-weights.ts';

describe('classWeights', () => {
  it('inverse frequency N / (K n_c) and median frequency median(f) / f_c, null where a class has no pixel', () => {
    // 100 label pixels per sample; ids 0 (background), 1, 2, and 3 never seen in train.
    const w = classWeights(
      [
        { id: 0, pixels: 600, samples: 10 },
        { id: 1, pixels: 300, samples: 5 },
        { id: 2, pixels: 100, samples: 2 },
        { id: 3, pixels: 0, samples: 0 },
      ],
      100,
    );
    expect(w.ids).toEqual([0, 1, 2, 3]);
    expect(w.pixels).toEqual([600, 300, 100, 0]);
    expect(w.inverseFrequency).toEqual([1000 / 1800, 1000 / 900, 1000 / 300, null]);
    // f = 600/1000, 300/500, 100/200 = 0.6, 0.6, 0.5; median 0.6.
    expect(w.medianFrequency).toEqual([1, 1, 0.6 / 0.5, null]);
    // The pixel-weighted mean of the inverse-frequency weights is 1.
    const weighted = w.inverseFrequency.reduce(
      (s: number, x, i) => s + (x ?? 0) * (w.pixels[i] as number),
      0,
    );
    expect(weighted / 1000).toBeCloseTo(1, 12);
  });

  it('an even number of classes takes the mean of the middle two frequencies', () => {
    const w = classWeights(
      [
        { id: 0, pixels: 80, samples: 1 },
        { id: 5, pixels: 20, samples: 1 },
      ],
      100,
    );
    expect(w.medianFrequency).toEqual([0.5 / 0.8, 0.5 / 0.2]);
  });

  it('no train pixels at all: every weight is null', () => {
    const w = classWeights([{ id: 0, pixels: 0, samples: 0 }], 64);
    expect(w).toEqual({ ids: [0], pixels: [0], inverseFrequency: [null], medianFrequency: [null] });
  });
});
