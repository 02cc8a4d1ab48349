// An in-memory BlobStore for tests: the same contract as the folder and S3 stores (create-only
// writes, sorted listing), plus a peek at what was written.
import { AlreadyExistsError } from '../../shared/domain/errors.ts';
import type { BlobStore, PutOptions } from '../../shared/ports.ts';

export class MemoryBlobStore implements BlobStore {
  readonly uri: string;
  readonly #blobs = new Map<string, Uint8Array>();

  constructor(uri = 'memory://test') {
    this.uri = uri;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const bytes = this.#blobs.get(key);
    return bytes && new Uint8Array(bytes);
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<void> {
    if (options.createOnly && this.#blobs.has(key)) {
      throw new AlreadyExistsError(`${this.uri}/${key} already exists`, { source: `${this.uri}/${key}` });
    }
    this.#blobs.set(key, typeof body === 'string' ? new TextEncoder().encode(body) : new Uint8Array(body));
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    const bytes = this.#blobs.get(key);
    if (!bytes || offset + length > bytes.byteLength) {
      throw new Error(`${this.uri}/${key}: no bytes ${offset}..${offset + length}`);
    }
    return bytes.slice(offset, offset + length);
  }

  async putStream(key: string, chunks: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<void> {
    if (options.createOnly && this.#blobs.has(key)) {
      throw new AlreadyExistsError(`${this.uri}/${key} already exists`, { source: `${this.uri}/${key}` });
    }
    const parts: Uint8Array[] = [];
    for await (const chunk of chunks) parts.push(new Uint8Array(chunk));
    await this.put(key, Buffer.concat(parts), options);
  }

  async exists(key: string): Promise<boolean> {
    return this.#blobs.has(key);
  }

  async size(key: string): Promise<number | undefined> {
    return this.#blobs.get(key)?.byteLength;
  }

  async list(prefix: string): Promise<string[]> {
    return [...this.#blobs.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  async delete(key: string): Promise<void> {
    this.#blobs.delete(key);
  }

  /** The text stored at key, or undefined. */
  text(key: string): string | undefined {
    const bytes = this.#blobs.get(key);
    return bytes && new TextDecoder().decode(bytes);
  }

  /** The JSON stored at key; throws when missing. */
  json<T = unknown>(key: string): T {
    const text = this.text(key);
    if (text === undefined) throw new Error(`${this.uri}/${key} was not written`);
    return JSON.parse(text) as T;
  }
}
