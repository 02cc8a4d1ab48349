// `satfactory start` / `status` against a mocked Step Functions client (the real adapter over
// aws-sdk-client-mock) and an in-memory work bucket: argument handling, what is uploaded and stored,
// the follow loop's lines and exit codes.
import 'aws-sdk-client-mock-vitest/extend';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { executionArnOf, SfnExecutions } from '../../../shared/adapters/aws/sfn-executions.ts';
import { readStackOutputs } from '../../../shared/cli/cdk-outputs.ts';
import { main } from '../../../shared/cli/main.ts';
import { type AwsCliDeps, executionNameOfRun, startCommand } from '../../../shared/cli/start-command.ts';
import { DEFAULT_MIN_SHARDS_PER_SPLIT, DEFAULT_SHARD_BYTES } from '../../../shared/domain/job-spec.ts';
import { silentLog } from '../../../shared/ports.ts';
import { ExecutionInputSchema } from '../../../shared/workflow/contracts.ts';
import { MemoryBlobStore } from '../../helpers/memory-blob-store.ts';

const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Workflow';
const sfn = mockClient(SFNClient);
let dir: string;
let work: MemoryBlobStore;
let lines: string[];
let sleeps: number;
let deps: AwsCliDeps;

beforeEach(async () => {
  sfn.reset();
  dir = await mkdtemp(path.join(os.tmpdir(), 'satfactory-start-'));
  await writeFile(
    path.join(dir, 'cdk-outputs.json'),
    JSON.stringify({
      'Satfactory-dev': { WorkBucketName: 'work-b', DatasetsBucketName: 'datasets-b', StateMachineArn: SM },
    }),
  );
  await writeFile(path.join(dir, 'parcels.geojson'), '{"type":"FeatureCollection","features":[]}');
  await writeFile(path.join(dir, 'parcels.prj'), 'GEOGCS');
  await writeFile(path.join(dir, 'other.txt'), 'not uploaded');
  await writeFile(
    path.join(dir, 'job.json'),
    JSON.stringify({
      name: 'crops',
      catalog: { kind: 'stac', url: 'https://example.com/v1', collection: 's2' },
      aoi: {
        type: 'Polygon',
        coordinates: [
          [
            [15, 45],
            [15.1, 45],
            [15.1, 45.1],
            [15, 45],
          ],
        ],
      },
      period: { start: '2023-01-01', end: '2023-12-31' },
      bands: ['red'],
      windows: { size: 24 },
      labels: { source: 'parcels.geojson', classProperty: 'crop' },
      output: { uri: './datasets/crops' },
    }),
  );
  work = new MemoryBlobStore('s3://work-b');
  lines = [];
  sleeps = 0;
  deps = {
    openStore: () => work,
    executions: (arn) =>
      new SfnExecutions({ client: new SFNClient({ region: 'eu-west-1' }), stateMachineArn: arn }),
    clock: {
      now: () => new Date(0),
      sleep: async () => {
        sleeps++;
      },
    },
    out: (line) => lines.push(line),
  };
});

function history(state: string, entered = true): { events: HistoryEvent[] } {
  return {
    events: [
      {
        id: 1,
        type: entered ? 'TaskStateEntered' : 'TaskStateExited',
        timestamp: new Date(),
        ...(entered
          ? { stateEnteredEventDetails: { name: state } }
          : { stateExitedEventDetails: { name: state } }),
      },
    ],
  };
}

