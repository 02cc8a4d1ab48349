// The checked-in ASL is exactly what CDK synthesizes today, valid ASL, JSONPath only, and shaped the
// way the local runtime and the AWS console expect: a Distributed Map, Retry and Catch on every Task.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  LAMBDA_SERVICE_ERRORS,
  MAP_RESULTS_PREFIX,
  ORDER_DEFAULTS,
  RETRYABLE_ERRORS,
  SHARDS_PER_BATCH,
  TaskNames,
  WorkflowStateNames,
} from '../../infra/workflow-definition.ts';
import { ASL_PATH, Placeholders, renderAsl, synthesizeWorkflowAsl } from '../../scripts/generate-asl.ts';
import { classifyNetworkError, networkError } from '../../shared/adapters/network-errors.ts';
import {
  assertRange,
  checkContentRange,
  parseContentRange,
  pastEndOfFile,
  shortBody,
} from '../../shared/adapters/range-readers.ts';
import type { SatfactoryError } from '../../shared/domain/errors.ts';
import * as errors from '../../shared/domain/errors.ts';
import { OrderRejectedError, ProductUnknownError, TaskGoneError } from '../../shared/domain/lta.ts';
import { OrderStateNames, StateNames } from '../../shared/workflow/contracts.ts';

type State = Record<string, unknown> & { Type: string };
type Definition = { StartAt: string; States: Record<string, State>; QueryLanguage?: string };
type Retrier = { ErrorEquals: string[]; JitterStrategy?: string; MaxAttempts?: number };
type Catcher = { ErrorEquals: string[]; Next: string; ResultPath?: string };

