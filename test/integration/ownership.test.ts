// Who writes where, through the CLI on the synthetic offline scene: a run claims its output folder
// before it writes anything there; another run stops and writes nothing; of two jobs started at once
// exactly one proceeds; the same job twice at once makes one dataset; a rerun of a committed job
// checks its shards; verify reports every file the manifest does not account for. Each `it` is one
// case of the fault table (test/README.md).
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOfflineScene } from '../../scripts/make-offline-example.ts';
import { prepareJob, workUriOf } from '../../shared/cli/prepare-job.ts';
import { DatasetOwnedError } from '../../shared/domain/errors.ts';
import { silentLog } from '../../shared/ports.ts';
import { createLocalContext } from '../../shared/runtime/local-context.ts';
import { storeJob } from '../../shared/work/context.ts';
import { readWorkLines, WorkFiles } from '../../shared/work/files.ts';
import { StateNames } from '../../shared/workflow/contracts.ts';
import { runTask } from '../../shared/workflow/run-task.ts';
import { Tasks } from '../../shared/workflow/tasks.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(repo, 'bin/satfactory.js');
type Result = Pick<SpawnSyncReturns<string>, 'status' | 'stdout' | 'stderr'>;

let dir: string;
let base: Record<string, unknown>;

const cli = (...args: string[]): Result =>
  spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8' });

/** The same, without waiting: two of these run at once. */
function cliAsync(...args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: dir });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Writes a variant of the offline job; a different name (or any field) is a different run. */
async function job(file: string, output: string, changes: Record<string, unknown> = {}): Promise<string> {
  await writeFile(path.join(dir, file), JSON.stringify({ ...base, output: { uri: output }, ...changes }));
  return file;
}

/** Every file under a folder (hidden ones included) with its size and sha256: what "nothing written" compares. */
async function listing(folder: string): Promise<string[]> {
  const root = path.join(dir, folder);
  const out: string[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const bytes = await readFile(file);
    out.push(
      `${path.relative(root, file)} ${bytes.byteLength} ${createHash('sha256').update(bytes).digest('hex')}`,
    );
  }
  return out.sort();
}

