// The local runtime runs the REAL checked-in ASL: every Task through its handler in order, the
// Distributed Map emulated (items, batches, concurrency cap, results), Retry and Catch as on AWS.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { InvalidInputError, TransientError } from '../../../shared/domain/errors.ts';
import type { Json } from '../../../shared/runtime/distributed-map.ts';
import {
  type Asl,
  type LocalWorkflowEvent,
  loadWorkflowAsl,
  prepareLocalDefinition,
  runLocalWorkflow,
  type TaskHandler,
} from '../../../shared/runtime/local-runtime.ts';
import {
  type ExtractBatchEvent,
  ExtractBatchEventSchema,
  type RegionTask,
  StateNames,
} from '../../../shared/workflow/contracts.ts';
import { MemoryBlobStore } from '../../helpers/memory-blob-store.ts';

const RUN = { runId: 'run-1', jobKey: 'runs/run-1/job.json' };
const REGIONS_KEY = 'runs/run-1/regions.jsonl';
const SHARDS_KEY = 'runs/run-1/shards.jsonl';
const REGIONS: RegionTask[] = Array.from({ length: 7 }, (_, i) => ({
  ...RUN,
  regionId: `31tcj-${i}`,
  planKey: `runs/run-1/regions/31tcj-${i}.json`,
}));

type Harness = {
  handlers: Record<string, TaskHandler>;
  calls: string[];
  batches: ExtractBatchEvent[];
  events: LocalWorkflowEvent[];
  store: MemoryBlobStore;
  maxActiveExtracts: () => number;
  recorded: unknown[];
};

/** Replaces a fake step; `base` is the fake it replaces. */
type Override = (event: unknown, base: TaskHandler) => Promise<unknown>;

/** Fake steps: each returns the small JSON its contract names; PlanWindows writes the regions JSONL. */
function harness(overrides: Record<string, Override> = {}): Harness {
  const store = new MemoryBlobStore();
  const calls: string[] = [];
  const batches: ExtractBatchEvent[] = [];
  const recorded: unknown[] = [];
  let active = 0;
  let maxActive = 0;
  const base: Record<string, TaskHandler> = {
    [StateNames.plan]: async () => ({
      ...RUN,
      selectionKey: 'runs/run-1/selection.json',
      products: 4,
      tiles: 1,
      offline: 0,
    }),
    [StateNames.ensureOnline]: async () => ({ online: 4, offline: 0, ordersKey: null }),
    [StateNames.prepareLabels]: async () => ({ labelsKey: 'runs/run-1/labels.json', features: 12 }),
    [StateNames.planWindows]: async () => {
      await store.put(REGIONS_KEY, REGIONS.map((r) => `${JSON.stringify(r)}\n`).join(''));
      return { regionsKey: REGIONS_KEY, regions: REGIONS.length, windows: 70, bytesToFetch: 1e6 };
    },
    [StateNames.extractRegion]: async (event) => {
      const batch = ExtractBatchEventSchema.parse(event);
      batches.push(batch);
      active += 1;
      maxActive = Math.max(maxActive, active);
      await new Promise((resolve) => setTimeout(resolve, 15));
      active -= 1;
      return {
        regions: batch.Items.length,
        written: 10 * batch.Items.length,
        rejected: 0,
        bytesFetched: 1234,
      };
    },
    [StateNames.planShards]: async () => {
      const tasks = [0, 1, 2].map((index) => ({ ...RUN, split: 'train', index, planKey: `p-${index}` }));
      await store.put(SHARDS_KEY, tasks.map((t) => `${JSON.stringify(t)}\n`).join(''));
      return { shardsKey: SHARDS_KEY, shards: 3, samples: 70 };
    },
    [StateNames.writeShard]: async (event) => {
      const n = (event as { Items: unknown[] }).Items.length;
      return { shards: n, samples: 23 * n, bytes: 1e5 * n };
    },
    [StateNames.commit]: async () => ({ manifestKey: 'manifest.json', samples: 70, rejected: 0, shards: 3 }),
    [StateNames.recordFailure]: async (event) => {
      recorded.push(event);
      return { recorded: true };
    },
  };
  const handlers: Record<string, TaskHandler> = {};
  for (const [name, handler] of Object.entries(base)) {
    const override = overrides[name];
    handlers[name] = async (event) => {
      calls.push(name);
      return override ? override(event, handler) : handler(event);
    };
  }
  return { handlers, calls, batches, events: [], store, maxActiveExtracts: () => maxActive, recorded };
}

