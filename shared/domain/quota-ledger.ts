// The archive quota as a pure decision: from the ledger (slots taken, orders in flight) and the time,
// either "order now in slot n" or "wait N seconds". Waits become SQS delays, which stop at 900 s.
import { IntegrityError, InvalidInputError } from './errors.ts';

/** SQS DelaySeconds ceiling for standard queues: longer waits hop through several messages. */
export const MAX_DELAY_SECONDS = 900;

export type QuotaPolicy = {
  /** Least time between two orders of the account (slot claims). */
  readonly minIntervalSeconds: number;
  /** Orders placed and not yet online or failed, at most. */
  readonly maxInFlight: number;
  /** A slot still in flight after this long stops counting: its consumer is gone (DLQ, deleted run). */
  readonly staleAfterSeconds: number;
  /** When in-flight orders fill the quota, look again after this long. */
  readonly inFlightPollSeconds: number;
};

export const DEFAULT_QUOTA: QuotaPolicy = {
  minIntervalSeconds: 1800,
  maxInFlight: 1,
  staleAfterSeconds: 48 * 3600,
  inFlightPollSeconds: 600,
};

/** Fills a policy from partial settings (env, job options) and refuses values that would stall. */
export function quotaPolicy(settings: Partial<QuotaPolicy> = {}): QuotaPolicy {
  const policy = { ...DEFAULT_QUOTA, ...settings };
  const check = (ok: boolean, what: string) => {
    if (!ok) {
      throw new InvalidInputError(`the archive quota's ${what}; fix the order settings`, {
        policy: { ...policy },
      });
    }
  };
  check(
    Number.isFinite(policy.minIntervalSeconds) && policy.minIntervalSeconds >= 0,
    'minIntervalSeconds must be >= 0',
  );
  check(
    Number.isInteger(policy.maxInFlight) && policy.maxInFlight >= 1,
    'maxInFlight must be an integer >= 1',
  );
  check(policy.staleAfterSeconds > 0, 'staleAfterSeconds must be > 0');
  check(policy.inFlightPollSeconds >= 1, 'inFlightPollSeconds must be >= 1');
  return policy;
}

export type LedgerSlot = {
  readonly slot: number;
  readonly productId: string;
  /** ISO time the slot was claimed, immediately before order() was called. */
  readonly claimedAt: string;
  readonly done: boolean;
};

export type LedgerState = {
  /** The highest slot index taken, -1 when the account never ordered. */
  readonly lastSlot: number;
  /** The recent slots, the last one included (older ones are long done or stale). */
  readonly slots: readonly LedgerSlot[];
};

export type QuotaDecision =
  | { readonly kind: 'order'; readonly slot: number }
  | { readonly kind: 'wait'; readonly seconds: number; readonly reason: 'interval' | 'in-flight' };

/** Slots that still hold the in-flight quota at `now`. */
export function inFlightSlots(policy: QuotaPolicy, state: LedgerState, now: Date): LedgerSlot[] {
  return state.slots.filter(
    (s) => !s.done && now.getTime() - Date.parse(s.claimedAt) < policy.staleAfterSeconds * 1000,
  );
}

export function decide(policy: QuotaPolicy, state: LedgerState, now: Date): QuotaDecision {
  const last = state.slots.find((s) => s.slot === state.lastSlot);
  if (state.lastSlot >= 0 && last === undefined) {
    throw new IntegrityError(`the ledger state lacks its last slot ${state.lastSlot}`, {
      slot: state.lastSlot,
    });
  }
  if (last) {
    const readyAt = Date.parse(last.claimedAt) + policy.minIntervalSeconds * 1000;
    if (now.getTime() < readyAt) {
      return { kind: 'wait', seconds: Math.ceil((readyAt - now.getTime()) / 1000), reason: 'interval' };
    }
  }
  const busy = inFlightSlots(policy, state, now);
  if (busy.length >= policy.maxInFlight) {
    // Nothing tells us when an order comes online: poll, but never past the moment one goes stale.
    const staleAt = Math.min(...busy.map((s) => Date.parse(s.claimedAt) + policy.staleAfterSeconds * 1000));
    const untilStale = Math.max(1, Math.ceil((staleAt - now.getTime()) / 1000));
    return { kind: 'wait', seconds: Math.min(policy.inFlightPollSeconds, untilStale), reason: 'in-flight' };
  }
  return { kind: 'order', slot: state.lastSlot + 1 };
}

/** The SQS delays that make up a wait: hops of at most 900 s, the last one the remainder. */
export function delayHops(seconds: number): number[] {
  const total = Math.max(0, Math.ceil(seconds));
  const hops: number[] = [];
  for (let left = total; left > 0; left -= MAX_DELAY_SECONDS) hops.push(Math.min(left, MAX_DELAY_SECONDS));
  return hops;
}

/** The delay of the next message of a wait ending at `until`: the first hop, 0 when it is due. */
export function nextHop(until: Date, now: Date): number {
  return delayHops((until.getTime() - now.getTime()) / 1000)[0] ?? 0;
}
