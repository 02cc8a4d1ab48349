// PrepareLabels' ingest for the other label targets: labels.mapping (to a derived or a fixed table),
// labels.nomenclature "bigearthnet-19" (CORINE codes; the 11 dropped classes and non-codes are
// rejects with their own problem, logged and counted) and regression jobs (no class table; a
// non-numeric value is an error naming the feature and the property); and what the job spec refuses.
import { describe, expect, it } from 'vitest';
import { parseJobSpec } from '../../../shared/domain/job-spec.ts';
import type { BlobStore } from '../../../shared/ports.ts';
import { noMetrics, silentLog, systemClock } from '../../../shared/ports.ts';
import type { StepContext } from '../../../shared/work/context.ts';
import { readWorkLines, WorkFiles } from '../../../shared/work/files.ts';
import { ingestLabels } from '../../../shared/work/labels-store.ts';
import { MemoryBlobStore } from '../../helpers/memory-blob-store.ts';

const square = (x: number) => [
  [
    [x, 45],
    [x + 0.001, 45],
    [x + 0.001, 45.001],
    [x, 45.001],
    [x, 45],
  ],
];

const parcels = (props: Record<string, unknown>[]) =>
  JSON.stringify({
    type: 'FeatureCollection',
    features: props.map((p, i) => ({
      type: 'Feature',
      properties: { id: `p${i}`, ...p },
      geometry: { type: 'Polygon', coordinates: square(15 + i * 0.01) },
    })),
  });

async function ingest(file: string, labels: Record<string, unknown>) {
  const source = new MemoryBlobStore('s3://bucket/gt');
  await source.put('parcels.geojson', file);
  const work = new MemoryBlobStore('memory://work');
  const ctx: StepContext = {
    work,
    openStore: () => source as BlobStore,
    ranges: {} as StepContext['ranges'],
    openCatalog: () => {
      throw new Error('no catalog');
    },
    clock: systemClock,
    log: silentLog,
    metrics: noMetrics,
  };
  const summary = await ingestLabels(ctx, 'run', job(labels));
  const log = (await readWorkLines(work, WorkFiles.labelsLog, summary.logKey)) ?? [];
  return { summary, log };
}

function job(labels: Record<string, unknown>) {
  return parseJobSpec({
    name: 'targets',
    catalog: { kind: 'static', source: 'items.json' },
    aoi: 'labels',
    period: { start: '2023-08-01', end: '2023-08-31' },
    bands: ['red'],
    windows: { size: 24 },
    labels: { source: 's3://bucket/gt/parcels.geojson', idProperty: 'id', ...labels },
    output: { uri: 'memory://out' },
  });
}

const CROPS = parcels([{ crop: 'wheat' }, { crop: 'forest' }, { crop: 'maize' }, { crop: 'spelt' }]);

describe('labels.mapping', () => {
  it('recodes values into a derived table; an unmapped value is dropped as unmapped-value', async () => {
    const { summary, log } = await ingest(CROPS, {
      classProperty: 'crop',
      mapping: { wheat: 'cereal', spelt: 'cereal', forest: 'tree' },
    });
    expect(summary.classes.map((c) => c.value)).toEqual(['cereal', 'tree']);
    expect(summary.features).toBe(3);
    expect(summary.problems).toEqual({ 'unmapped-value': 1 });
    expect(log).toEqual([
      expect.objectContaining({ index: 2, id: 'p2', problem: 'unmapped-value', action: 'dropped' }),
    ]);
    expect(log[0]?.detail).toMatch(/class "maize" \(property "crop"\) is not in labels.mapping/);
  });

  it('maps to a fixed table by class name or id', async () => {
    const { summary } = await ingest(CROPS, {
      classProperty: 'crop',
      classes: {
        table: [
          { value: 'w', id: 1, name: 'Cereal' },
          { value: 'f', id: 7, name: 'Forest' },
        ],
        background: 'ignore',
      },
      mapping: { wheat: 'Cereal', spelt: 1, forest: 7, maize: 'Cereal' },
    });
    expect(summary.features).toBe(4);
    expect(summary.problems).toEqual({});
  });

  it('refuses a mapping to a class the table does not have, naming it', () => {
    expect(() =>
      job({
        classProperty: 'crop',
        classes: { table: [{ value: 'w', id: 1, name: 'Cereal' }], background: 'ignore' },
        mapping: { wheat: 'Cereals' },
      }),
    ).toThrow(/\/labels\/mapping\/wheat: "Cereals" is no class of labels.classes/);
    expect(() => job({ classProperty: 'clc', nomenclature: 'bigearthnet-19', mapping: { '1': 19 } })).toThrow(
      /\/labels\/mapping\/1: 19 is no bigearthnet-19 class/,
    );
  });
});

