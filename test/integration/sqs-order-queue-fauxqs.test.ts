// The SQS order queue against a real SQS emulator (fauxqs, in-process on 127.0.0.1): a message sent
// with DelaySeconds stays invisible until the delay has passed, and a queue with a redrive policy
// moves a message that keeps failing to its dead-letter queue after maxReceiveCount receives.
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsOrderQueue } from '../../shared/adapters/aws/sqs-order-queue.ts';
import { FAUXQS_CLIENT, type FauxqsServer, startFauxqsForTests } from '../helpers/fauxqs-server.ts';

let server: FauxqsServer | undefined;
let skipReason = '';

beforeAll(async () => {
  ({ server, skipReason } = await startFauxqsForTests('SQS integration tests'));
});
afterAll(async () => {
  await server?.stop();
});

function client(): SQSClient {
  return new SQSClient({
    endpoint: server!.address,
    ...FAUXQS_CLIENT,
  });
}

async function receive(sqs: SQSClient, queueUrl: string) {
  const out = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
  );
  return out.Messages ?? [];
}

const message = {
  taskToken: 'token-1',
  runId: 'run-1',
  product: { id: 'S2B_OFF1', collection: 'sentinel-2-l2a', tile: '31TCJ', datetime: '2023-06-01T10:00:00Z' },
};

describe('SqsOrderQueue on fauxqs', () => {
  it('sends the order as JSON, invisible until its DelaySeconds have passed', async (ctx) => {
    if (!server) return ctx.skip(skipReason);
    const sqs = client();
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'orders-delay' }));
    const queue = new SqsOrderQueue({ client: sqs, queueUrl: QueueUrl! });

    await queue.send(message, { delaySeconds: 2 });
    const sentAt = Date.now();
    expect(await receive(sqs, QueueUrl!)).toEqual([]);
    let received: Awaited<ReturnType<typeof receive>> = [];
    while (received.length === 0 && Date.now() - sentAt < 20_000) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      received = await receive(sqs, QueueUrl!);
    }
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1900);
    expect(received).toHaveLength(1);
    expect(JSON.parse(received[0]!.Body!)).toEqual(message);
  });

  it('refuses a delay SQS would refuse, before any request', async (ctx) => {
    if (!server) return ctx.skip(skipReason);
    const queue = new SqsOrderQueue({ client: client(), queueUrl: 'http://unused' });
    await expect(queue.send(message, { delaySeconds: 901 })).rejects.toThrow(RangeError);
    await expect(queue.send(message, { delaySeconds: 1.5 })).rejects.toThrow(RangeError);
  });

  it('moves a message received maxReceiveCount times to the dead-letter queue', async (ctx) => {
    if (!server) return ctx.skip(skipReason);
    const sqs = client();
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: 'orders-dlq' }));
    const dlqArn = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl!, AttributeNames: ['QueueArn'] }))
    ).Attributes?.QueueArn;
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: 'orders-redrive',
        Attributes: {
          VisibilityTimeout: '1',
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: '2' }),
        },
      }),
    );
    await new SqsOrderQueue({ client: sqs, queueUrl: QueueUrl! }).send(message);

    // A consumer that keeps failing: it receives and never deletes, twice.
    for (let receipt = 1; receipt <= 2; receipt++) {
      let got: Awaited<ReturnType<typeof receive>> = [];
      const started = Date.now();
      while (got.length === 0 && Date.now() - started < 20_000) {
        got = await receive(sqs, QueueUrl!);
        if (got.length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(got, `receive ${receipt}`).toHaveLength(1);
    }
    // After the visibility timeout the third receive finds it gone to the DLQ.
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect(await receive(sqs, QueueUrl!)).toEqual([]);
    const dead = await receive(sqs, dlq.QueueUrl!);
    expect(dead).toHaveLength(1);
    expect(JSON.parse(dead[0]!.Body!)).toEqual(message);
  });
});
