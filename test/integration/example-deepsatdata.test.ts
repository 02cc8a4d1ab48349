// The DeepSatData seed example (examples/deepsatdata-parcels.json) as a user runs it, offline on the
// fixtures: real Croatian ARKOD parcels (EPSG:3765) over a real Sentinel-2 time series (T33TWL,
// 120 m), labels at 30 m with class ids, instance ids, coverage and the double mask. Oracles: every
// image array equals rasterio's read of the same window of the same date; every label pixel equals
// GDAL/PROJ reprojection + shapely pixel intersections (test/interop/label_oracle.py).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
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
import { fixturesRoot, PYTHON, rasterioRead } from '../helpers/rasterio-reference.ts';
import { requireFixture, requirePython } from '../helpers/requirements.ts';

const EXAMPLE = 'deepsatdata-parcels';
const ready = requireFixture(...exampleFixtures(EXAMPLE)) && requirePython(['rasterio', 'shapely', 'numpy']);
const suite = ready ? describe : describe.skip;
const ORACLE = path.resolve(import.meta.dirname, '../interop/label_oracle.py');
const BAND_FILES: Record<string, string> = {
  blue: 'B02.tif',
  green: 'B03.tif',
  red: 'B04.tif',
  nir: 'B08.tif',
};

type SampleMeta = {
  epsg: number;
  transform: number[];
  bounds: [number, number, number, number];
  items: string[];
  groups: Record<string, { bands: string[]; shape: number[] }>;
  labels: { size: number; resolution: number; instances: Record<string, string> };
};

const member = (s: ShardSample, name: string) => s.members.find((m) => m.name === name)?.data as Uint8Array;

