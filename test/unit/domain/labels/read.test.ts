// Reading ground truth: GeoJSON CRS rules (legacy crs member, RFC 7946, labels.crs), FlatGeobuf,
// DeepSatData CSV with WKT, clear errors for unknown EPSG codes, and the real parcel registers of
// the shared fixtures reprojected to WGS84 against GDAL's own conversion.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { area } from '@turf/turf';
import { serialize as serializeFgb } from 'flatgeobuf/lib/mjs/geojson.js';
import { describe, expect, it } from 'vitest';
import { proj4Definition } from '../../../../shared/domain/crs.ts';
import { InvalidInputError } from '../../../../shared/domain/errors.ts';
import { type RawFeature, readLabelSource } from '../../../../shared/domain/labels/read.ts';
import { reprojectFeatures } from '../../../../shared/domain/labels/reproject.ts';
import type { LabelFeature } from '../../../../shared/domain/labels/types.ts';
import { validateLabels } from '../../../../shared/domain/labels/validate.ts';
import { fixturesRoot, requireFixture, requireTool } from '../../../helpers/requirements.ts';

const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

const square = (x: number, y: number, s: number): GeoJSON.Polygon => ({
  type: 'Polygon',
  coordinates: [
    [
      [x, y],
      [x + s, y],
      [x + s, y + s],
      [x, y + s],
      [x, y],
    ],
  ],
});

const collection = (crs?: string): Record<string, unknown> => ({
  type: 'FeatureCollection',
  ...(crs ? { crs: { type: 'name', properties: { name: crs } } } : {}),
  features: [{ type: 'Feature', id: 7, properties: { c: 1 }, geometry: square(500000, 5000000, 100) }],
});

describe('readLabelSource: GeoJSON', () => {
  it('takes the CRS from the legacy crs member (urn, EPSG:n, CRS84)', async () => {
    for (const [name, epsg] of [
      ['urn:ogc:def:crs:EPSG::28992', 28992],
      ['EPSG:31287', 31287],
      ['urn:ogc:def:crs:OGC:1.3:CRS84', 4326],
    ] as const) {
      const set = await readLabelSource(enc(collection(name)), { source: 'a.geojson' });
      expect(set.epsg).toBe(epsg);
    }
  });

  it('defaults to EPSG:4326 (RFC 7946) and keeps the file id', async () => {
    const set = await readLabelSource(enc(collection()), { source: 'a.geojson' });
    expect(set.epsg).toBe(4326);
    expect(set.features[0]).toMatchObject({ index: 0, fileId: 7, properties: { c: 1 } });
  });

  it('labels.crs declares the CRS of a file without one and overrides a declared one', async () => {
    expect((await readLabelSource(enc(collection()), { source: 'a.json', crs: 'EPSG:31287' })).epsg).toBe(
      31287,
    );
    const over = await readLabelSource(enc(collection('EPSG:32633')), { source: 'a.json', crs: 'EPSG:3765' });
    expect(over.epsg).toBe(3765);
  });

  it('reads a single Feature', async () => {
    const set = await readLabelSource(enc({ type: 'Feature', properties: {}, geometry: square(1, 1, 1) }), {
      source: 'one.geojson',
    });
    expect(set.features).toHaveLength(1);
  });

  it('names an unknown EPSG code, the file and the database', async () => {
    const run = readLabelSource(enc(collection('EPSG:999999')), { source: 'parcels.geojson' });
    await expect(run).rejects.toBeInstanceOf(InvalidInputError);
    await expect(run).rejects.toThrow(
      /parcels\.geojson: EPSG:999999 is not in the EPSG database.*proj4js-definitions@/,
    );
    await expect(
      readLabelSource(enc(collection()), { source: 'x.geojson', crs: 'EPSG:nope' }),
    ).rejects.toThrow(/labels\.crs "EPSG:nope" is not an EPSG code/);
  });

  it('rejects a file that is not JSON, saying which', async () => {
    await expect(readLabelSource(enc('{oops'), { source: 'bad.geojson' })).rejects.toThrow(
      /bad\.geojson is not valid JSON/,
    );
  });
});

describe('proj4Definition', () => {
  it('keeps the built-in UTM path and finds national grids in the EPSG table', () => {
    expect(proj4Definition(32633)).toContain('+zone=33');
    expect(proj4Definition(28992)).toContain('+proj=sterea');
    expect(proj4Definition(31287)).toContain('+proj=lcc');
    expect(proj4Definition(3765)).toContain('+proj=tmerc');
    expect(() => proj4Definition(123456789)).toThrow(/EPSG:123456789 is not in the EPSG database/);
  });
});

