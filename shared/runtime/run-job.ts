// Runs a prepared job on this machine: stores the job spec in the work store, then executes the
// synthesized state machine with the local runtime, routing every Task state to the same step
// function its Lambda calls; ExtractRegion batches go to a worker pool sized to the cores, and offline
// products go through the in-process LTA order queue (local-orders.ts).
import os from 'node:os';
import { CdseArchive } from '../adapters/cdse-archive.ts';
import { claimDataset, releaseUnusedClaim } from '../dataset/claim.ts';
import type { JobSpec } from '../domain/job-spec.ts';
import type { ArchiveOrders, Progress } from '../ports.ts';
import { AccessCheckedStore } from '../work/access-checked-store.ts';
import { type StepContext, storeJob } from '../work/context.ts';
import {
  type CommitOutput,
  EnsureOnlineOutputSchema,
  type ExecutionInput,
  ExtractBatchOutputSchema,
  OrderStateNames,
  PlanShardsOutputSchema,
  type PlanWindowsOutput,
  PlanWindowsOutputSchema,
  StateNames,
  WriteShardsOutputSchema,
} from '../workflow/contracts.ts';
import { runTask } from '../workflow/run-task.ts';
import { LambdaTaskNames, lambdaTaskOf, Tasks, workPatterns } from '../workflow/tasks.ts';
import { createLocalOrders, offlineWithoutArchive } from './local-orders.ts';
import { runLocalWorkflow, type TaskHandler } from './local-runtime.ts';
import type { WorkerTask } from './task-worker.ts';
import { createWorkerPool } from './worker-pool.ts';

/**
 * Final shards written at once locally, at least (more with a larger --threads). Each holds two
 * read batches (at most 8 MiB) and a write buffer (1 MiB in a folder, a 16 MiB part on S3).
 */
const INLINE_IO_CONCURRENCY = 4;

export type RunOptions = {
  job: JobSpec;
  runId: string;
  workUri: string;
  ctx: StepContext;
  progress: Progress;
  threads?: number;
  jsonLogs?: boolean;
  verbose?: boolean;
  /** Orders offline products; default: CDSE when CDSE_USERNAME and CDSE_PASSWORD are set. */
  archive?: ArchiveOrders;
};

/** CDSE from the environment, when credentials are there. */
export function archiveFromEnv(env: NodeJS.ProcessEnv = process.env): ArchiveOrders | undefined {
  const username = env['CDSE_USERNAME'];
  const password = env['CDSE_PASSWORD'];
  return username && password ? new CdseArchive({ credentials: { username, password } }) : undefined;
}

export type RunSummary = ExecutionInput & { commit: CommitOutput; windows: PlanWindowsOutput };

/**
 * Claims the output folder (the work folder usually lies inside it, so even the stored job waits for
 * the claim), stores the job once (a rerun finds the same run id and resumes it), then runs the
 * workflow. A run that fails before any region was extracted gives its claim up again, so a fixed
 * job (another run id) may use the folder; one that got further keeps it, and its rerun resumes.
 */
export async function runJobLocally(options: RunOptions): Promise<RunSummary> {
  const { ctx } = options;
  const dataset = ctx.openStore(options.job.output.uri);
  await claimDataset(dataset, { runId: options.runId, job: options.job.name, now: ctx.clock.now() });
  let extracting = false;
  try {
    return await runClaimed(options, () => {
      extracting = true;
    });
  } catch (error) {
    if (!extracting) {
      try {
        if (await releaseUnusedClaim(dataset, options.runId)) {
          ctx.log.info(`run ${options.runId} failed before extraction: ${dataset.uri} is free again`);
        }
      } catch (release) {
        ctx.log.warn('could not give up the claim', { error: String(release) });
      }
    }
    throw error;
  }
}

