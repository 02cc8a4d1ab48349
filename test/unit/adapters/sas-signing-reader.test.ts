import { describe, expect, it } from 'vitest';
import { SasSigningReader } from '../../../shared/adapters/sas-signing-reader.ts';
import { CatalogError } from '../../../shared/domain/errors.ts';
import type { RangeReader } from '../../../shared/ports.ts';
import { SimulatedClock } from '../../helpers/simulated-clock.ts';

const ENDPOINT = 'https://planetarycomputer.example/api/sas/v1/token';

function setup(
  answer: (n: number, headers: Headers) => Response,
  clock = new SimulatedClock('2024-05-14T18:15:49Z'),
) {
  const urls: string[] = [];
  const inner: RangeReader = {
    stats: { requests: 0, bytes: 0 },
    read: async (url, _offset, length) => {
      urls.push(url);
      return new Uint8Array(length);
    },
  };
  const asked: string[] = [];
  const reader = new SasSigningReader(inner, {
    endpoint: ENDPOINT,
    collection: 'sentinel-1-rtc',
    clock,
    maxAttempts: 1,
    subscriptionKey: undefined,
    fetch: async (url, init) => {
      asked.push(url);
      return answer(asked.length, new Headers(init.headers));
    },
  });
  return { reader, urls, asked, clock };
}

// The recorded answer's shape: expiry 45 minutes after the request, token without a leading "?".
const token = (n: number, expiry: string) =>
  new Response(JSON.stringify({ 'msft:expiry': expiry, token: `st=x&se=y&sp=rl&sig=${n}` }), {
    status: 200,
    headers: { 'content-type': 'application/json' },
  });

describe('SasSigningReader', () => {
  it('appends one shared token to every read, and fetches a new one 5 minutes before expiry', async () => {
    const { reader, urls, asked, clock } = setup((n) =>
      token(n, n === 1 ? '2024-05-14T19:00:49Z' : '2024-05-14T20:00:00Z'),
    );
    await Promise.all([reader.read('https://a/b.tif', 0, 4), reader.read('https://a/c.tif?x=1', 0, 4)]);
    expect(asked).toEqual([`${ENDPOINT}/sentinel-1-rtc`]);
    expect(urls).toEqual([
      'https://a/b.tif?st=x&se=y&sp=rl&sig=1',
      'https://a/c.tif?x=1&st=x&se=y&sp=rl&sig=1',
    ]);
    clock.advance(30 * 60_000); // 18:45:49, 15 minutes left: still good
    await reader.read('https://a/b.tif', 0, 4);
    expect(asked).toHaveLength(1);
    clock.advance(11 * 60_000); // 18:56:49, 4 minutes left: refreshed
    await reader.read('https://a/b.tif', 0, 4);
    expect(asked).toHaveLength(2);
    expect(urls.at(-1)).toBe('https://a/b.tif?st=x&se=y&sp=rl&sig=2');
  });

  it('a refused token (401/403) names the endpoint and how to give a subscription key', async () => {
    const { reader } = setup(() => new Response('{"message":"denied"}', { status: 403 }));
    const error = await reader.read('https://a/b.tif', 0, 4).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CatalogError);
    expect((error as Error).message).toMatch(
      /SAS token endpoint https:\/\/planetarycomputer\.example\/api\/sas\/v1\/token\/sentinel-1-rtc refused a token \(403\).*set PC_SDK_SUBSCRIPTION_KEY/,
    );
  });

  it('sends the subscription key as Ocp-Apim-Subscription-Key; refuses an answer that already expired', async () => {
    let header: string | null = null;
    const clock = new SimulatedClock('2026-01-01T00:00:00Z');
    const inner: RangeReader = { stats: { requests: 0, bytes: 0 }, read: async () => new Uint8Array(0) };
    const reader = new SasSigningReader(inner, {
      endpoint: ENDPOINT,
      collection: 'sentinel-1-rtc',
      clock,
      maxAttempts: 1,
      subscriptionKey: 'k-123',
      fetch: async (_url, init) => {
        header = new Headers(init.headers).get('ocp-apim-subscription-key');
        // The recorded token: it expired in 2024.
        return token(1, '2024-05-14T19:00:49Z');
      },
    });
    const error = await reader.read('https://a/b.tif', 0, 4).catch((e: unknown) => e);
    expect(header).toBe('k-123');
    expect((error as Error).message).toMatch(/answered a token that expired at 2024-05-14T19:00:49Z/);
  });
});
