// The WebAssembly SIMD kernel for predictor 2 (uint16, one sample per pixel) against a plain
// modular running sum; undoHorizontalPredictor's own oracle test covers every type through it too.
import { describe, expect, it } from 'vitest';
import { undoRowsU16Simd } from '../../../shared/domain/predictor-simd.ts';
import { noise } from '../../helpers/tiff-builder.ts';

function runningSums(a: Uint16Array, rowLength: number, height: number): number[] {
  const out = Array.from(a);
  for (let r = 0; r < height; r++) {
    for (let i = r * rowLength + 1; i < (r + 1) * rowLength; i++) {
      out[i] = ((out[i] as number) + (out[i - 1] as number)) % 65_536;
    }
  }
  return out;
}

describe('undoRowsU16Simd', () => {
  it('runs on this Node (WebAssembly SIMD) for rows of whole 8-sample vectors, and declines others', () => {
    expect(undoRowsU16Simd(new Uint16Array(16), 8, 2)).toBe(true);
    for (const rowLength of [1, 4, 12, 257])
      expect(undoRowsU16Simd(new Uint16Array(rowLength), rowLength, 1)).toBe(false);
    expect(undoRowsU16Simd(new Uint16Array(0), 8, 0)).toBe(false);
  });

  it('matches the running sum for tile sizes that grow and shrink its memory, at any byte offset', () => {
    let seed = 3;
    for (const [rowLength, height] of [
      [256, 256],
      [8, 1],
      [1024, 1024],
      [512, 3],
      [16, 5],
    ] as const) {
      for (const offset of [0, 2, 6]) {
        const n = rowLength * height;
        const a = new Uint16Array(new ArrayBuffer(offset + n * 2 + 4), offset, n);
        noise(a, seed++, 65_536);
        // Neighbours of the view must stay as they are.
        const whole = new Uint8Array(a.buffer);
        const around = [...whole.subarray(0, offset), ...whole.subarray(offset + n * 2)];
        const expected = runningSums(a, rowLength, height);
        expect(undoRowsU16Simd(a, rowLength, height)).toBe(true);
        expect(Array.from(a), `${rowLength}x${height} at +${offset}`).toEqual(expected);
        expect([...whole.subarray(0, offset), ...whole.subarray(offset + n * 2)]).toEqual(around);
      }
    }
  });
});
