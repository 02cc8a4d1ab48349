// Where things go inside a dataset (relative to output.uri): the contract users and verify read.
import type { Split } from './splits.ts';

export const datasetKeys = {
  /** Written last, create-only: the dataset exists iff it exists. */
  manifest: 'manifest.json',
  /** Every candidate product, chosen or rejected, and why. */
  selection: 'selection.json',
  /** Every planned window not written, with a reason. */
  rejects: 'rejects.jsonl',
  /** The label validation log: every problem of every feature and what was done. */
  labelsLog: 'labels-log.jsonl',
  shard: (name: string, split: Split, index: number) =>
    `${split}/${name}-${split}-${String(index).padStart(6, '0')}.tar`,
} as const;
