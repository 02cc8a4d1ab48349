// Ownership of an output folder: one create-only claim.json per folder; the run that holds it goes
// on, any other run stops naming the owner; of runs racing for a free folder exactly one wins; only
// the owner gives a claim up, and only while the folder holds nothing of it.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../../shared/adapters/local/fs-blob-store.ts';
import { checkClaim, claimDataset, releaseClaim, releaseUnusedClaim } from '../../../shared/dataset/claim.ts';
import { DatasetOwnedError } from '../../../shared/domain/errors.ts';

let dir: string;
let store: FsBlobStore;
const now = new Date('2026-12-06T10:00:00.000Z');

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'claim-'));
  store = new FsBlobStore(dir);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const claim = (runId: string, job = 'crops') => claimDataset(store, { runId, job, now });

describe('claimDataset', () => {
  it('claims a free folder once and confirms the same run afterwards', async () => {
    expect(await claim('crops-aaa')).toEqual({ created: true });
    expect(JSON.parse(await readFile(join(dir, 'claim.json'), 'utf8'))).toEqual({
      format: 'satfactory-claim',
      runId: 'crops-aaa',
      job: 'crops',
      claimedAt: '2026-12-06T10:00:00.000Z',
    });
    expect(await claim('crops-aaa')).toEqual({ created: false });
    await expect(checkClaim(store, 'crops-aaa')).resolves.toBeUndefined();
  });

  it('refuses another run, naming the owner, its job, when, and what to do', async () => {
    await claim('crops-aaa');
    const error = await claim('crops-bbb', 'crops').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetOwnedError);
    const message = (error as Error).message;
    expect(message).toContain(
      `${store.uri} belongs to run crops-aaa (job "crops", claimed 2026-12-06T10:00:00.000Z)`,
    );
    expect(message).toContain('nothing is committed there yet');
    expect(message).toContain('This run is crops-bbb');
    expect(message).toContain(`Give this job another output.uri, or delete ${store.uri}`);
    await expect(checkClaim(store, 'crops-bbb')).rejects.toThrow(DatasetOwnedError);
    // The owner's claim is untouched.
    expect(JSON.parse(await readFile(join(dir, 'claim.json'), 'utf8')).runId).toBe('crops-aaa');
  });

  it('says when the owner has committed its dataset', async () => {
    await claim('crops-aaa');
    await store.put('manifest.json', JSON.stringify({ runId: 'crops-aaa', name: 'crops' }));
    await expect(claim('crops-bbb')).rejects.toThrow(/it holds that run's committed dataset/);
  });

  it("treats a dataset committed before claims by its manifest's run", async () => {
    await store.put(
      'manifest.json',
      JSON.stringify({ runId: 'old-1', name: 'old', createdAt: '2025-01-01' }),
    );
    await expect(claim('new-2')).rejects.toThrow(/belongs to run old-1 \(job "old", claimed 2025-01-01\)/);
    expect(await store.exists('claim.json')).toBe(false);
    // Its own run claims it on a rerun.
    expect(await claimDataset(store, { runId: 'old-1', job: 'old', now })).toEqual({ created: true });
  });

  it('refuses a folder whose claim.json is not a claim', async () => {
    await store.put('claim.json', 'not json');
    await expect(claim('crops-aaa')).rejects.toThrow(/is not free: claim.json is not JSON/);
  });

  it('lets exactly one of many runs racing for a free folder win', async () => {
    const runs = Array.from({ length: 12 }, (_, i) => `job${i}-${String(i).padStart(3, '0')}`);
    const outcomes = await Promise.allSettled(runs.map((r) => claim(r, r.split('-')[0])));
    const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' && o.value.created ? [runs[i]] : []));
    expect(won).toHaveLength(1);
    const owner = JSON.parse(await readFile(join(dir, 'claim.json'), 'utf8')).runId;
    expect(won[0]).toBe(owner);
    for (const o of outcomes) {
      if (o.status === 'fulfilled') continue;
      expect(o.reason).toBeInstanceOf(DatasetOwnedError);
      expect(String(o.reason.message)).toContain(`belongs to run ${owner}`);
    }
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(11);
  });
});

describe('releasing a claim', () => {
  it("deletes only the run's own claim", async () => {
    await claim('crops-aaa');
    expect(await releaseClaim(store, 'crops-bbb')).toBe(false);
    expect(await store.exists('claim.json')).toBe(true);
    expect(await releaseClaim(store, 'crops-aaa')).toBe(true);
    expect(await store.exists('claim.json')).toBe(false);
  });

  it('keeps the claim once a shard or a manifest is there', async () => {
    await claim('crops-aaa');
    await store.put('train/crops-train-000000.tar', new Uint8Array(10));
    expect(await releaseUnusedClaim(store, 'crops-aaa')).toBe(false);
    await store.delete('train/crops-train-000000.tar');
    await store.put('manifest.json', JSON.stringify({ runId: 'crops-aaa' }));
    expect(await releaseUnusedClaim(store, 'crops-aaa')).toBe(false);
    await store.delete('manifest.json');
    await store.put('selection.json', '{}');
    expect(await releaseUnusedClaim(store, 'crops-aaa')).toBe(true);
    // A freed folder is claimed by the next run, whose Plan overwrites the old selection.json.
    expect(await claim('crops-bbb')).toEqual({ created: true });
  });
});
