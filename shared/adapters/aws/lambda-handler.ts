// Turns a step into a Lambda handler: parse the event with zod, build the ports once per container
// (S3 work bucket from WORK_BUCKET), log structured JSON, and rethrow errors with their `name`,
// which Lambda reports as errorType and Step Functions Retry/Catch match on.
import type { z } from 'zod';
import { describeError, InvalidInputError } from '../../domain/errors.ts';
import { systemClock } from '../../ports.ts';
import type { StepContext } from '../../work/context.ts';
import { blobStoreForUri } from '../blob-store-for-uri.ts';
import { catalogForSpec } from '../catalog-for-spec.ts';
import { createLog } from '../local/console-log.ts';
import { rangeReaderForUrl } from '../range-reader-for-url.ts';

/** Reads a required environment variable once, naming it when it is missing. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value)
    throw new InvalidInputError(`environment variable ${name} is not set on this function`, {
      variable: name,
    });
  return value;
}

let context: StepContext | undefined;

export function lambdaContext(env: NodeJS.ProcessEnv = process.env): StepContext {
  if (context) return context;
  const log = createLog({ json: true, verbose: env['SATFACTORY_DEBUG'] === '1' });
  context = {
    work: blobStoreForUri(`s3://${requireEnv('WORK_BUCKET', env)}`),
    openStore: (uri) => blobStoreForUri(uri),
    ranges: rangeReaderForUrl(),
    openCatalog: (spec) => catalogForSpec(spec, { clock: systemClock, baseDir: '/tmp', log }),
    clock: systemClock,
    log,
  };
  return context;
}

export function lambdaHandler<S extends z.ZodType, R>(
  state: string,
  schema: S,
  step: (input: z.infer<S>, ctx: StepContext) => Promise<R>,
): (event: unknown) => Promise<R> {
  return async (event) => {
    const parsed = schema.safeParse(event);
    if (!parsed.success) {
      throw new InvalidInputError(`${state} received an event it cannot read: ${parsed.error.message}`, {
        state,
      });
    }
    const ctx = lambdaContext();
    const started = Date.now();
    try {
      const result = await step(parsed.data, ctx);
      ctx.log.info(`${state} done`, { state, ms: Date.now() - started });
      return result;
    } catch (error) {
      ctx.log.error(`${state} failed`, { state, error: describeError(error) });
      throw error;
    }
  };
}
