// The satfactory stack: storage, one Lambda per Task state, the state machine from buildWorkflow,
// the LTA order queue and its consumer, the ground-truth upload trigger, alarms, and the outputs the
// CLI reads from `cdk deploy --outputs-file`. Every cdk-nag acknowledgement is in nag-acknowledgements.ts.
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import {
  S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY,
  STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2,
} from 'aws-cdk-lib/cx-api';
import type { Construct } from 'constructs';
import { Monitoring } from './constructs/monitoring.ts';
import { OrderQueue } from './constructs/order-queue.ts';
import { Storage } from './constructs/storage.ts';
import { TaskFunctions } from './constructs/task-functions.ts';
import { UploadTrigger } from './constructs/upload-trigger.ts';
import { Workflow } from './constructs/workflow.ts';
import { acknowledgeNagFindings } from './nag-acknowledgements.ts';
import type { StageConfig } from './stage-config.ts';
import type { TaskName } from './workflow-definition.ts';

export { handlerEntry } from './constructs/node-function.ts';

export type SatfactoryStackProps = StackProps & { readonly config: StageConfig };

/** Keys of the stack outputs, as they appear in `cdk deploy --outputs-file`. */
export const OutputKeys = {
  workBucket: 'WorkBucketName',
  datasetsBucket: 'DatasetsBucketName',
  stateMachine: 'StateMachineArn',
  orderQueue: 'OrderQueueUrl',
  alarmTopic: 'AlarmTopicArn',
} as const;

export class SatfactoryStack extends Stack {
  readonly config: StageConfig;
  readonly storage: Storage;
  readonly workBucket: s3.IBucket;
  readonly datasetsBucket: s3.IBucket;
  readonly taskFunctions: TaskFunctions;
  readonly functions: Readonly<Record<TaskName, lambda.IFunction>>;
  readonly orderQueue: OrderQueue;
  readonly workflow: Workflow;
  readonly stateMachine: sfn.StateMachine;
  readonly uploadTrigger: UploadTrigger;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: SatfactoryStackProps) {
    super(scope, id, props);
    // Must be set before any child exists; buildWorkflow refuses to run without it.
    this.node.setContext(STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2, true);
    // Access-log delivery through a bucket policy, not ACLs (the buckets enforce bucket ownership).
    this.node.setContext(S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    const { config } = props;
    this.config = config;

    this.storage = new Storage(this, 'Storage', { config });
    this.workBucket = this.storage.workBucket;
    this.datasetsBucket = this.storage.datasetsBucket;

    this.taskFunctions = new TaskFunctions(this, 'Tasks', {
      config,
      workBucket: this.workBucket,
      datasetsBucket: this.datasetsBucket,
    });
    this.functions = this.taskFunctions.functions;

    this.orderQueue = new OrderQueue(this, 'Orders', { config, workBucket: this.workBucket });

    this.workflow = new Workflow(this, 'Workflow', {
      config,
      functions: this.functions,
      workBucket: this.workBucket,
      orderQueue: this.orderQueue.queue,
    });
    this.stateMachine = this.workflow.stateMachine;
    this.orderQueue.grantTaskResponse(this.stateMachine.stateMachineArn);

    this.uploadTrigger = new UploadTrigger(this, 'Upload', {
      config,
      workBucket: this.workBucket,
      datasetsBucket: this.datasetsBucket,
      stateMachine: this.stateMachine,
    });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      config,
      stateMachine: this.stateMachine,
      functions: {
        ...this.functions,
        OrderConsumer: this.orderQueue.consumer.function,
        StartOnUpload: this.uploadTrigger.function.function,
      },
      queues: [this.orderQueue],
      deadLetterQueues: [{ name: 'UploadFailures', queue: this.uploadTrigger.deadLetterQueue }],
    });

    const output = (key: string, value: string, description: string) =>
      new CfnOutput(this, key, { value, description });
    output(OutputKeys.workBucket, this.workBucket.bucketName, 'work bucket: jobs/, ground-truth/, runs/');
    output(OutputKeys.datasetsBucket, this.datasetsBucket.bucketName, 'datasets bucket');
    output(OutputKeys.stateMachine, this.stateMachine.stateMachineArn, 'the satfactory state machine');
    output(OutputKeys.orderQueue, this.orderQueue.queue.queueUrl, 'LTA order queue');
    output(OutputKeys.alarmTopic, this.monitoring.alarmTopic.topicArn, 'alarm notifications');

    acknowledgeNagFindings(this);
  }
}
