import { describe, expect, it } from 'vitest';
import {
  blockOf,
  blockWindows,
  hashUnit,
  type Split,
  splitBufferRejects,
  splitOf,
} from '../../../shared/domain/splits.ts';

describe('splits', () => {
  const f = { train: 0.8, validation: 0.1, test: 0.1, seed: 1 };
  it('is deterministic and depends on the seed', () => {
    expect(splitOf(f, 'region-a')).toBe(splitOf(f, 'region-a'));
    const a = Array.from({ length: 50 }, (_, i) => hashUnit(1, `k${i}`));
    const b = Array.from({ length: 50 }, (_, i) => hashUnit(2, `k${i}`));
    expect(a).not.toEqual(b);
  });
  it('follows the fractions over many keys', () => {
    const counts = { train: 0, validation: 0, test: 0 };
    for (let i = 0; i < 20000; i++) counts[splitOf(f, `key-${i}`)]++;
    expect(counts.train / 20000).toBeCloseTo(0.8, 1);
    expect(counts.validation / 20000).toBeCloseTo(0.1, 1);
    expect(counts.test / 20000).toBeCloseTo(0.1, 1);
  });
  it('never assigns a split with a zero fraction', () => {
    const g = { train: 1, validation: 0, test: 0, seed: 0 };
    for (let i = 0; i < 1000; i++) expect(splitOf(g, `k${i}`)).toBe('train');
  });
});

describe('spatial blocks and the buffer between splits', () => {
  it('makes blocks of whole windows, at least one', () => {
    expect(blockWindows(2400, 24, 10)).toBe(10);
    expect(blockWindows(100, 24, 10)).toBe(1);
    expect(blockOf({ row: 19, col: 20 }, 10)).toEqual({ row: 1, col: 2 });
  });

  /** Two blocks side by side: columns 0-2 train, 3-5 test, on rows 0-1. */
  const twoBlocks = Array.from({ length: 12 }, (_, i) => ({
    row: Math.floor(i / 6),
    col: i % 6,
    split: (i % 6 < 3 ? 'train' : 'test') as Split,
  }));

  it('rejects nothing when windows do not overlap and there is no buffer', () => {
    expect(splitBufferRejects(twoBlocks, { windowSize: 24, stride: 24 }, 0).size).toBe(0);
  });

  it('rejects the windows on both sides that share pixels when stride < size', () => {
    // 24 px windows every 12 px: column 2 overlaps column 3 (and 4? no: 2 strides = 24 px, touching).
    const rejected = splitBufferRejects(twoBlocks, { windowSize: 24, stride: 12 }, 0);
    expect([...rejected].sort()).toEqual(['0:2', '0:3', '1:2', '1:3']);
  });

  it('rejects windows nearer than the buffer to another split (gap measured along the grid)', () => {
    // Windows 24 px apart edge to edge at k = 2 strides with stride 24: gap 24 px.
    const grid = { windowSize: 24, stride: 24 };
    expect([...splitBufferRejects(twoBlocks, grid, 1)].sort()).toEqual(['0:2', '0:3', '1:2', '1:3']);
    // A 30 px buffer also catches the windows two columns away (gap 24 px < 30).
    expect([...splitBufferRejects(twoBlocks, grid, 30)].sort()).toEqual(
      ['0:1', '0:2', '0:3', '0:4', '1:1', '1:2', '1:3', '1:4'].sort(),
    );
  });

  it('leaves no pair of kept windows of different splits that overlap or are nearer than the buffer', () => {
    const windows = Array.from({ length: 1600 }, (_, i) => {
      const row = Math.floor(i / 40);
      const col = i % 40;
      const b = blockOf({ row, col }, 10);
      return {
        row,
        col,
        split: splitOf({ train: 0.6, validation: 0.2, test: 0.2, seed: 5 }, `b${b.row}-${b.col}`),
      };
    });
    const grid = { windowSize: 24, stride: 12 };
    const buffer = 20;
    const rejected = splitBufferRejects(windows, grid, buffer);
    const kept = windows.filter((w) => !rejected.has(`${w.row}:${w.col}`));
    for (const a of kept) {
      for (const b of kept) {
        if (a.split === b.split) continue;
        // Axis gaps between the two windows' pixel ranges (negative: overlap).
        const gx = Math.abs(a.col - b.col) * grid.stride - grid.windowSize;
        const gy = Math.abs(a.row - b.row) * grid.stride - grid.windowSize;
        expect(Math.max(gx, gy), `${a.row}:${a.col} vs ${b.row}:${b.col}`).toBeGreaterThanOrEqual(buffer);
      }
    }
    expect(kept.length).toBeGreaterThan(500);
  });
});
