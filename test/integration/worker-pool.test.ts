// The worker pool runs a TypeScript task module in separate threads, from vitest (no tsx in the
// parent) just as under tsx, and brings a task's error back with its name, retryable flag and context.
import { afterAll, describe, expect, it } from 'vitest';
import { SatfactoryError } from '../../shared/domain/errors.ts';
import { createWorkerPool, WorkerTaskError } from '../../shared/runtime/worker-pool.ts';
import { ProbeMode, type ProbeResult, type ProbeTask } from '../helpers/thread-probe-worker.ts';

const pool = createWorkerPool<ProbeTask, ProbeResult>({
  filename: new URL('../helpers/thread-probe-worker.ts', import.meta.url),
  maxThreads: 2,
  minThreads: 2,
});
afterAll(() => pool.destroy());

describe('createWorkerPool', () => {
  it('runs tasks of a TypeScript module on parallel worker threads', async () => {
    // Two tasks that each wait for the other meet only if they run at once, on two threads. A count,
    // not a timing, so a busy machine cannot fail it: the 30 s bound only ends a wait that would hang.
    const meeting = new Int32Array(new SharedArrayBuffer(4));
    const met = await Promise.all(
      [1, 2].map((id) => pool.run({ mode: ProbeMode.Meet, meeting, parties: 2, ms: 30_000, id })),
    );
    expect(met.map((r) => [r.id, r.met])).toEqual([
      [1, 2],
      [2, 2],
    ]);
    const threads = new Set(met.map((r) => r.threadId));
    expect(threads.size).toBe(2);
    expect(threads.has(0)).toBe(false); // 0 is the main thread
    expect(pool.maxThreads).toBe(2);

    // More tasks than threads: the rest wait in the queue and run on the same two threads.
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((id) => pool.run({ mode: ProbeMode.Block, ms: 20, id })),
    );
    expect(results.map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);
    expect(results.every((r) => threads.has(r.threadId))).toBe(true);
  });

  it('rethrows our errors with their name, retryable flag and context', async () => {
    const error = await pool.run({ mode: ProbeMode.Transient }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerTaskError);
    expect(error).toBeInstanceOf(SatfactoryError);
    expect(error).toMatchObject({
      name: 'TransientError',
      message: 'the COG host answered 503',
      retryable: true,
      context: { source: 'https://example.test/b04.tif', index: 3 },
    });
    expect((error as Error).stack).toContain('thread-probe-worker.ts');
  });

  it('keeps the name of a plain error', async () => {
    const error = await pool.run({ mode: ProbeMode.TypeError }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(SatfactoryError);
    expect(error).toMatchObject({ name: 'TypeError', message: 'not a function' });
  });

  it('keeps working after a task failed', async () => {
    await expect(pool.run({ mode: ProbeMode.Block, ms: 1, id: 9 })).resolves.toMatchObject({ id: 9 });
  });
});
