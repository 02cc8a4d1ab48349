// The buckets: work (job specs, ground truth, run scratch, map results, LTA state) and datasets (the
// product), both logging to an access-log bucket. Private, TLS-only, encrypted, versioned.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { StageConfig } from '../stage-config.ts';
import { MAP_RESULTS_PREFIX } from '../workflow-definition.ts';

/** Key prefixes of the work bucket; IAM grants and lifecycle rules are scoped by them. */
export const WorkPrefixes = {
  runs: 'runs/',
  mapResults: `${MAP_RESULTS_PREFIX}/`,
  jobs: 'jobs/',
  groundTruth: 'ground-truth/',
  /** Label and AOI files that `satfactory start` uploads (outside ground-truth/: no trigger). */
  inputs: 'inputs/',
  lta: 'lta/',
} as const;

export type StorageProps = { readonly config: StageConfig };

export class Storage extends Construct {
  readonly accessLogsBucket: s3.IBucket;
  readonly workBucket: s3.IBucket;
  readonly datasetsBucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const { storage } = props.config;
    const abortIncomplete = Duration.days(storage.abortIncompleteMultipartUploadDays);

    // Server access logs can only be delivered to an SSE-S3 bucket (not SSE-KMS), and it cannot log
    // to itself: its own access logging is acknowledged in nag-acknowledgements.ts.
    this.accessLogsBucket = asIBucket(
      new s3.Bucket(this, 'AccessLogsBucket', {
        ...PRIVATE,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removalPolicy: RemovalPolicy.RETAIN,
        lifecycleRules: [
          {
            id: 'expire-access-logs',
            expiration: Duration.days(storage.accessLogExpirationDays),
            abortIncompleteMultipartUploadAfter: abortIncomplete,
          },
        ],
      }),
    );

    const versions: s3.LifecycleRule[] = [
      {
        id: 'abort-incomplete-uploads-and-expire-old-versions',
        abortIncompleteMultipartUploadAfter: abortIncomplete,
        noncurrentVersionExpiration: Duration.days(storage.noncurrentVersionExpirationDays),
      },
      // Once the last version of a key has expired, its delete marker is clutter.
      { id: 'remove-expired-delete-markers', expiredObjectDeleteMarker: true },
    ];
    const scratch = Duration.days(storage.scratchExpirationDays);

    // Versioned so an upload event carries a versionId (one upload, one run, even when the event
    // is delivered twice) and an overwritten job spec or label file can be recovered.
    this.workBucket = asIBucket(
      new s3.Bucket(this, 'WorkBucket', {
        ...PRIVATE,
        versioned: true,
        // Holds scratch and inputs that the user keeps elsewhere; datasets are RETAINed instead.
        removalPolicy: RemovalPolicy.DESTROY,
        serverAccessLogsBucket: this.accessLogsBucket,
        serverAccessLogsPrefix: 'work/',
        lifecycleRules: [
          ...versions,
          { id: 'expire-run-scratch', prefix: WorkPrefixes.runs, expiration: scratch },
          { id: 'expire-map-results', prefix: WorkPrefixes.mapResults, expiration: scratch },
        ],
      }),
    );

    this.datasetsBucket = asIBucket(
      new s3.Bucket(this, 'DatasetsBucket', {
        ...PRIVATE,
        versioned: true,
        removalPolicy: RemovalPolicy.RETAIN,
        serverAccessLogsBucket: this.accessLogsBucket,
        serverAccessLogsPrefix: 'datasets/',
        lifecycleRules: versions,
      }),
    );
  }
}

/**
 * SSE-S3, not KMS: ten thousand region workers range-read and write in parallel, and SSE-KMS would
 * put a KMS request (quota, cost) behind each one and a key grant on every reader of a dataset, for
 * data derived from open Sentinel-2 imagery. Access-log delivery requires SSE-S3 anyway.
 */
const PRIVATE = {
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  encryption: s3.BucketEncryption.S3_MANAGED,
  enforceSSL: true,
  minimumTLSVersion: 1.2,
} as const satisfies s3.BucketProps;

/** Bucket vs IBucket trips exactOptionalPropertyTypes inside CDK's own typings: cast once, here. */
function asIBucket(bucket: s3.Bucket): s3.IBucket {
  return bucket as unknown as s3.IBucket;
}
