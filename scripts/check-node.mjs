// The Node version check that runs before anything which may fail to load on an older Node:
// bin/satfactory.js calls it first and `npm test` runs this file first. The minimum is package.json's
// engines.node: 22.15, where node:zlib gained zstdDecompressSync (the COG reader's ZSTD tiles).
// Plain JS, so that Node 20 parses it.
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The one-line complaint when `version` is below engines.node, else undefined. */
export function nodeProblem(version = process.versions.node) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const want = /^>=\s*(\d+)\.(\d+)\.\d+$/.exec(pkg.engines.node);
  if (!want) throw new Error(`package.json engines.node must read ">=X.Y.Z", not ${pkg.engines.node}`);
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const [needMajor, needMinor] = [Number(want[1]), Number(want[2])];
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return undefined;
  return `satfactory needs Node ${needMajor}.${needMinor} or later (found v${version})`;
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