async function runClaimed(options: RunOptions, onExtract: () => void): Promise<RunSummary> {
  const { ctx, progress } = options;
  const input = await storeJob(ctx.work, options.job, options.runId);
  const threads = options.threads ?? Math.max(1, os.availableParallelism());
  const pool = createWorkerPool({
    filename: new URL('./task-worker.ts', import.meta.url),
    maxThreads: threads,
    // Threads start (and load the steps) now, while the main thread plans; no more than the cores,
    // so a large --threads does not start hundreds of threads for a small job.
    minThreads: Math.min(threads, Math.max(1, os.availableParallelism())),
  });
  // The queue only sees messages when a product is offline; otherwise it stays idle and costs nothing.
  const archive = options.archive ?? archiveFromEnv();
  const orders = createLocalOrders({
    archive,
    work: new AccessCheckedStore(
      ctx.work,
      workPatterns(Tasks[OrderStateNames.orderProduct].access),
      OrderStateNames.orderProduct,
    ),
    clock: ctx.clock,
    log: ctx.log,
  });
  try {
    // Every Lambda Task state runs its table entry exactly as its Lambda does (shared/workflow/tasks.ts).
    const handlers: Record<string, TaskHandler> = {};
    // CPU-heavy ones go to the worker pool, the others run inline.
    for (const name of LambdaTaskNames) {
      const task = lambdaTaskOf(name);
      handlers[name] =
        task.local === 'worker-pool'
          ? async (event) => {
              const work: WorkerTask = {
                state: name,
                event,
                workUri: options.workUri,
                jsonLogs: options.jsonLogs ?? false,
                verbose: options.verbose ?? false,
              };
              return pool.run(work);
            }
          : (event) => runTask(task, event, ctx);
    }
    // What only this machine adds: progress, and a plain stop without an archive.
    const after = (name: string, hook: (out: unknown) => void) => {
      const run = handlers[name] as TaskHandler;
      handlers[name] = async (e) => {
        const out = await run(e);
        hook(out);
        return out;
      };
    };
    const before = (name: string, hook: () => void) => {
      const run = handlers[name] as TaskHandler;
      handlers[name] = async (e) => {
        hook();
        return run(e);
      };
    };
    // Fail here, plainly, rather than in every child of OrderProducts.
    after(StateNames.ensureOnline, (out) => {
      const { offline } = EnsureOnlineOutputSchema.parse(out);
      if (offline > 0 && !archive) throw offlineWithoutArchive(offline);
    });
    after(StateNames.planWindows, (out) =>
      progress.start('extract regions', PlanWindowsOutputSchema.parse(out).regions),
    );
    after(StateNames.extractRegion, (out) =>
      progress.advance('extract regions', ExtractBatchOutputSchema.parse(out).regions),
    );
    before(StateNames.extractRegion, onExtract);
    before(StateNames.planShards, () => progress.finish('extract regions'));
    after(StateNames.planShards, (out) =>
      progress.start('write shards', PlanShardsOutputSchema.parse(out).shards),
    );
    after(StateNames.writeShard, (out) =>
      progress.advance('write shards', WriteShardsOutputSchema.parse(out).shards),
    );
    before(StateNames.commit, () => progress.finish('write shards'));
    before(StateNames.recordFailure, () => {
      progress.finish('extract regions');
      progress.finish('write shards');
    });
    handlers[OrderStateNames.orderProduct] = orders.handler;
    const output = (await runLocalWorkflow({
      input,
      handlers,
      workStore: ctx.work,
      maxConcurrency: threads,
      // WriteShard runs inline and mostly waits on reads, writes and fsync (on S3, on round trips):
      // several at once overlap those waits on the one main thread and start no CPU thread.
      mapConcurrency: { [StateNames.writeShards]: Math.max(threads, INLINE_IO_CONCURRENCY) },
      taskTokens: orders.tokens,
    })) as { commit: CommitOutput; windows: PlanWindowsOutput };
    return { ...input, commit: output.commit, windows: output.windows };
  } finally {
    await orders.close();
    await pool.destroy();
  }
}
