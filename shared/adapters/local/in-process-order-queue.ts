// The LTA order queue on this machine: SQS semantics that the consumer relies on (delivery after
// DelaySeconds, redelivery after a visibility timeout when the consumer throws, a dead-letter after
// maxReceiveCount), timed on the injected Clock so that tests can run hours of quota in seconds.
import { InvalidInputError } from '../../domain/errors.ts';
import { MAX_DELAY_SECONDS } from '../../domain/quota-ledger.ts';
import type { Clock, Log, OrderQueue, OrderQueueMessage } from '../../ports.ts';
import { silentLog } from '../../ports.ts';

export type InProcessOrderQueueOptions = {
  readonly clock: Clock;
  /** Handles one message; a throw makes it visible again after visibilityTimeoutSeconds. */
  readonly consume: (message: OrderQueueMessage) => Promise<void>;
  readonly visibilityTimeoutSeconds?: number;
  readonly maxReceiveCount?: number;
  /** Called with a message received maxReceiveCount times without success. */
  readonly onDeadLetter?: (message: OrderQueueMessage, error: unknown) => void;
  readonly log?: Log;
};

const MAX_NAP_MS = 1000;

type Entry = { message: OrderQueueMessage; dueAt: number; receives: number; seq: number };

/**
 * Delivers one message at a time, earliest due first (FIFO among equals), like a Lambda consumer
 * with batch size 1 and reserved concurrency 1. While idle it sleeps on the clock until the next due.
 */
export class InProcessOrderQueue implements OrderQueue {
  readonly #options: InProcessOrderQueueOptions;
  readonly #entries: Entry[] = [];
  #seq = 0;
  #running: Promise<void> | undefined;
  #closed = false;
  /** Messages handled (received), for tests and logs. */
  received = 0;

  constructor(options: InProcessOrderQueueOptions) {
    this.#options = options;
  }

  async send(message: OrderQueueMessage, options: { delaySeconds?: number } = {}): Promise<void> {
    const delay = options.delaySeconds ?? 0;
    if (!Number.isInteger(delay) || delay < 0 || delay > MAX_DELAY_SECONDS) {
      // As SQS answers an out-of-range DelaySeconds: a bug of the sender, never retried.
      throw new InvalidInputError(`DelaySeconds must be an integer 0..${MAX_DELAY_SECONDS}, got ${delay}`, {
        delaySeconds: delay,
      });
    }
    // A copy, as SQS keeps the serialized body: the sender may not change what gets delivered.
    const body = JSON.parse(JSON.stringify(message)) as OrderQueueMessage;
    this.#entries.push({ message: body, dueAt: this.#now() + delay * 1000, receives: 0, seq: this.#seq++ });
    this.#running ??= this.#pump().finally(() => {
      this.#running = undefined;
    });
  }

  /** Messages waiting (delayed or in their visibility timeout). */
  get size(): number {
    return this.#entries.length;
  }

  /** Resolves once no message is waiting and none is being handled. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Stops delivering; waiting messages are dropped (the run that needed them is over). */
  close(): void {
    this.#closed = true;
    this.#entries.length = 0;
  }

  #now(): number {
    return this.#options.clock.now().getTime();
  }

  async #pump(): Promise<void> {
    const { clock, consume } = this.#options;
    const log = this.#options.log ?? silentLog;
    while (!this.#closed && this.#entries.length > 0) {
      this.#entries.sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq);
      const entry = this.#entries[0] as Entry;
      const wait = entry.dueAt - this.#now();
      if (wait > 0) {
        // Short naps: a message sent meanwhile may be due sooner, and close() takes effect soon.
        await clock.sleep(Math.min(wait, MAX_NAP_MS));
        continue;
      }
      this.#entries.shift();
      entry.receives += 1;
      this.received += 1;
      try {
        await consume(entry.message);
      } catch (error) {
        const max = this.#options.maxReceiveCount ?? 5;
        if (entry.receives >= max) {
          log.error('order message moved to the dead-letter queue', { receives: entry.receives });
          this.#options.onDeadLetter?.(entry.message, error);
        } else {
          const visibility = (this.#options.visibilityTimeoutSeconds ?? 60) * 1000;
          this.#entries.push({ ...entry, dueAt: this.#now() + visibility, seq: this.#seq++ });
        }
      }
    }
  }
}
