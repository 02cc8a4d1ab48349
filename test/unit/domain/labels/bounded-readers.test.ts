// No label file can hold a core: garbage, truncated and hostile FlatGeobuf, GeoJSON and CSV inputs
// end promptly, in features or an error naming the file and the byte offset or line. (The
// flatgeobuf package looped forever on random bytes after its signature, and on a header of 0
// features with an index; it returned the first 25 of 50 features of a file cut in half.)
// Per-test timeouts only stop a hang: the readers need milliseconds, and no test measures time.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serialize as serializeFgb } from 'flatgeobuf/lib/mjs/geojson.js';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../../shared/domain/errors.ts';
import { type LabelReadLimits, readLabelSource } from '../../../../shared/domain/labels/read.ts';
import { findRingIntersection, RingCheckTooComplex } from '../../../../shared/domain/labels/rings.ts';
import { validateLabels } from '../../../../shared/domain/labels/validate.ts';
import {
  concat,
  fgbFeature,
  fgbFile,
  fgbHeader,
  fgbNestedFeature,
  fgbProperties,
  withXyLength,
} from '../../../helpers/fgb-builder.ts';
import { fixturesRoot, requireFixture, requireTool } from '../../../helpers/requirements.ts';

const HANG = 30_000;
const enc = (s: string) => new TextEncoder().encode(s);

const square = (x: number, y: number): number[][] => [
  [x, y],
  [x + 1, y],
  [x + 1, y + 1],
  [x, y + 1],
  [x, y],
];

/** 50 small parcels in EPSG:4326, as the flatgeobuf package writes them (no index). */
function parcels(n = 50): Uint8Array {
  return serializeFgb(
    {
      type: 'FeatureCollection',
      features: Array.from({ length: n }, (_, i) => ({
        type: 'Feature' as const,
        properties: { id: i, crop: i % 2 ? 'maize' : 'wheat' },
        geometry: { type: 'Polygon' as const, coordinates: [square(i, 0)] },
      })),
    },
    4326,
  );
}

