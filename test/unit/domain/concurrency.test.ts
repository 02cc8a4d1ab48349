// runLimited with jobs the test settles by hand: how many run at once, in which order they start, and
// what happens after one fails (no new starts, running ones awaited, the first error thrown).
import { describe, expect, it } from 'vitest';
import { runLimited } from '../../../shared/domain/concurrency.ts';

type Gate = { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void };

function gate(): Gate {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** `count` jobs that wait for their gate; records starts, ends and the most in flight at once. */
function gatedJobs(count: number) {
  const gates = Array.from({ length: count }, gate);
  const started: number[] = [];
  const finished: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const jobs = gates.map((g, i) => async () => {
    started.push(i);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      await g.promise;
    } finally {
      inFlight--;
      finished.push(i);
    }
  });
  return { gates, jobs, started, finished, maxInFlight: () => maxInFlight };
}

/** Lets every settled promise run its continuations. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('runLimited', () => {
  it('runs every job, in order, never more than `limit` at once', async () => {
    const { gates, jobs, started, maxInFlight } = gatedJobs(7);
    const run = runLimited(jobs, 3);
    await flush();
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) {
      g.resolve();
      await flush();
    }
    await run;
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(maxInFlight()).toBe(3);
  });

  it('starts nothing after the first failure, waits for the running jobs, then throws the first error', async () => {
    const { gates, jobs, started, finished } = gatedJobs(10);
    let settled = false;
    const run = runLimited(jobs, 3).finally(() => {
      settled = true;
    });
    run.catch(() => {});
    await flush();
    expect(started).toEqual([0, 1, 2]);

    const first = new Error('tile 1 failed');
    gates[1]?.reject(first);
    await flush();
    // Job 1's worker stops; 0 and 2 are still running and the run waits for them.
    expect(started).toEqual([0, 1, 2]);
    expect(settled).toBe(false);

    gates[2]?.reject(new Error('tile 2 failed too'));
    await flush();
    expect(settled).toBe(false);
    gates[0]?.resolve();
    await expect(run).rejects.toBe(first);
    expect(started).toEqual([0, 1, 2]);
    expect(finished.sort()).toEqual([0, 1, 2]);
  });

  it('counts a job that throws before returning a promise as a failure', async () => {
    const ran: string[] = [];
    const jobs = [
      () => {
        throw new Error('sync');
      },
      async () => {
        ran.push('second');
      },
    ];
    await expect(runLimited(jobs, 1)).rejects.toThrow('sync');
    expect(ran).toEqual([]);
  });

  it('handles no jobs, and treats a limit below 1 as 1', async () => {
    await expect(runLimited([], 4)).resolves.toBeUndefined();
    const order: number[] = [];
    await runLimited(
      [0, 1, 2].map((i) => async () => {
        order.push(i);
      }),
      0,
    );
    expect(order).toEqual([0, 1, 2]);
  });
});
