// The RangeReader adapters against a real local HTTP server that misbehaves on demand, local files,
// and a mocked S3 client: exact bytes, the right error types (with the URL), retries, stats.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { S3RangeReader } from '../../shared/adapters/aws/s3-range-reader.ts';
import { FileRangeReader } from '../../shared/adapters/local/file-range-reader.ts';
import {
  HttpRangeReader,
  type HttpRangeReaderOptions,
} from '../../shared/adapters/local/http-range-reader.ts';
import { rangeReaderForUrl, schemeOf } from '../../shared/adapters/range-reader-for-url.ts';
import { checkContentRange, parseContentRange, withRetries } from '../../shared/adapters/range-readers.ts';
import {
  HttpStatusError,
  InvalidInputError,
  RangeRejectedError,
  RangeResponseError,
  SatfactoryError,
  TransientError,
} from '../../shared/domain/errors.ts';
import { type RangeServer, startRangeServer } from '../helpers/range-server.ts';

const FILE = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 31 + (i >> 8)) & 0xff);
const BIG = new Uint8Array(16 * 1024 * 1024).fill(7);

let server: RangeServer;
beforeAll(async () => {
  server = await startRangeServer({ files: { '/data.bin': FILE, '/big.bin': BIG } });
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  server.clearFaults();
  server.resetStats();
});

/** A reader whose sleeps are recorded instead of waited; jitter pinned to its cap. */
function httpReader(over: HttpRangeReaderOptions = {}) {
  const sleeps: number[] = [];
  const reader = new HttpRangeReader({
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.999,
    ...over,
  });
  return { reader, sleeps };
}

/** A port nothing listens on: bound, then closed again, so connecting to it is refused. */
async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function caught(p: Promise<unknown>): Promise<SatfactoryError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof SatfactoryError))
    throw new Error(`expected a SatfactoryError, got ${String(error)}`);
  return error;
}

