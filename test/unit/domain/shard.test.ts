// WebDataset shards: determinism (same samples → same bytes, pinned by a golden hash), tar header
// fields, member naming and order, key rules, and that readShard refuses what a reader would misgroup.
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { IntegrityError, InvalidInputError } from '../../../shared/domain/errors.ts';
import { sha256Hex } from '../../../shared/domain/hashing.ts';
import { encodeNpy } from '../../../shared/domain/npy.ts';
import {
  buildShard,
  readShard,
  type ShardSample,
  ShardWriter,
  sampleSpans,
  spanMember,
  splitMemberPath,
  TAR_END,
} from '../../../shared/domain/shard.ts';

function sample(key: string, seed: number): ShardSample {
  const pixels = new Uint16Array(2 * 3 * 4 * 4).map((_, i) => (i * 7 + seed) % 65536);
  return {
    key,
    members: [
      { name: 'json', data: new TextEncoder().encode(JSON.stringify({ id: key, split: 'train' })) },
      { name: '10m.npy', data: encodeNpy(pixels, [2, 3, 4, 4]) },
      { name: 'scl.npy', data: encodeNpy(new Uint8Array(2 * 2 * 2).fill(4), [2, 2, 2]) },
    ],
  };
}

async function rawEntries(bytes: Uint8Array): Promise<tar.Header[]> {
  const extract = tar.extract();
  extract.end(Buffer.from(bytes));
  const headers: tar.Header[] = [];
  for await (const entry of extract) {
    headers.push(entry.header);
    entry.resume();
  }
  return headers;
}

