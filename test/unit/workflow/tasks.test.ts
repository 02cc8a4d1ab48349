// The task table against the synthesized state machine and the Lambda entry points: every Task state
// has an entry, every entry a Task state and an entry point that runs exactly that entry.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderReadme } from '../../../scripts/generate-docs.ts';
import { WorkFiles } from '../../../shared/work/files.ts';
import {
  LambdaTaskNames,
  type TaskDefinition,
  TaskNames,
  Tasks,
  workPatterns,
} from '../../../shared/workflow/tasks.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
type State = { Type: string; Resource?: string; ItemProcessor?: { States: Record<string, State> } };
const asl = JSON.parse(readFileSync(path.join(ROOT, 'shared/runtime/workflow.asl.json'), 'utf8')) as {
  States: Record<string, State>;
};

/** Every Task state of the ASL, Map item processors included. */
function taskStates(states: Record<string, State>): Array<[string, State]> {
  return Object.entries(states).flatMap(([name, s]) => [
    ...(s.Type === 'Task' ? [[name, s] as [string, State]] : []),
    ...(s.ItemProcessor ? taskStates(s.ItemProcessor.States) : []),
  ]);
}

const byName = (name: string): TaskDefinition => Tasks[name as keyof typeof Tasks] as TaskDefinition;

describe('the task table', () => {
  it('has an entry for every Task state of the synthesized ASL, and no entry without one', () => {
    const inAsl = taskStates(asl.States).map(([name]) => name);
    expect(inAsl.length).toBeGreaterThan(5);
    expect([...TaskNames].sort()).toEqual([...inAsl].sort());
    for (const name of inAsl) expect(byName(name).state).toBe(name);
  });

  it('gives Lambda tasks the function of their own name, callback tasks a waitForTaskToken integration', () => {
    for (const [name, state] of taskStates(asl.States)) {
      if (byName(name).kind === 'lambda')
        expect(state.Resource).toMatch(new RegExp(`:function:satfactory-${name}$`));
      else expect(state.Resource).toMatch(/\.waitForTaskToken$/);
    }
  });

  it('has a Lambda entry point for every entry, and each runs exactly its entry', async () => {
    for (const name of TaskNames) {
      const entry = path.join(ROOT, 'lambdas', byName(name).entry, 'index.ts');
      expect(existsSync(entry), `${name}: ${entry}`).toBe(true);
    }
    for (const name of LambdaTaskNames) {
      const module = (await import(path.join(ROOT, 'lambdas', Tasks[name].entry, 'index.ts'))) as {
        handler: { task: unknown };
      };
      expect(module.handler.task, name).toBe(Tasks[name]);
    }
  });

  it('reads only files that some task or the run itself (the stored job) writes', () => {
    const written = new Set<unknown>([WorkFiles.job]);
    for (const name of TaskNames) for (const f of byName(name).access.writes) written.add(f);
    for (const name of TaskNames) {
      for (const f of byName(name).access.reads)
        expect(written.has(f), `${name} reads ${f.title}`).toBe(true);
    }
  });

  it('turns access into IAM-style key patterns: reads with inputs, writes alone', () => {
    expect(workPatterns(Tasks.RecordFailure.access)).toEqual({ read: [], write: ['runs/*/failure.json'] });
    const plan = workPatterns(Tasks.Plan.access);
    expect(plan.read).toEqual(
      expect.arrayContaining(['ground-truth/*', 'inputs/*', 'jobs/*', 'runs/*/job.json']),
    );
    expect(plan.write).toContain('runs/*/selection.json');
    expect(plan.write).not.toContain('runs/*/job.json');
  });

  it('is what the README shows (npm run generate rewrites it)', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(renderReadme(readme)).toBe(readme);
  });
});
