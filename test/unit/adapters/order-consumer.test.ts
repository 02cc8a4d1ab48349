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
import type { OrderPorts } from '../../../shared/steps/order-product.ts';
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
