// Where things go inside a dataset (relative to output.uri): the contract users and verify read.
import type { Split } from './splits.ts';

export const datasetKeys = {
  /** Written last, create-only: the dataset exists iff it exists. */
  manifest: 'manifest.json',
  /** Written first, create-only: the run that owns the folder (run id, job, when). */
  claim: 'claim.json',
  /** Every candidate product, chosen or rejected, and why. */
  selection: 'selection.json',
  /** Every planned window not written, with a reason. */
  rejects: 'rejects.jsonl',
  /** The label validation log: every problem of every feature and what was done. */
  labelsLog: 'labels-log.jsonl',
  /** The dataset as a STAC Collection (stac.ts). */
  collection: 'collection.json',
  /** The sample index: one STAC Item per sample, one a line (stac.ts). */
  items: 'items.ndjson',
  /** The dataset card, with the YAML front matter Hugging Face reads (dataset-card.ts). */
  card: 'README.md',
  shard: (name: string, split: Split, index: number) =>
    `${split}/${name}-${split}-${String(index).padStart(6, '0')}.tar`,
} as const;

/** The folder of a local run's work files inside its dataset (unless output.work moves them): not data. */
export const WORK_FOLDER = '.satfactory';

/**
 * The files of a dataset besides its shards, derived from datasetKeys so that a file added there is
 * known everywhere: verify reports any other file the manifest does not list.
 */
export const datasetSideFiles: readonly string[] = Object.values(
  datasetKeys as Record<string, unknown>,
).filter((v): v is string => typeof v === 'string');
