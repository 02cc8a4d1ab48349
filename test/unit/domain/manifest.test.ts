// The manifest contract: a complete manifest parses, its accounting invariants are enforced with
// IntegrityError, and the job hash is canonical (key order and formatting do not change it).

import { describe, expect, it } from 'vitest';
import { bandMetadata } from '../../../shared/domain/band-metadata.ts';
import { IntegrityError } from '../../../shared/domain/errors.ts';
import { canonicalJson, sha256Hex } from '../../../shared/domain/hashing.ts';
import {
  checkManifestTotals,
  jobSha256Of,
  type Manifest,
  ManifestSchema,
  manifestSchemaProblems,
  manifestTotalsProblems,
} from '../../../shared/domain/manifest.ts';

const job = { name: 'crops-2023', bands: ['blue', 'red'], windows: { size: 24, stride: 24 } };
const sha = (c: string) => c.repeat(64);

function manifest(): Manifest {
  return {
    format: 'satfactory-webdataset',
    version: '2',
    name: 'crops-2023',
    runId: 'crops-2023-abc123',
    createdAt: '2024-01-02T03:04:05.678Z',
    software: 'satfactory 0.1.0',
    job,
    jobSha256: jobSha256Of(job),
    catalog: {
      description: 'STAC https://earth-search.aws.element84.com/v1',
      url: 'https://earth-search.aws.element84.com/v1',
      collection: 'sentinel-2-c1-l2a',
      pages: 1,
      items: 2,
      requestsPrefix: 'runs/crops-2023-abc123/catalog/',
    },
    sources: [
      {
        id: 'S2A_33TWL_20230605_0_L2A',
        collection: 'sentinel-2-c1-l2a',
        datetime: '2023-06-05T10:00:00Z',
        tile: '33TWL',
        cloudCover: 3.5,
        hrefs: { blue: 'https://x/B02.tif', red: 'https://x/B04.tif' },
      },
    ],
    bands: [
      {
        group: '10m',
        resolution: 10,
        bands: [
          {
            name: 'blue',
            scale: 0.0001,
            offset: -0.1,
            nodata: 0,
            dataType: 'uint16',
            ...bandMetadata('blue', [], true),
          },
          {
            name: 'red',
            scale: 0.0001,
            offset: -0.1,
            nodata: 0,
            dataType: 'uint16',
            ...bandMetadata('red', [], true),
          },
        ],
      },
    ],
    scl: null,
    grid: {
      windowSize: 24,
      stride: 24,
      tiles: [
        {
          tile: '33TWL',
          epsg: 32633,
          resolution: 10,
          originX: 499980,
          originY: 5000040,
          dates: ['2023-06-05'],
        },
      ],
    },
    classes: {
      property: 'crop',
      origin: 'derived',
      background: 0,
      backgroundIs: 'class',
      ignoreIndex: null,
      unknown: null,
      trainingIds: [0, 1],
      table: [{ id: 1, index: 1, value: 'wheat', pixels: 10 }],
    },
    splits: {
      train: { samples: 3, shards: 2 },
      validation: { samples: 1, shards: 1 },
      test: { samples: 0, shards: 0 },
    },
    shards: [
      {
        path: 'train/crops-2023-train-000000.tar',
        split: 'train',
        bytes: 10240,
        sha256: sha('a'),
        samples: 2,
      },
      {
        path: 'train/crops-2023-train-000001.tar',
        split: 'train',
        bytes: 5120,
        sha256: sha('b'),
        samples: 1,
      },
      {
        path: 'validation/crops-2023-validation-000000.tar',
        split: 'validation',
        bytes: 5120,
        sha256: sha('c'),
        samples: 1,
      },
    ],
    totals: { planned: 6, written: 4, rejected: 2 },
    rejects: 'rejects.jsonl',
    stats: {
      split: 'train',
      dates: 'all',
      pixels: 'not nodata',
      excludedScl: [3, 8, 9, 10],
      units: 'stored',
      percentiles: 'linear',
      bands: {
        blue: {
          count: 2304,
          mean: 812.5,
          std: 120.25,
          min: 1,
          max: 4000,
          p1: 2,
          p2: 3.5,
          p50: 790,
          p98: 2100,
          p99: 3000,
        },
        red: {
          count: 0,
          mean: null,
          std: null,
          min: null,
          max: null,
          p1: null,
          p2: null,
          p50: null,
          p98: null,
          p99: null,
        },
      },
    },
  };
}

