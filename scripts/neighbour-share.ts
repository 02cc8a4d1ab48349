// Prints the neighbour share of a local dataset: the share of consecutive samples within a shard that
// are spatial neighbours (same tile, window origins at most one stride apart in x and y), before
// (the run's region shards, kept in its work folder) and after resharding (the final shards).
// Usage: tsx scripts/neighbour-share.ts DATASET_DIR [WORK_DIR]   (WORK_DIR default DATASET_DIR/.satfactory)
import path from 'node:path';
import { FsBlobStore } from '../shared/adapters/local/fs-blob-store.ts';
import { measureNeighbourShare } from '../shared/dataset/neighbour-share.ts';

const [dir, workDir] = process.argv.slice(2);
if (!dir) {
  console.error('usage: tsx scripts/neighbour-share.ts DATASET_DIR [WORK_DIR]');
  process.exit(2);
}
const m = await measureNeighbourShare(
  new FsBlobStore(dir),
  new FsBlobStore(workDir ?? path.join(dir, '.satfactory')),
);
const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)} %`);
for (const [label, f] of [
  ['before (region shards)', m.before],
  ['after (final shards)', m.after],
] as const) {
  console.log(
    `${label.padEnd(24)} ${pct(f.share).padStart(7)}  (${f.neighbours}/${f.pairs} pairs, ${f.shards} shards, ${f.samples} samples)`,
  );
}
