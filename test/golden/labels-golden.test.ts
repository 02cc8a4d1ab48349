// Golden label rasters: labels/<case>.in.json (grid + features, written by hand) rasterized and
// compared byte for byte with labels/<case>.<array>.npy and <case>.out.json. REGEN=1 rewrites them.
// A case's `kind` picks the target: dense labels (default), building masks or a multi-label.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  type BuildingMaskOptions,
  type BuildingMasks,
  buildingMasks,
} from '../../shared/domain/labels/buildings.ts';
import { polygonCoverage } from '../../shared/domain/labels/coverage.ts';
import { type DenseLabels, rasterizeDense } from '../../shared/domain/labels/dense.ts';
import { multiLabel } from '../../shared/domain/labels/multilabel.ts';
import { signedArea } from '../../shared/domain/labels/rings.ts';
import type { BurnFeature, PixelGrid } from '../../shared/domain/labels/types.ts';
import { encodeNpy } from '../../shared/domain/npy.ts';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'labels');
const regen = process.env['REGEN'] === '1';

type CaseKind = 'dense' | 'buildings' | 'multilabel';
type CaseJson = {
  kind?: CaseKind;
  grid: PixelGrid;
  background?: number;
  features: { classId: number; instanceId: number; polygons: { rings: [number, number][][] }[] }[];
  /** buildings: the mask options. */
  options?: BuildingMaskOptions;
  /** multilabel: the class table's ids (in order) and the threshold. */
  classIds?: number[];
  minFraction?: number;
};
type Case = { grid: PixelGrid; background: number; features: BurnFeature[] };

function readCase(name: string): CaseJson {
  return JSON.parse(readFileSync(path.join(dir, `${name}.in.json`), 'utf8')) as CaseJson;
}

function loadCase(name: string): Case {
  const raw = readCase(name);
  return {
    grid: raw.grid,
    background: raw.background ?? 0,
    features: raw.features.map((f) => ({
      classId: f.classId,
      instanceId: f.instanceId,
      polygons: f.polygons.map((p) => ({ rings: p.rings.map((ring) => new Float64Array(ring.flat())) })),
    })),
  };
}

const allCases = readdirSync(dir)
  .filter((f) => f.endsWith('.in.json'))
  .map((f) => f.slice(0, -'.in.json'.length))
  .sort();
const cases = allCases.filter((name) => (readCase(name).kind ?? 'dense') === 'dense');

/** Writes (REGEN=1) or compares golden files byte for byte. */
function checkGolden(files: readonly [string, Uint8Array][]): void {
  for (const [file, bytes] of files) {
    const target = path.join(dir, file);
    if (regen) writeFileSync(target, bytes);
    expect(existsSync(target), `${file} is missing: run with REGEN=1`).toBe(true);
    expect(Buffer.from(bytes).equals(readFileSync(target)), `${file} differs`).toBe(true);
  }
}

function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
}

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
    expect(allCases.filter((name) => !cases.includes(name))).toEqual(['buildings', 'multilabel']);
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
        [`${name}.out.json`, jsonBytes(summary(out, c.grid))],
      ];
      checkGolden(files);
    });
  }

  it('buildings matches its golden files (footprint, boundary, contact, distance)', () => {
    const { grid, features } = loadCase('buildings');
    const options = readCase('buildings').options!;
    const out = buildingMasks(features, grid, options);
    const shape = [grid.height, grid.width];
    checkGolden([
      ['buildings.footprint.npy', encodeNpy(out.footprint, shape)],
      ['buildings.boundary.npy', encodeNpy(out.boundary, shape)],
      ['buildings.contact.npy', encodeNpy(out.contact, shape)],
      ['buildings.distance.npy', encodeNpy(out.distance, shape)],
      ['buildings.out.json', jsonBytes(buildingSummary(out))],
    ]);
  });

  it('multilabel matches its golden files', () => {
    checkGolden([['multilabel.out.json', jsonBytes(multiLabelCase().summary)]]);
  });
});

function buildingSummary(out: BuildingMasks) {
  const sum = (a: Uint8Array) => a.reduce((n, x) => n + x, 0);
  return {
    footprint: sum(out.footprint),
    boundary: sum(out.boundary),
    contact: sum(out.contact),
    distanceMin: Math.min(...out.distance),
    distanceMax: Math.max(...out.distance),
  };
}

