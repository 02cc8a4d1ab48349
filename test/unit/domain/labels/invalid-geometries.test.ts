// Every file in test/fixtures/invalid-geometries produces the log entry its README documents, with
// labels.repair off and on, and nothing throws: the validator never drops a feature silently.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readLabelSource } from '../../../../shared/domain/labels/read.ts';
import { validateLabels } from '../../../../shared/domain/labels/validate.ts';

const dir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../fixtures/invalid-geometries',
);
const aoi: GeoJSON.Polygon = {
  type: 'Polygon',
  coordinates: [
    [
      [10, 45],
      [11, 45],
      [11, 46],
      [10, 46],
      [10, 45],
    ],
  ],
};

type Expected = { file: string; problem: string; off: string; on: string };

function documented(): Expected[] {
  const rows = readFileSync(path.join(dir, 'README.md'), 'utf8')
    .split('\n')
    .filter((l) => /^\| [\w-]+\.geojson \|/.test(l));
  return rows.map((l) => {
    const [file, problem, off, on] = l
      .split('|')
      .slice(1, 5)
      .map((c) => c.trim()) as [string, string, string, string];
    return { file, problem, off, on };
  });
}

describe('invalid-geometry fixtures', () => {
  const expected = documented();

  it('documents every fixture file, and only existing ones', () => {
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.geojson'))
      .sort();
    expect(expected.map((e) => e.file).sort()).toEqual(files);
  });

  for (const e of expected) {
    for (const repair of [false, true]) {
      it(`${e.file} (repair ${repair ? 'on' : 'off'}) → ${e.problem} ${repair ? e.on : e.off}`, async () => {
        const raw = await readLabelSource(readFileSync(path.join(dir, e.file)), { source: e.file });
        const out = validateLabels(raw, {
          classProperty: 'class',
          idProperty: 'id',
          year: 2023,
          repair,
          aoi,
          source: e.file,
        });
        const action = repair ? e.on : e.off;
        expect(out.log).toHaveLength(1);
        expect(out.log[0]).toMatchObject({ index: 0, id: 'f1', problem: e.problem, action });
        expect(out.log[0]?.detail.length).toBeGreaterThan(10);
        expect(out.counts).toEqual({ [e.problem]: 1 });
        expect(out.features).toHaveLength(action === 'dropped' ? 0 : 1);
      });
    }
  }
});
