// Points and lines as labels (issue 13), one module at a time: the job spec's fields (strict, clear
// errors), validation of points and lines (kept when the job asks, each problem logged, rejected
// with a reason otherwise), the chunk codec, the union of overlapping footprints, and a window's
// vector.json and accounting for points kept only as vectors.
import { describe, expect, it } from 'vitest';
import type { Bounds } from '../../../../shared/domain/crs.ts';
import { JobSpecError } from '../../../../shared/domain/errors.ts';
import { parseJobSpec } from '../../../../shared/domain/job-spec.ts';
import { featureTouches } from '../../../../shared/domain/labels/accounting.ts';
import { discRing, linePieces, unionOf, withFootprint } from '../../../../shared/domain/labels/buffer.ts';
import { derivedCoding } from '../../../../shared/domain/labels/class-table.ts';
import { buildClassTable } from '../../../../shared/domain/labels/classes.ts';
import { polygonCoverage } from '../../../../shared/domain/labels/coverage.ts';
import { decodeLabelChunk, encodeLabelChunk, LabelIndex } from '../../../../shared/domain/labels/index.ts';
import type { RawFeature } from '../../../../shared/domain/labels/read.ts';
import { signedArea } from '../../../../shared/domain/labels/rings.ts';
import type { LabelFeature } from '../../../../shared/domain/labels/types.ts';
import { validateLabels } from '../../../../shared/domain/labels/validate.ts';
import type { VectorDocument } from '../../../../shared/domain/labels/vector.ts';
import { labelWindow, regionLabels } from '../../../../shared/domain/labels/window.ts';

const job = (labels: Record<string, unknown>) => ({
  name: 'objects',
  catalog: { kind: 'static', source: 'items.json' },
  aoi: 'labels',
  period: { start: '2023-03-01', end: '2023-10-31' },
  bands: ['red'],
  windows: { size: 24 },
  labels: { source: 'x.geojson', classProperty: 'c', ...labels },
  output: { uri: 'out' },
});

