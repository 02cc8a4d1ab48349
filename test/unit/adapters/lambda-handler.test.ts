import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { lambdaHandler, requireEnv } from '../../../shared/adapters/aws/lambda-handler.ts';
import { InvalidInputError } from '../../../shared/domain/errors.ts';

describe('lambda handler wrapper', () => {
  it('names a missing environment variable', () => {
    expect(() => requireEnv('WORK_BUCKET', {})).toThrow(/WORK_BUCKET is not set/);
    expect(requireEnv('WORK_BUCKET', { WORK_BUCKET: 'b' })).toBe('b');
  });

  it('rejects an unreadable event before touching any port, as InvalidInputError', async () => {
    const handler = lambdaHandler('Plan', z.object({ runId: z.string() }), async () => 'ran');
    const error = await handler({ nope: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toContain('Plan received an event it cannot read');
    expect((error as InvalidInputError).name).toBe('InvalidInputError');
  });
});
