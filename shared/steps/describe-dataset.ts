// Commit's dataset descriptions, written before the manifest (which is written last): the STAC
// Collection, the sample index (one STAC Item per sample) and the dataset card. The sample index
// comes from the samples' own `.json`, as WriteShard indexed them while streaming each final shard
// (runs/<run>/shard-index): Commit reads a few hundred bytes per sample, not the shards.

import { datasetCard } from '../domain/dataset-card.ts';
import { datasetKeys } from '../domain/dataset-layout.ts';
import type { Manifest } from '../domain/manifest.ts';
import { datasetCollection, foldExtent, type SampleRecord, sampleItem } from '../domain/stac.ts';
import type { BlobStore } from '../ports.ts';

/** The samples of the manifest's shards, in its shard order, then each shard's sample order. */
export type SampleRecords = (shard: Manifest['shards'][number]) => Promise<readonly SampleRecord[]>;

export async function writeDatasetDescriptions(
  dataset: BlobStore,
  manifest: Manifest,
  recordsOf: SampleRecords,
): Promise<void> {
  // The sample index is streamed a shard at a time and the collection's extent folded on the way:
  // memory holds one shard's records, however many samples the dataset has.
  let extent: SampleRecord[] = [];
  const encoder = new TextEncoder();
  async function* itemLines(): AsyncGenerator<Uint8Array> {
    for (const shard of manifest.shards) {
      const records = await recordsOf(shard);
      yield encoder.encode(records.map((r) => `${JSON.stringify(sampleItem(manifest, r))}\n`).join(''));
      extent = foldExtent([...extent, ...records]);
    }
  }
  await dataset.putStream(datasetKeys.items, itemLines(), { contentType: 'application/x-ndjson' });
  const collection = datasetCollection(manifest, extent);
  await dataset.put(datasetKeys.collection, `${JSON.stringify(collection, null, 1)}\n`, {
    contentType: 'application/json',
  });
  await dataset.put(datasetKeys.card, datasetCard(manifest), { contentType: 'text/markdown' });
}
