// The access-checked store's getRanges: refused for an undeclared key like every read, served by
// the inner store's getRanges when it has one, by getRange per range when not.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../../shared/adapters/local/fs-blob-store.ts';
import type { BlobStore } from '../../../shared/ports.ts';
import { AccessCheckedStore, UndeclaredAccessError } from '../../../shared/work/access-checked-store.ts';
import { MemoryBlobStore } from '../../helpers/memory-blob-store.ts';

const patterns = { read: ['runs/*/region-shards/*.tar'], write: [] };
const ranges = [
  { offset: 7, length: 3 },
  { offset: 0, length: 2 },
];

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'access-checked-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('AccessCheckedStore.getRanges', () => {
  it('reads declared keys through the inner getRanges, or getRange per range', async () => {
    const bytes = new Uint8Array(10).map((_, i) => i);
    const fs = new FsBlobStore(dir);
    const memory = new MemoryBlobStore();
    expect((memory as BlobStore).getRanges).toBeUndefined();
    for (const inner of [fs, memory]) {
      await inner.put('runs/r/region-shards/a-train.tar', bytes);
      const store = new AccessCheckedStore(inner, patterns, 'WriteShard');
      const got = await store.getRanges('runs/r/region-shards/a-train.tar', ranges);
      expect(got.map((b) => [...b])).toEqual([
        [7, 8, 9],
        [0, 1],
      ]);
    }
  });

  it('refuses an undeclared key before reading, naming it and the task', async () => {
    const store = new AccessCheckedStore(new FsBlobStore(dir), patterns, 'WriteShard');
    expect(() => store.getRanges('runs/r/shard-plans/train-000000.json', ranges)).toThrow(
      UndeclaredAccessError,
    );
    expect(() => store.getRanges('runs/r/shard-plans/train-000000.json', ranges)).toThrow(
      /WriteShard may not read .*runs\/r\/shard-plans\/train-000000\.json/,
    );
  });
});
