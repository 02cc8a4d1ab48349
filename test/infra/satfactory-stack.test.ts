// The stack's security and wiring, property by property, on one synthesized template (bundling off):
// private TLS-only encrypted buckets with versioning, lifecycle and access logs; one traced arm64
// Node 22 Lambda per Task with its own log group and prefix-scoped grants; a logged, traced Standard
// state machine; the LTA order queue and its consumer; the upload trigger; alarms; outputs.
import { readFileSync } from 'node:fs';
import { type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { VISIBILITY_TIMEOUT_FACTOR } from '../../infra/constructs/order-queue.ts';
import { TASK_ACCESS } from '../../infra/constructs/task-functions.ts';
import { handlerEntry, OutputKeys, type SatfactoryStack } from '../../infra/satfactory-stack.ts';
import { functionSettings, parseStageConfig } from '../../infra/stage-config.ts';
import { TaskNames } from '../../infra/workflow-definition.ts';
import { InvalidInputError } from '../../shared/domain/errors.ts';
import { identityStatements, type Statement, synth } from './synth.ts';

let template: Template;
let stack: SatfactoryStack;

beforeAll(() => {
  ({ template, stack } = synth());
});

const logicalId = (construct: IConstruct): string =>
  Stack.of(construct).resolve(Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement));

/** A CloudFormation string expression as readable text: GetAtt X.Arn -> <X.Arn>, Ref X -> <X>. */
function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(render).join(',');
  if (value && typeof value === 'object') {
    const [fn, args] = Object.entries(value)[0] ?? [];
    if (fn === 'Fn::Join' && Array.isArray(args))
      return (args[1] as unknown[]).map(render).join(String(args[0]));
    if (fn === 'Fn::GetAtt' && Array.isArray(args)) return `<${args.join('.')}>`;
    if (fn === 'Ref') return `<${String(args)}>`;
  }
  return JSON.stringify(value);
}

const actionsOf = (s: Statement): string[] => [s.Action].flat();
const resourcesOf = (s: Statement): string[] => [s.Resource].flat().map(render);

