// Runs the synthesized workflow (workflow.asl.json) on this machine with aws-local-stepfunctions. Task
// states call local handlers keyed by state name; Distributed Maps become local tasks (distributed-map.ts);
// `.waitForTaskToken` tasks hand their message to a local handler and wait for the token (task-tokens.ts).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ExecutionAbortedError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { BlobStore } from '../ports.ts';
import {
  isDistributedMap,
  type Json,
  type JsonObject,
  type MapProgress,
  type MapStateDefinition,
  runDistributedMap,
} from './distributed-map.ts';
import { LocalTaskTokens } from './task-tokens.ts';

/** An ASL document as JSON; only StartAt and States are read here. */
export type Asl = {
  readonly StartAt: string;
  readonly States: Record<string, JsonObject>;
  readonly [key: string]: Json;
};

/** A Task state's work: receives the state's effective input, returns its result (as a Lambda would). */
export type TaskHandler = (event: unknown) => Promise<unknown>;

/** Where an event happened: [] for the execution itself, ['ExtractRegions[3]'] inside a Map child. */
export type EventPath = readonly string[];

export type LocalWorkflowEvent =
  | { readonly type: 'ExecutionStarted' | 'ExecutionSucceeded'; readonly path: EventPath }
  | {
      readonly type: 'ExecutionFailed';
      readonly path: EventPath;
      readonly error: string;
      readonly cause: string;
    }
  | {
      readonly type: 'StateEntered' | 'StateExited';
      readonly path: EventPath;
      readonly state: string;
      readonly stateType: string;
    }
  | {
      readonly type: 'StateFailed';
      readonly path: EventPath;
      readonly state: string;
      readonly stateType: string;
      readonly error: string;
      readonly cause: string;
    }
  | {
      readonly type: 'StateRetried';
      readonly path: EventPath;
      readonly state: string;
      readonly attempt: number;
    }
  | { readonly type: 'StateCaught'; readonly path: EventPath; readonly state: string; readonly next: string }
  | ({ readonly type: 'MapProgress'; readonly path: EventPath } & MapProgress);

export type RunLocalWorkflowOptions = {
  /** Default: the checked-in shared/runtime/workflow.asl.json. */
  readonly asl?: Asl;
  readonly input: unknown;
  /**
   * One handler per Task state, keyed by state name (Plan, ExtractRegion, ...). A `.waitForTaskToken`
   * state's handler receives its Parameters with the token filled in (e.g. the SQS MessageBody) and
   * only delivers it; the state ends when `taskTokens` is answered. Those handlers are optional: a run
   * that never enters such a state needs none.
   */
  readonly handlers: Readonly<Record<string, TaskHandler>>;
  /** Answers `.waitForTaskToken` states (give the same object to their consumer). Default: a fresh one. */
  readonly taskTokens?: LocalTaskTokens;
  /** Read by ItemReader and written by ResultWriter, whatever bucket the ASL names. */
  readonly workStore: BlobStore;
  /** Caps every Distributed Map below its MaxConcurrency. */
  readonly maxConcurrency?: number;
  /** Per Distributed Map (by state name): a cap in place of maxConcurrency. */
  readonly mapConcurrency?: Readonly<Record<string, number>>;
  readonly onEvent?: (event: LocalWorkflowEvent) => void;
  /** Aborting stops starting work, waits for running handlers, then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Replaces every Retry pause with this many milliseconds (tests; 0 retries at once). */
  readonly retryIntervalMs?: number;
  /** Execution name for the Context Object and ARNs. Default: a random UUID. */
  readonly executionName?: string;
};

/** The run ended in a Fail state or an uncaught error; `name` is the ASL error name. */
export class WorkflowFailedError extends Error {
  override readonly name: string;
  constructor(error: string, cause: string, options?: ErrorOptions) {
    super(cause, options);
    this.name = error;
  }
}

export const WORKFLOW_ASL_URL = new URL('./workflow.asl.json', import.meta.url);
export const LOCAL_STATE_MACHINE_NAME = 'satfactory';
const LOCAL_ARN_PREFIX = 'arn:aws:states:local:000000000000';
/** setTimeout's ceiling (2^31-1 ms): aws-local-stepfunctions times Tasks out after 60 s by default,
 *  where AWS has no Task timeout unless TimeoutSeconds is set. */
const NO_TIMEOUT_SECONDS = 2_147_483;

export function loadWorkflowAsl(): Asl {
  return JSON.parse(readFileSync(WORKFLOW_ASL_URL, 'utf8')) as Asl;
}

