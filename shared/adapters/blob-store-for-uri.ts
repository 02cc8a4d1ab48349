// Opens the BlobStore a URI names: s3://bucket/prefix on S3 (or an S3-compatible endpoint from the
// standard AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL variables), file:// URIs and plain paths locally.
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { InvalidInputError } from '../domain/errors.ts';
import type { BlobStore } from '../ports.ts';
import { S3BlobStore } from './aws/s3-blob-store.ts';
import { FsBlobStore } from './local/fs-blob-store.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * S3 client settings from the environment. With a custom endpoint (an emulator, MinIO) addressing
 * is path-style, since `bucket.localhost` names rarely resolve, and the region defaults to us-east-1.
 */
export function s3ClientConfigFromEnv(env: Env = process.env): S3ClientConfig {
  const endpoint = env['AWS_ENDPOINT_URL_S3'] || env['AWS_ENDPOINT_URL'];
  const region = env['AWS_REGION'] || env['AWS_DEFAULT_REGION'];
  const config: S3ClientConfig = {};
  if (endpoint) {
    config.endpoint = endpoint;
    config.forcePathStyle = true;
    config.region = region ?? 'us-east-1';
  } else if (region) {
    config.region = region;
  }
  return config;
}

export type BlobStoreForUriOptions = {
  env?: Env;
  /** Reuse one client across stores (connection pooling); built from env otherwise. */
  s3Client?: S3Client;
};

/** s3://bucket/prefix, file:///abs/path, or a path (relative paths resolve against baseDir). */
export function blobStoreForUri(
  uri: string,
  baseDir: string = process.cwd(),
  options: BlobStoreForUriOptions = {},
): BlobStore {
  if (uri.startsWith('s3://')) {
    const rest = uri.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1);
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new InvalidInputError(`"${uri}" does not name a valid S3 bucket; write s3://bucket/prefix`, {
        source: uri,
      });
    }
    const client = options.s3Client ?? new S3Client(s3ClientConfigFromEnv(options.env ?? process.env));
    return new S3BlobStore({ client, bucket, prefix });
  }
  if (uri.startsWith('file://')) {
    try {
      return new FsBlobStore(fileURLToPath(uri));
    } catch (cause) {
      throw new InvalidInputError(
        `"${uri}" is not a valid file URI; write file:///absolute/path`,
        { source: uri },
        {
          cause,
        },
      );
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    throw new InvalidInputError(`storage URI "${uri}" is not supported; use a folder, file:// or s3://`, {
      source: uri,
    });
  }
  if (uri.length === 0)
    throw new InvalidInputError('the storage location is empty; give a folder or s3:// URI');
  return new FsBlobStore(isAbsolute(uri) ? uri : resolve(baseDir, uri));
}
