// Regression and classification targets on the real Croatian parcels (ARKOD, EPSG:3765, metric),
// plus a copy of each shifted 20 m east (constructed overlaps on real shapes): per pixel the
// coverage-weighted mean of `slope` and the covered share, and per window the class of largest
// union area, against shapely's exact polygon ∩ pixel and unary_union areas (test/interop/target_oracle.py).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../../shared/domain/errors.ts';
import { rasterizeDense } from '../../../../shared/domain/labels/dense.ts';
import { featureBounds } from '../../../../shared/domain/labels/index.ts';
import { readLabelSource } from '../../../../shared/domain/labels/read.ts';
import { rasterizeRegression } from '../../../../shared/domain/labels/regression.ts';
import type { LabelFeature, PixelGrid } from '../../../../shared/domain/labels/types.ts';
import { validateLabels } from '../../../../shared/domain/labels/validate.ts';
import { windowClass } from '../../../../shared/domain/labels/window-class.ts';
import { fixturesRoot, PYTHON, requireFixture, requirePython } from '../../../helpers/requirements.ts';

const PARCELS = 'labels/parcels_hr_arkod_2024_sample_EPSG3765.geojson';
const ORACLE = path.resolve(import.meta.dirname, '../../../interop/target_oracle.py');
const PX = 10;
const SIZE = 16;

type Feature = {
  type: 'Feature';
  properties: Record<string, unknown>;
  geometry: { type: string; coordinates: unknown };
};

function shifted(geometry: Feature['geometry'], dx: number): Feature['geometry'] {
  const move = (c: unknown): unknown =>
    typeof (c as number[])[0] === 'number'
      ? [(c as number[])[0]! + dx, (c as number[])[1]]
      : (c as unknown[]).map(move);
  return { type: geometry.type, coordinates: move(geometry.coordinates) };
}

async function validated(collection: unknown, property: string, numeric: boolean): Promise<LabelFeature[]> {
  const raw = await readLabelSource(new TextEncoder().encode(JSON.stringify(collection)), {
    source: 'parcels.geojson',
  });
  return validateLabels(raw, { classProperty: property, numeric, repair: false, source: 'parcels.geojson' })
    .features;
}

