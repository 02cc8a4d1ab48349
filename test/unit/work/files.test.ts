import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../../../shared/domain/errors.ts';
import { canonicalJson, sha256Hex } from '../../../shared/domain/hashing.ts';
import { parseJobSpec } from '../../../shared/domain/job-spec.ts';
import { runIdOf } from '../../../shared/work/context.ts';
import {
  matchesPattern,
  readWork,
  readWorkLines,
  requireWork,
  WORK_FORMAT_VERSION,
  WorkFiles,
  writeWork,
  writeWorkLines,
} from '../../../shared/work/files.ts';
import { MemoryBlobStore } from '../../helpers/memory-blob-store.ts';
import { selectionOf } from '../../helpers/work-files.ts';

/** A sample key of every work file: its builder's output must match its own pattern, and only it. */
const samples: Record<keyof typeof WorkFiles, string> = {
  job: WorkFiles.job.key('r-1'),
  catalogPage: WorkFiles.catalogPage.key('r-1', 3),
  selection: WorkFiles.selection.key('r-1'),
  selectionReport: WorkFiles.selectionReport.key('r-1'),
  orders: WorkFiles.orders.key('r-1'),
  labelsSummary: WorkFiles.labelsSummary.key('r-1'),
  labelsFeatures: WorkFiles.labelsFeatures.key('r-1'),
  labelsLog: WorkFiles.labelsLog.key('r-1'),
  labelsUnplaced: WorkFiles.labelsUnplaced.key('r-1'),
  regionLabels: WorkFiles.regionLabels.key('r-1', '33TWL-r000-c001'),
  tilePlan: WorkFiles.tilePlan.key('r-1', '33TWL'),
  regionPlan: WorkFiles.regionPlan.key('r-1', '33TWL-r000-c001'),
  regions: WorkFiles.regions.key('r-1'),
  windowsSummary: WorkFiles.windowsSummary.key('r-1'),
  regionResult: WorkFiles.regionResult.key('r-1', '33TWL-r000-c001'),
  regionRejects: WorkFiles.regionRejects.key('r-1', '33TWL-r000-c001'),
  regionShard: WorkFiles.regionShard.key('r-1', '33TWL-r000-c001', 'train'),
  shardPlan: WorkFiles.shardPlan.key('r-1', 'validation', 3),
  shardTasks: WorkFiles.shardTasks.key('r-1'),
  shardResult: WorkFiles.shardResult.key('r-1', 'validation', 3),
  shardIndex: WorkFiles.shardIndex.key('r-1', 'validation', 3),
  failure: WorkFiles.failure.key('r-1'),
  ltaSlot: WorkFiles.ltaSlot.key(7),
  ltaSlotDone: WorkFiles.ltaSlotDone.key(7),
  ltaAttempt: WorkFiles.ltaAttempt.key('S2A_X', 2),
  ltaAttemptReleased: WorkFiles.ltaAttemptReleased.key('S2A_X', 2),
  ltaOrder: WorkFiles.ltaOrder.key('S2A_X', 2),
};

