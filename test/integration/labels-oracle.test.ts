// Exact coverage on real parcels (NL, AT, HR; native CRS) against shapely's
// polygon.intersection(pixel box).area, and the dense class rule against shapely's fractions.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { polygonCoverage } from '../../shared/domain/labels/coverage.ts';
import { rasterizeDense } from '../../shared/domain/labels/dense.ts';
import type { PixelGrid, PolygonRings } from '../../shared/domain/labels/types.ts';
import { gridOver, PARCEL_FILES, readParcels, tightCluster } from '../helpers/parcels.ts';
import { fixturesRoot, PYTHON } from '../helpers/rasterio-reference.ts';
import { requireFixture, requirePython } from '../helpers/requirements.ts';

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../interop/labels_shapely.py');
const labelsDir = path.join(fixturesRoot(), 'labels');
const ready = requireFixture(...PARCEL_FILES.map((f) => `labels/${f}`)) && requirePython(['shapely']);

type Triples = [number, number, number][];

function shapelyCoverage(features: readonly PolygonRings[][], grid: PixelGrid): Triples[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'satfactory-labels-'));
  try {
    const input = path.join(dir, 'in.json');
    const json = features.map((f) => f.map((p) => p.rings.map((r) => Array.from(r))));
    writeFileSync(input, JSON.stringify({ grid, features: json }));
    const run = spawnSync(PYTHON, [script, input], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (run.status !== 0) throw new Error(`shapely reference failed: ${run.stderr}`);
    return JSON.parse(run.stdout) as Triples[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!ready)('exact coverage against shapely on real parcels', () => {
  for (const file of PARCEL_FILES) {
    it(`${file}: fractions within 1e-6, classes by the max-coverage rule`, () => {
      const features = tightCluster(readParcels(path.join(labelsDir, file)), 15);
      const grid = gridOver(features, 10);
      const reference = shapelyCoverage(features, grid);
      const n = grid.width * grid.height;

      // Per polygon: every pixel's fraction, ours vs shapely's (pixels missing on one side count 0).
      let worst = 0;
      let compared = 0;
      features.forEach((f, k) => {
        const ours = new Map<number, number>();
        const block = polygonCoverage(f, grid);
        if (block !== null) {
          for (let r = 0; r < block.height; r++) {
            for (let c = 0; c < block.width; c++) {
              const v = block.fractions[r * block.width + c]!;
              if (v > 0) ours.set((block.row0 + r) * grid.width + block.col0 + c, v);
            }
          }
        }
        const theirs = new Map(reference[k]!.map(([r, c, v]) => [r * grid.width + c, v] as const));
        for (const p of new Set([...ours.keys(), ...theirs.keys()])) {
          worst = Math.max(worst, Math.abs((ours.get(p) ?? 0) - (theirs.get(p) ?? 0)));
          compared++;
        }
      });
      expect(compared).toBeGreaterThan(100);
      console.info(`${file}: ${compared} pixel fractions, max |ours - shapely| = ${worst.toExponential(2)}`);
      expect(worst).toBeLessThanOrEqual(1e-6);

      // Classes: the feature with the largest shapely fraction wins, unless the top two nearly tie.
      const burn = features.map((polygons, k) => ({ classId: 10 + k, instanceId: k + 1, polygons }));
      const dense = rasterizeDense(burn, grid, 0);
      const top = new Float64Array(n);
      const second = new Float64Array(n);
      const winner = new Uint16Array(n);
      reference.forEach((triples, k) => {
        for (const [r, c, v] of triples) {
          const p = r * grid.width + c;
          if (v > top[p]!) {
            second[p] = top[p]!;
            top[p] = v;
            winner[p] = 10 + k;
          } else if (v > second[p]!) second[p] = v;
        }
      });
      let mismatches = 0;
      let decided = 0;
      for (let p = 0; p < n; p++) {
        if (top[p]! - second[p]! < 1e-6 && second[p]! > 0) continue;
        decided++;
        if (dense.labels[p] !== winner[p]) mismatches++;
      }
      expect(decided).toBeGreaterThan(n * 0.9);
      expect(mismatches).toBe(0);
    });
  }
});
