// How spatially mixed the samples of a dataset's shards are: the neighbour share (domain/reshard.ts)
// of the final shards the manifest lists ("after"), and of the run's region shards in its work
// store, one shard per region and split as datasets were written before PlanShards ("before").
import { IntegrityError } from '../domain/errors.ts';
import { ManifestSchema } from '../domain/manifest.ts';
import { neighbourShare, type SamplePosition, windowPositionOfKey } from '../domain/reshard.ts';
import { sampleSpans } from '../domain/shard.ts';
import type { BlobStore } from '../ports.ts';

export type ShareFigure = ReturnType<typeof neighbourShare> & { shards: number; samples: number };

async function positionsOf(store: BlobStore, key: string): Promise<SamplePosition[]> {
  const bytes = await store.get(key);
  if (bytes === undefined) throw new IntegrityError(`${store.uri}/${key} is missing`);
  return sampleSpans(bytes).map((s) => {
    const p = windowPositionOfKey(s.key);
    if (!p) throw new IntegrityError(`${store.uri}/${key}: sample key ${s.key} is not <tile>_<row>_<col>`);
    return p;
  });
}

function figure(shards: SamplePosition[][]): ShareFigure {
  return {
    ...neighbourShare(shards),
    shards: shards.length,
    samples: shards.reduce((n, s) => n + s.length, 0),
  };
}

export async function measureNeighbourShare(
  dataset: BlobStore,
  work: BlobStore,
): Promise<{ runId: string; before: ShareFigure; after: ShareFigure }> {
  const raw = await dataset.get('manifest.json');
  if (raw === undefined) throw new IntegrityError(`${dataset.uri} has no manifest.json`);
  const manifest = ManifestSchema.parse(JSON.parse(Buffer.from(raw).toString('utf8')));
  const after: SamplePosition[][] = [];
  for (const s of manifest.shards) after.push(await positionsOf(dataset, s.path));
  const before: SamplePosition[][] = [];
  for (const key of await work.list(`runs/${manifest.runId}/region-shards/`)) {
    before.push(await positionsOf(work, key));
  }
  return { runId: manifest.runId, before: figure(before), after: figure(after) };
}