// asl-validator ships no types: describe the one call we make.
const aslValidator = createRequire(import.meta.url)('asl-validator') as (
  definition: unknown,
  options: { checkArn: boolean; checkPaths: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };

const checkedIn = readFileSync(ASL_PATH, 'utf8');
const asl = JSON.parse(checkedIn) as Definition;

describe('shared/runtime/workflow.asl.json', () => {
  let fresh: string;
  beforeAll(() => {
    fresh = renderAsl(synthesizeWorkflowAsl());
  });

  it('equals a fresh synth of the CDK definition (regenerate: npm run generate:asl)', () => {
    expect(checkedIn).toBe(fresh);
  });

  it('is valid ASL for asl-validator', () => {
    // The validator writes into the definition it checks: give it a copy.
    const result = aslValidator(structuredClone(asl), { checkArn: true, checkPaths: true });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('chains the states of the flow and ends in Succeeded or Failed', () => {
    const order: string[] = [];
    for (
      let name: string | undefined = asl.StartAt;
      name;
      // A Choice goes on by its Default: the path of a run with nothing offline.
      name = (asl.States[name]?.Next ?? asl.States[name]?.Default) as string | undefined
    ) {
      order.push(name);
    }
    expect(order).toEqual([
      'Plan',
      'EnsureOnline',
      'NeedsOrders',
      'PrepareLabels',
      'PlanWindows',
      'ExtractRegions',
      'PlanShards',
      'WriteShards',
      'Commit',
      'Succeeded',
    ]);
    expect(asl.States[WorkflowStateNames.recordFailure]?.Next).toBe('Failed');
    expect(asl.States.Failed).toEqual({
      Type: 'Fail',
      ErrorPath: '$.error.Error',
      CausePath: '$.error.Cause',
    });
    expect(asl.States.Succeeded).toEqual({ Type: 'Succeed' });
  });

  it('keeps the execution input and puts each result under its own ResultPath', () => {
    const paths = Object.fromEntries(Object.entries(asl.States).map(([name, s]) => [name, s.ResultPath]));
    expect(paths).toMatchObject({
      Plan: '$.plan',
      EnsureOnline: '$.online',
      PrepareLabels: '$.labels',
      PlanWindows: '$.windows',
      ExtractRegions: '$.extract',
      PlanShards: '$.shards',
      WriteShards: '$.written',
      Commit: '$.commit',
    });
    // payloadResponseOnly: the whole state goes in, no Parameters wrapper, the Resource is the function.
    for (const name of TaskNames.filter(
      (t) => t !== StateNames.extractRegion && t !== StateNames.writeShard,
    )) {
      const state = asl.States[name] as State;
      expect(state.Parameters, name).toBeUndefined();
      expect(state.Resource, name).toBe(Placeholders.functionArn(name));
    }
  });

  it('makes ExtractRegions a Distributed Map over the regions JSONL, batched, capped, written to S3', () => {
    const map = asl.States[StateNames.extractRegions] as State;
    expect(map.Type).toBe('Map');
    expect(map.ItemProcessor).toMatchObject({
      ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
      StartAt: StateNames.extractRegion,
    });
    expect(map.ItemReader).toEqual({
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'JSONL' },
      Parameters: { Bucket: Placeholders.workBucket, 'Key.$': '$.windows.regionsKey' },
    });
    expect(map.ItemBatcher).toEqual({ MaxItemsPerBatch: 1 });
    expect(map.MaxConcurrency).toBe(40);
    // 0 % tolerated is the default, and CDK leaves a 0 out.
    expect(map.ToleratedFailurePercentage ?? 0).toBe(0);
    expect(map.ResultWriter).toEqual({
      Resource: 'arn:aws:states:::s3:putObject',
      Parameters: { Bucket: Placeholders.workBucket, Prefix: MAP_RESULTS_PREFIX },
    });
    const processor = (map.ItemProcessor as Definition).States;
    expect(Object.keys(processor)).toEqual([StateNames.extractRegion]);
    expect(processor[StateNames.extractRegion]).toMatchObject({
      Type: 'Task',
      End: true,
      Resource: Placeholders.functionArn(StateNames.extractRegion),
    });
    expectRetries(processor[StateNames.extractRegion] as State);
  });

  it('makes WriteShards a Distributed Map over the final shards JSONL, batched, written to S3', () => {
    const map = asl.States[StateNames.writeShards] as State;
    expect(map).toMatchObject({
      Type: 'Map',
      Next: StateNames.commit,
      ResultPath: '$.written',
      MaxConcurrency: 40,
      ItemProcessor: {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
        StartAt: StateNames.writeShard,
      },
    });
    expect(map.ItemReader).toEqual({
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'JSONL' },
      Parameters: { Bucket: Placeholders.workBucket, 'Key.$': '$.shards.shardsKey' },
    });
    expect(map.ItemBatcher).toEqual({ MaxItemsPerBatch: SHARDS_PER_BATCH });
    expect(map.ResultWriter).toEqual({
      Resource: 'arn:aws:states:::s3:putObject',
      Parameters: { Bucket: Placeholders.workBucket, Prefix: MAP_RESULTS_PREFIX },
    });
    expect((map.Catch as Catcher[])[0]).toEqual({
      ErrorEquals: ['States.ALL'],
      Next: 'RecordFailure',
      ResultPath: '$.error',
    });
    const processor = (map.ItemProcessor as Definition).States;
    expect(Object.keys(processor)).toEqual([StateNames.writeShard]);
    expect(processor[StateNames.writeShard]).toMatchObject({
      Type: 'Task',
      End: true,
      Resource: Placeholders.functionArn(StateNames.writeShard),
    });
    expectRetries(processor[StateNames.writeShard] as State);
  });

  it('sends offline products through OrderProducts: an SQS waitForTaskToken per product, then PrepareLabels', () => {
    const choice = asl.States[OrderStateNames.needsOrders] as State;
    expect(choice).toMatchObject({ Type: 'Choice', Default: StateNames.prepareLabels });
    expect(choice.Choices).toEqual([
      {
        And: [
          { IsPresent: true, Variable: '$.online.offline' },
          { NumericGreaterThan: 0, Variable: '$.online.offline' },
        ],
        Next: OrderStateNames.orderProducts,
      },
    ]);
    const map = asl.States[OrderStateNames.orderProducts] as State;
    expect(map).toMatchObject({
      Type: 'Map',
      Next: StateNames.prepareLabels,
      // The orders' results never enter the state.
      ResultPath: null,
      MaxConcurrency: ORDER_DEFAULTS.orderMaxConcurrency,
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } },
    });
    expect(map.ItemReader).toEqual({
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'JSONL' },
      Parameters: { Bucket: Placeholders.workBucket, 'Key.$': '$.online.ordersKey' },
    });
    expect((map.Catch as Catcher[])[0]).toEqual({
      ErrorEquals: ['States.ALL'],
      Next: 'RecordFailure',
      ResultPath: '$.error',
    });
    const processor = (map.ItemProcessor as Definition).States;
    expect(Object.keys(processor)).toEqual([OrderStateNames.orderProduct]);
    const task = processor[OrderStateNames.orderProduct] as State;
    expect(task).toMatchObject({
      Type: 'Task',
      End: true,
      Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
      HeartbeatSeconds: ORDER_DEFAULTS.orderHeartbeatSeconds,
      TimeoutSeconds: ORDER_DEFAULTS.orderTimeoutHours * 3600,
      Parameters: {
        QueueUrl: Placeholders.orderQueueUrl,
        MessageBody: { 'taskToken.$': '$$.Task.Token', 'runId.$': '$.runId', 'product.$': '$.product' },
      },
    });
    // The consumer heartbeats at least every 900 s (SQS's longest delay).
    expect(task.HeartbeatSeconds as number).toBeGreaterThan(900);
    expect((task.Retry as Retrier[])[0]?.ErrorEquals).toContain('States.HeartbeatTimeout');
  });

  it('gives every Task Retry (service errors and ours, with jitter) and a Catch to RecordFailure', () => {
    // OrderProduct lives inside OrderProducts, with its own SQS retry table.
    const tasks = Object.entries(asl.States).filter(([, s]) => s.Type === 'Task');
    expect(tasks.map(([name]) => name).sort()).toEqual(
      TaskNames.filter((t) => t !== StateNames.extractRegion && t !== StateNames.writeShard).sort(),
    );
    for (const [name, state] of tasks) {
      expectRetries(state);
      const catchers = state.Catch as Catcher[];
      expect(catchers, name).toHaveLength(1);
      expect(catchers[0]?.ErrorEquals, name).toEqual(['States.ALL']);
      if (name === StateNames.recordFailure) {
        // Failing to record must not overwrite the error the run fails with.
        expect(catchers[0]).toMatchObject({ Next: 'Failed' });
        expect(catchers[0]?.ResultPath).not.toBe('$.error');
      } else {
        expect(catchers[0], name).toEqual({
          ErrorEquals: ['States.ALL'],
          Next: 'RecordFailure',
          ResultPath: '$.error',
        });
      }
    }
    expect((asl.States.ExtractRegions?.Catch as Catcher[] | undefined)?.[0]).toEqual({
      ErrorEquals: ['States.ALL'],
      Next: 'RecordFailure',
      ResultPath: '$.error',
    });
  });

  it('uses JSONPath only: no JSONata, no Assign, no Arguments or Output fields', () => {
    expect(asl.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    const offenders: string[] = [];
    const walk = (value: unknown, where: string): void => {
      if (typeof value === 'string' && value.includes('{%')) offenders.push(where);
      if (Array.isArray(value)) {
        value.forEach((v, i) => {
          walk(v, `${where}/${i}`);
        });
      } else if (value && typeof value === 'object') {
        for (const [key, v] of Object.entries(value)) {
          if (
            ['Assign', 'Arguments', 'Output'].includes(key) ||
            (key === 'QueryLanguage' && v !== 'JSONPath')
          ) {
            offenders.push(`${where}/${key}`);
          }
          walk(v, `${where}/${key}`);
        }
      }
    };
    walk(asl, '');
    expect(offenders).toEqual([]);
  });
});

