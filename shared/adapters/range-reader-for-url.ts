// One RangeReader for every URL a job meets: http(s) → fetch, s3:// → GetObject, file:// or a plain
// path → fs. Adapters are made on first use and count into one shared stats object.
import { S3Client } from '@aws-sdk/client-s3';
import { InvalidInputError } from '../domain/errors.ts';
import type { RangeReader, RangeReaderStats } from '../ports.ts';
import { S3RangeReader } from './aws/s3-range-reader.ts';
import { checkInputUri, type InputPolicy, LOCAL_INPUT_POLICY } from './input-policy.ts';
import { FileRangeReader } from './local/file-range-reader.ts';
import { HttpRangeReader, type HttpRangeReaderOptions } from './local/http-range-reader.ts';
import { newStats } from './range-readers.ts';

export type RangeReaderForUrlOptions = HttpRangeReaderOptions & {
  /** Client for s3:// URLs; made from the environment (region, credentials) on first use if absent. */
  readonly s3Client?: S3Client | (() => S3Client);
  /** What may be read (default: anything, as the local CLI does); checked before any request. */
  readonly policy?: InputPolicy;
};

export type UrlScheme = 'http' | 's3' | 'file';

export function schemeOf(url: string): UrlScheme {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  // One letter before ':' is a Windows drive, not a scheme.
  if (!m || (m[1] as string).length === 1) return 'file';
  const scheme = (m[1] as string).toLowerCase();
  if (scheme === 'http' || scheme === 'https') return 'http';
  if (scheme === 's3') return 's3';
  if (scheme === 'file') return 'file';
  throw new InvalidInputError(
    `cannot read ${url}: the scheme ${scheme}: is not supported (use https://, s3:// or a local path)`,
    {
      source: url,
    },
  );
}

export class UrlRangeReader implements RangeReader {
  readonly stats: RangeReaderStats;
  readonly #options: RangeReaderForUrlOptions;
  readonly #readers = new Map<UrlScheme, RangeReader>();

  constructor(options: RangeReaderForUrlOptions = {}) {
    this.#options = options;
    this.stats = options.stats ?? newStats();
  }

  async read(url: string, offset: number, length: number): Promise<Uint8Array> {
    checkInputUri(this.#options.policy ?? LOCAL_INPUT_POLICY, url, 'imagery');
    return this.readerFor(url).read(url, offset, length);
  }

  /** The adapter that serves `url`; all adapters of this reader share its stats. */
  readerFor(url: string): RangeReader {
    const scheme = schemeOf(url);
    let reader = this.#readers.get(scheme);
    if (reader === undefined) {
      reader = this.#make(scheme);
      this.#readers.set(scheme, reader);
    }
    return reader;
  }

  #make(scheme: UrlScheme): RangeReader {
    const options = { ...this.#options, stats: this.stats };
    switch (scheme) {
      case 'http':
        return new HttpRangeReader(options);
      case 'file':
        return new FileRangeReader({ stats: this.stats });
      case 's3': {
        const given = this.#options.s3Client;
        // Buckets of public data live in many regions; follow S3's redirect rather than guess.
        const client =
          typeof given === 'function' ? given() : (given ?? new S3Client({ followRegionRedirects: true }));
        return new S3RangeReader({ ...options, client });
      }
    }
  }
}

/** The RangeReader of the local runtime and of Lambdas: dispatches on the URL's scheme. */
export function rangeReaderForUrl(options: RangeReaderForUrlOptions = {}): UrlRangeReader {
  return new UrlRangeReader(options);
}
