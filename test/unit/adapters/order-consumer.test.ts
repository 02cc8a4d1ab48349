// The order consumer's edges: the Lambda's SQS batch handling (partial batch failures), the Step
// Functions callbacks (a gone token is TaskGoneError, long causes are cut to the API's limits),
// EnsureOnline's orders JSONL, and the consumer settings read from the environment.
import 'aws-sdk-client-mock-vitest/extend';
import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { consumeOrders } from '../../../shared/adapters/aws/order-consumer.ts';
import { SfnTaskCallbacks } from '../../../shared/adapters/aws/sfn-task-callbacks.ts';
import { orderSettingsFromEnv } from '../../../shared/adapters/order-settings.ts';
import { InvalidInputError } from '../../../shared/domain/errors.ts';
import { TaskGoneError } from '../../../shared/domain/lta.ts';
import { quotaPolicy } from '../../../shared/domain/quota-ledger.ts';
import { silentLog } from '../../../shared/ports.ts';
import { LocalTaskTokens } from '../../../shared/runtime/task-tokens.ts';
import { ensureOnline } from '../../../shared/steps/ensure-online.ts';
import type { OrderPorts } from '../../../shared/steps/order-product.ts';
import type { StepContext } from '../../../shared/work/context.ts';
import { FakeArchive } from '../../helpers/fake-archive.ts';
import { MemoryBlobStore } from '../../helpers/memory-blob-store.ts';
import { SimulatedClock } from '../../helpers/simulated-clock.ts';

function ports(): OrderPorts & { sent: unknown[]; tokens: LocalTaskTokens } {
  const clock = new SimulatedClock();
  const sent: unknown[] = [];
  const tokens = new LocalTaskTokens();
  return {
    work: new MemoryBlobStore(),
    archive: new FakeArchive({ clock, offline: ['P1'] }),
    queue: { send: async (m) => void sent.push(m) },
    callbacks: tokens,
    clock,
    log: silentLog,
    policy: quotaPolicy(),
    pollSeconds: 300,
    leaseSeconds: 960,
    sent,
    tokens,
  };
}

describe('consumeOrders (the Lambda over SQS)', () => {
  it('reports only the records that failed, so SQS redelivers those (and DLQs them in the end)', async () => {
    const p = ports();
    const { token } = p.tokens.issue();
    const good = {
      runId: 'r',
      taskToken: token,
      product: { id: 'P1', collection: 'c', tile: 't', datetime: 'd' },
    };
    const response = await consumeOrders(
      {
        Records: [
          { messageId: 'm1', body: JSON.stringify(good) },
          { messageId: 'm2', body: '{"not":"an order"}' },
          { messageId: 'm3', body: 'not json' },
        ],
      },
      p,
    );
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }, { itemIdentifier: 'm3' }] });
    // m1 was ordered and re-sent to poll.
    expect(p.sent).toHaveLength(1);
  });
});

describe('SfnTaskCallbacks', () => {
  it('sends success, failure (cut to 256/32768) and heartbeat; a timed-out token is TaskGoneError', async () => {
    const sfn = mockClient(SFNClient);
    const callbacks = new SfnTaskCallbacks({ client: new SFNClient({ region: 'us-east-1' }) });
    await callbacks.success('t1', { productId: 'P1', orderId: 'o1' });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      taskToken: 't1',
      output: '{"productId":"P1","orderId":"o1"}',
    });
    await callbacks.failure('t2', 'E'.repeat(300), 'c'.repeat(40_000));
    const failure = sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input;
    expect(failure?.error).toHaveLength(256);
    expect(failure?.cause).toHaveLength(32_768);
    sfn.on(SendTaskHeartbeatCommand).rejects(new TaskTimedOut({ message: 'timed out', $metadata: {} }));
    await expect(callbacks.heartbeat('t3')).rejects.toThrow(TaskGoneError);
    sfn.restore();
  });
});

describe('ensureOnline', () => {
  const selection = (online: boolean[]) => ({
    runId: 'run-1',
    catalog: { description: 'x', pages: 1, items: online.length },
    chosen: {
      T1: online.map((o, i) => ({
        id: `P${9 - i}`,
        collection: 'c',
        tile: 'T1',
        datetime: `2023-01-0${i + 1}`,
        online: o,
      })),
    },
  });
  const run = async (online: boolean[]) => {
    const work = new MemoryBlobStore();
    await work.put('runs/run-1/selection.json', JSON.stringify(selection(online)));
    const out = await ensureOnline({ runId: 'run-1', jobKey: 'j' }, {
      work,
      log: silentLog,
    } as unknown as StepContext);
    return { out, work };
  };

  it('writes the offline products, sorted, as the orders JSONL and returns counts and its key', async () => {
    const { out, work } = await run([true, false, false]);
    expect(out).toEqual({ online: 1, offline: 2, ordersKey: 'runs/run-1/orders.jsonl' });
    const lines = Buffer.from((await work.get('runs/run-1/orders.jsonl'))!)
      .toString()
      .trim()
      .split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { runId: 'run-1', product: { id: 'P7', collection: 'c', tile: 'T1', datetime: '2023-01-03' } },
      { runId: 'run-1', product: { id: 'P8', collection: 'c', tile: 'T1', datetime: '2023-01-02' } },
    ]);
  });

  it('writes nothing when every product is online', async () => {
    const { out, work } = await run([true, true]);
    expect(out).toEqual({ online: 2, offline: 0, ordersKey: null });
    expect(await work.exists('runs/run-1/orders.jsonl')).toBe(false);
  });
});

describe('orderSettingsFromEnv', () => {
  it('reads the quota the stack sets, with defaults, and names a bad variable', () => {
    expect(orderSettingsFromEnv({})).toMatchObject({ policy: { minIntervalSeconds: 1800, maxInFlight: 1 } });
    expect(
      orderSettingsFromEnv({
        ORDER_INTERVAL_SECONDS: '60',
        MAX_ORDERS_IN_FLIGHT: '2',
        ORDER_POLL_SECONDS: '120',
      }),
    ).toMatchObject({ policy: { minIntervalSeconds: 60, maxInFlight: 2 }, pollSeconds: 120 });
    expect(() => orderSettingsFromEnv({ ORDER_POLL_SECONDS: '901' })).toThrow(InvalidInputError);
    expect(() => orderSettingsFromEnv({ MAX_ORDERS_IN_FLIGHT: 'one' })).toThrow(/MAX_ORDERS_IN_FLIGHT/);
  });
});
