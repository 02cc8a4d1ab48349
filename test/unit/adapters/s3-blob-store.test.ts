// The S3 store against a mocked client: the conditional PUT (If-None-Match: *) on create-only,
// 412/409 mapped to AlreadyExistsError, NoSuchKey to undefined, paginated listing, and env config.
import 'aws-sdk-client-mock-vitest/extend';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { MULTIPART_PART_BYTES, S3BlobStore } from '../../../shared/adapters/aws/s3-blob-store.ts';
import { s3ClientConfigFromEnv } from '../../../shared/adapters/blob-store-for-uri.ts';
import { AlreadyExistsError, IntegrityError, TransientError } from '../../../shared/domain/errors.ts';

const s3 = mockClient(S3Client);
const client = new S3Client({ region: 'us-east-1' });
let store: S3BlobStore;

function serviceError(name: string, status: number): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });
}

beforeEach(() => {
  s3.reset();
  store = new S3BlobStore({ client, bucket: 'bkt', prefix: '/datasets/crops/' });
});

describe('S3BlobStore', () => {
  it('names its root and prefixes keys', async () => {
    expect(store.uri).toBe('s3://bkt/datasets/crops');
    s3.on(PutObjectCommand).resolves({});
    await store.put('train/a.tar', 'x', { contentType: 'application/x-tar' });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: 'bkt',
      Key: 'datasets/crops/train/a.tar',
      ContentType: 'application/x-tar',
    });
    const sent = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(sent.IfNoneMatch).toBeUndefined();
  });

  it('sends If-None-Match: * on a create-only put, after a HEAD that finds nothing', async () => {
    s3.on(HeadObjectCommand).rejects(
      new NotFound({ message: 'not found', $metadata: { httpStatusCode: 404 } }),
    );
    s3.on(PutObjectCommand).resolves({});
    await store.put('manifest.json', '{}', { createOnly: true });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Key: 'datasets/crops/manifest.json',
      IfNoneMatch: '*',
    });
  });

  it('maps 412 PreconditionFailed and 409 ConditionalRequestConflict to AlreadyExistsError', async () => {
    s3.on(HeadObjectCommand).rejects(
      new NotFound({ message: 'not found', $metadata: { httpStatusCode: 404 } }),
    );
    s3.on(PutObjectCommand).rejectsOnce(serviceError('PreconditionFailed', 412));
    const first = store.put('manifest.json', '{}', { createOnly: true });
    await expect(first).rejects.toThrow(AlreadyExistsError);
    await expect(first).rejects.toThrow(/s3:\/\/bkt\/datasets\/crops\/manifest\.json already exists/);
    s3.on(PutObjectCommand).rejects(serviceError('ConditionalRequestConflict', 409));
    await expect(store.put('manifest.json', '{}', { createOnly: true })).rejects.toThrow(AlreadyExistsError);
  });

  it('refuses a create-only put without uploading when HEAD finds the key', async () => {
    s3.on(HeadObjectCommand).resolves({});
    await expect(store.put('train/a.tar', 'x', { createOnly: true })).rejects.toThrow(AlreadyExistsError);
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('can rely on the conditional PUT alone', async () => {
    const direct = new S3BlobStore({ client, bucket: 'bkt', headBeforeCreate: false });
    s3.on(PutObjectCommand).rejects(serviceError('PreconditionFailed', 412));
    await expect(direct.put('k', 'x', { createOnly: true })).rejects.toThrow(AlreadyExistsError);
    expect(s3).not.toHaveReceivedCommand(HeadObjectCommand);
  });

  it('gets bytes, and undefined for NoSuchKey', async () => {
    s3.on(GetObjectCommand, { Key: 'datasets/crops/a' }).resolves({
      Body: sdkStreamMixin(Readable.from([Buffer.from('hello')])),
    });
    s3.on(GetObjectCommand, { Key: 'datasets/crops/b' }).rejects(
      new NoSuchKey({ message: 'no', $metadata: { httpStatusCode: 404 } }),
    );
    expect(Buffer.from((await store.get('a'))!).toString()).toBe('hello');
    expect(await store.get('b')).toBeUndefined();
  });

  it('reads a range with a Range header and refuses a short answer', async () => {
    s3.on(GetObjectCommand).resolves({ Body: sdkStreamMixin(Readable.from([Buffer.from('abc')])) });
    expect(Buffer.from(await store.getRange('r.tar', 10, 3)).toString()).toBe('abc');
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, {
      Key: 'datasets/crops/r.tar',
      Range: 'bytes=10-12',
    });
    s3.on(GetObjectCommand).resolves({ Body: sdkStreamMixin(Readable.from([Buffer.from('ab')])) });
    await expect(store.getRange('r.tar', 10, 3)).rejects.toThrow(IntegrityError);
  });

  async function* parts(sizes: number[]) {
    for (const [i, n] of sizes.entries()) yield new Uint8Array(n).fill(i);
  }
  const notFound = () => new NotFound({ message: 'not found', $metadata: { httpStatusCode: 404 } });

  it('streams a small body as one conditional PUT', async () => {
    s3.on(HeadObjectCommand).rejects(notFound());
    s3.on(PutObjectCommand).resolves({});
    await store.putStream('train/a.tar', parts([10, 20]), { createOnly: true });
    const sent = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(sent.IfNoneMatch).toBe('*');
    expect((sent.Body as Uint8Array).byteLength).toBe(30);
    expect(s3).not.toHaveReceivedCommand(CreateMultipartUploadCommand);
  });

  it('streams a large body as a multipart upload of bounded parts, completed create-only', async () => {
    s3.on(HeadObjectCommand).rejects(notFound());
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    s3.on(UploadPartCommand).callsFake((input: { PartNumber: number }) => ({ ETag: `e${input.PartNumber}` }));
    s3.on(CompleteMultipartUploadCommand).resolves({});
    const half = MULTIPART_PART_BYTES / 2;
    await store.putStream('train/b.tar', parts([half, half, half, 5]), { createOnly: true });
    const sizes = s3
      .commandCalls(UploadPartCommand)
      .map((c) => (c.args[0].input.Body as Uint8Array).byteLength);
    expect(sizes).toEqual([MULTIPART_PART_BYTES, half + 5]);
    expect(s3).toHaveReceivedCommandWith(CompleteMultipartUploadCommand, {
      Key: 'datasets/crops/train/b.tar',
      UploadId: 'u1',
      IfNoneMatch: '*',
      MultipartUpload: {
        Parts: [
          { ETag: 'e1', PartNumber: 1 },
          { ETag: 'e2', PartNumber: 2 },
        ],
      },
    });
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('aborts the upload when completing finds the key written meanwhile (412): AlreadyExistsError', async () => {
    s3.on(HeadObjectCommand).rejects(notFound());
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u2' });
    s3.on(UploadPartCommand).resolves({ ETag: 'e' });
    s3.on(CompleteMultipartUploadCommand).rejects(serviceError('PreconditionFailed', 412));
    s3.on(AbortMultipartUploadCommand).resolves({});
    await expect(
      store.putStream('train/c.tar', parts([MULTIPART_PART_BYTES, 1]), { createOnly: true }),
    ).rejects.toThrow(AlreadyExistsError);
    expect(s3).toHaveReceivedCommandWith(AbortMultipartUploadCommand, { UploadId: 'u2' });
  });

  it('answers exists from HEAD', async () => {
    s3.on(HeadObjectCommand, { Key: 'datasets/crops/yes' }).resolves({});
    s3.on(HeadObjectCommand, { Key: 'datasets/crops/no' }).rejects(
      new NotFound({ message: 'nf', $metadata: { httpStatusCode: 404 } }),
    );
    expect(await store.exists('yes')).toBe(true);
    expect(await store.exists('no')).toBe(false);
  });

  it('follows continuation tokens and strips the store prefix', async () => {
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [{ Key: 'datasets/crops/train/a.tar' }, { Key: 'datasets/crops/train/b.tar' }],
        IsTruncated: true,
        NextContinuationToken: 't1',
      })
      .resolvesOnce({
        Contents: [{ Key: 'datasets/crops/train/c.tar' }],
        IsTruncated: true,
        NextContinuationToken: 't2',
      })
      .resolvesOnce({ Contents: [{ Key: 'datasets/crops/train/d.tar' }], IsTruncated: false });
    expect(await store.list('train/')).toEqual(['train/a.tar', 'train/b.tar', 'train/c.tar', 'train/d.tar']);
    expect(s3).toHaveReceivedCommandTimes(ListObjectsV2Command, 3);
    expect(s3).toHaveReceivedNthCommandWith(ListObjectsV2Command, 1, { Prefix: 'datasets/crops/train/' });
    expect(s3.commandCalls(ListObjectsV2Command)[0]!.args[0].input.ContinuationToken).toBeUndefined();
    expect(s3).toHaveReceivedNthCommandWith(ListObjectsV2Command, 2, { ContinuationToken: 't1' });
    expect(s3).toHaveReceivedNthCommandWith(ListObjectsV2Command, 3, { ContinuationToken: 't2' });
  });

  it('stops on a page token that comes back twice', async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [], IsTruncated: true, NextContinuationToken: 'same' });
    await expect(store.list('')).rejects.toThrow(/repeated a page token/);
  });

  it('deletes', async () => {
    s3.on(DeleteObjectCommand).resolves({});
    await store.delete('train/a.tar');
    expect(s3).toHaveReceivedCommandWith(DeleteObjectCommand, {
      Bucket: 'bkt',
      Key: 'datasets/crops/train/a.tar',
    });
  });

  it('turns 5xx and throttling into a retryable TransientError, and passes other errors through', async () => {
    s3.on(GetObjectCommand).rejectsOnce(serviceError('SlowDown', 503));
    const slow = await store.get('a').catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(TransientError);
    expect((slow as TransientError).retryable).toBe(true);
    s3.on(GetObjectCommand).rejects(serviceError('AccessDenied', 403));
    await expect(store.get('a')).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('refuses keys with empty, . or .. segments', async () => {
    await expect(store.get('../x')).rejects.toThrow(/not a valid key/);
    await expect(store.put('/x', 'v')).rejects.toThrow(/not a valid key/);
  });
});

describe('s3ClientConfigFromEnv', () => {
  it('uses path-style addressing with a custom endpoint, preferring the S3-specific one', () => {
    expect(
      s3ClientConfigFromEnv({ AWS_ENDPOINT_URL: 'http://a:1', AWS_ENDPOINT_URL_S3: 'http://s3:2' }),
    ).toEqual({
      endpoint: 'http://s3:2',
      forcePathStyle: true,
      region: 'us-east-1',
    });
    expect(
      s3ClientConfigFromEnv({ AWS_ENDPOINT_URL: 'http://a:1', AWS_DEFAULT_REGION: 'eu-west-3' }),
    ).toEqual({
      endpoint: 'http://a:1',
      forcePathStyle: true,
      region: 'eu-west-3',
    });
  });

  it('leaves AWS defaults alone without an endpoint', () => {
    expect(s3ClientConfigFromEnv({})).toEqual({});
    expect(s3ClientConfigFromEnv({ AWS_REGION: 'eu-central-1' })).toEqual({ region: 'eu-central-1' });
  });
});