suite('the DeepSatData example: parcels over a Sentinel-2 time series', () => {
  let dir: string;
  let manifest: Manifest;
  let store: FsBlobStore;
  let samples: ShardSample[];
  let metas: SampleMeta[];
  const example = readExample(EXAMPLE) as {
    catalog: { source: string };
    labels: { source: string; classProperty: string; idProperty: string };
  };
  const imagery = path.join(fixturesRoot(), example.catalog.source.replace('../../shared/fixtures/', ''));
  const parcelsFile = path.join(fixturesRoot(), example.labels.source.replace('../../shared/fixtures/', ''));

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-example-deepsatdata-'));
    ({ store, manifest, samples } = await runLocalJob(exampleJobIn(EXAMPLE, dir)));
    metas = samples.map((s) => JSON.parse(Buffer.from(member(s, 'json')).toString()) as SampleMeta);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes a verified dataset: a time series per window, every planned window accounted for', async () => {
    expect((await verifyDataset(store)).problems).toEqual([]);
    expect(manifest.totals.written).toBeGreaterThan(10);
    expect(manifest.totals.written + manifest.totals.rejected).toBe(manifest.totals.planned);
    expect(samples).toHaveLength(manifest.totals.written);
    for (const m of metas) expect(m.items.length).toBeGreaterThan(1);
  });

  it("equals rasterio's read of each window, date by date and band by band", () => {
    // Every band of every date shares the tile's 120 m grid: one probe gives the pixel offsets.
    const first = metas[0] as SampleMeta;
    const probe = rasterioRead(path.join(imagery, first.items[0] as string, 'B02.tif'), [
      { x: 0, y: 0, width: 1, height: 1 },
    ]).profile.transform;
    const rectOf = (meta: SampleMeta, W: number, H: number) => ({
      x: Math.round(((meta.transform[0] as number) - (probe[0] as number)) / 120),
      y: Math.round(((probe[3] as number) - (meta.transform[3] as number)) / 120),
      width: W,
      height: H,
    });
    // One rasterio run per file, with every sample's window in it.
    const files = new Map<string, { sample: number; t: number; c: number }[]>();
    metas.forEach((meta, i) => {
      const group = meta.groups['120m'] as { bands: string[] };
      meta.items.forEach((item, t) => {
        group.bands.forEach((band, c) => {
          const file = path.join(imagery, item, BAND_FILES[band] as string);
          files.set(file, [...(files.get(file) ?? []), { sample: i, t, c }]);
        });
      });
    });
    let compared = 0;
    for (const [file, uses] of files) {
      const rects = uses.map((u) => {
        const [, , H, W] = ((metas[u.sample] as SampleMeta).groups['120m'] as { shape: number[] }).shape;
        return rectOf(metas[u.sample] as SampleMeta, W as number, H as number);
      });
      const ref = rasterioRead(file, rects);
      uses.forEach((u, k) => {
        const s = samples[u.sample] as ShardSample;
        const arr = decodeNpy(member(s, '120m.npy'));
        const [, C, H, W] = arr.shape as [number, number, number, number];
        const bytes = ref.windows[k] as Uint8Array;
        const want = new Uint16Array(bytes.buffer, bytes.byteOffset, W * H);
        const at = (u.t * C + u.c) * H * W;
        const got = (arr.data as Uint16Array).subarray(at, at + H * W);
        expect(Array.from(got), `${s.key} ${file}`).toEqual(Array.from(want));
        compared++;
      });
    }
    expect(compared).toBe(metas.reduce((n, m) => n + m.items.length * 4, 0));
  });

  it('labels, instances, coverage and the double mask equal the GDAL + shapely oracle', () => {
    const parcels = JSON.parse(readFileSync(parcelsFile, 'utf8')) as GeoJSON.FeatureCollection;
    const request = {
      src_crs: 'EPSG:3765',
      dst_crs: `EPSG:${metas[0]?.epsg}`,
      background: 0,
      features: parcels.features.map((f) => ({
        geometry: f.geometry,
        cls: f.properties?.[example.labels.classProperty],
      })),
      windows: samples.map((s, i) => ({
        key: s.key,
        x0: metas[i]?.bounds[0],
        y1: metas[i]?.bounds[3],
        px: 30,
        size: 32,
      })),
    };
    const requestFile = path.join(dir, 'oracle.json');
    writeFileSync(requestFile, JSON.stringify(request));
    const run = spawnSync(PYTHON, [ORACLE, requestFile], { encoding: 'utf8', maxBuffer: 1 << 28 });
    expect(run.stderr).toBe('');
    type Want = { labels: number[]; coverage: number[]; winners: number[]; double: number[] };
    const oracle = JSON.parse(run.stdout) as Record<string, Want>;
    const ids = parcels.features.map((f) => String(f.properties?.[example.labels.idProperty]));
    let total = 0;
    const mismatches = { labels: 0, instances: 0, double: 0 };
    let maxCoverageDiff = 0;
    samples.forEach((s, i) => {
      const want = oracle[s.key] as Want;
      const meta = metas[i] as SampleMeta;
      const labels = decodeNpy(member(s, 'labels.npy')).data as Uint16Array;
      const instances = decodeNpy(member(s, 'instances.npy')).data as Uint32Array;
      const coverage = decodeNpy(member(s, 'coverage.npy')).data as Float32Array;
      const double = decodeNpy(member(s, 'double.npy')).data as Uint8Array;
      for (let p = 0; p < labels.length; p++) {
        total++;
        if (labels[p] !== want.labels[p]) mismatches.labels++;
        if (double[p] !== want.double[p]) mismatches.double++;
        // An instance id names a feature through the .json; the oracle names the winning feature.
        const winner = want.winners[p] as number;
        const got = instances[p] === 0 ? undefined : meta.labels.instances[String(instances[p])];
        if (got !== (winner < 0 ? undefined : ids[winner])) mismatches.instances++;
        maxCoverageDiff = Math.max(
          maxCoverageDiff,
          Math.abs((coverage[p] as number) - (want.coverage[p] as number)),
        );
      }
    });
    expect(total).toBe(samples.length * 32 * 32);
    // proj4 and PROJ agree to millimetres: a 30 m pixel's coverage moves by < 1e-3, and a pixel
    // whose verdict hangs on such a sliver may fall either way.
    expect(maxCoverageDiff).toBeLessThan(1e-3);
    expect(mismatches.labels / total).toBeLessThan(1e-3);
    expect(mismatches.instances / total).toBeLessThan(1e-3);
    expect(mismatches.double / total).toBeLessThan(1e-3);
    // The double mask is not empty on this data (overlapping parcels exist), or it proves little.
    expect(
      samples.some((s) => (decodeNpy(member(s, 'double.npy')).data as Uint8Array).some((v) => v > 0)),
    ).toBe(true);
  });
});
