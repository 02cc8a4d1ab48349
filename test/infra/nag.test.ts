// cdk-nag: the stack passes the AwsSolutions and Serverless packs with zero unacknowledged findings,
// errors or warnings; every acknowledgement lives, with its reason, in infra/nag-acknowledgements.ts.
import { Validations } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { nagPacks } from '../../infra/app.ts';
import { synth } from './synth.ts';

type Finding = { pack: string; rule: string; severity: string; path: string };

describe('cdk-nag', () => {
  let findings: Finding[];
  beforeAll(() => {
    const { app } = synth();
    findings = nagPacks().flatMap((pack) =>
      pack.validateScope(app).violations.flatMap((v) =>
        v.violatingResources.map((r) => ({
          pack: pack.readPackName,
          rule: v.ruleName,
          severity: v.severity ?? 'error',
          path: r.constructPath ?? '',
        })),
      ),
    );
  });

  it('finds nothing unacknowledged in the AwsSolutions and Serverless packs', () => {
    expect(findings).toEqual([]);
  });

  it('acknowledges each finding with a reason', () => {
    const { stack } = synth();
    const acknowledged = stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.values(m.data as Record<string, { reason?: string } | string>));
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const entry of acknowledged) {
      const reason = typeof entry === 'string' ? entry : entry.reason;
      expect(reason?.length ?? 0).toBeGreaterThan(30);
    }
  });
});
