// Histogram statistics equal numpy's on the same values: np.percentile (default "linear" method)
// bit for bit at many percentiles and sizes (ties, one value, two values, the full uint16 range),
// mean and std within 1e-12.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHistogram, percentileOf, summarizeHistogram } from '../../shared/domain/band-stats.ts';
import { encodeNpy } from '../../shared/domain/npy.ts';
import { PYTHON, requirePython } from '../helpers/requirements.ts';

const SCRIPT = path.join(import.meta.dirname, 'band_stats_numpy.py');
const PS = [0, 0.1, 1, 2, 5, 25, 33.3, 50, 66.7, 75, 95, 98, 99, 99.9, 100];

function values(n: number, seed: number, kind: 'uniform' | 'ties' | 'full' | 'skewed'): Uint16Array {
  let x = seed;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
  return new Uint16Array(n).map(() => {
    const u = next();
    if (kind === 'ties') return 500 + Math.floor(u * 4) * 7;
    if (kind === 'full') return Math.floor(u * 65_536);
    if (kind === 'skewed') return Math.floor(200 + 3000 * u ** 6);
    return Math.floor(100 + u * 5000);
  });
}

describe('band statistics against numpy', () => {
  it('percentiles bit for bit, mean and std to 1e-12', (ctx) => {
    if (!requirePython(['numpy'])) return ctx.skip();
    const cases: Uint16Array[] = [Uint16Array.of(7), Uint16Array.of(0, 65_535), Uint16Array.of(3, 3, 9)];
    let seed = 1;
    for (const n of [2, 3, 4, 5, 7, 10, 99, 100, 101, 1000, 12_345, 100_003])
      for (const kind of ['uniform', 'ties', 'full', 'skewed'] as const) cases.push(values(n, seed++, kind));
    const dir = mkdtempSync(path.join(tmpdir(), 'satfactory-stats-numpy-'));
    try {
      const files = cases.map((c, i) => {
        const file = path.join(dir, `${i}.npy`);
        writeFileSync(file, encodeNpy(c, [c.length]));
        return file;
      });
      const run = spawnSync(PYTHON, [SCRIPT, ...files, '--p', PS.join(',')], {
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      });
      expect(run.stderr).toBe('');
      const numpy = JSON.parse(run.stdout) as {
        count: number;
        mean: number;
        std: number;
        min: number;
        max: number;
        percentiles: number[];
      }[];
      let compared = 0;
      cases.forEach((c, i) => {
        const h = createHistogram();
        for (const v of c) h[v]!++;
        const want = numpy[i]!;
        const got = summarizeHistogram(h);
        expect([got.count, got.min, got.max]).toEqual([want.count, want.min, want.max]);
        expect(Math.abs((got.mean as number) - want.mean)).toBeLessThanOrEqual(1e-12 * Math.abs(want.mean));
        expect(Math.abs((got.std as number) - want.std)).toBeLessThanOrEqual(1e-12 * Math.max(want.std, 1));
        const ours = PS.map((p) => percentileOf(h, c.length, p));
        expect(ours, `case ${i} (${c.length} values)`).toEqual(want.percentiles);
        expect([got.p1, got.p2, got.p50, got.p98, got.p99]).toEqual(
          [1, 2, 50, 98, 99].map((p) => ours[PS.indexOf(p)]),
        );
        compared += PS.length;
      });
      expect(compared).toBeGreaterThan(600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
