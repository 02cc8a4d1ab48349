// The LTA order throttle on this machine: the OrderProduct state's SQS message goes to an in-process
// queue whose consumer runs the same order-product step (same ledger, same quota) and answers the
// local runtime's task tokens. Built only when a run has offline products.

import { InProcessOrderQueue } from '../adapters/local/in-process-order-queue.ts';
import type { OrderSettings } from '../adapters/order-settings.ts';
import { describeError, InvalidInputError } from '../domain/errors.ts';
import { quotaPolicy } from '../domain/quota-ledger.ts';
import type { ArchiveOrders, BlobStore, Clock, Log, OrderQueueMessage } from '../ports.ts';
import {
  DEFAULT_LEASE_SECONDS,
  DEFAULT_POLL_SECONDS,
  type OrderPorts,
  orderProduct,
} from '../steps/order-product.ts';
import { OrderMessageSchema } from '../workflow/contracts.ts';
import type { TaskHandler } from './local-runtime.ts';
import { LocalTaskTokens } from './task-tokens.ts';

export type LocalOrdersOptions = {
  /** Undefined: a run that reaches OrderProduct fails and says how to configure one. */
  readonly archive: ArchiveOrders | undefined;
  readonly work: BlobStore;
  readonly clock: Clock;
  readonly log: Log;
  readonly settings?: Partial<OrderSettings>;
  /** Like the SQS queue's: a consumer that throws sees its message again after this long. */
  readonly visibilityTimeoutSeconds?: number;
  readonly maxReceiveCount?: number;
  /** Wraps each delivery (tests inject crashes here). */
  readonly wrapConsume?: (
    consume: (message: OrderQueueMessage) => Promise<void>,
  ) => (message: OrderQueueMessage) => Promise<void>;
};

export type LocalOrders = {
  readonly tokens: LocalTaskTokens;
  /** The handler of the OrderProduct state: receives {QueueUrl, MessageBody} and enqueues the body. */
  readonly handler: TaskHandler;
  readonly queue: InProcessOrderQueue;
  /** Stops the queue (the run is over) and waits for a delivery in progress. */
  close(): Promise<void>;
};

/** Offline products, and nothing to order them from. */
export function offlineWithoutArchive(count?: number): InvalidInputError {
  return new InvalidInputError(
    `${count ?? 'some'} selected product(s) are offline (long-term archive): set CDSE_USERNAME and CDSE_PASSWORD to order them from CDSE, or choose an online catalog such as Earth Search`,
  );
}

export function createLocalOrders(options: LocalOrdersOptions): LocalOrders {
  const tokens = new LocalTaskTokens();
  const { archive, log } = options;
  let ports: OrderPorts | undefined;
  const consume = async (raw: OrderQueueMessage): Promise<void> => {
    const message = OrderMessageSchema.parse(raw);
    if (!ports) throw new Error('the order consumer has no ports');
    await orderProduct(message, ports);
  };
  const queue = new InProcessOrderQueue({
    clock: options.clock,
    consume: options.wrapConsume ? options.wrapConsume(consume) : consume,
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 60,
    maxReceiveCount: options.maxReceiveCount ?? 5,
    log,
    // Where AWS would leave the state to its heartbeat timeout, fail it at once.
    onDeadLetter: (raw, error) => {
      const parsed = OrderMessageSchema.safeParse(raw);
      if (!parsed.success) return;
      tokens
        .failure(
          parsed.data.taskToken,
          'OrderDeadLetterError',
          `the order of ${parsed.data.product.id} failed too often: ${describeError(error)}`,
        )
        .catch(() => {});
    },
  });
  if (archive) {
    ports = {
      work: options.work,
      archive,
      queue,
      callbacks: tokens,
      clock: options.clock,
      log,
      policy: options.settings?.policy ?? quotaPolicy(),
      pollSeconds: options.settings?.pollSeconds ?? DEFAULT_POLL_SECONDS,
      leaseSeconds: options.settings?.leaseSeconds ?? DEFAULT_LEASE_SECONDS,
    };
  }
  const handler: TaskHandler = async (event) => {
    const body = (event as { MessageBody?: OrderQueueMessage }).MessageBody;
    if (!archive) throw offlineWithoutArchive();
    if (!body) throw new Error('OrderProduct sent no MessageBody');
    await queue.send(body);
  };
  return {
    tokens,
    handler,
    queue,
    close: async () => {
      queue.close();
      await queue.idle();
    },
  };
}
