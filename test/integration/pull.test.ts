// `satfactory pull` as a user runs it, on a dataset the pipeline wrote (the offline example): from a
// local S3 server (fauxqs) into a folder, every shard verified; a damaged and a truncated local shard
// fetched again on a rerun, the others kept; then the Python loader (python/satfactory_data, Debian's
// python3) reads the copy. Also over HTTP (the range server, with an injected 503).
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOfflineScene } from '../../scripts/make-offline-example.ts';
import { S3BlobStore } from '../../shared/adapters/aws/s3-blob-store.ts';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { openDataset } from '../../shared/dataset/reader.ts';
import { sha256Hex } from '../../shared/domain/hashing.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { FAUXQS_CLIENT, type FauxqsServer, startFauxqsForTests } from '../helpers/fauxqs-server.ts';
import { startRangeServer } from '../helpers/range-server.ts';
import { PYTHON, requirePython } from '../helpers/requirements.ts';

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '../..');

type CliRun = { code: number; stdout: string; stderr: string };

/** The CLI in a child process, asynchronously: the servers answer from this process meanwhile. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(repo, 'bin/satfactory.js'), ...args], {
      cwd: dir,
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Reads a dataset with the Python loader: keys per split, and the shapes of one sample. */
const READ_WITH_PYTHON = `
import json, sys
import satfactory_data as sd
ds = sd.open_dataset(sys.argv[1])
out = {"splits": ds.splits, "keys": {}, "shapes": {}}
for split in ds.splits:
    for sample in ds.samples(split):
        out["keys"].setdefault(split, []).append(sample["__key__"])
        out["shapes"] = {k: list(v.shape) for k, v in sample.items() if hasattr(v, "shape")}
print(json.dumps(out))
`;

