// The Python reference loader (python/satfactory_data) on a dataset written by our shard writer:
// Debian's python3 runs its unittest suites (python/tests) with numpy and torch 1.13, locally, over
// HTTP (the range server, one injected 503) and over S3 (fauxqs, through boto3). Among them: a torch
// DataLoader with num_workers=2 over 2 simulated ranks reads every sample of a split exactly once per
// epoch, with equal counts per rank.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../shared/adapters/aws/s3-blob-store.ts';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { FAUXQS_CLIENT, startFauxqsForTests } from '../helpers/fauxqs-server.ts';
import { type LoaderShardSpec, writeLoaderDataset } from '../helpers/loader-dataset.ts';
import { startRangeServer } from '../helpers/range-server.ts';
import { PYTHON, requirePython } from '../helpers/requirements.ts';

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '../..');

/** Uneven shards; 20 train samples (even), 7 validation (odd), a split with one sample. */
const SHARDS: LoaderShardSpec[] = [
  { split: 'train', samples: [0, 1, 2, 3, 4].map((s) => ({ s, dates: 3 })) },
  { split: 'train', samples: [{ s: 5, dates: 2 }] },
  { split: 'validation', samples: [20, 21, 22].map((s) => ({ s, dates: 3, perDate: s === 21 })) },
  {
    split: 'train',
    samples: [6, 7, 8, 9, 10, 11, 12].map((s) => ({ s, dates: 3 + (s % 2), perDate: s > 9 })),
  },
  { split: 'train', samples: [13, 14, 15].map((s) => ({ s, dates: 1 })) },
  { split: 'validation', samples: [23, 24].map((s) => ({ s, dates: 3 })) },
  { split: 'train', samples: [16, 17, 18, 19].map((s) => ({ s, dates: 3, perDate: true })) },
  { split: 'validation', samples: [25, 26].map((s) => ({ s, dates: 2 })) },
  { split: 'test', samples: [{ s: 30, dates: 3 }] },
];

type UnitRun = { code: number; out: string };

/** Runs unittest on the given test names (modules, classes or methods of python/tests). */
async function unittest(names: string[], env: Record<string, string>): Promise<UnitRun> {
  try {
    const { stderr } = await run(PYTHON, ['-m', 'unittest', '-v', ...names], {
      cwd: path.join(repo, 'python/tests'),
      env: { ...process.env, PYTHONPATH: path.join(repo, 'python'), PYTHONDONTWRITEBYTECODE: '1', ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, out: stderr };
  } catch (error) {
    const e = error as { code?: number; stderr?: string; stdout?: string };
    return { code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** unittest passed, ran `atLeast` tests or more, and skipped none. */
function expectAllRan(result: UnitRun, atLeast: number): void {
  expect(result.out).toMatch(/\nOK\s*$/);
  expect(result.code, result.out).toBe(0);
  const ran = Number(/Ran (\d+) tests?/.exec(result.out)?.[1]);
  expect(ran).toBeGreaterThanOrEqual(atLeast);
  expect(result.out).not.toMatch(/skipped/);
}

let dir: string;
let root: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'python-loader-'));
  root = path.join(dir, 'uneven');
  await writeLoaderDataset(root, SHARDS);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('satfactory_data (Python) on shards our writer wrote', () => {
  it('passes its suites locally and over HTTP: splitting, DataLoader, scale/offset, resampling, padding', async (ctx) => {
    if (!requirePython(['numpy', 'torch'])) return ctx.skip();
    const server = await startRangeServer({ root: dir });
    try {
      // The loader retries a 503 as the TypeScript side does.
      server.inject({ fault: { kind: 'status', status: 503 }, path: '/uneven/manifest.json', times: 1 });
      const result = await unittest(
        [
          'test_assign',
          'test_transforms',
          'test_classes',
          'test_targets.DecodeTest',
          'test_dataset.LocalDatasetTest',
          'test_dataset.TorchDataLoaderTest',
          'test_dataset.RemoteTest.test_http',
        ],
        { SATFACTORY_TEST_DATA: root, SATFACTORY_TEST_HTTP: `${server.url}/uneven` },
      );
      expectAllRan(result, 33);
      expect(result.out).toMatch(/test_two_ranks_two_workers_read_every_sample_exactly_once_per_epoch .* ok/);
      const manifestGets = server.log.filter((r) => r.path === '/uneven/manifest.json');
      expect(manifestGets.map((r) => r.status)).toEqual([503, 200]);
      // Every shard came over HTTP once whole (verified), once in the unverified part-read test.
      const shard = JSON.parse(await readFile(path.join(root, 'manifest.json'), 'utf8')).shards[0].path;
      expect(server.statsFor(`uneven/${shard}`).requests).toBe(2);
    } finally {
      await server.close();
    }
  });

  it('reads the dataset from S3 through boto3 (fauxqs)', async (ctx) => {
    if (!requirePython(['numpy', 'boto3'])) return ctx.skip();
    const { server, skipReason } = await startFauxqsForTests('the Python loader on S3');
    if (!server) return ctx.skip(skipReason);
    const client = new S3Client({ endpoint: server.address, forcePathStyle: true, ...FAUXQS_CLIENT });
    try {
      await client.send(new CreateBucketCommand({ Bucket: 'datasets' }));
      const local = new FsBlobStore(root);
      const s3 = new S3BlobStore({ client, bucket: 'datasets', prefix: 'copies/uneven' });
      for (const key of await local.list('')) await s3.put(key, (await local.get(key))!);
      const result = await unittest(['test_dataset.RemoteTest.test_s3'], {
        SATFACTORY_TEST_DATA: root,
        SATFACTORY_TEST_S3: 's3://datasets/copies/uneven',
        AWS_ENDPOINT_URL_S3: server.address,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: 'us-east-1',
      });
      expectAllRan(result, 1);
    } finally {
      client.destroy();
      await server.stop();
    }
  });
});
