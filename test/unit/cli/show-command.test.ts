import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { showCommand } from '../../../shared/cli/show-command.ts';
import { writeLoaderDataset } from '../../helpers/loader-dataset.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'satfactory-show-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('satfactory show', () => {
  it('refuses a dataset without red, green and blue, naming the missing bands and those it has', async () => {
    // The loader's dataset has red and nir at 10 m, swir16 at 20 m.
    await writeLoaderDataset(dir, [{ split: 'train', samples: [{ s: 1, dates: 2 }] }], { complete: true });
    const error = await showCommand(dir, { split: 'train' }, () => undefined).catch((e: unknown) => e);
    expect((error as Error).name).toBe('InvalidInputError');
    expect((error as Error).message).toMatch(
      /has no band green, blue: show draws true colour from red, green and blue \(its bands: red, nir, swir16\)/,
    );
  });

  it('refuses --n that is not a number of samples, and a key with --split', async () => {
    for (const n of ['0', 'abc', '1.5']) {
      await expect(showCommand(dir, { n }, () => undefined)).rejects.toThrow(
        /is not a number of samples from 1 to 10000/,
      );
    }
    await expect(showCommand(dir, { key: 'k', split: 'train' }, () => undefined)).rejects.toThrow(
      /give a sample key or --split, not both/,
    );
  });
});
