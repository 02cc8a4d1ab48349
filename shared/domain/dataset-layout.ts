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

/**
 * The label members a sample may carry (`<key>.<name>` in its shard), each written only when
 * labels.outputs asks for it: name → what it holds. [HL, WL] is the window in label pixels.
 */
export const labelMembers = {
  'labels.npy': '[HL, WL] uint16 class ids (background: classes.background)',
  'instances.npy': '[HL, WL] uint32 feature position + 1 (0 = none)',
  'coverage.npy':
    "[HL, WL] float32: the winning feature's share of the pixel; in a regression job the summed share of the features the mean is taken over",
  'double.npy': '[HL, WL] uint8: 1 partly claimed by 2+ features, 2 fully inside one and claimed by another',
  'buildings.npy': '[3, HL, WL] uint8 footprint, boundary, contact',
  'distance.npy': '[HL, WL] float32 signed distance to the nearest outline, metres',
  'multilabel.npy': '[K] uint8 multi-hot over the class table (training order)',
  cls: 'the class covering most of the window: its training index as ASCII decimal (WebDataset .cls); absent when no class covers the window',
  'regression.npy':
    '[HL, WL] float32 coverage-weighted mean of the value property over the features meeting each pixel (normalized by the covered area); NaN where none',
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
