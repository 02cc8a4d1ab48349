// Commit's dataset descriptions, written before the manifest (which is written last): the STAC
// Collection, the sample index (one STAC Item per sample) and the dataset card. The sample index
// comes from the samples' own `.json`, as WriteShard indexed them while streaming each final shard
// (runs/<run>/shard-index): Commit reads a few hundred bytes per sample, not the shards.

import { datasetCard } from '../domain/dataset-card.ts';
import { datasetKeys } from '../domain/dataset-layout.ts';
import type { Manifest } from '../domain/manifest.ts';
import { datasetCollection, type SampleRecord, sampleItem } from '../domain/stac.ts';
import type { BlobStore } from '../ports.ts';

/** The samples of the manifest's shards, in its shard order, then each shard's sample order. */
export type SampleRecords = (shard: Manifest['shards'][number]) => Promise<readonly SampleRecord[]>;

export async function writeDatasetDescriptions(
  dataset: BlobStore,
  manifest: Manifest,
  recordsOf: SampleRecords,
): Promise<void> {
  const lines: string[] = [];
  // The collection's extent needs every sample's bbox and dates, not the whole records.
  const extentRecords: SampleRecord[] = [];
  for (const shard of manifest.shards) {
    for (const record of await recordsOf(shard)) {
      lines.push(`${JSON.stringify(sampleItem(manifest, record))}\n`);
      extentRecords.push({
        ...record,
        json: { boundsWgs84: record.json.boundsWgs84, dates: record.json.dates },
      });
    }
  }
  await dataset.put(datasetKeys.items, lines.join(''), { contentType: 'application/x-ndjson' });
  const collection = datasetCollection(manifest, extentRecords);
  await dataset.put(datasetKeys.collection, `${JSON.stringify(collection, null, 1)}\n`, {
    contentType: 'application/json',
  });
  await dataset.put(datasetKeys.card, datasetCard(manifest), { contentType: 'text/markdown' });
}
