// The built-in BigEarthNet nomenclature against the shared fixture compiled from the official
// sources (the oracle: bigearthnet/bigearthnet_v1_nomenclature_43_to_19.json), and the real
// BigEarthNet v1 patches' 43-class label lists converted through it against the official table.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BIGEARTHNET19_LABELS,
  BIGEARTHNET43,
  bigEarthNet19OfLabels,
  CLC_NOT_IN_BIGEARTHNET,
  clcToBigEarthNet19,
} from '../../../../shared/domain/labels/bigearthnet.ts';
import { fixturesRoot, requireFixture } from '../../../helpers/requirements.ts';

const TABLE = 'bigearthnet/bigearthnet_v1_nomenclature_43_to_19.json';
const PATCHES = 'bigearthnet/v1_example_patches';

type Fixture = {
  labels43: {
    index43: number;
    label: string;
    clc_code: number;
    bigearthnet19_index: number | null;
    bigearthnet19_label: string | null;
  }[];
  labels19: { index19: number; label: string; from_index43: number[] }[];
  dropped_in_19: string[];
  clc_level3_not_in_bigearthnet: { clc_code: number }[];
};

describe.skipIf(!requireFixture(TABLE, PATCHES))('BigEarthNet nomenclature (fixture is the oracle)', () => {
  const fixture = JSON.parse(readFileSync(path.join(fixturesRoot(), TABLE), 'utf8')) as Fixture;

  it('has the 43 labels with their CLC codes in the official order, and their 19-class index', () => {
    expect(BIGEARTHNET43.length).toBe(43);
    expect(BIGEARTHNET43.map((c) => [c.code, c.label, c.index19])).toEqual(
      [...fixture.labels43]
        .sort((a, b) => a.index43 - b.index43)
        .map((l) => [l.clc_code, l.label, l.bigearthnet19_index]),
    );
    expect(CLC_NOT_IN_BIGEARTHNET).toEqual(fixture.clc_level3_not_in_bigearthnet.map((c) => c.clc_code));
  });

  it('has the 19 labels in the official order, and the official label_conversion', () => {
    const official = [...fixture.labels19].sort((a, b) => a.index19 - b.index19);
    expect(BIGEARTHNET19_LABELS).toEqual(official.map((l) => l.label));
    for (const l of official) {
      const from = BIGEARTHNET43.flatMap((c, i) => (c.index19 === l.index19 ? [i] : []));
      expect(from, l.label).toEqual(l.from_index43);
    }
    expect(BIGEARTHNET43.filter((c) => c.index19 === null).map((c) => c.label)).toEqual(
      fixture.dropped_in_19,
    );
  });

  it('maps every CLC code (number or text) to its 19-class index, says why for the rest', () => {
    for (const l of fixture.labels43) {
      for (const value of [l.clc_code, String(l.clc_code)]) {
        const r = clcToBigEarthNet19(value);
        expect(r.index, String(value)).toBe(l.bigearthnet19_index);
        if (r.index === null) expect(r.reason).toBe('dropped');
        else expect(BIGEARTHNET19_LABELS[r.index]).toBe(l.bigearthnet19_label);
      }
    }
    expect(clcToBigEarthNet19(335)).toEqual({ index: null, reason: 'not-bigearthnet' });
    for (const v of [0, 999, 21, 2110, 'forest', ''])
      expect(clcToBigEarthNet19(v)).toEqual({ index: null, reason: 'not-clc' });
  });

  it("converts each real patch's 43-class labels as the official 19-class conversion does", () => {
    const byLabel = new Map(fixture.labels43.map((l) => [l.label, l.index43]));
    const official19 = (labels: string[]) =>
      fixture.labels19
        .filter((l) => labels.some((label) => l.from_index43.includes(byLabel.get(label) as number)))
        .map((l) => l.index19)
        .sort((a, b) => a - b);
    let patches = 0;
    for (const sensor of ['BigEarthNet-S2-Example', 'BigEarthNet-S1-Example']) {
      const root = path.join(fixturesRoot(), PATCHES, sensor);
      for (const patch of readdirSync(root)) {
        const meta = JSON.parse(
          readFileSync(path.join(root, patch, `${patch}_labels_metadata.json`), 'utf8'),
        ) as { labels: string[] };
        expect(meta.labels.length).toBeGreaterThan(0);
        expect(bigEarthNet19OfLabels(meta.labels), patch).toEqual(official19(meta.labels));
        // Through the CLC codes, as label data holds them.
        const viaCodes = new Set(
          meta.labels.flatMap((label) => {
            const code = BIGEARTHNET43.find((c) => c.label === label)?.code as number;
            const r = clcToBigEarthNet19(code);
            return r.index === null ? [] : [r.index];
          }),
        );
        expect(
          [...viaCodes].sort((a, b) => a - b),
          patch,
        ).toEqual(official19(meta.labels));
        patches++;
      }
    }
    expect(patches).toBe(12);
    expect(() => bigEarthNet19OfLabels(['Glaciers and perpetual snow'])).toThrow(/not one of the 43/);
  });
});