function specError(labels: Record<string, unknown>): string {
  try {
    parseJobSpec(job(labels));
  } catch (error) {
    expect(error).toBeInstanceOf(JobSpecError);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('job spec: labels.points, labels.lines, labels.properties', () => {
  it('accepts points, lines, properties and the vector output; defaults to discs', () => {
    const spec = parseJobSpec(
      job({ points: { radius: 5 }, lines: { width: 10 }, properties: '*', outputs: ['labels', 'vector'] }),
    );
    expect(spec.labels?.points).toEqual({ rasterize: 'disc', radius: 5 });
    expect(spec.labels?.lines).toEqual({ width: 10 });
  });

  it('refuses what cannot work, naming the field', () => {
    expect(specError({ points: { rasterize: 'box' } })).toMatch(
      /\/labels\/points\/radius: .*radius in metres/,
    );
    expect(specError({ points: { rasterize: 'none' } })).toMatch(/\/labels\/points\/rasterize: .*"vector"/);
    expect(specError({ properties: ['a'] })).toMatch(/\/labels\/properties: .*vector\.json/);
    expect(specError({ lines: { width: 0 } })).toMatch(/\/labels\/lines\/width/);
    expect(specError({ points: { radius: 5, shape: 'x' } })).toMatch(/\/labels\/points.*shape/);
    expect(specError({ lines: { width: 2 }, outputs: ['buildings'] })).toMatch(
      /\/labels\/lines: .*buildings/,
    );
  });
});

const raw = (geometries: unknown[], properties: Record<string, unknown> = {}): RawFeature[] =>
  geometries.map((geometry, index) => ({
    index,
    geometry: geometry as GeoJSON.Geometry,
    properties: { c: 'road', name: `f${index}`, width: 3, ...properties },
  }));

const validate = (features: RawFeature[], options: { points?: boolean; lines?: boolean } = {}) =>
  validateLabels(
    { epsg: 32633, features },
    { classProperty: 'c', repair: false, source: 'x.geojson', ...options },
  );

describe('validation of points and lines', () => {
  const geometries = [
    { type: 'Point', coordinates: [500000, 5000000] },
    {
      type: 'MultiPoint',
      coordinates: [
        [500000, 5000000],
        [500010, 5000010],
      ],
    },
    {
      type: 'LineString',
      coordinates: [
        [500000, 5000000],
        [500000, 5000000],
        [500100, 5000000],
      ],
    },
    {
      type: 'MultiLineString',
      coordinates: [
        [
          [500000, 5000000],
          [500000, 5000000],
        ],
        [
          [0, 0],
          [10, 10],
        ],
      ],
    },
  ];

  it('without labels.points / labels.lines: each dropped as unsupported-geometry saying what to set', () => {
    const r = validate(raw(geometries));
    expect(r.kept).toBe(0);
    expect(r.counts).toEqual({ 'unsupported-geometry': 4 });
    expect(r.log[0]?.detail).toMatch(/Point is not an area; set labels.points/);
    expect(r.log[2]?.detail).toMatch(/LineString is not an area; set labels.lines/);
  });

  it('with them: kept as shapes, repeated vertices and degenerate line parts fixed and logged', () => {
    const r = validate(raw(geometries), { points: true, lines: true });
    expect(r.kept).toBe(4);
    const [p, mp, l, ml] = r.features as LabelFeature[];
    expect(p?.shape).toEqual({ kind: 'point', parts: [Float64Array.of(500000, 5000000)] });
    expect(mp?.shape?.parts).toHaveLength(2);
    expect(l?.shape?.parts).toEqual([Float64Array.of(500000, 5000000, 500100, 5000000)]);
    expect(ml?.shape?.parts).toEqual([Float64Array.of(0, 0, 10, 10)]);
    expect(r.log.map((e) => [e.index, e.problem, e.action])).toEqual([
      [2, 'duplicate-vertices', 'fixed'],
      [3, 'too-few-vertices', 'fixed'],
      [3, 'duplicate-vertices', 'fixed'],
    ]);
  });

  it('drops, naming the part and vertex: empty, one-vertex lines, bad coordinates', () => {
    const r = validate(
      raw([
        { type: 'MultiPoint', coordinates: [] },
        {
          type: 'LineString',
          coordinates: [
            [1, 1],
            [1, 1],
          ],
        },
        {
          type: 'MultiLineString',
          coordinates: [
            [
              [1, 1],
              [2, 'x'],
            ],
          ],
        },
        { type: 'Point', coordinates: [] },
      ]),
      { points: true, lines: true },
    );
    expect(r.kept).toBe(0);
    expect(r.log.map((e) => `${e.index} ${e.problem} ${e.action}: ${e.detail}`)).toEqual([
      '0 empty-geometry dropped: the MultiPoint has no coordinates',
      // A dropped feature's fixes do not matter: one line says why it is gone.
      '1 too-few-vertices dropped: line has 1 distinct vertices, at least 2 needed',
      '2 out-of-range-coordinates dropped: line 0 vertex 1 is [2,"x"]: not two finite numbers',
      '3 empty-geometry dropped: the Point has no coordinates',
    ]);
  });

  it('keeps the listed properties (or all), as JSON values', () => {
    const r = validateLabels(
      { epsg: 32633, features: raw([geometries[0]], { blob: Uint8Array.of(1, 2), bad: Number.NaN }) },
      { classProperty: 'c', repair: false, source: 'x', points: true, properties: '*' },
    );
    expect(r.features[0]?.properties).toEqual({ c: 'road', name: 'f0', width: 3, blob: 'AQI=', bad: null });
    const listed = validateLabels(
      { epsg: 32633, features: raw([geometries[0]]) },
      { classProperty: 'c', repair: false, source: 'x', points: true, properties: ['name', 'absent'] },
    );
    expect(listed.features[0]?.properties).toEqual({ name: 'f0' });
  });
});

describe('chunk codec with shapes and properties', () => {
  it('round-trips points, lines, footprints and properties bit for bit', () => {
    const features: LabelFeature[] = [
      {
        index: 3,
        id: 'a',
        classValue: 1,
        polygons: [{ rings: [discRing(1.5, 2.5, 3)] }],
        shape: { kind: 'point', parts: [Float64Array.of(1.5, 2.5)] },
        properties: { name: 'x', n: 0.1 },
      },
      {
        index: 4,
        id: null,
        classValue: 'b',
        polygons: [],
        shape: { kind: 'line', parts: [Float64Array.of(0, 0, 1e-9, 7)] },
      },
      { index: 5, id: 7, classValue: 2, polygons: [{ rings: [Float64Array.of(0, 0, 1, 0, 1, 1)] }] },
    ];
    expect(decodeLabelChunk(encodeLabelChunk(features))).toEqual(features);
  });
});

describe('footprints', () => {
  it('unionOf: overlapping rings become parts that do not overlap, with the union area', () => {
    // Two unit-ish squares overlapping in a 0.5 x 1 strip, and a disc over both.
    const a = Float64Array.of(0, 0, 1, 0, 1, 1, 0, 1);
    const b = Float64Array.of(0.5, 0, 1.5, 0, 1.5, 1, 0.5, 1);
    const parts = unionOf([a, b]);
    expect(parts.reduce((s, p) => s + signedArea(p.rings[0] as Float64Array), 0)).toBeCloseTo(1.5, 12);
    // Coverage of the parts adds up to the union's (exact coverage assumes parts do not overlap).
    const grid = { originX: 0, originY: 1, pixelSize: 0.5, width: 3, height: 2 };
    expect([...(polygonCoverage(parts, grid)?.fractions ?? [])]).toEqual([1, 1, 1, 1, 1, 1]);
    // Rings that do not overlap stay as they are.
    const far = Float64Array.of(5, 5, 6, 5, 6, 6);
    expect(unionOf([a, far]).map((p) => p.rings[0])).toEqual([a, far]);
  });

  it('a two-vertex line is one stadium; a polyline turns with a fillet on its outer side', () => {
    const r = 2;
    const [stadium] = linePieces(Float64Array.of(0, 0, 10, 0), r);
    const disc = 32 * Math.sin(Math.PI / 32) * r * r; // the 64-gon: two caps make one
    expect(signedArea(stadium as Float64Array)).toBeCloseTo(10 * 2 * r + disc, 9);
    // An L: two rectangles overlapping in an r x r square, two caps and a quarter fillet.
    const f = withFootprint(
      {
        index: 0,
        id: null,
        classValue: 1,
        polygons: [],
        shape: { kind: 'line', parts: [Float64Array.of(0, 0, 10, 0, 10, 10)] },
      },
      { lines: { width: 2 * r } },
    );
    const area = f.polygons.reduce((s, p) => s + signedArea(p.rings[0] as Float64Array), 0);
    const quarter = 8 * Math.sin(Math.PI / 32) * r * r; // 16 of the 64-gon's triangles
    expect(area).toBeCloseTo(2 * 10 * 2 * r - r * r + disc + quarter, 9);
  });
});

describe('long lines', () => {
  it('a 4000-vertex line is cut into bands and united band by band: the union area stays exact', () => {
    // A straight diagonal with 4000 collinear vertices: its buffer is one stadium.
    const n = 4000;
    const line = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      line[2 * i] = 500000 + 3 * i;
      line[2 * i + 1] = 5000000 + 4 * i;
    }
    const r = 2.5;
    const f = withFootprint(
      { index: 0, id: null, classValue: 1, polygons: [], shape: { kind: 'line', parts: [line] } },
      { lines: { width: 2 * r } },
    );
    const area = f.polygons.reduce((sum, p) => sum + signedArea(p.rings[0] as Float64Array), 0);
    const length = 5 * (n - 1);
    expect(area).toBeCloseTo(2 * r * length + 32 * Math.sin(Math.PI / 32) * r * r, 6);
    // Every part lies in the footprint's box: nothing leaks from the band cuts.
    for (const p of f.polygons)
      for (let i = 0; i < (p.rings[0] as Float64Array).length; i += 2)
        expect((p.rings[0] as Float64Array)[i] as number).toBeGreaterThanOrEqual(500000 - r - 1e-9);
  });
});

describe('a window with points kept only as vectors', () => {
  const point = (index: number, x: number, y: number): LabelFeature => ({
    index,
    id: `p${index}`,
    classValue: 'tree',
    polygons: [],
    shape: { kind: 'point', parts: [Float64Array.of(x, y)] },
    properties: { height: index },
  });
  const polygon: LabelFeature = {
    index: 2,
    id: 'field',
    classValue: 'crop',
    polygons: [{ rings: [Float64Array.of(-10, -10, 30, -10, 30, 30, -10, 30)] }],
  };
  const features = [point(0, 5, 15), point(1, 50, 50), polygon];
  const labels = {
    source: 'x',
    classProperty: 'c',
    yearProperty: 'year',
    repair: false,
    outputs: ['labels', 'instances', 'vector'],
    buildings: { boundaryWidth: 2, contactDistance: 2 },
    multilabel: { minFraction: 0.01 },
    points: { rasterize: 'none' },
  } as const;
  const rl = regionLabels(
    LabelIndex.build(features),
    { classes: buildClassTable(new Set(['tree', 'crop']), 0), coding: derivedCoding(0) },
    labels as never,
    { resolution: 10, size: 2 },
  );
  const bounds: Bounds = [0, 0, 20, 20];

  it('burns nothing for them, lists them in vector.json and counts them in the sample', () => {
    const w = labelWindow(rl, bounds);
    const doc = JSON.parse(
      new TextDecoder().decode(w.members.find((m) => m.name === 'vector.json')?.data),
    ) as VectorDocument;
    expect(doc.transform).toEqual([0, 10, 0, 20, 0, -10]);
    expect(doc.objects).toEqual([
      {
        instance: 1,
        id: 'p0',
        class: 2,
        value: 'tree',
        geometry: { type: 'Point', coordinates: [0.5, 0.5] },
        clipped: false,
        properties: { height: 0 },
      },
      {
        instance: 3,
        id: 'field',
        class: 1,
        value: 'crop',
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [-1, 3],
              [3, 3],
              [3, -1],
              [-1, -1],
              [-1, 3],
            ],
          ],
        },
        clipped: true,
      },
    ]);
    // The polygon owns every pixel; the point is in the sample through vector.json.
    expect(w.inSample).toEqual([0, 2]);
    expect(featureTouches(features[0] as LabelFeature, bounds)).toBe(true);
    expect(featureTouches(features[1] as LabelFeature, bounds)).toBe(false);
  });
});
