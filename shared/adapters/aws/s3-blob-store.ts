// BlobStore over s3://bucket/prefix. Create-only writes use S3's conditional PUT (If-None-Match: *),
// which is atomic: of two writers of one key exactly one wins, the other gets AlreadyExistsError.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import {
  AlreadyExistsError,
  IntegrityError,
  InvalidInputError,
  TransientError,
} from '../../domain/errors.ts';
import type { BlobStore, PutOptions } from '../../ports.ts';
import { classifyNetworkError, networkError } from '../network-errors.ts';
import { awsSetupError } from './aws-setup.ts';

export type S3BlobStoreOptions = {
  client: S3Client;
  bucket: string;
  /** Key prefix of the store's root, with or without a trailing '/'; '' for the bucket root. */
  prefix?: string;
  /**
   * HEAD before a create-only PUT (default true). The conditional PUT alone is the guarantee on
   * S3; the HEAD spares re-uploading a large shard on redrive just to be refused, and catches
   * S3-compatible servers that ignore If-None-Match (fauxqs 2.4 does).
   */
  headBeforeCreate?: boolean;
};

type AwsErrorShape = { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };

function awsError(error: unknown): AwsErrorShape {
  return typeof error === 'object' && error !== null ? (error as AwsErrorShape) : {};
}

function status(error: unknown): number | undefined {
  return awsError(error).$metadata?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  const name = awsError(error).name;
  return name === 'NoSuchKey' || name === 'NotFound' || status(error) === 404;
}

function isConflict(error: unknown): boolean {
  const name = awsError(error).name;
  // 409 ConditionalRequestConflict: another conditional write of the same key is in flight; with
  // deterministic keys and content the other writer's object is the one we would have written.
  return name === 'PreconditionFailed' || name === 'ConditionalRequestConflict' || status(error) === 412;
}

/** Part size of streamed uploads: S3's minimum is 5 MiB; 10,000 parts of 16 MiB reach 160 GB. */
export const MULTIPART_PART_BYTES = 16 * 1024 * 1024;

const THROTTLING = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestTimeout',
  'InternalError',
]);

export class S3BlobStore implements BlobStore {
  readonly uri: string;
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly headBeforeCreate: boolean;

  constructor(options: S3BlobStoreOptions) {
    if (!options.bucket) throw new InvalidInputError('S3BlobStore needs a bucket');
    const trimmed = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = trimmed === '' ? '' : `${trimmed}/`;
    this.uri = trimmed === '' ? `s3://${options.bucket}` : `s3://${options.bucket}/${trimmed}`;
    this.headBeforeCreate = options.headBeforeCreate ?? true;
  }

  private keyOf(key: string): string {
    if (
      key.length === 0 ||
      key.startsWith('/') ||
      key.split('/').some((s) => s === '' || s === '.' || s === '..')
    ) {
      throw new InvalidInputError(`"${key}" is not a valid key (relative, '/'-separated, no '.' or '..')`, {
        source: this.uri,
      });
    }
    return this.prefix + key;
  }

