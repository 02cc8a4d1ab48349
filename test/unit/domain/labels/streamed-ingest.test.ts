// Streamed label ingestion (1 M parcels in bounded memory): FlatGeobuf features come one at a time,
// the validator hands kept features to a sink instead of collecting them, and the chunk is built
// feature by feature. Each gives what the whole-file path gives.
import { serialize as serializeFgb } from 'flatgeobuf/lib/mjs/geojson.js';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../../shared/domain/errors.ts';
import { decodeLabelChunk, LabelChunkWriter } from '../../../../shared/domain/labels/chunk.ts';
import { readLabelSource, readLabelStream } from '../../../../shared/domain/labels/read.ts';
import type { LabelFeature } from '../../../../shared/domain/labels/types.ts';
import { validateLabels } from '../../../../shared/domain/labels/validate.ts';

const square = (x: number, y: number, s = 1): number[][] => [
  [x, y],
  [x + s, y],
  [x + s, y + s],
  [x, y + s],
  [x, y],
];

/** n parcels in EPSG:4326; every 7th is wound clockwise (fixed) and every 11th has zero area (dropped). */
function parcels(n: number): Uint8Array {
  return serializeFgb(
    {
      type: 'FeatureCollection',
      features: Array.from({ length: n }, (_, i) => {
        let ring = square((i % 100) * 0.01, Math.floor(i / 100) * 0.01, 0.005);
        if (i % 7 === 0) ring = [...ring].reverse();
        if (i % 11 === 0) ring = [ring[0]!, ring[1]!, ring[0]!, ring[0]!];
        return {
          type: 'Feature' as const,
          properties: { id: i, crop: ['maize', 'wheat', 'meadow'][i % 3] as string },
          geometry: { type: 'Polygon' as const, coordinates: [ring] },
        };
      }),
    },
    4326,
  );
}

const OPTIONS = { classProperty: 'crop', idProperty: 'id', repair: false, source: 'p.fgb' } as const;