/** Reads, expecting an InvalidInputError; returns it. */
async function refused(bytes: Uint8Array, source: string, limits?: Partial<LabelReadLimits>) {
  const error = await readLabelSource(bytes, { source, ...(limits ? { limits } : {}) }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the file was read').toBeInstanceOf(InvalidInputError);
  return error as InvalidInputError;
}

function random(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

describe('FlatGeobuf reader: garbage, truncation, hostile headers', () => {
  it(
    'refuses random bytes behind the FlatGeobuf signature, naming the file (the package looped forever)',
    async () => {
      for (let seed = 1; seed <= 50; seed++) {
        const bytes = random(4000, seed);
        bytes.set([0x66, 0x67, 0x62, 0x03, 0x66, 0x67, 0x62, 0x00]);
        const e = await refused(bytes, `garbage-${seed}.fgb`);
        expect(e.message).toMatch(
          new RegExp(`^garbage-${seed}\\.fgb is not a readable FlatGeobuf file \\(4000 bytes\\)`),
        );
        expect(e.context['byteOffset']).toEqual(expect.any(Number));
      }
    },
    HANG,
  );

  it('refuses a file without the signature, quoting its first bytes', async () => {
    const e = await refused(enc('PK\u0003\u0004 not a flatgeobuf at all'), 'labels.fgb');
    expect(e.message).toMatch(
      /does not start with the FlatGeobuf version 3 signature .* but with 50 4b 03 04/,
    );
  });

  it(
    'refuses every truncation of a file, naming the feature and byte offset, never returning the features before the cut',
    async () => {
      const whole = parcels(20);
      expect((await readLabelSource(whole, { source: 'p.fgb' })).features).toHaveLength(20);
      for (let cut = 0; cut < whole.length; cut++) {
        const e = await refused(whole.subarray(0, cut), 'p.fgb');
        expect(e.message).toMatch(/truncated|signature|header/);
      }
      const half = await refused(whole.subarray(0, Math.floor(whole.length / 2)), 'p.fgb');
      expect(half.message).toMatch(
        /feature \d+ at byte \d+ claims \d+ bytes, but \d+ remain: the file is truncated/,
      );
      expect(half.context['index']).toEqual(expect.any(Number));
    },
    HANG,
  );

  it('refuses a header that claims 2^40 features, from the header alone', async () => {
    const bytes = fgbFile(fgbHeader({ count: 2n ** 40n, epsg: 4326 }), [fgbFeature([square(0, 0)])]);
    const e = await refused(bytes, 'huge.fgb');
    expect(e.message).toMatch(
      /its header claims 1099511627776 features, more than the 10000000 a label file may hold/,
    );
    // Under the cap, a count that cannot fit in the file is refused just as fast.
    const e2 = await refused(
      fgbFile(fgbHeader({ count: 5_000_000, epsg: 4326 }), [fgbFeature([square(0, 0)])]),
      'x.fgb',
    );
    expect(e2.message).toMatch(/claims 5000000 features, which cannot fit in the \d+ bytes after the header/);
  });

  it(
    'reads a header of 0 features (count unknown) with an index node size as a plain list (the package looped forever)',
    async () => {
      const bytes = fgbFile(fgbHeader({ count: 0, indexNodeSize: 16, epsg: 4326 }), [
        fgbFeature([square(0, 0)]),
        fgbFeature([square(1, 0)]),
      ]);
      const set = await readLabelSource(bytes, { source: 'stream.fgb' });
      expect(set.features.map((f) => f.geometry)).toEqual([
        { type: 'Polygon', coordinates: [square(0, 0)] },
        { type: 'Polygon', coordinates: [square(1, 0)] },
      ]);
    },
    HANG,
  );

  it('refuses a feature whose coordinate vector claims 2^32 - 1 values, naming the feature', async () => {
    const bad = withXyLength(fgbFeature([square(5, 5)]), 0xffffffff);
    const bytes = fgbFile(fgbHeader({ count: 2, epsg: 4326 }), [fgbFeature([square(0, 0)]), bad]);
    const e = await refused(bytes, 'vector.fgb');
    expect(e.message).toMatch(
      /feature 1 \(bytes \d+\.\.\d+\): the coordinates at byte \d+ \(34359738360 bytes\) runs outside/,
    );
    expect(e.context['index']).toBe(1);
  });

  it('refuses a property that names a column the header lacks, and features past the announced count', async () => {
    const header = fgbHeader({ count: 1, epsg: 4326, columns: [{ name: 'crop', type: 11 }] });
    const props = fgbProperties([{ column: 5, int32: 1 }]);
    const e = await refused(fgbFile(header, [fgbFeature([square(0, 0)], props)]), 'cols.fgb');
    expect(e.message).toMatch(/a property names column 5, but the header has 1/);
    const ok = fgbFile(header, [fgbFeature([square(0, 0)], fgbProperties([{ column: 0, text: 'maize' }]))]);
    expect((await readLabelSource(ok, { source: 'ok.fgb' })).features[0]?.properties).toEqual({
      crop: 'maize',
    });
    const extra = concat(ok, fgbFeature([square(1, 0)]));
    expect((await refused(extra, 'extra.fgb')).message).toMatch(
      /bytes follow the 1 features its header announces/,
    );
  });

  it('refuses geometry parts nested 33 levels deep, and reads 32', async () => {
    const header = () => fgbHeader({ count: 1, geometryType: 0, epsg: 4326 });
    expect((await refused(fgbFile(header(), [fgbNestedFeature(33)]), 'deep.fgb')).message).toMatch(
      /geometry parts nest deeper than 32 levels/,
    );
    const set = await readLabelSource(fgbFile(header(), [fgbNestedFeature(31)]), { source: 'ok.fgb' });
    expect(set.features[0]?.geometry?.type).toBe('GeometryCollection');
  });

  it(
    'ends every single-byte corruption of a file in all its features or an error',
    async () => {
      const whole = parcels(10);
      for (let at = 0; at < whole.length; at++) {
        const bytes = Uint8Array.from(whole);
        bytes[at] = (bytes[at] as number) ^ 0xff;
        const outcome = await readLabelSource(bytes, { source: 'flip.fgb' }).then(
          (set) => set.features.length,
          (e: unknown) => e,
        );
        if (typeof outcome === 'number') expect(outcome, `byte ${at}`).toBe(10);
        else expect(outcome, `byte ${at}`).toBeInstanceOf(InvalidInputError);
      }
    },
    HANG,
  );

  it('reads the real parcels written by GDAL with a spatial index, equal to their GeoJSON', async (ctx) => {
    const FOLDER = 'labels';
    if (!requireFixture(FOLDER) || !requireTool('ogr2ogr')) return ctx.skip();
    const source = path.join(fixturesRoot(), FOLDER, 'parcels_at_invekos_2025-1_sample_EPSG31287.geojson');
    const dir = mkdtempSync(path.join(tmpdir(), 'fgb-gdal-'));
    try {
      const out = path.join(dir, 'parcels.fgb');
      const r = spawnSync('ogr2ogr', ['-f', 'FlatGeobuf', '-lco', 'SPATIAL_INDEX=YES', out, source]);
      expect(r.status, String(r.stderr)).toBe(0);
      const fgb = await readLabelSource(readFileSync(out), { source: 'parcels.fgb' });
      const geojson = await readLabelSource(readFileSync(source), { source: 'parcels.geojson' });
      expect(fgb.epsg).toBe(31287);
      expect(fgb.features.length).toBe(geojson.features.length);
      // GDAL writes features in the index's (Hilbert) order: match them by geometry.
      const key = (g: unknown) => JSON.stringify(g);
      const expected = new Set(geojson.features.map((f) => key(f.geometry)));
      for (const f of fgb.features) expect(expected.has(key(f.geometry))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('GeoJSON and CSV readers: garbage, truncation, hostile nesting and sizes', () => {
  it('refuses garbage bytes and a GeoJSON cut in half as not valid JSON, naming the file', async () => {
    const garbage = await refused(random(3000, 7), 'labels.geojson');
    expect(garbage.message).toMatch(/^labels\.geojson is not valid JSON/);
    const doc = JSON.stringify({
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', properties: { c: 1 }, geometry: { type: 'Polygon', coordinates: [square(0, 0)] } },
      ],
    });
    const cut = await refused(enc(doc.slice(0, doc.length / 2)), 'cut.geojson');
    expect(cut.message).toMatch(/^cut\.geojson is not valid JSON \(.*\); export it again as GeoJSON/);
  });

  it(
    'logs and drops a feature whose GeometryCollections nest 100,000 deep, without a stack overflow',
    async () => {
      let g = '{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}';
      for (let i = 0; i < 100_000; i++) g = `{"type":"GeometryCollection","geometries":[${g}]}`;
      const text = `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"c":1},"geometry":${g}},{"type":"Feature","properties":{"c":2},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}`;
      const set = await readLabelSource(enc(text), { source: 'deep.geojson' });
      const checked = validateLabels(set, { classProperty: 'c', repair: false, source: 'deep.geojson' });
      expect(checked.features.map((f) => f.classValue)).toEqual([2]);
      expect(checked.log).toEqual([
        expect.objectContaining({
          index: 0,
          problem: 'invalid-geometry',
          action: 'dropped',
          detail: '/features/0/geometry nests GeometryCollections deeper than 32 levels',
        }),
      ]);
    },
    HANG,
  );

  it(
    'drops a feature whose coordinates nest 1,000,000 arrays deep as not positions',
    async () => {
      const deep = `${'['.repeat(1_000_000)}0${']'.repeat(1_000_000)}`;
      const text = `{"type":"Feature","properties":{"c":1},"geometry":{"type":"Polygon","coordinates":${deep}}}`;
      const set = await readLabelSource(enc(text), { source: 'nested.geojson' });
      const checked = validateLabels(set, { classProperty: 'c', repair: false, source: 'nested.geojson' });
      expect(checked.features).toEqual([]);
      expect(checked.log[0]).toMatchObject({ problem: 'out-of-range-coordinates', action: 'dropped' });
    },
    HANG,
  );

  it('refuses a label file with more features or bytes than the limits, saying what to do', async () => {
    const fc = JSON.stringify({
      type: 'FeatureCollection',
      features: Array.from({ length: 11 }, () => ({ type: 'Feature', properties: {}, geometry: null })),
    });
    const many = await refused(enc(fc), 'many.geojson', { maxFeatures: 10 });
    expect(many.message).toMatch(/many\.geojson holds 11 features, more than the 10 a label file may hold/);
    const big = await refused(enc(fc), 'big.geojson', { maxTextBytes: 100 });
    expect(big.message).toMatch(/big\.geojson is \d+ bytes, more than the 100 .* convert it to FlatGeobuf/);
    const fgb = await refused(parcels(11), 'many.fgb', { maxFeatures: 10 });
    expect(fgb.message).toMatch(/its header claims 11 features, more than the 10/);
    const unknownCount = fgbFile(
      fgbHeader({ count: 0, epsg: 4326 }),
      Array.from({ length: 11 }, (_, i) => fgbFeature([square(i, 0)])),
    );
    expect((await refused(unknownCount, 'stream.fgb', { maxFeatures: 10 })).message).toMatch(
      /holds more than the 10 features a label file may hold/,
    );
    const csv = `id,ground_truth,geometry\n${Array.from({ length: 11 }, (_, i) => `${i},1,"POINT (0 0)"`).join('\n')}`;
    expect((await refused(enc(csv), 'many.csv', { maxFeatures: 10 })).message).toMatch(
      /holds 11 rows, more than the 10/,
    );
  });

  it('refuses a CSV cut inside a quoted field, naming the line', async () => {
    const csv = 'id,ground_truth,geometry\n1,3,"POLYGON ((0 0, 1 0, 1 1, 0 0))"\n2,4,"POLYGON ((0 0, 1 0,';
    const e = await refused(enc(csv), 'cut.csv');
    expect(e.message).toMatch(/^cut\.csv: a quoted field opened on line 3 is never closed/);
    const garbage = await refused(random(2000, 3), 'garbage.csv');
    expect(garbage.message).toMatch(/^garbage\.csv: the CSV has no "geometry" column/);
  });

  it(
    'drops a CSV row whose WKT nests GEOMETRYCOLLECTIONs 100,000 deep, naming the line, without a stack overflow',
    async () => {
      const wkt = `${'GEOMETRYCOLLECTION ('.repeat(100_000)}POINT (1 2)${')'.repeat(100_000)}`;
      const csv = `id,ground_truth,geometry\n1,3,"${wkt}"\n2,4,"POLYGON ((0 0, 1 0, 1 1, 0 0))"\n`;
      const set = await readLabelSource(enc(csv), { source: 'deep.csv' });
      expect(set.features[0]?.readProblem?.detail).toMatch(/line 2: geometries nested deeper than 32 levels/);
      expect(set.features[1]?.geometry?.type).toBe('Polygon');
    },
    HANG,
  );
});

describe('ring crossings: bounded work for any polygon', () => {
  /** A comb: 100,000 vertices zig-zagging between x = 0 and x = 1, closed by a far edge. */
  function comb(n: number, crossAt?: number): Float64Array {
    const pts: number[] = [];
    for (let i = 0; i < n; i++) pts.push(i % 2 ? 1 : 0, i);
    pts.push(2, n, 2, 0);
    if (crossAt !== undefined) pts[2 * crossAt] = 3; // this tooth now reaches past the closing edge
    return Float64Array.from(pts);
  }

  it(
    'checks a 100,000-vertex comb in one pass (the x-sweep took 20 s for 10,000) and finds its one crossing',
    () => {
      expect(findRingIntersection([comb(100_000)])).toBeUndefined();
      expect(findRingIntersection([comb(100_000, 50_001)])).toMatchObject({
        ringA: 0,
        ringB: 0,
        kind: 'cross',
      });
    },
    HANG,
  );

  it(
    'drops a polygon whose edges overlap too much to check in bounded time, as too-complex (logged)',
    () => {
      // A sunflower: 8,000 spikes round one centre, no crossing, but 16,000 edges whose boxes all meet.
      const ring: number[][] = [];
      for (let i = 0; i < 8000; i++) {
        const a = (2 * Math.PI * i) / 8000;
        const b = (2 * Math.PI * (i + 0.5)) / 8000;
        ring.push([Math.cos(a) * 1000, Math.sin(a) * 1000], [Math.cos(b), Math.sin(b)]);
      }
      ring.push(ring[0] as number[]);
      expect(() => findRingIntersection([Float64Array.from(ring.slice(0, -1).flat())], 1000)).toThrow(
        RingCheckTooComplex,
      );
      const checked = validateLabels(
        {
          epsg: 32633,
          features: [{ index: 0, geometry: { type: 'Polygon', coordinates: [ring] }, properties: { c: 1 } }],
        },
        { classProperty: 'c', repair: false, source: 'sunflower.geojson' },
      );
      expect(checked.features).toEqual([]);
      expect(checked.log[0]).toMatchObject({ problem: 'too-complex', action: 'dropped' });
      expect(checked.log[0]?.detail).toMatch(/16000 edges have more than 20000000 pairs/);
    },
    2 * HANG,
  );
});
