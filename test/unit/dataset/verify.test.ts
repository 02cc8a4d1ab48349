// verify re-derives the books from the bytes: a valid dataset passes; a flipped shard byte, a wrong
// total, a miscounted shard, a sample without .json or a missing manifest are each caught and named.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../../shared/adapters/local/fs-blob-store.ts';
import { checkShardFiles, verifyDataset } from '../../../shared/dataset/verify.ts';
import { bandMetadata } from '../../../shared/domain/band-metadata.ts';
import { InvalidInputError } from '../../../shared/domain/errors.ts';
import { jobSha256Of, type Manifest } from '../../../shared/domain/manifest.ts';
import { encodeNpy } from '../../../shared/domain/npy.ts';
import { buildShard, type ShardSample } from '../../../shared/domain/shard.ts';
import type { Split } from '../../../shared/domain/splits.ts';

let dir: string;
let store: FsBlobStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'verify-'));
  store = new FsBlobStore(dir);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sample(key: string, split: Split, withJson = true, t = 2): ShardSample {
  const members = [{ name: '10m.npy', data: encodeNpy(new Uint16Array(t * 4 * 4).fill(5), [t, 1, 4, 4]) }];
  const meta = { id: key, split, groups: { '10m': { bands: ['red'], resolution: 10, shape: [2, 1, 4, 4] } } };
  if (withJson) members.unshift({ name: 'json', data: new TextEncoder().encode(JSON.stringify(meta)) });
  return { key, members };
}

/** Writes shards and a matching manifest; returns the manifest so a test can spoil it. */
async function writeDataset(
  shards: Array<{ path: string; split: Split; samples: ShardSample[] }>,
): Promise<Manifest> {
  const entries: Manifest['shards'] = [];
  for (const s of shards) {
    const built = await buildShard(s.samples);
    await store.put(s.path, built.bytes);
    entries.push({
      path: s.path,
      split: s.split,
      bytes: built.bytes.byteLength,
      sha256: built.sha256,
      samples: built.samples,
    });
  }
  const per = (split: Split) => ({
    samples: entries.filter((e) => e.split === split).reduce((n, e) => n + e.samples, 0),
    shards: entries.filter((e) => e.split === split).length,
  });
  const written = entries.reduce((n, e) => n + e.samples, 0);
  const job = { name: 'tiny' };
  return {
    format: 'satfactory-webdataset',
    version: '2',
    name: 'tiny',
    runId: 'tiny-1',
    createdAt: '2024-01-01T00:00:00.000Z',
    software: 'satfactory test',
    job,
    jobSha256: jobSha256Of(job),
    catalog: { description: 'static', collection: null, pages: 0, items: 0 },
    sources: [],
    bands: [
      {
        group: '10m',
        resolution: 10,
        bands: [
          {
            name: 'red',
            scale: 1,
            offset: 0,
            nodata: 0,
            dataType: 'uint16',
            ...bandMetadata('red', [], false),
          },
        ],
      },
    ],
    scl: null,
    grid: { windowSize: 4, stride: 4, tiles: [] },
    classes: null,
    splits: { train: per('train'), validation: per('validation'), test: per('test') },
    shards: entries,
    totals: { planned: written + 2, written, rejected: 2 },
    rejects: 'rejects.jsonl',
    stats: {
      split: 'train',
      dates: 'all',
      pixels: 'not nodata',
      excludedScl: [],
      units: 'stored',
      percentiles: 'linear',
      bands: {},
    },
  };
}

async function putManifest(m: Manifest | unknown): Promise<void> {
  await store.put('manifest.json', JSON.stringify(m));
}

const layout = () => [
  {
    path: 'train/tiny-train-000000.tar',
    split: 'train' as const,
    samples: [sample('t_0000_0000', 'train'), sample('t_0000_0001', 'train')],
  },
  { path: 'train/tiny-train-000001.tar', split: 'train' as const, samples: [sample('t_0001_0000', 'train')] },
  { path: 'test/tiny-test-000000.tar', split: 'test' as const, samples: [sample('t_0002_0000', 'test')] },
];

