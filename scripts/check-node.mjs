// The Node version check that runs before anything which may fail to load on an older Node:
// bin/satfactory.js calls it first and `npm test` runs this file first. The minimum is package.json's
// engines.node (22.22.3): node:zlib's zstdDecompressSync (the COG reader's ZSTD tiles) needs 22.15,
// and tsx reaches worker threads (piscina, for the regions and in tests) only from 22.22.3, where it
// loads through module.registerHooks. Plain JS, so that Node 20 parses it.
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The one-line complaint when `version` is below engines.node, else undefined. */
export function nodeProblem(version = process.versions.node) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const want = /^>=\s*(\d+\.\d+\.\d+)$/.exec(pkg.engines.node);
  if (!want) throw new Error(`package.json engines.node must read ">=X.Y.Z", not ${pkg.engines.node}`);
  const have = version.split('.').map((part) => Number.parseInt(part, 10));
  const need = want[1].split('.').map((part) => Number.parseInt(part, 10));
  const order = have.map((n, i) => n - need[i]).find((d) => d !== 0) ?? 0;
  if (order >= 0) return undefined;
  return `satfactory needs Node ${want[1]} or later (found v${version})`;
}

/** Prints the complaint and exits 2 when this Node is too old. */
export function exitUnlessSupported() {
  const problem = nodeProblem();
  if (problem === undefined) return;
  console.error(problem);
  process.exit(2);
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url))
  exitUnlessSupported();
