// Answers `.waitForTaskToken` states through the Step Functions API. A token whose state is over
// (timed out, execution stopped) becomes TaskGoneError, so the consumer drops its message.
import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { TaskGoneError } from '../../domain/lta.ts';
import type { TaskCallbacks } from '../../ports.ts';

/** SendTaskFailure limits: error 256 characters, cause 32,768. */
const MAX_ERROR = 256;
const MAX_CAUSE = 32_768;
const GONE = new Set(['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist']);

export class SfnTaskCallbacks implements TaskCallbacks {
  readonly #client: SFNClient;

  constructor(options: { client: SFNClient }) {
    this.#client = options.client;
  }

  async success(token: string, output: unknown): Promise<void> {
    await this.#call(() =>
      this.#client.send(
        new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output ?? null) }),
      ),
    );
  }

  async failure(token: string, error: string, cause: string): Promise<void> {
    await this.#call(() =>
      this.#client.send(
        new SendTaskFailureCommand({
          taskToken: token,
          error: error.slice(0, MAX_ERROR),
          cause: cause.slice(0, MAX_CAUSE),
        }),
      ),
    );
  }

  async heartbeat(token: string): Promise<void> {
    await this.#call(() => this.#client.send(new SendTaskHeartbeatCommand({ taskToken: token })));
  }

  async #call(send: () => Promise<unknown>): Promise<void> {
    try {
      await send();
    } catch (error) {
      if (error instanceof Error && GONE.has(error.name)) {
        throw new TaskGoneError(
          `Step Functions no longer waits on this task token (${error.name})`,
          {},
          {
            cause: error,
          },
        );
      }
      throw error;
    }
  }
}
