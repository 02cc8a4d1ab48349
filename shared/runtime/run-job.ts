// Runs a prepared job on this machine: stores the job spec in the work store, then executes the
// synthesized state machine with the local runtime, routing every Task state to the same step
// function its Lambda calls; ExtractRegion batches go to a worker pool sized to the cores, and offline
// products go through the in-process LTA order queue (local-orders.ts).
import os from 'node:os';
import { CdseArchive } from '../adapters/cdse-archive.ts';
import type { JobSpec } from '../domain/job-spec.ts';
import { workKeys } from '../domain/plan.ts';
import type { ArchiveOrders, Progress } from '../ports.ts';
import { commit } from '../steps/commit.ts';
import { ensureOnline } from '../steps/ensure-online.ts';
import { plan } from '../steps/plan.ts';
import { planWindows } from '../steps/plan-windows.ts';
import { prepareLabels } from '../steps/prepare-labels.ts';
import { putJson, type StepContext, storeJob } from '../work/context.ts';
import {
  type CommitOutput,
  type ExecutionInput,
  ExecutionInputSchema,
  ExtractBatchEventSchema,
  type ExtractBatchOutput,
  OrderStateNames,
  type PlanWindowsOutput,
  StateNames,
} from '../workflow/contracts.ts';
import type { ExtractWorkerTask } from './extract-worker.ts';
import { createLocalOrders, offlineWithoutArchive } from './local-orders.ts';
import { runLocalWorkflow } from './local-runtime.ts';
import { createWorkerPool } from './worker-pool.ts';

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

/** Stores the job once (a rerun finds the same run id and resumes it). */

export async function runJobLocally(options: RunOptions): Promise<RunSummary> {
  const { ctx, progress } = options;
  const input = await storeJob(ctx.work, options.job, options.runId);
  const threads = options.threads ?? Math.max(1, os.availableParallelism());
  const pool = createWorkerPool({
    filename: new URL('./extract-worker.ts', import.meta.url),
    maxThreads: threads,
  });
  const stateOf = (event: unknown) => ExecutionInputSchema.parse(event);
  // The queue only sees messages when a product is offline; otherwise it stays idle and costs nothing.
  const archive = options.archive ?? archiveFromEnv();
  const orders = createLocalOrders({
    archive,
    work: ctx.work,
    clock: ctx.clock,
    log: ctx.log,
  });
  try {
    const handlers: Record<string, (event: unknown) => Promise<unknown>> = {
      [StateNames.plan]: async (e) => plan(stateOf(e), ctx),
      [StateNames.ensureOnline]: async (e) => {
        const out = await ensureOnline(stateOf(e), ctx);
        // Fail here, plainly, rather than in every child of OrderProducts.
        if (out.offline > 0 && !archive) throw offlineWithoutArchive(out.offline);
        return out;
      },
      [StateNames.prepareLabels]: async (e) => prepareLabels(stateOf(e), ctx),
      [StateNames.planWindows]: async (e) => {
        const out = await planWindows(stateOf(e), ctx);
        progress.start('extract regions', out.regions);
        return out;
      },
      [StateNames.extractRegion]: async (e) => {
        const event = ExtractBatchEventSchema.parse(e);
        const task: ExtractWorkerTask = {
          event,
          workUri: options.workUri,
          jsonLogs: options.jsonLogs ?? false,
          verbose: options.verbose ?? false,
        };
        const out = (await pool.run(task)) as ExtractBatchOutput;
        progress.advance('extract regions', event.Items.length);
        return out;
      },
      [OrderStateNames.orderProduct]: orders.handler,
      [StateNames.commit]: async (e) => {
        progress.finish('extract regions');
        return commit(stateOf(e), ctx);
      },
      [StateNames.recordFailure]: async (e) => {
        progress.finish('extract regions');
        await putJson(ctx.work, workKeys.failure(input.runId), e);
        return e;
      },
    };
    const output = (await runLocalWorkflow({
      input,
      handlers,
      workStore: ctx.work,
      maxConcurrency: threads,
      taskTokens: orders.tokens,
    })) as { commit: CommitOutput; windows: PlanWindowsOutput };
    return { ...input, commit: output.commit, windows: output.windows };
  } finally {
    await orders.close();
    await pool.destroy();
  }
}