function run(
  h: Harness,
  extra: {
    asl?: Asl;
    maxConcurrency?: number;
    mapConcurrency?: Record<string, number>;
    signal?: AbortSignal;
  } = {},
) {
  return runLocalWorkflow({
    input: RUN,
    handlers: h.handlers,
    workStore: h.store,
    retryIntervalMs: 0,
    onEvent: (e) => h.events.push(e),
    ...extra,
  });
}

const topLevel = (h: Harness, type: LocalWorkflowEvent['type']) =>
  h.events.filter((e) => e.type === type && e.path.length === 0).map((e) => ('state' in e ? e.state : ''));

/** The checked-in ASL with other Distributed Map settings, as another stage config would synthesize. */
function aslWith(changes: {
  maxItemsPerBatch?: number;
  maxConcurrency?: number;
  toleratedFailurePercentage?: number;
}): Asl {
  const asl = structuredClone(loadWorkflowAsl()) as Asl & { States: Record<string, Record<string, Json>> };
  const map = asl.States[StateNames.extractRegions] as Record<string, Json>;
  if (changes.maxItemsPerBatch !== undefined)
    map.ItemBatcher = { MaxItemsPerBatch: changes.maxItemsPerBatch };
  if (changes.maxConcurrency !== undefined) map.MaxConcurrency = changes.maxConcurrency;
  if (changes.toleratedFailurePercentage !== undefined)
    map.ToleratedFailurePercentage = changes.toleratedFailurePercentage;
  return asl;
}