describe('work files', () => {
  it('build keys that match their own pattern', () => {
    for (const [name, key] of Object.entries(samples)) {
      expect(matchesPattern(key, WorkFiles[name as keyof typeof WorkFiles].pattern), `${name}: ${key}`).toBe(
        true,
      );
    }
    expect(samples.catalogPage).toBe('runs/r-1/catalog/page-000003.json');
  });

  it('match IAM patterns literally: * spans anything, other characters are not regex', () => {
    expect(matchesPattern('runs/a/b/tiles/x.json', 'runs/*/tiles/*.json')).toBe(true);
    expect(matchesPattern('runs/a/tilesXjson', 'runs/*/tiles.json')).toBe(false);
    expect(matchesPattern('runs/a/job.json.bak', 'runs/*/job.json')).toBe(false);
  });

  it('round-trip a valid file and return undefined for a missing one', async () => {
    const store = new MemoryBlobStore();
    const selection = selectionOf('r-1', {});
    await writeWork(store, WorkFiles.selection, samples.selection, selection);
    expect(await readWork(store, WorkFiles.selection, samples.selection)).toEqual(selection);
    expect(await readWork(store, WorkFiles.tilePlan, samples.tilePlan)).toBeUndefined();
  });

  it('name the key, the field and the fix when a file has another shape', async () => {
    const store = new MemoryBlobStore();
    await store.put(samples.windowsSummary, JSON.stringify({ regionsKey: 'k', regions: 1, windows: '4' }));
    const error = await readWork(store, WorkFiles.windowsSummary, samples.windowsSummary).catch((e) => e);
    expect(error).toBeInstanceOf(IntegrityError);
    expect(error.message).toContain(
      'memory://test/runs/r-1/windows.json is not a valid window plan summary (/windows:',
    );
    expect(error.message).toContain(`work format ${WORK_FORMAT_VERSION}`);
    expect(error.message).toContain('delete memory://test/runs/r-1/ and run the job again');
  });

  it('refuse fields a schema does not know (a file of a newer version is not half-read)', async () => {
    const store = new MemoryBlobStore();
    await store.put(samples.failure, JSON.stringify({ error: 'x', at: 'now', extra: 1 }));
    await expect(readWork(store, WorkFiles.failure, samples.failure)).rejects.toThrow(/Unrecognized key/);
  });

  it('say when a file is not JSON, and which line of a JSONL file is bad', async () => {
    const store = new MemoryBlobStore();
    await store.put(samples.selection, '{"runId": ');
    await expect(readWork(store, WorkFiles.selection, samples.selection)).rejects.toThrow(
      /not a valid selection \(not JSON\)/,
    );
    await writeWorkLines(store, WorkFiles.orders, samples.orders, [
      { runId: 'r-1', product: { id: 'a', collection: 'c', tile: 't', datetime: 'd' } },
    ]);
    const text = Buffer.from((await store.get(samples.orders))!).toString();
    await store.put(samples.orders, `${text}{"runId": "r-1"}\n`);
    await expect(readWorkLines(store, WorkFiles.orders, samples.orders)).rejects.toThrow(
      /^line 2: .*\/product/,
    );
  });

  it('refuse to read a key with the schema of another kind of file', async () => {
    const store = new MemoryBlobStore();
    await expect(readWork(store, WorkFiles.tilePlan, samples.selection)).rejects.toThrow(
      /is not a tile plan \(its keys look like runs\/\*\/tiles\/\*\.json\)/,
    );
  });

  it('say what is missing and that a rerun resumes', async () => {
    const store = new MemoryBlobStore();
    await expect(requireWork(store, WorkFiles.regionPlan, samples.regionPlan)).rejects.toThrow(
      /the region plan is missing at memory:\/\/test\/runs\/r-1\/regions\/33TWL-r000-c001\.json.*run the job again to resume/,
    );
  });

  it('refuse to write a value that does not match its schema', async () => {
    const store = new MemoryBlobStore();
    const bad = { error: 'x' } as unknown as { error: unknown; at: string };
    await expect(writeWork(store, WorkFiles.failure, samples.failure, bad)).rejects.toThrow(IntegrityError);
    expect(await store.exists(samples.failure)).toBe(false);
  });
});

describe('run ids', () => {
  const job = parseJobSpec({
    name: 'crops',
    catalog: { kind: 'static', source: '/x/items.json' },
    aoi: { type: 'Point', coordinates: [15, 45] },
    period: { start: '2023-01-01', end: '2023-02-01' },
    bands: ['red'],
    windows: { size: 6 },
    output: { uri: '/x/out' },
  });

  it('cover the job, its inputs and the work-file format version', () => {
    const digest = sha256Hex(`${canonicalJson(job)}abcwork-format:${WORK_FORMAT_VERSION}`).slice(0, 12);
    expect(runIdOf(job, 'abc')).toBe(`crops-${digest}`);
    expect(runIdOf(job, 'abd')).not.toBe(runIdOf(job, 'abc'));
  });
});
