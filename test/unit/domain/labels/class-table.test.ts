// Fixed class tables (labels.classes): the job spec's checks with their JSON pointers, the JSON and
// CSV files with errors naming the file and the line/field, and how values become ids and training
// indices (mapping, ignore, background).
import { describe, expect, it } from 'vitest';
import { parseJobSpec } from '../../../../shared/domain/job-spec.ts';
import {
  type ClassTableSpec,
  checkClassTableFile,
  derivedCoding,
  fixedClassLookup,
  fixedClassTable,
  parseClassTableFile,
  trainingIds,
} from '../../../../shared/domain/labels/class-table.ts';
import { LabelIndex } from '../../../../shared/domain/labels/index.ts';
import type { LabelFeature } from '../../../../shared/domain/labels/types.ts';
import { labelWindow, regionLabels } from '../../../../shared/domain/labels/window.ts';
import { decodeNpy } from '../../../../shared/domain/npy.ts';

const TABLE = [
  { value: 'wheat', id: 3, name: 'Wheat', color: '#f5deb3' },
  { value: 'forest', id: 1, name: 'Forest', color: '#228b22' },
  { value: 'other', id: 0, name: 'Other' },
];

function job(classes: unknown, extra: Record<string, unknown> = {}) {
  return parseJobSpec({
    name: 'classes',
    catalog: { kind: 'static', source: 'items.json' },
    aoi: 'labels',
    period: { start: '2023-08-01', end: '2023-08-31' },
    bands: ['red'],
    windows: { size: 4 },
    labels: { source: 'parcels.geojson', classProperty: 'crop', classes, ...extra },
    output: { uri: 'out' },
  });
}

const bytes = (s: string) => new TextEncoder().encode(s);

describe('labels.classes in the job spec', () => {
  it('takes an inline table with defaults: unknown classes rejected, ignore index 65535', () => {
    const spec = job({ table: TABLE, background: 'ignore' }).labels?.classes as ClassTableSpec;
    expect(spec.unknown).toBe('reject');
    expect(spec.ignoreIndex).toBe(65_535);
  });

  it('refuses a value or an id given twice, naming the class by its pointer', () => {
    expect(() =>
      job({ table: [...TABLE, { value: 'wheat', id: 7, name: 'Again' }], background: 'ignore' }),
    ).toThrow(/\/labels\/classes\/table\/3\/value: value "wheat" is already the value of class 0/);
    expect(() =>
      job({ table: [...TABLE, { value: 'rye', id: 1, name: 'Rye' }], background: 'ignore' }),
    ).toThrow(/\/labels\/classes\/table\/3\/id: id 1 is already the id of class 1 \("Forest"\)/);
    // 310 and "310" are one value: the label data is compared as text.
    expect(() =>
      job({
        table: [
          { value: 310, id: 1, name: 'a' },
          { value: '310', id: 2, name: 'b' },
        ],
        background: 'ignore',
      }),
    ).toThrow(/\/labels\/classes\/table\/1\/value/);
  });

  it('refuses a background class that is not in the table and an ignore index that collides', () => {
    expect(() => job({ table: TABLE, background: { class: 9 } })).toThrow(
      /\/labels\/classes\/background\/class: background class 9 is not an id of the table \(ids: 0, 1, 3\)/,
    );
    expect(() => job({ table: TABLE, background: 'ignore', ignoreIndex: 3 })).toThrow(
      /\/labels\/classes\/ignoreIndex: ignoreIndex 3 is the id of class 0/,
    );
    expect(() => job({ table: TABLE, background: 'ignore', ignoreIndex: 2 })).toThrow(
      /ignoreIndex 2 is one of the training indices 0\.\.2; choose 3 or more/,
    );
  });

  it('needs the background declared, and not also as labels.background', () => {
    expect(() => job({ table: TABLE })).toThrow(/\/labels\/classes\/background/);
    expect(() => job({ table: TABLE, background: 'ignore' }, { background: 0 })).toThrow(
      /\/labels\/background: with labels.classes, declare the background as labels.classes.background/,
    );
  });

  it('takes a file name as the table (read later, relative to the job file)', () => {
    expect(job({ table: 'classes.csv', background: { class: 0 } }).labels?.classes?.table).toBe(
      'classes.csv',
    );
  });
});

