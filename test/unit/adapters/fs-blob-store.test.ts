// The local blob store: atomic puts (no half-written file visible, no temp file listed), streamed
// writes buffered into 1 MiB writes with the bytes unchanged, create-only with exactly one winner,
// range reads (several per open file), sorted recursive listing by prefix, and keys that cannot
// escape the root.
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../../shared/adapters/aws/s3-blob-store.ts';
import { blobStoreForUri } from '../../../shared/adapters/blob-store-for-uri.ts';
import { FsBlobStore, WRITE_BUFFER_BYTES } from '../../../shared/adapters/local/fs-blob-store.ts';
import { AlreadyExistsError, IntegrityError, InvalidInputError } from '../../../shared/domain/errors.ts';

let dir: string;
let store: FsBlobStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fs-blob-store-'));
  store = new FsBlobStore(join(dir, 'root'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString('utf8'));

describe('FsBlobStore', () => {
  it('names its root as a file:// URI', () => {
    expect(store.uri).toBe(`file://${join(dir, 'root')}`);
  });

  it('puts and gets bytes and strings, creating folders; a missing key is undefined', async () => {
    await store.put('a/b/c.bin', new Uint8Array([1, 2, 3]));
    await store.put('x.json', '{"é":1}');
    expect([...(await store.get('a/b/c.bin'))!]).toEqual([1, 2, 3]);
    expect(text(await store.get('x.json'))).toBe('{"é":1}');
    expect(await store.get('nope.json')).toBeUndefined();
    expect(await store.get('a/b')).toBeUndefined();
    expect(await store.exists('x.json')).toBe(true);
    expect(await store.exists('a/b')).toBe(false);
    expect(await store.exists('x.json/deeper')).toBe(false);
  });

  it('overwrites on a plain put and leaves no temp file behind', async () => {
    await store.put('k', 'one');
    await store.put('k', 'two');
    expect(text(await store.get('k'))).toBe('two');
    expect(await readdir(join(dir, 'root'))).toEqual(['k']);
  });

  it('refuses a create-only put of an existing key with AlreadyExistsError naming it, and keeps the old bytes', async () => {
    await store.put('train/s-000000.tar', 'first', { createOnly: true });
    const second = store.put('train/s-000000.tar', 'second', { createOnly: true });
    await expect(second).rejects.toThrow(AlreadyExistsError);
    await expect(store.put('train/s-000000.tar', 'x', { createOnly: true })).rejects.toThrow(
      /train\/s-000000\.tar/,
    );
    expect(text(await store.get('train/s-000000.tar'))).toBe('first');
    expect(await readdir(join(dir, 'root', 'train'))).toEqual(['s-000000.tar']);
  });

  it('streams chunks into one file, atomically; a failing stream leaves nothing', async () => {
    async function* chunks(n: number, failAt?: number) {
      for (let i = 0; i < n; i++) {
        if (i === failAt) throw new Error('source broke');
        yield new Uint8Array(1000).fill(i);
      }
    }
    await store.putStream('train/s.tar', chunks(50), { createOnly: true });
    const bytes = (await store.get('train/s.tar'))!;
    expect(bytes.byteLength).toBe(50_000);
    expect([bytes[0], bytes[999], bytes[1000], bytes[49_999]]).toEqual([0, 0, 1, 49]);
    await expect(store.putStream('train/s.tar', chunks(2), { createOnly: true })).rejects.toThrow(
      AlreadyExistsError,
    );
    await expect(store.putStream('train/t.tar', chunks(5, 3))).rejects.toThrow(/source broke/);
    expect(await readdir(join(dir, 'root', 'train'))).toEqual(['s.tar']);
  });

  it('buffers small chunks into 1 MiB writes: the same bytes in order, strings as UTF-8, large chunks whole', async () => {
    const MiB = WRITE_BUFFER_BYTES;
    // Sizes around the buffer's edge: one that fills it but for 50 bytes, one that spills, a chunk
    // larger than the buffer, one exactly its size, strings and empty chunks in between.
    const parts: Array<Uint8Array | string> = [
      new Uint8Array(100).fill(1),
      new Uint8Array(MiB - 150).fill(2),
      new Uint8Array(0),
      new Uint8Array(100).fill(3),
      new Uint8Array(3 * MiB + 7).map((_, i) => i % 251),
      'é and ü',
      new Uint8Array(MiB).fill(4),
      new Uint8Array(7).fill(5),
    ];
    async function* chunks() {
      for (const p of parts) yield p as Uint8Array;
    }
    await store.putStream('s.bin', chunks());
    const expected = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
    expect(Buffer.compare(Buffer.from((await store.get('s.bin'))!), expected)).toBe(0);
  });

  it('writes a long stream to its temp file as it goes, shows nothing before the end, and leaves nothing when it fails', async () => {
    const root = join(dir, 'root');
    const seen: Array<{ temp: number; visible: boolean; listed: string[] }> = [];
    async function* chunks(fail: boolean) {
      for (let i = 0; i < 300; i++) {
        if (i === 200) {
          // 200 × 16 KiB written: at least two full buffers are in the temp file, no name yet.
          const temps = (await readdir(root)).filter((n) => n.startsWith('.sf-tmp-'));
          const sizes = await Promise.all(temps.map(async (n) => (await stat(join(root, n))).size));
          seen.push({
            temp: Math.max(0, ...sizes),
            visible: await store.exists('long.bin'),
            listed: await store.list(''),
          });
          if (fail) throw new Error('source broke');
        }
        yield new Uint8Array(16 * 1024).fill(i % 256);
      }
    }
    await store.put('other', 'x');
    await expect(store.putStream('long.bin', chunks(true), { createOnly: true })).rejects.toThrow(
      /source broke/,
    );
    expect(await readdir(root)).toEqual(['other']);
    await store.putStream('long.bin', chunks(false), { createOnly: true });
    for (const s of seen) {
      expect(s.temp).toBeGreaterThanOrEqual(2 * WRITE_BUFFER_BYTES);
      expect(s.temp).toBeLessThan(200 * 16 * 1024);
      expect(s.visible).toBe(false);
      expect(s.listed).toEqual(['other']);
    }
    const bytes = (await store.get('long.bin'))!;
    expect(bytes.byteLength).toBe(300 * 16 * 1024);
    expect([bytes[0], bytes[16 * 1024], bytes[bytes.byteLength - 1]]).toEqual([0, 1, 299 % 256]);
    expect((await readdir(root)).sort()).toEqual(['long.bin', 'other']);
  });

  it('reads several ranges of one file at once, each as getRange reads it, in the order asked', async () => {
    await store.put(
      'r.bin',
      new Uint8Array(70_000).map((_, i) => (i * 7) % 256),
    );
    const ranges = [
      { offset: 60_000, length: 10_000 },
      { offset: 0, length: 3 },
      { offset: 100, length: 0 },
      { offset: 5, length: 40_000 },
      { offset: 0, length: 3 },
      { offset: 0, length: 70_000 },
    ];
    const got = await store.getRanges('r.bin', ranges);
    expect(got).toHaveLength(ranges.length);
    for (const [i, r] of ranges.entries()) {
      expect(
        Buffer.compare(Buffer.from(got[i]!), Buffer.from(await store.getRange('r.bin', r.offset, r.length))),
      ).toBe(0);
      expect(got[i]!.byteLength).toBe(r.length);
    }
    expect([...got[1]!]).toEqual([0, 7, 14]);
    const past = store.getRanges('r.bin', [
      { offset: 0, length: 10 },
      { offset: 69_990, length: 20 },
    ]);
    await expect(past).rejects.toThrow(IntegrityError);
    await expect(past).rejects.toThrow(/r\.bin ends before byte 70010/);
    await expect(store.getRanges('missing.bin', [{ offset: 0, length: 1 }])).rejects.toThrow(/ENOENT/);
  });

  it('reads exact byte ranges, and refuses one past the end', async () => {
    await store.put(
      'r.bin',
      new Uint8Array(300).map((_, i) => i % 256),
    );
    expect([...(await store.getRange('r.bin', 250, 6))]).toEqual([250, 251, 252, 253, 254, 255]);
    expect((await store.getRange('r.bin', 299, 1))[0]).toBe(299 % 256);
    await expect(store.getRange('r.bin', 295, 10)).rejects.toThrow(/ends before byte 305/);
    await expect(store.getRange('missing.bin', 0, 1)).rejects.toThrow(/ENOENT/);
  });

  it('lets exactly one of many concurrent create-only writers win', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => store.put('manifest.json', `writer ${i}`, { createOnly: true })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(AlreadyExistsError);
    expect(text(await store.get('manifest.json'))).toMatch(/^writer \d+$/);
  });

  it('never shows a half-written file to a reader or a lister', async () => {
    const big = new Uint8Array(8 * 1024 * 1024).fill(7);
    let reading = true;
    const seen = new Set<number>();
    const reader = (async () => {
      while (reading) {
        const got = await store.get('big.bin');
        seen.add(got?.length ?? -1);
        const keys = await store.list('');
        expect(keys.every((k) => k === 'big.bin')).toBe(true);
      }
    })();
    for (let i = 0; i < 4; i++) await store.put('big.bin', big);
    reading = false;
    await reader;
    for (const n of seen) expect([-1, big.length]).toContain(n);
  });

  it('lists keys under a prefix recursively, sorted by code unit, with / separators', async () => {
    for (const k of [
      'train/b.tar',
      'train/a.tar',
      'train-x/z',
      'runs/r1/results/0002.json',
      'runs/r1/results/0001.json',
      'B',
      'a',
    ]) {
      await store.put(k, k);
    }
    expect(await store.list('')).toEqual([
      'B',
      'a',
      'runs/r1/results/0001.json',
      'runs/r1/results/0002.json',
      'train-x/z',
      'train/a.tar',
      'train/b.tar',
    ]);
    expect(await store.list('train/')).toEqual(['train/a.tar', 'train/b.tar']);
    expect(await store.list('train')).toEqual(['train-x/z', 'train/a.tar', 'train/b.tar']);
    expect(await store.list('runs/r1/res')).toEqual([
      'runs/r1/results/0001.json',
      'runs/r1/results/0002.json',
    ]);
    expect(await store.list('nothing/here/')).toEqual([]);
  });

  it('deletes, and deleting a missing key is fine', async () => {
    await store.put('d/k', 'v');
    await store.delete('d/k');
    await store.delete('d/k');
    expect(await store.exists('d/k')).toBe(false);
    expect(await store.list('d/')).toEqual([]);
  });

  it('refuses keys that could escape the root', async () => {
    for (const key of ['../x', 'a/../../x', '/etc/passwd', 'a//b', './a', '', 'a\\b', 'a/.sf-tmp-x']) {
      await expect(store.put(key, 'v')).rejects.toThrow(InvalidInputError);
      await expect(store.get(key)).rejects.toThrow(InvalidInputError);
    }
    await expect(store.list('../')).rejects.toThrow(InvalidInputError);
  });
});