function expectRetries(state: State): void {
  const retriers = state.Retry as Retrier[];
  expect(retriers.map((r) => r.ErrorEquals)).toEqual([[...LAMBDA_SERVICE_ERRORS], [...RETRYABLE_ERRORS]]);
  for (const r of retriers) {
    expect(r.JitterStrategy).toBe('FULL');
    expect(r.MaxAttempts).toBeGreaterThan(1);
  }
}

/** Every Retry of the state machine, those of Map processors included, with the state it is on. */
function allRetriers(definition: Definition, where = ''): Array<{ state: string; retrier: Retrier }> {
  const out: Array<{ state: string; retrier: Retrier }> = [];
  for (const [name, state] of Object.entries(definition.States)) {
    for (const retrier of (state.Retry as Retrier[] | undefined) ?? [])
      out.push({ state: where + name, retrier });
    const processor = (state.ItemProcessor ?? state.Iterator) as Definition | undefined;
    if (processor) out.push(...allRetriers(processor, `${where}${name}/`));
  }
  return out;
}

/** Step Functions' matching: the name itself, or a wildcard that also catches any error a Task throws. */
const matches = (retrier: Retrier, name: string) =>
  retrier.ErrorEquals.some((e) => e === name || e === 'States.ALL' || e === 'States.TaskFailed');

