// The one definition of the satfactory workflow: states, transitions, Retry and Catch tables. The CDK
// stack deploys it and scripts/generate-asl.ts freezes it into the ASL that the local runtime runs.
import { Duration, FeatureFlags } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2 } from 'aws-cdk-lib/cx-api';
import type { Construct } from 'constructs';
import { OrderStateNames, StateNames } from '../shared/workflow/contracts.ts';
import { LambdaTaskNames } from '../shared/workflow/tasks.ts';

/** Every state of the workflow: the Task states of the contracts, the LTA branch, the terminal states. */
export const WorkflowStateNames = {
  ...StateNames,
  ...OrderStateNames,
  succeeded: 'Succeeded',
  failed: 'Failed',
} as const;

/** The Task states that run a Lambda, from the one task table (ExtractRegions is the map around ExtractRegion). */
export const TaskNames = LambdaTaskNames;
export type TaskName = (typeof LambdaTaskNames)[number];

/** Errors of the Lambda service itself: the invocation may never have reached our code. */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

/**
 * Our error names that mean "try again later" (shared/domain/errors.ts). Permanent failures carry
 * names of their own (HttpRejectedError, RangeRejectedError, DnsLookupError, TlsError) that no
 * Retry lists: test/infra/asl.test.ts checks every error class against every Retry.
 */
export const RETRYABLE_ERRORS = ['TransientError', 'HttpStatusError', 'RangeResponseError'] as const;

/** Where the Distributed Map's ResultWriter puts each Map Run: <prefix>/<map run id>/manifest.json. */
export const MAP_RESULTS_PREFIX = 'map-results';

/** Final shards per WriteShard invocation when the stage does not say. */
export const SHARDS_PER_BATCH = 4;

/** Where each state puts its result in the execution state, next to the execution input. */
export const ResultPaths = {
  [StateNames.plan]: '$.plan',
  [StateNames.ensureOnline]: '$.online',
  /** The orders' results stay out of the state: a run may order hundreds of products. */
  [OrderStateNames.orderProducts]: sfn.JsonPath.DISCARD,
  [StateNames.prepareLabels]: '$.labels',
  [StateNames.planWindows]: '$.windows',
  [StateNames.extractRegions]: '$.extract',
  [StateNames.planShards]: '$.shards',
  [StateNames.writeShards]: '$.written',
  [StateNames.commit]: '$.commit',
  [StateNames.recordFailure]: '$.failure',
  caughtError: '$.error',
} as const;

export type WorkflowConfig = {
  readonly maxConcurrency: number;
  readonly toleratedFailurePercentage: number;
  readonly maxItemsPerBatch: number;
  /** Final shards per WriteShard invocation (default 4: a few 256 MiB shards stream well within 15 min). */
  readonly shardsPerBatch?: number;
  /** OrderProduct fails with States.HeartbeatTimeout when its consumer is silent this long. */
  readonly orderHeartbeatSeconds?: number;
  /** OrderProduct fails with States.Timeout after this long: quota waits plus the archive's restore. */
  readonly orderTimeoutHours?: number;
  /** Products waiting for the quota at once (children of OrderProducts). */
  readonly orderMaxConcurrency?: number;
};

/**
 * Defaults of the LTA settings. The consumer heartbeats on every delivery and waits at most 900 s
 * (SQS DelaySeconds) between deliveries, so an hour of silence means it is gone.
 */
export const ORDER_DEFAULTS = {
  orderHeartbeatSeconds: 3600,
  orderTimeoutHours: 72,
  orderMaxConcurrency: 4,
} as const;

export type BuildWorkflowProps = {
  readonly functions: Readonly<Record<TaskName, lambda.IFunction>>;
  readonly workBucket: s3.IBucket;
  /** The LTA order queue: OrderProduct sends {taskToken, runId, product} and waits for the token. */
  readonly orderQueue: sqs.IQueue;
  readonly config: WorkflowConfig;
};

export type Workflow = {
  readonly startState: sfn.IChainable;
  readonly definitionBody: sfn.DefinitionBody;
};

