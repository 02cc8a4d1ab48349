// No absolute local path in a dataset: local paths become relative to the dataset root (or
// "local:..." when the dataset is remote); remote URLs and prose stay as they are.
import { describe, expect, it } from 'vitest';
import { localPathOf, portablePaths, portablePathsOfJob } from '../../../shared/domain/portable-paths.ts';

describe('portablePaths', () => {
  const paths = portablePaths('/data/jobs/out/crops', [
    'file:///data/jobs/out/crops/.satfactory',
    '/data/jobs/scene',
    '/data/labels/parcels.geojson',
  ]);

  it('makes file:// URLs and absolute paths under a root relative to the dataset', () => {
    expect(paths.text('file:///data/jobs/scene/S2A/B02.tif')).toBe('../../scene/S2A/B02.tif');
    expect(paths.text('/data/labels/parcels.geojson')).toBe('../../../labels/parcels.geojson');
    expect(paths.text('/data/jobs/out/crops')).toBe('.');
    expect(paths.text('file:///data/jobs/out/crops/.satfactory/runs/r1/catalog/')).toBe(
      '.satfactory/runs/r1/catalog/',
    );
    // Percent-encoded file URLs are decoded first.
    expect(paths.text('file:///data/jobs/scene/my%20scene/B02.tif')).toBe('../../scene/my scene/B02.tif');
  });

  it('rewrites paths inside messages and keeps their punctuation', () => {
    expect(paths.text('static STAC file:///data/jobs/scene')).toBe('static STAC ../../scene');
    expect(paths.text('cannot read /data/labels/parcels.geojson: EACCES.')).toBe(
      'cannot read ../../../labels/parcels.geojson: EACCES.',
    );
    expect(paths.text('(see /data/jobs/scene/items.json)')).toBe('(see ../../scene/items.json)');
  });

  it('leaves remote URLs, pointers, other paths and prose alone', () => {
    for (const s of [
      'https://earth-search.aws.element84.com/v1/collections/x/items/S2A/B02.tif',
      's3://bucket/datasets/crops/train/crops-train-000000.tar',
      '/features/3/geometry',
      'train/crops-train-000000.tar',
      '/data/jobsX/other',
      'a/data/jobs/scene',
      'ratio 1/2',
    ]) {
      expect(paths.text(s)).toBe(s);
    }
  });

  it('walks JSON values, keys included', () => {
    const v = {
      a: ['file:///data/jobs/scene/x.tif', 1, null, true],
      'file:///data/jobs/scene/k': { b: '/data/jobs/scene' },
    };
    expect(paths.value(v)).toEqual({
      a: ['../../scene/x.tif', 1, null, true],
      '../../scene/k': { b: '../../scene' },
    });
  });

  it('a remote dataset gets "local:" paths below the input\'s folder', () => {
    const remote = portablePaths('s3://bucket/crops', ['/data/jobs/scene', '/data/labels/parcels.geojson']);
    expect(remote.text('file:///data/jobs/scene/S2A/B02.tif')).toBe('local:scene/S2A/B02.tif');
    expect(remote.text('/data/labels/parcels.geojson')).toBe('local:parcels.geojson');
    expect(remote.text('s3://bucket/crops/train/x.tar')).toBe('s3://bucket/crops/train/x.tar');
  });

  it('derives the roots from a job', () => {
    const job = {
      output: { uri: '/w/out/ds' },
      catalog: { kind: 'static', source: '/w/scene' },
      labels: { source: '/w/labels/p.geojson' },
    };
    const p = portablePathsOfJob(job, 'file:///w/out/ds/.satfactory');
    expect(p.value(job)).toEqual({
      output: { uri: '.' },
      catalog: { kind: 'static', source: '../../scene' },
      labels: { source: '../../labels/p.geojson' },
    });
  });

  it('localPathOf names only local paths', () => {
    expect(localPathOf('file:///a/b')).toBe('/a/b');
    expect(localPathOf('/a/../b')).toBe('/b');
    expect(localPathOf('https://x/a')).toBeUndefined();
    expect(localPathOf('rel/a')).toBeUndefined();
  });
});