/** One error of each class of the vocabulary; HttpStatusError both ways (retryable or rejected). */
function everyError(): SatfactoryError[] {
  const made: SatfactoryError[] = [];
  for (const value of [...Object.values(errors), ProductUnknownError, OrderRejectedError, TaskGoneError]) {
    if (typeof value !== 'function' || !(value.prototype instanceof errors.SatfactoryError)) continue;
    if (value === errors.HttpStatusError) continue;
    made.push(new (value as new (m: string, c: errors.ErrorContext) => SatfactoryError)('x', {}));
  }
  const url = 'https://example.com/a.tif';
  for (const status of [400, 403, 404, 410, 429, 500, 502, 503])
    made.push(new errors.HttpStatusError(url, status, 'x'));
  return made;
}

/** The errors the adapters throw for answers that asking again cannot change. */
function permanentAdapterErrors(): SatfactoryError[] {
  const url = 'https://example.com/a.tif';
  const thrown = (f: () => void): SatfactoryError => {
    try {
      f();
    } catch (error) {
      return error as SatfactoryError;
    }
    throw new Error('expected a throw');
  };
  const noAnswer = (cause: object) => {
    const failure = classifyNetworkError(Object.assign(new TypeError('fetch failed'), { cause }), url);
    return networkError(`GET ${url} failed: ${failure.reason}`, failure, { source: url }, cause);
  };
  return [
    pastEndOfFile(url, 0, 100, 10),
    thrown(() => checkContentRange(url, 0, 10, parseContentRange('bytes 5-14/100'), 'bytes 5-14/100')),
    thrown(() => checkContentRange(url, 0, 10, null, undefined)),
    thrown(() => assertRange(url, -1, 10)),
    new errors.HttpStatusError(url, 404, 'Not Found'),
    noAnswer({ code: 'ENOTFOUND', hostname: 'example.com' }),
    noAnswer({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self-signed certificate' }),
    noAnswer({ message: 'bad port' }),
  ];
}

describe('retry by name', () => {
  it('retries the HTTP answers that may succeed later, never a permanent one', () => {
    const names = (status: number) =>
      new errors.HttpStatusError('https://example.com/a.tif', status, 'x').name;
    const retried = (name: string) => (RETRYABLE_ERRORS as readonly string[]).includes(name);
    for (const status of [429, 500, 502, 503]) expect(retried(names(status))).toBe(true);
    for (const status of [400, 403, 404, 410]) expect(retried(names(status))).toBe(false);
  });

  it('never retries a permanent error, by any Retry of the synthesized ASL', () => {
    const retriers = allRetriers(asl);
    expect(retriers.length).toBeGreaterThan(TaskNames.length);
    const permanent = [...everyError(), ...permanentAdapterErrors()].filter((e) => !e.retryable);
    const names = new Set(permanent.map((e) => e.name));
    for (const name of ['RangeRejectedError', 'DnsLookupError', 'TlsError', 'HttpRejectedError']) {
      expect(names).toContain(name);
    }
    for (const error of permanent) {
      const retriedBy = retriers.filter(({ retrier }) => matches(retrier, error.name)).map((r) => r.state);
      expect(retriedBy, `${error.name}: ${error.message}`).toEqual([]);
    }
  });

  it('retries every retryable error on every Lambda task, short range answers included', () => {
    const retryable = everyError().filter((e) => e.retryable);
    expect(new Set(retryable.map((e) => e.name))).toEqual(
      new Set(['TransientError', 'HttpStatusError', 'RangeResponseError']),
    );
    expect(shortBody('https://example.com/a.tif', 0, 10, 5).name).toBe('RangeResponseError');
    const lambdaTasks = allRetriers(asl).filter(({ retrier }) =>
      retrier.ErrorEquals.includes(LAMBDA_SERVICE_ERRORS[0]),
    );
    expect(new Set(lambdaTasks.map((r) => r.state))).toEqual(
      new Set(
        TaskNames.map((t) =>
          t === StateNames.extractRegion
            ? `${StateNames.extractRegions}/${t}`
            : t === StateNames.writeShard
              ? `${StateNames.writeShards}/${t}`
              : t,
        ),
      ),
    );
    for (const { state } of lambdaTasks) {
      const own = allRetriers(asl).filter((r) => r.state === state);
      for (const error of retryable) {
        expect(
          own.some(({ retrier }) => matches(retrier, error.name)),
          `${state} retries ${error.name}`,
        ).toBe(true);
      }
    }
  });
});
