// Requests that get no answer, against real sockets on this machine: a closed port (refused), a server
// that resets, one that never answers (timeout), a self-signed TLS server, and a host under .invalid
// (RFC 2606: never resolves, and fails at once even offline). Each must name its root cause, and the
// adapters must retry only what waiting can fix: attempts are counted, sleeps recorded, not waited.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FetchLike, fetchJson } from '../../shared/adapters/http-json.ts';
import { HttpRangeReader } from '../../shared/adapters/local/http-range-reader.ts';
import { classifyNetworkError, type NetworkFailure } from '../../shared/adapters/network-errors.ts';
import {
  DnsLookupError,
  isRetryable,
  SatfactoryError,
  TlsError,
  TransientError,
} from '../../shared/domain/errors.ts';
import { requireTool } from '../helpers/requirements.ts';
import { recordingClock } from '../helpers/stac-stub-server.ts';

const NO_SUCH_HOST = 'https://nonexistent.invalid/v1';
// A self-signed certificate is made with openssl at test time (fails in CI when missing).
const HAS_OPENSSL = requireTool('openssl');

/** Each server's open sockets: close() waits for them, and the silent server never ends its own. */
const open = new Map<Server | HttpsServer, Set<Socket>>();

async function listen<T extends Server | HttpsServer>(server: T): Promise<{ server: T; port: number }> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  open.set(server, sockets);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

async function close(server: Server | HttpsServer): Promise<void> {
  for (const socket of open.get(server) ?? []) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
}

/** What fetch throws for `url`, classified as the adapters classify it. */
async function failureOf(url: string, timeoutMs = 10_000): Promise<NetworkFailure> {
  const error = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error === undefined) throw new Error(`${url} answered`);
  return classifyNetworkError(error, url, timeoutMs);
}

/** The global fetch, counting calls. */
function countingFetch(): FetchLike & { calls: number } {
  const counted = Object.assign(
    (input: string, init: RequestInit) => {
      counted.calls++;
      return fetch(input, init);
    },
    { calls: 0 },
  );
  return counted;
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

let refusedPort: number;
let silent: { server: Server; port: number };
let resetting: { server: Server; port: number };
let plain: { server: Server; port: number };
let tls: { server: HttpsServer; port: number } | undefined;
let certDir: string | undefined;

beforeAll(async () => {
  // Bound, then closed: nothing listens there, so connecting is refused.
  const probe = await listen(createServer());
  refusedPort = probe.port;
  await close(probe.server);
  silent = await listen(createServer(() => {}));
  resetting = await listen(createServer((socket) => socket.resetAndDestroy()));
  // Answers anything with plain HTTP: TLS spoken to it fails the handshake.
  plain = await listen(
    createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    }),
  );
  if (HAS_OPENSSL) {
    certDir = mkdtempSync(path.join(tmpdir(), 'satfactory-tls-'));
    const key = path.join(certDir, 'key.pem');
    const cert = path.join(certDir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
      ],
      { stdio: 'ignore' },
    );
    tls = await listen(
      createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => res.end('{}')),
    );
  }
});

