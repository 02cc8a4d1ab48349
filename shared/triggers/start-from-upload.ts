// Starts a run when ground truth is uploaded: `ground-truth/<job>/<file>` in the work bucket starts
// the job stored at `jobs/<job>.json` there. Pure over ports (work store, executions, log).
//
// How an upload becomes the run's input (the contract the README documents):
// - the job's `labels.source` names the file whose upload starts the run: relative to
//   `ground-truth/<job>/`, or an absolute s3:// URI of that object; uploads of other files under the
//   folder (sidecars, notes) are logged and skipped, so upload them first and the label file last;
// - other relative paths resolve against the job file, as locally: an AOI file is read from
//   `jobs/<path>` and inlined, a static catalog becomes `s3://<work>/jobs/<path>`;
// - a relative `output.uri` goes to the datasets bucket; every upload's dataset lands in
//   `<output.uri>/gt-<12 hex of versionId or ETag>`, so a new ground-truth version is a new run and a
//   new dataset (Commit refuses to overwrite another run's manifest), while the same version is the
//   same run id (a re-run resumes it);
// - the execution's name comes from the job name and the object's versionId (ETag + sequencer when the
//   bucket is unversioned): a duplicate S3 event maps to the same name, so it starts nothing new.
import path from 'node:path';
import { z } from 'zod';
import { InvalidInputError } from '../domain/errors.ts';
import { sha256Hex } from '../domain/hashing.ts';
import { type JobSpec, parseJobSpec } from '../domain/job-spec.ts';
import type { BlobStore, Executions, Log } from '../ports.ts';
import { readUserJson, runIdOf, storeJob } from '../work/context.ts';

export const GROUND_TRUTH_PREFIX = 'ground-truth/';
export const jobSpecKey = (jobName: string) => `jobs/${jobName}.json`;

/** One created object, from either event shape. */
export type UploadedObject = {
  bucket: string;
  /** The key as stored: S3 notifications URL-encode it (spaces as '+'), EventBridge events do not. */
  key: string;
  versionId?: string;
  etag?: string;
  sequencer?: string;
};

const S3NotificationSchema = z.object({
  Records: z.array(
    z
      .object({
        eventName: z.string().optional(),
        s3: z.object({
          bucket: z.object({ name: z.string() }).loose(),
          object: z
            .object({
              key: z.string(),
              versionId: z.string().optional(),
              eTag: z.string().optional(),
              sequencer: z.string().optional(),
            })
            .loose(),
        }),
      })
      .loose(),
  ),
});

const EventBridgeSchema = z
  .object({
    'detail-type': z.literal('Object Created'),
    detail: z.object({
      bucket: z.object({ name: z.string() }).loose(),
      object: z
        .object({
          key: z.string(),
          'version-id': z.string().optional(),
          etag: z.string().optional(),
          sequencer: z.string().optional(),
        })
        .loose(),
    }),
  })
  .loose();

const decodeKey = (key: string) => decodeURIComponent(key.replace(/\+/g, ' '));
/** An UploadedObject without the fields the event lacks (exactOptionalPropertyTypes). */
function uploaded(
  bucket: string,
  key: string,
  ids: { versionId?: string | undefined; etag?: string | undefined; sequencer?: string | undefined },
): UploadedObject {
  const o: UploadedObject = { bucket, key };
  if (ids.versionId) o.versionId = ids.versionId;
  if (ids.etag) o.etag = ids.etag;
  if (ids.sequencer) o.sequencer = ids.sequencer;
  return o;
}

/** The created objects of an S3 notification (Records) or an EventBridge "Object Created" event. */
export function uploadedObjects(event: unknown): UploadedObject[] {
  const s3 = S3NotificationSchema.safeParse(event);
  if (s3.success) {
    return s3.data.Records.filter(
      (r) => r.eventName === undefined || r.eventName.startsWith('ObjectCreated'),
    ).map(({ s3: { bucket, object } }) =>
      uploaded(bucket.name, decodeKey(object.key), {
        versionId: object.versionId,
        etag: object.eTag,
        sequencer: object.sequencer,
      }),
    );
  }
  const eb = EventBridgeSchema.safeParse(event);
  if (eb.success) {
    const { bucket, object } = eb.data.detail;
    return [
      uploaded(bucket.name, object.key, {
        versionId: object['version-id'],
        etag: object.etag,
        sequencer: object.sequencer,
      }),
    ];
  }
  throw new InvalidInputError(
    'the event is neither an S3 notification (Records) nor an EventBridge "Object Created" event',
  );
}

