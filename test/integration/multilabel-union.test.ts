// Multi-labels from union areas through the whole job: the real Croatian parcels plus a copy of each
// shifted 20 m east with the same class (constructed overlaps of one class on real shapes) over the
// real Croatia scene. Every sample's multi-label list (.json) and multi-hot vector (multilabel.npy)
// equal the classes whose union (shapely unary_union per class, reprojected by GDAL/PROJ) covers at
// least minFraction of the window; summing the areas would label some windows differently.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { prepareJob, workUriOf } from '../../shared/cli/prepare-job.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { decodeNpy } from '../../shared/domain/npy.ts';
import { readShard, type ShardSample } from '../../shared/domain/shard.ts';
import { noProgress, silentLog } from '../../shared/ports.ts';
import { createLocalContext } from '../../shared/runtime/local-context.ts';
import { runJobLocally } from '../../shared/runtime/run-job.ts';
import { type RangeServer, startRangeServer, writeFixtureItems } from '../helpers/range-server.ts';
import { fixturesRoot, PYTHON, requireFixture, requirePython } from '../helpers/requirements.ts';

const FIXTURE = 'sentinel2/earthsearch_v1_timeseries_T33TWL_2023-08_croatia_120m';
const PARCELS_FILE = 'labels/parcels_hr_arkod_2024_sample_EPSG3765.geojson';
const ORACLE = path.resolve(import.meta.dirname, '../interop/label_oracle.py');
const ASSETS: Record<string, string> = { red: 'B04', nir: 'B08', scl: 'SCL' };
const MIN_FRACTION = 0.02;
const ready = requireFixture(FIXTURE, PARCELS_FILE) && requirePython(['rasterio', 'shapely']);

type Position = number[];
type Feature = {
  type: 'Feature';
  properties: Record<string, unknown>;
  geometry: { type: string; coordinates: unknown };
};

/** The geometry moved `dx` metres east (EPSG:3765 is metric). */
function shifted(geometry: Feature['geometry'], dx: number): Feature['geometry'] {
  const move = (c: unknown): unknown =>
    typeof (c as Position)[0] === 'number'
      ? [(c as Position)[0]! + dx, (c as Position)[1]]
      : (c as unknown[]).map(move);
  return { type: geometry.type, coordinates: move(geometry.coordinates) };
}

describe.skipIf(!ready)('multi-labels are union areas end to end (parcels with overlapping copies)', () => {
  let server: RangeServer;
  let dir: string;
  let manifest: Manifest;
  let samples: ShardSample[];
  let features: Feature[];

  beforeAll(async () => {
    const fixture = path.join(fixturesRoot(), FIXTURE);
    server = await startRangeServer({ root: fixture });
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-multilabel-'));
    await writeFixtureItems(fixture, server, dir, ASSETS);
    const parcels = JSON.parse(readFileSync(path.join(fixturesRoot(), PARCELS_FILE), 'utf8'));
    const originals = parcels.features as Feature[];
    const copies = originals.map((f) => ({
      ...f,
      properties: { ...f.properties, jpaid: `${f.properties['jpaid']}-copy` },
      geometry: shifted(f.geometry, 20),
    }));
    features = [...originals, ...copies];
    const labels = path.join(dir, 'parcels-with-copies.geojson');
    await writeFile(labels, JSON.stringify({ ...parcels, features }));
    const job = {
      name: 'multilabel-union',
      catalog: { kind: 'static', source: 'items.json' },
      aoi: 'labels',
      period: { start: '2023-08-01', end: '2023-08-31' },
      selection: { maxCloudCover: 60, maxDates: 1, minAoiCoverage: 0 },
      bands: ['red', 'nir'],
      windows: { size: 8, stride: 8, where: 'labels' },
      labels: {
        source: labels,
        classProperty: 'land_use_id',
        idProperty: 'jpaid',
        resolution: 30,
        outputs: ['labels', 'multilabel'],
        multilabel: { minFraction: MIN_FRACTION },
      },
      splits: { method: 'random', train: 0.6, validation: 0.2, test: 0.2, seed: 3 },
      output: { uri: 'out/multilabel-union' },
    };
    const file = path.join(dir, 'job.json');
    await writeFile(file, JSON.stringify(job));
    const prepared = await prepareJob(file);
    const workUri = workUriOf(prepared.job);
    const ctx = createLocalContext({ workUri, log: silentLog });
    await runJobLocally({ ...prepared, workUri, ctx, progress: noProgress, threads: 2 });
    const store = new FsBlobStore(prepared.job.output.uri);
    manifest = JSON.parse(
      Buffer.from((await store.get('manifest.json')) as Uint8Array).toString(),
    ) as Manifest;
    samples = [];
    for (const shard of manifest.shards)
      samples.push(...(await readShard((await store.get(shard.path)) as Uint8Array)));
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('every sample lists the classes whose union covers minFraction of it, in .json and multilabel.npy', () => {
    const member = (s: ShardSample, name: string) =>
      s.members.find((m) => m.name === name)?.data as Uint8Array;
    const metas = samples.map(
      (s) =>
        JSON.parse(Buffer.from(member(s, 'json')).toString()) as {
          epsg: number;
          bounds: number[];
          labels: { multilabel: number[] };
        },
    );
    const request = {
      src_crs: 'EPSG:3765',
      dst_crs: `EPSG:${metas[0]?.epsg}`,
      background: 0,
      pixels: false,
      features: features.map((f) => ({ geometry: f.geometry, cls: f.properties['land_use_id'] })),
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
    const oracle = JSON.parse(run.stdout) as Record<
      string,
      { union: Record<string, number>; sum: Record<string, number> }
    >;
    const ids = (manifest.classes as NonNullable<Manifest['classes']>).table.map((c) => c.id);
    const present = (shares: Record<string, number>) =>
      ids.filter((id) => (shares[String(id)] ?? 0) >= MIN_FRACTION);
    let overlapping = 0;
    let differ = 0;
    samples.forEach((s, i) => {
      const want = oracle[s.key] as { union: Record<string, number>; sum: Record<string, number> };
      const hot = decodeNpy(member(s, 'multilabel.npy')).data as Uint8Array;
      expect(metas[i]?.labels.multilabel, s.key).toEqual(present(want.union));
      expect(
        ids.filter((_, k) => hot[k] === 1),
        s.key,
      ).toEqual(present(want.union));
      if (Object.keys(want.union).some((c) => (want.sum[c] as number) > (want.union[c] as number) + 1e-9))
        overlapping++;
      if (present(want.sum).join() !== present(want.union).join()) differ++;
    });
    console.info(
      `${samples.length} samples, ${overlapping} with overlapping polygons of one class, ` +
        `${differ} whose multi-label summed areas would change`,
    );
    expect(overlapping).toBeGreaterThan(5);
    expect(differ).toBeGreaterThan(0);
  });
});
