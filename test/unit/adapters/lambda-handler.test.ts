import { afterEach, describe, expect, it, vi } from 'vitest';
import { lambdaTaskHandler, requireEnv } from '../../../shared/adapters/aws/lambda-handler.ts';
import { InvalidInputError } from '../../../shared/domain/errors.ts';
import { Tasks } from '../../../shared/workflow/tasks.ts';

describe('lambda handler of a task table entry', () => {
  afterEach(() => vi.restoreAllMocks());

  it('names a missing environment variable', () => {
    expect(() => requireEnv('WORK_BUCKET', {})).toThrow(/WORK_BUCKET is not set/);
    expect(requireEnv('WORK_BUCKET', { WORK_BUCKET: 'b' })).toBe('b');
  });

  it('rejects an unreadable event before touching any port, as InvalidInputError', async () => {
    // No WORK_BUCKET: a handler that built its ports first would fail on that instead.
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const handler = lambdaTaskHandler(Tasks.Plan, {});
    const error = await handler({ nope: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toContain('Plan received an event it cannot read');
    expect((error as InvalidInputError).name).toBe('InvalidInputError');
    expect(handler.task).toBe(Tasks.Plan);
  });

  it('logs JSON through Powertools with the request id and the Lambda context', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    // Powertools logs with console.* in its own Console bound to stdout/stderr.
    const errors: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      errors.push(String(chunk));
      return true;
    });
    const handler = lambdaTaskHandler(Tasks.RecordFailure, { WORK_BUCKET: 'nowhere' });
    const context = {
      awsRequestId: 'req-123',
      functionName: 'satfactory-RecordFailure',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:satfactory-RecordFailure',
      memoryLimitInMB: '256',
    } as unknown as Parameters<typeof handler>[1];
    // An event RecordFailure cannot read: fails before any S3 call, and still logs.
    await handler({ error: 'x' }, context).catch(() => undefined);
    const records = [...lines, ...errors]
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const failed = records.find((r) => r['message'] === 'RecordFailure failed');
    expect(failed).toMatchObject({
      level: 'ERROR',
      function_request_id: 'req-123',
      function_name: 'satfactory-RecordFailure',
      service: 'RecordFailure',
    });
    expect(typeof failed?.['cold_start']).toBe('boolean');
    expect(String(failed?.['error'])).toContain('InvalidInputError');
  });
});
