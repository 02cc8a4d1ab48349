// What Step Functions does for a Distributed Map state, on this machine: read the items (ItemReader or
// ItemsPath), select, batch, run each child with a concurrency cap, judge failures, write the results.
import { randomUUID } from 'node:crypto';
import { SatfactoryError } from '../domain/errors.ts';
import type { BlobStore } from '../ports.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** The fields of a Map state this module reads; anything else of a Map state is the caller's. */
export type MapStateDefinition = {
  readonly Type: 'Map';
  readonly ItemProcessor?: JsonObject;
  readonly ItemReader?: JsonObject;
  readonly ItemsPath?: string;
  readonly ItemSelector?: JsonObject;
  /** The pre-2022 name of ItemSelector. */
  readonly Parameters?: JsonObject;
  readonly ItemBatcher?: JsonObject;
  readonly ResultWriter?: JsonObject;
  readonly MaxConcurrency?: number;
  readonly MaxConcurrencyPath?: string;
  readonly ToleratedFailurePercentage?: number;
  readonly ToleratedFailurePercentagePath?: string;
  readonly ToleratedFailureCount?: number;
  readonly ToleratedFailureCountPath?: string;
  readonly Label?: string;
  readonly [key: string]: unknown;
};

/** Progress of one Map Run, reported at its start and after each child. */
export type MapProgress = {
  readonly state: string;
  readonly mapRunArn: string;
  readonly batchesTotal: number;
  readonly batchesDone: number;
  readonly batchesFailed: number;
  readonly itemsTotal: number;
  readonly itemsDone: number;
  readonly itemsFailed: number;
};

export type RunDistributedMapOptions = {
  readonly stateName: string;
  readonly state: MapStateDefinition;
  /** The Map state's effective input (after InputPath). */
  readonly input: Json;
  /** The Context Object, for `$$.` paths. */
  readonly context?: JsonObject;
  /** Plays the bucket of ItemReader and ResultWriter: the local runtime has one work store. */
  readonly workStore: BlobStore;
  /** Runs one child workflow execution; rejects with the error that failed it. */
  readonly runChild: (input: Json, index: number) => Promise<Json>;
  /** A cap on top of the state's MaxConcurrency (the machine has fewer cores than Lambda has). */
  readonly maxConcurrency?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: MapProgress) => void;
  /** Name used in ARNs, like the deployed state machine's name. */
  readonly stateMachineName?: string;
};

/** Distributed Map's own default when MaxConcurrency is absent or 0. */
const AWS_DEFAULT_MAX_CONCURRENCY = 10_000;
/** ItemBatcher's ceiling per child input when no batch limit is given. */
const AWS_MAX_BATCH_BYTES = 256 * 1024;
const LOCAL_ARN = { region: 'local', account: '000000000000' } as const;

/** The Map Run failed more children than ToleratedFailurePercentage/Count allow. */
export class ToleratedFailureThresholdError extends SatfactoryError {
  override readonly name = 'States.ExceedToleratedFailureThreshold';
}

/** A JSONPath or a state field the local runtime does not emulate: fail loudly, never guess. */
export class UnsupportedStateError extends SatfactoryError {
  override readonly name = 'UnsupportedStateError';
}

/** A path that points at nothing, as Step Functions reports it. */
export class StatesRuntimeError extends SatfactoryError {
  override readonly name = 'States.Runtime';
}

export function isDistributedMap(state: unknown): state is MapStateDefinition {
  if (!isObject(state) || state.Type !== 'Map') return false;
  const config = isObject(state.ItemProcessor) ? state.ItemProcessor.ProcessorConfig : undefined;
  return isObject(config) && config.Mode === 'DISTRIBUTED';
}

