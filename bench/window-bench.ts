// Micro-bench of the per-window CPU work of ExtractRegion once pixels are cut: judgeWindow,
// addWindowStats and buildSample, on synthetic windows shaped like the end-to-end scene (24 px at
// 10 m, 3 dates, 4 bands at 10 m, 2 at 20 m, SCL at 20 m; 30 % of windows with a cloud bank, a tenth
// padded past the imagery edge). Best of N, one core: `npx tsx bench/window-bench.ts [windows]`.
import { pathToFileURL } from 'node:url';
import { type TilePlan, TilePlanSchema } from '../shared/domain/plan.ts';
import { buildSample } from '../shared/domain/sample.ts';
import { allocateWindowArrays, type WindowArrays } from '../shared/domain/window-arrays.ts';
import { addWindowStats, createBandHistograms } from '../shared/domain/window-stats.ts';
import { judgeWindow } from '../shared/domain/window-verdict.ts';
import { cogOf, tilePlanOf } from '../test/helpers/tile-plan.ts';

const T = 3;
const B10 = ['blue', 'green', 'red', 'nir'];
const B20 = ['rededge1', 'swir16'];
const CLOUDY = [3, 8, 9, 10];

function plan(): TilePlan {
  const base = tilePlanOf(T, { nodata: 0 });
  const radiometry = Object.values(base.products[0]?.radiometry.bands ?? {})[0];
  const band = (name: string, resolution: number) => ({ name, resolution, nodata: 0, dataType: 'uint16' });
  return TilePlanSchema.parse({
    ...base,
    grid: { ...base.grid, windowSize: 24, stride: 24, cols: 100, rows: 100 },
    bands: [...B10.map((b) => band(b, 10)), ...B20.map((b) => band(b, 20))],
    groups: [
      { name: '10m', resolution: 10, bands: B10 },
      { name: '20m', resolution: 20, bands: B20 },
    ],
    products: base.products.map((p) => ({
      ...p,
      cogs: {
        ...Object.fromEntries(B10.map((b) => [b, cogOf(10)])),
        ...Object.fromEntries(B20.map((b) => [b, cogOf(20)])),
        scl: cogOf(20, { bitsPerSample: 8 }),
      },
      radiometry: {
        ...p.radiometry,
        bands: Object.fromEntries([...B10, ...B20].map((b) => [b, radiometry])),
      },
    })),
  });
}

/** Reflectance-like values, and in 30 % of windows a cloud bank over the top rows of the SCL. */
function fill(arrays: WindowArrays[]): void {
  let s = 7;
  const random = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  for (const wa of arrays) {
    for (const data of wa.groups.values())
      for (let i = 0; i < data.length; i++) data[i] = 300 + random() * 3000;
    const scl = wa.scl as Uint8Array;
    const bank = random() < 0.3 ? Math.floor(random() * 12) : 0;
    for (let i = 0; i < scl.length; i++) scl[i] = Math.floor((i % 144) / 12) < bank ? CLOUDY[i % 4]! : 4;
  }
}

export function runWindowBench(windows = 2000, repeats = 7, print = console.log): Record<string, number> {
  const tp = plan();
  const arrays = allocateWindowArrays(tp, windows);
  fill(arrays);
  const inside = new Uint8Array(24 * 24).map((_, i) => (i % 24 < 17 ? 1 : 0));
  const clouds = { cloudyClasses: CLOUDY, maxCloudyFraction: 1 };
  const best = (fn: () => void) => {
    let min = Number.POSITIVE_INFINITY;
    for (let r = 0; r < repeats; r++) {
      const t = performance.now();
      fn();
      min = Math.min(min, performance.now() - t);
    }
    return min;
  };
  const verdict = judgeWindow(tp, arrays[0] as WindowArrays, clouds);
  const ms = {
    judgeWindow: best(() => {
      for (const wa of arrays) judgeWindow(tp, wa, clouds);
    }),
    addWindowStats: best(() => {
      const h = createBandHistograms(tp);
      arrays.forEach((wa, k) => {
        addWindowStats(tp, wa, h, CLOUDY, k % 10 === 0 ? inside : null);
      });
    }),
    buildSample: best(() => {
      arrays.forEach((wa, k) => {
        const w = { row: Math.floor(k / 100), col: k % 100, split: 'train' as const };
        buildSample('bench', tp, w as Parameters<typeof buildSample>[2], wa, verdict, null);
      });
    }),
  };
  print(
    `per-window CPU work, ${windows} windows of 24 px, ${T} dates, 6 bands + SCL (best of ${repeats}, ms):`,
  );
  for (const [k, v] of Object.entries(ms))
    print(
      `  ${k.padEnd(15)} ${v.toFixed(1).padStart(7)}  (${((v * 1000) / windows).toFixed(1)} µs per window)`,
    );
  return ms;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runWindowBench(Number(process.argv[2] ?? 2000));
}
