// The pure parts of the upload trigger: both event shapes, key parsing, the run id derivation shared
// with the CLI's prepareJob, and path resolution against an in-memory work store.
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareJob } from '../../../shared/cli/prepare-job.ts';
import type { Executions } from '../../../shared/ports.ts';
import { silentLog } from '../../../shared/ports.ts';
import {
  parseGroundTruthKey,
  startFromUpload,
  uploadedObjects,
} from '../../../shared/triggers/start-from-upload.ts';
import { runIdOf } from '../../../shared/work/context.ts';
import { MemoryBlobStore } from '../../helpers/memory-blob-store.ts';

const baseJob = {
  name: 'crops',
  catalog: { kind: 'stac', url: 'https://example.com/v1', collection: 's2' },
  aoi: {
    type: 'Polygon',
    coordinates: [
      [
        [15, 45],
        [15.1, 45],
        [15.1, 45.1],
        [15, 45],
      ],
    ],
  },
  period: { start: '2023-01-01', end: '2023-12-31' },
  bands: ['red'],
  windows: { size: 24 },
  labels: { source: 'sub/parcels.fgb', classProperty: 'crop' },
  output: { uri: 's3://datasets/crops' },
};

const noExecutions: Executions = {
  start: async (name) => ({ executionArn: `arn:${name}`, alreadyExisted: false }),
  describe: async () => {
    throw new Error('not used');
  },
};

describe('uploadedObjects', () => {
  it('reads S3 notifications (decoding the key) and EventBridge Object Created events', () => {
    expect(
      uploadedObjects({
        Records: [
          {
            eventName: 'ObjectCreated:CompleteMultipartUpload',
            s3: {
              bucket: { name: 'w' },
              object: { key: 'ground-truth/a/b+c%C3%A9.gpkg', eTag: 'e', sequencer: 's' },
            },
          },
          { eventName: 'ObjectRemoved:Delete', s3: { bucket: { name: 'w' }, object: { key: 'x' } } },
        ],
      }),
    ).toEqual([{ bucket: 'w', key: 'ground-truth/a/b cé.gpkg', etag: 'e', sequencer: 's' }]);
    expect(
      uploadedObjects({
        'detail-type': 'Object Created',
        source: 'aws.s3',
        detail: { bucket: { name: 'w' }, object: { key: 'a/b c+d:e', 'version-id': 'v1', etag: 'e' } },
      }),
    ).toEqual([{ bucket: 'w', key: 'a/b c+d:e', versionId: 'v1', etag: 'e' }]);
    expect(() => uploadedObjects({ hello: 1 })).toThrow(/neither an S3 notification/);
  });
});

describe('parseGroundTruthKey', () => {
  it('takes ground-truth/<job>/<file> only', () => {
    expect(parseGroundTruthKey('ground-truth/crops-2023/a/b.geojson')).toEqual({
      jobName: 'crops-2023',
      file: 'a/b.geojson',
    });
    expect(parseGroundTruthKey('ground-truth/crops-2023/')).toBeNull();
    expect(parseGroundTruthKey('ground-truth/Crops/x')).toBeNull();
    expect(parseGroundTruthKey('jobs/crops.json')).toBeNull();
  });
});

describe('runIdOf', () => {
  it('is the run id prepareJob gives the same job', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'satfactory-runid-'));
    const file = path.join(dir, 'job.json');
    await writeFile(
      file,
      JSON.stringify({ ...baseJob, labels: { ...baseJob.labels, source: 's3://b/p.fgb' } }),
    );
    const prepared = await prepareJob(file);
    expect(runIdOf(prepared.job)).toBe(prepared.runId);
  });
});

describe('startFromUpload', () => {
  it('resolves a nested relative labels.source and refuses paths that leave the folder', async () => {
    const work = new MemoryBlobStore('s3://w');
    await work.put('jobs/crops.json', JSON.stringify(baseJob));
    const deps = { work, executions: noExecutions, log: silentLog };
    const out = await startFromUpload(
      { bucket: 'w', key: 'ground-truth/crops/sub/parcels.fgb', etag: 'e' },
      deps,
    );
    expect(out).toMatchObject({ started: true });

    await work.put(
      'jobs/crops.json',
      JSON.stringify({ ...baseJob, labels: { ...baseJob.labels, source: '../x' } }),
    );
    await expect(
      startFromUpload({ bucket: 'w', key: 'ground-truth/crops/x', etag: 'e' }, deps),
    ).rejects.toThrow(/leaves ground-truth\/crops\//);
    await work.put('jobs/crops.json', JSON.stringify({ ...baseJob, output: { uri: 'crops' } }));
    await expect(
      startFromUpload({ bucket: 'w', key: 'ground-truth/crops/sub/parcels.fgb', etag: 'e' }, deps),
    ).rejects.toThrow(/no datasets bucket/);
  });
});

describe('labels.classes.table, a file next to the job', () => {
  const withTable = (table: string) => ({
    ...baseJob,
    labels: { ...baseJob.labels, classes: { table, background: 'ignore' } },
  });

  it('the trigger reads a relative one under jobs/, and refuses one that leaves it', async () => {
    const work = new MemoryBlobStore('s3://w');
    await work.put('jobs/crops.json', JSON.stringify(withTable('tables/classes.csv')));
    const deps = { work, executions: noExecutions, log: silentLog };
    await startFromUpload({ bucket: 'w', key: 'ground-truth/crops/sub/parcels.fgb', etag: 'e' }, deps);
    const stored = (await work.list('runs/')).filter((k) => k.endsWith('/job.json'));
    expect(stored).toHaveLength(1);
    const job = JSON.parse(Buffer.from((await work.get(stored[0] as string)) as Uint8Array).toString());
    expect(job.labels.classes.table).toBe('s3://w/jobs/tables/classes.csv');

    await work.put('jobs/crops.json', JSON.stringify(withTable('../secrets.csv')));
    await expect(
      startFromUpload({ bucket: 'w', key: 'ground-truth/crops/sub/parcels.fgb', etag: 'e' }, deps),
    ).rejects.toThrow(/\/labels\/classes\/table "\.\.\/secrets\.csv" leaves jobs\//);
  });

  it('the CLI resolves it against the job file, checks it first, and its content is part of the run id', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'satfactory-classes-'));
    const file = path.join(dir, 'job.json');
    const job = withTable('classes.csv');
    job.labels.source = 's3://b/p.fgb';
    await writeFile(file, JSON.stringify(job));
    await writeFile(path.join(dir, 'classes.csv'), 'value,id,name\nwheat,1,Wheat\n');
    const first = await prepareJob(file);
    expect(first.job.labels?.classes?.table).toBe(path.join(dir, 'classes.csv'));
    await writeFile(path.join(dir, 'classes.csv'), 'value,id,name\nwheat,2,Wheat\n');
    const second = await prepareJob(file);
    expect(second.runId).not.toBe(first.runId);
    await writeFile(path.join(dir, 'classes.csv'), 'value,id,name\nwheat,1,Wheat\nmaize,1,Maize\n');
    await expect(prepareJob(file)).rejects.toThrow(
      /classes\.csv class 1 \(id\): id 1 is already the id of class 0/,
    );
    await writeFile(
      file,
      JSON.stringify({
        ...job,
        labels: { ...job.labels, classes: { table: 'missing.csv', background: 'ignore' } },
      }),
    );
    await expect(prepareJob(file)).rejects.toThrow(/labels\.classes\.table \S+missing\.csv does not exist/);
  });
});
