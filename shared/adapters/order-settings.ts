// The order consumer's settings from environment variables, read once and checked: the quota
// (interval, in-flight limit), the poll delay and the attempt lease. Shared by Lambda and local runs.
import { InvalidInputError } from '../domain/errors.ts';
import { DEFAULT_QUOTA, MAX_DELAY_SECONDS, type QuotaPolicy, quotaPolicy } from '../domain/quota-ledger.ts';
import { DEFAULT_LEASE_SECONDS, DEFAULT_POLL_SECONDS } from '../steps/order-product.ts';

export type OrderSettings = { policy: QuotaPolicy; pollSeconds: number; leaseSeconds: number };

export const ORDER_ENV = {
  interval: 'ORDER_INTERVAL_SECONDS',
  maxInFlight: 'MAX_ORDERS_IN_FLIGHT',
  poll: 'ORDER_POLL_SECONDS',
  lease: 'ORDER_LEASE_SECONDS',
} as const;

export function orderSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): OrderSettings {
  const number = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new InvalidInputError(`environment variable ${name}=${raw} must be an integer ${min}..${max}`, {
        variable: name,
      });
    }
    return value;
  };
  return {
    policy: quotaPolicy({
      minIntervalSeconds: number(ORDER_ENV.interval, DEFAULT_QUOTA.minIntervalSeconds, 0, 86_400),
      maxInFlight: number(ORDER_ENV.maxInFlight, DEFAULT_QUOTA.maxInFlight, 1, 100),
    }),
    // One poll is one SQS delay.
    pollSeconds: number(ORDER_ENV.poll, DEFAULT_POLL_SECONDS, 1, MAX_DELAY_SECONDS),
    leaseSeconds: number(ORDER_ENV.lease, DEFAULT_LEASE_SECONDS, 1, 86_400),
  };
}
