// A blob store that dies once at each listed write, before the write lands or after it: a consumer
// crash at that point. Tests of crash safety (the LTA order consumer) wrap the work store with it.
import type { BlobStore, PutOptions } from '../../shared/ports.ts';
import { MemoryBlobStore } from './memory-blob-store.ts';

export type CrashPoint = { readonly key: RegExp; readonly when: 'before' | 'after' };

export class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
}

export class CrashingBlobStore implements BlobStore {
  readonly uri: string;
  /** "<before|after> <key>" of every crash that happened, in order. */
  readonly fired: string[] = [];
  readonly #inner: BlobStore;
  readonly #pending: CrashPoint[];

  constructor(crashes: readonly CrashPoint[], inner: BlobStore = new MemoryBlobStore('memory://work')) {
    this.#inner = inner;
    this.uri = inner.uri;
    this.#pending = [...crashes];
  }

  get crashes(): number {
    return this.fired.length;
  }

  async put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<void> {
    const index = this.#pending.findIndex((c) => c.key.test(key));
    const crash = this.#pending[index];
    if (!crash) return this.#inner.put(key, body, options);
    this.#pending.splice(index, 1);
    this.fired.push(`${crash.when} ${key}`);
    if (crash.when === 'after') await this.#inner.put(key, body, options);
    throw new SimulatedCrash(`simulated crash ${crash.when} writing ${key}`);
  }
  async putStream(key: string, chunks: AsyncIterable<Uint8Array>, options?: PutOptions): Promise<void> {
    const parts: Uint8Array[] = [];
    for await (const chunk of chunks) parts.push(chunk);
    return this.put(key, Buffer.concat(parts), options);
  }
  getRange(key: string, offset: number, length: number) {
    return this.#inner.getRange(key, offset, length);
  }
  get(key: string) {
    return this.#inner.get(key);
  }
  exists(key: string) {
    return this.#inner.exists(key);
  }
  size(key: string) {
    return this.#inner.size(key);
  }
  list(prefix: string) {
    return this.#inner.list(prefix);
  }
  delete(key: string) {
    return this.#inner.delete(key);
  }
}
