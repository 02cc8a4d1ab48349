// The LTA order throttle: EnsureOnline's orders wait in an SQS queue, and one consumer places them at
// the CDSE long-term archive no faster than the stage's quota, then reports back to the waiting
// execution through its task token. Poison orders land in a dead-letter queue.
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambdaEvents from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { OrderStateNames } from '../../shared/workflow/contracts.ts';
import { Tasks } from '../../shared/workflow/tasks.ts';
import type { StageConfig } from '../stage-config.ts';
import { NodeFunction } from './node-function.ts';
import { grantObjects, type ObjectAccess } from './s3-access.ts';
import { grantsOf } from './task-functions.ts';

/** SQS guidance: a message stays invisible for at least 6x the consumer's timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/** Order state (what is in flight, when the last order went out) lives under lta/ in the work bucket. */
export const ORDER_CONSUMER_ACCESS: ObjectAccess = grantsOf(Tasks[OrderStateNames.orderProduct].access).work;

export type OrderQueueProps = {
  readonly config: StageConfig;
  readonly workBucket: s3.IBucket;
};

export class OrderQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly consumer: NodeFunction;

  constructor(scope: Construct, id: string, props: OrderQueueProps) {
    super(scope, id);
    const { config, workBucket } = props;
    const settings = config.orderConsumer;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      ...SECURE_QUEUE,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      ...SECURE_QUEUE,
      visibilityTimeout: Duration.seconds(VISIBILITY_TIMEOUT_FACTOR * settings.timeoutSeconds),
      // An order may wait days for its turn under a quota of one order at a time.
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: config.orderQueue.maxReceiveCount },
    });

    this.consumer = new NodeFunction(this, 'OrderConsumer', {
      name: 'OrderConsumer',
      config,
      settings,
      environment: {
        WORK_BUCKET: workBucket.bucketName,
        ORDER_QUEUE_URL: this.queue.queueUrl,
        ORDER_INTERVAL_SECONDS: String(config.orderQueue.orderIntervalSeconds),
        MAX_ORDERS_IN_FLIGHT: String(config.orderQueue.maxOrdersInFlight),
        CDSE_SECRET_NAME: config.orderQueue.cdseSecretName,
      },
    });
    const fn = this.consumer.function;
    fn.addEventSource(
      new lambdaEvents.SqsEventSource(this.queue, { batchSize: 1, reportBatchItemFailures: true }),
    );
    // It re-queues an order with a delay when the quota is used up.
    this.queue.grantSendMessages(fn);
    grantObjects(fn, workBucket, ORDER_CONSUMER_ACCESS);
    // The secret and its value are created outside this app (see README); only its name is config.
    secretsmanager.Secret.fromSecretNameV2(this, 'CdseSecret', config.orderQueue.cdseSecretName).grantRead(
      fn,
    );
  }

  /**
   * Lets the consumer answer the executions that wait on their orders (.waitForTaskToken). The
   * waiting task runs in a child workflow of the OrderProducts Distributed Map, whose state machine
   * is addressed as <state machine ARN>/<map run label>, so both forms are granted.
   */
  grantTaskResponse(stateMachineArn: string): void {
    this.consumer.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
        resources: [stateMachineArn, `${stateMachineArn}/*`],
      }),
    );
  }
}

/** SQS-managed SSE: no KMS key for the state machine and the consumer to be granted. */
const SECURE_QUEUE = {
  encryption: sqs.QueueEncryption.SQS_MANAGED,
  enforceSSL: true,
} as const satisfies sqs.QueueProps;
