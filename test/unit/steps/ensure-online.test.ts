import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../../../shared/domain/errors.ts';
import { silentLog } from '../../../shared/ports.ts';
import { ensureOnline } from '../../../shared/steps/ensure-online.ts';
import type { StepContext } from '../../../shared/work/context.ts';
import { type StoredSelection, WorkFiles, writeWork } from '../../../shared/work/files.ts';
import { MemoryBlobStore } from '../../helpers/memory-blob-store.ts';
import { productOf, selectionOf } from '../../helpers/work-files.ts';

const selection = (online: boolean[]): StoredSelection =>
  selectionOf('run-1', {
    T1: online.map((o, i) =>
      productOf({ id: `P${9 - i}`, collection: 'c', tile: 'T1', datetime: `2023-01-0${i + 1}`, online: o }),
    ),
  });

const ctxOf = (work: MemoryBlobStore) => ({ work, log: silentLog }) as unknown as StepContext;

async function run(online: boolean[]) {
  const work = new MemoryBlobStore();
  await writeWork(work, WorkFiles.selection, WorkFiles.selection.key('run-1'), selection(online));
  const out = await ensureOnline({ runId: 'run-1', jobKey: 'j' }, ctxOf(work));
  return { out, work };
}

describe('ensureOnline', () => {
  it('writes the offline products, sorted, as the orders JSONL and returns counts and its key', async () => {
    const { out, work } = await run([true, false, false]);
    expect(out).toEqual({ online: 1, offline: 2, ordersKey: 'runs/run-1/orders.jsonl' });
    const lines = Buffer.from((await work.get('runs/run-1/orders.jsonl'))!)
      .toString()
      .trim()
      .split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { runId: 'run-1', product: { id: 'P7', collection: 'c', tile: 'T1', datetime: '2023-01-03' } },
      { runId: 'run-1', product: { id: 'P8', collection: 'c', tile: 'T1', datetime: '2023-01-02' } },
    ]);
  });

  it('writes nothing when every product is online', async () => {
    const { out, work } = await run([true, true]);
    expect(out).toEqual({ online: 2, offline: 0, ordersKey: null });
    expect(await work.exists('runs/run-1/orders.jsonl')).toBe(false);
  });

  it('refuses a selection of another shape, naming its key, instead of reading it unchecked', async () => {
    const work = new MemoryBlobStore();
    const old = { ...selection([false]), chosen: { T1: [{ id: 'P9', online: false }] } };
    await work.put('runs/run-1/selection.json', JSON.stringify(old));
    const error = await ensureOnline({ runId: 'run-1', jobKey: 'j' }, ctxOf(work)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toMatch(
      /runs\/run-1\/selection\.json is not a valid selection \(\/chosen\/T1\/0\/collection/,
    );
    expect((error as Error).message).toContain('delete memory://');
  });
});