/** Executes the workflow and resolves with its final output, or rejects with the error it failed with. */
export async function runLocalWorkflow(options: RunLocalWorkflowOptions): Promise<unknown> {
  // asl-validator (run by StateMachine) writes into the definitions it checks: never the caller's.
  const local = prepareLocalDefinition(options.asl ? structuredClone(options.asl) : loadWorkflowAsl());
  checkHandlers(local, options.handlers);
  // Validating the ASL compiles asl-validator's JSON schema (about a second at every start). The
  // checked-in workflow, rewritten as here, is validated by test/unit/runtime/local-runtime.test.ts;
  // a definition given by the caller is validated.
  const machineOptions = options.asl ? undefined : { validationOptions: { noValidate: true } };

  const executionName = options.executionName ?? randomUUID();
  const emit = options.onEvent ?? (() => {});
  const inflight = new Set<Promise<unknown>>();
  const thrown = new Map<string, Error>();
  options.signal?.throwIfAborted();
  const signal = options.signal ?? new AbortController().signal;

  const wrap = (handler: TaskHandler): ((input: Json) => Promise<Json>) => {
    return (input) => {
      const call = (async () => {
        try {
          // Handlers see and return JSON, as a Lambda does: no shared objects, no undefined, no Dates.
          return toJson(await handler(structuredClone(input)));
        } catch (error) {
          const normalized = asError(error);
          thrown.set(normalized.name, normalized);
          throw normalized;
        }
      })();
      inflight.add(call);
      call.then(
        () => inflight.delete(call),
        () => inflight.delete(call),
      );
      return call;
    };
  };

  const localHandlers: Record<string, (input: Json) => Promise<Json>> = {};
  for (const [name, handler] of Object.entries(options.handlers)) localHandlers[name] = wrap(handler);
  const retryIntervalOverrides =
    options.retryIntervalMs === undefined
      ? undefined
      : Object.fromEntries([...local.retryStates].map((name) => [name, options.retryIntervalMs as number]));
  const runOptions = (context: JsonObject) => ({
    overrides: {
      taskResourceLocalHandlers: localHandlers,
      ...(retryIntervalOverrides ? { retryIntervalOverrides } : {}),
    },
    context,
  });

  const execute = async (
    machine: StateMachine,
    input: Json,
    name: string,
    path: EventPath,
  ): Promise<Json> => {
    const context = executionContext(name, input);
    const execution = machine.run(input, runOptions(context));
    const onAbort = () => execution.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const pump = forwardEvents(execution.eventLogs, path, local.mapStates, emit);
    try {
      return await execution.result;
    } finally {
      signal.removeEventListener('abort', onAbort);
      await pump;
    }
  };

  // A callback Task: deliver the message with a fresh token, then wait for the token's answer.
  const tokens = options.taskTokens ?? new LocalTaskTokens();
  for (const name of local.callbackStates) {
    const handler = options.handlers[name];
    localHandlers[name] = wrap(async (input) => {
      if (!handler) {
        throw new Error(`no local handler for the callback Task ${name}: this run needs one to go on`);
      }
      const { token, result } = tokens.issue();
      await handler(withTaskToken(input as Json, token));
      return result;
    });
  }

  // Each Distributed Map becomes a local Task whose handler runs the Map Run.
  for (const [name, map] of local.mapStates) {
    const cap = options.mapConcurrency?.[name] ?? options.maxConcurrency;
    const processor = new StateMachine(map.processor as unknown as StateMachineDefinition, machineOptions);
    localHandlers[name] = wrap(async (input) =>
      runDistributedMap({
        stateName: name,
        state: map.state,
        input: input as Json,
        context: executionContext(executionName, input as Json),
        workStore: options.workStore,
        signal,
        stateMachineName: LOCAL_STATE_MACHINE_NAME,
        ...(cap === undefined ? {} : { maxConcurrency: cap }),
        onProgress: (progress) => emit({ type: 'MapProgress', path: [], ...progress }),
        runChild: (childInput, index) =>
          execute(processor, childInput, `${executionName}-${name}-${index}`, [`${name}[${index}]`]).catch(
            (error: unknown) => {
              throw unwrapExecutionError(error);
            },
          ),
      }),
    );
  }

  const machine = new StateMachine(local.definition as unknown as StateMachineDefinition, machineOptions);
  try {
    return await execute(machine, toJson(options.input), executionName, []);
  } catch (error) {
    // Tokens still waited on belong to the ended run: their consumers get TaskGoneError from now on.
    tokens.cancelAll(new Error('the local workflow ended'));
    // Nothing may keep writing to the store once the run has returned.
    await Promise.allSettled([...inflight]);
    if (error instanceof ExecutionAbortedError || signal.aborted) {
      throw options.signal?.reason ?? new DOMException('the local workflow was aborted', 'AbortError');
    }
    const cause = unwrapExecutionError(error);
    const original = thrown.get(cause.name);
    // A Fail state rethrows the caught error by name and message: give back the handler's own error,
    // with its class and context, rather than a copy.
    if (original && (original === cause || original.message === cause.message)) throw original;
    throw new WorkflowFailedError(cause.name, cause.message, { cause });
  }
}

