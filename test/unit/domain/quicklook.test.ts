import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import {
  CAPTION,
  contactSheet,
  GAP,
  sheetLayout,
  textWidth,
  zoomFor,
} from '../../../shared/domain/contact-sheet.ts';
import {
  encodeRgbPng,
  outlineMask,
  quicklookImage,
  quicklookStretch,
  stretchValue,
} from '../../../shared/domain/quicklook.ts';

const summary = (p2: number | null, p98: number | null) => ({
  count: 1,
  mean: 0,
  std: 0,
  min: 0,
  max: 0,
  p1: 0,
  p2,
  p50: 0,
  p98,
  p99: 0,
});

describe('quicklook stretch', () => {
  it('maps p2 to 0 and p98 to 255, linearly, rounded and clipped', () => {
    expect([
      stretchValue(100, 100, 1100),
      stretchValue(1100, 100, 1100),
      stretchValue(600, 100, 1100),
    ]).toEqual([0, 255, 128]);
    expect([stretchValue(50, 100, 1100), stretchValue(5000, 100, 1100)]).toEqual([0, 255]);
    // A flat band: above the value white, else black.
    expect([stretchValue(7, 7, 7), stretchValue(8, 7, 7)]).toEqual([0, 255]);
  });

  it('takes p2/p98 of red, green, blue from the statistics; a band with no train pixel falls back to 0..10000', () => {
    const s = quicklookStretch({ red: summary(10, 20), green: summary(30, 40), blue: summary(null, null) });
    expect(s).toEqual([
      { band: 'red', low: 10, high: 20, from: 'stats-p2-p98' },
      { band: 'green', low: 30, high: 40, from: 'stats-p2-p98' },
      { band: 'blue', low: 0, high: 10000, from: 'fixed' },
    ]);
  });

  it('draws frames side by side, nodata black, a coarser band nearest, the label outline yellow', () => {
    // 2 dates, red/green at 2 x 2 (10 m group), blue at 1 x 1 (20 m group).
    const g10 = {
      shape: [2, 2, 2, 2],
      data: Uint16Array.from([0, 10, 20, 30, 0, 10, 20, 30, 5, 5, 5, 5, 30, 30, 30, 30]),
    };
    const g20 = { shape: [2, 1, 1, 1], data: Uint16Array.from([15, 0]) };
    const stretch = quicklookStretch({ red: summary(0, 30), green: summary(0, 30), blue: summary(0, 30) });
    const image = quicklookImage(
      {
        arrays: { '10m': g10, '20m': g20 },
        groups: { '10m': { bands: ['red', 'green'] }, '20m': { bands: ['blue'] } },
        nodata: { red: 0, green: 0, blue: 0 },
      },
      stretch,
    );
    expect([image.width, image.height]).toEqual([4, 2]);
    const px = (x: number, y: number) => [...image.data.subarray((y * 4 + x) * 3, (y * 4 + x) * 3 + 3)];
    expect(px(0, 0)).toEqual([0, 0, 0]); // red nodata
    expect(px(1, 0)).toEqual([85, 85, 128]);
    expect(px(1, 1)).toEqual([255, 255, 128]);
    expect(px(2, 0)).toEqual([0, 0, 0]); // blue nodata on date 2
    // With labels: a 4 x 4 label grid (k = 2), one class boundary between columns 1 and 2.
    const labels = {
      shape: [4, 4],
      data: Uint16Array.from([1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2]),
    };
    expect([...(outlineMask(labels, 2) as Uint8Array)]).toEqual([1, 0, 1, 0]);
    const outlined = quicklookImage(
      {
        arrays: { '10m': g10, '20m': g20, labels },
        groups: { '10m': { bands: ['red', 'green'] }, '20m': { bands: ['blue'] } },
        nodata: {},
      },
      stretch,
    );
    expect([...outlined.data.subarray(0, 3)]).toEqual([255, 255, 0]);
    expect([...outlined.data.subarray(6, 9)]).toEqual([255, 255, 0]);
    const png = decode(encodeRgbPng(outlined));
    expect([png.width, png.height, png.channels, png.depth]).toEqual([4, 2, 3, 8]);
    expect([...png.data]).toEqual([...outlined.data]);
  });

  it('lays out a contact sheet as the README says', () => {
    const image = { width: 16, height: 8, data: new Uint8Array(16 * 8 * 3) };
    const cells = Array.from({ length: 5 }, (_, i) => ({ image, caption: `k${i}` }));
    expect(zoomFor(8)).toBe(8);
    expect(textWidth('k1')).toBe(14);
    const L = sheetLayout(cells);
    expect(L).toMatchObject({ cols: 3, rows: 2, colWidth: 128, rowHeight: 64 + CAPTION });
    const sheet = contactSheet(cells);
    expect([sheet.width, sheet.height]).toEqual([3 * 128 + 4 * GAP, 2 * (64 + CAPTION) + 3 * GAP]);
  });
});