/** Runs one Map Run and returns the Map state's raw result (before ResultSelector/ResultPath). */
export async function runDistributedMap(options: RunDistributedMapOptions): Promise<Json> {
  const { state, input, stateName, workStore } = options;
  const context = options.context ?? {};
  const mapRunId = randomUUID();
  const machine = options.stateMachineName ?? 'satfactory';
  const label = state.Label ?? stateName;
  const arn = (kind: string, id: string) =>
    `arn:aws:states:${LOCAL_ARN.region}:${LOCAL_ARN.account}:${kind}:${machine}/${label}:${id}`;
  const mapRunArn = arn('mapRun', mapRunId);

  const items = (await readItems(state, input, context, workStore)).map((item, index) =>
    selectItem(state, input, context, item, index),
  );
  const batches = batchItems(state, input, context, items);
  const limit = Math.max(
    1,
    Math.min(
      numberField(state, 'MaxConcurrency', input, context) || AWS_DEFAULT_MAX_CONCURRENCY,
      options.maxConcurrency ?? Number.POSITIVE_INFINITY,
    ),
  );
  const tolerance = {
    percentage: optionalNumberField(state, 'ToleratedFailurePercentage', input, context),
    count: optionalNumberField(state, 'ToleratedFailureCount', input, context),
  };

  const records: ChildRecord[] = [];
  const progress = {
    state: stateName,
    mapRunArn,
    batchesTotal: batches.length,
    batchesDone: 0,
    batchesFailed: 0,
    itemsTotal: items.length,
    itemsDone: 0,
    itemsFailed: 0,
  };
  options.onProgress?.({ ...progress });

  let next = 0;
  let exceeded = false;
  const exceeds = (failed: number): boolean => {
    if (tolerance.percentage === undefined && tolerance.count === undefined) return failed > 0;
    const overPercentage =
      tolerance.percentage !== undefined && (failed / Math.max(1, items.length)) * 100 > tolerance.percentage;
    const overCount = tolerance.count !== undefined && failed > tolerance.count;
    return overPercentage || overCount;
  };
  const lane = async (): Promise<void> => {
    // Like AWS, stop starting children once the threshold is exceeded; unlike AWS, let running ones
    // finish, so no handler still writes to the store after the run has returned.
    while (!exceeded && !options.signal?.aborted && next < batches.length) {
      const index = next++;
      const batch = batches[index] as Batch;
      const startDate = new Date().toISOString();
      const name = randomUUID();
      const base = { index, name, executionArn: arn('execution', name), input: batch.input, startDate };
      try {
        const output = await options.runChild(batch.input, index);
        records.push({ ...base, stopDate: new Date().toISOString(), status: 'SUCCEEDED', output });
      } catch (error) {
        const { name: errorName, message } = describe(error);
        records.push({
          ...base,
          stopDate: new Date().toISOString(),
          status: 'FAILED',
          error: errorName,
          cause: message,
        });
        progress.batchesFailed += 1;
        progress.itemsFailed += batch.size;
        if (exceeds(progress.itemsFailed)) exceeded = true;
      }
      progress.batchesDone += 1;
      progress.itemsDone += batch.size;
      options.onProgress?.({ ...progress });
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, batches.length) }, lane));
  records.sort((a, b) => a.index - b.index);

  const output = await writeResults(state, input, context, workStore, mapRunArn, mapRunId, records);
  if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
  if (exceeded) {
    const first = records.find((r) => r.status === 'FAILED');
    throw new ToleratedFailureThresholdError(
      `The specified tolerated failure threshold was exceeded: ${progress.itemsFailed} of ${items.length} items failed` +
        (first ? `; first failure ${first.error}: ${first.cause}` : ''),
      { mapRunArn, itemsFailed: progress.itemsFailed, itemsTotal: items.length, results: resultsKey(output) },
    );
  }
  return output;
}

type Batch = { readonly input: Json; readonly size: number };

type ChildRecord = {
  readonly index: number;
  readonly name: string;
  readonly executionArn: string;
  readonly input: Json;
  readonly startDate: string;
  readonly stopDate: string;
} & (
  | { readonly status: 'SUCCEEDED'; readonly output: Json }
  | { readonly status: 'FAILED'; readonly error: string; readonly cause: string }
);

async function readItems(
  state: MapStateDefinition,
  input: Json,
  context: JsonObject,
  store: BlobStore,
): Promise<Json[]> {
  const reader = state.ItemReader;
  if (!reader) {
    const items = evaluatePath(state.ItemsPath ?? '$', input, context);
    if (!Array.isArray(items))
      throw new StatesRuntimeError(`ItemsPath ${state.ItemsPath ?? '$'} is not an array`);
    return items;
  }
  if (reader.Resource !== 'arn:aws:states:::s3:getObject') {
    throw new UnsupportedStateError(`ItemReader resource ${String(reader.Resource)} is not emulated locally`);
  }
  const parameters = processPayloadTemplate(reader.Parameters ?? {}, input, context);
  const key = isObject(parameters) ? parameters.Key : undefined;
  if (typeof key !== 'string') throw new StatesRuntimeError('ItemReader Parameters have no Key');
  const config = isObject(reader.ReaderConfig) ? reader.ReaderConfig : {};
  const bytes = await store.get(key);
  if (bytes === undefined) {
    throw new StatesRuntimeError(`ItemReader cannot read ${store.uri}/${key}: it does not exist`, {
      source: `${store.uri}/${key}`,
    });
  }
  const text = new TextDecoder().decode(bytes);
  let items: Json[];
  switch (config.InputType) {
    case 'JSONL':
      items = text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line, index) => parseJson(line, `${store.uri}/${key}`, index));
      break;
    case 'JSON': {
      const parsed = parseJson(text, `${store.uri}/${key}`);
      if (!Array.isArray(parsed)) throw new StatesRuntimeError(`${store.uri}/${key} is not a JSON array`);
      items = parsed;
      break;
    }
    default:
      throw new UnsupportedStateError(
        `ItemReader InputType ${String(config.InputType)} is not emulated locally`,
      );
  }
  const maxItems = optionalNumberField(config, 'MaxItems', input, context);
  return maxItems ? items.slice(0, maxItems) : items;
}

