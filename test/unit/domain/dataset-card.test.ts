// The dataset card: the front matter's data_files name exactly each split's shards, and the body
// carries the class table, the bands, the splits and the provenance.
import { describe, expect, it } from 'vitest';
import { cardFrontMatter, datasetCard, splitDataFiles } from '../../../shared/domain/dataset-card.ts';
import { sampleManifest } from '../../helpers/manifest-sample.ts';

describe('splitDataFiles', () => {
  it('is the folder glob when the split owns its folder, nothing for an empty split', () => {
    const m = sampleManifest();
    expect(splitDataFiles(m, 'train')).toEqual(['train/*.tar']);
    expect(splitDataFiles(m, 'validation')).toEqual(['validation/*.tar']);
    expect(splitDataFiles(m, 'test')).toEqual([]);
  });

  it('lists the paths when a folder holds shards of two splits', () => {
    const m = sampleManifest();
    const shard = m.shards[2] as (typeof m.shards)[number];
    shard.path = 'train/crops-validation-000000.tar';
    expect(splitDataFiles(m, 'train')).toEqual([
      'train/crops-train-000000.tar',
      'train/crops-train-000001.tar',
    ]);
    expect(splitDataFiles(m, 'validation')).toEqual(['train/crops-validation-000000.tar']);
  });
});

describe('datasetCard', () => {
  const card = datasetCard(sampleManifest());

  it('starts with YAML front matter holding configs per non-empty split', () => {
    expect(card.startsWith('---\n')).toBe(true);
    const front = card.split('\n---\n')[0] as string;
    expect(front).toContain(cardFrontMatter(sampleManifest()));
    expect(front).toContain('  - split: train\n    path:\n    - "train/*.tar"');
    expect(front).toContain('  - split: validation');
    expect(front).not.toContain('split: test');
    expect(front).toContain('- image-segmentation');
  });

  it('has the classes, bands, splits and provenance', () => {
    expect(card).toContain('| 1 | 1 | "winter wheat" |');
    expect(card).toContain('| `10m` | blue |');
    expect(card).toContain('| rededge1 | – | – | – | 10 | per date | per date |');
    expect(card).toContain('| train | 3 | 2 | `train/*.tar` |');
    expect(card).toContain('run: `crops-abc123`');
    expect(card).toContain('`S2A_33TWL_20230605_0_L2A`');
    expect(card).toContain('satfactory 0.1.0');
  });
});
