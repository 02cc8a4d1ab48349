// `satfactory start` and `satfactory status`: run a job on the deployed stack. The job spec is made
// self-contained for the Lambdas (local label files uploaded to the work bucket, the dataset in the
// datasets bucket unless output.uri is already on S3), stored at its run key, and started under an
// execution named by its run id, so starting the same job twice starts nothing new.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { executionArnOf } from '../adapters/aws/sfn-executions.ts';
import { InvalidInputError } from '../domain/errors.ts';
import { sha256Hex } from '../domain/hashing.ts';
import type { JobSpec } from '../domain/job-spec.ts';
import type { BlobStore, Clock, Executions } from '../ports.ts';
import { runIdOf, storeJob } from '../work/context.ts';
import { readStackOutputs, type StackOutputs } from './cdk-outputs.ts';
import { followExecution, isFinished, outcomeLines, progressLine } from './follow-execution.ts';
import { prepareJob } from './prepare-job.ts';

export type AwsCliDeps = {
  /** Opens an s3://bucket store (S3 client from the environment). */
  openStore(uri: string): BlobStore;
  executions(stateMachineArn: string): Executions;
  clock: Clock;
  out(line: string): void;
};

export type StartOptions = { outputs: string; stack?: string; detach: boolean; pollMs: number };

const isUri = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);

/** Where `start` puts local label files in the work bucket: not ground-truth/, whose uploads start runs. */
export const CLI_INPUTS_PREFIX = 'inputs/';

/** Execution name of a run: the run id itself when it fits Step Functions' 80 characters. */
export function executionNameOfRun(runId: string): string {
  return runId.length <= 80 ? runId : `${runId.slice(0, 59)}-${sha256Hex(runId).slice(0, 20)}`;
}

/**
 * Uploads a local label file (and its sidecars of the same stem: .shp/.dbf/.prj...) under
 * inputs/<job>/<content hash>/, so a changed file is a new run id, and points the job at S3.
 */
async function uploadLabels(job: JobSpec, work: BlobStore, out: (line: string) => void): Promise<void> {
  if (!job.labels || isUri(job.labels.source)) return;
  const file = job.labels.source;
  const dir = path.dirname(file);
  const stem = path.basename(file).replace(/\.[^.]*$/, '');
  const siblings = (await readdir(dir))
    .filter((f) => f === path.basename(file) || f.startsWith(`${stem}.`))
    .sort();
  const files = await Promise.all(
    siblings.map(async (f) => ({ name: f, bytes: await readFile(path.join(dir, f)) })),
  );
  const hash = sha256Hex(files.map((f) => `${f.name}:${sha256Hex(f.bytes)}`).join('\n')).slice(0, 16);
  const prefix = `${CLI_INPUTS_PREFIX}${job.name}/${hash}`;
  for (const f of files) {
    const key = `${prefix}/${f.name}`;
    if (!(await work.exists(key))) await work.put(key, f.bytes);
  }
  job.labels.source = `${work.uri}/${prefix}/${path.basename(file)}`;
  out(`labels     ${job.labels.source} (${files.length} file(s) uploaded)`);
}

/** Uploads a local class table file (labels.classes.table) under inputs/<job>/<content hash>/. */
async function uploadClassTable(job: JobSpec, work: BlobStore, out: (line: string) => void): Promise<void> {
  const classes = job.labels?.classes;
  if (!classes || typeof classes.table !== 'string' || isUri(classes.table)) return;
  const bytes = await readFile(classes.table);
  const key = `${CLI_INPUTS_PREFIX}${job.name}/${sha256Hex(bytes).slice(0, 16)}/${path.basename(classes.table)}`;
  if (!(await work.exists(key))) await work.put(key, bytes);
  classes.table = `${work.uri}/${key}`;
  out(`classes    ${classes.table}`);
}

