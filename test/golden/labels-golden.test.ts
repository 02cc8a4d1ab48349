// Golden label rasters: labels/<case>.in.json (grid + features, written by hand) rasterized and
// compared byte for byte with labels/<case>.<array>.npy and <case>.out.json. REGEN=1 rewrites them.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { polygonCoverage, signedArea } from '../../shared/domain/labels/coverage.ts';
import { type DenseLabels, rasterizeDense } from '../../shared/domain/labels/dense.ts';
import type { BurnFeature, PixelGrid } from '../../shared/domain/labels/types.ts';
import { encodeNpy } from '../../shared/domain/npy.ts';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'labels');
const regen = process.env['REGEN'] === '1';

type CaseJson = {
  grid: PixelGrid;
  background: number;
  features: { classId: number; instanceId: number; polygons: { rings: [number, number][][] }[] }[];
};
type Case = { grid: PixelGrid; background: number; features: BurnFeature[] };

function loadCase(name: string): Case {
  const raw = JSON.parse(readFileSync(path.join(dir, `${name}.in.json`), 'utf8')) as CaseJson;
  return {
    grid: raw.grid,
    background: raw.background,
    features: raw.features.map((f) => ({
      classId: f.classId,
      instanceId: f.instanceId,
      polygons: f.polygons.map((p) => ({ rings: p.rings.map((ring) => new Float64Array(ring.flat())) })),
    })),
  };
}

const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.in.json'))
  .map((f) => f.slice(0, -'.in.json'.length))
  .sort();

function rasterize(c: Case): DenseLabels {
  return rasterizeDense(c.features, c.grid, c.background);
}

function summary(out: DenseLabels, grid: PixelGrid) {
  const count = (a: Uint8Array, v: number) => a.reduce((n, x) => n + (x === v ? 1 : 0), 0);
  return {
    classArea: Object.fromEntries([...out.classArea].sort((a, b) => a[0] - b[0])),
    double1: count(out.double, 1),
    double2: count(out.double, 2),
    pixels: grid.width * grid.height,
  };
}

describe('golden label rasters', () => {
  it('has the cases the label engine promises', () => {
    expect(cases).toEqual(['border', 'hole', 'multipolygon', 'overlap', 'shared-edge', 'sliver', 'superres']);
  });

  for (const name of cases) {
    it(`${name} matches its golden files`, () => {
      const c = loadCase(name);
      const out = rasterize(c);
      const shape = [c.grid.height, c.grid.width];
      const files: [string, Uint8Array][] = [
        [`${name}.labels.npy`, encodeNpy(out.labels, shape)],
        [`${name}.instances.npy`, encodeNpy(out.instances, shape)],
        [`${name}.coverage.npy`, encodeNpy(out.coverage, shape)],
        [`${name}.double.npy`, encodeNpy(out.double, shape)],
        [`${name}.claimed.npy`, encodeNpy(out.claimed, shape)],
        [`${name}.out.json`, new TextEncoder().encode(`${JSON.stringify(summary(out, c.grid), null, 2)}\n`)],
      ];
      for (const [file, bytes] of files) {
        const target = path.join(dir, file);
        if (regen) writeFileSync(target, bytes);
        expect(existsSync(target), `${file} is missing: run with REGEN=1`).toBe(true);
        expect(Buffer.from(bytes).equals(readFileSync(target)), `${file} differs`).toBe(true);
      }
    });
  }
});

/** Per-feature coverage written into a full-grid array. */
function featureCoverage(f: BurnFeature, grid: PixelGrid): Float64Array {
  const out = new Float64Array(grid.width * grid.height);
  const b = polygonCoverage(f.polygons, grid);
  if (b === null) return out;
  for (let r = 0; r < b.height; r++) {
    for (let col = 0; col < b.width; col++)
      out[(b.row0 + r) * grid.width + b.col0 + col] = b.fractions[r * b.width + col]!;
  }
  return out;
}

function featureArea(f: BurnFeature): number {
  let area = 0;
  for (const p of f.polygons) {
    p.rings.forEach((ring, i) => {
      area += (i === 0 ? 1 : -1) * Math.abs(signedArea(ring));
    });
  }
  return area;
}

