// The label spatial index against brute force on random boxes, and the chunk codec's exact round trip.
import { describe, expect, it } from 'vitest';
import type { Bounds } from '../../../../shared/domain/crs.ts';
import {
  decodeLabelChunk,
  encodeLabelChunk,
  LabelIndex,
  reprojectFeatures,
} from '../../../../shared/domain/labels/index.ts';
import type { LabelFeature } from '../../../../shared/domain/labels/types.ts';

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomFeatures(n: number, rand: () => number): LabelFeature[] {
  return Array.from({ length: n }, (_, i) => {
    const x = 500000 + rand() * 10000;
    const y = 5000000 + rand() * 10000;
    const w = 1 + rand() * 300;
    const h = 1 + rand() * 300;
    const outer = Float64Array.of(x, y, x + w, y, x + w, y + h, x, y + h);
    const hole = Float64Array.of(x + w / 4, y + h / 4, x + w / 4, y + h / 2, x + w / 2, y + h / 2);
    return {
      index: n - 1 - i, // not in index order: build must sort
      id: i % 3 === 0 ? null : i % 3 === 1 ? `p-${i}` : i * 10,
      classValue: i % 2 === 0 ? 'winter wheat' : i % 5,
      polygons:
        i % 4 === 0
          ? [{ rings: [outer, hole] }, { rings: [outer.map((v) => v + 0.5)] }]
          : [{ rings: [outer] }],
    };
  });
}

function box(f: LabelFeature): Bounds {
  const b: Bounds = [Infinity, Infinity, -Infinity, -Infinity];
  for (const p of f.polygons)
    for (const r of p.rings)
      for (let i = 0; i < r.length; i += 2) {
        b[0] = Math.min(b[0], r[i] as number);
        b[1] = Math.min(b[1], r[i + 1] as number);
        b[2] = Math.max(b[2], r[i] as number);
        b[3] = Math.max(b[3], r[i + 1] as number);
      }
  return b;
}

describe('LabelIndex', () => {
  const rand = rng(42);
  const features = randomFeatures(500, rand);
  const index = LabelIndex.build(features);

  it('finds exactly the features whose boxes meet the query, sorted by index', () => {
    for (let q = 0; q < 200; q++) {
      const x = 499000 + rand() * 12000;
      const y = 4999000 + rand() * 12000;
      const query: Bounds = [x, y, x + rand() * 2000, y + rand() * 2000];
      const expected = features
        .filter((f) => {
          const b = box(f);
          return b[0] <= query[2] && b[2] >= query[0] && b[1] <= query[3] && b[3] >= query[1];
        })
        .map((f) => f.index)
        .sort((a, b) => a - b);
      expect(index.search(query).map((f) => f.index)).toEqual(expected);
    }
  });

  it('knows the extent of all features, and an empty index finds nothing', () => {
    const all = features.map(box);
    expect(index.bounds()).toEqual([
      Math.min(...all.map((b) => b[0])),
      Math.min(...all.map((b) => b[1])),
      Math.max(...all.map((b) => b[2])),
      Math.max(...all.map((b) => b[3])),
    ]);
    const empty = LabelIndex.build([]);
    expect(empty.search([0, 0, 1e9, 1e9])).toEqual([]);
    expect(empty.bounds()).toBeUndefined();
  });
});

describe('label chunks', () => {
  it('round-trip features exactly: ids, class values, every coordinate bit', () => {
    const features = randomFeatures(50, rng(7));
    features.push({
      index: 999,
      id: 'ünïcode "quoted"',
      classValue: -3.5,
      polygons: [{ rings: [Float64Array.of(0.1, 0.2, 1e-300, -0, 3, 4)] }],
    });
    const decoded = decodeLabelChunk(encodeLabelChunk(features));
    expect(decoded).toEqual(features);
    expect(Object.is(decoded.at(-1)?.polygons[0]?.rings[0]?.[3], -0)).toBe(true);
  });

  it('decode an empty chunk and reject bytes that are not one', () => {
    expect(decodeLabelChunk(encodeLabelChunk([]))).toEqual([]);
    expect(decodeLabelChunk(new Uint8Array())).toEqual([]);
    expect(() => decodeLabelChunk(new TextEncoder().encode('not a chunk at all'))).toThrow(
      /not a label chunk/,
    );
  });

  it('read from an unaligned view of a larger buffer', () => {
    const bytes = encodeLabelChunk(randomFeatures(3, rng(1)));
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    expect(decodeLabelChunk(padded.subarray(3))).toEqual(decodeLabelChunk(bytes));
  });
});

describe('reprojectFeatures', () => {
  it('moves vertices between CRSs and back within a millimetre, keeping ids and classes', () => {
    const features = randomFeatures(20, rng(3));
    const there = reprojectFeatures(features, 32633, 4326);
    const back = reprojectFeatures(there, 4326, 32633);
    expect(there[0]?.polygons[0]?.rings[0]?.[0]).toBeCloseTo(15, 0);
    back.forEach((f, i) => {
      expect(f.id).toBe(features[i]?.id);
      expect(f.classValue).toBe(features[i]?.classValue);
      f.polygons.forEach((p, j) => {
        p.rings.forEach((r, k) => {
          r.forEach((v, m) => {
            expect(Math.abs(v - (features[i]?.polygons[j]?.rings[k]?.[m] as number))).toBeLessThan(1e-3);
          });
        });
      });
    });
  });
});