describe('verifyDataset', () => {
  it('passes a valid dataset and counts what it read', async () => {
    await putManifest(await writeDataset(layout()));
    const report = await verifyDataset(store);
    expect(report.problems).toEqual([]);
    expect(report.warnings).toEqual([]);
    expect(report).toMatchObject({ ok: true, shards: 3, samples: 4 });
    expect(report.bytes).toBeGreaterThan(0);
  });

  it('names the shard whose bytes were tampered with', async () => {
    await putManifest(await writeDataset(layout()));
    const path = join(dir, 'train', 'tiny-train-000001.tar');
    const bytes = await readFile(path);
    bytes[700] = bytes[700]! ^ 0xff; // inside the first member's data: still a readable tar
    await writeFile(path, bytes);
    const report = await verifyDataset(store);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      expect.stringMatching(/^train\/tiny-train-000001\.tar: sha256 [0-9a-f]{64}, manifest says/),
    ]);
  });

  it('reports a truncated shard by size and as unreadable', async () => {
    await putManifest(await writeDataset(layout()));
    const path = join(dir, 'test', 'tiny-test-000000.tar');
    await writeFile(path, (await readFile(path)).subarray(0, 600));
    const problems = (await verifyDataset(store)).problems.join('\n');
    expect(problems).toMatch(/test\/tiny-test-000000\.tar: 600 bytes, manifest says \d+/);
    expect(problems).toMatch(/test\/tiny-test-000000\.tar: cannot be read/);
    expect(problems).toMatch(/splits\.test: manifest says 1 samples, shards hold 0/);
  });

  it('reports totals that do not add up', async () => {
    const m = await writeDataset(layout());
    m.totals.planned = 99;
    await putManifest(m);
    const report = await verifyDataset(store);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual(['totals: planned 99 != written 4 + rejected 2']);
  });

  it('reports a shard whose sample count is wrong, a missing shard and a sample without .json', async () => {
    const shards = layout();
    shards[2]!.samples.push(sample('t_0002_0001', 'test', false));
    const m = await writeDataset(shards);
    m.shards[0]!.samples = 3;
    m.splits.train.samples = 4;
    m.totals = { planned: 8, written: 6, rejected: 2 };
    await store.delete('train/tiny-train-000001.tar');
    await putManifest(m);
    const problems = (await verifyDataset(store)).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        'train/tiny-train-000000.tar: holds 2 samples, manifest says 3',
        'train/tiny-train-000001.tar: missing',
        'test/tiny-test-000000.tar: sample t_0002_0001 has no .json member',
        'splits.train: manifest says 4 samples, shards hold 2',
        'totals: manifest says 6 written, shards hold 4',
      ]),
    );
  });

  it('catches a sample written twice, a wrong split in a sample, a changed job and unlisted shards', async () => {
    const shards = layout();
    shards[1]!.samples = [sample('t_0000_0000', 'validation')];
    const m = await writeDataset(shards);
    m.job = { name: 'tiny', edited: true };
    await putManifest(m);
    await store.put('validation/leftover-000000.tar', new Uint8Array(1024));
    const report = await verifyDataset(store);
    expect(report.problems).toEqual(
      expect.arrayContaining([
        'sample t_0000_0000 is in both train/tiny-train-000000.tar and train/tiny-train-000001.tar',
        'train/tiny-train-000001.tar: t_0000_0000.json says split validation, the shard is train',
        'manifest.json: jobSha256 does not match the job spec it records',
        "validation/leftover-000000.tar: a shard the manifest does not list (another run's, or a leftover)",
      ]),
    );
    expect(report.warnings).toEqual([]);
  });

  it('reports every file the manifest does not account for, but not its own side files or work folder', async () => {
    await putManifest(await writeDataset(layout()));
    const own = (run: string) => `${JSON.stringify({ runId: run, format: 'satfactory-claim' })}\n`;
    await store.put('claim.json', own('tiny-1'));
    await store.put('selection.json', own('tiny-1'));
    await store.put('rejects.jsonl', '');
    await store.put('labels-log.jsonl', '');
    await store.put('.satfactory/runs/tiny-1/job.json', '{}');
    expect((await verifyDataset(store)).problems).toEqual([]);

    await store.put('notes.txt', 'mine');
    await store.put('train/extra/deep.bin', new Uint8Array(3));
    expect((await verifyDataset(store)).problems).toEqual([
      'notes.txt: not part of the dataset (the manifest does not account for it)',
      'train/extra/deep.bin: not part of the dataset (the manifest does not account for it)',
    ]);
  });

  it("reports a selection.json or claim.json of another run than the manifest's", async () => {
    await putManifest(await writeDataset(layout()));
    await store.put('claim.json', JSON.stringify({ runId: 'tiny-1' }));
    await store.put('selection.json', JSON.stringify({ runId: 'other-2\u001b[31m' }));
    expect((await verifyDataset(store)).problems).toEqual([
      'selection.json belongs to run "other-2\\u001b[31m", the manifest to run tiny-1',
    ]);
    await store.put('claim.json', 'HOME=/root');
    expect((await verifyDataset(store)).problems).toContain(
      'claim.json is not JSON: unexpected character "H"',
    );
  });

  it('checks .npy headers and the group shapes the sample json declares', async () => {
    const shards = layout();
    const broken = sample('t_0002_0001', 'test');
    broken.members.push({ name: 'labels.npy', data: new Uint8Array([1, 2, 3]) });
    shards[2]!.samples.push(broken, sample('t_0002_0002', 'test', true, 3));
    await putManifest(await writeDataset(shards));
    expect((await verifyDataset(store)).problems).toEqual([
      'test/tiny-test-000000.tar: t_0002_0001.labels.npy: decodeNpy: not an .npy file (bad magic)',
      'test/tiny-test-000000.tar: t_0002_0002.10m.npy: shape [3, 1, 4, 4], json says [2, 1, 4, 4]',
    ]);
  });

  it('checks vector.json: JSON, an objects list, the label size of the sample', async () => {
    const shards = layout();
    const enc = (v: string) => new TextEncoder().encode(v);
    const withVector = (key: string, text: string) => {
      const s = sample(key, 'test');
      s.members.push({ name: 'vector.json', data: enc(text) });
      return s;
    };
    shards[2]!.samples.push(
      withVector('t_0002_0001', '{"objects": [], "size": 4'),
      withVector('t_0002_0002', '{"size": 4}'),
      withVector('t_0002_0003', '{"objects": [], "size": 4}'),
    );
    await putManifest(await writeDataset(shards));
    expect((await verifyDataset(store)).problems).toEqual([
      'test/tiny-test-000000.tar: t_0002_0001.vector.json is not valid JSON',
      'test/tiny-test-000000.tar: t_0002_0002.vector.json has no objects list',
      // The sample .json has no labels block here, so no label size to match.
      'test/tiny-test-000000.tar: t_0002_0003.vector.json: size 4, t_0002_0003.json labels.size undefined',
    ]);
  });

  it('reports the first sample problems of a shard and counts the rest', async () => {
    const many = Array.from({ length: 25 }, (_, i) => sample(`m_${i}`, 'train', false));
    await putManifest(await writeDataset([{ path: 'train/many-000000.tar', split: 'train', samples: many }]));
    const problems = (await verifyDataset(store)).problems;
    expect(problems).toHaveLength(21);
    expect(problems[0]).toBe('train/many-000000.tar: sample m_0 has no .json member');
    expect(problems[20]).toBe('train/many-000000.tar: 5 more sample problems');
  });

  it('reports a manifest that does not match the schema, with JSON pointers', async () => {
    const m = await writeDataset(layout());
    await putManifest({ ...m, totals: { planned: -1, written: 4 } });
    const report = await verifyDataset(store);
    expect(report.ok).toBe(false);
    expect(report.problems.join('\n')).toMatch(/manifest.json \/totals\/planned/);
    expect(report.problems.join('\n')).toMatch(/manifest.json \/totals\/rejected/);
  });

  it('checks shard sizes without reading them, and hashes only when asked', async () => {
    const m = await writeDataset(layout());
    expect(await checkShardFiles(store, m, { hash: false })).toEqual([]);
    // Same size, one byte flipped: only the hash sees it.
    const first = join(dir, 'train/tiny-train-000000.tar');
    const bytes = await readFile(first);
    bytes[600] = (bytes[600] as number) ^ 1;
    await writeFile(first, bytes);
    expect(await checkShardFiles(store, m, { hash: false })).toEqual([]);
    expect(await checkShardFiles(store, m, { hash: true })).toEqual([
      expect.stringMatching(
        /^train\/tiny-train-000000\.tar: sha256 [0-9a-f]{64}, manifest says [0-9a-f]{64}$/,
      ),
    ]);
    await store.delete('test/tiny-test-000000.tar');
    await writeFile(join(dir, 'train/tiny-train-000001.tar'), new Uint8Array(10));
    expect(await checkShardFiles(store, m, { hash: false })).toEqual([
      `train/tiny-train-000001.tar: 10 bytes, manifest says ${m.shards[1]?.bytes}`,
      'test/tiny-test-000000.tar: missing',
    ]);
  });

  it('refuses a folder without manifest.json with a clear error', async () => {
    await writeDataset(layout());
    const run = verifyDataset(store);
    await expect(run).rejects.toThrow(InvalidInputError);
    await expect(run).rejects.toThrow(/no manifest\.json at file:\/\/.*never committed/);
  });
});