describe('SatfactoryStack', () => {
  it('is named after the stage', () => {
    expect(stack.stackName).toBe('Satfactory-dev');
  });

  describe('buckets', () => {
    it('keeps work, datasets and access-log buckets private and SSE-S3 encrypted', () => {
      template.resourceCountIs('AWS::S3::Bucket', 3);
      template.allResourcesProperties('AWS::S3::Bucket', {
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
      });
    });

    it('denies every request that is not TLS (1.2 or newer) on every bucket', () => {
      template.resourceCountIs('AWS::S3::BucketPolicy', 3);
      template.allResourcesProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
            Match.objectLike({
              Effect: 'Deny',
              Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
            }),
          ]),
        },
      });
    });

    it('versions work and datasets and sends their access logs to the access-log bucket', () => {
      const logs = logicalId(stack.storage.accessLogsBucket);
      for (const [bucket, prefix] of [
        [stack.workBucket, 'work/'],
        [stack.datasetsBucket, 'datasets/'],
      ] as const) {
        const props = template.toJSON().Resources[logicalId(bucket)].Properties;
        expect(props.VersioningConfiguration).toEqual({ Status: 'Enabled' });
        expect(props.LoggingConfiguration).toEqual({
          DestinationBucketName: { Ref: logs },
          LogFilePrefix: prefix,
        });
      }
      // Log delivery by bucket policy, not ACLs.
      const logsProps = template.toJSON().Resources[logs].Properties;
      expect(logsProps.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
      expect(logsProps.AccessControl).toBeUndefined();
      expect(logsProps.LifecycleConfiguration.Rules[0]).toMatchObject({
        ExpirationInDays: 365,
        Status: 'Enabled',
      });
    });

    it('expires run scratch and map results, old versions and incomplete uploads', () => {
      const rules = template.toJSON().Resources[logicalId(stack.workBucket)].Properties.LifecycleConfiguration
        .Rules as Record<string, unknown>[];
      expect(rules).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Prefix: 'runs/', ExpirationInDays: 30, Status: 'Enabled' }),
          expect.objectContaining({ Prefix: 'map-results/', ExpirationInDays: 30, Status: 'Enabled' }),
          expect.objectContaining({
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 },
            NoncurrentVersionExpiration: { NoncurrentDays: 30 },
          }),
          expect.objectContaining({ ExpiredObjectDeleteMarker: true }),
        ]),
      );
      const datasets = template.toJSON().Resources[logicalId(stack.datasetsBucket)].Properties
        .LifecycleConfiguration.Rules as Record<string, unknown>[];
      // A dataset never expires; only its overwritten versions and broken uploads do.
      expect(datasets.some((r) => 'ExpirationInDays' in r)).toBe(false);
      expect(datasets).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } }),
        ]),
      );
    });

    it('takes lifetimes from the stage config', () => {
      const custom = synth({ satfactory: { storage: { scratchExpirationDays: 3 } } });
      custom.template.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: {
          Rules: Match.arrayWith([Match.objectLike({ Prefix: 'runs/', ExpirationInDays: 3 })]),
        },
      });
    });
  });

  describe('functions', () => {
    it('has one function per Task state plus the order consumer and the upload trigger', () => {
      template.resourceCountIs('AWS::Lambda::Function', TaskNames.length + 2);
    });

    it('runs every function on Node 22, arm64, X-Ray active, logging to its own log group', () => {
      const functions = Object.values(template.findResources('AWS::Lambda::Function'));
      const logGroups = new Set(Object.keys(template.findResources('AWS::Logs::LogGroup')));
      for (const fn of functions) {
        expect(fn.Properties).toMatchObject({
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
          TracingConfig: { Mode: 'Active' },
        });
        const group = fn.Properties.LoggingConfig?.LogGroup?.Ref as string;
        expect(logGroups.has(group)).toBe(true);
      }
    });

    it('keeps every log group for the stage retention', () => {
      template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
      const custom = synth({ satfactory: { logRetentionDays: 90 } });
      custom.template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    });

    it('sizes each Task function from the stage config', () => {
      const config = parseStageConfig(undefined);
      for (const task of TaskNames) {
        const settings = functionSettings(config, task);
        const props = template.toJSON().Resources[logicalId(stack.functions[task])].Properties;
        expect({ memory: props.MemorySize, timeout: props.Timeout }, task).toEqual({
          memory: settings.memoryMb,
          timeout: settings.timeoutSeconds,
        });
        expect(props.Environment.Variables.WORK_BUCKET).toEqual({ Ref: logicalId(stack.workBucket) });
      }
    });

    it('tells every Task function what a job may read: nothing local, no plain http, no private host by default', () => {
      const variables = (s: SatfactoryStack, t: Template, task: (typeof TaskNames)[number]) =>
        t.toJSON().Resources[logicalId(s.functions[task])].Properties.Environment.Variables;
      for (const task of TaskNames) {
        expect(variables(stack, template, task), task).toMatchObject({
          SATFACTORY_INPUTS_ALLOW_HTTP: 'false',
          SATFACTORY_INPUTS_ALLOW_NETWORKS: '',
        });
      }
      const custom = synth({
        satfactory: { inputs: { allowHttp: true, allowNetworks: ['10.1.0.0/16', 'fd00::/8'] } },
      });
      expect(variables(custom.stack, custom.template, 'Plan')).toMatchObject({
        SATFACTORY_INPUTS_ALLOW_HTTP: 'true',
        SATFACTORY_INPUTS_ALLOW_NETWORKS: '10.1.0.0/16,fd00::/8',
      });
    });

    it('gives each function its own role, with no managed policy', () => {
      const roles = Object.values(
        template.findResources('AWS::IAM::Role', {
          Properties: {
            AssumeRolePolicyDocument: {
              Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
            },
          },
        }),
      );
      expect(roles).toHaveLength(TaskNames.length + 2);
      for (const role of roles) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    });
  });

  describe('IAM', () => {
    it('never grants s3:* or * actions', () => {
      for (const s of identityStatements(template)) {
        for (const action of actionsOf(s))
          expect(action, s.policy).not.toMatch(/^(\*|s3:\*|sqs:\*|states:\*)$/);
      }
    });

    it('grants no data action (S3, SQS, Step Functions, Lambda, Secrets Manager) on Resource "*"', () => {
      for (const s of identityStatements(template)) {
        const data = actionsOf(s).filter((a) => /^(s3|sqs|states|lambda|secretsmanager|kms):/.test(a));
        if (data.length > 0) expect(resourcesOf(s), `${s.policy} ${data.join(',')}`).not.toContain('*');
      }
    });

    it('scopes every Task function to the keys its step reads and writes', () => {
      const work = logicalId(stack.workBucket);
      const datasets = logicalId(stack.datasetsBucket);
      for (const task of TaskNames) {
        const policy = logicalId(stack.taskFunctions.byTask[task].role.node.findChild('DefaultPolicy'));
        const statements = identityStatements(template).filter((s) => s.policy === policy);
        const objects = (action: string) =>
          statements
            .filter((s) => actionsOf(s).includes(action))
            .flatMap(resourcesOf)
            .sort();
        const expected = (access: 'read' | 'write') =>
          [
            ...(TASK_ACCESS[task].work[access] ?? []).map((p) => `<${work}.Arn>/${p}`),
            ...(TASK_ACCESS[task].datasets[access] ?? []).map((p) => `<${datasets}.Arn>/${p}`),
          ].sort();
        expect(objects('s3:GetObject'), task).toEqual(expected('read'));
        expect(objects('s3:PutObject'), task).toEqual(expected('write'));
        // No deletes anywhere: scratch expires by lifecycle, datasets are create-only.
        expect(
          statements.flatMap(actionsOf).filter((a) => a.startsWith('s3:Delete')),
          task,
        ).toEqual([]);
      }
      // RecordFailure writes its failure file only, and reads nothing.
      expect(TASK_ACCESS.RecordFailure).toEqual({ work: { write: ['runs/*/failure.json'] }, datasets: {} });
    });

    it('lets no function touch S3 beyond its prefixes: no other bucket, no whole work bucket, no whole run', () => {
      const work = `<${logicalId(stack.workBucket)}.Arn>`;
      const datasets = `<${logicalId(stack.datasetsBucket)}.Arn>`;
      // Written out here, not derived from the task table: what a function may name in the work
      // bucket is one kind of run file (runs/<run>/<file>), an upload prefix, or the LTA ledger.
      const workKey = /^(runs\/\*\/[^*].*|jobs\/\*|ground-truth\/\*|inputs\/\*|lta\/(slots|products)\/.+)$/;
      // Only the steps that write a dataset see the datasets bucket (output.uri picks the prefix).
      const datasetSteps = ['Plan', 'WriteShard', 'Commit'];
      const roles = new Map<string, string>([
        ...TaskNames.map((t) => [logicalId(stack.taskFunctions.byTask[t].role), t] as [string, string]),
        [logicalId(stack.orderQueue.consumer.role), 'OrderConsumer'],
        [logicalId(stack.uploadTrigger.function.role), 'StartOnUpload'],
      ]);
      const lambdaRoles = Object.values(template.findResources('AWS::Lambda::Function')).map(
        (f) => f.Properties.Role['Fn::GetAtt'][0] as string,
      );
      expect(new Set(lambdaRoles)).toEqual(new Set(roles.keys()));
      const policies = template.findResources('AWS::IAM::Policy');
      let checked = 0;
      for (const s of identityStatements(template)) {
        const attached = (policies[s.policy]?.Properties.Roles ?? []) as Array<{ Ref: string }>;
        const fn = attached.map((r) => roles.get(r.Ref)).find(Boolean);
        if (!fn) continue;
        for (const action of actionsOf(s).filter((a) => a.startsWith('s3:'))) {
          expect(['s3:GetObject', 's3:PutObject', 's3:ListBucket'], `${fn} ${action}`).toContain(action);
          for (const resource of resourcesOf(s)) {
            checked++;
            expect(resource, `${fn} ${action}`).not.toMatch(/arn:aws:s3:::/);
            if (action === 's3:ListBucket') {
              expect([work, datasets], `${fn} ${action}`).toContain(resource);
            } else if (resource.startsWith(`${datasets}/`)) {
              expect(datasetSteps, `${fn} ${action} ${resource}`).toContain(fn);
            } else {
              expect(resource.startsWith(`${work}/`), `${fn} ${action} ${resource}`).toBe(true);
              expect(resource.slice(work.length + 1), `${fn} ${action}`).toMatch(workKey);
            }
          }
        }
      }
      expect(checked).toBeGreaterThan(50);
      // And each dataset step does see its dataset (reads the claim first).
      for (const step of datasetSteps) {
        expect(TASK_ACCESS[step as (typeof TaskNames)[number]].datasets, step).toEqual({
          read: ['*'],
          write: ['*'],
        });
      }
    });
  });

  describe('state machine', () => {
    it('times out after executionTimeoutHours, so the timed-out alarm can fire', () => {
      const asl = JSON.parse(
        readFileSync(new URL('../../shared/runtime/workflow.asl.json', import.meta.url), 'utf8'),
      );
      expect(asl.TimeoutSeconds).toBe(96 * 3600);
    });

    it('is Standard, logs ALL with execution data to its own log group, and traces with X-Ray', () => {
      template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
      template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineType: 'STANDARD',
        LoggingConfiguration: {
          Level: 'ALL',
          IncludeExecutionData: true,
          Destinations: [
            {
              CloudWatchLogsLogGroup: {
                LogGroupArn: { 'Fn::GetAtt': [logicalId(stack.workflow.logGroup), 'Arn'] },
              },
            },
          ],
        },
        TracingConfiguration: { Enabled: true },
      });
      template.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: Match.stringLikeRegexp('^/aws/vendedlogs/states/'),
        RetentionInDays: 30,
      });
    });

    it('may invoke the Task functions, start its Map children, use the work bucket and send orders', () => {
      const role = logicalId(stack.stateMachine.role);
      const statements = identityStatements(template).filter((s) =>
        JSON.stringify(template.toJSON().Resources[s.policy].Properties.Roles).includes(role),
      );
      const actions = new Set(statements.flatMap(actionsOf));
      for (const action of [
        'lambda:InvokeFunction',
        'states:StartExecution',
        'states:DescribeExecution',
        's3:GetObject',
        's3:PutObject',
        'sqs:SendMessage',
      ]) {
        expect(actions.has(action), action).toBe(true);
      }
      const s3 = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
      for (const s of s3)
        expect(resourcesOf(s).join(), 'work bucket only').toContain(logicalId(stack.workBucket));
    });

    it('takes its knobs from the "satfactory" context', () => {
      const custom = synth({ satfactory: { stage: 'prod', maxConcurrency: 200, maxItemsPerBatch: 4 } });
      expect(custom.stack.stackName).toBe('Satfactory-prod');
      const [machine] = Object.values(custom.template.findResources('AWS::StepFunctions::StateMachine'));
      const text = JSON.stringify(machine?.Properties?.DefinitionString);
      expect(text).toContain('\\"MaxConcurrency\\":200');
      expect(text).toContain('\\"MaxItemsPerBatch\\":4');
    });
  });

  describe('order queue', () => {
    it('encrypts both queues with SQS-managed keys and denies non-TLS access', () => {
      template.allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
      const queues = Object.keys(template.findResources('AWS::SQS::Queue'));
      const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
      for (const queue of queues) {
        const policy = policies.find((p) => JSON.stringify(p.Properties.Queues).includes(queue));
        expect(policy?.Properties.PolicyDocument.Statement, queue).toEqual(
          expect.arrayContaining([
            expect.objectContaining({
              Effect: 'Deny',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        );
      }
    });

    it('redrives to a DLQ after maxReceiveCount and stays invisible >= 6x the consumer timeout', () => {
      const check = (t: Template, s: SatfactoryStack, maxReceiveCount: number) => {
        const queue = t.toJSON().Resources[logicalId(s.orderQueue.queue)].Properties;
        expect(queue.RedrivePolicy).toEqual({
          deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(s.orderQueue.deadLetterQueue), 'Arn'] },
          maxReceiveCount,
        });
        const consumer = t.toJSON().Resources[logicalId(s.orderQueue.consumer.function)].Properties;
        expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(VISIBILITY_TIMEOUT_FACTOR * consumer.Timeout);
      };
      check(template, stack, 5);
      const custom = synth({
        satfactory: {
          orderConsumer: { memoryMb: 512, timeoutSeconds: 300 },
          orderQueue: { maxReceiveCount: 2 },
        },
      });
      check(custom.template, custom.stack, 2);
    });

    it('feeds the consumer one order at a time with partial batch failures', () => {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        BatchSize: 1,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.orderQueue.queue), 'Arn'] },
      });
      const env =
        template.toJSON().Resources[logicalId(stack.orderQueue.consumer.function)].Properties.Environment
          .Variables;
      expect(env).toMatchObject({
        WORK_BUCKET: { Ref: logicalId(stack.workBucket) },
        ORDER_QUEUE_URL: { Ref: logicalId(stack.orderQueue.queue) },
        ORDER_INTERVAL_SECONDS: '1800',
        MAX_ORDERS_IN_FLIGHT: '1',
        CDSE_SECRET_NAME: 'satfactory/cdse-credentials',
      });
    });

    it('lets the consumer answer task tokens, use lta/ and read the CDSE secret, nothing more', () => {
      const policy = logicalId(stack.orderQueue.consumer.role.node.findChild('DefaultPolicy'));
      const statements = identityStatements(template).filter((s) => s.policy === policy);
      const byAction = (action: string) =>
        statements.filter((s) => actionsOf(s).includes(action)).flatMap(resourcesOf);
      expect(byAction('states:SendTaskSuccess')).toEqual([
        `<${logicalId(stack.stateMachine)}>`,
        `<${logicalId(stack.stateMachine)}>/*`,
      ]);
      expect(byAction('states:SendTaskHeartbeat')).toHaveLength(2);
      // The ledger files of the OrderProduct entry of the task table, and nothing else.
      const ledger = (patterns: string[]) => patterns.map((p) => `<${logicalId(stack.workBucket)}.Arn>/${p}`);
      expect(byAction('s3:GetObject')).toEqual(
        ledger(['lta/products/*/attempt-*.json', 'lta/products/*/order-*.json', 'lta/slots/*.json']),
      );
      expect(byAction('s3:PutObject')).toEqual(
        ledger([
          'lta/products/*/attempt-*.json',
          'lta/products/*/attempt-*.released.json',
          'lta/products/*/order-*.json',
          'lta/slots/*.done.json',
          'lta/slots/*.json',
        ]),
      );
      expect(byAction('secretsmanager:GetSecretValue').join()).toContain(
        ':secret:satfactory/cdse-credentials-??????',
      );
      expect(byAction('sqs:ReceiveMessage')).toEqual([`<${logicalId(stack.orderQueue.queue)}.Arn>`]);
    });
  });

  describe('upload trigger', () => {
    it("sends the work bucket's events to EventBridge and routes ground-truth/ uploads to StartOnUpload", () => {
      const work = template.toJSON().Resources[logicalId(stack.workBucket)].Properties;
      expect(work.NotificationConfiguration).toEqual({
        EventBridgeConfiguration: { EventBridgeEnabled: true },
      });
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          source: ['aws.s3'],
          'detail-type': ['Object Created'],
          detail: {
            bucket: { name: [{ Ref: logicalId(stack.workBucket) }] },
            object: { key: [{ prefix: 'ground-truth/' }] },
          },
        },
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [logicalId(stack.uploadTrigger.function.function), 'Arn'] },
            DeadLetterConfig: {
              Arn: { 'Fn::GetAtt': [logicalId(stack.uploadTrigger.deadLetterQueue), 'Arn'] },
            },
          }),
        ],
      });
      // No custom resource (and its Lambda) for bucket notifications.
      expect(Object.keys(template.findResources('Custom::S3BucketNotifications'))).toEqual([]);
    });

    it('gives StartOnUpload its env and StartExecution on this state machine only', () => {
      const fn = template.toJSON().Resources[logicalId(stack.uploadTrigger.function.function)].Properties;
      expect(fn.Environment.Variables).toMatchObject({
        STATE_MACHINE_ARN: { Ref: logicalId(stack.stateMachine) },
        WORK_BUCKET: { Ref: logicalId(stack.workBucket) },
        DATASETS_BUCKET: { Ref: logicalId(stack.datasetsBucket) },
      });
      expect(fn.DeadLetterConfig).toEqual({
        TargetArn: { 'Fn::GetAtt': [logicalId(stack.uploadTrigger.deadLetterQueue), 'Arn'] },
      });
      const policy = logicalId(stack.uploadTrigger.function.role.node.findChild('DefaultPolicy'));
      const statements = identityStatements(template).filter((s) => s.policy === policy);
      const byAction = (action: string) =>
        statements.filter((s) => actionsOf(s).includes(action)).flatMap(resourcesOf);
      expect(byAction('states:StartExecution')).toEqual([`<${logicalId(stack.stateMachine)}>`]);
      const work = `<${logicalId(stack.workBucket)}.Arn>`;
      expect(byAction('s3:GetObject').sort()).toEqual(
        [`${work}/ground-truth/*`, `${work}/jobs/*`, `${work}/runs/*/job.json`].sort(),
      );
      expect(byAction('s3:PutObject')).toEqual([`${work}/runs/*/job.json`]);
    });
  });

  describe('monitoring', () => {
    it('alarms on failed and timed-out executions, Lambda errors and throttles, and DLQ depth', () => {
      const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
      const metricName = (a: {
        MetricName?: string;
        Metrics?: Array<{ MetricStat?: { Metric: { MetricName: string } } }>;
      }) => a.MetricName ?? a.Metrics?.find((m) => m.MetricStat)?.MetricStat?.Metric.MetricName;
      const metric = (name: string) => alarms.filter((a) => metricName(a) === name);
      expect(metric('ExecutionsFailed')).toHaveLength(1);
      expect(metric('ExecutionsTimedOut')).toHaveLength(1);
      expect(metric('Errors')).toHaveLength(TaskNames.length + 2);
      expect(metric('Throttles')).toHaveLength(TaskNames.length + 2);
      const depth = metric('ApproximateNumberOfMessagesVisible');
      expect(depth).toHaveLength(2);
      for (const a of depth)
        expect(a).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
      const topic = logicalId(stack.monitoring.alarmTopic);
      for (const a of alarms) {
        expect(a.AlarmActions).toEqual([{ Ref: topic }]);
        // A single failed run or dead letter alarms.
        expect(a).toMatchObject({ EvaluationPeriods: 1, DatapointsToAlarm: 1 });
      }
    });

    it('encrypts the alarm topic with a rotating key and denies non-TLS publishing', () => {
      template.hasResourceProperties('AWS::SNS::Topic', {
        KmsMasterKeyId: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
      });
      template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });
  });

  it('outputs what the CLI reads from cdk deploy --outputs-file', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs).sort()).toEqual(Object.values(OutputKeys).sort());
    expect(outputs[OutputKeys.workBucket]?.Value).toEqual({ Ref: logicalId(stack.workBucket) });
    expect(outputs[OutputKeys.datasetsBucket]?.Value).toEqual({ Ref: logicalId(stack.datasetsBucket) });
    expect(outputs[OutputKeys.stateMachine]?.Value).toEqual({ Ref: logicalId(stack.stateMachine) });
    expect(outputs[OutputKeys.orderQueue]?.Value).toEqual({ Ref: logicalId(stack.orderQueue.queue) });
  });
});