/** Builds the state machine definition (JSONPath only: the local runtime cannot run JSONata or Assign). */
export function buildWorkflow(scope: Construct, props: BuildWorkflowProps): Workflow {
  if (!FeatureFlags.of(scope).isEnabled(STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2)) {
    // Without the flag CDK silently drops resultWriterV2 and the map results would go nowhere.
    throw new Error(
      `buildWorkflow needs the context flag ${STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2}=true on its stack`,
    );
  }
  const { functions, workBucket, orderQueue, config } = props;

  const failed = new sfn.Fail(scope, WorkflowStateNames.failed, {
    stateName: WorkflowStateNames.failed,
    // The run fails with the error that was caught, so callers see e.g. InvalidInputError, not "Failed".
    errorPath: sfn.JsonPath.stringAt(`${ResultPaths.caughtError}.Error`),
    causePath: sfn.JsonPath.stringAt(`${ResultPaths.caughtError}.Cause`),
  });

  const recordFailure = invoke(
    scope,
    StateNames.recordFailure,
    functions,
    ResultPaths[StateNames.recordFailure],
  );
  // A failure to record the failure must not hide the original error: skip to Failed, keep $.error.
  recordFailure.addCatch(failed, { errors: [sfn.Errors.ALL], resultPath: '$.recordFailureError' });
  recordFailure.next(failed);

  const step = (
    name: Exclude<TaskName, 'ExtractRegion' | 'WriteShard' | 'RecordFailure'>,
  ): sfn.TaskStateBase =>
    invoke(scope, name, functions, ResultPaths[name]).addCatch(recordFailure, {
      errors: [sfn.Errors.ALL],
      resultPath: ResultPaths.caughtError,
    });

  // No ResultPath: the child's output is the batch result itself.
  const extractRegion = invoke(scope, StateNames.extractRegion, functions);
  const extractRegions = new sfn.DistributedMap(scope, StateNames.extractRegions, {
    stateName: StateNames.extractRegions,
    label: StateNames.extractRegions,
    itemReader: new sfn.S3JsonLItemReader({
      bucket: workBucket,
      key: sfn.JsonPath.stringAt(`${ResultPaths[StateNames.planWindows]}.regionsKey`),
    }),
    itemBatcher: new sfn.ItemBatcher({ maxItemsPerBatch: config.maxItemsPerBatch }),
    maxConcurrency: config.maxConcurrency,
    toleratedFailurePercentage: config.toleratedFailurePercentage,
    // Child outputs go to S3, not into the state: 10,000 regions would overflow the 256 KiB limit.
    resultWriterV2: new sfn.ResultWriterV2({ bucket: workBucket, prefix: MAP_RESULTS_PREFIX }),
    // Standard children: a batch may run for Lambda's full 15 minutes, Express children stop at 5.
    mapExecutionType: sfn.StateMachineType.STANDARD,
    resultPath: ResultPaths[StateNames.extractRegions],
  });
  extractRegions.itemProcessor(extractRegion);
  // No Retry on the map itself: retrying would redo every region; a redrive reruns only failed ones.
  extractRegions.addCatch(recordFailure, { errors: [sfn.Errors.ALL], resultPath: ResultPaths.caughtError });

  // WriteShards: a Distributed Map over the final shards (PlanShards' JSONL), a batch per child, so
  // a dataset of any size is resharded by many small functions, each streaming a few shards.
  const writeShard = invoke(scope, StateNames.writeShard, functions);
  const writeShards = new sfn.DistributedMap(scope, StateNames.writeShards, {
    stateName: StateNames.writeShards,
    label: StateNames.writeShards,
    itemReader: new sfn.S3JsonLItemReader({
      bucket: workBucket,
      key: sfn.JsonPath.stringAt(`${ResultPaths[StateNames.planShards]}.shardsKey`),
    }),
    itemBatcher: new sfn.ItemBatcher({ maxItemsPerBatch: config.shardsPerBatch ?? SHARDS_PER_BATCH }),
    maxConcurrency: config.maxConcurrency,
    resultWriterV2: new sfn.ResultWriterV2({ bucket: workBucket, prefix: MAP_RESULTS_PREFIX }),
    mapExecutionType: sfn.StateMachineType.STANDARD,
    resultPath: ResultPaths[StateNames.writeShards],
  });
  writeShards.itemProcessor(writeShard);
  // As ExtractRegions: a redrive reruns only the failed children; written shards have results.
  writeShards.addCatch(recordFailure, { errors: [sfn.Errors.ALL], resultPath: ResultPaths.caughtError });

  const prepareLabels = step(StateNames.prepareLabels);
  const orderProducts = buildOrderProducts(scope, workBucket, orderQueue, config);
  orderProducts.addCatch(recordFailure, { errors: [sfn.Errors.ALL], resultPath: ResultPaths.caughtError });
  orderProducts.next(prepareLabels);
  const needsOrders = new sfn.Choice(scope, OrderStateNames.needsOrders, {
    stateName: OrderStateNames.needsOrders,
    comment: 'Offline products go through the LTA order queue first',
  })
    .when(
      sfn.Condition.and(
        sfn.Condition.isPresent(`${ResultPaths[StateNames.ensureOnline]}.offline`),
        sfn.Condition.numberGreaterThan(`${ResultPaths[StateNames.ensureOnline]}.offline`, 0),
      ),
      orderProducts,
    )
    .otherwise(prepareLabels);

  const startState = sfn.Chain.start(step(StateNames.plan))
    .next(step(StateNames.ensureOnline))
    .next(needsOrders);
  prepareLabels
    .next(step(StateNames.planWindows))
    .next(extractRegions)
    .next(step(StateNames.planShards))
    .next(writeShards)
    .next(step(StateNames.commit))
    .next(new sfn.Succeed(scope, WorkflowStateNames.succeeded, { stateName: WorkflowStateNames.succeeded }));

  return { startState, definitionBody: sfn.DefinitionBody.fromChainable(startState) };
}

