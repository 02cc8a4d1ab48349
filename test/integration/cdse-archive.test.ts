// The CDSE adapter against the simulated archive (same HTTP shape): availability from `Online`,
// orders and their status, the archive's 429s, token refresh before expiry and renewal after a
// revocation, and never more than 4 connections at once.
import { afterEach, describe, expect, it } from 'vitest';
import { CdseArchive } from '../../shared/adapters/cdse-archive.ts';
import type { FetchLike } from '../../shared/adapters/http-json.ts';
import { HttpStatusError } from '../../shared/domain/errors.ts';
import { type Clock, systemClock } from '../../shared/ports.ts';
import { type ArchiveSim, type ArchiveSimOptions, startArchiveSim } from '../helpers/archive-sim-server.ts';
import { SimulatedClock } from '../helpers/simulated-clock.ts';

let sim: ArchiveSim | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function setup(options: Partial<ArchiveSimOptions> = {}, clientClock?: Clock) {
  const clock = new SimulatedClock();
  sim = await startArchiveSim({
    clock,
    products: [
      { id: 'S2A_ONLINE', online: true },
      { id: 'S2B_OFF1', online: false },
      { id: 'S2B_OFF2', online: false },
    ],
    minIntervalSeconds: 1800,
    maxInFlight: 1,
    restoreSeconds: 600,
    ...options,
  });
  const archive = new CdseArchive({
    credentials: { username: 'user', password: 'secret' },
    ...sim.endpoints,
    clock: clientClock ?? clock,
  });
  return { clock, sim, archive };
}