/** `ground-truth/<job>/<file>` → { jobName, file }; anything else (a folder marker too) → null. */
export function parseGroundTruthKey(key: string): { jobName: string; file: string } | null {
  const m = /^ground-truth\/([a-z0-9][a-z0-9-]*)\/(.*[^/])$/.exec(key);
  return m?.[1] && m[2] ? { jobName: m[1], file: m[2] } : null;
}

/** The identity of one upload: versionId when versioned, else ETag + sequencer (unique per PUT). */
function uploadIdentity(o: UploadedObject): string {
  if (o.versionId && o.versionId !== 'null') return `v:${o.versionId}`;
  if (!o.etag && !o.sequencer)
    throw new InvalidInputError(`the event for ${o.key} has no versionId, ETag or sequencer`);
  return `e:${o.etag ?? ''}:${o.sequencer ?? ''}`;
}

/** Execution name: `<job name, ≤ 59 chars>-<20 hex>`, ≤ 80 chars of [a-z0-9-], same for the same upload. */
export function executionNameFor(jobName: string, o: UploadedObject): string {
  return `${jobName.slice(0, 59)}-${sha256Hex(`${o.key}\n${uploadIdentity(o)}`).slice(0, 20)}`;
}

export type StartFromUploadDeps = {
  /** The work bucket's root store: the bucket the uploads land in and the Lambdas work in. */
  work: BlobStore;
  executions: Executions;
  log: Log;
  /** s3:// root that relative output URIs go under (the datasets bucket). */
  datasetsUri?: string;
};

export type UploadOutcome =
  | { started: boolean; executionArn: string; name: string; runId: string; jobKey: string }
  | { skipped: string; key: string };

const isUri = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);

/** A relative path inside `base`; refuses absolute paths and '..' that leaves it. */
function within(base: string, relative: string, pointer: string): string {
  const joined = path.posix.normalize(path.posix.join(base, relative)).replace(/\/+$/, '');
  if (relative.startsWith('/') || joined === '.' || joined.startsWith('..') || !joined.startsWith(base)) {
    throw new InvalidInputError(
      `${pointer} "${relative}" leaves ${base}; give a path inside it or an s3:// URI`,
      {
        pointer,
      },
    );
  }
  return joined;
}

