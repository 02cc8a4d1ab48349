// Final shards through the real workflow on the local runtime: the offline example (4 regions) with
// a small size target. Per split at least the minimum of shards, the count the size target asks for,
// sample counts within ±1, every sample exactly once and byte for byte as its region wrote it, the
// dataset verifies, Python reads it, the neighbour share drops, and a rerun after a crash between
// WriteShard's steps neither loses nor duplicates a shard.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOfflineScene } from '../../scripts/make-offline-example.ts';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { measureNeighbourShare } from '../../shared/dataset/neighbour-share.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { readShard, type ShardSample } from '../../shared/domain/shard.ts';
import { SPLITS } from '../../shared/domain/splits.ts';
import { PYTHON, requirePython } from '../helpers/requirements.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = (args: string[], cwd: string) =>
  spawnSync(process.execPath, [path.join(repo, 'bin/satfactory.js'), ...args], { cwd, encoding: 'utf8' });

const SHARD_BYTES = 200_000;
const MIN_SHARDS = 8;

describe('final shards: the offline example resharded', () => {
  let dir: string;
  let out: string;
  let manifest: Manifest;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-reshard-'));
    await makeOfflineScene(path.join(dir, 'offline-scene'));
    const job = JSON.parse(await readFile(path.join(repo, 'examples/offline.json'), 'utf8'));
    delete job.$schema;
    job.output = { uri: 'out', shardBytes: SHARD_BYTES, minShardsPerSplit: MIN_SHARDS };
    // One region per COG tile (the default puts this small scene in one region): 4 regions to mix.
    job.windows = { ...job.windows, regionTiles: 1 };
    await writeFile(path.join(dir, 'job.json'), JSON.stringify(job));
    out = path.join(dir, 'out');
    const run = cli(['run', 'job.json'], dir);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('extract regions: 4/4');
    manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const shardsOf = (split: string) => manifest.shards.filter((s) => s.split === split);
  const work = () => new FsBlobStore(path.join(out, '.satfactory'));
  const regionShardKeys = async () => work().list(`runs/${manifest.runId}/region-shards/`);

  it('gives each split the shards its size asks for, at least the minimum, counts within ±1', async () => {
    expect(manifest.totals).toMatchObject({ planned: 320, written: 320, rejected: 0 });
    // 4 regions, each with samples of all three splits.
    expect(await regionShardKeys()).toHaveLength(12);
    for (const split of SPLITS) {
      const shards = shardsOf(split);
      const samples = shards.reduce((n, s) => n + s.samples, 0);
      expect(samples).toBe(manifest.splits[split].samples);
      expect(samples).toBeGreaterThan(MIN_SHARDS);
      // Each shard is its samples' blocks plus the 1024 end bytes.
      const sampleBytes = shards.reduce((n, s) => n + s.bytes - 1024, 0);
      expect(shards.length, split).toBe(Math.max(MIN_SHARDS, Math.ceil(sampleBytes / SHARD_BYTES)));
      const counts = shards.map((s) => s.samples);
      expect(Math.max(...counts) - Math.min(...counts), split).toBeLessThanOrEqual(1);
      expect(shards.map((s) => s.path)).toEqual(
        shards.map((_, i) => `${split}/offline-example-${split}-${String(i).padStart(6, '0')}.tar`),
      );
    }
    // The train split is big enough that the size target, not the minimum, sets its count.
    expect(shardsOf('train').length).toBeGreaterThan(MIN_SHARDS);
  });

  it('holds every sample exactly once, byte for byte as its region shard holds it', async () => {
    const regional = new Map<string, ShardSample>();
    for (const key of await regionShardKeys()) {
      for (const s of await readShard((await work().get(key)) as Uint8Array)) {
        expect(regional.has(s.key)).toBe(false);
        regional.set(s.key, s);
      }
    }
    expect(regional.size).toBe(320);
    const seen = new Set<string>();
    for (const shard of manifest.shards) {
      for (const s of await readShard(await readFile(path.join(out, shard.path)))) {
        expect(seen.has(s.key), s.key).toBe(false);
        seen.add(s.key);
        const same = regional.get(s.key)?.members ?? [];
        expect(s.members.map((m) => m.name)).toEqual(same.map((m) => m.name));
        for (const [i, m] of s.members.entries()) {
          expect(Buffer.compare(m.data, same[i]?.data ?? new Uint8Array()), `${s.key}.${m.name}`).toBe(0);
        }
        const meta = JSON.parse(Buffer.from(s.members.find((m) => m.name === 'json')?.data ?? []).toString());
        expect(meta.split).toBe(shard.split);
      }
    }
    expect(seen.size).toBe(320);
  });

  it('verifies, and Python reads it with tarfile and numpy', async (ctx) => {
    const verify = cli(['verify', 'out'], dir);
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(
      new RegExp(`^ok: ${manifest.shards.length} shard\\(s\\), 320 sample\\(s\\)`),
    );
    const rerun = cli(['run', 'job.json', '--verify'], dir);
    expect(rerun.status, rerun.stderr).toBe(0);
    if (!requirePython(['numpy'])) return ctx.skip();
    const python = spawnSync(PYTHON, [path.join(repo, 'test/interop/read_shards.py'), 'out'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(python.status, python.stderr).toBe(0);
    const report = JSON.parse(python.stdout);
    expect(report.problems).toEqual([]);
    expect(report.samples).toBe(320);
  });

  it('mixes the regions: far fewer consecutive neighbours than in the region shards', async () => {
    const m = await measureNeighbourShare(new FsBlobStore(out), work());
    console.log(
      `neighbour share: before ${m.before.neighbours}/${m.before.pairs} = ${m.before.share?.toFixed(3)} ` +
        `(${m.before.shards} region shards), after ${m.after.neighbours}/${m.after.pairs} = ` +
        `${m.after.share?.toFixed(3)} (${m.after.shards} final shards)`,
    );
    expect(m.before.samples).toBe(320);
    expect(m.after.samples).toBe(320);
    expect(m.before.share).toBeGreaterThan(0.5);
    expect(m.after.share).toBeLessThan(0.15);
  });

  it('resumes after a crash: a lost shard is rewritten identically, a written one is kept, none doubled', async () => {
    const before = manifest.shards;
    const runDir = path.join(out, '.satfactory/runs', manifest.runId);
    const result = (s: { path: string }) => {
      const [split, file] = s.path.split('/') as [string, string];
      const index = /-(\d{6})\.tar$/.exec(file)?.[1] as string;
      return path.join(runDir, 'shard-results', `${split}-${index}.json`);
    };
    const lost = before[3] as Manifest['shards'][number];
    const unrecorded = before[10] as Manifest['shards'][number];
    // A crash before Commit: no manifest; one shard never landed, another landed without its record.
    await unlink(path.join(out, 'manifest.json'));
    await unlink(path.join(out, lost.path));
    await unlink(result(lost));
    await unlink(result(unrecorded));
    const rerun = cli(['run', 'job.json'], dir);
    expect(rerun.status, rerun.stderr).toBe(0);
    const again: Manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
    expect(again.shards).toEqual(before);
    expect(again.runId).toBe(manifest.runId);
    const verify = cli(['verify', 'out'], dir);
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    // An existing shard of other bytes is not taken for the planned one.
    await unlink(path.join(out, 'manifest.json'));
    await unlink(result(unrecorded));
    const tampered = await readFile(path.join(out, unrecorded.path));
    tampered[600] = (tampered[600] as number) ^ 0xff;
    await writeFile(path.join(out, unrecorded.path), tampered);
    const refused = cli(['run', 'job.json'], dir);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`shard ${unrecorded.path} already exists with different content`);
  });
});