export type LocalMap = { readonly state: MapStateDefinition; readonly processor: Asl };
/** The ASL as aws-local-stepfunctions will run it, and what the runtime must provide for it. */
export type LocalDefinition = {
  readonly definition: Asl;
  /** Task states that need a handler (the synthesized map tasks excluded). */
  readonly taskStates: Set<string>;
  readonly retryStates: Set<string>;
  readonly mapStates: Map<string, LocalMap>;
  /** `.waitForTaskToken` Task states: their handlers deliver a message, the token ends them. */
  readonly callbackStates: Set<string>;
};

/** Stands for `$$.Task.Token` in a rewritten callback state's Parameters, until a token is issued. */
export const LOCAL_TASK_TOKEN_PLACEHOLDER = '<<satfactory-local-task-token>>';
const WAIT_FOR_TASK_TOKEN = '.waitForTaskToken';

/** Rewrites the ASL for aws-local-stepfunctions: Distributed Maps to local tasks, Task timeouts lifted. */
export function prepareLocalDefinition(asl: Asl): LocalDefinition {
  const local: LocalDefinition = {
    definition: asl,
    taskStates: new Set(),
    retryStates: new Set(),
    mapStates: new Map(),
    callbackStates: new Set(),
  };
  return { ...local, definition: rewrite(asl, local) };
}

function rewrite(definition: Asl, local: LocalDefinition): Asl {
  const states: Record<string, JsonObject> = {};
  for (const [name, original] of Object.entries(definition.States)) {
    const state = withoutRootResultPaths(original);
    if (Array.isArray(state.Retry)) local.retryStates.add(name);
    if (isDistributedMap(state)) {
      if (local.mapStates.has(name)) throw new Error(`two Distributed Map states are named ${name}`);
      const { ProcessorConfig: _, ...processor } = state.ItemProcessor as JsonObject;
      local.mapStates.set(name, { state, processor: rewrite(processor as Asl, local) });
      states[name] = mapAsTask(name, state);
    } else if (
      state.Type === 'Task' &&
      typeof state.Resource === 'string' &&
      state.Resource.endsWith(WAIT_FOR_TASK_TOKEN)
    ) {
      local.callbackStates.add(name);
      states[name] = callbackAsTask(name, state);
    } else if (state.Type === 'Task') {
      local.taskStates.add(name);
      states[name] = { TimeoutSeconds: NO_TIMEOUT_SECONDS, ...state };
    } else if (state.Type === 'Map') {
      const key = state.ItemProcessor ? 'ItemProcessor' : 'Iterator';
      states[name] = { ...state, [key]: rewrite(state[key] as Asl, local) };
    } else if (state.Type === 'Parallel' && Array.isArray(state.Branches)) {
      states[name] = { ...state, Branches: state.Branches.map((b) => rewrite(b as Asl, local)) };
    } else {
      states[name] = state;
    }
  }
  return { ...definition, States: states };
}

/**
 * `ResultPath: "$"` means "the result replaces the input", the same as no ResultPath; but
 * aws-local-stepfunctions 3.0.0 stores the result under a key named "$" instead. Drop it.
 */
function withoutRootResultPaths(state: JsonObject): JsonObject {
  const { ResultPath, ...rest } = state;
  const fixed: JsonObject = ResultPath === '$' ? rest : state;
  if (!Array.isArray(fixed.Catch)) return fixed;
  const Catch = fixed.Catch.map((catcher) => {
    if (
      typeof catcher !== 'object' ||
      catcher === null ||
      Array.isArray(catcher) ||
      catcher.ResultPath !== '$'
    ) {
      return catcher;
    }
    const { ResultPath: _, ...kept } = catcher;
    return kept;
  });
  return { ...fixed, Catch };
}

/** A Task with the Map's transitions and data flow; its handler does the Map Run. */
function mapAsTask(name: string, state: MapStateDefinition): JsonObject {
  const task: JsonObject = {
    Type: 'Task',
    Resource: `arn:aws:lambda:local:000000000000:function:satfactory-local-map-${name}`,
    TimeoutSeconds: NO_TIMEOUT_SECONDS,
  };
  for (const key of [
    'Comment',
    'InputPath',
    'ResultSelector',
    'ResultPath',
    'OutputPath',
    'Retry',
    'Catch',
    'Next',
    'End',
  ]) {
    if (key in state) task[key] = state[key] as Json;
  }
  return task;
}

