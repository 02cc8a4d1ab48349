import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { InvalidInputError } from '../../../shared/domain/errors.ts';
import { noMetrics, silentLog, systemClock } from '../../../shared/ports.ts';
import { UndeclaredAccessError } from '../../../shared/work/access-checked-store.ts';
import type { StepContext } from '../../../shared/work/context.ts';
import { WorkFiles } from '../../../shared/work/files.ts';
import { runTask } from '../../../shared/workflow/run-task.ts';
import { DatasetFiles, type LambdaTask, Tasks } from '../../../shared/workflow/tasks.ts';
import { MemoryBlobStore } from '../../helpers/memory-blob-store.ts';

function context(work = new MemoryBlobStore('memory://work'), dataset = new MemoryBlobStore('memory://ds')) {
  const ctx: StepContext = {
    work,
    openStore: () => dataset,
    ranges: { read: async () => new Uint8Array(), stats: { requests: 0, bytes: 0 } },
    openCatalog: () => {
      throw new Error('no catalog');
    },
    clock: systemClock,
    log: silentLog,
    metrics: noMetrics,
  };
  return { ctx, work, dataset };
}

/** A task that does what `body` says, declaring only the selection (read) and the orders (write). */
function probe(body: (ctx: StepContext) => Promise<unknown>): LambdaTask<{ runId: string }, unknown> {
  return {
    kind: 'lambda',
    state: 'Probe',
    entry: 'probe',
    summary: 'test',
    input: z.object({ runId: z.string() }),
    output: z.unknown(),
    run: (_input, ctx) => body(ctx),
    local: 'inline',
    access: {
      reads: [WorkFiles.selection],
      writes: [WorkFiles.orders],
      inputs: [],
      dataset: { reads: [], writes: [DatasetFiles.selection] },
    },
  };
}

describe('runTask', () => {
  it('runs RecordFailure as a Lambda does: {error, at} in failure.json, {recorded} returned', async () => {
    const { ctx, work } = context();
    const out = await runTask(Tasks.RecordFailure, { runId: 'r-1', jobKey: 'k', error: { Error: 'E' } }, ctx);
    expect(out).toEqual({ recorded: 'runs/r-1/failure.json' });
    const stored = JSON.parse(Buffer.from((await work.get('runs/r-1/failure.json'))!).toString());
    expect(stored).toEqual({ error: { Error: 'E' }, at: expect.any(String) });
  });

  it('refuses an unreadable event before building any port', async () => {
    let built = false;
    const error = await runTask(Tasks.Plan, { jobKey: 1 }, () => {
      built = true;
      return context().ctx;
    }).catch((e) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(built).toBe(false);
  });

  it('lets a step touch only the work files and dataset files its entry declares', async () => {
    const { ctx } = context();
    const read = (key: string) =>
      runTask(
        probe((c) => c.work.get(key)),
        { runId: 'r' },
        ctx,
      );
    await expect(read('runs/r/selection.json')).resolves.toBeUndefined();
    await expect(read('runs/r/tiles/T.json')).rejects.toThrow(UndeclaredAccessError);
    const write = (key: string) =>
      runTask(
        probe((c) => c.work.put(key, 'x')),
        { runId: 'r' },
        ctx,
      );
    await expect(write('runs/r/orders.jsonl')).resolves.toBeUndefined();
    await expect(write('runs/r/selection.json')).rejects.toThrow(
      /Probe may not write memory:\/\/work\/runs\/r\/selection\.json/,
    );
    const toDataset = (key: string) =>
      runTask(
        probe((c) => c.openStore('memory://ds').put(key, 'x')),
        { runId: 'r' },
        ctx,
      );
    await expect(toDataset('selection.json')).resolves.toBeUndefined();
    await expect(toDataset('manifest.json')).rejects.toThrow(UndeclaredAccessError);
  });

  it('checks the result against the output schema before it reaches the execution state', async () => {
    const { ctx } = context();
    const bad = { ...probe(async () => ({ n: 'x' })), output: z.object({ n: z.number() }) };
    await expect(runTask(bad, { runId: 'r' }, ctx)).rejects.toThrow(/expected number/);
  });
});
