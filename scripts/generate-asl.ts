// Freezes the CDK-built workflow into shared/runtime/workflow.asl.json for the local runtime. It
// synthesizes the app in-process with bundling off and swaps deploy-time tokens for stable placeholders.
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, type CfnElement } from 'aws-cdk-lib';
import { defineApp } from '../infra/app.ts';
import { type TaskName, TaskNames } from '../infra/workflow-definition.ts';

export const ASL_PATH = fileURLToPath(new URL('../shared/runtime/workflow.asl.json', import.meta.url));

/** What the deploy-time tokens become in the checked-in ASL: valid ARNs that point nowhere. */
export const Placeholders = {
  partition: 'aws',
  region: 'local',
  account: '000000000000',
  workBucket: 'satfactory-work',
  datasetsBucket: 'satfactory-datasets',
  orderQueueUrl: 'https://sqs.local.amazonaws.com/000000000000/satfactory-orders',
  functionArn: (task: TaskName) => `arn:aws:lambda:local:000000000000:function:satfactory-${task}`,
} as const;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Synthesizes the default stage and returns its state machine definition, tokens resolved. */
export function synthesizeWorkflowAsl(): Record<string, Json> {
  const outdir = mkdtempSync(join(tmpdir(), 'satfactory-asl-'));
  try {
    // An empty bundling-stacks list switches esbuild off: the ASL does not depend on handler code.
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = defineApp(app);
    const template = app.synth().getStackArtifact(stack.artifactId).template as {
      Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    };
    const machines = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::StepFunctions::StateMachine',
    );
    if (machines.length !== 1)
      throw new Error(`expected one state machine in the stack, found ${machines.length}`);
    const logicalId = (element: unknown): string => stack.resolve(stack.getLogicalId(element as CfnElement));
    const refs = new Map<string, string>([
      ['AWS::Partition', Placeholders.partition],
      ['AWS::Region', Placeholders.region],
      ['AWS::AccountId', Placeholders.account],
      ['AWS::URLSuffix', 'amazonaws.com'],
      [logicalId(stack.workBucket.node.defaultChild), Placeholders.workBucket],
      [logicalId(stack.datasetsBucket.node.defaultChild), Placeholders.datasetsBucket],
    ]);
    // The state machine names one queue, the LTA order queue (its DLQ only by the redrive policy).
    for (const [id, resource] of Object.entries(template.Resources)) {
      if (resource.Type === 'AWS::SQS::Queue') refs.set(id, Placeholders.orderQueueUrl);
    }
    const arns = new Map(TaskNames.map((task) => [logicalId(stack.functions[task].node.defaultChild), task]));
    const text = resolveTokens(machines[0]?.Properties?.DefinitionString, refs, (id, attribute) => {
      const task = arns.get(id);
      return task !== undefined && attribute === 'Arn' ? Placeholders.functionArn(task) : undefined;
    });
    return sortKeys(JSON.parse(text)) as Record<string, Json>;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The checked-in file's exact text: two-space JSON, keys sorted, trailing newline. */
export function renderAsl(asl: Record<string, Json>): string {
  return `${JSON.stringify(asl, null, 2)}\n`;
}

/** Turns a CloudFormation string expression (Fn::Join of literals, Ref, Fn::GetAtt) into a string. */
function resolveTokens(
  value: unknown,
  refs: ReadonlyMap<string, string>,
  getAtt: (logicalId: string, attribute: string) => string | undefined,
): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const [fn, args] = Object.entries(value)[0] ?? [];
    if (fn === 'Fn::Join' && Array.isArray(args) && Array.isArray(args[1])) {
      return args[1].map((part: unknown) => resolveTokens(part, refs, getAtt)).join(String(args[0]));
    }
    if (fn === 'Ref' && typeof args === 'string' && refs.has(args)) return refs.get(args) as string;
    if (fn === 'Fn::GetAtt' && Array.isArray(args)) {
      const resolved = getAtt(String(args[0]), String(args[1]));
      if (resolved !== undefined) return resolved;
    }
  }
  // A new kind of token needs a placeholder here, or the local runtime would see CloudFormation JSON.
  throw new Error(`cannot resolve ${JSON.stringify(value)} in the state machine definition`);
}

/** Sorts object keys recursively so that regeneration gives byte-identical files. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  }
  return value;
}

function isMain(): boolean {
  const script = process.argv[1];
  return script !== undefined && realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
}

if (isMain()) {
  writeFileSync(ASL_PATH, renderAsl(synthesizeWorkflowAsl()));
  console.log(`wrote ${ASL_PATH}`);
}
