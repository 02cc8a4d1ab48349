// Alarms through cdk-monitoring-constructs: failed and timed-out executions, errors and throttles
// of every Lambda, anything in a dead-letter queue. They notify an encrypted, TLS-only SNS topic.
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { MonitoringFacade, SnsAlarmActionStrategy } from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import type { StageConfig } from '../stage-config.ts';

export type MonitoringProps = {
  readonly config: StageConfig;
  readonly stateMachine: sfn.IStateMachine;
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** Queue and its dead-letter queue. */
  readonly queues: ReadonlyArray<{ readonly queue: sqs.IQueue; readonly deadLetterQueue: sqs.IQueue }>;
  /** Dead-letter queues without a source queue (asynchronous Lambda and EventBridge failures). */
  readonly deadLetterQueues: ReadonlyArray<{ readonly name: string; readonly queue: sqs.IQueue }>;
};

const ANY = { Critical: { maxErrorCount: 0 } };

export class Monitoring extends Construct {
  readonly alarmTopic: sns.Topic;
  readonly facade: MonitoringFacade;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { config } = props;
    // SNS encryption needs a customer managed key: CloudWatch cannot use the aws/sns key.
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: `satfactory ${config.stage} alarm topic`,
      enableKeyRotation: true,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `satfactory ${config.stage} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    if (config.alarmEmail)
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));

    this.facade = new MonitoringFacade(this, 'Facade', {
      alarmFactoryDefaults: {
        alarmNamePrefix: `satfactory-${config.stage}`,
        actionsEnabled: true,
        // One bad 5-minute period is enough: a failed run or a dead letter is never noise here.
        datapointsToAlarm: 1,
        evaluationPeriods: 1,
        action: new SnsAlarmActionStrategy({ onAlarmTopic: this.alarmTopic }),
      },
    });
    this.facade.monitorStepFunction({
      stateMachine: props.stateMachine,
      addFailedExecutionCountAlarm: ANY,
      addTimedOutExecutionCountAlarm: ANY,
    });
    for (const [name, fn] of Object.entries(props.functions)) {
      this.facade.monitorLambdaFunction({
        lambdaFunction: fn,
        alarmFriendlyName: name,
        addFaultCountAlarm: ANY,
        addThrottlesCountAlarm: ANY,
      });
    }
    for (const { queue, deadLetterQueue } of props.queues) {
      this.facade.monitorSqsQueueWithDlq({
        queue,
        deadLetterQueue,
        addDeadLetterQueueMaxSizeAlarm: { Critical: { maxMessageCount: 0 } },
      });
    }
    for (const { name, queue } of props.deadLetterQueues) {
      this.facade.monitorSqsQueue({
        queue,
        alarmFriendlyName: name,
        addQueueMaxSizeAlarm: { Critical: { maxMessageCount: 0 } },
      });
    }
  }
}
