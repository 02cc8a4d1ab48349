// The satfactory command two ways: in this process (main() with a recording log; quick, and the
// test's own servers keep answering), or as a child process (`bin/satfactory.js`, for `run` with its
// worker threads and for a clean environment), without blocking this process's event loop.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { vi } from 'vitest';
import { main } from '../../shared/cli/main.ts';
import type { Log } from '../../shared/ports.ts';

export type CliResult = { code: number; out: string; err: string };

const repo = path.resolve(import.meta.dirname, '../..');

/** `satfactory <args>` in this process; `err` holds the error lines it logged. */
export async function cliInProcess(args: string[]): Promise<CliResult> {
  let out = '';
  const errors: string[] = [];
  const log: Log = { debug() {}, info() {}, warn() {}, error: (m) => errors.push(String(m)) };
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  try {
    const code = await main(args, log);
    return { code, out, err: errors.join('\n') };
  } finally {
    spy.mockRestore();
  }
}

/** `satfactory <args>` as a child process in `cwd`, with `env` (default: this process's). */
export function cliSpawn(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repo, 'bin/satfactory.js'), ...args], { cwd, env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += String(d);
    });
    child.stderr.on('data', (d) => {
      err += String(d);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}
