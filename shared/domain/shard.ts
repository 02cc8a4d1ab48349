// WebDataset shards: one tar per shard, each sample a run of members `<key>.<name>`. The writer is
// deterministic (fixed mtime/owner/mode, given order), so a rerun writes byte-identical shards.
import { createHash } from 'node:crypto';
import tar from 'tar-stream';
import { IntegrityError, InvalidInputError } from './errors.ts';
import { sha256Hex } from './hashing.ts';

export type ShardMember = { name: string; data: Uint8Array };
export type ShardSample = { key: string; members: ShardMember[] };
export type BuiltShard = { bytes: Uint8Array; sha256: string; samples: number };

/** WebDataset splits a member path at the first dot of its basename, so keys must have none. */
const KEY = /^[a-z0-9_-]+$/;
/** Member names are extensions such as `json` or `10m.npy`: dot-separated lowercase words. */
const MEMBER = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;
const EPOCH = new Date(0);

export function isValidSampleKey(key: string): boolean {
  return KEY.test(key);
}

function checkSamples(samples: readonly ShardSample[]): void {
  const keys = new Set<string>();
  for (const [index, sample] of samples.entries()) checkSample(sample, index, keys);
}

/** One sample's key and members; `keys` holds the keys seen before it in the same shard. */
function checkSample(sample: ShardSample, index: number, keys: Set<string>): void {
  if (!KEY.test(sample.key)) {
    throw new InvalidInputError(
      `sample key "${sample.key}" must be lowercase letters, digits, '_' or '-' (no dots)`,
      {
        index,
      },
    );
  }
  if (keys.has(sample.key)) {
    throw new InvalidInputError(`sample key "${sample.key}" appears twice in one shard`, { index });
  }
  keys.add(sample.key);
  if (sample.members.length === 0) {
    throw new InvalidInputError(`sample "${sample.key}" has no members`, { index });
  }
  const names = new Set<string>();
  for (const member of sample.members) {
    if (!MEMBER.test(member.name)) {
      throw new InvalidInputError(
        `member "${member.name}" of sample "${sample.key}" must be dot-separated lowercase words`,
        { index },
      );
    }
    if (names.has(member.name)) {
      throw new InvalidInputError(`member "${member.name}" appears twice in sample "${sample.key}"`, {
        index,
      });
    }
    names.add(member.name);
  }
}

function toBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Writes the samples, members in the given order, to one tar held in memory. */
export async function buildShard(samples: readonly ShardSample[]): Promise<BuiltShard> {
  checkSamples(samples);
  const pack = tar.pack();
  // Drain while writing: the pack stream applies backpressure to entry() otherwise.
  const collected = (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  })();
  try {
    for (const sample of samples) {
      for (const member of sample.members) {
        await new Promise<void>((resolve, reject) => {
          pack.entry(entryHeader(sample.key, member), toBuffer(member.data), (error) =>
            error ? reject(error) : resolve(),
          );
        });
      }
    }
    pack.finalize();
  } catch (error) {
    pack.destroy(error as Error);
    await collected.catch(() => undefined);
    throw error;
  }
  const buffer = await collected;
  const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  return { bytes, sha256: sha256Hex(bytes), samples: samples.length };
}

/** Bytes handed to the store at a time by a shard stream. */
const STREAM_CHUNK = 4 * 1024 * 1024;

/** A shard written as a stream: its size, sha256 and each sample's span, as buildShard's would be. */
export type StreamedShard = { bytes: number; sha256: string; spans: SampleSpan[] };

/**
 * A shard written as its samples come: `add` each sample (it resolves once the tar has room, so a
 * producer never runs ahead of the store by more than a chunk), then `end`; `chunks` is what the store
 * consumes, started beside the producer. Once consumed, `result` gives the size, sha256 and each
 * sample's span. The bytes are buildShard's for the same samples in the same order.
 */
export class ShardWriter {
  readonly chunks: AsyncGenerator<Uint8Array>;
  readonly #pack = tar.pack();
  readonly #keys = new Set<string>();
  readonly #spans: SampleSpan[] = [];
  #offset = 0;
  #ended = false;
  #failure: Error | undefined;
  readonly #waiting = new Set<(error: Error) => void>();
  #streamed: StreamedShard | undefined;

