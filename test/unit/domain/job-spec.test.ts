import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { renderJobSchema, SCHEMA_PATH } from '../../../scripts/generate-schema.ts';
import { JobSpecError } from '../../../shared/domain/errors.ts';
import { jobSpecWarnings, jsonPointer, parseJobSpec } from '../../../shared/domain/job-spec.ts';

const minimal = {
  name: 'crops-2023',
  catalog: {
    kind: 'stac',
    url: 'https://earth-search.aws.element84.com/v1',
    collection: 'sentinel-2-c1-l2a',
  },
  aoi: {
    type: 'Polygon',
    coordinates: [
      [
        [15, 45],
        [15.1, 45],
        [15.1, 45.1],
        [15, 45],
        [15, 45],
      ],
    ],
  },
  period: { start: '2023-03-01', end: '2023-10-31' },
  bands: ['blue', 'green', 'red', 'nir'],
  windows: { size: 24 },
  output: { uri: './datasets/crops-2023' },
};

describe('job spec', () => {
  it('fills defaults the design documents', () => {
    const job = parseJobSpec(minimal);
    expect(job.selection).toEqual({
      maxCloudCover: 100,
      maxNodataPercent: 100,
      minAoiCoverage: 0,
      spread: 'uniform',
    });
    // No regionTiles: regions are chosen so that each COG tile is fetched once (regions.ts).
    expect(job.windows).toEqual({ size: 24, where: 'aoi', edge: 'drop' });
    expect(job.splits).toEqual({
      method: 'blocks',
      train: 0.8,
      validation: 0.1,
      test: 0.1,
      seed: 0,
      buffer: 0,
      allowEmpty: false,
    });
    expect(job.catalog).toMatchObject({ limit: 100, maxPages: 50, maxItems: 5000 });
  });

  it('names the JSON pointer of every problem and what was expected', () => {
    const bad = {
      ...minimal,
      selection: { maxCloudCover: 130 },
      windows: { size: 24.5 },
      bands: ['red', 'red'],
      period: { start: '2023-10-01', end: '2023-03-01' },
    };
    let error: unknown;
    try {
      parseJobSpec(bad, 'job.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(JobSpecError);
    const message = (error as Error).message;
    expect(message).toContain('job.json is invalid');
    expect(message).toMatch(/\/selection\/maxCloudCover: .*100/);
    expect(message).toMatch(/\/windows\/size: .*int/i);
    expect(message).toContain('/bands: band names must be unique');
    expect(message).toContain('/period: period.start must not be after period.end');
    expect((error as JobSpecError).context.pointer).toBe('/period');
  });

  it('rejects unknown fields so typos do not pass silently', () => {
    expect(() => parseJobSpec({ ...minimal, windowz: {} })).toThrow(/windowz/);
  });

  it('checks that split fractions add up to 1', () => {
    expect(() =>
      parseJobSpec({ ...minimal, splits: { method: 'blocks', train: 0.5, validation: 0.1, test: 0.1 } }),
    ).toThrow(/\/splits: train \+ validation \+ test must add up to 1/);
  });

  it('reads the old split name validate as validation, and says so', () => {
    const raw = { ...minimal, splits: { method: 'random', train: 0.6, validate: 0.2, test: 0.2 } };
    expect(parseJobSpec(raw).splits).toMatchObject({ validation: 0.2 });
    expect(jobSpecWarnings(raw)).toEqual([
      expect.stringMatching(/\/splits\/validate is now \/splits\/validation/),
    ]);
    expect(jobSpecWarnings(minimal)).toEqual([]);
  });

  it('escapes JSON pointer tokens', () => {
    expect(jsonPointer(['a/b', 'c~d', 0])).toBe('/a~1b/c~0d/0');
    expect(jsonPointer([])).toBe('/');
  });

  it('ships a JSON Schema generated from the zod schema (npm run generate)', async () => {
    const shipped = await readFile(SCHEMA_PATH, 'utf8');
    expect(shipped).toBe(renderJobSchema());
    const schema = JSON.parse(shipped);
    expect(schema.required).toEqual(
      expect.arrayContaining(['name', 'catalog', 'aoi', 'period', 'bands', 'windows', 'output']),
    );
    expect(schema.properties.selection.properties.maxCloudCover.maximum).toBe(100);
  });
});
