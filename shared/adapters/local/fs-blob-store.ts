// BlobStore over a local folder. Writes go to a temp file in the target folder, then rename (or
// link, for create-only), so a reader never sees half a file and only one create-only writer wins.
import { randomBytes } from 'node:crypto';
import {
  type FileHandle,
  link,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
} from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  AlreadyExistsError,
  IntegrityError,
  InvalidInputError,
  StorageAccessError,
  StorageFullError,
} from '../../domain/errors.ts';
import type { BlobStore, ByteRange, PutOptions } from '../../ports.ts';

/** Temp files carry this prefix; list() hides them, they are never keys. */
const TEMP_PREFIX = '.sf-tmp-';
/**
 * Small chunks are copied into a buffer this big before they are written: a write is a trip to
 * libuv's threadpool, and a shard streams thousands of ~20 KB samples.
 */
export const WRITE_BUFFER_BYTES = 1024 * 1024;

function hasCode(error: unknown, ...codes: string[]): boolean {
  return (
    typeof error === 'object' && error !== null && codes.includes((error as { code?: string }).code ?? '')
  );
}

export class FsBlobStore implements BlobStore {
  readonly root: string;
  readonly uri: string;

  constructor(rootDir: string) {
    this.root = resolve(rootDir);
    this.uri = pathToFileURL(this.root).href;
  }

