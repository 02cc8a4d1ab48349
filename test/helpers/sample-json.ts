// A sample's .json read from a dataset's shards with the system's tar, as a user would (no code of
// ours in between): the grid tests check keys and geotransforms with it.
import { spawnSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

export async function sampleJson(root: string, key: string): Promise<Record<string, unknown>> {
  for (const split of ['train', 'validation', 'test']) {
    let files: string[] = [];
    try {
      files = (await readdir(path.join(root, split))).filter((f) => f.endsWith('.tar'));
    } catch {
      continue;
    }
    for (const f of files) {
      const run = spawnSync('tar', ['-xOf', path.join(root, split, f), `${key}.json`], { encoding: 'utf8' });
      if (run.status === 0 && run.stdout) return JSON.parse(run.stdout) as Record<string, unknown>;
    }
  }
  throw new Error(`no sample ${key} in ${root}`);
}
