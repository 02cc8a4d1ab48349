// The quota as a pure decision: the interval between slot claims, the in-flight limit, stale slots,
// and waits split into SQS-sized hops.
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../shared/domain/errors.ts';
import {
  DEFAULT_QUOTA,
  decide,
  delayHops,
  type LedgerSlot,
  MAX_DELAY_SECONDS,
  nextHop,
  quotaPolicy,
} from '../../../shared/domain/quota-ledger.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const slot = (n: number, claimedSeconds: number, done = false, productId = `p${n}`): LedgerSlot => ({
  slot: n,
  productId,
  claimedAt: at(claimedSeconds).toISOString(),
  done,
});

describe('decide', () => {
  const policy = quotaPolicy({ minIntervalSeconds: 1800, maxInFlight: 1 });

  it('orders slot 0 on an empty ledger', () => {
    expect(decide(policy, { lastSlot: -1, slots: [] }, at(0))).toEqual({ kind: 'order', slot: 0 });
  });

  it('waits out the interval since the last claim, to the second', () => {
    const state = { lastSlot: 0, slots: [slot(0, 0, true)] };
    expect(decide(policy, state, at(100))).toEqual({ kind: 'wait', seconds: 1700, reason: 'interval' });
    expect(decide(policy, state, at(1799.5))).toEqual({ kind: 'wait', seconds: 1, reason: 'interval' });
    expect(decide(policy, state, at(1800))).toEqual({ kind: 'order', slot: 1 });
  });

  it('waits while the in-flight orders fill the quota, polling, and orders once one is done', () => {
    const busy = { lastSlot: 3, slots: [slot(2, 0), slot(3, 1800, true)] };
    expect(decide(policy, busy, at(4000))).toEqual({
      kind: 'wait',
      seconds: DEFAULT_QUOTA.inFlightPollSeconds,
      reason: 'in-flight',
    });
    const two = quotaPolicy({ minIntervalSeconds: 1800, maxInFlight: 2 });
    expect(decide(two, busy, at(4000))).toEqual({ kind: 'order', slot: 4 });
  });

  it('stops counting a slot in flight once it is stale, and never polls past that moment', () => {
    const p = quotaPolicy({ minIntervalSeconds: 60, staleAfterSeconds: 3600, inFlightPollSeconds: 600 });
    const state = { lastSlot: 0, slots: [slot(0, 0)] };
    expect(decide(p, state, at(3300))).toEqual({ kind: 'wait', seconds: 300, reason: 'in-flight' });
    expect(decide(p, state, at(3600))).toEqual({ kind: 'order', slot: 1 });
  });

  it('refuses a ledger without its last slot and a policy that would stall', () => {
    expect(() => decide(policy, { lastSlot: 4, slots: [] }, at(0))).toThrow(/last slot 4/);
    expect(() => quotaPolicy({ maxInFlight: 0 })).toThrow(InvalidInputError);
    expect(() => quotaPolicy({ minIntervalSeconds: -1 })).toThrow(
      expect.objectContaining({
        name: 'InvalidInputError',
        message: expect.stringMatching(/minIntervalSeconds/),
      }),
    );
  });
});

describe('delayHops', () => {
  it('splits a wait into hops of at most 900 s that add up to it', () => {
    for (const seconds of [0, 1, 899, 900, 901, 1800, 3599.2, 86_400]) {
      const hops = delayHops(seconds);
      expect(hops.every((h) => h > 0 && h <= MAX_DELAY_SECONDS)).toBe(true);
      expect(hops.reduce((a, b) => a + b, 0)).toBe(Math.ceil(seconds));
    }
    expect(delayHops(2000)).toEqual([900, 900, 200]);
  });

  it('gives the next hop toward a deadline, 0 when it is due', () => {
    expect(nextHop(at(2000), at(0))).toBe(900);
    expect(nextHop(at(2000), at(1800))).toBe(200);
    expect(nextHop(at(2000), at(2001))).toBe(0);
  });
});