describe('class table files', () => {
  it('reads CSV (header value,id,name[,color]; quoted fields; numbers stay numbers)', () => {
    const csv =
      'value,id,name,color\r\n310,1,"Arable, ploughed",#aabbcc\n0310,2,Padded code,\n"wheat",3,Wheat,\n';
    expect(parseClassTableFile(bytes(csv), 's3://b/classes.csv')).toEqual([
      { value: 310, id: 1, name: 'Arable, ploughed', color: '#aabbcc' },
      { value: '0310', id: 2, name: 'Padded code' },
      { value: 'wheat', id: 3, name: 'Wheat' },
    ]);
  });

  it('reads JSON, an array or {"classes": [...]}', () => {
    expect(parseClassTableFile(bytes(JSON.stringify(TABLE)), '/t/classes.json')).toEqual(TABLE);
    expect(parseClassTableFile(bytes(JSON.stringify({ classes: TABLE, note: 'x' })), '/t/table')).toEqual(
      TABLE,
    );
  });

  it('names the file, line and field of a bad CSV row', () => {
    const at = (csv: string) => () => parseClassTableFile(bytes(csv), '/jobs/classes.csv');
    expect(at('value,id,name\n1,1,a\n2,x,b\n')).toThrow(
      /class table \/jobs\/classes\.csv line 3, field id: "x" is not a whole number from 0 to 65535/,
    );
    expect(at('value,id,name\n1,1,a\n\n2,70000,b\n')).toThrow(/line 4, field id: "70000"/);
    expect(at('value,id,name\n1,1,\n')).toThrow(/line 2, field name: empty/);
    expect(at('value,id,name,color\n1,1,a,green\n')).toThrow(/line 2, field color: "green" is not a colour/);
    expect(at('value,id,name\n1,1\n')).toThrow(/line 2, field name: 2 fields where the header has 3/);
    expect(at('code,id,name\n1,1,a\n')).toThrow(/line 1: the header has no column "value"/);
    expect(at('value,id,name,colour\n1,1,a,#000000\n')).toThrow(/line 1: unknown column "colour"/);
    expect(at('value,id,name\n')).toThrow(/lists no class/);
    expect(at('value,id,name\n"1,1,a\n')).toThrow(/a quoted field opened on line 2 is never closed/);
  });

  it('names the file and the JSON pointer of a bad JSON entry, or where the JSON breaks', () => {
    const json = JSON.stringify([TABLE[0], { value: 'x', id: -1, name: 'y' }]);
    expect(() => parseClassTableFile(bytes(json), 's3://b/classes.json')).toThrow(
      /class table s3:\/\/b\/classes\.json is invalid: \/1\/id: /,
    );
    expect(() =>
      parseClassTableFile(bytes(JSON.stringify({ classes: [{ value: 'x', id: 1 }] })), 'c.json'),
    ).toThrow(/class table c\.json is invalid: \/classes\/0\/name/);
    expect(() => parseClassTableFile(bytes('[{"value": 1,'), 'c.json')).toThrow(
      /class table c\.json is not valid JSON/,
    );
    expect(() => parseClassTableFile(new Uint8Array([0xff, 0xfe, 0x00]), 'c.csv')).toThrow(/is not UTF-8/);
  });

  it('checks a file table like an inline one, naming the file and the class', () => {
    const table = parseClassTableFile(bytes('value,id,name\na,1,A\nb,1,B\n'), '/t/classes.csv');
    expect(() =>
      checkClassTableFile(table, { background: 'ignore', ignoreIndex: 65_535 }, '/t/classes.csv'),
    ).toThrow(
      /class table \/t\/classes\.csv is invalid: \/t\/classes\.csv class 1 \(id\): id 1 is already the id of class 0/,
    );
  });
});