describe('satfactory start', () => {
  it('uploads the labels, stores the job, starts under the run id and follows to success', async () => {
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({
      executionArn: executionArnOf(SM, input.name),
      startDate: new Date(),
    }));
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({ status: 'RUNNING', startDate: new Date(), stateMachineArn: SM, executionArn: 'x' })
      .resolvesOnce({ status: 'RUNNING', startDate: new Date(), stateMachineArn: SM, executionArn: 'x' })
      .resolvesOnce({ status: 'RUNNING', startDate: new Date(), stateMachineArn: SM, executionArn: 'x' })
      .resolves({
        status: 'SUCCEEDED',
        startDate: new Date(),
        stateMachineArn: SM,
        executionArn: 'x',
        output: JSON.stringify({ commit: { samples: 12, shards: 3, rejected: 1 } }),
      });
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce(history('Plan'))
      .resolvesOnce(history('Plan'))
      .resolvesOnce(history('PlanWindows'))
      .resolves(history('Commit', false));

    const code = await startCommand(
      path.join(dir, 'job.json'),
      { outputs: path.join(dir, 'cdk-outputs.json'), detach: false, pollMs: 1 },
      deps,
    );
    expect(code).toBe(0);

    const call = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    const input = ExecutionInputSchema.strict().parse(JSON.parse(call?.input ?? 'null'));
    expect(call?.name).toBe(executionNameOfRun(input.runId));
    expect(call?.stateMachineArn).toBe(SM);
    const stored = JSON.parse(Buffer.from((await work.get(input.jobKey)) ?? []).toString());
    expect(stored.output).toEqual({
      uri: 's3://datasets-b/crops',
      shardBytes: DEFAULT_SHARD_BYTES,
      minShardsPerSplit: DEFAULT_MIN_SHARDS_PER_SPLIT,
    });
    expect(stored.labels.source).toMatch(/^s3:\/\/work-b\/inputs\/crops\/[0-9a-f]{16}\/parcels\.geojson$/);
    const uploaded = (await work.list('inputs/')).map((k) => path.basename(k));
    expect(uploaded).toEqual(['parcels.geojson', 'parcels.prj']);

    expect(lines.filter((l) => /^(RUNNING|SUCCEEDED)/.test(l))).toEqual([
      'RUNNING in Plan',
      'RUNNING in PlanWindows',
      'SUCCEEDED after Commit',
    ]);
    expect(lines).toContain('12 samples in 3 shard(s), 1 rejected');
    expect(sleeps).toBe(3);
  });

  it('exits 1 with the error and the cause message when the run fails', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: executionArnOf(SM, 'r'), startDate: new Date() });
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'FAILED',
      startDate: new Date(),
      stateMachineArn: SM,
      executionArn: 'x',
      error: 'NothingToDoError',
      cause: JSON.stringify({
        errorType: 'NothingToDoError',
        errorMessage: 'no product selected',
        trace: [],
      }),
    });
    sfn.on(GetExecutionHistoryCommand).resolves(history('Failed'));
    const code = await main(
      [
        'start',
        path.join(dir, 'job.json'),
        '--outputs',
        path.join(dir, 'cdk-outputs.json'),
        '--poll',
        '0.001',
      ],
      silentLog,
      deps,
    );
    expect(code).toBe(1);
    expect(lines).toContain('error      NothingToDoError');
    expect(lines).toContain('cause      no product selected');
    expect(lines.some((l) => l.startsWith('resume     aws stepfunctions redrive-execution'))).toBe(true);
  });

  it('with --detach returns once started; a second start of the same job has the same name', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: executionArnOf(SM, 'r'), startDate: new Date() });
    const argv = [
      'start',
      path.join(dir, 'job.json'),
      '--outputs',
      path.join(dir, 'cdk-outputs.json'),
      '--detach',
    ];
    expect(await main(argv, silentLog, deps)).toBe(0);
    expect(await main(argv, silentLog, deps)).toBe(0);
    const names = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name);
    expect(names[0]).toBe(names[1]);
    expect(sfn).not.toHaveReceivedCommand(DescribeExecutionCommand);
  });

  it('uploads a local class table file too and points the stored job at it', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: executionArnOf(SM, 'r'), startDate: new Date() });
    const job = JSON.parse(await readFile(path.join(dir, 'job.json'), 'utf8'));
    job.labels.classes = { table: 'tables/classes.csv', background: 'ignore' };
    await writeFile(path.join(dir, 'job.json'), JSON.stringify(job));
    await mkdir(path.join(dir, 'tables'));
    await writeFile(path.join(dir, 'tables/classes.csv'), 'value,id,name\nwheat,1,Wheat\n');
    const code = await startCommand(
      path.join(dir, 'job.json'),
      { outputs: path.join(dir, 'cdk-outputs.json'), detach: true, pollMs: 1 },
      deps,
    );
    expect(code).toBe(0);
    const input = ExecutionInputSchema.strict().parse(
      JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? 'null'),
    );
    const stored = JSON.parse(Buffer.from((await work.get(input.jobKey)) ?? []).toString());
    const table = stored.labels.classes.table as string;
    expect(table).toMatch(/^s3:\/\/work-b\/inputs\/crops\/[0-9a-f]{16}\/classes\.csv$/);
    const key = table.slice('s3://work-b/'.length);
    expect(Buffer.from((await work.get(key)) ?? []).toString()).toBe('value,id,name\nwheat,1,Wheat\n');
  });

  it('refuses bad arguments with exit code 2', async () => {
    expect(await main(['start'], silentLog, deps)).toBe(2);
    expect(
      await main(
        ['start', path.join(dir, 'job.json'), '--outputs', path.join(dir, 'none.json')],
        silentLog,
        deps,
      ),
    ).toBe(2);
    expect(
      await main(
        ['start', path.join(dir, 'job.json'), '--outputs', path.join(dir, 'cdk-outputs.json'), '--poll', 'x'],
        silentLog,
        deps,
      ),
    ).toBe(2);
    expect(
      await main(
        [
          'start',
          path.join(dir, 'job.json'),
          '--outputs',
          path.join(dir, 'cdk-outputs.json'),
          '--stack',
          'Nope',
        ],
        silentLog,
        deps,
      ),
    ).toBe(2);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });
});

