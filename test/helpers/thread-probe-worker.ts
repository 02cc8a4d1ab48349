// A worker task module for the worker-pool tests: it reports the thread it ran on, blocks like CPU
// work does, meets other tasks, and throws our errors on request. Workers load it with Node's own type
// stripping, so it keeps to erasable TypeScript (tsconfig's erasableSyntaxOnly).
import { threadId } from 'node:worker_threads';
import { TransientError } from '../../shared/domain/errors.ts';

export const ProbeMode = {
  Block: 'block',
  Meet: 'meet',
  Transient: 'transient',
  TypeError: 'type-error',
} as const;
export type ProbeMode = (typeof ProbeMode)[keyof typeof ProbeMode];

export type ProbeTask = {
  readonly mode: ProbeMode;
  /** Block: how long; Meet: the most it waits for the others. */
  readonly ms?: number;
  readonly id?: number;
  /** Meet: a counter on a SharedArrayBuffer, shared by the tasks that meet, and how many they are. */
  readonly meeting?: Int32Array;
  readonly parties?: number;
};
export type ProbeResult = {
  readonly threadId: number;
  readonly id: number | undefined;
  readonly startedAt: number;
  /** Meet: how many tasks had arrived when this one left. */
  readonly met?: number;
};

export default function probe(task: ProbeTask): ProbeResult {
  const startedAt = Date.now();
  switch (task.mode) {
    case ProbeMode.Block:
      // Atomics.wait blocks the thread as CPU work would: overlap proves the threads are separate.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, task.ms ?? 0);
      return { threadId, id: task.id, startedAt };
    case ProbeMode.Meet: {
      // Arrive, then wait for the others: all of them arrive only if they run at the same time.
      const meeting = task.meeting as Int32Array;
      Atomics.add(meeting, 0, 1);
      Atomics.notify(meeting, 0);
      const deadline = startedAt + (task.ms ?? 0);
      for (let seen = Atomics.load(meeting, 0); seen < (task.parties ?? 1); seen = Atomics.load(meeting, 0)) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        Atomics.wait(meeting, 0, seen, left);
      }
      return { threadId, id: task.id, startedAt, met: Atomics.load(meeting, 0) };
    }
    case ProbeMode.Transient:
      throw new TransientError('the COG host answered 503', {
        source: 'https://example.test/b04.tif',
        index: 3,
      });
    case ProbeMode.TypeError:
      throw new TypeError('not a function');
  }
}
