// The definition the stack deploys (not the checked-in copy) is valid ASL: its DefinitionString is
// resolved with placeholder ARNs, names and URLs per resource type, then checked by asl-validator.
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { synth } from './synth.ts';

// asl-validator ships no types: describe the one call we make.
const aslValidator = createRequire(import.meta.url)('asl-validator') as (
  definition: unknown,
  options: { checkArn: boolean; checkPaths: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '123456789012',
  'AWS::URLSuffix': 'amazonaws.com',
};

/** A stand-in for Ref / Fn::GetAtt of a resource, shaped like the real value of its type. */
function placeholder(resources: Resources, id: string, attribute: string | undefined): string {
  const type = resources[id]?.Type;
  const name = id.toLowerCase();
  switch (`${type} ${attribute ?? 'Ref'}`) {
    case 'AWS::S3::Bucket Ref':
      return `bucket-${name}`;
    case 'AWS::Lambda::Function Arn':
      return `arn:aws:lambda:us-east-1:123456789012:function:${id}`;
    case 'AWS::SQS::Queue Ref':
      return `https://sqs.us-east-1.amazonaws.com/123456789012/${id}`;
    case 'AWS::SQS::Queue Arn':
      return `arn:aws:sqs:us-east-1:123456789012:${id}`;
    default:
      throw new Error(`no placeholder for ${attribute ?? 'Ref'} of ${type} ${id}: add one`);
  }
}

function resolve(value: unknown, resources: Resources): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const [fn, args] = Object.entries(value)[0] ?? [];
    if (fn === 'Fn::Join' && Array.isArray(args)) {
      return (args[1] as unknown[]).map((part) => resolve(part, resources)).join(String(args[0]));
    }
    if (fn === 'Ref' && typeof args === 'string')
      return PSEUDO[args] ?? placeholder(resources, args, undefined);
    if (fn === 'Fn::GetAtt' && Array.isArray(args))
      return placeholder(resources, String(args[0]), String(args[1]));
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

describe('the deployed state machine definition', () => {
  let definition: Record<string, unknown>;
  beforeAll(() => {
    const { template } = synth();
    const resources = template.toJSON().Resources as Resources;
    const [machine] = Object.values(resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
    definition = JSON.parse(resolve(machine?.Properties?.DefinitionString, resources));
  });

  it('is valid ASL for asl-validator, ARNs and paths checked', () => {
    const result = aslValidator(structuredClone(definition), { checkArn: true, checkPaths: true });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it("names only this stack's functions, buckets and queue", () => {
    const text = JSON.stringify(definition);
    expect(text).not.toContain('Fn::');
    expect(text).toMatch(/arn:aws:lambda:us-east-1:123456789012:function:Tasks/);
  });
});