describe('readStackOutputs', () => {
  it('needs --stack when the file holds several stacks, and names a missing output', async () => {
    const file = path.join(dir, 'two.json');
    await writeFile(
      file,
      JSON.stringify({
        A: { WorkBucketName: 'w', DatasetsBucketName: 'd', StateMachineArn: SM },
        B: { WorkBucketName: 'w' },
      }),
    );
    await expect(readStackOutputs(file)).rejects.toThrow(/2 stacks \(A, B\): name one with --stack/);
    expect((await readStackOutputs(file, 'A')).stateMachineArn).toBe(SM);
    await expect(readStackOutputs(file, 'B')).rejects.toThrow(/no output DatasetsBucketName/);
  });
});

describe('satfactory status', () => {
  it('describes an execution ARN, or the execution of a run id, with exit 1 for a failed run', async () => {
    const arn = executionArnOf(SM, 'crops-0123456789ab');
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'RUNNING',
      startDate: new Date('2026-01-01T00:00:00Z'),
      stateMachineArn: SM,
      executionArn: arn,
    });
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        {
          id: 2,
          type: 'MapRunStarted',
          timestamp: new Date(),
          mapRunStartedEventDetails: { mapRunArn: 'm' },
        },
        {
          id: 1,
          type: 'MapStateEntered',
          timestamp: new Date(),
          stateEnteredEventDetails: { name: 'ExtractRegions' },
        },
      ],
    });
    sfn
      .on(DescribeMapRunCommand)
      .resolves({ itemCounts: { total: 10, succeeded: 4, running: 2, failed: 0 } as never });
    expect(await main(['status', arn], silentLog, deps)).toBe(0);
    expect(lines).toContain('status     RUNNING in ExtractRegions, regions 4/10');

    lines.length = 0;
    expect(
      await main(
        ['status', 'crops-0123456789ab', '--outputs', path.join(dir, 'cdk-outputs.json')],
        silentLog,
        deps,
      ),
    ).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: arn });

    sfn.on(DescribeExecutionCommand).resolves({
      status: 'TIMED_OUT',
      startDate: new Date(),
      stateMachineArn: SM,
      executionArn: arn,
    });
    expect(await main(['status', arn], silentLog, deps)).toBe(1);
    expect(lines).toContain('error      TIMED_OUT');
  });
});
