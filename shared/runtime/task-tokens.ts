// Task tokens on this machine: what Step Functions does for a `.waitForTaskToken` state. The runtime
// issues a token per state entry and waits; SendTaskSuccess/Failure/Heartbeat arrive through
// TaskCallbacks, so the order consumer answers the local runtime exactly as it answers AWS.
import { randomUUID } from 'node:crypto';
import { SatfactoryError } from '../domain/errors.ts';
import { TaskGoneError } from '../domain/lta.ts';
import type { TaskCallbacks } from '../ports.ts';

/**
 * A task answered with SendTaskFailure. Its `name` is the error given there (e.g. OrderRejectedError),
 * deliberately not 'TaskFailedError': the state fails with that error, and Retry/Catch match on it,
 * exactly as on AWS. Match the class with instanceof; `error` repeats the name.
 */
export class TaskFailedError extends SatfactoryError {
  override readonly name: string;
  readonly error: string;
  constructor(error: string, cause: string) {
    super(cause, { error });
    this.name = error;
    this.error = error;
  }
}

type Waiter = { resolve: (output: unknown) => void; reject: (error: Error) => void; heartbeats: number };

export class LocalTaskTokens implements TaskCallbacks {
  readonly #waiting = new Map<string, Waiter>();

  /** A fresh token and the promise that settles when the token is answered. */
  issue(): { token: string; result: Promise<unknown> } {
    const token = `local-task-${randomUUID()}`;
    const result = new Promise<unknown>((resolve, reject) => {
      this.#waiting.set(token, { resolve, reject, heartbeats: 0 });
    });
    return { token, result };
  }

  get waiting(): number {
    return this.#waiting.size;
  }

  async success(token: string, output: unknown): Promise<void> {
    const waiter = this.#take(token);
    // As over the wire: JSON only.
    waiter.resolve(output === undefined ? null : JSON.parse(JSON.stringify(output)));
  }

  async failure(token: string, error: string, cause: string): Promise<void> {
    this.#take(token).reject(new TaskFailedError(error, cause));
  }

  async heartbeat(token: string): Promise<void> {
    const waiter = this.#waiting.get(token);
    if (!waiter) throw new TaskGoneError('the task token is not waited on (its state ended)', { token });
    waiter.heartbeats += 1;
  }

  /** Ends every wait, as the end of an execution does: later answers get TaskGoneError. */
  cancelAll(reason: Error): void {
    for (const [token, waiter] of this.#waiting) {
      this.#waiting.delete(token);
      waiter.reject(reason);
    }
  }

  #take(token: string): Waiter {
    const waiter = this.#waiting.get(token);
    if (!waiter) throw new TaskGoneError('the task token is not waited on (its state ended)', { token });
    this.#waiting.delete(token);
    return waiter;
  }
}
