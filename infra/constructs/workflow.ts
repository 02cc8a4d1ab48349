// The Standard state machine built from the one workflow definition, with full execution logging to
// its own log group and X-Ray tracing. The tasks grant what they use: Lambda invoke, the Distributed
// Maps' S3 reads and writes and StartExecution of their children, sqs:SendMessage to the order queue.
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { StageConfig } from '../stage-config.ts';
import { buildWorkflow, type TaskName } from '../workflow-definition.ts';

export type WorkflowProps = {
  readonly config: StageConfig;
  readonly functions: Readonly<Record<TaskName, lambda.IFunction>>;
  readonly workBucket: s3.IBucket;
  readonly orderQueue: sqs.IQueue;
};

export class Workflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: WorkflowProps) {
    super(scope, id);
    const { config, functions, workBucket, orderQueue } = props;

    const workflow = buildWorkflow(Stack.of(this), {
      functions,
      workBucket,
      orderQueue,
      config: {
        maxConcurrency: config.maxConcurrency,
        toleratedFailurePercentage: config.toleratedFailurePercentage,
        maxItemsPerBatch: config.maxItemsPerBatch,
        orderHeartbeatSeconds: config.orderQueue.orderHeartbeatSeconds,
        orderTimeoutHours: config.orderQueue.orderTimeoutHours,
        orderMaxConcurrency: config.orderQueue.orderMaxConcurrency,
      },
    });

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      // The /aws/vendedlogs/ prefix keeps CloudWatch Logs' resource policy small as stages multiply.
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-workflow`,
      retention: config.logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: workflow.definitionBody,
      stateMachineType: sfn.StateMachineType.STANDARD,
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
      timeout: Duration.hours(config.executionTimeoutHours),
    });
  }
}
