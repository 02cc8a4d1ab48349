// Ground truth uploaded under ground-truth/ in the work bucket starts a run. S3 sends "Object
// Created" to EventBridge (set on the bucket itself, so no notifications custom resource and its
// Lambda), a rule routes it to StartOnUpload, and events that fail go to a dead-letter queue.
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { WorkFiles } from '../../shared/work/files.ts';
import type { StageConfig } from '../stage-config.ts';
import { NodeFunction } from './node-function.ts';
import { grantObjects, type ObjectAccess } from './s3-access.ts';
import { WorkPrefixes } from './storage.ts';

const STORED_JOB = WorkFiles.job.pattern;

/**
 * The job spec (and its AOI file) under jobs/, the upload under ground-truth/; the resolved job is
 * stored once at runs/<run>/job.json, where every step loads it (HEAD first, so read as well).
 */
export const START_ON_UPLOAD_ACCESS: ObjectAccess = {
  read: [`${WorkPrefixes.jobs}*`, `${WorkPrefixes.groundTruth}*`, STORED_JOB],
  write: [STORED_JOB],
};

export type UploadTriggerProps = {
  readonly config: StageConfig;
  readonly workBucket: s3.IBucket;
  readonly datasetsBucket: s3.IBucket;
  readonly stateMachine: sfn.IStateMachine;
};

export class UploadTrigger extends Construct {
  readonly function: NodeFunction;
  readonly rule: events.Rule;
  /** Upload events that could not start a run, from EventBridge or after Lambda's async retries. */
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: UploadTriggerProps) {
    super(scope, id);
    const { config, workBucket, datasetsBucket, stateMachine } = props;

    // The bucket's own EventBridge switch: CDK's eventBridgeEnabled would add a custom resource.
    const cfnBucket = workBucket.node.defaultChild as s3.CfnBucket;
    cfnBucket.notificationConfiguration = { eventBridgeConfiguration: { eventBridgeEnabled: true } };

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    this.function = new NodeFunction(this, 'StartOnUpload', {
      name: 'StartOnUpload',
      config,
      settings: config.startOnUpload,
      environment: {
        STATE_MACHINE_ARN: stateMachine.stateMachineArn,
        WORK_BUCKET: workBucket.bucketName,
        // A job's relative output.uri lands in the datasets bucket.
        DATASETS_BUCKET: datasetsBucket.bucketName,
      },
      deadLetterQueue: this.deadLetterQueue,
    });
    const fn = this.function.function;
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution'],
        resources: [stateMachine.stateMachineArn],
      }),
    );
    grantObjects(fn, workBucket, START_ON_UPLOAD_ACCESS);

    this.rule = new events.Rule(this, 'GroundTruthUploaded', {
      description: `satfactory ${config.stage}: start a run for each ground-truth upload`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [workBucket.bucketName] },
          object: { key: [{ prefix: WorkPrefixes.groundTruth }] },
        },
      },
      targets: [
        new targets.LambdaFunction(fn, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 3,
          maxEventAge: Duration.hours(2),
        }),
      ],
    });
  }
}