describe('HttpRangeReader', () => {
  it('returns exactly the bytes asked for, in one request, and counts them', async () => {
    const { reader } = httpReader();
    const url = server.urlFor('data.bin');
    expect(await reader.read(url, 1000, 5000)).toEqual(FILE.slice(1000, 6000));
    expect(await reader.read(url, 0, 1)).toEqual(FILE.slice(0, 1));
    expect(reader.stats).toEqual({ requests: 2, bytes: 5001 });
    expect(server.log.map((r) => r.range)).toEqual(['bytes=1000-5999', 'bytes=0-0']);
    expect(server.statsFor('data.bin')).toEqual({ requests: 2, bytes: 5001 });
  });

  it('refuses a 200 with the whole file, without downloading it, and does not retry', async () => {
    server.inject({ fault: { kind: 'full-body' } });
    const { reader } = httpReader();
    const url = server.urlFor('big.bin');
    const error = await caught(reader.read(url, 4096, 1024));
    expect(error).toBeInstanceOf(RangeRejectedError);
    expect(error.name).toBe('RangeRejectedError');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(url);
    expect(error.message).toMatch(/ignored the Range header/);
    expect(reader.stats).toEqual({ requests: 1, bytes: 0 });
    // The server got to send a little before the abort reached it, far from 16 MiB.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.statsFor('big.bin').bytes).toBeLessThan(BIG.length / 2);
  });

  it('says so when an HTML page comes back instead of bytes', async () => {
    server.inject({ fault: { kind: 'html' } });
    const { reader } = httpReader();
    const url = server.urlFor('data.bin');
    const error = await caught(reader.read(url, 4096, 100));
    expect(error).toBeInstanceOf(RangeRejectedError);
    expect(error.message).toMatch(/HTML page/);
    expect(error.message).toContain(url);
  });

  it('accepts a 200 when the range asked for is the whole file', async () => {
    server.inject({ fault: { kind: 'full-body' } });
    const { reader } = httpReader();
    expect(await reader.read(server.urlFor('data.bin'), 0, FILE.length)).toEqual(FILE);
  });

  it.each([['short-body'], ['cut-connection']] as const)(
    'retries a %s answer and then succeeds',
    async (kind) => {
      server.inject({ fault: { kind }, times: 1 });
      const { reader, sleeps } = httpReader();
      expect(await reader.read(server.urlFor('data.bin'), 10, 50_000)).toEqual(FILE.slice(10, 50_010));
      expect(reader.stats.requests).toBe(2);
      expect(sleeps).toHaveLength(1);
    },
  );

  it('gives up on a body that keeps arriving short with a retryable RangeResponseError', async () => {
    server.inject({ fault: { kind: 'short-body' } });
    const { reader, sleeps } = httpReader();
    const url = server.urlFor('data.bin');
    const error = await caught(reader.read(url, 0, 20_000));
    expect(error).toBeInstanceOf(RangeResponseError);
    expect(error.name).toBe('RangeResponseError');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(url);
    expect(error.message).toMatch(/10000 of 20000 bytes/);
    expect(reader.stats.requests).toBe(4);
    expect(reader.stats.bytes).toBe(4 * 10_000);
    // Exponential backoff from 200 ms, full jitter pinned near its cap by random() = 0.999.
    expect(sleeps).toEqual([199, 399, 799]);
  });

  it('refuses a Content-Range that names other bytes, at once', async () => {
    server.inject({ fault: { kind: 'wrong-content-range' } });
    const { reader } = httpReader();
    const url = server.urlFor('data.bin');
    const error = await caught(reader.read(url, 100, 10));
    expect(error).toBeInstanceOf(RangeRejectedError);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(url);
    expect(error.message).toMatch(/bytes 101-110\/100000/);
    expect(reader.stats.requests).toBe(1);
  });

  it('retries 503 with backoff and then succeeds', async () => {
    server.inject({ fault: { kind: 'status', status: 503 }, times: 2 });
    const { reader, sleeps } = httpReader();
    expect(await reader.read(server.urlFor('data.bin'), 5, 5)).toEqual(FILE.slice(5, 10));
    expect(sleeps).toEqual([199, 399]);
    expect(reader.stats.requests).toBe(3);
  });

  it('honours Retry-After on 429, capped by maxRetryAfterMs', async () => {
    server.inject({ fault: { kind: 'status', status: 429, retryAfter: '3' }, times: 1 });
    server.inject({ fault: { kind: 'status', status: 429, retryAfter: '600' }, times: 1 });
    const { reader, sleeps } = httpReader({ maxRetryAfterMs: 10_000 });
    expect(await reader.read(server.urlFor('data.bin'), 0, 3)).toEqual(FILE.slice(0, 3));
    expect(sleeps).toEqual([3000, 10_000]);
  });

  it('gives up on persistent 429 with a retryable HttpStatusError after maxAttempts', async () => {
    server.inject({ fault: { kind: 'status', status: 429, body: 'SlowDown: reduce your request rate' } });
    const { reader, sleeps } = httpReader({ maxAttempts: 3 });
    const url = server.urlFor('data.bin');
    const error = await caught(reader.read(url, 0, 3));
    expect(error).toBeInstanceOf(HttpStatusError);
    expect((error as HttpStatusError).status).toBe(429);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(url);
    expect(error.message).toMatch(/SlowDown/);
    expect(sleeps).toHaveLength(2);
  });

  it('does not retry 404 or 403', async () => {
    const { reader, sleeps } = httpReader();
    const missing = server.urlFor('missing.tif');
    const error = await caught(reader.read(missing, 0, 3));
    expect(error).toBeInstanceOf(HttpStatusError);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(missing);
    server.inject({ fault: { kind: 'status', status: 403 } });
    expect((await caught(reader.read(server.urlFor('data.bin'), 0, 3))).retryable).toBe(false);
    expect(sleeps).toEqual([]);
  });

  it('says where the file ends when a range runs past it (clipped 206 and 416)', async () => {
    const { reader } = httpReader();
    const url = server.urlFor('data.bin');
    const clipped = await caught(reader.read(url, 99_990, 100));
    expect(clipped).toBeInstanceOf(RangeRejectedError);
    expect(clipped.retryable).toBe(false);
    expect(clipped.context).toMatchObject({ fileSize: 100_000, reason: 'past-end-of-file', source: url });
    const beyond = await caught(reader.read(url, 200_000, 100));
    expect(beyond.context).toMatchObject({ fileSize: 100_000, reason: 'past-end-of-file' });
  });

  it('turns a refused connection into a retryable TransientError naming the URL and the cause', async () => {
    const { reader, sleeps } = httpReader({ maxAttempts: 2 });
    const url = `http://127.0.0.1:${await closedPort()}/nothing.tif`;
    const error = await caught(reader.read(url, 0, 10));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toContain(url);
    expect(error.message).toMatch(/connection refused by 127\.0\.0\.1:\d+/);
    expect(reader.stats.requests).toBe(2);
    expect(sleeps).toHaveLength(1);
  });

  it('times out a stalled answer', async () => {
    const { reader } = httpReader({ maxAttempts: 1, timeoutMs: 100 });
    // A server that accepts and never answers.
    const { createServer } = await import('node:http');
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const error = await caught(reader.read(`http://127.0.0.1:${port}/x.tif`, 0, 10));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toMatch(/timed out after 100 ms/);
    silent.closeAllConnections();
    silent.close();
  });
});