describe('labels.nomenclature "bigearthnet-19"', () => {
  it('maps CLC codes (numbers or text) to the 19 official classes; the rest are counted rejects', async () => {
    const file = parcels([
      { clc: 211 },
      { clc: '312' },
      { clc: 124 },
      { clc: 999 },
      { clc: 335 },
      { clc: 523 },
    ]);
    const { summary, log } = await ingest(file, { classProperty: 'clc', nomenclature: 'bigearthnet-19' });
    expect(summary.classes).toHaveLength(19);
    expect(summary.classes[2]).toEqual({ id: 2, value: 'Arable land', name: 'Arable land' });
    expect(summary.coding).toMatchObject({
      origin: 'nomenclature',
      backgroundIs: 'ignore',
      ignoreIndex: 65_535,
    });
    expect(summary.features).toBe(3);
    expect(summary.problems).toEqual({ 'no-bigearthnet19-class': 2, 'not-clc-code': 1 });
    expect(log.map((e) => [e.index, e.problem, e.action])).toEqual([
      [2, 'no-bigearthnet19-class', 'dropped'],
      [3, 'not-clc-code', 'dropped'],
      [4, 'no-bigearthnet19-class', 'dropped'],
    ]);
    expect(log[0]?.detail).toMatch(/CLC 124 "Airports" .* one of the 11 classes/);
  });

  it('cannot be combined with labels.classes or labels.background', () => {
    expect(() =>
      job({
        classProperty: 'clc',
        nomenclature: 'bigearthnet-19',
        classes: { table: [{ value: 1, id: 1, name: 'a' }], background: 'ignore' },
      }),
    ).toThrow(/\/labels\/nomenclature: labels.nomenclature is a class table/);
    expect(() => job({ classProperty: 'clc', nomenclature: 'bigearthnet-19', background: 0 })).toThrow(
      /\/labels\/background: .*has no background class/,
    );
  });
});

describe('regression jobs', () => {
  const SLOPES = parcels([
    { crop: 'a', slope: 0.1 },
    { crop: 'b', slope: 2 },
    { crop: 'c', slope: '3.5' },
  ]);

  it('builds no class table, and keeps each feature with its number', async () => {
    const { summary } = await ingest(SLOPES, {
      classProperty: 'crop',
      target: 'regression',
      valueProperty: 'slope',
    });
    expect(summary.classes).toEqual([]);
    expect(summary.features).toBe(3);
  });

  it('a value that is not a number is an error naming the feature, its id, the property and the value', async () => {
    const file = parcels([{ slope: 1 }, { slope: 2 }, { slope: 'flat' }]);
    await expect(ingest(file, { classProperty: 'slope', target: 'regression' })).rejects.toThrow(
      /parcels\.geojson: feature 2 \(id "p2"\) has property "slope" = "flat", which is not a number/,
    );
  });

  it('the spec: outputs default to regression + coverage; classes, class outputs and class fields are refused', () => {
    expect(job({ classProperty: 'slope', target: 'regression' }).labels?.outputs).toEqual([
      'regression',
      'coverage',
    ]);
    expect(
      job({ classProperty: 'slope', target: 'regression', outputs: ['regression', 'instances'] }).labels
        ?.outputs,
    ).toEqual(['regression', 'instances', 'coverage']);
    expect(() =>
      job({ classProperty: 'slope', target: 'regression', outputs: ['regression', 'labels'] }),
    ).toThrow(/\/labels\/outputs\/1: "labels" needs classes/);
    expect(() =>
      job({ classProperty: 'slope', target: 'regression', nomenclature: 'bigearthnet-19' }),
    ).toThrow(/\/labels\/nomenclature: a regression job .* has no classes/);
    expect(() => job({ classProperty: 'crop', outputs: ['regression'] })).toThrow(
      /\/labels\/outputs\/0: "regression" needs labels.target "regression"/,
    );
    expect(() => job({ classProperty: 'crop', valueProperty: 'slope' })).toThrow(
      /\/labels\/valueProperty: labels.valueProperty is for labels.target "regression"/,
    );
  });
});
