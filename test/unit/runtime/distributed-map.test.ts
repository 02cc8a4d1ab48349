// The local Distributed Map does what Step Functions does with the same fields: reads, selects and
// batches items, caps concurrency, judges failures against the tolerance, writes ResultWriter files.
import { describe, expect, it } from 'vitest';
import {
  evaluatePath,
  isDistributedMap,
  type Json,
  type MapProgress,
  type MapStateDefinition,
  processPayloadTemplate,
  type RunDistributedMapOptions,
  runDistributedMap,
  StatesRuntimeError,
  ToleratedFailureThresholdError,
  UnsupportedStateError,
} from '../../../shared/runtime/distributed-map.ts';
import { MemoryBlobStore } from '../../helpers/memory-blob-store.ts';

const PROCESSOR = {
  ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
  StartAt: 'Work',
  States: { Work: { Type: 'Task', Resource: 'arn:aws:lambda:local:000000000000:function:w', End: true } },
};
const READER = {
  Resource: 'arn:aws:states:::s3:getObject',
  ReaderConfig: { InputType: 'JSONL' },
  Parameters: { Bucket: 'satfactory-work', 'Key.$': '$.windows.regionsKey' },
};
const WRITER = {
  Resource: 'arn:aws:states:::s3:putObject',
  Parameters: { Bucket: 'satfactory-work', Prefix: 'map-results/' },
};
const INPUT = { runId: 'r1', windows: { regionsKey: 'runs/r1/regions.jsonl' } };

function mapState(fields: Partial<MapStateDefinition> = {}): MapStateDefinition {
  return { Type: 'Map', ItemProcessor: PROCESSOR, ItemReader: READER, ...fields };
}

async function storeWith(
  items: Json[],
  key = 'runs/r1/regions.jsonl',
  asJson = false,
): Promise<MemoryBlobStore> {
  const store = new MemoryBlobStore();
  await store.put(
    key,
    asJson ? JSON.stringify(items) : `${items.map((i) => JSON.stringify(i)).join('\n')}\n`,
  );
  return store;
}

const regions = (n: number) => Array.from({ length: n }, (_, i) => ({ regionId: `g${i}` }));

type Recorder = { inputs: Json[]; maxActive: number; progress: MapProgress[] };

function options(
  state: MapStateDefinition,
  store: MemoryBlobStore,
  child: (input: Json, index: number) => Promise<Json> = async (input) => ({ echoed: input }),
  extra: Partial<RunDistributedMapOptions> = {},
): RunDistributedMapOptions & { recorder: Recorder } {
  const recorder: Recorder = { inputs: [], maxActive: 0, progress: [] };
  let active = 0;
  return {
    recorder,
    stateName: 'ExtractRegions',
    state,
    input: INPUT,
    workStore: store,
    onProgress: (p) => recorder.progress.push(p),
    runChild: async (input, index) => {
      recorder.inputs.push(input);
      active += 1;
      recorder.maxActive = Math.max(recorder.maxActive, active);
      try {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return await child(input, index);
      } finally {
        active -= 1;
      }
    },
    ...extra,
  };
}

describe('evaluatePath', () => {
  const doc = { a: { b: [10, { c: 'deep' }] }, 'x y': 1, zero: 0, nothing: null };

  it('follows dots, indexes and quoted names', () => {
    expect(evaluatePath('$', doc)).toBe(doc);
    expect(evaluatePath('$.a.b[1].c', doc)).toBe('deep');
    expect(evaluatePath("$['x y']", doc)).toBe(1);
    expect(evaluatePath('$["a"].b[0]', doc)).toBe(10);
    expect(evaluatePath('$.zero', doc)).toBe(0);
    expect(evaluatePath('$.nothing', doc)).toBeNull();
  });

  it('reads the Context Object through $$', () => {
    expect(evaluatePath('$$.Map.Item.Index', doc, { Map: { Item: { Index: 4, Value: 'v' } } })).toBe(4);
  });

  it('fails like Step Functions on a path to nothing, and refuses what it does not emulate', () => {
    expect(() => evaluatePath('$.a.missing', doc)).toThrow(StatesRuntimeError);
    expect(() => evaluatePath('$.a.b[5]', doc)).toThrow(/does not point to a value/);
    expect(() => evaluatePath('$.a.*', doc)).toThrow(UnsupportedStateError);
    expect(() => evaluatePath('$..c', doc)).toThrow(UnsupportedStateError);
    expect(() => evaluatePath('a.b', doc)).toThrow(UnsupportedStateError);
  });
});

describe('processPayloadTemplate', () => {
  it('resolves .$ keys at any depth and copies the rest', () => {
    const out = processPayloadTemplate(
      { 'id.$': '$.runId', fixed: 1, nested: { 'key.$': '$.windows.regionsKey' }, list: [{ 'i.$': '$$.n' }] },
      INPUT,
      { n: 3 },
    );
    expect(out).toEqual({ id: 'r1', fixed: 1, nested: { key: 'runs/r1/regions.jsonl' }, list: [{ i: 3 }] });
  });

  it('refuses intrinsic functions rather than passing them through', () => {
    expect(() => processPayloadTemplate({ 'k.$': "States.Format('{}', $.runId)" }, INPUT)).toThrow(
      UnsupportedStateError,
    );
  });
});