describe('FileRangeReader', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'satfactory-ranges-'));
  const file = path.join(dir, 'data.bin');
  writeFileSync(file, FILE);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads plain paths and file:// URLs exactly', async () => {
    const reader = new FileRangeReader();
    expect(await reader.read(file, 77, 1000)).toEqual(FILE.slice(77, 1077));
    expect(await reader.read(pathToFileURL(file).href, 99_999, 1)).toEqual(FILE.slice(99_999));
    expect(reader.stats).toEqual({ requests: 2, bytes: 1001 });
  });

  it('refuses a range past the end, saying the file size', async () => {
    const error = await caught(new FileRangeReader().read(file, 99_000, 2000));
    expect(error).toBeInstanceOf(RangeRejectedError);
    expect(error.context).toMatchObject({ fileSize: 100_000, reason: 'past-end-of-file', source: file });
  });

  it('names a missing file in an InvalidInputError', async () => {
    const missing = path.join(dir, 'nope.tif');
    const error = await caught(new FileRangeReader().read(missing, 0, 1));
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toContain(missing);
  });
});

describe('S3RangeReader (mocked client)', () => {
  const s3 = mockClient(S3Client);
  afterEach(() => s3.reset());
  const body = (bytes: Uint8Array) => ({ transformToByteArray: async () => bytes }) as never;

  it('sends the Range header and checks ContentRange and length', async () => {
    s3.on(GetObjectCommand).resolves({
      ContentRange: 'bytes 10-19/1000',
      ContentLength: 10,
      Body: body(FILE.slice(10, 20)),
    });
    const reader = new S3RangeReader({ client: new S3Client({ region: 'us-west-2' }) });
    expect(await reader.read('s3://sentinel-cogs/tiles/33/T/WL/B02.tif', 10, 10)).toEqual(FILE.slice(10, 20));
    const input = s3.commandCalls(GetObjectCommand)[0]?.args[0].input;
    expect(input).toEqual({ Bucket: 'sentinel-cogs', Key: 'tiles/33/T/WL/B02.tif', Range: 'bytes=10-19' });
    expect(reader.stats).toEqual({ requests: 1, bytes: 10 });
  });

  it('refuses a mismatched ContentRange and a missing one', async () => {
    const reader = new S3RangeReader({ client: new S3Client({ region: 'us-west-2' }) });
    s3.on(GetObjectCommand)
      .resolvesOnce({ ContentRange: 'bytes 0-9/1000', Body: body(FILE.slice(0, 10)) })
      .resolvesOnce({ ContentLength: 1000, Body: body(FILE.slice(0, 1000)) });
    const wrong = await caught(reader.read('s3://b/k.tif', 10, 10));
    expect(wrong).toBeInstanceOf(RangeRejectedError);
    expect(wrong.retryable).toBe(false);
    expect(wrong.message).toContain('s3://b/k.tif');
    const whole = await caught(reader.read('s3://b/k.tif', 10, 10));
    expect(whole.message).toMatch(/whole object/);
  });

  it('retries a short body and then succeeds', async () => {
    const sleeps: number[] = [];
    const reader = new S3RangeReader({
      client: new S3Client({ region: 'us-west-2' }),
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    s3.on(GetObjectCommand)
      .resolvesOnce({ ContentRange: 'bytes 0-9/1000', Body: body(FILE.slice(0, 5)) })
      .resolvesOnce({ ContentRange: 'bytes 0-9/1000', Body: body(FILE.slice(0, 10)) });
    expect(await reader.read('s3://b/k.tif', 0, 10)).toEqual(FILE.slice(0, 10));
    expect(sleeps).toHaveLength(1);
    expect(reader.stats).toEqual({ requests: 2, bytes: 15 });
  });

  it('maps SDK errors to HttpStatusError with the URL, and a clipped range to past-end-of-file', async () => {
    const reader = new S3RangeReader({ client: new S3Client({ region: 'us-west-2' }) });
    const noKey = Object.assign(new Error('The specified key does not exist.'), {
      name: 'NoSuchKey',
      $metadata: { httpStatusCode: 404 },
    });
    s3.on(GetObjectCommand)
      .rejectsOnce(noKey)
      .resolvesOnce({ ContentRange: 'bytes 0-99/100', Body: body(FILE.slice(0, 100)) });
    const error = await caught(reader.read('s3://b/missing.tif', 0, 10));
    expect(error).toBeInstanceOf(HttpStatusError);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('s3://b/missing.tif');
    const past = await caught(reader.read('s3://b/small.tif', 0, 16384));
    expect(past.context).toMatchObject({ fileSize: 100, reason: 'past-end-of-file' });
  });
});

describe('rangeReaderForUrl', () => {
  it('dispatches on the scheme and keeps one set of stats', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'satfactory-dispatch-'));
    const file = path.join(dir, 'd.bin');
    writeFileSync(file, FILE);
    try {
      const reader = rangeReaderForUrl();
      expect(await reader.read(server.urlFor('data.bin'), 0, 10)).toEqual(FILE.slice(0, 10));
      expect(await reader.read(file, 10, 10)).toEqual(FILE.slice(10, 20));
      expect(await reader.read(pathToFileURL(file).href, 20, 10)).toEqual(FILE.slice(20, 30));
      expect(reader.stats).toEqual({ requests: 3, bytes: 30 });
      expect(reader.readerFor('https://x/y.tif')).toBeInstanceOf(HttpRangeReader);
      expect(reader.readerFor('file:///a.tif')).toBeInstanceOf(FileRangeReader);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads s3:// through the given client', async () => {
    const s3 = mockClient(S3Client);
    s3.on(GetObjectCommand).resolves({
      ContentRange: 'bytes 0-3/10',
      Body: { transformToByteArray: async () => FILE.slice(0, 4) } as never,
    });
    const reader = rangeReaderForUrl({ s3Client: () => new S3Client({ region: 'eu-central-1' }) });
    expect(await reader.read('s3://bucket/key.tif', 0, 4)).toEqual(FILE.slice(0, 4));
    expect(reader.stats).toEqual({ requests: 1, bytes: 4 });
    s3.restore();
  });

  it('names schemes it cannot read', () => {
    expect(schemeOf('/abs/path.tif')).toBe('file');
    expect(schemeOf('C:\\data\\a.tif')).toBe('file');
    expect(schemeOf('HTTPS://a/b')).toBe('http');
    expect(() => schemeOf('gs://bucket/a.tif')).toThrow(/gs: is not supported/);
  });
});