function multiLabelCase() {
  const raw = readCase('multilabel');
  const c = loadCase('multilabel');
  const dense = rasterize(c);
  const pixels = c.grid.width * c.grid.height;
  const classIds = raw.classIds!;
  const { present, multiHot } = multiLabel(dense.classArea, pixels, classIds, raw.minFraction!);
  const fractions = Object.fromEntries(classIds.map((id) => [id, (dense.classArea.get(id) ?? 0) / pixels]));
  return { summary: { classIds, minFraction: raw.minFraction, fractions, present, multiHot: [...multiHot] } };
}

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

describe('building masks and multi-labels: properties of the golden cases', () => {
  // Local metres from the grid's top-left corner (x right, y down), as buildings.in.json is written.
  const grid = loadCase('buildings').grid;
  const options = readCase('buildings').options!;
  const out = buildingMasks(loadCase('buildings').features, grid, options);
  const at = (x: number, y: number) => Math.floor(y) * grid.width + Math.floor(x);

  it('the courtyard is not footprint, and its distance is negative up to the wall', () => {
    // Courtyard x 8..14, y 12..28: the centre of pixel (11, 20) is 2.5 m from its nearest wall.
    expect(out.footprint[at(11, 20)]).toBe(0);
    expect(out.distance[at(11, 20)]).toBeCloseTo(-2.5, 6);
    // Inside the wall of the courtyard building, 1.5 m from the courtyard and 3.5 from the outside.
    expect(out.footprint[at(6, 20)]).toBe(1);
    expect(out.distance[at(6, 20)]).toBeCloseTo(1.5, 6);
    // Far from every building the distance is capped at -maxDistance.
    expect(out.distance[at(2, 2)]).toBeCloseTo(-Math.SQRT2 * 1.5, 6);
    expect(out.distance[at(0, 0)]).toBe(-options.maxDistance!);
    expect(out.distance[at(39, 0)]).toBe(-options.maxDistance!);
  });

  it('boundary pixels are those whose centre is within half the band of an outline', () => {
    // Outer wall at x = 4: centres 3.5 and 4.5 are 0.5 m from it (= boundaryWidth / 2).
    expect([out.boundary[at(3, 20)], out.boundary[at(4, 20)], out.boundary[at(5, 20)]]).toEqual([1, 1, 0]);
    // The courtyard's outline is a boundary too.
    expect([out.boundary[at(7, 20)], out.boundary[at(8, 20)], out.boundary[at(9, 20)]]).toEqual([1, 1, 0]);
  });

  it('contact pixels lie only in the 2 m gap between buildings 1 and 2, never inside a building', () => {
    const contact: [number, number][] = [];
    for (let p = 0; p < out.contact.length; p++) {
      if (out.contact[p] === 1) contact.push([p % grid.width, Math.floor(p / grid.width)]);
    }
    expect(contact.length).toBeGreaterThan(20);
    for (const [col, row] of contact) {
      expect(out.footprint[row * grid.width + col]).toBe(0);
      // The gap: x from 18 to 20..21 (slanted side), along the rows both buildings span (6..30),
      // widened by the contact distance at its ends.
      expect(col).toBeGreaterThanOrEqual(18);
      expect(col).toBeLessThanOrEqual(20);
      expect(row).toBeGreaterThanOrEqual(4);
      expect(row).toBeLessThanOrEqual(31);
    }
    // Building 3 is 4.2 m from building 2: farther than contactDistance, so no contact between them.
    for (let col = 0; col < grid.width; col++)
      for (let row = 30; row < 35; row++) {
        expect(out.contact[row * grid.width + col]).toBe(0);
      }
  });

  it('multilabel: a class below minFraction is left out, an absent one too', () => {
    const { summary } = multiLabelCase();
    expect(summary.fractions[5]).toBeGreaterThan(0);
    expect(summary.fractions[5]).toBeLessThan(summary.minFraction!);
    expect(summary.present).toEqual([1, 2]);
    expect(summary.multiHot).toEqual([1, 1, 0, 0]);
  });
});
