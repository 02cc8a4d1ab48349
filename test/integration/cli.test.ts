// The command line as a user runs it: a synthetic offline scene, plan, run, verify, rerun, exit
// code 2 with a JSON pointer for an invalid job, and a catalog host that does not resolve.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOfflineScene } from '../../scripts/make-offline-example.ts';
import { readShard } from '../../shared/domain/shard.ts';
import { PYTHON, requirePython } from '../helpers/requirements.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = (args: string[], cwd: string) =>
  spawnSync(process.execPath, [path.join(repo, 'bin/satfactory.js'), ...args], { cwd, encoding: 'utf8' });

describe('satfactory CLI', () => {
  let dir: string;
  let job: Record<string, unknown>;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-cli-'));
    await makeOfflineScene(path.join(dir, 'offline-scene'));
    job = JSON.parse(await readFile(path.join(repo, 'examples/offline.json'), 'utf8'));
    job.output = { uri: 'out/offline' };
    await writeFile(path.join(dir, 'job.json'), JSON.stringify(job));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('plans, runs, verifies and reruns the offline example', async (ctx) => {
    const plan = cli(['plan', 'job.json'], dir);
    expect(plan.status, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/products\s+3 on 1 tile/);
    // 256 px tiles (10 m; 128 px at 20 m), 24 px windows: lcm 768 px holds all 320 in one region.
    expect(plan.stdout).toMatch(/windows\s+320 in 1 region/);

    const run = cli(['run', 'job.json'], dir);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^320 samples in \d+ shard/);
    expect(run.stderr).toContain('extract regions: 1/1');
    expect(run.stdout).toMatch(/fetched .* range requests, .* distinct \(refetch 1\.000x\)/);
    const manifest = JSON.parse(await readFile(path.join(dir, 'out/offline/manifest.json'), 'utf8'));
    expect(manifest.totals).toEqual({ planned: 320, written: 320, rejected: 0, rejectedByReason: {} });
    expect(manifest.bands.map((g: { group: string }) => g.group)).toEqual(['10m', '20m']);
    // Synthetic items declare scale 0.0001 and offset -0.1, no flag, no baseline: the declared rule,
    // one offset for every date (as written before per-date radiometry). Their ids end in _L2A, so
    // they are probed: bright synthetic values (>= 1000) and no scene classification prove nothing.
    // They declare no eo:bands: wavelengths from the built-in Sentinel-2A table.
    expect(manifest.bands[0].bands[0]).toEqual({
      name: 'blue',
      scale: 0.0001,
      offset: -0.1,
      nodata: 0,
      dataType: 'uint16',
      commonName: 'blue',
      bandId: 'B02',
      centerWavelength: 0.4924,
      fullWidthHalfMax: 0.066,
      wavelengthFrom: 'sentinel-2a-srf',
      units: 'reflectance',
    });
    for (const s of manifest.sources) {
      expect(s.radiometry).toMatchObject({ rule: 'declared', warning: null });
      expect(s.radiometry.probe).toMatchObject({ verdict: 'unknown', agrees: null });
    }
    expect(manifest.radiometry).toMatchObject({ probed: 3, disagree: 0, warnings: [] });

    const verify = cli(['verify', 'out/offline'], dir);
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^ok: \d+ shard\(s\), 320 sample\(s\)/);

    const rerun = cli(['run', 'job.json'], dir);
    expect(rerun.status).toBe(0);
    expect(await readFile(path.join(dir, 'out/offline/manifest.json'), 'utf8')).toBe(
      JSON.stringify(manifest, null, 1) + '\n',
    );

    // Interop: Debian's python3 + numpy read the shards the pipeline wrote (tarfile, allow_pickle=False).
    if (!requirePython(['numpy'])) return ctx.skip();
    const python = spawnSync(PYTHON, [path.join(repo, 'test/interop/read_shards.py'), 'out/offline'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(python.status, python.stderr).toBe(0);
    const report = JSON.parse(python.stdout);
    expect(report.problems).toEqual([]);
    expect(report.samples).toBe(320);
    expect(report.splits).toEqual({
      train: manifest.splits.train.samples,
      validation: manifest.splits.validation.samples,
      test: manifest.splits.test.samples,
    });
    expect(report.members['10m.npy'].shapes).toEqual([[3, 4, 24, 24]]);
    expect(report.members['20m.npy'].shapes).toEqual([[3, 2, 12, 12]]);
    expect(report.members['scl.npy'].dtypes).toEqual(['uint8']);
  });

  it('runs the labelled example: parcels to class, instance, coverage and double masks', async (ctx) => {
    const labelled = JSON.parse(await readFile(path.join(repo, 'examples/offline-labels.json'), 'utf8'));
    labelled.output = { uri: 'out/parcels' };
    await writeFile(path.join(dir, 'labels-job.json'), JSON.stringify(labelled));
    const run = cli(['run', 'labels-job.json'], dir);
    expect(run.status, run.stderr).toBe(0);
    const manifest = JSON.parse(await readFile(path.join(dir, 'out/parcels/manifest.json'), 'utf8'));
    // Crop names get ids 1..n in sorted order; the class table counts what the arrays hold.
    expect(manifest.classes.table.map((c: { value: string }) => c.value)).toEqual([
      'maize',
      'meadow',
      'soybean',
      'sunflower',
      'winter wheat',
    ]);
    expect(manifest.classes.table.map((c: { id: number }) => c.id)).toEqual([1, 2, 3, 4, 5]);
    expect(manifest.classes.size).toBe(48);
    expect(manifest.totals.written).toBeGreaterThan(0);
    expect(manifest.totals.written + manifest.totals.rejected).toBe(manifest.totals.planned);
    const verify = cli(['verify', 'out/parcels'], dir);
    expect(verify.status, verify.stdout).toBe(0);
    // The example has one field digitised 40 m into its neighbour: the double mask must flag it.
    let doubly = 0;
    for (const shard of manifest.shards) {
      for (const sample of await readShard(await readFile(path.join(dir, 'out/parcels', shard.path)))) {
        const meta = JSON.parse(
          Buffer.from(sample.members.find((m) => m.name === 'json')?.data ?? []).toString(),
        );
        doubly += meta.labels.doublyAssigned;
      }
    }
    expect(doubly).toBeGreaterThan(0);

    // Edited labels under the same path are a new run, not a resume of the old one.
    const runIdOf = (out: string) => /^run\s+(\S+)/m.exec(out)?.[1];
    const planned = cli(['plan', 'labels-job.json'], dir);
    expect(planned.stdout).toMatch(/^labels\s+28 feature\(s\) kept/m);
    const parcels = path.join(dir, 'offline-scene/parcels.geojson');
    const fc = JSON.parse(await readFile(parcels, 'utf8'));
    fc.features.pop();
    await writeFile(parcels, JSON.stringify(fc));
    // That new run may not touch the committed dataset of the old one: it stops, naming both.
    const refused = cli(['plan', 'labels-job.json'], dir);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(`belongs to run ${runIdOf(planned.stdout)}`);
    const newRun = /This run is (\S+) /.exec(refused.stderr)?.[1];
    expect(newRun).toBeDefined();
    expect(newRun).not.toBe(runIdOf(planned.stdout));
    await writeFile(
      path.join(dir, 'labels-job.json'),
      JSON.stringify({ ...labelled, output: { uri: 'out/parcels-edited' } }),
    );
    const replanned = cli(['plan', 'labels-job.json'], dir);
    expect(replanned.status, replanned.stderr).toBe(0);
    expect(replanned.stdout).toMatch(/^labels\s+27 feature\(s\) kept/m);

    if (!requirePython(['numpy'])) return ctx.skip();
    const python = spawnSync(PYTHON, [path.join(repo, 'test/interop/read_shards.py'), 'out/parcels'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(python.status, python.stderr).toBe(0);
    const report = JSON.parse(python.stdout);
    expect(report.problems).toEqual([]);
    expect(report.members['labels.npy'].shapes).toEqual([[48, 48]]);
    expect(report.members['instances.npy'].dtypes).toEqual(['uint32']);
    expect(report.members['coverage.npy'].dtypes).toEqual(['float32']);
    expect(report.members['multilabel.npy'].shapes).toEqual([[5]]);
  });

  it('exits 2 on an invalid job, naming the file and the JSON pointer', async () => {
    await writeFile(path.join(dir, 'bad.json'), JSON.stringify({ ...job, windows: { size: 0 } }));
    const result = cli(['run', 'bad.json'], dir);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('bad.json is invalid');
    expect(result.stderr).toContain('/windows/size');
  });

  it('exits 2 when the window size cannot co-register the bands', async () => {
    await writeFile(
      path.join(dir, 'odd.json'),
      JSON.stringify({ ...job, output: { uri: 'out/odd' }, windows: { size: 25 } }),
    );
    const result = cli(['run', 'odd.json'], dir);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/windows.size 25 px at 10 m does not co-register band rededge1/);
  });

  it('exits 1 at once when the catalog host does not resolve, naming DNS and the host', async () => {
    const stac = JSON.parse(await readFile(path.join(repo, 'examples/earth-search-croatia.json'), 'utf8'));
    delete stac.$schema;
    stac.catalog.url = 'https://nonexistent.invalid/v1';
    stac.output = { uri: 'out/no-network' };
    await writeFile(path.join(dir, 'no-network.json'), JSON.stringify(stac));
    const result = cli(['run', 'no-network.json'], dir);
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toMatch(
      /DnsLookupError: GET https:\/\/nonexistent\.invalid\/v1 failed after 2 attempts: DNS lookup of nonexistent\.invalid failed/,
    );
    // One quick retry inside Plan, and no Step Functions Retry of Plan (it used to run 6 times).
    expect(result.stderr.match(/retrying/g)).toHaveLength(1);
    expect(result.stderr.match(/plan: searching the catalog/g)).toHaveLength(1);
  });

  it('exits 1 when verify finds a tampered shard', async () => {
    const manifest = JSON.parse(await readFile(path.join(dir, 'out/offline/manifest.json'), 'utf8'));
    const shard = path.join(dir, 'out/offline', manifest.shards[0].path);
    const bytes = await readFile(shard);
    bytes[1000] = (bytes[1000] as number) ^ 0xff;
    await writeFile(shard, bytes);
    const result = cli(['verify', 'out/offline'], dir);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain(manifest.shards[0].path);
  });
});