/**
 * OrderProducts: a Distributed Map over the orders JSONL (a run may need more offline products than
 * fit in the state), one Standard child per product (waitForTaskToken needs Standard), each an SQS
 * SendMessage that waits until the consumer answers with the token. The quota lives in the consumer;
 * MaxConcurrency only bounds how many products wait in the queue at once.
 */
function buildOrderProducts(
  scope: Construct,
  workBucket: s3.IBucket,
  orderQueue: sqs.IQueue,
  config: WorkflowConfig,
): sfn.DistributedMap {
  const heartbeat = config.orderHeartbeatSeconds ?? ORDER_DEFAULTS.orderHeartbeatSeconds;
  const timeoutHours = config.orderTimeoutHours ?? ORDER_DEFAULTS.orderTimeoutHours;
  const orderProduct = new tasks.SqsSendMessage(scope, OrderStateNames.orderProduct, {
    stateName: OrderStateNames.orderProduct,
    queue: orderQueue,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    messageBody: sfn.TaskInput.fromObject({
      taskToken: sfn.JsonPath.taskToken,
      runId: sfn.JsonPath.stringAt('$.runId'),
      product: sfn.JsonPath.objectAt('$.product'),
    }),
    heartbeatTimeout: sfn.Timeout.duration(Duration.seconds(heartbeat)),
    taskTimeout: sfn.Timeout.duration(Duration.hours(timeoutHours)),
  });
  orderProduct.addRetry({
    // Sending may be throttled; a lost heartbeat means the consumer lost the message: send again
    // (the consumer is idempotent per product, so a second message never orders twice).
    errors: ['SQS.SdkClientException', 'SQS.AmazonSQSException', sfn.Errors.HEARTBEAT_TIMEOUT],
    interval: Duration.seconds(30),
    maxAttempts: 3,
    backoffRate: 2,
    maxDelay: Duration.seconds(300),
    jitterStrategy: sfn.JitterType.FULL,
  });
  const orderProducts = new sfn.DistributedMap(scope, OrderStateNames.orderProducts, {
    stateName: OrderStateNames.orderProducts,
    label: OrderStateNames.orderProducts,
    itemReader: new sfn.S3JsonLItemReader({
      bucket: workBucket,
      key: sfn.JsonPath.stringAt(`${ResultPaths[StateNames.ensureOnline]}.ordersKey`),
    }),
    maxConcurrency: config.orderMaxConcurrency ?? ORDER_DEFAULTS.orderMaxConcurrency,
    mapExecutionType: sfn.StateMachineType.STANDARD,
    // Child outputs go to S3 (for the record), never into the state, which then drops the pointer.
    resultWriterV2: new sfn.ResultWriterV2({ bucket: workBucket, prefix: MAP_RESULTS_PREFIX }),
    resultPath: ResultPaths[OrderStateNames.orderProducts],
  });
  orderProducts.itemProcessor(orderProduct);
  return orderProducts;
}

/**
 * A Lambda Task that receives the whole state and whose Resource is the bare function ARN
 * (payloadResponseOnly), so the local runtime can key its handlers by state name.
 */
function invoke(
  scope: Construct,
  name: TaskName,
  functions: BuildWorkflowProps['functions'],
  resultPath?: string,
): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, name, {
    stateName: name,
    lambdaFunction: functions[name],
    payloadResponseOnly: true,
    // Our own table below replaces CDK's default one, so both runtimes read the same explicit policy.
    retryOnServiceExceptions: false,
    ...(resultPath === undefined ? {} : { resultPath }),
  });
  task.addRetry({
    errors: [...LAMBDA_SERVICE_ERRORS],
    interval: Duration.seconds(2),
    maxAttempts: 6,
    backoffRate: 2,
    maxDelay: Duration.seconds(60),
    jitterStrategy: sfn.JitterType.FULL,
  });
  task.addRetry({
    errors: [...RETRYABLE_ERRORS],
    // Remote hosts (COG buckets, catalogs) throttle: back off further, and spread the retries.
    interval: Duration.seconds(5),
    maxAttempts: 5,
    backoffRate: 2,
    maxDelay: Duration.seconds(120),
    jitterStrategy: sfn.JitterType.FULL,
  });
  return task;
}
