// RangeReader over local files (file:// URLs and plain paths): open, read at an offset, close.
// Returns exactly the bytes asked for; a range past the end of the file is an error naming its size.
import { open } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { InvalidInputError, SatfactoryError, TransientError } from '../../domain/errors.ts';
import type { RangeReader, RangeReaderStats } from '../../ports.ts';
import { assertRange, newStats, pastEndOfFile } from '../range-readers.ts';

export type FileRangeReaderOptions = { readonly stats?: RangeReaderStats };

export class FileRangeReader implements RangeReader {
  readonly stats: RangeReaderStats;

  constructor(options: FileRangeReaderOptions = {}) {
    this.stats = options.stats ?? newStats();
  }

  async read(url: string, offset: number, length: number): Promise<Uint8Array> {
    assertRange(url, offset, length);
    const path = filePath(url);
    this.stats.requests++;
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, 'r');
    } catch (cause) {
      throw fsError(url, cause);
    }
    try {
      const out = new Uint8Array(length);
      let filled = 0;
      // A read may return fewer bytes than asked even before the end of the file: loop until 0.
      while (filled < length) {
        const { bytesRead } = await handle.read(out, filled, length - filled, offset + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      this.stats.bytes += filled;
      if (filled < length) {
        const { size } = await handle.stat();
        throw pastEndOfFile(url, offset, length, size);
      }
      return out;
    } catch (cause) {
      if (cause instanceof SatfactoryError) throw cause;
      throw fsError(url, cause);
    } finally {
      await handle.close();
    }
  }
}

/** file:///abs/path → /abs/path; anything without a scheme is a path as is. */
export function filePath(url: string): string {
  return url.startsWith('file:') ? fileURLToPath(url) : url;
}

function fsError(url: string, cause: unknown): Error {
  const code = (cause as { code?: unknown } | null)?.code;
  if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES' || code === 'ENOTDIR') {
    return new InvalidInputError(
      `cannot read ${url} (${String(code)}); check that the file exists and is readable`,
      { source: url },
      { cause },
    );
  }
  // EMFILE, EIO, EAGAIN: the machine is busy, not the input wrong.
  return new TransientError(`reading ${url} failed (${String(code ?? cause)})`, { source: url }, { cause });
}