export async function startFromUpload(o: UploadedObject, deps: StartFromUploadDeps): Promise<UploadOutcome> {
  const { work, log } = deps;
  const workBucket = work.uri.replace(/^s3:\/\//, '').split('/')[0];
  const skip = (reason: string): UploadOutcome => {
    log.info(`upload skipped: ${reason}`, { bucket: o.bucket, key: o.key });
    return { skipped: reason, key: o.key };
  };
  if (o.bucket !== workBucket) return skip(`bucket ${o.bucket} is not the work bucket ${workBucket}`);
  const parsed = parseGroundTruthKey(o.key);
  if (!parsed) return skip(`not under ${GROUND_TRUTH_PREFIX}<job-name>/`);

  const job = await loadUploadedJob(work, parsed.jobName);
  const source = `s3://${o.bucket}/${o.key}`;
  const label = job.labels;
  if (!label) {
    throw new InvalidInputError(
      `job ${parsed.jobName} has no labels, so an upload to ${GROUND_TRUTH_PREFIX}${parsed.jobName}/ cannot be its ground truth; add labels {source, classProperty}`,
      { source: `${work.uri}/${jobSpecKey(parsed.jobName)}`, pointer: '/labels' },
    );
  }
  const wanted = isUri(label.source)
    ? label.source
    : `s3://${o.bucket}/${within(`${GROUND_TRUTH_PREFIX}${parsed.jobName}/`, label.source, '/labels/source')}`;
  if (wanted !== source) return skip(`labels.source of job ${parsed.jobName} is ${wanted}, not this object`);
  label.source = source;

  await resolveJobPaths(job, work, deps.datasetsUri);
  const tag = sha256Hex(
    o.versionId && o.versionId !== 'null' ? o.versionId : (o.etag ?? uploadIdentity(o)),
  ).slice(0, 12);
  job.output.uri = `${job.output.uri.replace(/\/+$/, '')}/gt-${tag}`;

  const runId = runIdOf(job);
  const input = await storeJob(work, job, runId);
  const name = executionNameFor(job.name, o);
  const { executionArn, alreadyExisted } = await deps.executions.start(name, input);
  log.info(alreadyExisted ? 'execution exists already: nothing new started' : 'execution started', {
    executionArn,
    runId,
    source,
    output: job.output.uri,
  });
  return { started: !alreadyExisted, executionArn, name, ...input };
}

async function loadUploadedJob(work: BlobStore, jobName: string): Promise<JobSpec> {
  const key = jobSpecKey(jobName);
  const raw = await readUserJson(work, key);
  if (raw === undefined) {
    throw new InvalidInputError(
      `no job spec at ${work.uri}/${key}: upload it before the ground truth (aws s3 cp job.json ${work.uri}/${key})`,
      { source: `${work.uri}/${key}` },
    );
  }
  const job = parseJobSpec(raw, `${work.uri}/${key}`);
  if (job.name !== jobName) {
    throw new InvalidInputError(`${work.uri}/${key} names job "${job.name}", not "${jobName}"`, {
      source: `${work.uri}/${key}`,
      pointer: '/name',
    });
  }
  delete job.$schema;
  return job;
}

/** Makes the job self-contained for the Lambdas, which see only S3 (see the header comment). */
async function resolveJobPaths(
  job: JobSpec,
  work: BlobStore,
  datasetsUri: string | undefined,
): Promise<void> {
  const bucketUri = work.uri.replace(/\/+$/, '');
  if (typeof job.aoi === 'string' && job.aoi !== 'labels') {
    const key = job.aoi.startsWith(`${bucketUri}/`)
      ? job.aoi.slice(bucketUri.length + 1)
      : isUri(job.aoi)
        ? null
        : within('jobs/', job.aoi, '/aoi');
    const aoi = key === null ? undefined : ((await readUserJson(work, key)) as JobSpec['aoi'] | undefined);
    if (aoi === undefined) {
      throw new InvalidInputError(
        `the AOI ${job.aoi} is not in ${bucketUri}: put it under jobs/ or inline it`,
        {
          pointer: '/aoi',
        },
      );
    }
    job.aoi = aoi;
  }
  const classes = job.labels?.classes;
  if (classes && typeof classes.table === 'string' && !isUri(classes.table)) {
    classes.table = `${bucketUri}/${within('jobs/', classes.table, '/labels/classes/table')}`;
  }
  const catalogs = [
    { catalog: job.catalog, at: '/catalog' },
    ...(job.sources ?? []).map((x, k) => ({ catalog: x.catalog, at: `/sources/${k}/catalog` })),
  ];
  for (const { catalog, at } of catalogs) {
    if (catalog.kind === 'static' && !isUri(catalog.source)) {
      catalog.source = `${bucketUri}/${within('jobs/', catalog.source, `${at}/source`)}`;
    }
    if (catalog.kind === 'files') {
      // Relative GeoTIFF paths are read beside the job under jobs/, like a relative static catalog.
      catalog.files = catalog.files.map((f, i) => {
        const p = typeof f === 'string' ? f : f.path;
        if (isUri(p)) return f;
        const uri = `${bucketUri}/${within('jobs/', p, `${at}/files/${i}`)}`;
        return typeof f === 'string' ? uri : { ...f, path: uri };
      });
    }
  }
  if (!isUri(job.output.uri)) {
    if (!datasetsUri) {
      throw new InvalidInputError(
        `output.uri "${job.output.uri}" is relative and no datasets bucket is configured`,
        {
          pointer: '/output/uri',
        },
      );
    }
    job.output.uri = `${datasetsUri.replace(/\/+$/, '')}/${within('', job.output.uri, '/output/uri')}`;
  } else if (!job.output.uri.startsWith('s3://')) {
    throw new InvalidInputError(`output.uri "${job.output.uri}" is not on S3, where the Lambdas write`, {
      pointer: '/output/uri',
    });
  }
  // On AWS the work store is the work bucket (WORK_BUCKET); a job's own work URI is not used.
  delete job.output.work;
}
