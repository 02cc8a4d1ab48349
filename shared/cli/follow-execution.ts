// Follows an execution of the deployed workflow: one line whenever the state or the region count
// changes, then the result. Exit code 0 when it succeeded, 1 when it failed, timed out or aborted.
import type { Clock, ExecutionStatus, Executions } from '../ports.ts';

const FAILED = new Set(['FAILED', 'TIMED_OUT', 'ABORTED']);

export type FollowOptions = { clock: Clock; out: (line: string) => void; pollMs: number };

/** One line: status, the state running (or last), regions done when the map has started. */
export function progressLine(s: ExecutionStatus): string {
  const state = s.state ? ` ${s.state.running ? 'in' : 'after'} ${s.state.name}` : '';
  const map = s.mapRun
    ? `, regions ${s.mapRun.succeeded}/${s.mapRun.total}${s.mapRun.failed ? ` (${s.mapRun.failed} failed)` : ''}`
    : '';
  return `${s.status}${state}${map}`;
}

/** Lambda reports a cause as JSON {errorType, errorMessage, trace}: show the message. */
export function readableCause(cause: string | null): string | null {
  if (!cause) return null;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // Not JSON: the cause is plain text.
  }
  return cause;
}

/** The lines that end a report: the error and cause of a failed run, the dataset of a finished one. */
export function outcomeLines(s: ExecutionStatus): string[] {
  if (FAILED.has(s.status)) {
    const cause = readableCause(s.cause);
    return [
      `error      ${s.error ?? s.status}`,
      ...(cause ? [`cause      ${cause}`] : []),
      // Finished regions are not redone: redrive restarts from the failed state (for 14 days).
      `resume     aws stepfunctions redrive-execution --execution-arn ${s.executionArn}`,
    ];
  }
  if (s.status !== 'SUCCEEDED' || !s.output) return [];
  try {
    const out = JSON.parse(s.output) as { commit?: { samples?: number; shards?: number; rejected?: number } };
    const c = out.commit;
    return c ? [`${c.samples} samples in ${c.shards} shard(s), ${c.rejected} rejected`] : [];
  } catch {
    return [];
  }
}

export function isFinished(status: string): boolean {
  return status === 'SUCCEEDED' || FAILED.has(status);
}

export async function followExecution(
  executions: Executions,
  executionArn: string,
  options: FollowOptions,
): Promise<number> {
  let last = '';
  for (;;) {
    const status = await executions.describe(executionArn);
    const line = progressLine(status);
    if (line !== last) {
      options.out(line);
      last = line;
    }
    if (isFinished(status.status)) {
      for (const l of outcomeLines(status)) options.out(l);
      return status.status === 'SUCCEEDED' ? 0 : 1;
    }
    await options.clock.sleep(options.pollMs);
  }
}