  /**
   * 5xx and throttling left after the SDK's own retries become a retryable, named error; so does a
   * request that got no answer, with its cause (DNS, refused, reset) named.
   */
  private wrap(error: unknown, action: string, key: string): unknown {
    const setup = awsSetupError(error, `S3 ${action} of ${this.uri}/${key}`);
    if (setup) return setup;
    const e = awsError(error);
    const code = status(error);
    if (code === undefined) {
      const failure = classifyNetworkError(error, `${this.uri}/${key}`);
      if (failure.kind !== 'other') {
        return networkError(
          `S3 ${action} of ${this.uri}/${key} failed: ${failure.reason}`,
          failure,
          { source: `${this.uri}/${key}` },
          error,
        );
      }
    }
    if ((code !== undefined && code >= 500) || THROTTLING.has(e.name ?? '') || e.$retryable) {
      return new TransientError(
        `S3 ${action} of ${this.uri}/${key} failed: ${e.name ?? 'error'}`,
        { source: `${this.uri}/${key}`, status: code },
        { cause: error },
      );
    }
    return error;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const Key = this.keyOf(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      if (!out.Body) return new Uint8Array();
      return await out.Body.transformToByteArray();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.wrap(error, 'GetObject', key);
    }
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<void> {
    const Key = this.keyOf(key);
    const exists = () =>
      new AlreadyExistsError(`${this.uri}/${key} already exists`, { source: `${this.uri}/${key}`, key });
    if (options.createOnly && this.headBeforeCreate && (await this.exists(key))) throw exists();
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key,
          Body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
          ...(options.contentType ? { ContentType: options.contentType } : {}),
          ...(options.createOnly ? { IfNoneMatch: '*' } : {}),
        }),
      );
    } catch (error) {
      if (options.createOnly && isConflict(error)) throw exists();
      throw this.wrap(error, 'PutObject', key);
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    const Key = this.keyOf(key);
    if (length === 0) return new Uint8Array();
    let bytes: Uint8Array;
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key, Range: `bytes=${offset}-${offset + length - 1}` }),
      );
      bytes = out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
    } catch (error) {
      throw this.wrap(error, 'GetObject (range)', key);
    }
    if (bytes.byteLength !== length) {
      throw new IntegrityError(
        `${this.uri}/${key}: a range read of ${length} bytes at ${offset} returned ${bytes.byteLength}`,
        { source: `${this.uri}/${key}` },
      );
    }
    return bytes;
  }

  /**
   * Parts of MULTIPART_PART_BYTES, uploaded one at a time (one part in memory); the object appears
   * only at CompleteMultipartUpload, create-only with If-None-Match. Small bodies are one PUT.
   */
  async putStream(key: string, chunks: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<void> {
    const Key = this.keyOf(key);
    const exists = () =>
      new AlreadyExistsError(`${this.uri}/${key} already exists`, { source: `${this.uri}/${key}`, key });
    if (options.createOnly && this.headBeforeCreate && (await this.exists(key))) throw exists();
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let uploadId: string | undefined;
    const parts: { ETag: string; PartNumber: number }[] = [];
    let small: Uint8Array | undefined;
    const take = (): Uint8Array => {
      const body = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      return body;
    };
    const uploadPart = async (body: Uint8Array) => {
      if (uploadId === undefined) {
        const created = await this.client.send(
          new CreateMultipartUploadCommand({
            Bucket: this.bucket,
            Key,
            ...(options.contentType ? { ContentType: options.contentType } : {}),
          }),
        );
        uploadId = created.UploadId;
      }
      const PartNumber = parts.length + 1;
      const out = await this.client.send(
        new UploadPartCommand({ Bucket: this.bucket, Key, UploadId: uploadId, PartNumber, Body: body }),
      );
      parts.push({ ETag: out.ETag ?? '', PartNumber });
    };
    try {
      for await (const chunk of chunks) {
        pending.push(chunk);
        pendingBytes += chunk.byteLength;
        if (pendingBytes >= MULTIPART_PART_BYTES) await uploadPart(take());
      }
      if (uploadId === undefined) {
        // Below one part: a plain (conditional) PUT; put() names its own errors.
        small = take();
      } else if (pendingBytes > 0) await uploadPart(take());
      if (small === undefined)
        await this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
            ...(options.createOnly ? { IfNoneMatch: '*' } : {}),
          }),
        );
    } catch (error) {
      if (uploadId !== undefined) {
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId }))
          .catch(() => undefined);
      }
      if (error instanceof AlreadyExistsError) throw error;
      if (options.createOnly && isConflict(error)) throw exists();
      throw this.wrap(error, 'multipart upload', key);
    }
    if (small !== undefined) await this.put(key, small, options);
  }

  async exists(key: string): Promise<boolean> {
    const Key = this.keyOf(key);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw this.wrap(error, 'HeadObject', key);
    }
  }

  async size(key: string): Promise<number | undefined> {
    const Key = this.keyOf(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return out.ContentLength ?? 0;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.wrap(error, 'HeadObject', key);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    const seen = new Set<string>();
    let token: string | undefined;
    do {
      let out: ListObjectsV2CommandOutput;
      try {
        out = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
      } catch (error) {
        throw this.wrap(error, 'ListObjectsV2', prefix);
      }
      for (const object of out.Contents ?? []) {
        if (object.Key?.startsWith(this.prefix)) keys.push(object.Key.slice(this.prefix.length));
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
      if (token !== undefined) {
        // A server that hands back a token twice would otherwise keep us listing forever.
        if (seen.has(token))
          throw new TransientError(`S3 listing of ${this.uri}/${prefix} repeated a page token`);
        seen.add(token);
      }
    } while (token);
    // S3 lists in UTF-8 byte order already; sorting keeps the contract with S3-compatible servers.
    return keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    const Key = this.keyOf(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
    } catch (error) {
      if (isNotFound(error)) return;
      throw this.wrap(error, 'DeleteObject', key);
    }
  }
}
