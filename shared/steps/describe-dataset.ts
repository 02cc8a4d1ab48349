// Commit's dataset descriptions, written before the manifest (which is written last): the STAC
// Collection, the sample index (one STAC Item per sample) and the dataset card. The sample index
// comes from the samples' own `.json` in the shards the manifest lists, whatever wrote them, one
// shard at a time (its bytes are dropped before the next; the index lines are kept).

import { datasetCard } from '../domain/dataset-card.ts';
import { datasetKeys } from '../domain/dataset-layout.ts';
import { IntegrityError } from '../domain/errors.ts';
import type { Manifest } from '../domain/manifest.ts';
import { readShard } from '../domain/shard.ts';
import { datasetCollection, type SampleRecord, sampleItem } from '../domain/stac.ts';
import type { BlobStore } from '../ports.ts';

export async function writeDatasetDescriptions(dataset: BlobStore, manifest: Manifest): Promise<void> {
  const lines: string[] = [];
  // The collection's extent needs every sample's bbox and dates, not the whole records.
  const extentRecords: SampleRecord[] = [];
  for (const shard of manifest.shards) {
    const bytes = await dataset.get(shard.path);
    if (bytes === undefined) {
      throw new IntegrityError(`${dataset.uri}/${shard.path} is missing, though the run wrote it`, {
        source: `${dataset.uri}/${shard.path}`,
      });
    }
    for (const sample of await readShard(bytes)) {
      const member = sample.members.find((m) => m.name === 'json');
      const json = member
        ? (JSON.parse(Buffer.from(member.data).toString('utf8')) as Record<string, unknown>)
        : {};
      const record: SampleRecord = { key: sample.key, shard: shard.path, split: shard.split, json };
      lines.push(`${JSON.stringify(sampleItem(manifest, record))}\n`);
      extentRecords.push({
        ...record,
        json: { boundsWgs84: json.boundsWgs84, dates: json.dates },
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
