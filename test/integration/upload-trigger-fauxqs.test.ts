// The upload trigger end to end against a real S3 API (fauxqs, in-process): a job spec and a
// ground-truth object are put with the SDK, the S3 notification for the object is built from its
// HeadObject, and the Lambda handler runs with the real S3 blob store; only Step Functions is mocked.
import 'aws-sdk-client-mock-vitest/extend';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler, handleUpload, uploadDeps } from '../../lambdas/start-on-upload/index.ts';
import { executionArnOf } from '../../shared/adapters/aws/sfn-executions.ts';
import { TransientError } from '../../shared/domain/errors.ts';
import { silentLog } from '../../shared/ports.ts';
import { createLocalContext } from '../../shared/runtime/local-context.ts';
import { loadJob } from '../../shared/work/context.ts';
import { ingestLabels } from '../../shared/work/labels-store.ts';
import { ExecutionInputSchema } from '../../shared/workflow/contracts.ts';
import { type FauxqsServer, startFauxqsForTests } from '../helpers/fauxqs-server.ts';
import { MemoryBlobStore } from '../helpers/memory-blob-store.ts';

const WORK = 'satfactory-work-test';
const SM = 'arn:aws:states:us-east-1:123456789012:stateMachine:Workflow';
const KEY = 'ground-truth/crops-2023/parcels 2023.geojson';
const sfn = mockClient(SFNClient);
let server: FauxqsServer | undefined;
let s3: S3Client;
let skipReason = '';
const savedEnv = { ...process.env };

const job = {
  name: 'crops-2023',
  catalog: {
    kind: 'stac',
    url: 'https://earth-search.aws.element84.com/v1',
    collection: 'sentinel-2-c1-l2a',
  },
  aoi: 'aoi.geojson',
  period: { start: '2023-03-01', end: '2023-10-31' },
  bands: ['blue', 'green', 'red', 'nir'],
  windows: { size: 24 },
  labels: { source: 'parcels 2023.geojson', classProperty: 'crop' },
  output: { uri: 'crops-2023' },
};
const aoi = {
  type: 'Polygon',
  coordinates: [
    [
      [15, 45],
      [15.1, 45],
      [15.1, 45.1],
      [15, 45],
    ],
  ],
};

beforeAll(async () => {
  ({ server, skipReason } = await startFauxqsForTests('upload trigger tests'));
  if (!server) return;
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: server.address,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    WORK_BUCKET: WORK,
    DATASETS_BUCKET: 'satfactory-datasets-test',
    STATE_MACHINE_ARN: SM,
  });
  s3 = new S3Client({ endpoint: server.address, forcePathStyle: true, region: 'us-east-1' });
  await s3.send(new CreateBucketCommand({ Bucket: WORK }));
});
afterAll(async () => {
  s3?.destroy();
  await server?.stop();
  process.env = savedEnv;
});

const put = (Key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: WORK, Key, Body: body }));

/** The S3 notification S3 sends for `key`: URL-encoded key (spaces as '+'), ETag, sequencer. */
async function s3Event(key: string, sequencer: string) {
  const head = await s3.send(new HeadObjectCommand({ Bucket: WORK, Key: key }));
  const object: Record<string, string> = {
    key: encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/'),
    eTag: (head.ETag ?? '').replaceAll('"', ''),
    sequencer,
  };
  if (head.VersionId) object['versionId'] = head.VersionId;
  return {
    Records: [
      { eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: WORK }, object } },
    ],
  };
}

async function getText(key: string): Promise<string | undefined> {
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: WORK, Key: key }));
    return await out.Body?.transformToString();
  } catch {
    return undefined;
  }
}

