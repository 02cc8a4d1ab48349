// examples/epsg3035-grid.json as a user runs it, offline on the fixtures: the real Croatia scene
// (EPSG:32633, 120 m) warped with cubic resampling onto 64 px windows of an EPSG:3035 grid at 100 m
// from a given origin. Oracles: the grid's own arithmetic for keys and geotransforms, and
// rasterio.warp.reproject (GDAL) of each band file onto each window for the pixels.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { verifyDataset } from '../../shared/dataset/verify.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { decodeNpy } from '../../shared/domain/npy.ts';
import type { ShardSample } from '../../shared/domain/shard.ts';
import { exampleFixtures, exampleJobIn, readExample } from '../helpers/examples.ts';
import { runLocalJob } from '../helpers/local-job.ts';
import { fixturesRoot, PYTHON } from '../helpers/rasterio-reference.ts';
import { requireFixture, requirePython } from '../helpers/requirements.ts';

const EXAMPLE = 'epsg3035-grid';
const ready = requireFixture(...exampleFixtures(EXAMPLE)) && requirePython(['rasterio', 'numpy']);
const suite = ready ? describe : describe.skip;
const FILE_OF: Record<string, string> = { blue: 'B02', green: 'B03', red: 'B04', nir: 'B08' };

type Meta = {
  transform: number[];
  items: string[];
  groups: Record<string, { bands: string[]; shape: number[] }>;
};
const member = (s: ShardSample, name: string) =>
  s.members.find((m) => m.name.endsWith(name))?.data as Uint8Array;

suite('the EPSG grid example: any EPSG grid, cubic warping as GDAL does it', () => {
  let dir: string;
  let manifest: Manifest;
  let store: FsBlobStore;
  let samples: ShardSample[];
  const example = readExample(EXAMPLE) as {
    catalog: { source: string };
    grid: { origin: [number, number]; resolution: number };
    windows: { size: number };
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-example-epsg-'));
    ({ store, manifest, samples } = await runLocalJob(exampleJobIn(EXAMPLE, dir)));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keys windows epsg3035_<row>_<col>, each at its place on the grid', async () => {
    expect((await verifyDataset(store)).problems).toEqual([]);
    expect(samples.length).toBeGreaterThan(0);
    // The manifest names the grid and how each band was warped onto it.
    expect(manifest.grid.output).toMatchObject({ kind: 'crs', epsg: 3035, resolution: 100 });
    expect(manifest.grid.output?.resampling).toMatchObject({ blue: 'cubic', scl: 'nearest' });
    const side = example.windows.size * example.grid.resolution;
    for (const s of samples) {
      const m = /^epsg3035_(\d+)_(\d+)$/.exec(s.key);
      expect(m, s.key).not.toBeNull();
      const t = (JSON.parse(Buffer.from(member(s, 'json')).toString()) as Meta).transform;
      expect(t).toEqual([
        example.grid.origin[0] + Number(m?.[2]) * side,
        example.grid.resolution,
        0,
        example.grid.origin[1] - Number(m?.[1]) * side,
        0,
        -example.grid.resolution,
      ]);
    }
  });

  it('equals GDAL cubic warping of every band and date within 1 DN', () => {
    const imagery = path.join(fixturesRoot(), example.catalog.source.replace('../../shared/fixtures/', ''));
    const jobs: { file: string; t: number[]; values: number[] }[] = [];
    for (const s of samples) {
      const meta = JSON.parse(Buffer.from(member(s, 'json')).toString()) as Meta;
      const [name, g] = Object.entries(meta.groups)[0] as [string, { bands: string[]; shape: number[] }];
      const arr = decodeNpy(member(s, `${name}.npy`));
      const [, C, H, W] = arr.shape as [number, number, number, number];
      meta.items.forEach((item, t) => {
        g.bands.forEach((band, c) => {
          const at = (t * C + c) * H * W;
          jobs.push({
            file: path.join(imagery, item, `${FILE_OF[band]}.tif`),
            t: meta.transform,
            values: Array.from((arr.data as Uint16Array).subarray(at, at + H * W)),
          });
        });
      });
    }
    const script = `
import json, sys, numpy as np, rasterio
from rasterio.warp import reproject, Resampling
from affine import Affine
req = json.load(sys.stdin)
same, n, worst, total = 0, 0, 0, 0.0
for j in req:
    with rasterio.open(j['file']) as src:
        want = np.zeros((64, 64), dtype='uint16')
        reproject(rasterio.band(src, 1), want, dst_transform=Affine.from_gdal(*j['t']), dst_crs='EPSG:3035',
                  resampling=Resampling.cubic, src_nodata=src.nodata, dst_nodata=0)
    got = np.array(j['values'], dtype='int64').reshape(64, 64)
    d = np.abs(got - want.astype('int64'))
    same += int((d == 0).sum()); n += d.size; worst = max(worst, int(d.max())); total += float(d.sum())
print(json.dumps({'identical': same / n, 'mae': total / n, 'max': worst, 'pixels': n}))
`;
    const run = spawnSync(PYTHON, ['-c', script], {
      input: JSON.stringify(jobs),
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    expect(run.status, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout) as { identical: number; mae: number; max: number; pixels: number };
    console.log(
      `EPSG:3035 cubic: ${r.pixels} pixels, ${(100 * r.identical).toFixed(3)} % identical, MAE ${r.mae} DN, max ${r.max} DN`,
    );
    expect(r.pixels).toBe(samples.length * 2 * 4 * 64 * 64);
    expect(r.mae).toBeLessThan(1);
    expect(r.max).toBeLessThanOrEqual(1);
  });
});