const json = async (file: string) => JSON.parse(await readFile(path.join(dir, file), 'utf8'));
const runIdOf = (r: Result) => /run (\S+): /.exec(r.stderr)?.[1];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'satfactory-ownership-'));
  await makeOfflineScene(path.join(dir, 'offline-scene'));
  base = JSON.parse(await readFile(path.join(repo, 'examples/offline.json'), 'utf8'));
  delete base.$schema;
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('ownership of an output folder', () => {
  it('a run refused because another run owns the output writes nothing there', async () => {
    const first = cli('run', await job('a.json', 'out/owned'));
    expect(first.status, first.stderr).toBe(0);
    const owner = (await json('out/owned/claim.json')) as { runId: string; claimedAt: string };
    expect(owner.runId).toBe(runIdOf(first));
    const before = await listing('out/owned');

    const other = await job('b.json', 'out/owned', { name: 'other-job' });
    for (const command of ['run', 'plan']) {
      const refused = cli(command, other);
      expect(refused.status, refused.stderr).toBe(2);
      expect(refused.stderr).toContain('DatasetOwnedError');
      expect(refused.stderr).toContain(
        `belongs to run ${owner.runId} (job "offline-example", claimed ${owner.claimedAt}); it holds that run's committed dataset`,
      );
      expect(refused.stderr).toMatch(/This run is other-job-[0-9a-f]{12}/);
      expect(refused.stderr).toContain('Give this job another output.uri, or delete');
    }
    // Not a byte changed, not a file added, the work folder included.
    expect(await listing('out/owned')).toEqual(before);
    expect(cli('verify', 'out/owned').status).toBe(0);
  });

  it('two different jobs started at once: exactly one proceeds, and the dataset is all its own', async () => {
    const [x, y] = await Promise.all([
      cliAsync('run', await job('x.json', 'out/race', { name: 'race-x' })),
      cliAsync('run', await job('y.json', 'out/race', { name: 'race-y' })),
    ]);
    expect([x.status, y.status].sort(), `${x.stderr}\n${y.stderr}`).toEqual([0, 2]);
    const [winner, loser] = x.status === 0 ? [x, y] : [y, x];
    const winnerId = runIdOf(winner) as string;
    expect(loser.stderr).toContain(`DatasetOwnedError`);
    expect(loser.stderr).toContain(`belongs to run ${winnerId}`);
    for (const file of ['manifest.json', 'selection.json', 'claim.json']) {
      expect((await json(`out/race/${file}`)).runId, file).toBe(winnerId);
    }
    // verify would name any shard the manifest does not list; the loser's work folder never existed.
    const verify = cli('verify', 'out/race');
    expect(verify.status, verify.stdout).toBe(0);
    expect(await readdir(path.join(dir, 'out/race/.satfactory/runs'))).toEqual([winnerId]);
  });

  it('the same job twice at once: both end ok with one dataset', async () => {
    const file = await job('twice.json', 'out/twice', { name: 'twice' });
    const both = await Promise.all([cliAsync('run', file), cliAsync('run', file)]);
    for (const r of both) expect(r.status, r.stderr).toBe(0);
    expect(runIdOf(both[0] as Result)).toBe(runIdOf(both[1] as Result));
    const manifest = await json('out/twice/manifest.json');
    expect(manifest.runId).toBe(runIdOf(both[0] as Result));
    expect(manifest.totals).toMatchObject({ planned: 320, written: 320, rejected: 0 });
    const verify = cli('verify', 'out/twice');
    expect(verify.status, verify.stdout).toBe(0);
    // Three splits of at least 8 samples each: output.minShardsPerSplit (8) shards each, listed once.
    expect(verify.stdout).toMatch(/^ok: 24 shard\(s\), 320 sample\(s\)/);
  });

  it('a flipped byte fails `run --verify` and verify, naming the shard; plain `run` checks sizes only', async () => {
    const file = await job('flip.json', 'out/flip', { name: 'flip' });
    expect(cli('run', file).status).toBe(0);
    const manifest = await json('out/flip/manifest.json');
    const shard = manifest.shards[0].path as string;
    const bytes = await readFile(path.join(dir, 'out/flip', shard));
    bytes[700] = (bytes[700] as number) ^ 0x01;
    await writeFile(path.join(dir, 'out/flip', shard), bytes);

    expect(cli('run', file).status).toBe(0);
    const checked = cli('run', file, '--verify');
    expect(checked.status).toBe(1);
    expect(checked.stderr).toMatch(/IntegrityError: the committed dataset at file:\/\/\S+ is damaged/);
    expect(checked.stderr).toContain(`${shard}: sha256 `);
    expect(checked.stderr).toContain('A rerun does not rewrite a committed dataset');
    const verify = cli('verify', 'out/flip');
    expect(verify.status).toBe(1);
    expect(verify.stdout).toContain(`${shard}: sha256 `);
  });

  it('a deleted shard fails a plain rerun and verify, naming the shard', async () => {
    const file = await job('gone.json', 'out/gone', { name: 'gone' });
    expect(cli('run', file).status).toBe(0);
    const manifest = await json('out/gone/manifest.json');
    const shard = manifest.shards[1].path as string;
    await unlink(path.join(dir, 'out/gone', shard));
    const rerun = cli('run', file);
    expect(rerun.status).toBe(1);
    expect(rerun.stderr).toContain(`${shard}: missing`);
    expect(rerun.stdout).toBe('');
    const verify = cli('verify', 'out/gone');
    expect(verify.status).toBe(1);
    expect(verify.stdout).toContain(`${shard}: missing`);
  });

  it('verify reports a stray file and a shard the manifest does not list', async () => {
    const file = await job('stray.json', 'out/stray', { name: 'stray' });
    expect(cli('run', file).status).toBe(0);
    await writeFile(path.join(dir, 'out/stray/notes.txt'), 'mine');
    await writeFile(path.join(dir, 'out/stray/train/foreign-train-000000.tar'), new Uint8Array(1024));
    const verify = cli('verify', 'out/stray');
    expect(verify.status).toBe(1);
    expect(verify.stdout).toContain('notes.txt: not part of the dataset');
    expect(verify.stdout).toContain(
      "train/foreign-train-000000.tar: a shard the manifest does not list (another run's, or a leftover)",
    );
  });

  it('a dry run holds the folder only while it plans; the run of the first plan keeps its own selection.json', async () => {
    const a = await job('dry-a.json', 'out/dry', { name: 'dry-a' });
    const b = await job('dry-b.json', 'out/dry', { name: 'dry-b' });
    const planA = cli('plan', a);
    expect(planA.status, planA.stderr).toBe(0);
    await expect(stat(path.join(dir, 'out/dry/claim.json'))).rejects.toThrow(/ENOENT/);
    const planB = cli('plan', b);
    expect(planB.status, planB.stderr).toBe(0);
    const idB = /^run\s+(\S+)/m.exec(planB.stdout)?.[1];
    expect((await json('out/dry/selection.json')).runId).toBe(idB);

    const runA = cli('run', a);
    expect(runA.status, runA.stderr).toBe(0);
    // Plan reused the stored selection of the dry run and put its report back.
    expect(runA.stderr).toContain('plan: reusing the stored selection');
    expect((await json('out/dry/selection.json')).runId).toBe(runIdOf(runA));
    expect(cli('verify', 'out/dry').status).toBe(0);
    // Now the folder is held: the other job is refused.
    expect(cli('plan', b).status).toBe(2);
  });

  it('a run that fails before extraction gives the folder up, so the fixed job can use it', async () => {
    const empty = await job('empty.json', 'out/fixed', {
      name: 'fixed',
      period: { start: '2020-01-01', end: '2020-01-31' },
    });
    const failed = cli('run', empty);
    expect(failed.status).toBe(2);
    expect(failed.stderr).toContain('NothingToDoError');
    expect(failed.stderr).toContain('is free again');
    await expect(stat(path.join(dir, 'out/fixed/claim.json'))).rejects.toThrow(/ENOENT/);
    expect((await json('out/fixed/selection.json')).candidates).toEqual([]);

    const fixed = cli('run', await job('fixed.json', 'out/fixed', { name: 'fixed' }));
    expect(fixed.status, fixed.stderr).toBe(0);
    expect((await json('out/fixed/selection.json')).runId).toBe(runIdOf(fixed));
    expect(cli('verify', 'out/fixed').status).toBe(0);
  });

  it('a run that lost its claim writes no shard (WriteShard) and no dataset file (Commit)', async () => {
    const file = await job('lost.json', 'out/lost', { name: 'lost' });
    const prepared = await prepareJob(path.join(dir, file));
    const ctx = createLocalContext({ workUri: workUriOf(prepared.job), log: silentLog });
    const input = await storeJob(ctx.work, prepared.job, prepared.runId);
    await runTask(Tasks[StateNames.plan], input, ctx);
    await runTask(Tasks[StateNames.prepareLabels], input, ctx);
    const windows = await runTask(Tasks[StateNames.planWindows], input, ctx);
    // Someone else takes the folder (a hand edit, or a release and another run's claim).
    await writeFile(
      path.join(dir, 'out/lost/claim.json'),
      JSON.stringify({
        format: 'satfactory-claim',
        runId: 'thief-000000000000',
        job: 'thief',
        claimedAt: 'now',
      }),
    );
    const before = await listing('out/lost');
    const regions = (await readWorkLines(ctx.work, WorkFiles.regions, windows.regionsKey)) ?? [];
    // Regions write only work files (their region shards are scratch); the final shards are refused.
    await runTask(Tasks[StateNames.extractRegion], { Items: regions }, ctx);
    const planned = await runTask(Tasks[StateNames.planShards], input, ctx);
    const tasks = (await readWorkLines(ctx.work, WorkFiles.shardTasks, planned.shardsKey)) ?? [];
    expect(tasks.length).toBeGreaterThan(0);
    const write = runTask(Tasks[StateNames.writeShard], { Items: tasks.slice(0, 1) }, ctx);
    await expect(write).rejects.toThrow(DatasetOwnedError);
    await expect(write).rejects.toThrow(/belongs to run thief-000000000000/);
    await expect(runTask(Tasks[StateNames.commit], input, ctx)).rejects.toThrow(DatasetOwnedError);
    // The regions' work ran (scratch), but no shard and no dataset file appeared.
    const after = (await listing('out/lost')).filter((f) => !f.startsWith('.satfactory/'));
    expect(after).toEqual(before.filter((f) => !f.startsWith('.satfactory/')));
    expect(after.some((f) => f.endsWith('.tar'))).toBe(false);
    // The CLI refuses the resumed run at once.
    const resumed = cli('run', file);
    expect(resumed.status).toBe(2);
    expect(resumed.stderr).toContain('belongs to run thief-000000000000');
  });
});
