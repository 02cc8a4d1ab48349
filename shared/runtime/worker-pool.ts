// A pool of worker threads (piscina) for CPU-heavy steps, sized to the machine's cores. This module is
// also the workers' entry: it loads the task module there and sends its errors back with name and context.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread, workerData } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { type ErrorContext, SatfactoryError } from '../domain/errors.ts';

export type WorkerPoolOptions = {
  /** The task module: a path or file URL, TypeScript (.ts) or JavaScript. */
  readonly filename: URL | string;
  /** The export that handles one task: `(task) => result | Promise<result>`. Default: `default`. */
  readonly exportName?: string;
  /** Default: os.availableParallelism(). */
  readonly maxThreads?: number;
  /** Threads kept alive when idle. Default: 1. */
  readonly minThreads?: number;
  /** An idle thread above minThreads exits after this long. Default: 10 s. */
  readonly idleTimeoutMs?: number;
};

export type RunOptions = { readonly signal?: AbortSignal };

export interface WorkerPool<TTask, TResult> {
  /** Runs one task on a free thread (queued when all are busy); rejects with the task's error. */
  run(task: TTask, options?: RunOptions): Promise<TResult>;
  /** Stops every thread; tasks still queued reject. */
  destroy(): Promise<void>;
  readonly maxThreads: number;
  /** Tasks waiting for a thread. */
  readonly queued: number;
}

/** An error thrown in a worker, rebuilt in the parent with the worker's name, retryable flag and context. */
export class WorkerTaskError extends SatfactoryError {
  override readonly name: string;
  override readonly retryable: boolean;
  constructor(remote: RemoteError) {
    super(remote.message, remote.context ?? {});
    this.name = remote.name;
    this.retryable = remote.retryable ?? false;
    if (remote.stack) this.stack = remote.stack;
  }
}

type WorkerData = { readonly target: string; readonly exportName: string };
type RemoteError = {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly retryable?: boolean;
  readonly context?: ErrorContext;
};

/** structuredClone keeps only the message and stack of an Error: the rest travels in the message. */
const ERROR_MARKER = 'satfactory-worker-error:';
const SELF = fileURLToPath(import.meta.url);
const TYPESCRIPT = /\.[cm]?ts$/;

export function createWorkerPool<TTask, TResult>(options: WorkerPoolOptions): WorkerPool<TTask, TResult> {
  const target = options.filename instanceof URL ? options.filename : pathToFileURL(options.filename);
  const maxThreads = Math.max(1, options.maxThreads ?? availableParallelism());
  const data: WorkerData = { target: target.href, exportName: options.exportName ?? 'default' };
  const piscina = new Piscina({
    // The workers run this very module, whose runWorkerTask loads the task module and wraps its errors.
    filename: SELF,
    name: runWorkerTask.name,
    workerData: data,
    maxThreads,
    minThreads: Math.min(options.minThreads ?? 1, maxThreads),
    idleTimeout: options.idleTimeoutMs ?? 10_000,
    execArgv: workerExecArgv(TYPESCRIPT.test(SELF) || TYPESCRIPT.test(target.pathname)),
  });
  return {
    maxThreads,
    get queued() {
      return piscina.queueSize;
    },
    async run(task, runOptions) {
      try {
        return (await piscina.run(task, runOptions?.signal ? { signal: runOptions.signal } : {})) as TResult;
      } catch (error) {
        throw decodeError(error);
      }
    },
    async destroy() {
      await piscina.destroy();
    },
  };
}

/**
 * Workers inherit the parent's execArgv, so under `tsx` they can already load TypeScript. Elsewhere
 * (the CLI, vitest, plain node) Node's own type stripping loads it, which starts a thread about half
 * a second sooner than tsx's transform; only a Node without it gets tsx's loader.
 */
function workerExecArgv(typescript: boolean): string[] {
  const inherited = [...process.execArgv];
  const hasLoader = inherited.some((arg) => /[\\/]tsx[\\/]|^tsx(?:\/esm)?$/.test(arg));
  if (!typescript || hasLoader || process.features.typescript) return inherited;
  try {
    const loader = createRequire(import.meta.url).resolve('tsx');
    return [...inherited, '--import', pathToFileURL(loader).href];
  } catch {
    return inherited;
  }
}

let handler: Promise<(task: unknown) => unknown> | undefined;

// A worker loads its task module as soon as it starts (while the main thread still plans), not on
// its first task: importing the steps takes seconds of module loading per thread. A failure is
// reported by the first task that awaits it.
if (!isMainThread && (workerData as Partial<WorkerData> | null)?.target !== undefined) {
  handler = loadHandler(workerData as WorkerData);
  handler.catch(() => {});
}

/** Worker side (piscina calls it by name): runs one task, encoding its error for the trip back. */
export async function runWorkerTask(task: unknown): Promise<unknown> {
  try {
    handler ??= loadHandler(workerData as WorkerData);
    return await (await handler)(task);
  } catch (error) {
    throw encodeError(error);
  }
}

async function loadHandler({ target, exportName }: WorkerData): Promise<(task: unknown) => unknown> {
  const module = (await import(target)) as Record<string, unknown>;
  const fn = module[exportName];
  if (typeof fn !== 'function') throw new TypeError(`${target} has no function export named ${exportName}`);
  return fn as (task: unknown) => unknown;
}

function encodeError(error: unknown): Error {
  const remote: RemoteError =
    error instanceof Error
      ? {
          name: error.name,
          message: error.message,
          ...(error.stack ? { stack: error.stack } : {}),
          ...(isSatfactoryLike(error)
            ? { retryable: error.retryable, context: jsonSafe(error.context) }
            : {}),
        }
      : { name: 'Error', message: String(error) };
  return new Error(ERROR_MARKER + JSON.stringify(remote));
}

function decodeError(error: unknown): unknown {
  if (!(error instanceof Error) || !error.message.startsWith(ERROR_MARKER)) return error;
  const remote = JSON.parse(error.message.slice(ERROR_MARKER.length)) as RemoteError;
  if (remote.context !== undefined || remote.retryable !== undefined) return new WorkerTaskError(remote);
  // Not one of ours (TypeError, RangeError...): keep it a plain Error, with the worker's name and stack.
  const plain = new Error(remote.message);
  plain.name = remote.name;
  if (remote.stack) plain.stack = remote.stack;
  return plain;
}

/**
 * Duck-typed: piscina may load this module through require() and the task module through import(),
 * so the worker can hold two copies of errors.ts and instanceof would miss.
 */
function isSatfactoryLike(error: Error): error is Error & { retryable: boolean; context: ErrorContext } {
  const e = error as Error & { retryable?: unknown; context?: unknown };
  return typeof e.retryable === 'boolean' && typeof e.context === 'object' && e.context !== null;
}

function jsonSafe(context: ErrorContext): ErrorContext {
  try {
    return JSON.parse(JSON.stringify(context)) as ErrorContext;
  } catch {
    return { note: 'context was not serializable' };
  }
}
