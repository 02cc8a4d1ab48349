// The one definition of the satfactory workflow: states, transitions, Retry and Catch tables. The CDK
// stack deploys it and scripts/generate-asl.ts freezes it into the ASL that the local runtime runs.
import { Duration, FeatureFlags } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2 } from 'aws-cdk-lib/cx-api';
import type { Construct } from 'constructs';
import { StateNames } from '../shared/steps/contracts.ts';

/** Every state of the workflow: the Task states of the contracts plus the two terminal states. */
export const WorkflowStateNames = { ...StateNames, succeeded: 'Succeeded', failed: 'Failed' } as const;

/** The Task states that run a Lambda (ExtractRegions is the Distributed Map around ExtractRegion). */
export const TaskNames = [
  StateNames.plan,
  StateNames.ensureOnline,
  StateNames.prepareLabels,
  StateNames.planWindows,
  StateNames.extractRegion,
  StateNames.commit,
  StateNames.recordFailure,
] as const;
export type TaskName = (typeof TaskNames)[number];

/** Errors of the Lambda service itself: the invocation may never have reached our code. */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

/** Our error names that mean "try again later" (shared/domain/errors.ts). */
export const RETRYABLE_ERRORS = ['TransientError', 'HttpStatusError', 'RangeResponseError'] as const;

/** Where the Distributed Map's ResultWriter puts each Map Run: <prefix>/<map run id>/manifest.json. */
export const MAP_RESULTS_PREFIX = 'map-results';

/** Where each state puts its result in the execution state, next to the execution input. */
export const ResultPaths = {
  [StateNames.plan]: '$.plan',
  [StateNames.ensureOnline]: '$.online',
  [StateNames.prepareLabels]: '$.labels',
  [StateNames.planWindows]: '$.windows',
  [StateNames.extractRegions]: '$.extract',
  [StateNames.commit]: '$.commit',
  [StateNames.recordFailure]: '$.failure',
  caughtError: '$.error',
} as const;

export type WorkflowConfig = {
  readonly maxConcurrency: number;
  readonly toleratedFailurePercentage: number;
  readonly maxItemsPerBatch: number;
};

export type BuildWorkflowProps = {
  readonly functions: Readonly<Record<TaskName, lambda.IFunction>>;
  readonly workBucket: s3.IBucket;
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
  const { functions, workBucket, config } = props;

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

  const step = (name: Exclude<TaskName, 'ExtractRegion' | 'RecordFailure'>): sfn.TaskStateBase =>
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

  const startState = sfn.Chain.start(step(StateNames.plan))
    .next(step(StateNames.ensureOnline))
    .next(step(StateNames.prepareLabels))
    .next(step(StateNames.planWindows))
    .next(extractRegions)
    .next(step(StateNames.commit))
    .next(new sfn.Succeed(scope, WorkflowStateNames.succeeded, { stateName: WorkflowStateNames.succeeded }));

  return { startState, definitionBody: sfn.DefinitionBody.fromChainable(startState) };
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
