// Faults of the machine a run is on, for real: a disk that fills up (a small tmpfs) during extraction
// and during commit, and `kill -9` in the middle of a run. Each time: the CLI's exit code and message,
// nothing half-written visible in the dataset, and a rerun that completes the same dataset as a run
// that never failed (shards byte-identical).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOfflineScene } from '../../scripts/make-offline-example.ts';
import { type RangeServer, startRangeServer } from '../helpers/range-server.ts';
import { requireTmpfs } from '../helpers/requirements.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const cliArgs = (args: string[]) => [path.join(repo, 'bin/satfactory.js'), ...args];
const cli = (args: string[], cwd: string) =>
  spawnSync(process.execPath, cliArgs(args), { cwd, encoding: 'utf8' });
/** The CLI without blocking this process (whose range server the CLI may be reading from). */
function cliAsync(args: string[], cwd: string): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, cliArgs(args), { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += String(d);
    });
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

/** Every file under a folder (relative paths), the work folder aside. */
function files(root: string): string[] {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== '.satfactory') walk(p);
      } else out.push(path.relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const tars = (root: string) => files(root).filter((f) => f.endsWith('.tar'));

describe('disk full and kill -9 (offline example scene)', () => {
  let dir: string;
  let reference: Map<string, string>;
  let referenceFiles: string[];
  const mounts: string[] = [];

  /** A job on the offline scene writing to `uri`, its work store elsewhere (only the dataset fills). */
  async function writeJob(name: string, uri: string, catalog = 'offline-scene'): Promise<string> {
    const job = JSON.parse(await readFile(path.join(repo, 'examples/offline.json'), 'utf8'));
    job.name = 'offline-example';
    job.catalog = { kind: 'static', source: catalog };
    job.output = { uri, work: path.join(dir, `work-${name}`) };
    const file = path.join(dir, `${name}.json`);
    await writeFile(file, JSON.stringify(job));
    return file;
  }

  function mountTmpfs(name: string, bytes: number): string {
    const target = path.join(dir, name);
    mkdirSync(target, { recursive: true });
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', target], {
      encoding: 'utf8',
    });
    expect(mount.status, mount.stderr).toBe(0);
    mounts.push(target);
    return target;
  }

  const grow = (target: string) => {
    const remount = spawnSync('mount', ['-o', 'remount,size=256m', target], { encoding: 'utf8' });
    expect(remount.status, remount.stderr).toBe(0);
  };

  /** The dataset equals the reference: the same shards, byte for byte, and it verifies. */
  function expectComplete(uri: string) {
    expect(tars(uri)).toEqual([...reference.keys()]);
    for (const t of tars(uri)) expect(sha(path.join(uri, t)), t).toBe(reference.get(t));
    const verify = cli(['verify', uri], dir);
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
  }

  /** No partial file anywhere in the dataset: every shard present is a reference shard, whole. */
  function expectNothingHalfWritten(uri: string) {
    const present = files(uri);
    expect(present.filter((f) => path.basename(f).startsWith('.sf-tmp-'))).toEqual([]);
    for (const t of tars(uri)) expect(sha(path.join(uri, t)), `${t} is whole`).toBe(reference.get(t));
    expect(present).not.toContain('manifest.json');
  }

  beforeAll(async () => {
    if (!requireTmpfs()) return;
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-faults-'));
    await makeOfflineScene(path.join(dir, 'offline-scene'));
    const ok = cli(['run', await writeJob('reference', path.join(dir, 'reference'))], dir);
    expect(ok.status, ok.stderr).toBe(0);
    reference = new Map(
      tars(path.join(dir, 'reference')).map((t) => [t, sha(path.join(dir, 'reference', t))]),
    );
    referenceFiles = files(path.join(dir, 'reference'));
    expect(reference.size).toBeGreaterThan(2);
  });
  afterAll(async () => {
    for (const m of mounts) spawnSync('umount', [m]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('disk full during extraction: exit 1 naming the device and the shard, nothing half-written, rerun completes', (ctx) => {
    if (!requireTmpfs()) return ctx.skip();
    // Room for the small files and one shard at most: the second shard cannot be written.
    const smallest = Math.min(
      ...[...reference.keys()].map((t) => statSync(path.join(dir, 'reference', t)).size),
    );
    const uri = mountTmpfs('full-extract', Math.ceil((smallest + 16_384) / 4096) * 4096);
    const job = writeJob('full-extract', uri);
    return job.then((file) => {
      const run = cli(['run', file, '--threads', '1'], dir);
      expect(run.status, run.stderr).toBe(1);
      expect(run.stderr).toMatch(
        /StorageFullError: no space left on the device of file:\/\/\S+full-extract while writing \S+\.tar \(ENOSPC\)/,
      );
      expect(run.stderr).toContain('run the job again');
      expectNothingHalfWritten(uri);
      grow(uri);
      const rerun = cli(['run', file], dir);
      expect(rerun.status, rerun.stderr).toBe(0);
      expectComplete(uri);
    });
  });

  it('disk full during commit: exit 1 naming the manifest, shards whole, no manifest, rerun completes', async (ctx) => {
    if (!requireTmpfs()) return ctx.skip();
    // Room for every file of the dataset but the manifest (written last), rounded to pages.
    const pages = referenceFiles
      .filter((f) => f !== 'manifest.json')
      .reduce((n, f) => n + Math.ceil(statSync(path.join(dir, 'reference', f)).size / 4096), 0);
    const uri = mountTmpfs('full-commit', (pages + 1) * 4096);
    const file = await writeJob('full-commit', uri);
    const run = cli(['run', file], dir);
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toMatch(
      /StorageFullError: no space left on the device of file:\/\/\S+full-commit while writing (manifest\.json|rejects\.jsonl|selection\.json)/,
    );
    expect(tars(uri)).toEqual([...reference.keys()]);
    expectNothingHalfWritten(uri);
    grow(uri);
    const rerun = cli(['run', file], dir);
    expect(rerun.status, rerun.stderr).toBe(0);
    expectComplete(uri);
  });

  describe('kill -9', () => {
    let server: RangeServer;
    beforeAll(async () => {
      if (!requireTmpfs()) return;
      // The scene over HTTP, so that the test can make the host hang at a chosen moment.
      server = await startRangeServer({ root: path.join(dir, 'offline-scene') });
      const folder = path.join(dir, 'http-scene');
      mkdirSync(folder, { recursive: true });
      for (const id of readdirSync(path.join(dir, 'offline-scene'))) {
        const itemFile = path.join(dir, 'offline-scene', id, `${id}.json`);
        if (!existsSync(itemFile)) continue;
        const item = JSON.parse(readFileSync(itemFile, 'utf8'));
        for (const asset of Object.values(item.assets) as Array<{ href: string }>)
          asset.href = server.urlFor(`${id}/${asset.href}`);
        await writeFile(path.join(folder, `${id}.json`), JSON.stringify(item));
      }
    });
    afterAll(async () => {
      await server?.close();
    });

    it('mid-extraction: no manifest, no partial shard; the rerun resumes and completes the same dataset', async (ctx) => {
      if (!requireTmpfs()) return ctx.skip();
      const uri = path.join(dir, 'killed');
      const file = await writeJob('killed', uri, 'http-scene');
      const results = path.join(dir, 'work-killed', 'runs');
      const child: ChildProcess = spawn(process.execPath, cliArgs(['run', file, '--threads', '1']), {
        cwd: dir,
        detached: true,
        stdio: 'ignore',
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // Once one region has its result, the host hangs: the run cannot finish; then kill -9.
      const regionsDone = () =>
        existsSync(results)
          ? readdirSync(results).flatMap((run) => {
              const r = path.join(results, run, 'results');
              return existsSync(r) ? readdirSync(r) : [];
            }).length
          : 0;
      while (regionsDone() === 0) {
        const done = await Promise.race([
          exited.then(() => true),
          new Promise((r) => setTimeout(() => r(false), 10)),
        ]);
        if (done) throw new Error('the run ended before it could be interrupted');
      }
      server.inject({ fault: { kind: 'stall' } });
      process.kill(-(child.pid as number), 'SIGKILL');
      expect(await exited).toBeNull();
      expect(regionsDone()).toBeLessThan(4);
      expectNothingHalfWritten(uri);

      server.clearFaults();
      server.resetStats();
      const rerun = await cliAsync(['run', file], dir);
      expect(rerun.status, rerun.stderr).toBe(0);
      expectComplete(uri);
    });
  });
});
