// The satfactory stack, minimal for now: work and datasets buckets, one Lambda per Task state and
// the state machine from buildWorkflow. Bucket policies, logging, X-Ray, monitoring and nag come later.
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2 } from 'aws-cdk-lib/cx-api';
import type { Construct } from 'constructs';
import { functionSettings, type StageConfig } from './stage-config.ts';
import { buildWorkflow, type TaskName, TaskNames } from './workflow-definition.ts';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export type SatfactoryStackProps = StackProps & { readonly config: StageConfig };

export class SatfactoryStack extends Stack {
  readonly workBucket: s3.Bucket;
  readonly datasetsBucket: s3.Bucket;
  readonly functions: Readonly<Record<TaskName, lambda.IFunction>>;
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: SatfactoryStackProps) {
    super(scope, id, props);
    // Must be set before any child exists; buildWorkflow refuses to run without it.
    this.node.setContext(STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2, true);
    const { config } = props;

    this.workBucket = privateBucket(this, 'WorkBucket', RemovalPolicy.DESTROY);
    this.datasetsBucket = privateBucket(this, 'DatasetsBucket', RemovalPolicy.RETAIN);

    const functions = {} as Record<TaskName, lambda.IFunction>;
    for (const task of TaskNames) {
      const fn = taskFunction(this, task, config, this.workBucket);
      this.workBucket.grantReadWrite(fn);
      this.datasetsBucket.grantReadWrite(fn);
      functions[task] = fn;
    }
    this.functions = functions;

    const workflow = buildWorkflow(this, {
      functions,
      // Bucket vs IBucket trips exactOptionalPropertyTypes inside CDK's own typings.
      workBucket: this.workBucket as unknown as s3.IBucket,
      config: {
        maxConcurrency: config.maxConcurrency,
        toleratedFailurePercentage: config.toleratedFailurePercentage,
        maxItemsPerBatch: config.maxItemsPerBatch,
      },
    });
    this.stateMachine = new sfn.StateMachine(this, 'Workflow', {
      definitionBody: workflow.definitionBody,
      stateMachineType: sfn.StateMachineType.STANDARD,
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
    });
  }
}

function privateBucket(scope: Construct, id: string, removalPolicy: RemovalPolicy): s3.Bucket {
  return new s3.Bucket(scope, id, {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    removalPolicy,
  });
}

/** lambdas/<kebab-name>/index.ts for a Task state name: ExtractRegion -> extract-region. */
export function handlerEntry(task: TaskName): string {
  const kebab = task.replace(/(?<=[a-z0-9])([A-Z])/g, '-$1').toLowerCase();
  return `${PROJECT_ROOT}lambdas/${kebab}/index.ts`;
}

function taskFunction(
  scope: Construct,
  task: TaskName,
  config: StageConfig,
  workBucket: s3.Bucket,
): lambda.IFunction {
  const settings = functionSettings(config, task);
  const common = {
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: settings.memoryMb,
    timeout: Duration.seconds(settings.timeoutSeconds),
    // The handlers read the work bucket once per container (shared/adapters/aws/lambda-handler.ts).
    environment: { SATFACTORY_STAGE: config.stage, WORK_BUCKET: workBucket.bucketName },
  };
  const id = `${task}Function`;
  const entry = handlerEntry(task);
  return new nodejs.NodejsFunction(scope, id, {
    ...common,
    entry,
    handler: 'handler',
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
    bundling: {
      format: nodejs.OutputFormat.ESM,
      target: 'node22',
      sourceMap: true,
      minify: true,
      // Error classes keep their names in stack traces; Step Functions matches on the `name` field.
      keepNames: true,
      mainFields: ['module', 'main'],
      // Some dependencies are CommonJS and call require(): give ESM output a require.
      banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });
}