describe('range answer checks', () => {
  it('parses Content-Range forms', () => {
    expect(parseContentRange('bytes 0-9/100')).toEqual({ start: 0, end: 9, total: 100 });
    expect(parseContentRange('bytes 0-9/*')).toEqual({ start: 0, end: 9, total: null });
    expect(parseContentRange('bytes */100')).toEqual({ start: -1, end: -1, total: 100 });
    expect(parseContentRange('bytes 9-0/100')).toBeNull();
    expect(parseContentRange('items 0-9/100')).toBeNull();
    expect(parseContentRange(null)).toBeNull();
  });
  it('accepts the exact range and names every other answer', () => {
    expect(() =>
      checkContentRange('u', 0, 10, parseContentRange('bytes 0-9/100'), 'bytes 0-9/100'),
    ).not.toThrow();
    expect(() => checkContentRange('u', 0, 10, null, undefined)).toThrow(/no valid Content-Range/);
    expect(() => checkContentRange('u', 0, 10, parseContentRange('bytes 0-4/*'), 'bytes 0-4/*')).toThrow(
      /mangles/,
    );
  });
  it('retries only retryable errors, up to maxAttempts', async () => {
    let calls = 0;
    const sleep = async () => {};
    await expect(
      withRetries('u', { sleep, maxAttempts: 3 }, async () => {
        calls++;
        throw new TransientError('flaky', {});
      }),
    ).rejects.toThrow('flaky');
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      withRetries('u', { sleep }, async () => {
        calls++;
        throw new InvalidInputError('bad', {});
      }),
    ).rejects.toThrow('bad');
    expect(calls).toBe(1);
  });
});
