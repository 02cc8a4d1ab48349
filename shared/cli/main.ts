// The satfactory command line: plan (dry run), run (the whole workflow on the local runtime),
// verify (re-hash a dataset), pull (copy and verify one), start/status (the deployed stack).
// Exit codes: 0 ok, 1 failure, 2 invalid input or usage.
import { parseArgs } from 'node:util';
import { sfnExecutions } from '../adapters/aws/sfn-executions.ts';
import { blobStoreForUri } from '../adapters/blob-store-for-uri.ts';
import { createLog } from '../adapters/local/console-log.ts';
import { claimDataset, releaseUnusedClaim } from '../dataset/claim.ts';
import { checkShardFiles, verifyDataset } from '../dataset/verify.ts';
import { datasetKeys } from '../domain/dataset-layout.ts';
import { describeError, IntegrityError, InvalidInputError, SatfactoryError } from '../domain/errors.ts';
import { ManifestSchema } from '../domain/manifest.ts';
import { type BlobStore, type Log, systemClock } from '../ports.ts';
import { createLocalContext } from '../runtime/local-context.ts';
import { runJobLocally } from '../runtime/run-job.ts';
import { storeJob } from '../work/context.ts';
import { readWork, WorkFiles } from '../work/files.ts';
import { StateNames } from '../workflow/contracts.ts';
import { runTask } from '../workflow/run-task.ts';
import { Tasks } from '../workflow/tasks.ts';
import { prepareJob, workUriOf } from './prepare-job.ts';
import { createProgress } from './progress.ts';
import { pullCommand } from './pull-command.ts';
import { showCommand } from './show-command.ts';
import { type AwsCliDeps, startCommand, statusCommand } from './start-command.ts';

const USAGE = `satfactory: Sentinel-2 time series + labels -> ready-to-train WebDataset shards

usage:
  satfactory plan <job.json>     dry run: products chosen, windows, regions, bytes to fetch
  satfactory run <job.json>      build the dataset with the local runtime (resumes an interrupted run;
                                 on a committed dataset, checks its shards' sizes)
  satfactory verify <uri>        re-hash every shard of a dataset and check its totals
  satfactory pull <uri> <dir>    copy a dataset (folder, s3://, https://) into a folder, verifying
                                 every shard's sha256; a rerun resumes
  satfactory show <uri> [<key> | --split S --n 16] [-o file.png]
                                 a contact sheet PNG: a sample's frames, or the first n samples of a
                                 split with their keys (true colour, stretched by the train statistics)
  satfactory start <job.json>    run the job on the deployed stack and follow it
  satfactory status <run-id|execution-arn>
                                 status, current or last state, error of a run on AWS

options:
  --threads N     worker threads for extraction (default: all cores)
  --verify        run: then verify the dataset (re-hash every shard, re-count every sample)
  --json-logs     JSON log lines (default when stderr is not a terminal: plain lines)
  --verbose       debug logs
  --outputs FILE  start/status: the JSON of \`cdk deploy --outputs-file\` (default cdk-outputs.json)
  --stack NAME    start/status: the stack in that file (default: the only one)
  --detach        start: return once the execution started
  --poll S        start: seconds between progress checks (default 10)
  --split S       pull: only the shards of split S; show: the split to show
  --n N           show: samples on the sheet (default 16)
  -o, --output F  show: the PNG to write (default <dataset name>-<key or split>.png)
  --concurrency N pull: shards fetched at once (default 4)
  -h, --help      this text`;

/** Error names that mean "the input cannot work": exit code 2. */
const INPUT_ERRORS = new Set([
  'InvalidInputError',
  'JobSpecError',
  'NothingToDoError',
  'InputRefusedError',
  'DatasetOwnedError',
  'StorageAccessError',
]);

export function exitCodeOf(error: unknown): number {
  const name = errorName(error);
  return name !== null && INPUT_ERRORS.has(name) ? 2 : 1;
}

/** The error name, also through a workflow failure that carries it as `error`/`cause`. */
function errorName(error: unknown): string | null {
  if (error instanceof InvalidInputError) return 'InvalidInputError';
  if (error instanceof SatfactoryError) return error.name;
  const e = error as { name?: unknown; error?: unknown; cause?: unknown } | null;
  if (e && typeof e.error === 'string') return e.error;
  if (e?.cause && typeof e.cause === 'object') return errorName(e.cause);
  if (e && typeof e.name === 'string' && INPUT_ERRORS.has(e.name)) return e.name;
  return null;
}

/** Real AWS clients for start/status; tests pass mocks. */
const awsDeps: AwsCliDeps = {
  openStore: (uri) => blobStoreForUri(uri),
  executions: (arn) => sfnExecutions(arn),
  clock: systemClock,
  out: (line) => process.stdout.write(`${line}\n`),
};