describe('upload under ground-truth/<job>/ starts an execution', () => {
  it('stores the job at the run key, starts once, and a duplicate event starts nothing new', async (ctx) => {
    if (!server) return ctx.skip(skipReason);
    await put('jobs/crops-2023.json', JSON.stringify(job));
    await put('jobs/aoi.geojson', JSON.stringify(aoi));
    await put(KEY, '{"type":"FeatureCollection","features":[]}');
    const event = await s3Event(KEY, '0055AED6DCD90281E5');

    sfn.reset();
    sfn
      .on(StartExecutionCommand)
      .resolvesOnce({ executionArn: 'arn:started', startDate: new Date() })
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));

    const [first] = await handler(event);
    expect(first).toMatchObject({ started: true, executionArn: 'arn:started' });
    const call = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    const input = ExecutionInputSchema.strict().parse(JSON.parse(call?.input ?? 'null'));
    expect(input.runId).toMatch(/^crops-2023-[0-9a-f]{12}$/);
    expect(input.jobKey).toBe(`runs/${input.runId}/job.json`);
    expect(call?.name).toMatch(/^crops-2023-[0-9a-f]{20}$/);
    expect(call?.stateMachineArn).toBe(SM);

    // The stored job is self-contained: the upload is its label source, the AOI inlined, the
    // dataset in the datasets bucket under a folder of this ground-truth version.
    const stored = JSON.parse((await getText(input.jobKey)) ?? 'null');
    expect(stored.labels.source).toBe(`s3://${WORK}/${KEY}`);
    expect(stored.aoi).toEqual(aoi);
    expect(stored.output.uri).toMatch(/^s3:\/\/satfactory-datasets-test\/crops-2023\/gt-[0-9a-f]{12}$/);

    const [again] = await handler(event);
    expect(again).toEqual({
      started: false,
      executionArn: executionArnOf(SM, call?.name ?? ''),
      name: call?.name,
      runId: input.runId,
      jobKey: input.jobKey,
    });
    // The same upload as EventBridge delivers it (what the stack wires): the same execution.
    const record = event.Records[0]?.s3.object ?? {};
    const [viaEventBridge] = await handler({
      'detail-type': 'Object Created',
      source: 'aws.s3',
      detail: {
        bucket: { name: WORK },
        object: { key: KEY, etag: record['eTag'], sequencer: record['sequencer'] },
      },
    });
    expect(viaEventBridge).toMatchObject({ started: false, name: call?.name, runId: input.runId });
    const calls = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(3);
    expect(calls[1]).toEqual(calls[0]);
    expect(calls[2]).toEqual(calls[0]);
  });

  it('a new upload of the same key is a new execution; other keys are skipped', async (ctx) => {
    if (!server) return ctx.skip(skipReason);
    sfn.reset();
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:x', startDate: new Date() });
    await put(KEY, '{"type":"FeatureCollection","features":[{"type":"Feature"}]}');
    await handler(await s3Event(KEY, '0055AED6DCD90281E6'));
    await put(KEY, '{"type":"FeatureCollection","features":[]}');
    await handler(await s3Event(KEY, '0055AED6DCD90281E7'));
    const [a, b] = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(a?.name).not.toBe(b?.name);
    expect(a?.input).not.toBe(b?.input);

    await put('ground-truth/crops-2023/parcels.prj', 'GEOGCS[...]');
    await put('other/file.txt', 'x');
    const skipped = [
      ...(await handler(await s3Event('ground-truth/crops-2023/parcels.prj', '01'))),
      ...(await handler(await s3Event('other/file.txt', '02'))),
    ];
    expect(skipped).toEqual([
      expect.objectContaining({ skipped: expect.stringContaining('labels.source') }),
      expect.objectContaining({ skipped: expect.stringContaining('not under ground-truth/') }),
    ]);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 2);
  });

  it("the stored job's label source is read by the label engine from S3", async (ctx) => {
    if (!server) return ctx.skip(skipReason);
    const key = 'ground-truth/parcels-s3/fields 2023.geojson';
    await put(
      'jobs/parcels-s3.json',
      JSON.stringify({
        ...job,
        name: 'parcels-s3',
        labels: { source: 'fields 2023.geojson', classProperty: 'crop' },
      }),
    );
    const square = (x: number, crop: string) => ({
      type: 'Feature',
      properties: { crop },
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            [x, 45.01],
            [x + 0.01, 45.01],
            [x + 0.01, 45.02],
            [x, 45.02],
            [x, 45.01],
          ],
        ],
      },
    });
    await put(
      key,
      JSON.stringify({
        type: 'FeatureCollection',
        features: [square(15.01, 'maize'), square(15.03, 'wheat'), square(16, 'far away')],
      }),
    );
    sfn.reset();
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:labels', startDate: new Date() });
    const [started] = await handler(await s3Event(key, '04'));
    const { runId, jobKey } = started as { runId: string; jobKey: string };
    const work = createLocalContext({ workUri: `s3://${WORK}`, log: silentLog });
    const summary = await ingestLabels(work, runId, await loadJob(work, jobKey));
    expect(summary.source).toBe(`s3://${WORK}/${key}`);
    expect(summary.read).toBe(3);
    // The third square lies outside the job's AOI: logged and dropped, not silently lost.
    expect(summary.features).toBe(2);
    expect(summary.problems).toEqual({ 'outside-aoi': 1 });
    expect(summary.classes.map((c) => c.value)).toEqual(['maize', 'wheat']);
    expect(await getText(summary.logKey)).toContain('"problem":"outside-aoi"');
  });

  it('logs the missing job spec as an error and skips the upload, when the ground truth comes first', async (ctx) => {
    if (!server) return ctx.skip(skipReason);
    await put('ground-truth/no-job/parcels.geojson', '{}');
    // A permanent input error: the invocation succeeds (Lambda's async retries could not fix it),
    // and the error is logged, naming the missing job spec and what to do.
    const errors: Array<{ message: string; fields: Record<string, unknown> | undefined }> = [];
    const log = {
      ...silentLog,
      error: (message: string, fields?: Record<string, unknown>) => void errors.push({ message, fields }),
    };
    sfn.reset();
    const outcomes = await handleUpload(await s3Event('ground-truth/no-job/parcels.geojson', '03'), {
      ...uploadDeps(),
      log,
    });
    expect(outcomes).toEqual([
      {
        skipped: expect.stringMatching(/no job spec at s3:\/\/satfactory-work-test\/jobs\/no-job\.json/),
        key: 'ground-truth/no-job/parcels.geojson',
      },
    ]);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.fields).toMatchObject({
      key: 'ground-truth/no-job/parcels.geojson',
      error: expect.stringMatching(
        /^InvalidInputError: no job spec at s3:\/\/satfactory-work-test\/jobs\/no-job\.json/,
      ),
      retried: false,
    });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);

    // A transient error still fails the invocation, so that Lambda retries the event.
    const deps = uploadDeps();
    const flaky = new (class extends MemoryBlobStore {
      override get(): Promise<Uint8Array | undefined> {
        return Promise.reject(new TransientError('S3 answered SlowDown', { source: this.uri }));
      }
    })(deps.work.uri);
    await expect(
      handleUpload(await s3Event('ground-truth/no-job/parcels.geojson', '04'), { ...deps, work: flaky, log }),
    ).rejects.toMatchObject({ name: 'TransientError' });
  });
});
