// The LTA order consumer on Lambda: SQS event (batch size 1) in, partial batch failures out. Ports
// are built once per container: the S3 work bucket, SQS for re-sends, Step Functions for the task
// tokens, CDSE with credentials from Secrets Manager ({"username", "password"}).
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { describeError, InvalidInputError } from '../../domain/errors.ts';
import { type ArchiveOrders, type Log, systemClock } from '../../ports.ts';
import { type OrderPorts, orderProduct } from '../../steps/order-product.ts';
import { AccessCheckedStore } from '../../work/access-checked-store.ts';
import { OrderMessageSchema, OrderStateNames } from '../../workflow/contracts.ts';
import { Tasks, workPatterns } from '../../workflow/tasks.ts';
import { blobStoreForUri } from '../blob-store-for-uri.ts';
import { CdseArchive, type CdseCredentials } from '../cdse-archive.ts';
import { orderSettingsFromEnv } from '../order-settings.ts';
import { requireEnv } from './lambda-handler.ts';
import { createPowertools } from './powertools.ts';
import { SfnTaskCallbacks } from './sfn-task-callbacks.ts';
import { SqsOrderQueue } from './sqs-order-queue.ts';

export type SqsRecord = { readonly messageId: string; readonly body: string };
export type SqsEvent = { readonly Records: readonly SqsRecord[] };
export type SqsBatchResponse = { batchItemFailures: Array<{ itemIdentifier: string }> };

/** Handles each record; a record that throws is reported, so SQS redelivers only it (then the DLQ). */
export async function consumeOrders(event: SqsEvent, ports: OrderPorts): Promise<SqsBatchResponse> {
  const failures: SqsBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      const parsed = OrderMessageSchema.safeParse(JSON.parse(record.body));
      if (!parsed.success) {
        throw new InvalidInputError(
          `order message ${record.messageId} is malformed: ${parsed.error.message}`,
        );
      }
      const outcome = await orderProduct(parsed.data, ports);
      ports.log.info('order message handled', {
        messageId: record.messageId,
        productId: parsed.data.product.id,
        outcome,
      });
    } catch (error) {
      ports.log.error('order message failed', { messageId: record.messageId, error: describeError(error) });
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
}

let ports: Promise<OrderPorts> | undefined;

export function orderConsumerPorts(env: NodeJS.ProcessEnv = process.env): Promise<OrderPorts> {
  ports ??= buildPorts(env).catch((error: unknown) => {
    ports = undefined; // a failed cold start must not poison the container
    throw error;
  });
  return ports;
}

async function buildPorts(env: NodeJS.ProcessEnv): Promise<OrderPorts> {
  const log = createPowertools('OrderConsumer', env).log;
  const settings = orderSettingsFromEnv(env);
  const credentials = await cdseCredentials(requireEnv('CDSE_SECRET_NAME', env));
  const workflowName = env['CDSE_ORDER_WORKFLOW'];
  const archive: ArchiveOrders = new CdseArchive({
    credentials,
    clock: systemClock,
    log,
    ...(workflowName ? { workflowName } : {}),
  });
  return {
    // The ledger files of the OrderProduct task table entry, and nothing else.
    work: new AccessCheckedStore(
      blobStoreForUri(`s3://${requireEnv('WORK_BUCKET', env)}`),
      workPatterns(Tasks[OrderStateNames.orderProduct].access),
      OrderStateNames.orderProduct,
    ),
    archive,
    queue: new SqsOrderQueue({ client: new SQSClient({}), queueUrl: requireEnv('ORDER_QUEUE_URL', env) }),
    callbacks: new SfnTaskCallbacks({ client: new SFNClient({}) }),
    clock: systemClock,
    log: log satisfies Log,
    ...settings,
  };
}

async function cdseCredentials(secretName: string): Promise<CdseCredentials> {
  const secret = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: secretName }));
  let value: unknown;
  try {
    value = JSON.parse(secret.SecretString ?? '');
  } catch {
    value = undefined;
  }
  const { username, password } = (value ?? {}) as Partial<CdseCredentials>;
  if (typeof username !== 'string' || typeof password !== 'string') {
    throw new InvalidInputError(`secret ${secretName} must be JSON {"username": ..., "password": ...}`, {
      source: secretName,
    });
  }
  return { username, password };
}
