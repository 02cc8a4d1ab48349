// The jobs in examples/ run offline on the fixtures, which they name as ../../shared/fixtures (the
// fixtures folder beside the repository). A test runs an example as it is, except that the fixtures
// come from fixturesRoot() (SATFACTORY_FIXTURES may move them) and the output goes to a test folder.
// (Examples run through this name every input in the fixtures, so the job file may move.)
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fixturesRoot } from './requirements.ts';

export const EXAMPLES_DIR = path.resolve(import.meta.dirname, '../../examples');
const FIXTURES_PREFIX = '../../shared/fixtures/';

/** The example's own JSON. */
export function readExample(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(EXAMPLES_DIR, `${name}.json`), 'utf8')) as Record<string, unknown>;
}

/** The fixture paths an example names, relative to the fixtures folder (for requireFixture). */
export function exampleFixtures(name: string): string[] {
  const found: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string' && v.startsWith(FIXTURES_PREFIX)) found.push(v.slice(FIXTURES_PREFIX.length));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(readExample(name));
  return found;
}

/**
 * Writes the example into `dir` with its fixture paths made absolute (from fixturesRoot()) and its
 * output in `dir/out`; returns the file.
 */
export function exampleJobIn(name: string, dir: string): string {
  const job = readExample(name);
  const absolute = (v: unknown): unknown => {
    if (typeof v === 'string' && v.startsWith(FIXTURES_PREFIX))
      return path.join(fixturesRoot(), v.slice(FIXTURES_PREFIX.length));
    if (Array.isArray(v)) return v.map(absolute);
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, absolute(x)]));
    return v;
  };
  const rewritten = absolute(job) as Record<string, unknown>;
  delete rewritten.$schema;
  rewritten.output = { ...(rewritten.output as Record<string, unknown>), uri: path.join(dir, 'out') };
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(rewritten, null, 1));
  return file;
}
