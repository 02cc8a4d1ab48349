// One synthesized stack per context, bundling off (the template does not depend on handler code),
// shared by the infra tests so each pays for the synth once.
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { defineApp } from '../../infra/app.ts';
import type { SatfactoryStack } from '../../infra/satfactory-stack.ts';

export const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

export type Synthesized = { app: App; stack: SatfactoryStack; template: Template };

const cache = new Map<string, Synthesized>();

export function synth(context: Record<string, unknown> = {}): Synthesized {
  const key = JSON.stringify(context);
  const hit = cache.get(key);
  if (hit) return hit;
  const app = new App({ context: { ...NO_BUNDLING, ...context } });
  const stack = defineApp(app);
  const result = { app, stack, template: Template.fromStack(stack) };
  cache.set(key, result);
  return result;
}

export type Statement = {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
};

/** The statements of every identity policy in the template, with the policy's logical id. */
export function identityStatements(template: Template): Array<Statement & { policy: string }> {
  return Object.entries(template.findResources('AWS::IAM::Policy')).flatMap(([policy, p]) =>
    ((p.Properties?.PolicyDocument?.Statement ?? []) as Statement[]).map((s) => ({ ...s, policy })),
  );
}