export async function main(argv: string[], log?: Log, aws: AwsCliDeps = awsDeps): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, target, second] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command || values.help ? 0 : 2;
  }
  const tty = Boolean(process.stderr.isTTY);
  const logger = log ?? createLog({ json: values['json-logs'] ?? false, verbose: values.verbose ?? false });
  if (!target) {
    process.stderr.write(`satfactory ${command} needs an argument\n\n${USAGE}\n`);
    return 2;
  }
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 1024)) {
    process.stderr.write(
      `--threads ${JSON.stringify(values.threads)} is not a number of threads: give a whole number from 1 to 1024, or leave it out to use every core\n`,
    );
    return 2;
  }
  try {
    switch (command) {
      case 'plan':
        return await planCommand(target, logger);
      case 'run':
        return await runCommand(target, logger, {
          tty,
          threads,
          json: values['json-logs'] ?? false,
          verbose: values.verbose ?? false,
          verify: values.verify ?? false,
        });
      case 'verify':
        return await verifyCommand(target);
      case 'pull':
        return await pullCommand(target, second, logger, {
          ...(values.split !== undefined ? { split: values.split } : {}),
          ...(values.concurrency !== undefined ? { concurrency: values.concurrency } : {}),
          progress: createProgress(logger, tty && !(values['json-logs'] ?? false)),
          out: (line) => process.stdout.write(`${line}\n`),
        });
      case 'show':
        return await showCommand(
          target,
          {
            ...(second !== undefined ? { key: second } : {}),
            ...(values.split !== undefined ? { split: values.split } : {}),
            ...(values.n !== undefined ? { n: values.n } : {}),
            ...(values.output !== undefined ? { output: values.output } : {}),
          },
          (line) => process.stdout.write(`${line}\n`),
        );
      case 'start': {
        const poll = Number(values.poll ?? 10);
        if (!(poll > 0))
          throw new InvalidInputError(`--poll ${values.poll} is not a positive number of seconds`);
        return await startCommand(
          target,
          {
            outputs: values.outputs ?? 'cdk-outputs.json',
            detach: values.detach ?? false,
            pollMs: poll * 1000,
            ...(values.stack ? { stack: values.stack } : {}),
          },
          aws,
        );
      }
      case 'status':
        return await statusCommand(
          target,
          { outputs: values.outputs ?? 'cdk-outputs.json', ...(values.stack ? { stack: values.stack } : {}) },
          aws,
        );
      default:
        process.stderr.write(`unknown command ${command}\n\n${USAGE}\n`);
        return 2;
    }
  } catch (error) {
    logger.error(describeError(error));
    return exitCodeOf(error);
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      threads: { type: 'string' },
      'json-logs': { type: 'boolean' },
      verbose: { type: 'boolean' },
      verify: { type: 'boolean' },
      outputs: { type: 'string' },
      stack: { type: 'string' },
      detach: { type: 'boolean' },
      poll: { type: 'string' },
      split: { type: 'string' },
      concurrency: { type: 'string' },
      n: { type: 'string' },
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

async function planCommand(jobFile: string, log: Log): Promise<number> {
  const prepared = await prepareJob(jobFile);
  for (const warning of prepared.warnings) log.warn(`${prepared.jobFile}: ${warning}`);
  const workUri = workUriOf(prepared.job);
  const ctx = createLocalContext({ workUri, log });
  // The work folder usually lies inside the output folder: claim it before the job is stored there.
  const dataset = ctx.openStore(prepared.job.output.uri);
  const claim = { runId: prepared.runId, job: prepared.job.name, now: ctx.clock.now() };
  const { created } = await claimDataset(dataset, claim);
  try {
    return await planClaimed(prepared, workUri, ctx);
  } finally {
    // A dry run holds the folder only while it writes there; a run of this job claims it again.
    if (created) await releaseUnusedClaim(dataset, prepared.runId);
  }
}

async function planClaimed(
  prepared: Awaited<ReturnType<typeof prepareJob>>,
  workUri: string,
  ctx: ReturnType<typeof createLocalContext>,
): Promise<number> {
  const input = await storeJob(ctx.work, prepared.job, prepared.runId);
  // The first states of the workflow, as they run in it: COG headers and, for the radiometry probe,
  // the smallest overview of each Sentinel-2 item's blue band; no window is read.
  const planned = await runTask(Tasks[StateNames.plan], input, ctx);
  // Windows over labels need the labels read and validated first.
  const labels = await runTask(Tasks[StateNames.prepareLabels], input, ctx);
  const windows = await runTask(Tasks[StateNames.planWindows], input, ctx);
  const summary = await readWork(
    ctx.work,
    WorkFiles.windowsSummary,
    WorkFiles.windowsSummary.key(input.runId),
  );
  const lines = [
    `run        ${input.runId}`,
    `products   ${planned.products} on ${planned.tiles} tile(s), ${planned.offline} offline`,
    ...(labels.labelsKey
      ? [
          `labels     ${labels.features} feature(s) kept, log ${workUri}/${WorkFiles.labelsLog.key(input.runId)}`,
        ]
      : []),
    `windows    ${windows.windows} in ${windows.regions} region(s)`,
    ...(prepared.job.samples === 'per-date' && summary
      ? [
          `samples    per-date: ${await perDateSamples(ctx, input.runId, summary.tiles)} planned (windows x dates)`,
        ]
      : []),
    `to fetch   ${mb(windows.bytesToFetch)} (COG tiles the windows need)`,
    ...(summary
      ? [
          `splits     train ${summary.splits.train}, validation ${summary.splits.validation}, test ${summary.splits.test} window(s) to read`,
        ]
      : []),
    ...Object.entries(summary?.tiles ?? {}).map(
      ([t, s]) => `  ${t}: ${s.windows} windows, ${s.regions} regions`,
    ),
    `selection  ${prepared.job.output.uri}/selection.json`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** Per-date samples a plan makes: each tile's windows times its dates. */
async function perDateSamples(
  ctx: ReturnType<typeof createLocalContext>,
  runId: string,
  tiles: Record<string, { windows: number }>,
): Promise<number> {
  let n = 0;
  for (const [tile, s] of Object.entries(tiles)) {
    const tp = await readWork(ctx.work, WorkFiles.tilePlan, WorkFiles.tilePlan.key(runId, tile));
    n += s.windows * (tp?.products.length ?? 0);
  }
  return n;
}

async function runCommand(
  jobFile: string,
  log: Log,
  options: { tty: boolean; threads: number | undefined; json: boolean; verbose: boolean; verify: boolean },
): Promise<number> {
  const prepared = await prepareJob(jobFile);
  for (const warning of prepared.warnings) log.warn(`${prepared.jobFile}: ${warning}`);
  const workUri = workUriOf(prepared.job);
  const ctx = createLocalContext({ workUri, log });
  log.info(`run ${prepared.runId}: ${prepared.job.name} -> ${prepared.job.output.uri}`);
  const started = Date.now();
  const summary = await runJobLocally({
    job: prepared.job,
    runId: prepared.runId,
    workUri,
    ctx,
    progress: createProgress(log, options.tty && !options.json),
    jsonLogs: options.json,
    verbose: options.verbose,
    ...(options.threads ? { threads: options.threads } : {}),
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const dataset = blobStoreForUri(prepared.job.output.uri);
  const manifest = await readManifestOf(dataset);
  // A rerun of a committed job writes nothing: the dataset it reports must still be whole.
  await checkCommitted(dataset, manifest, options.verify);
  process.stdout.write(
    `${runSummaryLines(manifest, summary.commit, seconds).join('\n')}\n` +
      `manifest   ${prepared.job.output.uri}/${summary.commit.manifestKey}\n`,
  );
  return 0;
}

/** Shard sizes against the manifest (every byte and sample with --verify); damage fails the run. */
async function checkCommitted(
  dataset: BlobStore,
  manifest: ReturnType<typeof ManifestSchema.parse> | undefined,
  full: boolean,
): Promise<void> {
  if (!manifest) throw new IntegrityError(`${dataset.uri} has no readable manifest.json after the run`);
  const problems = full
    ? (await verifyDataset(dataset)).problems
    : await checkShardFiles(dataset, manifest, { hash: false });
  if (problems.length === 0) return;
  const shown = problems
    .slice(0, 10)
    .map((p) => `\n  ${p}`)
    .join('');
  const more = problems.length > 10 ? `\n  and ${problems.length - 10} more` : '';
  throw new IntegrityError(
    `the committed dataset at ${dataset.uri} is damaged (${problems.length} problem(s)):${shown}${more}\n` +
      `A rerun does not rewrite a committed dataset: delete ${dataset.uri} and run the job again` +
      `${full ? '' : ', or see `satfactory verify` for the details'}.`,
    { source: dataset.uri },
  );
}

async function readManifestOf(dataset: BlobStore) {
  const bytes = await dataset.get(datasetKeys.manifest);
  return bytes ? ManifestSchema.parse(JSON.parse(Buffer.from(bytes).toString('utf8'))) : undefined;
}

/** What a finished run did: samples and rejects by reason, and the bytes it fetched for them. */
export function runSummaryLines(
  manifest: ReturnType<typeof ManifestSchema.parse> | undefined,
  commit: { samples: number; shards: number; rejected: number },
  seconds: string,
): string[] {
  const reasons = Object.entries(manifest?.totals.rejectedByReason ?? {})
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  const lines = [
    `${commit.samples} samples in ${commit.shards} shard(s), ${commit.rejected} rejected${reasons ? ` (${reasons})` : ''}, ${seconds} s`,
  ];
  const io = manifest?.io;
  if (io) {
    const distinct =
      io.bytesDistinct !== undefined
        ? `, ${mb(io.bytesDistinct)} distinct${typeof io.refetchRatio === 'number' ? ` (refetch ${io.refetchRatio.toFixed(3)}x)` : ''}`
        : '';
    lines.push(`fetched    ${mb(io.bytesFetched)} in ${io.requests} range requests${distinct}`);
  }
  return lines;
}

async function verifyCommand(uri: string): Promise<number> {
  const report = await verifyDataset(blobStoreForUri(uri));
  process.stdout.write(
    `${report.ok ? 'ok' : 'FAILED'}: ${report.shards} shard(s), ${report.samples} sample(s)\n` +
      `${report.problems.map((p) => `  ${p}\n`).join('')}${report.warnings.map((w) => `  warning: ${w}\n`).join('')}`,
  );
  return report.ok ? 0 : 1;
}