function selectItem(
  state: MapStateDefinition,
  input: Json,
  context: JsonObject,
  item: Json,
  index: number,
): Json {
  const selector = state.ItemSelector ?? state.Parameters;
  if (selector === undefined) return item;
  return processPayloadTemplate(selector, input, {
    ...context,
    Map: { Item: { Index: index, Value: item } },
  });
}

function batchItems(state: MapStateDefinition, input: Json, context: JsonObject, items: Json[]): Batch[] {
  const batcher = state.ItemBatcher;
  if (!batcher) return items.map((item) => ({ input: item, size: 1 }));
  const maxItems =
    optionalNumberField(batcher, 'MaxItemsPerBatch', input, context) ?? Number.POSITIVE_INFINITY;
  const maxBytes =
    optionalNumberField(batcher, 'MaxInputBytesPerBatch', input, context) ?? AWS_MAX_BATCH_BYTES;
  const batchInput =
    batcher.BatchInput === undefined ? undefined : processPayloadTemplate(batcher.BatchInput, input, context);
  const make = (batch: Json[]): Batch => ({
    input: batchInput === undefined ? { Items: batch } : { BatchInput: batchInput, Items: batch },
    size: batch.length,
  });
  const batches: Batch[] = [];
  let current: Json[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item));
    if (current.length > 0 && (current.length >= maxItems || bytes + size > maxBytes)) {
      batches.push(make(current));
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(make(current));
  return batches;
}

/** Writes like ResultWriter (transformation NONE, JSON) and returns what the Map state outputs. */
async function writeResults(
  state: MapStateDefinition,
  input: Json,
  context: JsonObject,
  store: BlobStore,
  mapRunArn: string,
  mapRunId: string,
  records: ChildRecord[],
): Promise<Json> {
  const writer = state.ResultWriter;
  if (!writer) {
    // Without a writer the outputs come back inline, as a Distributed Map without ResultWriter does.
    return records.flatMap((r) => (r.status === 'SUCCEEDED' ? [r.output] : []));
  }
  const config = isObject(writer.WriterConfig) ? writer.WriterConfig : {};
  if ((config.Transformation ?? 'NONE') !== 'NONE' || (config.OutputType ?? 'JSON') !== 'JSON') {
    throw new UnsupportedStateError('ResultWriter WriterConfig other than NONE/JSON is not emulated locally');
  }
  if (writer.Resource !== 'arn:aws:states:::s3:putObject') {
    throw new UnsupportedStateError(
      `ResultWriter resource ${String(writer.Resource)} is not emulated locally`,
    );
  }
  const parameters = processPayloadTemplate(writer.Parameters ?? {}, input, context);
  const bucket = isObject(parameters) && typeof parameters.Bucket === 'string' ? parameters.Bucket : 'local';
  const prefix = isObject(parameters) && typeof parameters.Prefix === 'string' ? parameters.Prefix : '';
  const base = `${prefix.replace(/\/+$/, '')}${prefix ? '/' : ''}${mapRunId}`;
  const files: Record<'SUCCEEDED' | 'FAILED' | 'PENDING', { Key: string; Size: number }[]> = {
    FAILED: [],
    PENDING: [],
    SUCCEEDED: [],
  };
  for (const status of ['SUCCEEDED', 'FAILED'] as const) {
    const entries = records.filter((r) => r.status === status).map(resultEntry);
    if (entries.length === 0) continue;
    const key = `${base}/${status}_0.json`;
    const body = JSON.stringify(entries);
    await store.put(key, body, { contentType: 'application/json' });
    files[status].push({ Key: key, Size: Buffer.byteLength(body) });
  }
  const manifestKey = `${base}/manifest.json`;
  const manifest = { DestinationBucket: bucket, MapRunArn: mapRunArn, ResultFiles: files };
  await store.put(manifestKey, JSON.stringify(manifest), { contentType: 'application/json' });
  return { MapRunArn: mapRunArn, ResultWriterDetails: { Bucket: bucket, Key: manifestKey } };
}

