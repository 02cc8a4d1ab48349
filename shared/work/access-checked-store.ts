// A BlobStore that lets a step touch only what its task table entry declares, as IAM does on AWS:
// a local run thus proves the grants the stack derives from the same table, and a step that reaches
// for an undeclared file fails the same way everywhere, naming the key.
import { SatfactoryError } from '../domain/errors.ts';
import { type BlobStore, type ByteRange, type PutOptions, readRanges } from '../ports.ts';
import { matchesPattern } from './files.ts';

/** A step touched a key its task does not declare: a bug in the step or in the task table. */
export class UndeclaredAccessError extends SatfactoryError {
  override readonly name = 'UndeclaredAccessError';
}

export type KeyPatterns = { readonly read: readonly string[]; readonly write: readonly string[] };

export class AccessCheckedStore implements BlobStore {
  readonly #inner: BlobStore;
  readonly #patterns: KeyPatterns;
  readonly #who: string;

  constructor(inner: BlobStore, patterns: KeyPatterns, who: string) {
    this.#inner = inner;
    this.#patterns = patterns;
    this.#who = who;
  }

  get uri(): string {
    return this.#inner.uri;
  }

  get(key: string): Promise<Uint8Array | undefined> {
    this.#check('read', key);
    return this.#inner.get(key);
  }

  exists(key: string): Promise<boolean> {
    this.#check('read', key);
    return this.#inner.exists(key);
  }

  size(key: string): Promise<number | undefined> {
    this.#check('read', key);
    return this.#inner.size(key);
  }

  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<void> {
    this.#check('write', key);
    return this.#inner.put(key, body, options);
  }

  getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    this.#check('read', key);
    return this.#inner.getRange(key, offset, length);
  }

  getRanges(key: string, ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    this.#check('read', key);
    return readRanges(this.#inner, key, ranges);
  }

  putStream(key: string, chunks: AsyncIterable<Uint8Array>, options?: PutOptions): Promise<void> {
    this.#check('write', key);
    return this.#inner.putStream(key, chunks, options);
  }

  delete(key: string): Promise<void> {
    this.#check('write', key);
    return this.#inner.delete(key);
  }

  list(prefix: string): Promise<string[]> {
    // Listing needs s3:ListBucket, which every reader holds (see infra/constructs/s3-access.ts).
    if (this.#patterns.read.length === 0) this.#deny('list', prefix);
    return this.#inner.list(prefix);
  }

  #check(access: 'read' | 'write', key: string): void {
    if (!this.#patterns[access].some((p) => matchesPattern(key, p))) this.#deny(access, key);
  }

  #deny(access: string, key: string): never {
    throw new UndeclaredAccessError(
      `${this.#who} may not ${access} ${this.#inner.uri}/${key}: its task does not declare it (${
        this.#patterns[access === 'write' ? 'write' : 'read'].join(', ') || 'nothing'
      }); declare it in shared/workflow/tasks.ts`,
      { source: `${this.#inner.uri}/${key}` },
    );
  }
}