describe.skipIf(!requireFixture(PARCELS))(
  'regression and classification targets (real parcels, shapely)',
  () => {
    it('regression.npy is the coverage-weighted mean, coverage.npy the summed share; .cls the largest union', async (ctx) => {
      if (!requirePython(['shapely'])) return ctx.skip();
      const parcels = JSON.parse(readFileSync(path.join(fixturesRoot(), PARCELS), 'utf8'));
      const originals = parcels.features as Feature[];
      // Copies keep the class (overlaps of one class: union areas matter) and change the value.
      const copies = originals.map((f) => ({
        ...f,
        properties: { ...f.properties, slope: (f.properties['slope'] as number) + 10 },
        geometry: shifted(f.geometry, 20),
      }));
      const collection = { ...parcels, features: [...originals, ...copies] };
      const byValue = await validated(collection, 'slope', true);
      const byClass = await validated(collection, 'land_use_id', false);
      expect(byValue.length).toBe(200);
      expect(byClass.map((f) => f.index)).toEqual(byValue.map((f) => f.index));

      // Windows on a 10 m grid around every 7th parcel's upper-left corner.
      const windows = byValue
        .filter((_, i) => i % 7 === 0 && i < 100)
        .map((f, k) => {
          const b = featureBounds([f]);
          const x0 = Math.floor(b[0] / PX) * PX - 40;
          const y1 = Math.ceil(b[3] / PX) * PX + 40;
          return { key: `w${k}`, x0, y1, px: PX, size: SIZE };
        });
      const dir = mkdtempSync(path.join(tmpdir(), 'satfactory-targets-'));
      try {
        const request = path.join(dir, 'request.json');
        writeFileSync(
          request,
          JSON.stringify({
            features: collection.features.map((f: Feature) => ({
              geometry: f.geometry,
              value: f.properties['slope'],
              cls: f.properties['land_use_id'],
            })),
            windows,
          }),
        );
        const run = spawnSync(PYTHON, [ORACLE, request], { encoding: 'utf8', maxBuffer: 1 << 28 });
        expect(run.stderr).toBe('');
        const oracle = JSON.parse(run.stdout) as Record<
          string,
          { value: (number | null)[]; coverage: number[]; union: Record<string, number> }
        >;
        const ids = [...new Set(byClass.map((f) => f.classValue as number))].sort((a, b) => a - b);
        let mixed = 0;
        let valued = 0;
        let decided = 0;
        for (const w of windows) {
          const grid: PixelGrid = { originX: w.x0, originY: w.y1, pixelSize: PX, width: SIZE, height: SIZE };
          const want = oracle[w.key] as (typeof oracle)[string];
          const reg = rasterizeRegression(
            byValue.map((f) => ({ value: f.classValue as number, polygons: f.polygons })),
            grid,
          );
          for (let p = 0; p < SIZE * SIZE; p++) {
            const v = want.value[p] as number | null;
            const got = reg.value[p] as number;
            if (v === null) {
              expect(Number.isNaN(got), `${w.key} pixel ${p}`).toBe(true);
              expect(reg.coverage[p]).toBe(0);
              continue;
            }
            valued++;
            // float32 output: within its rounding of the exact mean.
            expect(Math.abs(got - v), `${w.key} pixel ${p}: ${got} vs ${v}`).toBeLessThanOrEqual(
              1e-6 * Math.max(1, Math.abs(v)),
            );
            expect(Math.abs((reg.coverage[p] as number) - (want.coverage[p] as number))).toBeLessThanOrEqual(
              1e-6,
            );
            // Pixels whose mean is not any single feature's value: the weighting decides them.
            if (Math.abs(v - Math.round(v * 10) / 10) > 1e-3) mixed++;
          }
          const dense = rasterizeDense(
            byClass.map((f, k) => ({
              classId: f.classValue as number,
              instanceId: k + 1,
              polygons: f.polygons,
            })),
            grid,
            0,
          );
          const top = windowClass(dense.classArea, ids);
          const areas = Object.entries(want.union).sort(([, a], [, b]) => b - a);
          if (areas.length === 0) {
            expect(top).toBeNull();
            continue;
          }
          const [bestId, bestArea] = areas[0] as [string, number];
          expect(Math.abs((top?.area ?? 0) - bestArea)).toBeLessThanOrEqual(1e-7);
          if (areas.length === 1 || bestArea - (areas[1]?.[1] as number) > 1e-6) {
            expect(top?.id, w.key).toBe(Number(bestId));
            decided++;
          }
        }
        console.info(
          `${windows.length} windows, ${valued} pixels with a value, ${mixed} of them a weighted mean of 2+ values, ${decided} classes decided`,
        );
        expect(mixed).toBeGreaterThan(50);
        expect(decided).toBeGreaterThan(10);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('a non-numeric value in a regression job is an error naming the feature and the property', async () => {
      const parcels = JSON.parse(readFileSync(path.join(fixturesRoot(), PARCELS), 'utf8'));
      const features = (parcels.features as Feature[]).slice(0, 5);
      features[3] = { ...features[3]!, properties: { ...features[3]!.properties, slope: 'steep' } };
      const run = validated({ ...parcels, features }, 'slope', true);
      await expect(run).rejects.toBeInstanceOf(InvalidInputError);
      await expect(run).rejects.toThrow(/feature 3 .*property "slope" = "steep", which is not a number/);
      // A numeric string (as a CSV or a careless export writes it) is a number.
      features[3] = { ...features[3]!, properties: { ...features[3]!.properties, slope: ' 6.5' } };
      const ok = await validated({ ...parcels, features }, 'slope', true);
      expect(ok[3]?.classValue).toBe(6.5);
    });
  },
);

describe('windowClass ties', () => {
  it('goes to the earlier class on a tie, never to a class with no area', () => {
    expect(
      windowClass(
        new Map([
          [5, 10],
          [3, 10 + 1e-12],
          [9, 2],
        ]),
        [3, 5, 9],
      ),
    ).toEqual({ id: 3, area: 10 + 1e-12 });
    expect(
      windowClass(
        new Map([
          [5, 10],
          [3, 10 - 1e-12],
        ]),
        [5, 3],
      )?.id,
    ).toBe(5);
    expect(windowClass(new Map([[5, 0]]), [5])).toBeNull();
    expect(windowClass(new Map([[7, 4]]), [5])).toBeNull();
  });
});