describe('values to ids and training indices', () => {
  const spec = (over: Partial<ClassTableSpec>): ClassTableSpec => ({
    table: TABLE,
    background: 'ignore',
    unknown: 'reject',
    ignoreIndex: 255,
    ...over,
  });

  it('maps raw values to the table ids (as text) and strangers to nothing or the ignore index', () => {
    const rejecting = fixedClassTable(TABLE, spec({}), null);
    const lookup = fixedClassLookup(rejecting.classes, rejecting.coding);
    expect([lookup('wheat'), lookup('forest'), lookup('maize')]).toEqual([3, 1, undefined]);
    const ignoring = fixedClassTable(TABLE, spec({ unknown: 'ignore' }), null);
    expect(fixedClassLookup(ignoring.classes, ignoring.coding)('maize')).toBe(255);
    const codes = fixedClassTable([{ value: '310', id: 5, name: 'x' }], spec({}), null);
    expect(fixedClassLookup(codes.classes, codes.coding)(310)).toBe(5);
  });

  it('numbers training indices 0..K-1 by ascending id, the background in only when it is a class', () => {
    const ignored = fixedClassTable(TABLE, spec({}), null);
    expect(ignored.classes.map((c) => c.id)).toEqual([0, 1, 3]);
    expect(ignored.coding).toMatchObject({ origin: 'job', background: 255, backgroundIs: 'ignore' });
    expect(trainingIds(ignored.classes, ignored.coding)).toEqual([0, 1, 3]);
    const asClass = fixedClassTable(TABLE, spec({ background: { class: 0 } }), {
      name: 'c.csv',
      sha256: 'a',
    });
    expect(asClass.coding).toMatchObject({ origin: 'file', background: 0, backgroundIs: 'class' });
    expect(trainingIds(asClass.classes, asClass.coding)).toEqual([0, 1, 3]);
    // Derived: the background is an id of its own, a class for training.
    expect(trainingIds([{ id: 200, value: 200 }], derivedCoding(undefined))).toEqual([0, 200]);
  });

  it('burns background and unknown classes as the job says, and lists only real classes per sample', () => {
    // Two 2 x 4 m strips on a 4 x 4 grid of 1 m pixels: wheat on the left, "maize" (unknown) on the right.
    const strip = (index: number, x0: number, classValue: string): LabelFeature => ({
      index,
      id: `f${index}`,
      classValue,
      polygons: [{ rings: [new Float64Array([x0, 0, x0 + 2, 0, x0 + 2, 2, x0, 2])] }],
    });
    const index = LabelIndex.build([strip(0, 0, 'wheat'), strip(1, 2, 'maize')]);
    const labels = job({ table: TABLE, background: 'ignore' }).labels as NonNullable<
      ReturnType<typeof job>['labels']
    >;
    const run = (over: Partial<ClassTableSpec>) => {
      const t = fixedClassTable(TABLE, spec(over), null);
      const rl = regionLabels(index, t, labels, { resolution: 1, size: 4 });
      const w = labelWindow(rl, [0, 0, 4, 4]);
      const npy = w.members.find((m) => m.name === 'labels.npy')?.data as Uint8Array;
      return { rows: [...(decodeNpy(npy).data as Uint16Array)], meta: w.meta };
    };
    // Background ignored, unknown ignored: top rows (y 2..4) background, bottom-left wheat, bottom-right ignored.
    const ignoring = run({ unknown: 'ignore' });
    expect(ignoring.rows).toEqual([255, 255, 255, 255, 255, 255, 255, 255, 3, 3, 255, 255, 3, 3, 255, 255]);
    expect(ignoring.meta).toMatchObject({ background: 255, ignoreIndex: 255, classes: [3] });
    // Background a class (id 0): the same polygons, the background pixels now 0.
    const asClass = run({ unknown: 'ignore', background: { class: 0 } });
    expect(asClass.rows).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 255, 255, 3, 3, 255, 255]);
    // Rejecting: a feature of an unknown class may not reach a region (ingest drops it); if it does, it is an error.
    expect(() => run({ unknown: 'reject' })).toThrow(/class "maize", which is not in the run's class table/);
  });
});