let dir: string;
let source: string;
let manifest: Manifest;
let server: FauxqsServer | undefined;
let skipReason = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pull-'));
  await makeOfflineScene(path.join(dir, 'offline-scene'));
  const job = JSON.parse(await readFile(path.join(repo, 'examples/offline.json'), 'utf8'));
  job.output = { uri: 'dataset' };
  // One COG tile per region: 4 regions, 12 shards to pull (the default makes one region here).
  job.windows.regionTiles = 1;
  await writeFile(path.join(dir, 'job.json'), JSON.stringify(job));
  const built = spawnSync(process.execPath, [path.join(repo, 'bin/satfactory.js'), 'run', 'job.json'], {
    cwd: dir,
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(`the offline example did not build: ${built.stderr}`);
  source = path.join(dir, 'dataset');
  manifest = (await openDataset(source)).manifest;
  ({ server, skipReason } = await startFauxqsForTests('satfactory pull from S3'));
});
afterAll(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function expectVerifiedCopy(copy: string): Promise<void> {
  for (const shard of manifest.shards) {
    expect(sha256Hex(await readFile(path.join(copy, shard.path))), shard.path).toBe(shard.sha256);
  }
  expect(await readFile(path.join(copy, 'manifest.json'))).toEqual(
    await readFile(path.join(source, 'manifest.json')),
  );
}

describe('satfactory pull', () => {
  it('copies a dataset from S3, verifies it, repairs a damaged copy, and Python reads it', async (ctx) => {
    if (!server) return ctx.skip(skipReason);
    const client = new S3Client({ endpoint: server.address, forcePathStyle: true, ...FAUXQS_CLIENT });
    await client.send(new CreateBucketCommand({ Bucket: 'datasets' }));
    const local = new FsBlobStore(source);
    const s3 = new S3BlobStore({ client, bucket: 'datasets', prefix: 'offline' });
    for (const key of await local.list('')) {
      if (!key.startsWith('.satfactory/')) await s3.put(key, (await local.get(key))!);
    }
    client.destroy();
    const env = {
      AWS_ENDPOINT_URL_S3: server.address,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
    };
    const n = manifest.shards.length;
    expect(n).toBeGreaterThan(3);

    const first = await cli(['pull', 's3://datasets/offline', 'copy'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`^ok: ${n} shard\\(s\\) verified in copy: ${n} fetched`));
    expect(first.stderr).toContain(`pull shards: ${n}/${n}`);
    const copy = path.join(dir, 'copy');
    await expectVerifiedCopy(copy);
    expect(await readFile(path.join(copy, 'selection.json'))).toEqual(
      await readFile(path.join(source, 'selection.json')),
    );

    // Damage one shard, cut another short: the rerun fetches exactly those two.
    const [a, b, kept] = manifest.shards.map((s) => path.join(copy, s.path)) as [string, string, string];
    const bytes = await readFile(a);
    bytes[Math.floor(bytes.length / 2)] = (bytes[Math.floor(bytes.length / 2)] ?? 0) ^ 0x55;
    await writeFile(a, bytes);
    await truncate(b, 4096);
    const keptAt = (await stat(kept)).mtimeMs;
    const rerun = await cli(['pull', 's3://datasets/offline', 'copy'], env);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stdout).toMatch(/2 fetched \(.* MB, 2 of them replacing a damaged or partial copy\)/);
    expect(rerun.stdout).toContain(`${n - 2} already there`);
    expect(rerun.stderr).toMatch(
      new RegExp(`${manifest.shards[0]!.path} in .* is damaged or partial \\(sha256`),
    );
    expect(rerun.stderr).toMatch(
      new RegExp(`${manifest.shards[1]!.path} in .* is damaged or partial \\(4096 bytes`),
    );
    expect((await stat(kept)).mtimeMs).toBe(keptAt);
    await expectVerifiedCopy(copy);
    expect((await cli(['verify', 'copy'])).code).toBe(0);

    // The Python loader reads the copy: every sample of every split, as the TypeScript reader does.
    if (!requirePython(['numpy'])) return ctx.skip();
    const python = spawnSync(PYTHON, ['-c', READ_WITH_PYTHON, copy], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: path.join(repo, 'python'), PYTHONDONTWRITEBYTECODE: '1' },
    });
    expect(python.status, python.stderr).toBe(0);
    const read = JSON.parse(python.stdout) as {
      splits: string[];
      keys: Record<string, string[]>;
      shapes: object;
    };
    const ts = await openDataset(copy);
    expect(read.splits).toEqual(ts.splits);
    for (const split of ts.splits) {
      const keys: string[] = [];
      for await (const sample of ts.samples(split)) keys.push(sample.key);
      expect(read.keys[split] ?? [], split).toEqual(keys);
      expect(keys.length).toBe(manifest.splits[split as keyof Manifest['splits']].samples);
    }
    expect(read.shapes).toMatchObject({ '10m': [3, 4, 24, 24], '20m': [3, 2, 12, 12], scl: [3, 12, 12] });
  });

  it('pulls one split over HTTP, retrying a 503', async () => {
    const http = await startRangeServer({ root: dir });
    try {
      // A split other than the first, whatever it is called.
      const split = manifest.shards.find((s) => s.split !== manifest.shards[0]!.split)!.split;
      const shard = manifest.shards.find((s) => s.split === split)!;
      http.inject({ fault: { kind: 'status', status: 503 }, path: `/dataset/${shard.path}`, times: 1 });
      const pulled = await cli(['pull', `${http.url}/dataset`, 'from-http', '--split', split]);
      expect(pulled.code, pulled.stderr).toBe(0);
      const wanted = manifest.shards.filter((s) => s.split === split);
      expect(pulled.stdout).toMatch(
        new RegExp(`^ok: ${wanted.length} shard\\(s\\) of split ${split} verified`),
      );
      for (const s of wanted) {
        expect(sha256Hex(await readFile(path.join(dir, 'from-http', s.path)))).toBe(s.sha256);
      }
      expect(http.log.filter((r) => r.path === `/dataset/${shard.path}`).map((r) => r.status)).toEqual([
        503, 200,
      ]);
      // Only the asked split came over the wire.
      const tars = http.log.filter((r) => r.path.endsWith('.tar'));
      expect(tars.length).toBe(wanted.length + 1);
      expect(tars.every((r) => r.path.startsWith(`/dataset/${split}/`))).toBe(true);
      const missing = await cli(['pull', `${http.url}/nothing`, 'from-http']);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/no manifest.json at http:\/\/127\.0\.0\.1:\d+\/nothing/);
    } finally {
      await http.close();
    }
  });
});