// asl-validator ships no types: describe the one call we make.
const aslValidator = createRequire(import.meta.url)('asl-validator') as (
  definition: unknown,
  options: { checkArn: boolean; checkPaths: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };

describe('runLocalWorkflow with the checked-in ASL', () => {
  it('runs definitions asl-validator accepts (the runtime skips validating them at start)', () => {
    const local = prepareLocalDefinition(loadWorkflowAsl());
    const definitions = [local.definition, ...[...local.mapStates.values()].map((m) => m.processor)];
    expect(definitions.length).toBeGreaterThan(1);
    for (const definition of definitions) {
      // As aws-local-stepfunctions would check them (it writes into what it checks: a copy).
      const result = aslValidator(structuredClone(definition), { checkArn: true, checkPaths: true });
      expect(result.errorsText('\n')).toBe('');
      expect(result.isValid).toBe(true);
    }
  });

  it('runs every state in order and keeps each result under its own path', async () => {
    const h = harness();
    const output = (await run(h, { maxConcurrency: 3 })) as Record<string, unknown>;

    expect(topLevel(h, 'StateEntered')).toEqual([
      'Plan',
      'EnsureOnline',
      // The Choice of the LTA branch: nothing offline, straight on.
      'NeedsOrders',
      'PrepareLabels',
      'PlanWindows',
      'ExtractRegions',
      'PlanShards',
      'WriteShards',
      'Commit',
      'Succeeded',
    ]);
    expect(h.calls.filter((c) => c !== StateNames.extractRegion && c !== StateNames.writeShard)).toEqual([
      'Plan',
      'EnsureOnline',
      'PrepareLabels',
      'PlanWindows',
      'PlanShards',
      'Commit',
    ]);
    // The final shards, in batches of the synthesized ItemBatcher (4 a batch): one child of 3.
    expect(h.calls.filter((c) => c === StateNames.writeShard)).toHaveLength(1);
    expect(output).toMatchObject({
      ...RUN,
      plan: { selectionKey: 'runs/run-1/selection.json', products: 4 },
      online: { online: 4, offline: 0, ordersKey: null },
      labels: { features: 12 },
      windows: { regionsKey: REGIONS_KEY, regions: 7 },
      shards: { shardsKey: SHARDS_KEY, shards: 3 },
      commit: { manifestKey: 'manifest.json', samples: 70 },
    });
    expect(h.events.find((e) => e.type === 'StateEntered' && e.state === 'ExtractRegions')).toMatchObject({
      stateType: 'Map',
    });
  });

  it('gives a Map named in mapConcurrency its own cap in place of maxConcurrency', async () => {
    const one = harness();
    await run(one, { maxConcurrency: 1 });
    expect(one.maxActiveExtracts()).toBe(1);
    const own = harness();
    await run(own, { maxConcurrency: 1, mapConcurrency: { [StateNames.extractRegions]: 3 } });
    expect(own.maxActiveExtracts()).toBeGreaterThan(1);
    expect(own.maxActiveExtracts()).toBeLessThanOrEqual(3);
    expect(own.batches).toHaveLength(7);
  });

  it('feeds ExtractRegion every region, one per batch as configured, under the concurrency cap', async () => {
    const h = harness();
    const output = (await run(h, { maxConcurrency: 3 })) as { extract: Record<string, unknown> };

    expect(h.batches).toHaveLength(7);
    expect(h.batches.every((b) => b.Items.length === 1)).toBe(true);
    expect(h.batches.flatMap((b) => b.Items.map((i) => i.regionId)).sort()).toEqual(
      REGIONS.map((r) => r.regionId),
    );
    expect(h.maxActiveExtracts()).toBeLessThanOrEqual(3);
    expect(h.maxActiveExtracts()).toBeGreaterThan(1);

    const progress = h.events.filter((e) => e.type === 'MapProgress' && e.state === 'ExtractRegions');
    expect(progress.at(-1)).toMatchObject({
      state: 'ExtractRegions',
      batchesDone: 7,
      batchesTotal: 7,
      itemsFailed: 0,
    });

    // The Map's output is what AWS returns with a ResultWriter: where the results are, not the results.
    const details = output.extract as {
      MapRunArn: string;
      ResultWriterDetails: { Bucket: string; Key: string };
    };
    expect(details.MapRunArn).toMatch(
      /^arn:aws:states:local:000000000000:mapRun:satfactory\/ExtractRegions:/,
    );
    expect(details.ResultWriterDetails.Bucket).toBe('satfactory-work');
    expect(details.ResultWriterDetails.Key).toMatch(/^map-results\/[0-9a-f-]{36}\/manifest\.json$/);
    const manifest = h.store.json<{ ResultFiles: Record<string, { Key: string }[]> }>(
      details.ResultWriterDetails.Key,
    );
    expect(manifest.ResultFiles.FAILED).toEqual([]);
    const succeeded = h.store.json<{ Status: string; Input: string; Output: string }[]>(
      manifest.ResultFiles.SUCCEEDED?.[0]?.Key ?? '',
    );
    expect(succeeded).toHaveLength(7);
    expect(succeeded.every((r) => r.Status === 'SUCCEEDED')).toBe(true);
    expect(JSON.parse(succeeded[0]?.Output ?? '')).toEqual({
      regions: 1,
      written: 10,
      rejected: 0,
      bytesFetched: 1234,
    });
  });

  it('batches by the synthesized MaxItemsPerBatch and caps by MaxConcurrency when no option is given', async () => {
    const h = harness();
    await run(h, { asl: aslWith({ maxItemsPerBatch: 3, maxConcurrency: 2 }) });

    expect(h.batches.map((b) => b.Items.length).sort()).toEqual([1, 3, 3]);
    expect(h.batches.flatMap((b) => b.Items.map((i) => i.regionId)).sort()).toEqual(
      REGIONS.map((r) => r.regionId),
    );
    expect(h.maxActiveExtracts()).toBe(2);
  });

  it('retries a TransientError per the ASL Retry table, then goes on', async () => {
    let failures = 2;
    const h = harness({
      [StateNames.prepareLabels]: async (event, base) => {
        if (failures-- > 0)
          throw new TransientError('the labels host answered 503', { source: 'https://x.test/l' });
        return base(event);
      },
    });
    await run(h);

    expect(h.calls.filter((c) => c === StateNames.prepareLabels)).toHaveLength(3);
    const retried = h.events.filter((e) => e.type === 'StateRetried' && e.state === StateNames.prepareLabels);
    expect(retried).toHaveLength(2);
    expect(
      h.events.filter((e) => e.type === 'StateFailed').map((e) => ('error' in e ? e.error : '')),
    ).toEqual(['TransientError', 'TransientError']);
    expect(h.recorded).toEqual([]);
  });

  it('retries a TransientError inside a Map child without failing the Map Run', async () => {
    let failed = false;
    const h = harness({
      [StateNames.extractRegion]: async (event, base) => {
        if (!failed && (event as ExtractBatchEvent).Items[0]?.regionId === '31tcj-3') {
          failed = true;
          throw new TransientError('range read reset', {});
        }
        return base(event);
      },
    });
    await run(h);

    expect(h.calls.filter((c) => c === StateNames.extractRegion)).toHaveLength(8);
    expect(h.events.find((e) => e.type === 'StateRetried')).toMatchObject({
      state: StateNames.extractRegion,
      path: ['ExtractRegions[3]'],
    });
  });

  it('sends a permanent failure through RecordFailure and fails with the handler error', async () => {
    const bad = new InvalidInputError('feature 3 has no ground_truth', {
      source: 'parcels.geojson',
      index: 3,
    });
    const h = harness({
      [StateNames.prepareLabels]: async () => {
        throw bad;
      },
    });

    const error = await run(h).catch((e: unknown) => e);
    expect(error).toBe(bad);
    expect(h.calls).toEqual(['Plan', 'EnsureOnline', 'PrepareLabels', 'RecordFailure']);
    expect(h.recorded).toEqual([
      {
        ...RUN,
        plan: expect.any(Object),
        online: expect.any(Object),
        error: { Error: 'InvalidInputError', Cause: 'feature 3 has no ground_truth' },
      },
    ]);
    expect(topLevel(h, 'StateEntered').slice(-2)).toEqual(['RecordFailure', 'Failed']);
    expect(h.events.find((e) => e.type === 'StateCaught')).toMatchObject({
      state: 'PrepareLabels',
      next: 'RecordFailure',
    });
  });

  it('fails the Map Run past the tolerated failures, records the failed child and reports the threshold', async () => {
    const h = harness({
      [StateNames.extractRegion]: async (event, base) => {
        if ((event as ExtractBatchEvent).Items[0]?.regionId === '31tcj-5')
          throw new InvalidInputError('bad plan', {});
        return base(event);
      },
    });

    const error = await run(h, { maxConcurrency: 1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'States.ExceedToleratedFailureThreshold' });
    expect((error as Error).message).toContain('1 of 7 items failed');
    expect(h.calls).not.toContain(StateNames.commit);
    expect(h.recorded).toHaveLength(1);
    expect(h.recorded[0]).toMatchObject({ error: { Error: 'States.ExceedToleratedFailureThreshold' } });

    // Failures stop new children: with one lane, the sixth region was the last to start.
    expect(h.batches.map((b) => b.Items[0]?.regionId)).toEqual([
      '31tcj-0',
      '31tcj-1',
      '31tcj-2',
      '31tcj-3',
      '31tcj-4',
    ]);
    const resultsKey = (error as { context: { results: string } }).context.results;
    const manifest = h.store.json<{ ResultFiles: Record<string, { Key: string }[]> }>(resultsKey);
    const failed = h.store.json<{ Error: string; Cause: string }[]>(
      manifest.ResultFiles.FAILED?.[0]?.Key ?? '',
    );
    expect(failed).toEqual([
      expect.objectContaining({ Error: 'InvalidInputError', Cause: 'bad plan', Status: 'FAILED' }),
    ]);
  });

  it('tolerates failures up to ToleratedFailurePercentage', async () => {
    const h = harness({
      [StateNames.extractRegion]: async (event, base) => {
        if ((event as ExtractBatchEvent).Items[0]?.regionId === '31tcj-5')
          throw new InvalidInputError('bad plan', {});
        return base(event);
      },
    });
    // One failed item in seven is 14.3 %.
    await expect(run(h, { asl: aslWith({ toleratedFailurePercentage: 15 }) })).resolves.toMatchObject({
      commit: { samples: 70 },
    });
  });

  it('stops on abort, waits for running handlers, and rejects with the reason', async () => {
    const controller = new AbortController();
    let running = 0;
    let finishedAfterReturn = false;
    let returned = false;
    const h = harness({
      [StateNames.extractRegion]: async () => {
        running += 1;
        if (running === 2) controller.abort(new Error('user pressed ^C'));
        await new Promise((resolve) => setTimeout(resolve, 30));
        if (returned) finishedAfterReturn = true;
        return { regions: 1, written: 0, rejected: 0, bytesFetched: 0 };
      },
    });

    const error = await run(h, { maxConcurrency: 2, signal: controller.signal }).catch((e: unknown) => e);
    returned = true;
    expect(error).toMatchObject({ message: 'user pressed ^C' });
    expect(running).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(finishedAfterReturn).toBe(false);
    expect(h.calls).not.toContain(StateNames.commit);
  });

  it('treats ResultPath "$" as AWS does (the result replaces the input)', async () => {
    const asl: Asl = {
      StartAt: 'Only',
      States: {
        Only: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:local:000000000000:function:only',
          ResultPath: '$',
          End: true,
        },
      },
    };
    const output = await runLocalWorkflow({
      asl,
      input: { kept: false },
      handlers: { Only: async () => ({ replaced: true }) },
      workStore: new MemoryBlobStore(),
    });
    expect(output).toEqual({ replaced: true });
  });

  it('refuses handlers for states that are not Tasks (a typo would silently never run)', async () => {
    const h = harness();
    h.handlers.ExtractRegions = async () => null;
    await expect(run(h)).rejects.toThrow(/not Tasks: ExtractRegions/);
  });

  it('refuses to start without a handler for every Task state', async () => {
    const h = harness();
    delete h.handlers[StateNames.commit];
    await expect(run(h)).rejects.toThrow(/no local handler for Task state\(s\) Commit/);
    expect(h.calls).toEqual([]);
  });
});