describe('readLabelSource: FlatGeobuf', () => {
  const fc: GeoJSON.FeatureCollection = {
    type: 'FeatureCollection',
    features: [
      { type: 'Feature', properties: { crop: 'wheat', id: 11 }, geometry: square(500000, 5000000, 100) },
      { type: 'Feature', properties: { crop: 'maize', id: 12 }, geometry: square(500200, 5000000, 50) },
    ],
  };

  it('reads features and the CRS code of the header (flatgeobuf serializer)', async () => {
    const set = await readLabelSource(serializeFgb(fc, 32633), { source: 'parcels.fgb' });
    expect(set.epsg).toBe(32633);
    expect(set.features.map((f) => f.properties['crop'])).toEqual(['wheat', 'maize']);
    expect(set.features[1]?.geometry).toEqual(fc.features[1]?.geometry);
  });

  it('asks for labels.crs when the header has no CRS', async () => {
    await expect(readLabelSource(serializeFgb(fc), { source: 'nocrs.fgb' })).rejects.toThrow(
      /set labels\.crs/,
    );
    expect((await readLabelSource(serializeFgb(fc), { source: 'nocrs.fgb', crs: 'EPSG:32633' })).epsg).toBe(
      32633,
    );
  });

  it('reads a FlatGeobuf written by GDAL (ogr2ogr)', async (ctx) => {
    if (!requireTool('ogr2ogr')) return ctx.skip();
    const dir = mkdtempSync(path.join(tmpdir(), 'fgb-'));
    try {
      writeFileSync(path.join(dir, 'in.geojson'), JSON.stringify(collection('urn:ogc:def:crs:EPSG::31287')));
      const r = spawnSync('ogr2ogr', [
        '-f',
        'FlatGeobuf',
        path.join(dir, 'out.fgb'),
        path.join(dir, 'in.geojson'),
      ]);
      expect(r.status, String(r.stderr)).toBe(0);
      const set = await readLabelSource(readFileSync(path.join(dir, 'out.fgb')), { source: 'out.fgb' });
      expect(set.epsg).toBe(31287);
      expect(set.features).toHaveLength(1);
      expect(set.features[0]?.properties['c']).toBe(1);
      expect(set.features[0]?.geometry).toEqual(square(500000, 5000000, 100));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('readLabelSource: DeepSatData CSV', () => {
  const csv = [
    'id,ground_truth,crs,year,geometry',
    '1,3,32633,2023,"POLYGON ((500000 5000000, 500100 5000000, 500100 5000100, 500000 5000100, 500000 5000000), (500010 5000010, 500010 5000020, 500020 5000020, 500020 5000010, 500010 5000010))"',
    '2,"winter wheat, early",EPSG:32633,2023,"MULTIPOLYGON (((500200 5000000, 500300 5000000, 500300 5000100, 500200 5000000)), ((500400 5000000, 500500 5000000, 500500 5000100, 500400 5000000)))"',
    '3,4,32633,2023,"POLYGON ((1 2, oops))"',
    '',
  ].join('\r\n');

  it('parses WKT with holes and multipolygons, quoted commas and typed cells', async () => {
    const set = await readLabelSource(enc(csv), { source: 'labels.csv' });
    expect(set.epsg).toBe(32633);
    expect(set.features).toHaveLength(3);
    const [a, b, c] = set.features as [RawFeature, RawFeature, RawFeature];
    expect(a.properties).toEqual({ id: 1, ground_truth: 3, crs: 32633, year: 2023 });
    expect(a.geometry?.type).toBe('Polygon');
    expect((a.geometry as GeoJSON.Polygon).coordinates).toHaveLength(2);
    expect(b.properties['ground_truth']).toBe('winter wheat, early');
    expect((b.geometry as GeoJSON.MultiPolygon).coordinates).toHaveLength(2);
    expect(c.readProblem?.problem).toBe('invalid-wkt');
    expect(c.readProblem?.detail).toMatch(/line 4/);
    const checked = validateLabels(set, {
      classProperty: 'ground_truth',
      idProperty: 'id',
      year: 2023,
      repair: false,
      source: 'labels.csv',
    });
    expect(checked.features.map((f) => f.id)).toEqual([1, 2]);
    expect(checked.log).toEqual([
      expect.objectContaining({ index: 2, id: 3, problem: 'invalid-wkt', action: 'dropped' }),
    ]);
  });

  it('reprojects rows in another CRS to the first row’s', async () => {
    const rows = [
      'id,ground_truth,crs,year,geometry',
      '1,1,32633,2023,"POLYGON ((500000 5000000, 500100 5000000, 500100 5000100, 500000 5000000))"',
      '2,1,4326,2023,"POLYGON ((15 45.1, 15.001 45.1, 15.001 45.101, 15 45.1))"',
    ].join('\n');
    const set = await readLabelSource(enc(rows), { source: 'mixed.csv' });
    expect(set.epsg).toBe(32633);
    const first = (set.features[1]?.geometry as GeoJSON.Polygon | undefined)?.coordinates[0]?.[0] as number[];
    expect(first[0]).toBeCloseTo(500000, 3); // lon 15 is the central meridian of zone 33
  });
});

const labelsDir = path.join(fixturesRoot(), 'labels');
const haveFixtures = existsSync(labelsDir);

// The tests are made from the folder's files; without it only the first exists, and skips (fails in CI).
describe('real parcel registers (shared fixtures)', () => {
  const pairs = haveFixtures
    ? readdirSync(labelsDir)
        .map((f) => /^(.*)_EPSG(\d+)\.geojson$/.exec(f))
        .filter((m): m is RegExpExecArray => m !== null && m[2] !== '4326')
        .map((m) => ({ name: m[1] as string, epsg: Number(m[2]) }))
    : [];

  it('include the Dutch, Austrian and Croatian grids', (ctx) => {
    if (!requireFixture('labels')) return ctx.skip();
    expect(pairs.map((p) => p.epsg)).toEqual(expect.arrayContaining([28992, 31287, 3765]));
  });

  for (const { name, epsg } of pairs) {
    it(`${name}: EPSG:${epsg} reads and reprojects onto GDAL's EPSG:4326 twin within 1e-6°`, async () => {
      const read = async (code: number) => {
        const file = `${name}_EPSG${code}.geojson`;
        const raw = await readLabelSource(readFileSync(path.join(labelsDir, file)), { source: file });
        expect(raw.epsg).toBe(code);
        // A class property every feature has: the index keeps the two files' features paired.
        raw.features.forEach((f) => {
          f.properties['__k'] = f.index;
        });
        return validateLabels(raw, { classProperty: '__k', repair: true, source: file }).features;
      };
      const native = reprojectFeatures(await read(epsg), epsg, 4326);
      const twin = await read(4326);
      expect(native.length).toBe(twin.length);
      const byIndex = new Map(twin.map((f) => [f.index, f]));
      for (const f of native) {
        const g = byIndex.get(f.index) as LabelFeature;
        const a = toGeoJson(f);
        const b = toGeoJson(g);
        // RFC 7946 output rounds to 7 decimals and may split or rewind rings: compare centroids and areas.
        if (sameShape(f, g)) {
          expect(maxVertexDistance(f, g)).toBeLessThan(1e-6);
          continue;
        }
        const [ax, ay] = areaCentroid(f);
        const [bx, by] = areaCentroid(g);
        expect(Math.abs(ax - bx)).toBeLessThan(1e-6);
        expect(Math.abs(ay - by)).toBeLessThan(1e-6);
        // 7-decimal rounding moves vertices up to ~5 cm: allow that along the perimeter.
        expect(Math.abs(area(a) - area(b))).toBeLessThan(1e-3 * area(b) + 1);
      }
    });
  }
});

function toGeoJson(f: LabelFeature): GeoJSON.Feature<GeoJSON.MultiPolygon> {
  const coordinates = f.polygons.map((p) =>
    p.rings.map((r) => {
      const out: number[][] = [];
      for (let i = 0; i < r.length; i += 2) out.push([r[i] as number, r[i + 1] as number]);
      out.push(out[0] as number[]);
      return out;
    }),
  );
  return { type: 'Feature', properties: {}, geometry: { type: 'MultiPolygon', coordinates } };
}

/** Area-weighted centroid (planar, in degrees): unlike the vertex mean, blind to extra vertices. */
function areaCentroid(f: LabelFeature): [number, number] {
  let a = 0;
  let cx = 0;
  let cy = 0;
  for (const p of f.polygons)
    for (const r of p.rings) {
      const n = r.length / 2;
      const x0 = r[0] as number;
      const y0 = r[1] as number;
      for (let i = 0; i < n; i++) {
        const j = (i + 1) % n;
        const xi = (r[2 * i] as number) - x0;
        const yi = (r[2 * i + 1] as number) - y0;
        const xj = (r[2 * j] as number) - x0;
        const yj = (r[2 * j + 1] as number) - y0;
        const cross = xi * yj - xj * yi;
        a += cross;
        cx += (xi + xj + 2 * x0) * cross;
        cy += (yi + yj + 2 * y0) * cross;
      }
    }
  return [cx / (3 * a), cy / (3 * a)];
}

function sameShape(a: LabelFeature, b: LabelFeature): boolean {
  return (
    a.polygons.length === b.polygons.length &&
    a.polygons.every((p, i) => p.rings.every((r, j) => r.length === b.polygons[i]?.rings[j]?.length))
  );
}

function maxVertexDistance(a: LabelFeature, b: LabelFeature): number {
  let max = 0;
  a.polygons.forEach((p, i) => {
    p.rings.forEach((r, j) => {
      const s = b.polygons[i]?.rings[j] as Float64Array;
      for (let k = 0; k < r.length; k++) max = Math.max(max, Math.abs((r[k] as number) - (s[k] as number)));
    });
  });
  return max;
}
