// Who owns an output folder. Before a run writes anything under output.uri it creates claim.json
// there, create-only (a hard link locally, If-None-Match on S3): of two runs that start at once exactly
// one creates it, and the other stops, naming the owner. Every step that writes to the dataset reads
// the claim first (one small GET), so a run that does not own the folder never writes a byte there.
// A claim is given up (deleted) only by its own run, and only while the folder holds none of its
// shards: at the end of a dry run (`satfactory plan`), or when a local run fails before extraction.
import { z } from 'zod';
import { datasetKeys } from '../domain/dataset-layout.ts';
import { AlreadyExistsError, DatasetOwnedError } from '../domain/errors.ts';
import { SPLITS } from '../domain/splits.ts';
import type { BlobStore } from '../ports.ts';

export const ClaimSchema = z
  .object({
    format: z.literal('satfactory-claim'),
    runId: z.string().min(1),
    /** The job's name, for people. */
    job: z.string(),
    claimedAt: z.string(),
  })
  // Later versions may add fields; these four are what ownership needs.
  .loose();
export type Claim = { format: 'satfactory-claim'; runId: string; job: string; claimedAt: string };

export type ClaimRequest = { readonly runId: string; readonly job: string; readonly now: Date };

/** Who holds a folder: its claim, or the manifest of a dataset committed before claims existed. */
type Owner = { runId: string; job: string; since: string; committed: boolean } | { unreadable: string };

/**
 * Claims `dataset` for a run, or confirms that the run holds it. Returns whether this call created the
 * claim. Throws DatasetOwnedError, naming the owner and what to do, when another run holds it.
 */
export async function claimDataset(dataset: BlobStore, request: ClaimRequest): Promise<{ created: boolean }> {
  const held = await readClaim(dataset);
  if (held !== undefined) {
    if ('runId' in held && held.runId === request.runId) return { created: false };
    throw ownedBy(dataset, await ownerOf(dataset, held), request.runId);
  }
  // A dataset committed before claims existed is owned by the run its manifest names.
  const legacy = await manifestOwner(dataset);
  if (legacy && !('runId' in legacy && legacy.runId === request.runId)) {
    throw ownedBy(dataset, legacy, request.runId);
  }
  const claim: Claim = {
    format: 'satfactory-claim',
    runId: request.runId,
    job: request.job,
    claimedAt: request.now.toISOString(),
  };
  try {
    await dataset.put(datasetKeys.claim, `${JSON.stringify(claim, null, 1)}\n`, {
      createOnly: true,
      contentType: 'application/json',
    });
    return { created: true };
  } catch (error) {
    if (!(error instanceof AlreadyExistsError)) throw error;
    // Another writer won: the same run (a retried PUT, the same job started twice) or another one.
    const winner = await readClaim(dataset);
    if (winner !== undefined && 'runId' in winner && winner.runId === request.runId)
      return { created: false };
    throw ownedBy(
      dataset,
      await ownerOf(dataset, winner ?? { unreadable: 'claim.json vanished' }),
      request.runId,
    );
  }
}

/** The same check without claiming: throws DatasetOwnedError when another run holds the folder. */
export async function checkClaim(dataset: BlobStore, runId: string): Promise<void> {
  const claim = await readClaim(dataset);
  const held = claim === undefined ? await manifestOwner(dataset) : await ownerOf(dataset, claim);
  if (held === undefined || ('runId' in held && held.runId === runId)) return;
  throw ownedBy(dataset, held, runId);
}

/** Deletes the run's own claim; anyone else's stays. Returns whether it was deleted. */
export async function releaseClaim(dataset: BlobStore, runId: string): Promise<boolean> {
  const held = await readClaim(dataset);
  if (held === undefined || !('runId' in held) || held.runId !== runId) return false;
  await dataset.delete(datasetKeys.claim);
  return true;
}

/**
 * Gives up the run's claim while the folder holds nothing of it that a later run could mistake for
 * its own: no manifest, no shard. What remains (selection.json, the work folder) the next owner
 * overwrites or ignores.
 */
export async function releaseUnusedClaim(dataset: BlobStore, runId: string): Promise<boolean> {
  if (await dataset.exists(datasetKeys.manifest)) return false;
  for (const split of SPLITS) if ((await dataset.list(`${split}/`)).length > 0) return false;
  return releaseClaim(dataset, runId);
}

/** The folder's claim; `{unreadable}` when claim.json exists but is not a claim. */
export async function readClaim(dataset: BlobStore): Promise<Claim | { unreadable: string } | undefined> {
  const bytes = await dataset.get(datasetKeys.claim);
  if (bytes === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return { unreadable: `${datasetKeys.claim} is not JSON` };
  }
  const parsed = ClaimSchema.safeParse(raw);
  return parsed.success ? parsed.data : { unreadable: `${datasetKeys.claim} is not a satfactory claim` };
}

async function ownerOf(dataset: BlobStore, held: Claim | { unreadable: string }): Promise<Owner> {
  if ('unreadable' in held) return held;
  const committed = await dataset.exists(datasetKeys.manifest);
  return { runId: held.runId, job: held.job, since: held.claimedAt, committed };
}

/** The run a committed dataset's manifest names (runId, name, createdAt), read loosely. */
async function manifestOwner(dataset: BlobStore): Promise<Owner | undefined> {
  const bytes = await dataset.get(datasetKeys.manifest);
  if (bytes === undefined) return undefined;
  try {
    const m = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
    if (typeof m['runId'] === 'string') {
      return {
        runId: m['runId'],
        job: String(m['name'] ?? '?'),
        since: String(m['createdAt'] ?? '?'),
        committed: true,
      };
    }
  } catch {
    // Not JSON: the folder holds something that is not ours to overwrite either.
  }
  return { unreadable: `${datasetKeys.manifest} is not a satfactory manifest` };
}

function ownedBy(dataset: BlobStore, owner: Owner, runId: string): DatasetOwnedError {
  const folder = dataset.uri;
  const how = `Give this job another output.uri, or delete ${folder} (the whole folder) and run again.`;
  if ('unreadable' in owner) {
    return new DatasetOwnedError(
      `${folder} is not free: ${owner.unreadable}, so this run (${runId}) writes nothing there. ${how}`,
      { source: `${folder}/${datasetKeys.claim}`, runId },
    );
  }
  const state = owner.committed
    ? "it holds that run's committed dataset"
    : 'nothing is committed there yet: that run may still be going, or it stopped';
  return new DatasetOwnedError(
    `${folder} belongs to run ${owner.runId} (job "${owner.job}", claimed ${owner.since}); ${state}. ` +
      `This run is ${runId} (a job whose settings or inputs changed is another run), so it writes nothing there. ${how}`,
    { source: `${folder}/${datasetKeys.claim}`, owner: owner.runId, runId },
  );
}
