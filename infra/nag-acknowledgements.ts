// Every cdk-nag finding this app accepts, with its reason, in one place. cdk-nag 3 reads CDK's own
// Validations acknowledgements (v2's NagSuppressions); anything not acknowledged here fails `cdk synth`
// (infra/app.ts adds the AwsSolutions and Serverless packs) and test/infra/nag.test.ts.
// Wildcard findings are acknowledged one by one (`AwsSolutions-IAM5[Resource::...]`), never per rule.
import { type CfnElement, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { OrderStateNames, StateNames } from '../shared/workflow/contracts.ts';
import type { NodeFunction } from './constructs/node-function.ts';
import { ORDER_CONSUMER_ACCESS } from './constructs/order-queue.ts';
import type { ObjectAccess } from './constructs/s3-access.ts';
import { TASK_ACCESS } from './constructs/task-functions.ts';
import { START_ON_UPLOAD_ACCESS } from './constructs/upload-trigger.ts';
import type { SatfactoryStack } from './satfactory-stack.ts';
import { TaskNames } from './workflow-definition.ts';

const XRAY =
  'X-Ray PutTraceSegments/PutTelemetryRecords (and sampling reads) support no resource-level permissions: Resource "*" is the only form.';

export function acknowledgeNagFindings(stack: SatfactoryStack): void {
  const logicalId = (construct: IConstruct): string =>
    stack.resolve(stack.getLogicalId(construct.node.defaultChild as CfnElement));
  const objectFindings = (bucket: IConstruct, access: ObjectAccess): string[] =>
    [...new Set([...(access.read ?? []), ...(access.write ?? [])])]
      .filter((pattern) => pattern.includes('*'))
      .map((pattern) => `AwsSolutions-IAM5[Resource::<${logicalId(bucket)}.Arn>/${pattern}]`);

  const lambdas: Array<{ fn: NodeFunction; objects: string[]; async: boolean }> = [
    ...TaskNames.map((task) => ({
      fn: stack.taskFunctions.byTask[task],
      objects: [
        ...objectFindings(stack.workBucket, TASK_ACCESS[task].work),
        ...objectFindings(stack.datasetsBucket, TASK_ACCESS[task].datasets),
      ],
      async: false,
    })),
    {
      fn: stack.orderQueue.consumer,
      objects: objectFindings(stack.workBucket, ORDER_CONSUMER_ACCESS),
      async: false,
    },
    {
      fn: stack.uploadTrigger.function,
      objects: objectFindings(stack.workBucket, START_ON_UPLOAD_ACCESS),
      async: true,
    },
  ];

  for (const { fn, objects, async } of lambdas) {
    const on = Validations.of(fn);
    on.acknowledge(
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: XRAY },
      {
        id: 'AwsSolutions-L1',
        reason:
          'nodejs22.x on purpose: the local runtime, the tests and the esbuild target are Node 22, so Lambda runs the code the way it was tested. Move all of them to 24 together.',
      },
      {
        id: 'Serverless-LambdaLatestVersion',
        reason:
          'Same as AwsSolutions-L1: Lambda and local runs stay on the one Node major (22) that is tested.',
      },
      ...objects.map((id) => ({
        id,
        reason:
          'Object keys are scoped to the prefixes this function reads or writes (run ids and dataset paths are chosen at run time); the bucket is named, and the actions are GetObject/PutObject only.',
      })),
    );
    if (!async) {
      on.acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason:
          fn === stack.orderQueue.consumer
            ? "Invoked by an SQS event source mapping: failed orders go to the order queue's own dead-letter queue through its redrive policy; a function DLQ applies to asynchronous invocations only."
            : 'Invoked synchronously by Step Functions: a failure returns to the state machine, whose Retry/Catch and RecordFailure handle it; a function DLQ applies to asynchronous invocations only.',
      });
    }
  }

  Validations.of(stack.orderQueue.consumer).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${logicalId(stack.stateMachine)}>/*]`,
    reason:
      "SendTaskSuccess/Failure/Heartbeat for the waiting OrderProduct tasks, which run in child workflows of this state machine's OrderProducts Distributed Map (<state machine>/<map run label>): this state machine only.",
  });
  Validations.of(stack.orderQueue.consumer.function).acknowledge({
    id: 'Serverless-LambdaEventSourceMappingDestination',
    reason:
      "An SQS event source mapping has no on-failure destination; the queue's redrive policy (maxReceiveCount from the stage config) moves poison orders to the dead-letter queue, which has an alarm.",
  });

  for (const dlq of [stack.orderQueue.deadLetterQueue, stack.uploadTrigger.deadLetterQueue]) {
    Validations.of(dlq).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason:
        'This queue is itself a dead-letter queue (alarmed when not empty); it has nowhere further to redrive.',
    });
  }

  const machine = stack.stateMachine;
  const machineId = logicalId(machine);
  const execution = (suffix: string) =>
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${machineId}"}]}]}${suffix}]`;
  Validations.of(machine).acknowledge(
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `${XRAY} The CloudWatch Logs delivery actions a state machine needs for its execution logs (CreateLogDelivery and friends) are likewise resource "*" only.`,
    },
    ...TaskNames.map((task) => ({
      id: `AwsSolutions-IAM5[Resource::<${logicalId(stack.functions[task])}.Arn>:*]`,
      reason:
        'lambda:InvokeFunction on the function and its versions/aliases (CDK LambdaInvoke): one named function.',
    })),
    {
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<${logicalId(stack.workBucket)}>/*]`,
      reason:
        "The Distributed Maps read the regions and final-shards JSONL at keys chosen at run time ($.windows.regionsKey, $.shards.shardsKey) and their ResultWriter writes under map-results/: CDK grants these on the work bucket's objects; the datasets bucket is not reachable.",
    },
    {
      id: execution(':*'),
      reason: 'The Distributed Map starts, describes and stops child executions of this state machine only.',
    },
    ...[StateNames.extractRegions, StateNames.writeShards, OrderStateNames.orderProducts].map((map) => ({
      id: execution(`/${map}:*`),
      reason: `Map Runs of this state machine's ${map} Distributed Map only (DescribeMapRun, UpdateMapRun, redrive).`,
    })),
  );
}