async function tarOf(entries: Array<{ name: string; type?: 'file' | 'directory'; body?: string }>) {
  const pack = tar.pack();
  for (const e of entries) pack.entry({ name: e.name, type: e.type ?? 'file' }, e.body ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

describe('buildShard', () => {
  const samples = [sample('33twl_0012_0040', 1), sample('33twl_0012_0041', 2)];

  it('is byte-identical for the same input, and its sha256 is of those bytes', async () => {
    const a = await buildShard(samples);
    const b = await buildShard(structuredClone(samples));
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(a.sha256).toBe(sha256Hex(a.bytes));
    expect(a.samples).toBe(2);
    expect(a.bytes.length % 512).toBe(0);
  });

  it('keeps producing the same bytes across releases (golden hash)', async () => {
    // If this changes, shards of a rerun would no longer match earlier datasets: find out why.
    const { sha256, bytes } = await buildShard([
      { key: 'golden_0000_0000', members: [{ name: 'json', data: new TextEncoder().encode('{"id":"g"}') }] },
    ]);
    expect(bytes.length).toBe(2048);
    expect(sha256).toBe('93175c1cb442c1f33465db8ce3c312a001653f9883fd113693539978cb7df469');
  });

  it('names members <key>.<name> in the given order with fixed owner, mode and mtime', async () => {
    const headers = await rawEntries((await buildShard(samples)).bytes);
    expect(headers.map((h) => h.name)).toEqual([
      '33twl_0012_0040.json',
      '33twl_0012_0040.10m.npy',
      '33twl_0012_0040.scl.npy',
      '33twl_0012_0041.json',
      '33twl_0012_0041.10m.npy',
      '33twl_0012_0041.scl.npy',
    ]);
    for (const h of headers) {
      expect(h.mtime?.getTime()).toBe(0);
      expect(h.uid).toBe(0);
      expect(h.gid).toBe(0);
      expect(h.uname).toBe('');
      expect(h.gname).toBe('');
      expect(h.mode).toBe(0o644);
      expect(h.type).toBe('file');
    }
  });

  it('round-trips through readShard', async () => {
    const back = await readShard((await buildShard(samples)).bytes);
    expect(back.map((s) => s.key)).toEqual(samples.map((s) => s.key));
    back.forEach((s, i) => {
      expect(s.members.map((m) => m.name)).toEqual(['json', '10m.npy', 'scl.npy']);
      s.members.forEach((m, j) => {
        expect(Buffer.from(m.data).equals(Buffer.from(samples[i]!.members[j]!.data))).toBe(true);
      });
    });
  });

  it('writes an empty shard as a valid empty tar', async () => {
    const empty = await buildShard([]);
    expect(empty.samples).toBe(0);
    expect(await readShard(empty.bytes)).toEqual([]);
  });

  it('refuses keys a WebDataset reader would split wrongly, and duplicates', async () => {
    const one = (key: string, names = ['json']): ShardSample => ({
      key,
      members: names.map((name) => ({ name, data: new Uint8Array(1) })),
    });
    await expect(buildShard([one('33TWL_0001_0001')])).rejects.toThrow(InvalidInputError);
    await expect(buildShard([one('a.b')])).rejects.toThrow(/no dots/);
    await expect(buildShard([one('a/b')])).rejects.toThrow(InvalidInputError);
    await expect(buildShard([one('')])).rejects.toThrow(InvalidInputError);
    await expect(buildShard([one('a'), one('a')])).rejects.toThrow(/appears twice/);
    await expect(buildShard([one('a', ['json', 'json'])])).rejects.toThrow(/appears twice/);
    await expect(buildShard([one('a', ['.npy'])])).rejects.toThrow(InvalidInputError);
    await expect(buildShard([one('a', [])])).rejects.toThrow(/no members/);
  });
});

describe('readShard', () => {
  it('refuses a key split into non-adjacent runs, entries without a key, and directories', async () => {
    await expect(
      readShard(await tarOf([{ name: 'a.json' }, { name: 'b.json' }, { name: 'a.npy' }])),
    ).rejects.toThrow(/non-adjacent/);
    await expect(readShard(await tarOf([{ name: 'noext' }]))).rejects.toThrow(IntegrityError);
    await expect(readShard(await tarOf([{ name: 'dir/', type: 'directory' }]))).rejects.toThrow(/directory/);
  });

  it('reports a truncated or garbage tar as IntegrityError', async () => {
    const { bytes } = await buildShard([sample('k_1', 1)]);
    await expect(readShard(bytes.subarray(0, 700))).rejects.toThrow(IntegrityError);
    await expect(readShard(new Uint8Array(1024).fill(65))).rejects.toThrow(IntegrityError);
  });

  it('splits member paths at the first dot of the basename, as WebDataset does', () => {
    expect(splitMemberPath('33twl_0001_0002.10m.npy')).toEqual({ key: '33twl_0001_0002', name: '10m.npy' });
    expect(splitMemberPath('dir.x/k.json')).toEqual({ key: 'dir.x/k', name: 'json' });
    expect(splitMemberPath('.json')).toBeUndefined();
    expect(splitMemberPath('k.')).toBeUndefined();
  });
});

describe('sampleSpans', () => {
  it('finds each sample; spans of any samples, concatenated, are the shard buildShard writes of them', async () => {
    // Members of several sizes, one a multiple of 512 and one empty: padding is part of the span.
    const samples = ['a_0000_0001', 'b_0003_0000', 'c_0000_0000', 'd_0001_0001'].map((k, i) => {
      const s = sample(k, i);
      s.members.push({ name: 'pad.bin', data: new Uint8Array(512 * i) });
      return s;
    });
    const shard = await buildShard(samples);
    const spans = sampleSpans(shard.bytes);
    expect(spans.map((s) => s.key)).toEqual(samples.map((s) => s.key));
    expect(spans[0]?.offset).toBe(0);
    for (let i = 1; i < spans.length; i++) {
      const prev = spans[i - 1] as { offset: number; length: number };
      expect(spans[i]?.offset).toBe(prev.offset + prev.length);
    }
    const last = spans[spans.length - 1] as { offset: number; length: number };
    expect(shard.bytes.byteLength).toBe(last.offset + last.length + TAR_END.byteLength);
    // An oracle independent of the spans: tar-stream writes the reordered samples from scratch.
    const order = [2, 0, 3];
    const copied = Buffer.concat([
      ...order.map((i) => {
        const s = spans[i] as { offset: number; length: number };
        return shard.bytes.subarray(s.offset, s.offset + s.length);
      }),
      TAR_END,
    ]);
    const rebuilt = await buildShard(order.map((i) => samples[i] as ShardSample));
    expect(sha256Hex(copied)).toBe(rebuilt.sha256);
    expect((await readShard(copied)).map((s) => s.key)).toEqual(order.map((i) => samples[i]?.key));
  });

  it('refuses a tar without end blocks and entries that are not plain files', async () => {
    const shard = await buildShard([sample('a_0000_0000', 1)]);
    expect(() => sampleSpans(shard.bytes.subarray(0, shard.bytes.byteLength - 1024))).toThrow(IntegrityError);
    const pack = tar.pack();
    pack.entry({ name: 'dir', type: 'directory' });
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    expect(() => sampleSpans(Buffer.concat(chunks))).toThrow(/not a plain file/);
  });
});

describe('spanMember', () => {
  it("returns each member's bytes from one sample's span, as tar-stream reads them", async () => {
    const samples = ['a_0000_0001', 'b_0003_0000'].map((k, i) => {
      const s = sample(k, i);
      s.members.push({ name: 'pad.bin', data: new Uint8Array(512 * (i + 1)).fill(7) });
      return s;
    });
    const shard = await buildShard(samples);
    const read = await readShard(shard.bytes);
    for (const span of sampleSpans(shard.bytes)) {
      const bytes = shard.bytes.subarray(span.offset, span.offset + span.length);
      const oracle = read.find((s) => s.key === span.key) as ShardSample;
      for (const m of oracle.members) {
        expect(Buffer.from(spanMember(bytes, m.name) as Uint8Array).equals(Buffer.from(m.data))).toBe(true);
      }
      expect(spanMember(bytes, 'nothing.here')).toBeUndefined();
    }
  });
});

/** A ShardWriter fed these samples while its chunks are drained, as ExtractRegion feeds one. */
function streamShard(samples: readonly ShardSample[]): ShardWriter {
  const writer = new ShardWriter();
  const fed = (async () => {
    for (const s of samples) await writer.add(s);
    writer.end();
  })();
  fed.catch((error: unknown) => writer.abort(error as Error));
  return writer;
}

describe('ShardWriter, fed a whole list', () => {
  it("streams buildShard's bytes, with its sha256 and the spans sampleSpans finds in them", async () => {
    const samples = ['a_0000_0001', 'b_0003_0000', 'c_0000_0000'].map((k, i) => {
      const s = sample(k, i);
      s.members.push({ name: 'pad.bin', data: new Uint8Array(511 + 513 * i).fill(i + 1) });
      return s;
    });
    const built = await buildShard(samples);
    const streamed = streamShard(samples);
    const chunks: Uint8Array[] = [];
    for await (const c of streamed.chunks) chunks.push(c);
    const bytes = Buffer.concat(chunks);
    expect(bytes.equals(Buffer.from(built.bytes))).toBe(true);
    const result = streamed.result();
    expect(result.sha256).toBe(built.sha256);
    expect(result.bytes).toBe(built.bytes.byteLength);
    expect(result.spans).toEqual(sampleSpans(built.bytes));
  });

  it('has no result until streamed to its end, and a consumer may stop early', async () => {
    const samples = [sample('a_0000_0000', 1), sample('b_0000_0000', 2)];
    const streamed = streamShard(samples);
    expect(() => streamed.result()).toThrow(/not streamed to its end/);
    for await (const _ of streamed.chunks) break;
    expect(() => streamed.result()).toThrow(/not streamed to its end/);
  });
});

describe('ShardWriter', { timeout: 20_000 }, () => {
  // Large members, so the tar's buffer fills and add() must wait for the consumer (backpressure).
  const big = (key: string, i: number): ShardSample => ({
    key,
    members: [
      { name: 'json', data: new TextEncoder().encode(`{"i":${i}}`) },
      { name: 'bin', data: new Uint8Array(300_000 + i).fill(i % 251) },
    ],
  });

  it("writes buildShard's bytes when samples are added one by one while a consumer drains", async () => {
    const samples = Array.from({ length: 20 }, (_, i) => big(`s_${String(i).padStart(4, '0')}`, i));
    const writer = new ShardWriter();
    const consumed = (async () => {
      const chunks: Uint8Array[] = [];
      for await (const c of writer.chunks) chunks.push(c);
      return Buffer.concat(chunks);
    })();
    for (const s of samples) await writer.add(s);
    writer.end();
    const bytes = await consumed;
    const built = await buildShard(samples);
    expect(bytes.equals(Buffer.from(built.bytes))).toBe(true);
    expect(writer.result().sha256).toBe(built.sha256);
    expect(writer.result().spans).toEqual(sampleSpans(built.bytes));
  });

  it('holds the producer back until the consumer reads: add() waits on a full tar', async () => {
    const writer = new ShardWriter();
    let added = 0;
    const producer = (async () => {
      for (let i = 0; i < 40; i++) {
        await writer.add(big(`s_${String(i).padStart(4, '0')}`, i));
        added++;
      }
      writer.end();
    })();
    // Nobody consumes yet: after the event loop settles, the producer must still be stuck early.
    await new Promise((r) => setTimeout(r, 50));
    expect(added).toBeLessThan(40);
    let bytes = 0;
    for await (const c of writer.chunks) bytes += c.byteLength;
    await producer;
    expect(added).toBe(40);
    expect(bytes).toBe(writer.result().bytes);
  });

  it('rejects a pending add() when aborted, and the consumer sees the error', async () => {
    const writer = new ShardWriter();
    const adds = (async () => {
      for (let i = 0; i < 40; i++) await writer.add(big(`s_${String(i).padStart(4, '0')}`, i));
    })();
    await new Promise((r) => setTimeout(r, 20));
    writer.abort(new Error('store refused the write'));
    await expect(adds).rejects.toThrow();
    const drain = (async () => {
      for await (const _ of writer.chunks);
    })();
    await expect(drain).rejects.toThrow(/store refused the write/);
    expect(() => writer.result()).toThrow(/not streamed to its end/);
  });

  it('checks each sample as it comes: a repeated key is refused by name', async () => {
    const writer = new ShardWriter();
    const drain = (async () => {
      for await (const _ of writer.chunks);
    })();
    await writer.add(sample('a_0000_0000', 1));
    await expect(writer.add(sample('a_0000_0000', 2))).rejects.toThrow(/"a_0000_0000" appears twice/);
    writer.end();
    await drain;
    expect(writer.result().spans.map((s) => s.key)).toEqual(['a_0000_0000']);
  });
});
