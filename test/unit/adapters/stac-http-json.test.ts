// fetchJson's retry policy without a network: a scripted fetch answers, a recording clock sleeps.
// Checks which statuses retry, how long it waits (Retry-After, full jitter) and what it throws.
import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  errorDetail,
  type FetchLike,
  fetchJson,
  parseRetryAfter,
} from '../../../shared/adapters/http-json.ts';
import {
  CatalogError,
  DnsLookupError,
  HttpStatusError,
  TransientError,
} from '../../../shared/domain/errors.ts';
import { recordingClock } from '../../helpers/stac-stub-server.ts';

type Scripted = Response | Error;

function scriptedFetch(
  answers: Scripted[],
): FetchLike & { calls: Array<{ url: string; init: RequestInit }> } {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const fn = async (url: string, init: RequestInit): Promise<Response> => {
    calls.push({ url, init });
    const next = answers.shift();
    if (!next) throw new Error('scripted fetch ran out of answers');
    if (next instanceof Error) throw next;
    return next;
  };
  return Object.assign(fn, { calls });
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

const URL_ = 'https://stac.example/v1/search';

describe('parseRetryAfter', () => {
  const now = new Date('2025-07-31T15:06:47Z');
  it('reads delta seconds', () => {
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter(' 1.5 ', now)).toBe(1500);
  });
  it('reads an HTTP date relative to the clock', () => {
    expect(parseRetryAfter('Thu, 31 Jul 2025 15:06:50 GMT', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 31 Jul 2025 15:00:00 GMT', now)).toBe(0);
  });
  it('ignores absent or unreadable values', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('backoffDelay', () => {
  it('is uniform in [0, base * 2^(n-1)] capped at maxDelayMs', () => {
    expect(backoffDelay(1, { baseDelayMs: 100, random: () => 0.999 })).toBe(99);
    expect(backoffDelay(4, { baseDelayMs: 100, random: () => 0.5 })).toBe(400);
    expect(backoffDelay(20, { baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.5 })).toBe(500);
    expect(backoffDelay(3, { baseDelayMs: 100, random: () => 0 })).toBe(0);
  });
});

describe('errorDetail', () => {
  it('reads STAC API error bodies and quotes anything else, shortened', () => {
    expect(errorDetail('{"code":"BadRequest","description":"bad datetime"}')).toBe(
      'BadRequest: bad datetime',
    );
    expect(errorDetail('{"detail":"Not Found"}')).toBe('Not Found');
    expect(errorDetail('<html>\n  <body>502</body>\n</html>')).toBe('<html> <body>502</body> </html>');
    // At most 200 characters, and nothing a terminal would act on.
    expect(errorDetail('x'.repeat(2000))).toBe(`${'x'.repeat(200)}...`);
    expect(errorDetail('{"detail":"bad \\u001b[2J value"}')).toBe('bad \\u001b[2J value');
    expect(errorDetail('<h1>\u001b[2J</h1>')).toBe('<h1>\\u001b[2J</h1>');
  });
});

describe('fetchJson', () => {
  it('sends the JSON body with content-type and returns the parsed answer', async () => {
    const fetch = scriptedFetch([json(200, { ok: true })]);
    const clock = recordingClock();
    const res = await fetchJson({ method: 'POST', url: URL_, body: { a: 1 } }, { clock, fetch });
    expect(res).toMatchObject({ status: 200, body: { ok: true }, attempts: 1 });
    expect(fetch.calls[0]?.init.body).toBe('{"a":1}');
    expect((fetch.calls[0]!.init.headers as Record<string, string>)['content-type']).toBe('application/json');
    expect(fetch.calls[0]?.init.signal).toBeInstanceOf(AbortSignal);
    expect(clock.sleeps).toEqual([]);
  });

  it('honours Retry-After on 429 (seconds and HTTP date) through the clock', async () => {
    const fetch = scriptedFetch([
      json(429, {}, { 'retry-after': '7' }),
      json(429, {}, { 'retry-after': 'Thu, 31 Jul 2025 15:06:50 GMT' }),
      json(200, { ok: 1 }),
    ]);
    const clock = recordingClock(new Date('2025-07-31T15:06:47Z'));
    const res = await fetchJson({ method: 'GET', url: URL_ }, { clock, fetch });
    expect(res.attempts).toBe(3);
    expect(clock.sleeps).toEqual([7000, 3000]);
  });

  it('caps a huge Retry-After at maxRetryAfterMs', async () => {
    const fetch = scriptedFetch([json(429, {}, { 'retry-after': '86400' }), json(200, {})]);
    const clock = recordingClock();
    await fetchJson({ method: 'GET', url: URL_ }, { clock, fetch, maxRetryAfterMs: 60_000 });
    expect(clock.sleeps).toEqual([60_000]);
  });

  it('backs off exponentially with full jitter on 5xx', async () => {
    const fetch = scriptedFetch([json(503, {}), json(502, {}), json(500, {}), json(200, {})]);
    const clock = recordingClock();
    await fetchJson({ method: 'GET', url: URL_ }, { clock, fetch, baseDelayMs: 100, random: () => 0.5 });
    expect(clock.sleeps).toEqual([50, 100, 200]);
    expect(fetch.calls).toHaveLength(4);
  });

  it('gives up after maxAttempts with a retryable HttpStatusError naming the URL', async () => {
    const fetch = scriptedFetch([json(503, {}), json(503, {}), json(503, { why: 'overloaded' })]);
    const clock = recordingClock();
    const error = await fetchJson({ method: 'GET', url: URL_ }, { clock, fetch, maxAttempts: 3 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HttpStatusError);
    const e = error as HttpStatusError;
    expect(e.name).toBe('HttpStatusError');
    expect(e.status).toBe(503);
    expect(e.retryable).toBe(true);
    expect(e.message).toContain(URL_);
    expect(e.message).toContain('after 3 attempts');
    expect(e.message).toContain('overloaded');
    expect(fetch.calls).toHaveLength(3);
    expect(clock.sleeps).toHaveLength(2);
  });

  it('does not retry 4xx other than 429 and quotes the body', async () => {
    const fetch = scriptedFetch([json(400, { description: 'bad intersects' })]);
    const error = await fetchJson(
      { method: 'POST', url: URL_, body: {} },
      { clock: recordingClock(), fetch },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpStatusError);
    expect((error as HttpStatusError).retryable).toBe(false);
    expect((error as Error).message).toContain('bad intersects');
    expect(fetch.calls).toHaveLength(1);
  });

  it('retries dropped connections and timeouts, then throws TransientError', async () => {
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    const fetch = scriptedFetch([
      new TypeError('fetch failed'),
      timeout as unknown as Error,
      new TypeError('fetch failed'),
    ]);
    const clock = recordingClock();
    const error = await fetchJson(
      { method: 'GET', url: URL_ },
      { clock, fetch, maxAttempts: 3, timeoutMs: 250 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).retryable).toBe(true);
    expect((error as Error).message).toBe(
      `GET ${URL_} failed after 3 attempts: fetch failed; check the URL and the network, or try again later`,
    );
    expect(fetch.calls).toHaveLength(3);
    expect(clock.sleeps).toHaveLength(2);
  });

  it('retries a failed DNS lookup once, quickly, then throws DnsLookupError naming the host', async () => {
    const dns = () =>
      Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error('getaddrinfo ENOTFOUND stac.example'), {
          code: 'ENOTFOUND',
          hostname: 'stac.example',
        }),
      });
    const fetch = scriptedFetch([dns(), dns(), json(200, {})]);
    const clock = recordingClock();
    const error = await fetchJson({ method: 'GET', url: URL_ }, { clock, fetch, random: () => 0.999 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DnsLookupError);
    expect((error as DnsLookupError).retryable).toBe(false);
    expect((error as Error).message).toBe(
      `GET ${URL_} failed after 2 attempts: DNS lookup of stac.example failed (ENOTFOUND): no network or wrong host?`,
    );
    expect(fetch.calls).toHaveLength(2);
    expect(clock.sleeps).toEqual([499]);
  });

  it('rejects a 200 that is not JSON with CatalogError', async () => {
    const fetch = scriptedFetch([new Response('<html>gateway</html>', { status: 200 })]);
    const error = await fetchJson({ method: 'GET', url: URL_ }, { clock: recordingClock(), fetch }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CatalogError);
    expect((error as Error).message).toContain('<html>gateway</html>');
  });
});
