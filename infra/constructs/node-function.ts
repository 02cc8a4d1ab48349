// One way to make a satfactory Lambda: Node 22 on arm64, bundled locally by esbuild (no Docker),
// X-Ray active, its own log group with the stage's retention, and its own role with no managed
// policy, so every permission it has is one this app granted on purpose.
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { FunctionSettings, StageConfig } from '../stage-config.ts';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** lambdas/<kebab-name>/index.ts for a handler name: ExtractRegion -> extract-region. */
export function handlerEntry(name: string): string {
  const kebab = name.replace(/(?<=[a-z0-9])([A-Z])/g, '-$1').toLowerCase();
  return `${PROJECT_ROOT}lambdas/${kebab}/index.ts`;
}

export type NodeFunctionProps = {
  /** PascalCase handler name; the entry is lambdas/<kebab-name>/index.ts unless `entry` names it. */
  readonly name: string;
  /** The folder under lambdas/ (the task table's `entry`). */
  readonly entry?: string;
  readonly config: StageConfig;
  readonly settings: FunctionSettings;
  readonly environment: Readonly<Record<string, string>>;
  /** For asynchronously invoked functions: where events go after the last retry. */
  readonly deadLetterQueue?: sqs.IQueue;
};

export class NodeFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: NodeFunctionProps) {
    super(scope, id);
    const { config, settings } = props;
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: config.logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `satfactory ${config.stage} ${props.name} Lambda`,
    });
    // In place of AWSLambdaBasicExecutionRole: write to this function's log group only.
    this.logGroup.grantWrite(this.role);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry ? `${PROJECT_ROOT}lambdas/${props.entry}/index.ts` : handlerEntry(props.name),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: settings.memoryMb,
      timeout: Duration.seconds(settings.timeoutSeconds),
      role: this.role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment: { SATFACTORY_STAGE: config.stage, ...props.environment },
      ...(props.deadLetterQueue ? { deadLetterQueue: props.deadLetterQueue } : {}),
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
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
    });
  }
}