describe('handlerEntry', () => {
  it('maps a Task state name to its kebab-case handler file', () => {
    expect(handlerEntry('ExtractRegion')).toMatch(/\/lambdas\/extract-region\/index\.ts$/);
    expect(handlerEntry('Plan')).toMatch(/\/lambdas\/plan\/index\.ts$/);
    expect(handlerEntry('OrderConsumer')).toMatch(/\/lambdas\/order-consumer\/index\.ts$/);
  });
});

describe('parseStageConfig', () => {
  it('fills the defaults', () => {
    const config = parseStageConfig(undefined);
    expect(config).toMatchObject({
      stage: 'dev',
      maxConcurrency: 40,
      toleratedFailurePercentage: 0,
      maxItemsPerBatch: 1,
      logRetentionDays: 30,
      storage: {
        scratchExpirationDays: 30,
        abortIncompleteMultipartUploadDays: 2,
        noncurrentVersionExpirationDays: 30,
        accessLogExpirationDays: 365,
      },
      orderQueue: { maxReceiveCount: 5, orderIntervalSeconds: 1800, maxOrdersInFlight: 1 },
      orderConsumer: { memoryMb: 256, timeoutSeconds: 60 },
      inputs: { allowHttp: false, allowNetworks: [] },
    });
    expect(config.alarmEmail).toBeUndefined();
    expect(functionSettings(config, 'RecordFailure')).toEqual({ memoryMb: 1024, timeoutSeconds: 300 });
    expect(functionSettings(config, 'PrepareLabels')).toEqual({ memoryMb: 4096, timeoutSeconds: 900 });
    expect(functionSettings(config, 'ExtractRegion')).toEqual({ memoryMb: 3008, timeoutSeconds: 900 });
  });

  const errorOf = (input: unknown): unknown => {
    try {
      parseStageConfig(input, 'cdk.json');
    } catch (e) {
      return e;
    }
    throw new Error(`accepted ${JSON.stringify(input)}`);
  };

  it.each([
    [{ functions: { Plan: { timeoutSeconds: 901 } } }, '/functions/Plan/timeoutSeconds'],
    [{ logRetentionDays: 31 }, '/logRetentionDays'],
    [{ storage: { scratchExpirationDays: 0 } }, '/storage/scratchExpirationDays'],
    [{ orderQueue: { maxReceiveCount: 0 } }, '/orderQueue/maxReceiveCount'],
    [{ orderQueue: { cdseSecretName: 'no spaces please' } }, '/orderQueue/cdseSecretName'],
    [{ orderConsumer: { memoryMb: 64, timeoutSeconds: 10 } }, '/orderConsumer/memoryMb'],
    [{ alarmEmail: 'not-an-address' }, '/alarmEmail'],
    [{ stage: 'Prod' }, '/stage'],
    [{ executionTimeoutHours: 48 }, '/executionTimeoutHours'],
    [{ inputs: { allowNetworks: ['10.0.0.0/33'] } }, '/inputs/allowNetworks/0'],
    [{ inputs: { allowHttp: 'yes' } }, '/inputs/allowHttp'],
  ])('says where a value is wrong: %j', (input, pointer) => {
    const error = errorOf(input);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toMatchObject({ context: { source: 'cdk.json', pointer } });
    expect((error as Error).message).toContain(`cdk.json is invalid at ${pointer}`);
  });

  it('rejects unknown keys and unknown Task names', () => {
    expect(() => parseStageConfig({ maxConcurency: 3 })).toThrow(InvalidInputError);
    expect(() => parseStageConfig({ functions: { Nope: {} } })).toThrow(InvalidInputError);
    expect(() => parseStageConfig({ storage: { scratchDays: 3 } })).toThrow(InvalidInputError);
  });
});
