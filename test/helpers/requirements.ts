// What a test needs from the machine: the shared fixtures, GDAL's command-line tools, modules of
// Debian's /usr/bin/python3. Each check returns whether the test can run. When something is missing
// it warns and returns false locally (the caller skips), but throws with CI=true: a CI run must not
// go green by skipping its oracles. Called at module level the throw fails the file; inside a test
// (then `return ctx.skip()` on false), that test.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Debian's python3, whose python3-* packages are the oracles (not a virtualenv's or pyenv's). */
export const PYTHON = '/usr/bin/python3';

const repoRoot = path.resolve(import.meta.dirname, '../..');

/** The shared fixtures folder (SATFACTORY_FIXTURES, else ../shared/fixtures next to the repo). */
export function fixturesRoot(): string {
  return process.env['SATFACTORY_FIXTURES'] ?? path.resolve(repoRoot, '../shared/fixtures');
}

/** CI=true (or 1), as CI services set it. */
export const inCi = /^(true|1)$/i.test(process.env['CI'] ?? '');

/** Fails in CI, else warns and returns false; `need` says what is missing and how to get it. */
export function skipOrFail(need: string): false {
  if (inCi) throw new Error(`CI=true, so this fails instead of skipping: the test needs ${need}`);
  console.warn(`skipped: the test needs ${need} (with CI=true this fails)`);
  return false;
}

/** Files or folders under the shared fixtures, e.g. 'sentinel2/earthsearch_S2A_29RKH_20200219_L2A'. */
export function requireFixture(...relPaths: string[]): boolean {
  const root = fixturesRoot();
  const absent = relPaths.filter((p) => !existsSync(path.join(root, p)));
  if (absent.length === 0) return true;
  return skipOrFail(
    `the shared fixture(s) ${absent.join(', ')}, not found in ${root} ` +
      '(set SATFACTORY_FIXTURES to the fixtures folder, or check it out at ../shared/fixtures)',
  );
}

/** The Debian package that provides each command-line tool a test runs. */
const TOOL_PACKAGES = { gdal_translate: 'gdal-bin', ogr2ogr: 'gdal-bin', openssl: 'openssl' } as const;
type Tool = keyof typeof TOOL_PACKAGES;

const tools = new Map<Tool, boolean>();
function onPath(tool: Tool): boolean {
  let found = tools.get(tool);
  if (found === undefined) {
    // openssl has `version`, GDAL's tools `--version`.
    found = spawnSync(tool, [tool === 'openssl' ? 'version' : '--version'], { stdio: 'ignore' }).status === 0;
    tools.set(tool, found);
  }
  return found;
}

/** Command-line tools on PATH (GDAL's). */
export function requireTool(...names: Tool[]): boolean {
  const absent = names.filter((t) => !onPath(t));
  if (absent.length === 0) return true;
  const packages = [...new Set(absent.map((t) => TOOL_PACKAGES[t]))];
  return skipOrFail(`${absent.join(', ')} on PATH (apt-get install ${packages.join(' ')})`);
}

const IMPORT_EACH = `
import importlib, sys
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception:
        print(name)
`;

const modules = new Map<string, boolean>();
function importable(names: readonly string[]): Map<string, boolean> {
  const unknown = names.filter((n) => !modules.has(n));
  if (unknown.length > 0) {
    // A real import, not find_spec: a module whose native libraries are broken counts as missing.
    const run = existsSync(PYTHON)
      ? spawnSync(PYTHON, ['-c', IMPORT_EACH, ...unknown], { encoding: 'utf8' })
      : undefined;
    const failed = run?.status === 0 ? new Set(run.stdout.split('\n')) : new Set(unknown);
    for (const n of unknown) modules.set(n, !failed.has(n));
  }
  return modules;
}

/** Modules that /usr/bin/python3 imports (Debian's python3-<name> packages). */
export function requirePython(names: readonly string[]): boolean {
  const known = importable(names);
  const absent = names.filter((n) => !known.get(n));
  if (absent.length === 0) return true;
  const packages = absent.map((n) => `python3-${n}`).join(' ');
  return skipOrFail(`${PYTHON} with ${absent.join(', ')} (apt-get install ${packages})`);
}

let tmpfs: boolean | undefined;

/**
 * Permission to mount a tmpfs (root, or a sandbox that allows it): the disk-full tests fill a real
 * small filesystem rather than pretending with a mock.
 */
export function requireTmpfs(): boolean {
  if (tmpfs === undefined) {
    const dir = mkdtempSync(path.join(tmpdir(), 'satfactory-tmpfs-probe-'));
    tmpfs =
      spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' }).status === 0;
    if (tmpfs) spawnSync('umount', [dir], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
  return tmpfs || skipOrFail('permission to mount a tmpfs (run as root) to fill a small disk for real');
}