/**
 * A `.waitForTaskToken` Task as a local Task: same data flow, Retry and Catch; the token path becomes
 * a placeholder. HeartbeatSeconds and TimeoutSeconds are not enforced locally: the local consumer
 * heartbeats on a clock that may be simulated, and a local run is watched by its user.
 */
function callbackAsTask(name: string, state: JsonObject): JsonObject {
  const { HeartbeatSeconds: _h, HeartbeatSecondsPath: _hp, TimeoutSecondsPath: _tp, ...rest } = state;
  return {
    ...rest,
    Resource: `arn:aws:lambda:local:000000000000:function:satfactory-local-callback-${name}`,
    TimeoutSeconds: NO_TIMEOUT_SECONDS,
    ...(state.Parameters === undefined ? {} : { Parameters: placeholderForToken(state.Parameters) }),
  };
}

function placeholderForToken(template: Json): Json {
  if (Array.isArray(template)) return template.map(placeholderForToken);
  if (template === null || typeof template !== 'object') return template;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$') && value === '$$.Task.Token') out[key.slice(0, -2)] = LOCAL_TASK_TOKEN_PLACEHOLDER;
    else out[key] = placeholderForToken(value);
  }
  return out;
}

function withTaskToken(value: Json, token: string): Json {
  if (value === LOCAL_TASK_TOKEN_PLACEHOLDER) return token;
  if (Array.isArray(value)) return value.map((v) => withTaskToken(v, token));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withTaskToken(v, token)]));
}

function checkHandlers(local: LocalDefinition, handlers: Readonly<Record<string, TaskHandler>>): void {
  // A Task without a local handler would make aws-local-stepfunctions call the real Lambda ARN.
  const missing = [...local.taskStates].filter((name) => typeof handlers[name] !== 'function');
  if (missing.length > 0) throw new Error(`no local handler for Task state(s) ${missing.join(', ')}`);
  const unknown = Object.keys(handlers).filter(
    (name) => !local.taskStates.has(name) && !local.callbackStates.has(name),
  );
  if (unknown.length > 0)
    throw new Error(`handlers given for states that are not Tasks: ${unknown.join(', ')}`);
}

function executionContext(name: string, input: Json): JsonObject {
  return {
    Execution: {
      Id: `${LOCAL_ARN_PREFIX}:execution:${LOCAL_STATE_MACHINE_NAME}:${name}`,
      Name: name,
      Input: input,
      StartTime: new Date().toISOString(),
    },
    StateMachine: {
      Id: `${LOCAL_ARN_PREFIX}:stateMachine:${LOCAL_STATE_MACHINE_NAME}`,
      Name: LOCAL_STATE_MACHINE_NAME,
    },
  };
}

type LibraryEvent = {
  type: string;
  state?: { name: string; type: string };
  Error?: string;
  Cause?: unknown;
  retry?: { attempt: number };
  catch?: { catcher: { Next: string } };
};

async function forwardEvents(
  events: AsyncGenerator<unknown>,
  path: EventPath,
  mapStates: ReadonlyMap<string, unknown>,
  emit: (event: LocalWorkflowEvent) => void,
): Promise<void> {
  for await (const raw of events) {
    const event = raw as LibraryEvent;
    const state = event.state?.name ?? '';
    // The rewritten Distributed Maps are still Maps to whoever watches.
    const stateType = mapStates.has(state) ? 'Map' : (event.state?.type ?? '');
    const error = event.Error ?? 'Error';
    const cause = event.Cause instanceof Error ? event.Cause.message : String(event.Cause ?? '');
    switch (event.type) {
      case 'ExecutionStarted':
      case 'ExecutionSucceeded':
        emit({ type: event.type, path });
        break;
      case 'ExecutionFailed':
        emit({ type: event.type, path, error, cause });
        break;
      case 'StateEntered':
      case 'StateExited':
        emit({ type: event.type, path, state, stateType });
        break;
      case 'StateFailed':
        emit({ type: event.type, path, state, stateType, error, cause });
        break;
      case 'StateRetried':
        emit({ type: event.type, path, state, attempt: event.retry?.attempt ?? 0 });
        break;
      case 'StateCaught':
        emit({ type: event.type, path, state, next: event.catch?.catcher.Next ?? '' });
        break;
      default:
        // Inline Map iterations and Parallel branches: their states are reported above.
        break;
    }
  }
}

/** aws-local-stepfunctions wraps the error that ended an execution in an ExecutionError. */
function unwrapExecutionError(error: unknown): Error {
  if (error instanceof Error && error.name === 'ExecutionError' && error.cause instanceof Error)
    return error.cause;
  return asError(error);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function toJson(value: unknown): Json {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as Json);
}
