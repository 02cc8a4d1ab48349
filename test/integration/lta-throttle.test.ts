// The LTA order throttle end to end on this machine, time-scaled: the checked-in workflow runs with
// 10 offline products; OrderProducts hands each to the in-process queue, whose consumer orders from
// the simulated CDSE (through the real CDSE adapter) under a quota of one order per 30 minutes and
// one in flight, while consumers crash at every risky point. Hours of quota take seconds.

import { afterEach, describe, expect, it } from 'vitest';
import { CdseArchive } from '../../shared/adapters/cdse-archive.ts';
import { quotaPolicy } from '../../shared/domain/quota-ledger.ts';
import { silentLog } from '../../shared/ports.ts';
import { createLocalOrders } from '../../shared/runtime/local-orders.ts';
import {
  type LocalWorkflowEvent,
  runLocalWorkflow,
  type TaskHandler,
} from '../../shared/runtime/local-runtime.ts';
import { ensureOnline } from '../../shared/steps/ensure-online.ts';
import type { StepContext } from '../../shared/work/context.ts';
import { WorkFiles, writeWork } from '../../shared/work/files.ts';
import { ExecutionInputSchema, OrderStateNames, StateNames } from '../../shared/workflow/contracts.ts';
import { type ArchiveSim, startArchiveSim } from '../helpers/archive-sim-server.ts';
import { CrashingBlobStore, type CrashPoint } from '../helpers/crashing-blob-store.ts';
import { SimulatedClock } from '../helpers/simulated-clock.ts';
import { productOf, selectionOf } from '../helpers/work-files.ts';

const RUN = { runId: 'run-lta', jobKey: 'runs/run-lta/job.json' };
const PRODUCTS = Array.from(
  { length: 10 },
  (_, i) => `S2B_MSIL2A_20230${(i % 9) + 1}01T103629_N0509_R008_T31TCJ_${i}`,
);
const INTERVAL_S = 1800;
// Longer than the interval: the in-flight limit, not only the interval, paces the orders.
const RESTORE_S = 2400;

const productKey = (i: number) => encodeURIComponent(PRODUCTS[i] as string);
/** One crash at each point where a lost write could lead to a second order or a lost product. */
const CRASHES: CrashPoint[] = [
  { key: new RegExp(`${productKey(1)}/attempt-\\d+\\.json$`), when: 'after' },
  { key: /^lta\/slots\/000000000002\.json$/, when: 'after' },
  { key: new RegExp(`${productKey(4)}/order-\\d+\\.json$`), when: 'before' },
  { key: new RegExp(`${productKey(6)}/order-\\d+\\.json$`), when: 'after' },
  { key: /^lta\/slots\/000000000008\.done\.json$/, when: 'after' },
];