describe('label rasters: properties of the golden cases', () => {
  it('hole: the hole is background and the area excludes it', () => {
    const c = loadCase('hole');
    const out = rasterize(c);
    // Hole centred at (+115, -125) m: pixel (11, 12).
    expect(out.labels[12 * 24 + 11]).toBe(0);
    expect(out.classArea.get(3)! * 100).toBeCloseTo(featureArea(c.features[0]!), 6);
  });

  it('multipolygon and sliver: every part is burned and the area is exact', () => {
    for (const name of ['multipolygon', 'sliver']) {
      const c = loadCase(name);
      const f = c.features[0]!;
      expect(rasterize(c).classArea.get(f.classId)! * 100).toBeCloseTo(featureArea(f), 6);
    }
    const sliver = rasterize(loadCase('sliver'));
    // Thinner than a pixel: claimed but never fully covered.
    expect(Math.max(...sliver.coverage)).toBeLessThan(0.5);
    expect(sliver.labels.filter((v) => v === 2).length).toBeGreaterThan(22);
  });

  it('shared edge: coverages of the two sides sum to 1 and those pixels are marked 1', () => {
    const c = loadCase('shared-edge');
    const out = rasterize(c);
    const a = featureCoverage(c.features[0]!, c.grid);
    const b = featureCoverage(c.features[1]!, c.grid);
    let shared = 0;
    for (let p = 0; p < a.length; p++) {
      if (a[p]! > 0 && b[p]! > 0) {
        shared++;
        expect(a[p]! + b[p]!).toBeCloseTo(1, 12);
        expect(out.double[p]).toBe(1);
      } else {
        expect(out.double[p]).toBe(0);
      }
    }
    expect(shared).toBeGreaterThanOrEqual(23);
  });

  it('overlap: pixels fully covered by one polygon and claimed by another are marked 2', () => {
    const out = rasterize(loadCase('overlap'));
    expect(out.double.filter((v) => v === 2).length).toBeGreaterThan(10);
    expect(out.double.filter((v) => v === 1).length).toBeGreaterThan(0);
  });

  it('border: adjacent windows and a bigger grid give the same values as the window', () => {
    const c = loadCase('border');
    const whole = rasterize(c);
    const g = c.grid;
    const check = (part: PixelGrid, dc: number, dr: number) => {
      const out = rasterizeDense(c.features, part, c.background);
      for (let r = 0; r < part.height; r++) {
        for (let col = 0; col < part.width; col++) {
          const gr = r + dr;
          const gc = col + dc;
          if (gr < 0 || gc < 0 || gr >= g.height || gc >= g.width) continue;
          const p = gr * g.width + gc;
          const q = r * part.width + col;
          expect([out.labels[q], out.instances[q], out.double[q]]).toEqual([
            whole.labels[p],
            whole.instances[p],
            whole.double[p],
          ]);
          expect(Math.abs(out.coverage[q]! - whole.coverage[p]!)).toBeLessThan(1e-6);
        }
      }
    };
    // Four 12x12 tiles.
    for (const [dc, dr] of [
      [0, 0],
      [12, 0],
      [0, 12],
      [12, 12],
    ] as const) {
      check(
        {
          ...g,
          originX: g.originX + dc * g.pixelSize,
          originY: g.originY - dr * g.pixelSize,
          width: 12,
          height: 12,
        },
        dc,
        dr,
      );
    }
    // A bigger grid holding the whole polygon: the window's values do not depend on the clipping.
    check({ ...g, originX: g.originX - 200, originY: g.originY + 100, width: 60, height: 60 }, -20, -10);
  });

  it('super-resolution: the 2.5 m grid has the same class areas as the 10 m grid', () => {
    const c = loadCase('superres');
    const fine = rasterize(c);
    const coarse = rasterizeDense(
      c.features,
      { ...c.grid, pixelSize: 10, width: 24, height: 24 },
      c.background,
    );
    for (const f of c.features) {
      const fineArea = fine.classArea.get(f.classId)! * 2.5 * 2.5;
      expect(fineArea).toBeCloseTo(coarse.classArea.get(f.classId)! * 100, 6);
      expect(fineArea).toBeCloseTo(featureArea(f), 6);
    }
    // Finer pixels: a smaller share of them is doubly claimed (DeepSatData Fig. 2).
    const share = (o: DenseLabels) => o.double.filter((v) => v > 0).length / o.double.length;
    expect(share(fine)).toBeLessThanOrEqual(share(coarse));
  });
});
