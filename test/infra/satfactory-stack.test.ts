// The minimal stack synthesizes offline with bundling off: private encrypted buckets, one arm64
// Node 22 Lambda per Task, sized by the stage config, and one Standard state machine.
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { defineApp } from '../../infra/app.ts';
import { handlerEntry, type SatfactoryStack } from '../../infra/satfactory-stack.ts';
import { functionSettings, parseStageConfig } from '../../infra/stage-config.ts';
import { TaskNames } from '../../infra/workflow-definition.ts';
import { InvalidInputError } from '../../shared/domain/errors.ts';

const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

function synth(context: Record<string, unknown> = {}): { template: Template; stack: SatfactoryStack } {
  const app = new App({ context: { ...NO_BUNDLING, ...context } });
  const stack = defineApp(app);
  return { template: Template.fromStack(stack), stack };
}

describe('SatfactoryStack', () => {
  const { template, stack } = synth();

  it('is named after the stage', () => {
    expect(stack.stackName).toBe('Satfactory-dev');
  });

  it('keeps both buckets private, encrypted and TLS-only', () => {
    template.resourceCountIs('AWS::S3::Bucket', 2);
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
    template.resourceCountIs('AWS::S3::BucketPolicy', 2);
    template.allResourcesProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('has one Node 22 arm64 function per Task state, sized by the stage config', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    expect(Object.keys(functions)).toHaveLength(TaskNames.length);
    template.allResourcesProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
    });
    template.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 3008, Timeout: 900 });
  });

  it('has one Standard state machine whose definition names every function', () => {
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineType: 'STANDARD' });
  });

  it('lets the state machine start its Map children and read and write the work bucket', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => (p.Properties?.PolicyDocument?.Statement ?? []) as { Action: string | string[] }[],
    );
    const actions = new Set(statements.flatMap((s) => [s.Action].flat()));
    for (const action of [
      'states:StartExecution',
      'states:DescribeExecution',
      's3:GetObject',
      's3:PutObject',
    ]) {
      expect(actions.has(action), action).toBe(true);
    }
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

describe('handlerEntry', () => {
  it('maps a Task state name to its kebab-case handler file', () => {
    expect(handlerEntry('ExtractRegion')).toMatch(/\/lambdas\/extract-region\/index\.ts$/);
    expect(handlerEntry('Plan')).toMatch(/\/lambdas\/plan\/index\.ts$/);
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
    });
    expect(functionSettings(config, 'Plan')).toEqual({ memoryMb: 1024, timeoutSeconds: 300 });
    expect(functionSettings(config, 'ExtractRegion')).toEqual({ memoryMb: 3008, timeoutSeconds: 900 });
  });

  it('says where a value is wrong', () => {
    const error = (() => {
      try {
        return parseStageConfig({ functions: { Plan: { timeoutSeconds: 901 } } }, 'cdk.json');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toMatchObject({
      context: { source: 'cdk.json', pointer: '/functions/Plan/timeoutSeconds' },
    });
  });

  it('rejects unknown keys and unknown Task names', () => {
    expect(() => parseStageConfig({ maxConcurency: 3 })).toThrow(InvalidInputError);
    expect(() => parseStageConfig({ functions: { Nope: {} } })).toThrow(InvalidInputError);
  });
});