  /** Keys are '/'-separated relative paths; anything that could escape the root is refused. */
  private pathOf(key: string): string {
    const segments = key.split('/');
    const bad =
      key.length === 0 ||
      key.includes('\\') ||
      key.includes('\0') ||
      segments.some((s) => s === '' || s === '.' || s === '..' || s.startsWith(TEMP_PREFIX));
    if (bad) {
      throw new InvalidInputError(`"${key}" is not a valid key (relative, '/'-separated, no '.' or '..')`, {
        source: this.uri,
      });
    }
    return join(this.root, ...segments);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.pathOf(key));
    } catch (error) {
      if (hasCode(error, 'ENOENT', 'EISDIR', 'ENOTDIR')) return undefined;
      throw error;
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    return (await this.getRanges(key, [{ offset, length }]))[0] as Uint8Array;
  }

  /** Opens the file once for all the ranges and reads them at once. */
  async getRanges(key: string, ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    const handle = await open(this.pathOf(key), 'r');
    try {
      // Settled, not all: the handle closes only once no read is using it.
      const reads = await Promise.allSettled(ranges.map((r) => this.readAt(handle, key, r.offset, r.length)));
      const failed = reads.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      return reads.map((r) => (r as PromiseFulfilledResult<Uint8Array>).value);
    } finally {
      await handle.close();
    }
  }

  private async readAt(handle: FileHandle, key: string, offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(out, done, length - done, offset + done);
      if (bytesRead === 0) {
        throw new IntegrityError(
          `${this.uri}/${key} ends before byte ${offset + length} (a range read of ${length} bytes at ${offset})`,
          { source: `${this.uri}/${key}` },
        );
      }
      done += bytesRead;
    }
    return out;
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<void> {
    return this.putStream(key, once(body), options);
  }

  async putStream(
    key: string,
    chunks: AsyncIterable<Uint8Array | string>,
    options: PutOptions = {},
  ): Promise<void> {
    try {
      await this.write(key, chunks, options);
    } catch (error) {
      const denied = accessError(error, `${this.uri}/${key}`);
      if (denied) throw denied;
      if (!hasCode(error, 'ENOSPC', 'EDQUOT')) throw error;
      throw new StorageFullError(
        `no space left on the device of ${this.uri} while writing ${key} (${(error as { code: string }).code}); ` +
          'nothing half-written is left there: free space and run the job again, it resumes where it stopped',
        { source: `${this.uri}/${key}` },
        { cause: error },
      );
    }
  }

  private async write(
    key: string,
    chunks: AsyncIterable<Uint8Array | string>,
    options: PutOptions,
  ): Promise<void> {
    const path = this.pathOf(key);
    // Spares streaming a large shard again only to be refused; link() below is the guarantee.
    if (options.createOnly && (await this.exists(key))) {
      throw new AlreadyExistsError(`${this.uri}/${key} already exists`, {
        source: `${this.uri}/${key}`,
        key,
      });
    }
    const dir = dirname(path);
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`);
    try {
      const handle = await open(tmp, 'wx', 0o644);
      try {
        await writeBuffered(handle, chunks);
        // Data must be on disk before the name appears, or a crash could publish an empty file.
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (options.createOnly) {
        // link() fails if the name exists, atomically; rename() would silently replace it.
        try {
          await link(tmp, path);
        } catch (error) {
          if (hasCode(error, 'EEXIST')) {
            throw new AlreadyExistsError(`${this.uri}/${key} already exists`, {
              source: `${this.uri}/${key}`,
              key,
            });
          }
          throw error;
        }
      } else {
        await rename(tmp, path);
      }
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch (error) {
      if (hasCode(error, 'ENOENT', 'ENOTDIR')) return false;
      throw error;
    }
  }

  async size(key: string): Promise<number | undefined> {
    try {
      const s = await stat(this.pathOf(key));
      return s.isFile() ? s.size : undefined;
    } catch (error) {
      if (hasCode(error, 'ENOENT', 'ENOTDIR')) return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    // Walk only the folder the prefix names; the rest of the prefix filters file names.
    const slash = prefix.lastIndexOf('/');
    const folder = slash >= 0 ? prefix.slice(0, slash) : '';
    if (folder !== '') this.pathOf(folder);
    const keys: string[] = [];
    await this.walk(folder === '' ? this.root : join(this.root, ...folder.split('/')), folder, prefix, keys);
    return keys.sort(compareKeys);
  }

  private async walk(dir: string, keyPrefix: string, prefix: string, out: string[]): Promise<void> {
    let entries: Array<{ name: string; isDirectory(): boolean; isFile(): boolean }>;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (hasCode(error, 'ENOENT', 'ENOTDIR')) return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(TEMP_PREFIX)) continue;
      const key = keyPrefix === '' ? entry.name : `${keyPrefix}/${entry.name}`;
      if (entry.isDirectory()) {
        // Descend only where keys can still match the prefix.
        if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) {
          await this.walk(join(dir, entry.name), key, prefix, out);
        }
      } else if (entry.isFile() && key.startsWith(prefix)) {
        out.push(key);
      }
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key));
    } catch (error) {
      if (!hasCode(error, 'ENOENT')) throw error;
    }
  }
}

/**
 * EACCES, EPERM and EROFS as the user needs them: which folder refused, and why. Node names the
 * path it could not create; its parent is the folder that is read-only.
 */
function accessError(error: unknown, target: string): StorageAccessError | undefined {
  if (!hasCode(error, 'EACCES', 'EPERM', 'EROFS')) return undefined;
  const e = error as { code: string; path?: string; syscall?: string };
  const failed = e.path ?? fileURLToPath(target);
  const folder =
    e.syscall === 'mkdir' || e.syscall === 'open' || e.syscall === 'link' ? dirname(failed) : failed;
  const why =
    e.code === 'EROFS'
      ? `the file system of ${folder} is mounted read-only`
      : `permission denied: ${folder} is read-only for this user (uid ${process.getuid?.() ?? '?'})`;
  return new StorageAccessError(
    `cannot write ${target}: ${why} (${e.code} on ${e.syscall ?? 'write'} ${failed}); choose an output.uri (or output.work) you can write to, or change the folder's permissions`,
    { source: target, folder, code: e.code },
    { cause: error },
  );
}

/**
 * Writes the chunks in order, copying runs of small ones into one WRITE_BUFFER_BYTES buffer; a chunk
 * that does not fit the space left goes out after the buffered bytes, directly when it is large.
 */
async function writeBuffered(handle: FileHandle, chunks: AsyncIterable<Uint8Array | string>): Promise<void> {
  const buffer = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  let used = 0;
  const flush = async () => {
    if (used > 0) await handle.writeFile(buffer.subarray(0, used));
    used = 0;
  };
  for await (const item of chunks) {
    const chunk = typeof item === 'string' ? Buffer.from(item, 'utf8') : item;
    if (used + chunk.byteLength > WRITE_BUFFER_BYTES) await flush();
    if (chunk.byteLength >= WRITE_BUFFER_BYTES) {
      await handle.writeFile(chunk);
    } else {
      buffer.set(chunk, used);
      used += chunk.byteLength;
    }
  }
  await flush();
}

async function* once(body: Uint8Array | string): AsyncIterable<Uint8Array | string> {
  yield body;
}

/** Code-unit order, the order S3 lists in for ASCII keys (localeCompare would differ). */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
