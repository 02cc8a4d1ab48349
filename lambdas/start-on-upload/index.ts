// Lambda behind the work bucket's "Object Created" events (an EventBridge rule invokes it
// asynchronously; S3 notification records are accepted too): an upload under ground-truth/<job>/
// starts that job's execution (shared/steps/start-from-upload.ts). Env: STATE_MACHINE_ARN,
// WORK_BUCKET, and optionally DATASETS_BUCKET (where relative output URIs go).
import { requireEnv } from '../../shared/adapters/aws/lambda-handler.ts';
import { createPowertools } from '../../shared/adapters/aws/powertools.ts';
import { sfnExecutions } from '../../shared/adapters/aws/sfn-executions.ts';
import { blobStoreForUri } from '../../shared/adapters/blob-store-for-uri.ts';
import { describeError, InvalidInputError } from '../../shared/domain/errors.ts';
import {
  type StartFromUploadDeps,
  startFromUpload,
  type UploadOutcome,
  uploadedObjects,
} from '../../shared/triggers/start-from-upload.ts';

let deps: StartFromUploadDeps | undefined;

/** Ports built once per container from the environment (or given by a test). */
export function uploadDeps(env: NodeJS.ProcessEnv = process.env): StartFromUploadDeps {
  if (deps) return deps;
  const datasets = env['DATASETS_BUCKET'];
  deps = {
    work: blobStoreForUri(`s3://${requireEnv('WORK_BUCKET', env)}`),
    executions: sfnExecutions(requireEnv('STATE_MACHINE_ARN', env)),
    log: createPowertools('StartOnUpload', env).log,
    ...(datasets ? { datasetsUri: `s3://${datasets}` } : {}),
  };
  return deps;
}

/**
 * Every record is handled. A permanent input error (no job spec yet, an invalid one: an
 * InvalidInputError, JobSpecError included) is logged as an error and its record skipped, since
 * retrying the same event cannot fix it; the user uploads the ground truth again once the job is
 * right. Any other error is rethrown after all records ran, so that Lambda's asynchronous invocation
 * retries the event (then its dead-letter queue takes it).
 */
export async function handleUpload(event: unknown, ports: StartFromUploadDeps): Promise<UploadOutcome[]> {
  const outcomes: UploadOutcome[] = [];
  let failure: unknown;
  for (const object of uploadedObjects(event)) {
    try {
      outcomes.push(await startFromUpload(object, ports));
    } catch (error) {
      const permanent = error instanceof InvalidInputError;
      ports.log.error(
        permanent
          ? 'upload could not start a run: fix the job spec, then upload the ground truth again'
          : 'upload could not start a run',
        { key: object.key, error: describeError(error), retried: !permanent },
      );
      if (permanent) outcomes.push({ skipped: describeError(error), key: object.key });
      else failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
  return outcomes;
}

export const handler = (event: unknown): Promise<UploadOutcome[]> => handleUpload(event, uploadDeps());