let sim: ArchiveSim | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('LTA throttle, time-scaled', () => {
  it('orders 10 offline products 30 simulated minutes apart, one in flight, none lost or doubled', async () => {
    const clock = new SimulatedClock('2026-03-01T00:00:00Z');
    const started = clock.now().getTime();
    sim = await startArchiveSim({
      clock,
      products: PRODUCTS.map((id) => ({ id, online: false })),
      minIntervalSeconds: INTERVAL_S,
      maxInFlight: 1,
      restoreSeconds: RESTORE_S,
      tokenSeconds: 600,
    });
    const work = new CrashingBlobStore(CRASHES);
    const archive = new CdseArchive({
      credentials: { username: 'user', password: 'secret' },
      ...sim.endpoints,
      clock,
    });
    const orders = createLocalOrders({
      archive,
      work,
      clock,
      log: silentLog,
      settings: {
        policy: quotaPolicy({ minIntervalSeconds: INTERVAL_S, maxInFlight: 1 }),
        pollSeconds: 300,
        leaseSeconds: 960,
      },
      visibilityTimeoutSeconds: 360,
      maxReceiveCount: 10,
    });

    // What Plan would have stored: the selection, every product offline.
    await writeWork(
      work,
      WorkFiles.selection,
      'runs/run-lta/selection.json',
      selectionOf(RUN.runId, {
        '31TCJ': PRODUCTS.map((id, i) =>
          productOf({ id, tile: '31TCJ', datetime: `2023-0${(i % 9) + 1}-01T10:36:29Z`, online: false }),
        ),
      }),
    );
    const ctx = { work, log: silentLog, clock } as unknown as StepContext;
    const regionsKey = 'runs/run-lta/regions.jsonl';
    const shardsKey = 'runs/run-lta/shards.jsonl';
    const handlers: Record<string, TaskHandler> = {
      [StateNames.plan]: async () => ({
        ...RUN,
        selectionKey: 'runs/run-lta/selection.json',
        products: 10,
        tiles: 1,
        offline: 10,
      }),
      [StateNames.ensureOnline]: async (e) => ensureOnline(ExecutionInputSchema.parse(e), ctx),
      [OrderStateNames.orderProduct]: orders.handler,
      [StateNames.prepareLabels]: async () => {
        // Every product must be online before labels are prepared.
        expect(sim!.orders.every((o) => o.readyAt <= clock.now().getTime())).toBe(true);
        return { labelsKey: null, features: 0 };
      },
      [StateNames.planWindows]: async () => {
        await work.put(regionsKey, `${JSON.stringify({ ...RUN, regionId: 'r0', planKey: 'p' })}\n`);
        return { regionsKey, regions: 1, windows: 1, bytesToFetch: 0 };
      },
      [StateNames.extractRegion]: async () => ({ regions: 1, written: 1, rejected: 0, bytesFetched: 0 }),
      [StateNames.planShards]: async () => {
        await work.put(shardsKey, `${JSON.stringify({ ...RUN, split: 'train', index: 0, planKey: 'p' })}\n`);
        return { shardsKey, shards: 1, samples: 1 };
      },
      [StateNames.writeShard]: async () => ({ shards: 1, samples: 1, bytes: 2048 }),
      [StateNames.commit]: async () => ({ manifestKey: 'manifest.json', samples: 1, rejected: 0, shards: 1 }),
      [StateNames.recordFailure]: async (e) => e,
    };
    const events: LocalWorkflowEvent[] = [];
    const output = (await runLocalWorkflow({
      input: RUN,
      handlers,
      workStore: work,
      taskTokens: orders.tokens,
      retryIntervalMs: 0,
      onEvent: (e) => events.push(e),
    })) as Record<string, unknown>;
    await orders.close();

    expect(output).toMatchObject({ online: { online: 0, offline: 10 }, commit: { samples: 1 } });
    expect(
      events
        .filter((e) => e.type === 'StateEntered' && e.path.length === 0)
        .map((e) => 'state' in e && e.state),
    ).toEqual([
      'Plan',
      'EnsureOnline',
      'NeedsOrders',
      'OrderProducts',
      'PrepareLabels',
      'PlanWindows',
      'ExtractRegions',
      'PlanShards',
      'WriteShards',
      'Commit',
      'Succeeded',
    ]);
    // Every crash happened, and none cost a product or an extra order.
    expect(work.fired).toHaveLength(CRASHES.length);
    expect(PRODUCTS.map((id) => sim!.ordersOf(id))).toEqual(PRODUCTS.map(() => 1));
    // The quota held: ≥ 30 simulated minutes apart, never two in flight, never refused by the archive.
    const placed = sim.orders;
    for (let i = 1; i < placed.length; i++) {
      const [prev, next] = [placed[i - 1]!, placed[i]!];
      expect(next.orderedAt - prev.orderedAt).toBeGreaterThanOrEqual(INTERVAL_S * 1000);
      expect(next.orderedAt).toBeGreaterThanOrEqual(prev.readyAt);
    }
    expect(sim.stats.rejected429).toBe(0);
    expect(sim.stats.maxConnections).toBeLessThanOrEqual(4);
    // Hours of simulated time, with tokens refreshed along the way.
    expect(clock.now().getTime() - started).toBeGreaterThanOrEqual(9 * INTERVAL_S * 1000);
    expect(sim.stats.tokenGrants.refresh).toBeGreaterThan(0);
    expect(orders.tokens.waiting).toBe(0);
  });
});