describe('streamed label ingestion', () => {
  it('reads FlatGeobuf features lazily, the same features as the whole-file reader', async () => {
    const bytes = parcels(300);
    const whole = await readLabelSource(bytes, { source: 'p.fgb' });
    const stream = await readLabelStream(bytes, { source: 'p.fgb' });
    expect(Array.isArray(stream.features)).toBe(false);
    expect(stream.epsg).toBe(whole.epsg);
    expect([...stream.features]).toEqual(whole.features);
  });

  it('validates a stream into a sink: the same kept features, log and counts as a whole set', async () => {
    const bytes = parcels(300);
    const whole = validateLabels(await readLabelSource(bytes, { source: 'p.fgb' }), OPTIONS);
    const kept: LabelFeature[] = [];
    const streamed = validateLabels(await readLabelStream(bytes, { source: 'p.fgb' }), {
      ...OPTIONS,
      keep: (f) => kept.push(f),
    });
    expect(streamed.features).toEqual([]);
    expect(kept).toEqual(whole.features);
    expect(streamed.log).toEqual(whole.log);
    expect(streamed.counts).toEqual(whole.counts);
    expect(streamed.read).toBe(300);
    expect(streamed.kept).toBe(kept.length);
    // The fixture exercises both outcomes: some fixed, some dropped.
    expect(whole.log.some((e) => e.action === 'fixed')).toBe(true);
    expect(whole.log.some((e) => e.action === 'dropped')).toBe(true);
    expect(streamed.kept).toBeLessThan(300);
  });

  it('names a FlatGeobuf file cut short when the iteration reaches the cut', async () => {
    const bytes = parcels(50);
    const cut = bytes.subarray(0, bytes.length - 40);
    const stream = await readLabelStream(cut, { source: 'cut.fgb' });
    let error: unknown;
    try {
      validateLabels(stream, { ...OPTIONS, source: 'cut.fgb', keep: () => {} });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatch(/cut\.fgb is not a readable FlatGeobuf file .*truncated/);
  });

  it('refuses labels.year with no year property once a stream is read', async () => {
    const stream = await readLabelStream(parcels(20), { source: 'p.fgb' });
    expect(() => validateLabels(stream, { ...OPTIONS, year: 2024, keep: () => {} })).toThrow(
      /labels.year is 2024 but no feature has a "year" property/,
    );
  });

  it('reads a GeoJSON FeatureCollection feature by feature: the same features, crs wherever it is', async () => {
    const enc = (t: string) => new TextEncoder().encode(t);
    const feature = (i: number, name: string) =>
      `{"type":"Feature","id":${i},"properties":{"crop":${JSON.stringify(name)}},"geometry":{"type":"Polygon","coordinates":[${JSON.stringify(square(i * 10, 0, 5))}]}}`;
    // Brackets, braces, escaped quotes and non-ASCII inside strings; the crs after the features; a BOM.
    const names = ['ma]ize', 'wh{eat', 'a "quoted" \\ name', 'Weizen – ü', '[]{}'];
    const text = `\uFEFF {\n "type" : "FeatureCollection",\n "features" : [ ${names.map((n, i) => feature(i, n)).join(' ,\n ')} ] ,\n "bbox": [0, 0, 1, 1], "crs": {"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::32633"}} }\n`;
    const bytes = enc(text);
    const whole = await readLabelSource(bytes, { source: 'p.geojson' });
    const stream = await readLabelStream(bytes, { source: 'p.geojson' });
    expect(Array.isArray(stream.features)).toBe(false);
    expect(stream.epsg).toBe(32633);
    expect(whole.epsg).toBe(32633);
    const streamed = [...stream.features];
    expect(streamed).toEqual(whole.features);
    expect(streamed.map((f) => f.properties['crop'])).toEqual(names);
    // An empty collection streams too.
    const empty = await readLabelStream(enc('{"features": [ ], "type": "FeatureCollection"}'), {
      source: 'e.geojson',
    });
    expect([...empty.features]).toEqual([]);
  });

  it('gives a GeoJSON file the whole reader refuses the same error, whether streamed or not', async () => {
    const enc = (t: string) => new TextEncoder().encode(t);
    const good = `{"type":"Feature","properties":{"crop":"maize"},"geometry":{"type":"Polygon","coordinates":[${JSON.stringify(square(0, 0))}]}}`;
    const bad = [
      `{"type":"FeatureCollection","features":[${good}],}`, // trailing comma at the top
      `{"type":"FeatureCollection","features":[${good},${good.replace('"maize"', 'maize')}]}`, // inside a feature
      `{"type":"FeatureCollection","features":[${good}]} x`, // garbage after the document
      `{"type":"FeatureCollection","features":{}}`, // not an array
    ];
    for (const text of bad) {
      const whole = await readLabelSource(enc(text), { source: 'b.geojson' }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(whole, text).toBeInstanceOf(InvalidInputError);
      let streamed: unknown;
      try {
        const stream = await readLabelStream(enc(text), { source: 'b.geojson' });
        validateLabels(stream, { ...OPTIONS, source: 'b.geojson', keep: () => {} });
      } catch (e) {
        streamed = e;
      }
      expect((streamed as Error | undefined)?.message, text).toBe(whole?.message);
    }
    // A single Feature is read whole, as before.
    const one = await readLabelStream(enc(good), { source: 'f.geojson' });
    expect(Array.isArray(one.features)).toBe(true);
    expect([...one.features]).toHaveLength(1);
  });

  it('builds a chunk feature by feature that decodes to the features, past its first buffer', () => {
    const features: LabelFeature[] = Array.from({ length: 700 }, (_, i) => ({
      index: i,
      id: i % 5 ? i : `p-${i}`,
      classValue: i % 2 ? 'maize' : 3,
      polygons: [
        {
          rings: [
            Float64Array.from(
              square(i, -i, 0.1 + i / 7)
                .slice(0, 4)
                .flat(),
            ),
          ],
        },
        ...(i % 3 ? [] : [{ rings: [Float64Array.from([0.1, 0.2, 0.3, 0.2, 0.3, 1e-9 * i])] }]),
      ],
    }));
    const writer = new LabelChunkWriter();
    for (const f of features) writer.add(f);
    expect(writer.features).toBe(700);
    expect(decodeLabelChunk(writer.finish())).toEqual(features);
  });
});
