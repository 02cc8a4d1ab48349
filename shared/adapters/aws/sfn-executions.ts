// Executions over Step Functions: StartExecution (a name that exists already counts as started, so a
// duplicate event or a second `satfactory start` starts nothing new), DescribeExecution, and the
// newest history events for the state running now and the Distributed Map's item counts.
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { InvalidInputError } from '../../domain/errors.ts';
import type { ExecutionStatus, Executions } from '../../ports.ts';

export type SfnExecutionsOptions = { client: SFNClient; stateMachineArn: string };

const STATE_MACHINE_ARN = /^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):stateMachine:([A-Za-z0-9_-]+)$/;

/** Region of a state machine or execution ARN, so the client talks to where the stack lives. */
export function regionOfArn(arn: string): string | undefined {
  return arn.split(':')[3] || undefined;
}

/** The ARN Step Functions gives execution `name` of a state machine (known without asking it). */
export function executionArnOf(stateMachineArn: string, name: string): string {
  const m = STATE_MACHINE_ARN.exec(stateMachineArn);
  if (!m) {
    throw new InvalidInputError(`"${stateMachineArn}" is not a state machine ARN`, {
      source: stateMachineArn,
    });
  }
  return `arn:${m[1]}:states:${m[2]}:${m[3]}:execution:${m[4]}:${name}`;
}

export function sfnExecutions(stateMachineArn: string, client?: SFNClient): SfnExecutions {
  const region = regionOfArn(stateMachineArn);
  return new SfnExecutions({
    client: client ?? new SFNClient(region ? { region } : {}),
    stateMachineArn,
  });
}

export class SfnExecutions implements Executions {
  private readonly client: SFNClient;
  readonly stateMachineArn: string;

  constructor(options: SfnExecutionsOptions) {
    this.client = options.client;
    this.stateMachineArn = options.stateMachineArn;
  }

  async start(name: string, input: unknown): Promise<{ executionArn: string; alreadyExisted: boolean }> {
    try {
      const out = await this.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name,
          input: JSON.stringify(input),
        }),
      );
      // An open execution of the same name and input answers with its ARN (idempotent start).
      return {
        executionArn: out.executionArn ?? executionArnOf(this.stateMachineArn, name),
        alreadyExisted: false,
      };
    } catch (error) {
      if ((error as { name?: unknown } | null)?.name !== 'ExecutionAlreadyExists') throw error;
      return { executionArn: executionArnOf(this.stateMachineArn, name), alreadyExisted: true };
    }
  }

  async describe(executionArn: string): Promise<ExecutionStatus> {
    const [execution, history] = await Promise.all([
      this.client.send(new DescribeExecutionCommand({ executionArn })),
      // Newest first: the current state and the latest Map Run are among the last events.
      this.client.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 100 })),
    ]);
    const events = history.events ?? [];
    const mapRunArn = events.find((e) => e.mapRunStartedEventDetails?.mapRunArn)?.mapRunStartedEventDetails
      ?.mapRunArn;
    let mapRun: ExecutionStatus['mapRun'] = null;
    if (mapRunArn) {
      const counts = (await this.client.send(new DescribeMapRunCommand({ mapRunArn }))).itemCounts;
      if (counts) {
        mapRun = {
          total: counts.total ?? 0,
          succeeded: counts.succeeded ?? 0,
          failed: (counts.failed ?? 0) + (counts.timedOut ?? 0) + (counts.aborted ?? 0),
          running: counts.running ?? 0,
        };
      }
    }
    return {
      executionArn,
      name: execution.name ?? executionArn.split(':').pop() ?? '',
      status: execution.status ?? 'UNKNOWN',
      startedAt: execution.startDate ?? null,
      stoppedAt: execution.stopDate ?? null,
      state: latestState(events),
      mapRun,
      error: execution.error ?? null,
      cause: execution.cause ?? null,
      output: execution.output ?? null,
    };
  }
}

/** The newest state entered or exited, from events ordered newest first. */
export function latestState(eventsNewestFirst: readonly HistoryEvent[]): ExecutionStatus['state'] {
  for (const event of eventsNewestFirst) {
    const entered = event.stateEnteredEventDetails?.name;
    if (entered) return { name: entered, running: true };
    const exited = event.stateExitedEventDetails?.name;
    if (exited) return { name: exited, running: false };
  }
  return null;
}
