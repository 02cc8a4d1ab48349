// Contact sheets (`satfactory show`): sample quicklooks on a grid, each with its key under it, on a
// dark background. The layout is fixed so that a sheet's size follows from what it shows:
//   zoom   z = max(1, floor(64 / S)) for frames of S px (small windows are enlarged, nearest)
//   cell   (T·S·z) x (S·z + CAPTION) px for T frames, caption 2·5 px text with 2 px above and below
//   sheet  cols = ceil(sqrt(n)) cells a row, rows = ceil(n / cols); every column as wide as the
//          widest cell or caption, every row as high as the highest; GAP px around every cell.
import type { RgbImage } from './quicklook.ts';

export const GAP = 8;
export const TEXT_SCALE = 2;
/** Glyphs are 3 x 5 cells, one cell between letters. */
export const GLYPH_W = 3;
export const GLYPH_H = 5;
export const CAPTION = GLYPH_H * TEXT_SCALE + 4;
const BACKGROUND = [24, 24, 24] as const;
const INK = [230, 230, 230] as const;

/** The zoom of frames of side S px (at least 64 px on screen). */
export function zoomFor(side: number): number {
  return Math.max(1, Math.floor(64 / side));
}

/** Width in pixels of a caption. */
export function textWidth(text: string): number {
  return text.length === 0 ? 0 : (text.length * (GLYPH_W + 1) - 1) * TEXT_SCALE;
}

// 3 x 5 bitmap font: each glyph five rows of three bits (most significant = left).
const FONT: Record<string, readonly number[]> = {
  '0': [7, 5, 5, 5, 7],
  '1': [2, 6, 2, 2, 7],
  '2': [7, 1, 7, 4, 7],
  '3': [7, 1, 3, 1, 7],
  '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7],
  '6': [7, 4, 7, 5, 7],
  '7': [7, 1, 2, 2, 2],
  '8': [7, 5, 7, 5, 7],
  '9': [7, 5, 7, 1, 7],
  a: [2, 5, 7, 5, 5],
  b: [6, 5, 6, 5, 6],
  c: [3, 4, 4, 4, 3],
  d: [6, 5, 5, 5, 6],
  e: [7, 4, 6, 4, 7],
  f: [7, 4, 6, 4, 4],
  g: [3, 4, 5, 5, 3],
  h: [5, 5, 7, 5, 5],
  i: [7, 2, 2, 2, 7],
  j: [1, 1, 1, 5, 2],
  k: [5, 5, 6, 5, 5],
  l: [4, 4, 4, 4, 7],
  m: [5, 7, 7, 5, 5],
  n: [6, 5, 5, 5, 5],
  o: [2, 5, 5, 5, 2],
  p: [6, 5, 6, 4, 4],
  q: [2, 5, 5, 6, 3],
  r: [6, 5, 6, 5, 5],
  s: [3, 4, 2, 1, 6],
  t: [7, 2, 2, 2, 2],
  u: [5, 5, 5, 5, 7],
  v: [5, 5, 5, 5, 2],
  w: [5, 5, 7, 7, 5],
  x: [5, 5, 2, 5, 5],
  y: [5, 5, 2, 2, 2],
  z: [7, 1, 2, 4, 7],
  _: [0, 0, 0, 0, 7],
  '-': [0, 0, 7, 0, 0],
  '.': [0, 0, 0, 0, 2],
  ':': [0, 2, 0, 2, 0],
  '/': [1, 1, 2, 4, 4],
  ' ': [0, 0, 0, 0, 0],
};
const UNKNOWN = [7, 5, 5, 5, 7];

/** A cell of the sheet: an image (enlarged by its zoom) and the caption under it. */
export type SheetCell = { image: RgbImage; caption: string };

/** The sheet's size for these cells (the layout above), without drawing it. */
export function sheetLayout(cells: readonly SheetCell[]): {
  width: number;
  height: number;
  cols: number;
  rows: number;
  colWidth: number;
  rowHeight: number;
} {
  const n = cells.length;
  const cols = Math.max(1, Math.ceil(Math.sqrt(n)));
  const rows = Math.max(1, Math.ceil(n / cols));
  let colWidth = 0;
  let rowHeight = 0;
  for (const c of cells) {
    const z = zoomFor(c.image.height);
    colWidth = Math.max(colWidth, c.image.width * z, textWidth(c.caption));
    rowHeight = Math.max(rowHeight, c.image.height * z + CAPTION);
  }
  return {
    width: cols * colWidth + (cols + 1) * GAP,
    height: rows * rowHeight + (rows + 1) * GAP,
    cols,
    rows,
    colWidth,
    rowHeight,
  };
}

/** Draws the cells row by row, left to right. */
export function contactSheet(cells: readonly SheetCell[]): RgbImage {
  const L = sheetLayout(cells);
  const data = new Uint8Array(L.width * L.height * 3);
  for (let i = 0; i < L.width * L.height; i++) data.set(BACKGROUND, i * 3);
  cells.forEach((cell, i) => {
    const x0 = GAP + (i % L.cols) * (L.colWidth + GAP);
    const y0 = GAP + Math.floor(i / L.cols) * (L.rowHeight + GAP);
    const z = zoomFor(cell.image.height);
    const { image } = cell;
    for (let y = 0; y < image.height * z; y++) {
      for (let x = 0; x < image.width * z; x++) {
        const from = (Math.floor(y / z) * image.width + Math.floor(x / z)) * 3;
        data.set(image.data.subarray(from, from + 3), ((y0 + y) * L.width + x0 + x) * 3);
      }
    }
    drawText(data, L.width, x0, y0 + image.height * z + 2, cell.caption);
  });
  return { width: L.width, height: L.height, data };
}

function drawText(data: Uint8Array, width: number, x0: number, y0: number, text: string): void {
  [...text.toLowerCase()].forEach((ch, k) => {
    const glyph = FONT[ch] ?? UNKNOWN;
    const gx = x0 + k * (GLYPH_W + 1) * TEXT_SCALE;
    glyph.forEach((bits, row) => {
      for (let col = 0; col < GLYPH_W; col++) {
        if (!((bits >> (GLYPH_W - 1 - col)) & 1)) continue;
        for (let dy = 0; dy < TEXT_SCALE; dy++) {
          for (let dx = 0; dx < TEXT_SCALE; dx++) {
            data.set(INK, ((y0 + row * TEXT_SCALE + dy) * width + gx + col * TEXT_SCALE + dx) * 3);
          }
        }
      }
    });
  });
}