describe('ManifestSchema', () => {
  it('accepts a complete manifest, also after a JSON round trip', () => {
    const m = manifest();
    expect(ManifestSchema.parse(JSON.parse(JSON.stringify(m)))).toEqual(m);
    expect(manifestSchemaProblems(m)).toEqual([]);
  });

  it('says where a manifest is wrong', () => {
    const m = manifest() as unknown as Record<string, unknown>;
    const bad = {
      ...m,
      version: '1',
      shards: [{ path: '../escape.tar', split: 'train', bytes: 1, sha256: 'xyz', samples: 1 }],
      unknownField: true,
    };
    const problems = manifestSchemaProblems(bad).join('\n');
    expect(problems).toMatch(/\/version/);
    expect(problems).toMatch(/\/shards\/0\/path/);
    expect(problems).toMatch(/\/shards\/0\/sha256/);
    expect(problems).toMatch(/unknownField/);
  });

  it('refuses absolute shard paths and duplicate band groups', () => {
    const m = manifest();
    m.shards[0]!.path = '/abs/x.tar';
    const g = m.bands[0]!;
    m.bands.push({ ...g });
    const problems = manifestSchemaProblems(m).join('\n');
    expect(problems).toMatch(/shards\/0\/path/);
    expect(problems).toMatch(/band groups must be unique/);
  });
});

describe('checkManifestTotals', () => {
  it('passes balanced books', () => {
    expect(() => checkManifestTotals(manifest())).not.toThrow();
  });

  it('throws IntegrityError when planned != written + rejected', () => {
    const m = manifest();
    m.totals.rejected = 1;
    expect(() => checkManifestTotals(m)).toThrow(IntegrityError);
    expect(() => checkManifestTotals(m)).toThrow(/planned 6 != written 4 \+ rejected 1/);
  });

  it('catches written vs shard samples, split counts, duplicate paths and shards outside their split', () => {
    const m = manifest();
    m.totals = { planned: 7, written: 5, rejected: 2 };
    m.splits.validation.shards = 2;
    m.shards.push({ ...m.shards[0]!, split: 'test' });
    const problems = manifestTotalsProblems(m);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/written 5 != 6 samples listed in shards/),
        expect.stringMatching(/splits\.validation: declares 1 samples in 2 shards, shards list 1 in 1/),
        expect.stringMatching(/splits\.test: declares 0 samples in 0 shards, shards list 2 in 1/),
        expect.stringMatching(/listed twice/),
        expect.stringMatching(/is not under test\//),
      ]),
    );
  });
});

describe('hashing', () => {
  it('canonicalJson sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1], c: null }, u: undefined })).toBe(
      '{"a":{"c":null,"d":[3,1]},"b":1}',
    );
    expect(
      jobSha256Of({ windows: { stride: 24, size: 24 }, bands: ['blue', 'red'], name: 'crops-2023' }),
    ).toBe(jobSha256Of(job));
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(/no JSON form/);
  });

  it('sha256Hex hashes bytes and UTF-8 strings alike', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe(sha256Hex('abc'));
  });
});

describe('manifest JSON Schema', () => {
  it('ships schema/manifest.schema.json generated from the zod schema (npm run generate)', async () => {
    const { readFile } = await import('node:fs/promises');
    const { MANIFEST_SCHEMA_PATH, renderManifestSchema } = await import(
      '../../../scripts/generate-schema.ts'
    );
    const shipped = await readFile(MANIFEST_SCHEMA_PATH, 'utf8');
    expect(shipped).toBe(renderManifestSchema());
    expect(JSON.parse(shipped).required).toEqual(
      expect.arrayContaining(['format', 'version', 'shards', 'totals']),
    );
  });

  it('describes every field', async () => {
    const { undescribedManifestFields } = await import('../../../scripts/manifest-fields.ts');
    expect(undescribedManifestFields()).toEqual([]);
  });
});
