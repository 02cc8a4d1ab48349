// A worker task module for the worker-pool tests: it reports the thread it ran on, blocks like CPU
// work does, and throws our errors on request. The enum needs a real TypeScript loader, not stripping.
import { threadId } from 'node:worker_threads';
import { TransientError } from '../../shared/domain/errors.ts';

export enum ProbeMode {
  Block = 'block',
  Transient = 'transient',
  TypeError = 'type-error',
}

export type ProbeTask = { readonly mode: ProbeMode; readonly ms?: number; readonly id?: number };
export type ProbeResult = {
  readonly threadId: number;
  readonly id: number | undefined;
  readonly startedAt: number;
};

export default function probe(task: ProbeTask): ProbeResult {
  const startedAt = Date.now();
  switch (task.mode) {
    case ProbeMode.Block:
      // Atomics.wait blocks the thread as CPU work would: overlap proves the threads are separate.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, task.ms ?? 0);
      return { threadId, id: task.id, startedAt };
    case ProbeMode.Transient:
      throw new TransientError('the COG host answered 503', {
        source: 'https://example.test/b04.tif',
        index: 3,
      });
    case ProbeMode.TypeError:
      throw new TypeError('not a function');
  }
}
