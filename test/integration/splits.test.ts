// Splits as a training engineer needs them, on the offline example scene through the CLI: an empty
// split is refused at plan time (before any pixel is read), spatial blocks with a buffer keep every
// pair of samples of different splits apart, and the old name `validate` still works, with a warning.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOfflineScene } from '../../scripts/make-offline-example.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { readShard } from '../../shared/domain/shard.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const cli = (args: string[], cwd: string) =>
  spawnSync(process.execPath, [path.join(repo, 'bin/satfactory.js'), ...args], { cwd, encoding: 'utf8' });

describe('splits (offline example scene)', () => {
  let dir: string;
  let base: Record<string, unknown>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-splits-'));
    await makeOfflineScene(path.join(dir, 'offline-scene'));
    base = JSON.parse(await readFile(path.join(repo, 'examples/offline.json'), 'utf8'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function job(name: string, splits: Record<string, unknown>): Promise<string> {
    const file = path.join(dir, `${name}.json`);
    await writeFile(file, JSON.stringify({ ...base, name, splits, output: { uri: `out/${name}` } }));
    return file;
  }

  it('refuses at plan time a split that would get no window, saying what to change', async () => {
    const file = await job('one-block', {
      method: 'blocks',
      train: 0.8,
      validation: 0.1,
      test: 0.1,
      blockSize: 20_000,
    });
    const plan = cli(['plan', file], dir);
    expect(plan.status).toBe(2);
    // One block: all 320 windows in one split, the two others empty.
    const counts = /would get no window \(train (\d+), validation (\d+), test (\d+)\)/.exec(plan.stderr);
    expect(
      counts
        ?.slice(1)
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual([0, 0, 320]);
    expect(plan.stderr).toContain('splits.blockSize');
    // Nothing was read but headers: no shard, no manifest.
    expect(existsSync(path.join(dir, 'out/one-block/manifest.json'))).toBe(false);
    const allowed = cli(
      [
        'plan',
        await job('one-block-ok', {
          method: 'blocks',
          train: 0.8,
          validation: 0.1,
          test: 0.1,
          blockSize: 20_000,
          allowEmpty: true,
        }),
      ],
      dir,
    );
    expect(allowed.status, allowed.stderr).toBe(0);
    expect(allowed.stdout).toMatch(/splits\s+train \d+, validation \d+, test \d+ window/);
  });

  it('keeps samples of different splits a buffer apart: the nearer ones are rejected as split-buffer', async () => {
    const buffer = 100;
    const file = await job('buffered', {
      method: 'blocks',
      train: 0.5,
      validation: 0.25,
      test: 0.25,
      blockSize: 720,
      buffer,
      seed: 3,
    });
    const run = cli(['run', file], dir);
    expect(run.status, run.stderr).toBe(0);
    const out = path.join(dir, 'out/buffered');
    const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8')) as Manifest;
    expect(manifest.totals.rejectedByReason?.['split-buffer']).toBeGreaterThan(0);
    for (const split of ['train', 'validation', 'test'] as const)
      expect(manifest.splits[split].samples).toBeGreaterThan(0);
    const boxes: Array<{ split: string; b: [number, number, number, number] }> = [];
    for (const shard of manifest.shards) {
      for (const s of await readShard(await readFile(path.join(out, shard.path)))) {
        const meta = JSON.parse(
          Buffer.from(s.members.find((m) => m.name === 'json')?.data as Uint8Array).toString(),
        );
        boxes.push({ split: meta.split, b: meta.bounds });
      }
    }
    let nearest = Infinity;
    for (const a of boxes) {
      for (const c of boxes) {
        if (a.split === c.split) continue;
        const gx = Math.max(c.b[0] - a.b[2], a.b[0] - c.b[2]);
        const gy = Math.max(c.b[1] - a.b[3], a.b[1] - c.b[3]);
        nearest = Math.min(nearest, Math.max(gx, gy));
      }
    }
    // No shared pixel and no neighbour: the closest samples of two splits are at least the buffer apart.
    expect(nearest).toBeGreaterThanOrEqual(buffer);
  });

  it('reads the old name validate as validation, with a warning naming the field', async () => {
    const file = await job('old-name', { method: 'random', train: 0.8, validate: 0.1, test: 0.1, seed: 1 });
    const plan = cli(['plan', file], dir);
    expect(plan.status, plan.stderr).toBe(0);
    expect(plan.stderr).toContain('/splits/validate is now /splits/validation');
    expect(plan.stdout).toMatch(/splits\s+train \d+, validation \d+, test \d+/);
  });
});
