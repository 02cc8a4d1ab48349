// The Step Functions adapter against a mocked client: a name that exists already is a success with
// the ARN Step Functions would give, the same upload event maps to the same name, and describe
// reports the state running now and the Map Run's item counts.
import 'aws-sdk-client-mock-vitest/extend';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ExecutionAlreadyExists,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { executionArnOf, latestState, SfnExecutions } from '../../../shared/adapters/aws/sfn-executions.ts';
import { executionNameFor, type UploadedObject } from '../../../shared/triggers/start-from-upload.ts';

const SM = 'arn:aws:states:eu-central-1:123456789012:stateMachine:Workflow1234';
const sfn = mockClient(SFNClient);
const executions = new SfnExecutions({
  client: new SFNClient({ region: 'eu-central-1' }),
  stateMachineArn: SM,
});

beforeEach(() => sfn.reset());

describe('SfnExecutions.start', () => {
  it('starts with the name and the JSON input', async () => {
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: executionArnOf(SM, 'run-1'), startDate: new Date() });
    const out = await executions.start('run-1', { runId: 'r', jobKey: 'runs/r/job.json' });
    expect(out).toEqual({ executionArn: executionArnOf(SM, 'run-1'), alreadyExisted: false });
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: SM,
      name: 'run-1',
      input: '{"runId":"r","jobKey":"runs/r/job.json"}',
    });
  });

  it('counts ExecutionAlreadyExists as started, with the existing execution ARN', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    const out = await executions.start('run-1', {});
    expect(out).toEqual({
      executionArn: 'arn:aws:states:eu-central-1:123456789012:execution:Workflow1234:run-1',
      alreadyExisted: true,
    });
  });

  it('rethrows other errors', async () => {
    sfn.on(StartExecutionCommand).rejects(new StateMachineDoesNotExist({ message: 'gone', $metadata: {} }));
    await expect(executions.start('run-1', {})).rejects.toThrow('gone');
  });

  it('derives the same name from the same event twice, and a new one from a new version', () => {
    const o: UploadedObject = {
      bucket: 'w',
      key: 'ground-truth/crops-2023/parcels.geojson',
      versionId: 'a.b_c',
    };
    const name = executionNameFor('crops-2023', o);
    expect(executionNameFor('crops-2023', { ...o })).toBe(name);
    expect(executionNameFor('crops-2023', { ...o, versionId: 'other' })).not.toBe(name);
    expect(name).toMatch(/^crops-2023-[0-9a-f]{20}$/);
    const unversioned = { bucket: 'w', key: o.key, etag: 'e1', sequencer: '00A1' };
    expect(executionNameFor('crops-2023', unversioned)).toBe(
      executionNameFor('crops-2023', { ...unversioned }),
    );
    expect(executionNameFor('crops-2023', { ...unversioned, sequencer: '00A2' })).not.toBe(
      executionNameFor('crops-2023', unversioned),
    );
    const long = executionNameFor('x'.repeat(200), o);
    expect(long.length).toBeLessThanOrEqual(80);
    expect(long).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});

describe('SfnExecutions.describe', () => {
  it('reports status, the running state and the Map Run counts', async () => {
    const arn = executionArnOf(SM, 'run-1');
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: arn,
      name: 'run-1',
      status: 'RUNNING',
      startDate: new Date('2026-01-01T00:00:00Z'),
      stateMachineArn: SM,
    });
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        {
          id: 9,
          type: 'MapRunStarted',
          timestamp: new Date(),
          mapRunStartedEventDetails: { mapRunArn: 'mr' },
        },
        {
          id: 8,
          type: 'MapStateEntered',
          timestamp: new Date(),
          stateEnteredEventDetails: { name: 'ExtractRegions' },
        },
        {
          id: 7,
          type: 'TaskStateExited',
          timestamp: new Date(),
          stateExitedEventDetails: { name: 'PlanWindows' },
        },
      ],
    });
    sfn.on(DescribeMapRunCommand).resolves({
      itemCounts: {
        total: 100,
        succeeded: 40,
        failed: 1,
        timedOut: 1,
        aborted: 0,
        running: 10,
        pending: 48,
        resultsWritten: 40,
      },
    });
    const status = await executions.describe(arn);
    expect(status).toMatchObject({
      status: 'RUNNING',
      state: { name: 'ExtractRegions', running: true },
      mapRun: { total: 100, succeeded: 40, failed: 2, running: 10 },
      error: null,
    });
    expect(sfn).toHaveReceivedCommandWith(GetExecutionHistoryCommand, {
      executionArn: arn,
      reverseOrder: true,
    });
  });

  it('takes the newest state event, entered or exited', () => {
    expect(latestState([])).toBeNull();
    expect(
      latestState([
        { id: 3, type: 'ExecutionFailed', timestamp: new Date() },
        {
          id: 2,
          type: 'TaskStateExited',
          timestamp: new Date(),
          stateExitedEventDetails: { name: 'Commit' },
        },
      ]),
    ).toEqual({ name: 'Commit', running: false });
  });
});
