// Train/validation/test assignment: a seeded hash of a spatial block or of a sample key, so a rerun
// or another machine assigns the same split. Blocks are squares of whole windows on each tile's
// window grid; a window near a block of another split (its pixels, or within the buffer) is rejected
// as `split-buffer`, so no two splits share pixels or neighbours. Split names follow the Hugging Face
// datasets convention (train / validation / test).
import { createHash } from 'node:crypto';

export const SPLITS = ['train', 'validation', 'test'] as const;
export type Split = (typeof SPLITS)[number];

export type SplitFractions = { train: number; validation: number; test: number; seed: number };

/** Uniform number in [0, 1) from a seeded sha256 of the key. */
export function hashUnit(seed: number, key: string): number {
  const digest = createHash('sha256').update(`${seed}:${key}`).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

export function splitOf(fractions: SplitFractions, key: string): Split {
  const u = hashUnit(fractions.seed, key);
  if (u < fractions.train) return 'train';
  if (u < fractions.train + fractions.validation) return 'validation';
  return fractions.test > 0 ? 'test' : fractions.validation > 0 ? 'validation' : 'train';
}

/** The block of a window: squares of `blockWindows` x `blockWindows` window positions. */
export function blockOf(w: { row: number; col: number }, blockWindows: number): { row: number; col: number } {
  return { row: Math.floor(w.row / blockWindows), col: Math.floor(w.col / blockWindows) };
}

/** Window positions per block side for a block of `blockSize` metres (at least one window). */
export function blockWindows(blockSize: number, stridePx: number, res: number): number {
  return Math.max(1, Math.round(blockSize / (stridePx * res)));
}

/**
 * The windows to reject so that no two splits share pixels or lie within `bufferPx` of each other
 * (finest-band pixels, along the grid): a window is rejected when a window of another split is that
 * close (their pixel ranges overlap when stride < size, or the gap between them is below the buffer).
 * Windows are compared on the grid, neighbours only, so the cost stays linear in the windows.
 */
export function splitBufferRejects(
  windows: ReadonlyArray<{ row: number; col: number; split: Split }>,
  grid: { windowSize: number; stride: number },
  bufferPx: number,
): Set<string> {
  const at = new Map<string, Split>();
  for (const w of windows) at.set(`${w.row}:${w.col}`, w.split);
  // Windows k positions apart are `k * stride - windowSize` px apart (negative: overlapping).
  const reach = Math.max(0, Math.ceil((grid.windowSize + bufferPx) / grid.stride) - 1);
  const tooClose = (k: number) => k * grid.stride - grid.windowSize < bufferPx;
  const out = new Set<string>();
  for (const w of windows) {
    search: for (let dr = -reach; dr <= reach; dr++) {
      for (let dc = -reach; dc <= reach; dc++) {
        if (dr === 0 && dc === 0) continue;
        // Two windows are apart along the axis with the larger gap.
        const k = Math.max(Math.abs(dr), Math.abs(dc));
        if (!tooClose(k)) continue;
        const other = at.get(`${w.row + dr}:${w.col + dc}`);
        if (other !== undefined && other !== w.split) {
          out.add(`${w.row}:${w.col}`);
          break search;
        }
      }
    }
  }
  return out;
}