describe('isDistributedMap', () => {
  it('tells a Distributed Map from an inline one and from other states', () => {
    expect(isDistributedMap(mapState())).toBe(true);
    expect(isDistributedMap({ Type: 'Map', ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' } } })).toBe(
      false,
    );
    expect(isDistributedMap({ Type: 'Map', Iterator: {} })).toBe(false);
    expect(isDistributedMap({ Type: 'Task' })).toBe(false);
  });
});

describe('runDistributedMap', () => {
  it('reads the JSONL named by Key.$, batches with BatchInput and writes results like ResultWriter', async () => {
    const store = await storeWith(regions(5));
    const state = mapState({
      ItemBatcher: { MaxItemsPerBatch: 2, BatchInput: { 'runId.$': '$.runId', stage: 'dev' } },
      ResultWriter: WRITER,
    });
    const o = options(state, store, async (input) => ({ n: (input as { Items: Json[] }).Items.length }));
    const output = (await runDistributedMap(o)) as {
      MapRunArn: string;
      ResultWriterDetails: { Bucket: string; Key: string };
    };

    expect(o.recorder.inputs).toEqual([
      { BatchInput: { runId: 'r1', stage: 'dev' }, Items: [{ regionId: 'g0' }, { regionId: 'g1' }] },
      { BatchInput: { runId: 'r1', stage: 'dev' }, Items: [{ regionId: 'g2' }, { regionId: 'g3' }] },
      { BatchInput: { runId: 'r1', stage: 'dev' }, Items: [{ regionId: 'g4' }] },
    ]);
    expect(output.ResultWriterDetails.Bucket).toBe('satfactory-work');
    const runId = output.MapRunArn.split(':').at(-1);
    expect(output.ResultWriterDetails.Key).toBe(`map-results/${runId}/manifest.json`);
    expect(store.json(output.ResultWriterDetails.Key)).toEqual({
      DestinationBucket: 'satfactory-work',
      MapRunArn: output.MapRunArn,
      ResultFiles: {
        FAILED: [],
        PENDING: [],
        SUCCEEDED: [{ Key: `map-results/${runId}/SUCCEEDED_0.json`, Size: expect.any(Number) }],
      },
    });
    const succeeded = store.json<Record<string, unknown>[]>(`map-results/${runId}/SUCCEEDED_0.json`);
    expect(succeeded.map((r) => JSON.parse(r.Output as string))).toEqual([{ n: 2 }, { n: 2 }, { n: 1 }]);
    expect(succeeded[0]).toMatchObject({
      Status: 'SUCCEEDED',
      Input: JSON.stringify(o.recorder.inputs[0]),
      ExecutionArn: expect.stringMatching(
        /^arn:aws:states:local:000000000000:execution:satfactory\/ExtractRegions:/,
      ),
    });
    expect(o.recorder.progress.at(0)).toMatchObject({ batchesDone: 0, batchesTotal: 3, itemsTotal: 5 });
    expect(o.recorder.progress.at(-1)).toMatchObject({ batchesDone: 3, itemsDone: 5, itemsFailed: 0 });
  });

  it('applies ItemSelector with the item and its index, honours MaxItems, and returns outputs inline without a writer', async () => {
    const store = await storeWith(regions(6), 'items.json', true);
    const state = mapState({
      ItemReader: {
        ...READER,
        ReaderConfig: { InputType: 'JSON', MaxItems: 4 },
        Parameters: { Bucket: 'b', Key: 'items.json' },
      },
      ItemSelector: {
        'region.$': '$$.Map.Item.Value.regionId',
        'index.$': '$$.Map.Item.Index',
        'runId.$': '$.runId',
      },
    });
    const o = options(state, store, async (input) => input);
    const output = await runDistributedMap(o);

    expect(output).toEqual([0, 1, 2, 3].map((i) => ({ region: `g${i}`, index: i, runId: 'r1' })));
  });

  it('reads items from the state input when there is no ItemReader', async () => {
    const state = mapState({ ItemsPath: '$.list' });
    delete (state as { ItemReader?: unknown }).ItemReader;
    const o = options(state, new MemoryBlobStore(), async (input) => input, { input: { list: [1, 2, 3] } });
    await expect(runDistributedMap(o)).resolves.toEqual([1, 2, 3]);
  });

  it('cuts batches at MaxInputBytesPerBatch', async () => {
    const store = await storeWith(regions(4)); // each item is 17 bytes of JSON
    const o = options(mapState({ ItemBatcher: { MaxInputBytesPerBatch: 40 } }), store);
    await runDistributedMap(o);
    expect(o.recorder.inputs.map((i) => (i as { Items: Json[] }).Items.length)).toEqual([2, 2]);
  });

  it('runs at most min(MaxConcurrency, the maxConcurrency option) children at once', async () => {
    const store = await storeWith(regions(12));
    const capped = options(mapState({ MaxConcurrency: 5 }), store, undefined, { maxConcurrency: 3 });
    await runDistributedMap(capped);
    expect(capped.recorder.maxActive).toBe(3);

    const byState = options(mapState({ MaxConcurrency: 2 }), store);
    await runDistributedMap(byState);
    expect(byState.recorder.maxActive).toBe(2);
  });

  it('fails on the first failed child by default, and writes the failure', async () => {
    const store = await storeWith(regions(4));
    const failing = async (input: Json) => {
      if ((input as { regionId: string }).regionId === 'g1') {
        throw Object.assign(new Error('no tile'), { name: 'NothingToDoError' });
      }
      return input;
    };
    const o = options(mapState({ MaxConcurrency: 1, ResultWriter: WRITER }), store, failing);
    const error = await runDistributedMap(o).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ToleratedFailureThresholdError);
    expect(error).toMatchObject({ name: 'States.ExceedToleratedFailureThreshold' });
    expect((error as Error).message).toContain('first failure NothingToDoError: no tile');
    // Nothing starts after the threshold is crossed.
    expect(o.recorder.inputs).toHaveLength(2);
    const manifest = store.json<{ ResultFiles: Record<string, { Key: string }[]> }>(
      (error as ToleratedFailureThresholdError).context.results as string,
    );
    expect(store.json(manifest.ResultFiles.FAILED?.[0]?.Key ?? '')).toEqual([
      expect.objectContaining({ Status: 'FAILED', Error: 'NothingToDoError', Cause: 'no tile' }),
    ]);
  });

  it('tolerates up to ToleratedFailureCount failed items, and fails past it', async () => {
    const store = await storeWith(regions(6));
    const failOn = (ids: string[]) => async (input: Json) => {
      if (ids.includes((input as { regionId: string }).regionId)) throw new Error('boom');
      return input;
    };
    const one = options(mapState({ ToleratedFailureCount: 1 }), store, failOn(['g2']));
    await expect(runDistributedMap(one)).resolves.toHaveLength(5);

    const two = options(mapState({ ToleratedFailureCount: 1 }), store, failOn(['g2', 'g4']));
    await expect(runDistributedMap(two)).rejects.toThrow(ToleratedFailureThresholdError);
  });

  it('counts every item of a failed batch as failed against ToleratedFailurePercentage', async () => {
    const store = await storeWith(regions(10));
    const failFirstBatch = async (_: Json, index: number) => {
      if (index === 0) throw new Error('boom');
      return null;
    };
    // One failed batch of 2 items is 20 % of 10.
    const at20 = options(
      mapState({ ItemBatcher: { MaxItemsPerBatch: 2 }, ToleratedFailurePercentage: 20 }),
      store,
      failFirstBatch,
    );
    await expect(runDistributedMap(at20)).resolves.toBeDefined();
    const at10 = options(
      mapState({ ItemBatcher: { MaxItemsPerBatch: 2 }, ToleratedFailurePercentage: 10 }),
      store,
      failFirstBatch,
    );
    await expect(runDistributedMap(at10)).rejects.toThrow(/2 of 10 items failed/);
  });

  it('succeeds with no items', async () => {
    const store = await storeWith([]);
    const o = options(mapState({ ResultWriter: WRITER }), store);
    const output = (await runDistributedMap(o)) as { ResultWriterDetails: { Key: string } };
    expect(store.json(output.ResultWriterDetails.Key)).toMatchObject({
      ResultFiles: { SUCCEEDED: [], FAILED: [] },
    });
  });

  it('stops starting children on abort and rejects with the reason', async () => {
    const store = await storeWith(regions(10));
    const controller = new AbortController();
    const o = options(
      mapState({ MaxConcurrency: 2 }),
      store,
      async (input, index) => {
        if (index === 0) controller.abort(new Error('stop'));
        return input;
      },
      { signal: controller.signal },
    );
    await expect(runDistributedMap(o)).rejects.toThrow('stop');
    // The two children running when the signal came finish; no third one starts.
    expect(o.recorder.inputs).toHaveLength(2);
  });

  it('says what is missing or not emulated', async () => {
    await expect(runDistributedMap(options(mapState(), new MemoryBlobStore()))).rejects.toThrow(
      StatesRuntimeError,
    );
    const csv = mapState({ ItemReader: { ...READER, ReaderConfig: { InputType: 'CSV' } } });
    await expect(runDistributedMap(options(csv, await storeWith(regions(1))))).rejects.toThrow(
      UnsupportedStateError,
    );
    const listing = mapState({ ItemReader: { ...READER, Resource: 'arn:aws:states:::s3:listObjectsV2' } });
    await expect(runDistributedMap(options(listing, await storeWith(regions(1))))).rejects.toThrow(
      UnsupportedStateError,
    );
  });
});