/** The job as the Lambdas need it: everything on S3, nothing on this machine. */
export async function jobForStack(
  job: JobSpec,
  stack: StackOutputs,
  work: BlobStore,
  out: (line: string) => void,
): Promise<JobSpec> {
  const catalogs = [
    { catalog: job.catalog, at: 'catalog' },
    ...(job.sources ?? []).map((x, k) => ({ catalog: x.catalog, at: `sources[${k}].catalog` })),
  ];
  for (const { catalog, at } of catalogs) {
    const pointer = `/${at.replace(/\[(\d+)\]/g, '/$1').replaceAll('.', '/')}`;
    if (catalog.kind === 'static' && !catalog.source.startsWith('s3://')) {
      throw new InvalidInputError(
        `${at}.source ${catalog.source} is on this machine; the Lambdas read it from S3: copy it there and give its s3:// URI`,
        { pointer: `${pointer}/source` },
      );
    }
    if (catalog.kind === 'files') {
      const local = catalog.files
        .map((f) => (typeof f === 'string' ? f : f.path))
        .find((f) => !/^(s3|https?):\/\//i.test(f));
      if (local !== undefined) {
        throw new InvalidInputError(
          `${at}.files names ${local}, a file on this machine; the Lambdas read GeoTIFFs from S3 or https: copy it there and give its URI`,
          { pointer: `${pointer}/files` },
        );
      }
    }
  }
  await uploadLabels(job, work, out);
  await uploadClassTable(job, work, out);
  if (!job.output.uri.startsWith('s3://')) {
    job.output.uri = `s3://${stack.datasetsBucket}/${job.name}`;
  }
  // On AWS the work store is the work bucket; a local work folder means nothing there.
  delete job.output.work;
  return job;
}

export async function startCommand(
  jobFile: string,
  options: StartOptions,
  deps: AwsCliDeps,
): Promise<number> {
  const stack = await readStackOutputs(options.outputs, options.stack);
  const prepared = await prepareJob(jobFile);
  const work = deps.openStore(`s3://${stack.workBucket}`);
  const job = await jobForStack(prepared.job, stack, work, deps.out);
  const runId = runIdOf(job);
  const input = await storeJob(work, job, runId);
  const executions = deps.executions(stack.stateMachineArn);
  const { executionArn, alreadyExisted } = await executions.start(executionNameOfRun(runId), input);
  deps.out(`run        ${runId}${alreadyExisted ? ' (started before: following that execution)' : ''}`);
  deps.out(`execution  ${executionArn}`);
  deps.out(`dataset    ${job.output.uri}`);
  if (options.detach) return 0;
  return followExecution(executions, executionArn, {
    clock: deps.clock,
    out: deps.out,
    pollMs: options.pollMs,
  });
}

/** An execution ARN as given, or the execution `satfactory start` named after a run id. */
export async function resolveExecution(
  target: string,
  options: { outputs?: string; stack?: string },
  deps: AwsCliDeps,
): Promise<{ executions: Executions; executionArn: string }> {
  const m = /^(arn:[^:]+:states:[^:]+:\d{12}):execution:([^:]+):[^:]+$/.exec(target);
  if (m) return { executions: deps.executions(`${m[1]}:stateMachine:${m[2]}`), executionArn: target };
  if (!options.outputs) {
    throw new InvalidInputError(
      `${target} is not an execution ARN; give one, or a run id with --outputs cdk-outputs.json`,
    );
  }
  const stack = await readStackOutputs(options.outputs, options.stack);
  return {
    executions: deps.executions(stack.stateMachineArn),
    executionArn: executionArnOf(stack.stateMachineArn, executionNameOfRun(target)),
  };
}

export async function statusCommand(
  target: string,
  options: { outputs?: string; stack?: string },
  deps: AwsCliDeps,
): Promise<number> {
  const { executions, executionArn } = await resolveExecution(target, options, deps);
  const s = await executions.describe(executionArn);
  deps.out(`execution  ${s.executionArn}`);
  deps.out(`status     ${progressLine(s)}`);
  if (s.startedAt) deps.out(`started    ${s.startedAt.toISOString()}`);
  if (s.stoppedAt) deps.out(`stopped    ${s.stoppedAt.toISOString()}`);
  for (const line of outcomeLines(s)) deps.out(line);
  return isFinished(s.status) && s.status !== 'SUCCEEDED' ? 1 : 0;
}