describe('blobStoreForUri', () => {
  it('opens folders, relative paths against baseDir, and file:// URIs locally', () => {
    expect(blobStoreForUri('/data/ds').uri).toBe('file:///data/ds');
    expect(blobStoreForUri('datasets/ds', '/data/here').uri).toBe('file:///data/here/datasets/ds');
    expect(blobStoreForUri('./ds', '/base').uri).toBe('file:///base/ds');
    expect(blobStoreForUri('file:///data/my%20ds').uri).toBe('file:///data/my%20ds');
    expect(blobStoreForUri('file:///data/ds')).toBeInstanceOf(FsBlobStore);
  });

  it('opens s3:// URIs as S3 stores with the prefix as root', () => {
    const s = blobStoreForUri('s3://my-bucket/datasets/crops/', undefined, {
      env: { AWS_REGION: 'eu-west-1' },
    });
    expect(s).toBeInstanceOf(S3BlobStore);
    expect(s.uri).toBe('s3://my-bucket/datasets/crops');
    expect(blobStoreForUri('s3://my-bucket', undefined, { env: { AWS_REGION: 'eu-west-1' } }).uri).toBe(
      's3://my-bucket',
    );
  });

  it('refuses other schemes and malformed buckets', () => {
    expect(() => blobStoreForUri('https://example.com/x')).toThrow(InvalidInputError);
    expect(() => blobStoreForUri('s3:///prefix')).toThrow(/valid S3 bucket/);
    expect(() => blobStoreForUri('')).toThrow(InvalidInputError);
  });
});
