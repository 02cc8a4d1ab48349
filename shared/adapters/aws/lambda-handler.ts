// Turns an entry of the task table into a Lambda handler: ports built once per container (S3 work
// bucket from WORK_BUCKET), Powertools logs and metrics per invocation, the step run by runTask (as
// the local runtime runs it), and errors rethrown with their `name`, which Lambda reports as
// errorType and Step Functions Retry/Catch match on.
import type { Context } from 'aws-lambda';
import { describeError, InvalidInputError } from '../../domain/errors.ts';
import { systemClock } from '../../ports.ts';
import type { StepContext } from '../../work/context.ts';
import { runTask } from '../../workflow/run-task.ts';
import type { LambdaTask } from '../../workflow/tasks.ts';
import { blobStoreForUri } from '../blob-store-for-uri.ts';
import { catalogForSpec } from '../catalog-for-spec.ts';
import { checkInputUri, guardedFetch, inputPolicyFromEnv } from '../input-policy.ts';
import { rangeReaderForUrl } from '../range-reader-for-url.ts';
import { SasSigningReader } from '../sas-signing-reader.ts';
import { createPowertools, type Powertools } from './powertools.ts';

/** Reads a required environment variable once, naming it when it is missing. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value)
    throw new InvalidInputError(`environment variable ${name} is not set on this function`, {
      variable: name,
    });
  return value;
}

/**
 * The ports of a task's container, made on first use. Every input a job names goes through the
 * deployed input policy (shared/adapters/input-policy.ts, settings from the stage config by
 * environment): s3:// and https:// only, no local file, no loopback, link-local or private host.
 */
export function lambdaContext(tools: Powertools, env: NodeJS.ProcessEnv = process.env): StepContext {
  const log = tools.log;
  const policy = inputPolicyFromEnv(env);
  const fetch = guardedFetch(policy);
  return {
    work: blobStoreForUri(`s3://${requireEnv('WORK_BUCKET', env)}`),
    openStore: (uri) => {
      checkInputUri(policy, uri, 'storage');
      return blobStoreForUri(uri);
    },
    ranges: rangeReaderForUrl({ policy, fetch }),
    signedRanges: (endpoint, collection) =>
      new SasSigningReader(rangeReaderForUrl({ policy, fetch }), {
        endpoint,
        collection,
        clock: systemClock,
        log,
        fetch,
      }),
    openCatalog: (spec) =>
      catalogForSpec(spec, {
        clock: systemClock,
        baseDir: '/tmp',
        log,
        fetch,
        policy,
        // The files catalog reads headers through the same policy-checked reader.
        ranges: rangeReaderForUrl({ policy, fetch }),
      }),
    clock: systemClock,
    log,
    metrics: tools.metricsPort,
  };
}

export type TaskLambdaHandler<O> = ((event: unknown, context?: Context) => Promise<O>) & {
  /** The task table entry this handler runs (tests check every entry point against the table). */
  readonly task: LambdaTask<never, O>;
};

export function lambdaTaskHandler<I, O>(
  task: LambdaTask<I, O>,
  env: NodeJS.ProcessEnv = process.env,
): TaskLambdaHandler<O> {
  let tools: Powertools | undefined;
  let ctx: StepContext | undefined;
  const handler = async (event: unknown, context?: Context): Promise<O> => {
    tools ??= createPowertools(task.state, env);
    if (context) tools.logger.addContext(context);
    tools.metrics.captureColdStartMetric();
    const started = Date.now();
    try {
      // The event is checked before any port exists: a bad event needs no bucket, no client.
      const result = await runTask(task, event, () => (ctx ??= lambdaContext(tools as Powertools, env)));
      tools.log.info(`${task.state} done`, { state: task.state, ms: Date.now() - started });
      return result;
    } catch (error) {
      tools.log.error(`${task.state} failed`, { state: task.state, error: describeError(error) });
      throw error;
    } finally {
      tools.metrics.publishStoredMetrics();
    }
  };
  return Object.assign(handler, { task: task as unknown as LambdaTask<never, O> });
}
