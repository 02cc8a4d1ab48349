// A small valid manifest for unit tests of the builders that read one (STAC, dataset card).
import { createHistogram, summarizeHistogram } from '../../shared/domain/band-stats.ts';
import { jobSha256Of, type Manifest, ManifestSchema } from '../../shared/domain/manifest.ts';

const sha = (c: string) => c.repeat(64);
const job = { name: 'crops', period: { start: '2023-05-01', end: '2023-07-31' } };
// A band with no pixel counted, as band-stats.ts summarizes it.
const emptyStats = summarizeHistogram(createHistogram());

// Band metadata as a source without eo:bands and without a Sentinel-2 band id gives it.
const UNKNOWN_BAND = {
  commonName: null,
  bandId: null,
  centerWavelength: null,
  fullWidthHalfMax: null,
  wavelengthFrom: null,
  units: 'DN',
} as const;

export function sampleManifest(overrides: Partial<Manifest> = {}): Manifest {
  return ManifestSchema.parse({
    format: 'satfactory-webdataset',
    version: '2',
    name: 'crops',
    runId: 'crops-abc123',
    createdAt: '2024-01-02T03:04:05.678Z',
    software: 'satfactory 0.1.0',
    job,
    jobSha256: jobSha256Of(job),
    catalog: {
      description: 'STAC https://earth-search.aws.element84.com/v1',
      collection: 'sentinel-2-c1-l2a',
      pages: 1,
      items: 1,
    },
    sources: [
      {
        id: 'S2A_33TWL_20230605_0_L2A',
        collection: 'sentinel-2-c1-l2a',
        datetime: '2023-06-05T10:00:00Z',
        tile: '33twl',
        cloudCover: 3.5,
        hrefs: { blue: 'https://x/B02.tif' },
      },
    ],
    bands: [
      {
        group: '10m',
        resolution: 10,
        bands: [
          { name: 'blue', scale: 0.0001, offset: -0.1, nodata: 0, dataType: 'uint16', ...UNKNOWN_BAND },
          {
            name: 'rededge1',
            scale: null,
            offset: null,
            at: 'sources[]',
            nodata: 0,
            dataType: 'uint16',
            ...UNKNOWN_BAND,
          },
        ],
      },
    ],
    scl: null,
    grid: { windowSize: 24, stride: 24, tiles: [] },
    classes: {
      property: 'crop',
      origin: 'job',
      background: 0,
      backgroundIs: 'class',
      ignoreIndex: 65535,
      unknown: 'reject',
      trainingIds: [0, 1, 2],
      table: [
        { id: 1, index: 1, value: 'winter wheat', pixels: 10, samples: 1 },
        { id: 2, index: 2, value: 'maize', pixels: 5, samples: 1 },
      ],
    },
    splits: {
      train: { samples: 3, shards: 2 },
      validation: { samples: 1, shards: 1 },
      test: { samples: 0, shards: 0 },
    },
    shards: [
      { path: 'train/crops-train-000000.tar', split: 'train', bytes: 10240, sha256: sha('a'), samples: 2 },
      { path: 'train/crops-train-000001.tar', split: 'train', bytes: 5120, sha256: sha('b'), samples: 1 },
      {
        path: 'validation/crops-validation-000000.tar',
        split: 'validation',
        bytes: 5120,
        sha256: sha('c'),
        samples: 1,
      },
    ],
    totals: { planned: 4, written: 4, rejected: 0 },
    rejects: 'rejects.jsonl',
    stats: {
      split: 'train',
      dates: 'all',
      pixels: 'not nodata',
      excludedScl: [],
      units: 'stored',
      percentiles: 'linear',
      bands: { blue: emptyStats, rededge1: emptyStats },
    },
    ...overrides,
  });
}