  constructor() {
    this.chunks = this.#drain();
    // The error reaches the consumer through the drain and producers through add(), not as an event.
    this.#pack.on('error', () => undefined);
  }

  /** Appends a sample (checked as buildShard checks them); rejects if the stream failed or ended. */
  async add(sample: ShardSample): Promise<void> {
    if (this.#failure) throw this.#failure;
    if (this.#ended) throw new IntegrityError(`sample ${sample.key} added to a shard already ended`);
    checkSample(sample, this.#spans.length, this.#keys);
    const length = sample.members.reduce(
      (n, m) => n + BLOCK + Math.ceil(m.data.byteLength / BLOCK) * BLOCK,
      0,
    );
    this.#spans.push({ key: sample.key, offset: this.#offset, length });
    this.#offset += length;
    for (const member of sample.members) {
      await new Promise<void>((resolve, reject) => {
        // abort() rejects a waiting add() itself: a destroyed pack need not call back.
        this.#waiting.add(reject);
        const settle = (error?: Error | null) => {
          this.#waiting.delete(reject);
          if (error) reject(error);
          else resolve();
        };
        try {
          const sink = this.#pack.entry(entryHeader(sample.key, member), toBuffer(member.data), settle);
          sink.on('error', () => undefined);
        } catch (error) {
          settle(error as Error);
        }
      });
    }
  }

  /** No more samples: the stream ends after the tar's end blocks. */
  end(): void {
    this.#ended = true;
    this.#pack.finalize();
  }

  /** Stops the stream with this error: add() and the store's consumer see it; nothing is kept. */
  abort(error: Error): void {
    if (this.#failure || this.#streamed) return;
    this.#failure = error;
    this.#ended = true;
    for (const reject of this.#waiting) reject(error);
    this.#waiting.clear();
    this.#pack.destroy(error);
  }

  result(): StreamedShard {
    if (this.#streamed === undefined) throw new IntegrityError('the shard was not streamed to its end');
    return this.#streamed;
  }

  async *#drain(): AsyncGenerator<Uint8Array> {
    const pack = this.#pack;
    const hash = createHash('sha256');
    let bytes = 0;
    // The pack emits a chunk per header and per member: handing the store one write each costs
    // more than the tar itself, so chunks go out in runs of about STREAM_CHUNK bytes.
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = () => {
      const out = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    };
    try {
      for await (const chunk of pack) {
        const c = chunk as Buffer;
        hash.update(c);
        bytes += c.byteLength;
        pending.push(c);
        pendingBytes += c.byteLength;
        if (pendingBytes >= STREAM_CHUNK) yield flush();
      }
      if (pendingBytes > 0) yield flush();
    } catch (error) {
      // An abort: the consumer sees why, not the pack's "destroyed".
      throw this.#failure ?? error;
    } finally {
      // A consumer that stops early: end the pack so a producer does not wait on it forever.
      if (this.#streamed === undefined)
        this.abort(new IntegrityError("the shard's consumer stopped before its end"));
    }
    const expected = this.#offset + TAR_END.byteLength;
    if (bytes !== expected) {
      throw new IntegrityError(`the shard streamed ${bytes} bytes where its entries make ${expected}`);
    }
    this.#streamed = { bytes, sha256: hash.digest('hex'), spans: this.#spans };
  }
}

function entryHeader(key: string, member: ShardMember) {
  return {
    name: `${key}.${member.name}`,
    size: member.data.byteLength,
    mode: 0o644,
    mtime: EPOCH,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    type: 'file' as const,
  };
}

/** WebDataset's split of a member path: key = up to the first dot of the basename. */
export function splitMemberPath(path: string): { key: string; name: string } | undefined {
  const slash = path.lastIndexOf('/');
  const dot = path.indexOf('.', slash + 1);
  if (dot <= slash + 1 || dot === path.length - 1) return undefined;
  return { key: path.slice(0, dot), name: path.slice(dot + 1) };
}

/**
 * Reads a shard back into samples, in tar order. Refuses what a WebDataset reader would
 * misgroup: entries that are not files, paths without a key, and a key split into non-adjacent runs.
 */
export async function readShard(bytes: Uint8Array): Promise<ShardSample[]> {
  const extract = tar.extract();
  extract.end(toBuffer(bytes));
  const samples: ShardSample[] = [];
  const seen = new Set<string>();
  let current: ShardSample | undefined;
  try {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      const path = entry.header.name;
      if (entry.header.type !== 'file') {
        throw new IntegrityError(`tar entry "${path}" is a ${entry.header.type}, not a file`);
      }
      const parts = splitMemberPath(path);
      if (parts === undefined) throw new IntegrityError(`tar entry "${path}" has no <key>.<name> form`);
      if (current === undefined || current.key !== parts.key) {
        if (seen.has(parts.key)) {
          throw new IntegrityError(`sample "${parts.key}" is split into non-adjacent runs of members`);
        }
        seen.add(parts.key);
        current = { key: parts.key, members: [] };
        samples.push(current);
      }
      const data = Buffer.concat(chunks);
      current.members.push({
        name: parts.name,
        data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      });
    }
  } catch (error) {
    if (error instanceof IntegrityError) throw error;
    throw new IntegrityError(`not a readable tar: ${(error as Error).message}`, {}, { cause: error });
  }
  return samples;
}

/** Where one sample's tar entries (headers, data, padding) lie in a shard: copy them verbatim. */
export type SampleSpan = { key: string; offset: number; length: number };

/** The end of a tar archive: two zero blocks (what buildShard's packer writes). */
export const TAR_END = new Uint8Array(1024);

const BLOCK = 512;

/**
 * The byte span of each sample in a shard that buildShard wrote (plain ustar file entries, no
 * extension headers), in tar order. Concatenating spans of any samples, then TAR_END, gives the
 * same bytes buildShard writes for those samples in that order: headers hold no offsets.
 */
export function sampleSpans(bytes: Uint8Array): SampleSpan[] {
  const spans: SampleSpan[] = [];
  for (const entry of tarEntries(bytes)) {
    const last = spans[spans.length - 1];
    if (last !== undefined && last.key === entry.key) last.length += entry.length;
    else spans.push({ key: entry.key, offset: entry.offset, length: entry.length });
  }
  return spans;
}

/** One plain-file entry of a tar that buildShard wrote: its sample key, member name and where it lies. */
type TarEntry = {
  key: string;
  name: string;
  offset: number;
  length: number;
  dataOffset: number;
  size: number;
};

/** The entries of a tar that buildShard wrote (or a sample span of one: it may end without end blocks). */
function* tarEntries(bytes: Uint8Array, requireEnd = true): Generator<TarEntry> {
  const text = (from: number, length: number) => {
    const raw = bytes.subarray(from, from + length);
    const nul = raw.indexOf(0);
    return Buffer.from(nul >= 0 ? raw.subarray(0, nul) : raw).toString('utf8');
  };
  let offset = 0;
  while (offset + BLOCK <= bytes.byteLength) {
    if (bytes.subarray(offset, offset + BLOCK).every((b) => b === 0)) return;
    const type = bytes[offset + 156];
    if (type !== 0x30 && type !== 0) {
      throw new IntegrityError(`tar entry at byte ${offset} is not a plain file (type ${type})`);
    }
    const prefix = text(offset + 345, 155);
    const path = prefix ? `${prefix}/${text(offset, 100)}` : text(offset, 100);
    const size = Number.parseInt(text(offset + 124, 12).trim() || '0', 8);
    const parts = splitMemberPath(path);
    if (parts === undefined || !Number.isFinite(size)) {
      throw new IntegrityError(`tar entry "${path}" at byte ${offset} has no <key>.<name> form or size`);
    }
    const length = BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    yield { key: parts.key, name: parts.name, offset, length, dataOffset: offset + BLOCK, size };
    offset += length;
  }
  if (requireEnd) throw new IntegrityError('tar ends without its end blocks');
}

/**
 * The data of member `name` in one sample's span (its headers and data, as sampleSpans cuts them),
 * or undefined when the sample has no such member.
 */
export function spanMember(span: Uint8Array, name: string): Uint8Array | undefined {
  for (const entry of tarEntries(span, false)) {
    if (entry.name === name) return span.subarray(entry.dataOffset, entry.dataOffset + entry.size);
  }
  return undefined;
}
