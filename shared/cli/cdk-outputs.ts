// Where the deployed stack is: the work and datasets buckets and the state machine, read from the
// JSON that `cdk deploy --outputs-file cdk-outputs.json` writes ({ "<stack>": { "<key>": value } }).
import { InvalidInputError } from '../domain/errors.ts';
import { readJsonFile } from './prepare-job.ts';

/** The CfnOutput keys the stack declares (infra/satfactory-stack.ts). */
export const OUTPUT_KEYS = {
  workBucket: 'WorkBucketName',
  datasetsBucket: 'DatasetsBucketName',
  stateMachineArn: 'StateMachineArn',
} as const;

export type StackOutputs = {
  stack: string;
  workBucket: string;
  datasetsBucket: string;
  stateMachineArn: string;
};

/** The outputs of `stack`, or of the only stack in the file when none is named. */
export async function readStackOutputs(file: string, stack?: string): Promise<StackOutputs> {
  const raw = await readJsonFile(file, 'CDK outputs file');
  const stacks = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const names = Object.keys(stacks);
  const name = stack ?? (names.length === 1 ? names[0] : undefined);
  if (name === undefined || !(name in stacks)) {
    throw new InvalidInputError(
      stack
        ? `${file} has no stack ${stack} (it has: ${names.join(', ') || 'none'})`
        : `${file} holds ${names.length} stacks (${names.join(', ') || 'none'}): name one with --stack`,
      { source: file },
    );
  }
  const outputs = (stacks[name] ?? {}) as Record<string, unknown>;
  const read = (key: string): string => {
    const value = outputs[key];
    if (typeof value !== 'string' || value === '') {
      throw new InvalidInputError(
        `${file}: stack ${name} has no output ${key}; deploy it again with --outputs-file`,
        {
          source: file,
          pointer: `/${name}/${key}`,
        },
      );
    }
    return value;
  };
  return {
    stack: name,
    workBucket: read(OUTPUT_KEYS.workBucket),
    datasetsBucket: read(OUTPUT_KEYS.datasetsBucket),
    stateMachineArn: read(OUTPUT_KEYS.stateMachineArn),
  };
}