/** One entry of SUCCEEDED_n.json / FAILED_n.json, shaped like the child execution records AWS writes. */
function resultEntry(record: ChildRecord): JsonObject {
  const common = {
    ExecutionArn: record.executionArn,
    Input: JSON.stringify(record.input),
    InputDetails: { Included: true },
    Name: record.name,
    RedriveCount: 0,
    StartDate: record.startDate,
    StopDate: record.stopDate,
  };
  return record.status === 'SUCCEEDED'
    ? {
        ...common,
        Output: JSON.stringify(record.output),
        OutputDetails: { Included: true },
        RedriveStatus: 'NOT_REDRIVABLE',
        Status: 'SUCCEEDED',
      }
    : { ...common, Cause: record.cause, Error: record.error, RedriveStatus: 'REDRIVABLE', Status: 'FAILED' };
}

function resultsKey(output: Json): string | undefined {
  if (!isObject(output) || !isObject(output.ResultWriterDetails)) return undefined;
  const key = output.ResultWriterDetails.Key;
  return typeof key === 'string' ? key : undefined;
}

/** A number field given either as `Name` or as a path in `NamePath`. */
function optionalNumberField(
  holder: Record<string, unknown>,
  name: string,
  input: Json,
  context: JsonObject,
): number | undefined {
  const literal = holder[name];
  if (typeof literal === 'number') return literal;
  const path = holder[`${name}Path`];
  if (typeof path !== 'string') return undefined;
  const value = evaluatePath(path, input, context);
  if (typeof value !== 'number') throw new StatesRuntimeError(`${name}Path ${path} is not a number`);
  return value;
}

function numberField(
  holder: Record<string, unknown>,
  name: string,
  input: Json,
  context: JsonObject,
): number {
  return optionalNumberField(holder, name, input, context) ?? 0;
}

/**
 * Evaluates a JSONPath of the forms Step Functions' reference paths use: `$`, `$.a.b`, `$.a[0]`,
 * `$['a b']`, and `$$.`-rooted paths into the Context Object. Wildcards and filters are refused.
 */
export function evaluatePath(path: string, input: Json, context: JsonObject = {}): Json {
  const fromContext = path.startsWith('$$');
  let value: Json | undefined = fromContext ? context : input;
  let rest = path.slice(fromContext ? 2 : 1);
  if (!path.startsWith('$')) throw new UnsupportedStateError(`${path} is not a JSONPath`);
  while (rest.length > 0) {
    const match = /^\.([^.[\]]+)|^\[(\d+)\]|^\['([^']*)'\]|^\["([^"]*)"\]/.exec(rest);
    if (!match || match[1] === '*') {
      throw new UnsupportedStateError(
        `JSONPath ${path} is not supported by the local runtime (near "${rest}")`,
      );
    }
    const step: string | number =
      match[2] !== undefined ? Number(match[2]) : (match[1] ?? match[3] ?? match[4] ?? '');
    value =
      typeof step === 'number'
        ? Array.isArray(value)
          ? value[step]
          : undefined
        : isObject(value) && Object.hasOwn(value, step)
          ? value[step]
          : undefined;
    if (value === undefined) throw new StatesRuntimeError(`JSONPath ${path} does not point to a value`);
    rest = rest.slice(match[0].length);
  }
  return value as Json;
}

/** Applies a Parameters-style template: keys ending in `.$` take the value their path points at. */
export function processPayloadTemplate(template: Json, input: Json, context: JsonObject = {}): Json {
  if (Array.isArray(template)) return template.map((t) => processPayloadTemplate(t, input, context));
  if (!isObject(template)) return template;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$')) {
      if (typeof value !== 'string') throw new StatesRuntimeError(`${key} must be a path string`);
      if (value.startsWith('States.')) {
        throw new UnsupportedStateError(`intrinsic function in ${key} is not supported by the local runtime`);
      }
      out[key.slice(0, -2)] = evaluatePath(value, input, context);
    } else {
      out[key] = processPayloadTemplate(value, input, context);
    }
  }
  return out;
}

function parseJson(text: string, source: string, line?: number): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (cause) {
    const where = line === undefined ? source : `${source} line ${line + 1}`;
    throw new StatesRuntimeError(
      `ItemReader cannot parse ${where} as JSON`,
      { source, ...(line === undefined ? {} : { index: line }) },
      {
        cause,
      },
    );
  }
}

function describe(error: unknown): { name: string; message: string } {
  // An ExecutionError of aws-local-stepfunctions carries the child's real error as its cause.
  const inner =
    error instanceof Error && error.name === 'ExecutionError' && error.cause instanceof Error
      ? error.cause
      : error;
  return inner instanceof Error
    ? { name: inner.name, message: inner.message }
    : { name: 'Error', message: String(inner) };
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
