// The Node check that bin/satfactory.js and `npm test` run before anything else: the minimum is
// package.json's engines.node, and an older Node gets one line naming both versions (exit code 2).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeProblem } from '../../../scripts/check-node.mjs';

const repo = path.resolve(import.meta.dirname, '../../..');

describe('check-node', () => {
  it('takes the minimum from engines.node: 22.22.3, where tsx reaches worker threads', () => {
    expect(JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')).engines.node).toBe('>=22.22.3');
    const too = (found: string) => `satfactory needs Node 22.22.3 or later (found v${found})`;
    for (const old of ['20.20.2', '22.14.0', '22.15.0', '22.22.2', '21.99.99'])
      expect(nodeProblem(old)).toBe(too(old));
    for (const ok of ['22.22.3', '22.23.5', '23.0.0', '24.1.0', '25.0.0-pre'])
      expect(nodeProblem(ok)).toBeUndefined();
  });

  it('lets this Node through silently when run as a script', () => {
    const run = spawnSync(process.execPath, ['scripts/check-node.mjs'], { cwd: repo, encoding: 'utf8' });
    expect([run.status, run.stdout, run.stderr]).toEqual([0, '', '']);
  });
});
