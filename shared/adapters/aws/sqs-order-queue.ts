// The LTA order queue on SQS: one SendMessage per order message, delayed up to 900 s.
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { MAX_DELAY_SECONDS } from '../../domain/quota-ledger.ts';
import type { OrderQueue, OrderQueueMessage } from '../../ports.ts';

export class SqsOrderQueue implements OrderQueue {
  readonly #client: SQSClient;
  readonly queueUrl: string;

  constructor(options: { client: SQSClient; queueUrl: string }) {
    this.#client = options.client;
    this.queueUrl = options.queueUrl;
  }

  async send(message: OrderQueueMessage, options: { delaySeconds?: number } = {}): Promise<void> {
    const delay = options.delaySeconds ?? 0;
    if (!Number.isInteger(delay) || delay < 0 || delay > MAX_DELAY_SECONDS) {
      // SQS would refuse it too, but only after a round trip and with a vaguer message.
      throw new RangeError(`DelaySeconds must be an integer 0..${MAX_DELAY_SECONDS}, got ${delay}`);
    }
    await this.#client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(message),
        DelaySeconds: delay,
      }),
    );
  }
}
