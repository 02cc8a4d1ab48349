// `.waitForTaskToken` on the local runtime: the state's handler gets its Parameters with a real token
// in place of $$.Task.Token, and the state ends with whatever answers the token: success output,
// failure error (caught like any Task error), and nothing may answer once the run is over.
import { describe, expect, it } from 'vitest';
import { TaskGoneError } from '../../../shared/domain/lta.ts';
import { type Asl, runLocalWorkflow } from '../../../shared/runtime/local-runtime.ts';
import { LocalTaskTokens } from '../../../shared/runtime/task-tokens.ts';
import { MemoryBlobStore } from '../../helpers/memory-blob-store.ts';

const asl = (): Asl => ({
  StartAt: 'Ask',
  States: {
    Ask: {
      Type: 'Task',
      Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
      HeartbeatSeconds: 60,
      Parameters: {
        QueueUrl: 'https://sqs.local.amazonaws.com/000000000000/q',
        MessageBody: { 'taskToken.$': '$$.Task.Token', 'what.$': '$.what' },
      },
      ResultPath: '$.answer',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Caught' }],
      End: true,
    },
    Caught: { Type: 'Pass', End: true },
  },
});

type Sent = { QueueUrl: string; MessageBody: { taskToken: string; what: string } };

describe('local .waitForTaskToken', () => {
  it('hands the message with its token to the handler and ends with the success output', async () => {
    const tokens = new LocalTaskTokens();
    const sent: Sent[] = [];
    const output = await runLocalWorkflow({
      asl: asl(),
      input: { what: 'P1' },
      workStore: new MemoryBlobStore(),
      taskTokens: tokens,
      handlers: {
        Ask: async (event) => {
          const message = event as Sent;
          sent.push(message);
          // Answered later, by someone else, as the SQS consumer does.
          setTimeout(() => void tokens.success(message.MessageBody.taskToken, { online: true }), 5);
          return null;
        },
      },
    });
    expect(sent[0]?.MessageBody.what).toBe('P1');
    expect(sent[0]?.MessageBody.taskToken).toMatch(/^local-task-/);
    expect(output).toEqual({ what: 'P1', answer: { online: true } });
    // The run is over: its token is no longer waited on.
    await expect(tokens.heartbeat(sent[0]!.MessageBody.taskToken)).rejects.toThrow(TaskGoneError);
  });

  it('fails the state with the error the token was failed with, for Catch to handle', async () => {
    const tokens = new LocalTaskTokens();
    const output = await runLocalWorkflow({
      asl: asl(),
      input: { what: 'P2' },
      workStore: new MemoryBlobStore(),
      taskTokens: tokens,
      handlers: {
        Ask: async (event) => {
          await tokens.failure((event as Sent).MessageBody.taskToken, 'OrderRejectedError', 'refused');
          return null;
        },
      },
    });
    expect(output).toEqual({ what: 'P2', error: { Error: 'OrderRejectedError', Cause: 'refused' } });
  });

  it('needs no handler unless the state is entered, and says which one is missing when it is', async () => {
    const output = await runLocalWorkflow({
      asl: asl(),
      input: { what: 'P3' },
      workStore: new MemoryBlobStore(),
      handlers: {},
    });
    expect(output).toMatchObject({
      error: { Cause: expect.stringMatching(/no local handler for the callback Task Ask/) },
    });
  });
});