describe('CdseArchive against the archive simulator', () => {
  it('reads availability from the OData Online flag, with or without .SAFE', async () => {
    const { archive } = await setup();
    expect(await archive.availability('S2A_ONLINE')).toBe('online');
    expect(await archive.availability('S2B_OFF1.SAFE')).toBe('offline');
    expect(await archive.availability('S2X_MISSING')).toBe('unknown');
  });

  it('orders, follows the order to online, and finds an order by product when its id was lost', async () => {
    const { archive, clock, sim } = await setup();
    expect(await archive.status('S2B_OFF1')).toEqual({ state: 'none' });
    const { orderId } = await archive.order('S2B_OFF1');
    expect(await archive.status('S2B_OFF1', orderId)).toMatchObject({ state: 'pending', orderId });
    expect(await archive.status('S2B_OFF1')).toMatchObject({ state: 'pending', orderId });
    clock.advance(600_000);
    expect(await archive.status('S2B_OFF1', orderId)).toMatchObject({ state: 'online' });
    expect(await archive.availability('S2B_OFF1')).toBe('online');
    expect(sim.ordersOf('S2B_OFF1')).toBe(1);
  });

  it('passes the archive’s quota refusal on as a 429 with its Retry-After, never retrying an order', async () => {
    const { archive, sim } = await setup();
    await archive.order('S2B_OFF1');
    const error = await archive.order('S2B_OFF2').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpStatusError);
    expect(error).toMatchObject({ status: 429, retryable: true, retryAfterMs: 1_800_000 });
    expect(sim.ordersOf('S2B_OFF2')).toBe(0);
    expect(sim.stats.rejected429).toBe(1);
  });

  it('turns a 4xx refusal into OrderRejectedError and an unknown product into ProductUnknownError', async () => {
    const { archive } = await setup({ failOrders: { S2B_OFF1: 400 } });
    await expect(archive.order('S2B_OFF1')).rejects.toMatchObject({
      name: 'OrderRejectedError',
      retryable: false,
    });
    await expect(archive.order('S2X_MISSING')).rejects.toMatchObject({ name: 'ProductUnknownError' });
  });

  it('refreshes the token before it expires and renews it after a revocation', async () => {
    const { archive, clock, sim } = await setup({ tokenSeconds: 600 });
    await archive.availability('S2A_ONLINE');
    clock.advance(560_000); // within a minute of expiry: refresh first
    await archive.availability('S2A_ONLINE');
    expect(sim.stats.tokenGrants).toEqual({ password: 1, refresh: 1 });
    expect(archive.tokenGrants).toEqual({ password: 1, refresh: 1 });
    clock.advance(100_000); // still valid: no grant
    await archive.availability('S2A_ONLINE');
    expect(sim.stats.tokenGrants.refresh).toBe(1);
    sim.revokeTokens(); // the next call gets 401, renews with the password once, and goes on
    expect(await archive.availability('S2A_ONLINE')).toBe('online');
    expect(sim.stats.tokenGrants).toEqual({ password: 2, refresh: 1 });
    // Long idle: the refresh token has expired too, so the password grant is used.
    clock.advance(24 * 3600_000);
    await archive.availability('S2A_ONLINE');
    expect(sim.stats.tokenGrants).toEqual({ password: 3, refresh: 1 });
  });

  it('keeps at most 4 connections open however many calls run at once', async () => {
    const { archive, sim } = await setup({ latencyMs: 20 });
    const answers = await Promise.all(Array.from({ length: 24 }, () => archive.availability('S2B_OFF2')));
    expect(new Set(answers)).toEqual(new Set(['offline']));
    expect(sim.stats.maxConnections).toBeLessThanOrEqual(4);
    expect(sim.stats.maxConnections).toBeGreaterThan(1);
    expect(sim.stats.connectionsRefused).toBe(0);
  });

  it('retries a GET that the archive refuses for too many connections', async () => {
    // The archive allows 2 here, the client opens up to 4: the extra ones get 429 and retry.
    // The client waits out Retry-After (1 s) in real time, while the refused connections close.
    const { archive, sim } = await setup({ latencyMs: 20, maxConnections: 2 }, systemClock);
    const answers = await Promise.all(Array.from({ length: 8 }, () => archive.availability('S2A_ONLINE')));
    expect(answers.every((a) => a === 'online')).toBe(true);
    expect(sim.stats.connectionsRefused).toBeGreaterThan(0);
  });

  it('retries a GET through fetchJson: HTTP-date Retry-After, per-request timeout; reads a 429 order’s HTTP date', async () => {
    const clock = new SimulatedClock('2026-01-01T00:00:00Z');
    const calls: string[] = [];
    let catalogueCalls = 0;
    const stub: FetchLike = async (url, init) => {
      calls.push(`${init.method} ${url.split('?')[0]}`);
      if (url.startsWith('http://token')) {
        return Response.json({ access_token: 'a', expires_in: 600 });
      }
      if (url.startsWith('http://catalogue')) {
        catalogueCalls += 1;
        if (catalogueCalls === 1) {
          // Hangs until the per-request timeout aborts it.
          return new Promise((_, reject) =>
            init.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
          );
        }
        if (catalogueCalls === 2) {
          const at = new Date(Date.parse('2026-01-01T00:00:07Z')).toUTCString();
          return new Response('busy', { status: 503, headers: { 'retry-after': at } });
        }
        return Response.json({ value: [{ Online: true }] });
      }
      const at = new Date(clock.now().getTime() + 1_800_000).toUTCString();
      return Response.json({ error: 'quota' }, { status: 429, headers: { 'retry-after': at } });
    };
    const archive = new CdseArchive({
      credentials: { username: 'user', password: 'secret' },
      catalogueUrl: 'http://catalogue',
      odpUrl: 'http://odp',
      tokenUrl: 'http://token',
      clock,
      fetch: stub,
      // Only the hanging call may time out, even on a busy machine: the other answers are immediate.
      retry: { timeoutMs: 1_000, random: () => 0.5 },
    });
    const before = clock.now().getTime();
    expect(await archive.availability('S2B_X')).toBe('online');
    expect(catalogueCalls).toBe(3);
    // The timeout's backoff (jittered: 0.5 x 500 ms), then a wait until the 503's Retry-After date.
    expect(clock.now().getTime() - before).toBe(7000);
    expect(calls.filter((c) => c.startsWith('GET http://catalogue'))).toHaveLength(3);
    const error = await archive.order('S2B_X').catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'HttpStatusError', status: 429, retryAfterMs: 1_800_000 });
    expect(calls.filter((c) => c.startsWith('POST http://odp'))).toHaveLength(1);
  });
});