afterAll(async () => {
  await Promise.all([silent, resetting, plain, tls].flatMap((s) => (s ? [close(s.server)] : [])));
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

describe('classifyNetworkError on what fetch really throws', () => {
  it('names a host that does not resolve, and does not call it retryable', async () => {
    const failure = await failureOf(NO_SUCH_HOST);
    expect(failure).toMatchObject({ kind: 'dns', retryable: false });
    expect(failure.reason).toMatch(
      /^DNS lookup of nonexistent\.invalid failed \((ENOTFOUND|EAI_AGAIN)\): .*no network/,
    );
  });

  it('names the address that refused the connection', async () => {
    const failure = await failureOf(`http://127.0.0.1:${refusedPort}/`);
    expect(failure).toEqual({
      kind: 'refused',
      code: 'ECONNREFUSED',
      reason: `connection refused by 127.0.0.1:${refusedPort}`,
      retryable: true,
    });
  });

  it('names a reset connection', async () => {
    const failure = await failureOf(`http://127.0.0.1:${resetting.port}/`);
    expect(failure).toMatchObject({ kind: 'reset', retryable: true });
    expect(failure.reason).toContain(`127.0.0.1:${resetting.port}`);
    expect(failure.reason).toMatch(/reset \((ECONNRESET|UND_ERR_SOCKET)/);
  });

  it('says how long it waited for a server that never answers', async () => {
    const failure = await failureOf(`http://127.0.0.1:${silent.port}/`, 300);
    expect(failure).toEqual({
      kind: 'timeout',
      code: undefined,
      reason: 'timed out after 300 ms',
      retryable: true,
    });
  });

  it('names a TLS handshake with a plain HTTP port', async () => {
    const failure = await failureOf(`https://127.0.0.1:${plain.port}/`);
    expect(failure).toMatchObject({ kind: 'tls', retryable: false });
    expect(failure.reason).toMatch(/^TLS: handshake with 127\.0\.0\.1:\d+ failed: wrong version number/);
  });

  it.skipIf(!HAS_OPENSSL)('names a certificate it does not trust', async () => {
    const failure = await failureOf(`https://127.0.0.1:${tls?.port}/`);
    expect(failure).toMatchObject({ kind: 'tls', code: 'DEPTH_ZERO_SELF_SIGNED_CERT', retryable: false });
    expect(failure.reason).toBe(
      `TLS: certificate of 127.0.0.1:${tls?.port} refused: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)`,
    );
  });

  it('refuses a port that fetch blocks, without a retry', async () => {
    const failure = await failureOf('http://127.0.0.1:1/');
    expect(failure).toMatchObject({ kind: 'bad-url', retryable: false });
    expect(failure.reason).toBe('fetch refuses http://127.0.0.1:1/ (a port it blocks)');
  });
});

describe('fetchJson retries what waiting can fix, and only that', () => {
  it('gives up on a host that does not resolve after one quick retry', async () => {
    const fetch = countingFetch();
    const clock = recordingClock();
    const error = await caught(fetchJson({ method: 'GET', url: NO_SUCH_HOST }, { clock, fetch }));
    expect(error).toBeInstanceOf(DnsLookupError);
    expect(error.name).toBe('DnsLookupError');
    expect(isRetryable(error)).toBe(false);
    expect(error.message).toContain(`GET ${NO_SUCH_HOST} failed after 2 attempts`);
    expect(error.message).toMatch(/DNS lookup of nonexistent\.invalid failed/);
    expect(error.context).toMatchObject({ source: NO_SUCH_HOST, network: 'dns', attempts: 2 });
    expect(fetch.calls).toBe(2);
    expect(clock.sleeps).toHaveLength(1);
    // A quick retry: under the first backoff step, not the minutes a throttled server gets.
    expect(clock.sleeps[0]).toBeLessThan(500);
  });

  it('retries a refused connection with backoff, then names it in a TransientError', async () => {
    const fetch = countingFetch();
    const clock = recordingClock();
    const url = `http://127.0.0.1:${refusedPort}/v1`;
    const error = await caught(fetchJson({ method: 'GET', url }, { clock, fetch, maxAttempts: 3 }));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(
      `GET ${url} failed after 3 attempts: connection refused by 127.0.0.1:${refusedPort}`,
    );
    expect(error.context).toMatchObject({ network: 'refused', code: 'ECONNREFUSED', attempts: 3 });
    expect(fetch.calls).toBe(3);
    expect(clock.sleeps).toHaveLength(2);
  });

  it('retries a server that never answers, saying it timed out', async () => {
    const fetch = countingFetch();
    const clock = recordingClock();
    const url = `http://127.0.0.1:${silent.port}/v1`;
    const error = await caught(
      fetchJson({ method: 'GET', url }, { clock, fetch, maxAttempts: 2, timeoutMs: 200 }),
    );
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toContain('failed after 2 attempts: timed out after 200 ms');
    expect(fetch.calls).toBe(2);
  });

  it.skipIf(!HAS_OPENSSL)('fails a TLS certificate it does not trust at once, as TlsError', async () => {
    const fetch = countingFetch();
    const clock = recordingClock();
    const url = `https://127.0.0.1:${tls?.port}/v1`;
    const error = await caught(fetchJson({ method: 'GET', url }, { clock, fetch }));
    expect(error).toBeInstanceOf(TlsError);
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      `GET ${url} failed: TLS: certificate of 127.0.0.1:${tls?.port} refused: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)`,
    );
    expect(fetch.calls).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });
});

describe('HttpRangeReader retries what waiting can fix, and only that', () => {
  function reader(over: { timeoutMs?: number; maxAttempts?: number } = {}) {
    const sleeps: number[] = [];
    const r = new HttpRangeReader({
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      ...over,
    });
    return { reader: r, sleeps };
  }

  it('gives up on a host that does not resolve after one quick retry', async () => {
    const { reader: r, sleeps } = reader();
    const url = 'https://nonexistent.invalid/tiles/B02.tif';
    const error = await caught(r.read(url, 0, 100));
    expect(error).toBeInstanceOf(DnsLookupError);
    expect(error.message).toContain(`bytes 0-99 of ${url} failed: DNS lookup of nonexistent.invalid failed`);
    expect(r.stats.requests).toBe(2);
    expect(sleeps).toHaveLength(1);
  });

  it('retries a reset connection up to maxAttempts, naming the reset', async () => {
    const { reader: r, sleeps } = reader({ maxAttempts: 3 });
    const url = `http://127.0.0.1:${resetting.port}/B02.tif`;
    const error = await caught(r.read(url, 0, 100));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toMatch(/failed: connection to 127\.0\.0\.1:\d+ reset/);
    expect(r.stats.requests).toBe(3);
    expect(sleeps).toHaveLength(2);
  });

  it.skipIf(!HAS_OPENSSL)('fails an untrusted certificate at once', async () => {
    const { reader: r, sleeps } = reader();
    const error = await caught(r.read(`https://127.0.0.1:${tls?.port}/B02.tif`, 0, 100));
    expect(error).toBeInstanceOf(TlsError);
    expect(error.message).toMatch(/TLS: certificate of 127\.0\.0\.1:\d+ refused: self-signed certificate/);
    expect(r.stats.requests).toBe(1);
    expect(sleeps).toEqual([]);
  });
});
