// PrepareLabels' ingest with a fixed class table: features of a class outside the table are dropped
// or kept as ignored, each with a log line and a count (nothing disappears without a reason); a table
// file is read through the blob store of its folder, and a bad or missing one is named.
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

/** Four parcels in lon/lat: wheat, forest, maize (not in the table), and a wheat one with an unclosed ring. */
const PARCELS = JSON.stringify({
  type: 'FeatureCollection',
  features: [
    {
      type: 'Feature',
      properties: { id: 'a', crop: 'wheat' },
      geometry: { type: 'Polygon', coordinates: square(15) },
    },
    {
      type: 'Feature',
      properties: { id: 'b', crop: 'forest' },
      geometry: { type: 'Polygon', coordinates: square(15.01) },
    },
    {
      type: 'Feature',
      properties: { id: 'c', crop: 'maize' },
      geometry: { type: 'Polygon', coordinates: square(15.02) },
    },
    {
      type: 'Feature',
      properties: { id: 'd', crop: 'maize' },
      geometry: { type: 'Polygon', coordinates: [square(15.03)[0]?.slice(0, 4)] },
    },
  ],
});

const TABLE = [
  { value: 'wheat', id: 1, name: 'Wheat' },
  { value: 'forest', id: 2, name: 'Forest', color: '#228b22' },
  { value: 'water', id: 5, name: 'Water' },
];

async function setup() {
  const source = new MemoryBlobStore('s3://bucket/ground-truth');
  await source.put('parcels.geojson', PARCELS);
  const work = new MemoryBlobStore('memory://work');
  const opened: string[] = [];
  const ctx: StepContext = {
    work,
    openStore: (uri) => {
      opened.push(uri);
      if (uri !== source.uri) throw new Error(`unexpected store ${uri}`);
      return source as BlobStore;
    },
    ranges: {} as StepContext['ranges'],
    openCatalog: () => {
      throw new Error('no catalog');
    },
    clock: systemClock,
    log: silentLog,
    metrics: noMetrics,
  };
  return { source, work, ctx, opened };
}

function job(classes: unknown) {
  return parseJobSpec({
    name: 'classes',
    catalog: { kind: 'static', source: 'items.json' },
    aoi: 'labels',
    period: { start: '2023-08-01', end: '2023-08-31' },
    bands: ['red'],
    windows: { size: 24 },
    labels: {
      source: 's3://bucket/ground-truth/parcels.geojson',
      classProperty: 'crop',
      idProperty: 'id',
      classes,
    },
    output: { uri: 'memory://out' },
  });
}

describe('ingest with a fixed class table', () => {
  it('rejects features of unknown classes with one log line each and counts them', async () => {
    const { work, ctx } = await setup();
    const summary = await ingestLabels(ctx, 'run-reject', job({ table: TABLE, background: 'ignore' }));
    // 4 read; d is dropped by validation (unclosed ring: fixed) and then as unknown; c as unknown.
    expect(summary.read).toBe(4);
    expect(summary.features).toBe(2);
    expect(summary.problems['unknown-class']).toBe(2);
    expect(summary.classes.map((c) => [c.id, c.value, c.name])).toEqual([
      [1, 'wheat', 'Wheat'],
      [2, 'forest', 'Forest'],
      [5, 'water', 'Water'],
    ]);
    expect(summary.coding).toEqual({
      origin: 'job',
      file: null,
      background: 65_535,
      backgroundIs: 'ignore',
      ignoreIndex: 65_535,
      unknown: 'reject',
    });
    const log = (await readWorkLines(work, WorkFiles.labelsLog, summary.logKey)) ?? [];
    const unknown = log.filter((e) => e.problem === 'unknown-class');
    expect(unknown.map((e) => [e.index, e.id, e.action])).toEqual([
      [2, 'c', 'dropped'],
      [3, 'd', 'dropped'],
    ]);
    expect(unknown[0]?.detail).toMatch(
      /class "maize" \(property "crop"\) is not in the class table .*"reject"/,
    );
    // Read = kept + dropped: every feature has a reason or is kept; d's ring fix went with it.
    const dropped = new Set(log.filter((e) => e.action === 'dropped').map((e) => e.index));
    expect(summary.features + dropped.size).toBe(summary.read);
    expect(log.filter((e) => e.index === 3)).toHaveLength(1);
    // One count per log line.
    const perProblem: Record<string, number> = {};
    for (const e of log) perProblem[e.problem] = (perProblem[e.problem] ?? 0) + 1;
    expect(summary.problems).toEqual(perProblem);
  });

  it('keeps features of unknown classes as ignored when the job says so, each logged', async () => {
    const { work, ctx } = await setup();
    const summary = await ingestLabels(
      ctx,
      'run-ignore',
      job({ table: TABLE, background: { class: 5 }, unknown: 'ignore', ignoreIndex: 255 }),
    );
    expect(summary.features).toBe(4);
    expect(summary.coding).toMatchObject({ background: 5, backgroundIs: 'class', ignoreIndex: 255 });
    const log = (await readWorkLines(work, WorkFiles.labelsLog, summary.logKey)) ?? [];
    expect(log.filter((e) => e.problem === 'unknown-class').map((e) => [e.index, e.action])).toEqual([
      [2, 'kept'],
      [3, 'kept'],
    ]);
    expect(log.find((e) => e.index === 3 && e.problem === 'unclosed-ring')?.action).toBe('fixed');
  });

  it('reads the table from a CSV file through the store of its folder, with its sha256', async () => {
    const { source, ctx, opened } = await setup();
    await source.put(
      'classes.csv',
      'value,id,name,color\nwheat,1,Wheat,\nforest,2,Forest,#228b22\nmaize,3,Maize,\n',
    );
    const summary = await ingestLabels(
      ctx,
      'run-file',
      job({ table: 's3://bucket/ground-truth/classes.csv', background: 'ignore' }),
    );
    expect(opened.filter((u) => u === source.uri)).toHaveLength(2);
    expect(summary.features).toBe(4);
    expect(summary.classes.map((c) => c.value)).toEqual(['wheat', 'forest', 'maize']);
    expect(summary.coding.origin).toBe('file');
    expect(summary.coding.file?.name).toBe('classes.csv');
    expect(summary.coding.file?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('names a missing table file, and the line and field of a bad one', async () => {
    const { source, ctx } = await setup();
    const missing = await ingestLabels(
      ctx,
      'run-missing',
      job({ table: 's3://bucket/ground-truth/nope.csv', background: 'ignore' }),
    ).catch((e: unknown) => e as Error);
    expect(String(missing)).toMatch(
      /labels\.classes\.table s3:\/\/bucket\/ground-truth\/nope\.csv does not exist/,
    );
    expect((missing as { context?: { pointer?: string } }).context?.pointer).toBe('/labels/classes/table');

    await source.put('bad.csv', 'value,id,name\nwheat,1,Wheat\nforest,two,Forest\n');
    await expect(
      ingestLabels(ctx, 'run-bad', job({ table: 's3://bucket/ground-truth/bad.csv', background: 'ignore' })),
    ).rejects.toThrow(
      /class table s3:\/\/bucket\/ground-truth\/bad\.csv line 3, field id: "two" is not a whole number/,
    );

    await source.put('twice.json', JSON.stringify([...TABLE, { value: 'rye', id: 2, name: 'Rye' }]));
    await expect(
      ingestLabels(
        ctx,
        'run-twice',
        job({ table: 's3://bucket/ground-truth/twice.json', background: 'ignore' }),
      ),
    ).rejects.toThrow(/twice\.json class 3 \(id\): id 2 is already the id of class 1 \("Forest"\)/);
  });

  it('says so when no feature is left after the table rejects the unknown ones', async () => {
    const { ctx } = await setup();
    await expect(
      ingestLabels(
        ctx,
        'run-none',
        job({ table: [{ value: 'water', id: 1, name: 'Water' }], background: 'ignore' }),
      ),
    ).rejects.toThrow(/none of its 4 features is usable \(.*unknown-class: 4/);
  });
});
