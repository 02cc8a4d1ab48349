// Regression and classification targets and the BigEarthNet-19 nomenclature through the whole job
// (local runtime) over the real Croatia scene and the real Croatian parcels (ARKOD, EPSG:3765).
// Regression: `slope` (the float property DeepSatData-style labels carry), each parcel plus a copy
// shifted 20 m east with slope + 10 (constructed overlaps), against shapely per pixel (GDAL/PROJ
// reprojection; test/interop/target_oracle.py). Classes: a CORINE level-3 code DERIVED from the
// ARKOD land use for this test (200 arable → 211, 310/320/321 grassland → 231, 422 → 222, 910 →
// 124 airports, a class BigEarthNet-19 drops; one parcel gets 999, no CLC code), through
// labels.nomenclature "bigearthnet-19"; multilabel.npy and .cls against shapely union areas, the
// 19-class index from the shared fixture's official table.
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
const BEN = 'bigearthnet/bigearthnet_v1_nomenclature_43_to_19.json';
const ORACLE = path.resolve(import.meta.dirname, '../interop/target_oracle.py');
const ASSETS: Record<string, string> = { red: 'B04', nir: 'B08', scl: 'SCL' };
const ready = requireFixture(FIXTURE, PARCELS_FILE, BEN) && requirePython(['numpy', 'rasterio', 'shapely']);
/** The CLC code this test derives from the ARKOD land use (not a published correspondence). */
const CLC_OF_LAND_USE: Record<number, number> = {
  200: 211,
  310: 231,
  320: 231,
  321: 231,
  422: 222,
  910: 124,
};

type Feature = {
  type: 'Feature';
  properties: Record<string, unknown>;
  geometry: { type: string; coordinates: unknown };
};
type Oracle = Record<string, { value: (number | null)[]; coverage: number[]; union: Record<string, number> }>;
type Meta = { epsg: number; bounds: number[]; split: string; labels: Record<string, unknown> };

function shifted(geometry: Feature['geometry'], dx: number): Feature['geometry'] {
  const move = (c: unknown): unknown =>
    typeof (c as number[])[0] === 'number'
      ? [(c as number[])[0]! + dx, (c as number[])[1]]
      : (c as unknown[]).map(move);
  return { type: geometry.type, coordinates: move(geometry.coordinates) };
}

const member = (s: ShardSample, name: string) => s.members.find((m) => m.name === name)?.data;
const metaOf = (s: ShardSample) =>
  JSON.parse(Buffer.from(member(s, 'json') as Uint8Array).toString()) as Meta;

async function runJob(dir: string, name: string, labels: Record<string, unknown>) {
  const job = {
    name,
    catalog: { kind: 'static', source: 'items.json' },
    aoi: 'labels',
    period: { start: '2023-08-01', end: '2023-08-31' },
    selection: { maxCloudCover: 60, maxDates: 1, minAoiCoverage: 0 },
    bands: ['red', 'nir'],
    windows: { size: 8, stride: 8, where: 'labels' },
    labels,
    splits: { method: 'random', train: 0.6, validation: 0.2, test: 0.2, seed: 3 },
    output: { uri: `out/${name}` },
  };
  const file = path.join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify(job));
  const prepared = await prepareJob(file);
  const workUri = workUriOf(prepared.job);
  const ctx = createLocalContext({ workUri, log: silentLog });
  await runJobLocally({ ...prepared, workUri, ctx, progress: noProgress, threads: 2 });
  const store = new FsBlobStore(prepared.job.output.uri);
  const manifest = JSON.parse(
    Buffer.from((await store.get('manifest.json')) as Uint8Array).toString(),
  ) as Manifest;
  const samples: ShardSample[] = [];
  for (const shard of manifest.shards)
    samples.push(...(await readShard((await store.get(shard.path)) as Uint8Array)));
  const log = Buffer.from((await store.get('labels-log.jsonl')) as Uint8Array)
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { index: number; problem: string; action: string });
  const text = async (key: string) => Buffer.from((await store.get(key)) as Uint8Array).toString();
  const collection = JSON.parse(await text('collection.json')) as Record<string, unknown>;
  return { manifest, samples, log, root: prepared.job.output.uri, collection, card: await text('README.md') };
}

/** The Python loader's suite for these targets (python/tests/test_targets.py) on a written dataset. */
function pythonLoader(test: string, env: Record<string, string>): void {
  const run = spawnSync(PYTHON, ['-m', 'unittest', '-v', test], {
    cwd: path.resolve(import.meta.dirname, '../../python/tests'),
    env: {
      ...process.env,
      PYTHONPATH: path.resolve(import.meta.dirname, '../../python'),
      PYTHONDONTWRITEBYTECODE: '1',
      ...env,
    },
    encoding: 'utf8',
  });
  expect(run.status, run.stderr).toBe(0);
  expect(run.stderr).toMatch(/Ran [1-9]\d* tests?/);
  expect(run.stderr).not.toMatch(/skipped/);
}

function oracle(
  dir: string,
  features: unknown[],
  samples: ShardSample[],
  px: number,
  size: number,
  pixels: boolean,
): Oracle {
  const metas = samples.map(metaOf);
  const request = {
    src_crs: 'EPSG:3765',
    dst_crs: `EPSG:${metas[0]?.epsg}`,
    pixels,
    features,
    windows: samples.map((s, i) => ({
      key: s.key,
      x0: metas[i]?.bounds[0],
      y1: metas[i]?.bounds[3],
      px,
      size,
    })),
  };
  const file = path.join(dir, `oracle-${pixels}.json`);
  writeFileSync(file, JSON.stringify(request));
  const run = spawnSync(PYTHON, [ORACLE, file], { encoding: 'utf8', maxBuffer: 1 << 28 });
  expect(run.stderr).toBe('');
  return JSON.parse(run.stdout) as Oracle;
}

describe.skipIf(!ready)('label targets end to end (real parcels over the real Croatia scene)', () => {
  let server: RangeServer;
  let dir: string;
  let parcels: { features: Feature[] } & Record<string, unknown>;

  beforeAll(async () => {
    const fixture = path.join(fixturesRoot(), FIXTURE);
    server = await startRangeServer({ root: fixture });
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-targets-'));
    await writeFixtureItems(fixture, server, dir, ASSETS);
    parcels = JSON.parse(readFileSync(path.join(fixturesRoot(), PARCELS_FILE), 'utf8'));
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('regression: regression.npy is the weighted mean of slope, no class table, the manifest tells its values', async () => {
    const copies = parcels.features.map((f) => ({
      ...f,
      properties: { ...f.properties, slope: (f.properties['slope'] as number) + 10 },
      geometry: shifted(f.geometry, 20),
    }));
    const features = [...parcels.features, ...copies];
    const source = path.join(dir, 'slope.geojson');
    await writeFile(source, JSON.stringify({ ...parcels, features }));
    const { manifest, samples, root, collection, card } = await runJob(dir, 'targets-regression', {
      source,
      classProperty: 'land_use_id',
      target: 'regression',
      valueProperty: 'slope',
      unit: 'percent',
      resolution: 60,
    });
    expect(samples.length).toBeGreaterThan(10);
    // No class table: a float property does not become dozens of classes.
    expect(manifest.classes).toBeNull();
    const reg = manifest.regression as NonNullable<Manifest['regression']>;
    expect(reg).toMatchObject({
      property: 'slope',
      unit: 'percent',
      outputs: ['regression', 'coverage'],
      size: 16,
    });
    expect(reg.validation?.accounting?.kept).toBe(200);
    // Every feature meeting a written window is in its regression mean: none is "no-label-pixel".
    expect(reg.validation?.accounting?.unsampled['no-label-pixel']).toBeUndefined();
    console.info(`regression accounting: ${JSON.stringify(reg.validation?.accounting)}`);
    // The STAC collection and the dataset card describe a regression target, no classes.
    expect(collection['summaries']).toMatchObject({
      'label:tasks': ['regression'],
      'label:properties': ['slope'],
    });
    expect((collection['summaries'] as Record<string, unknown>)['classification:classes']).toBeUndefined();
    expect(card).toMatch(/A regression target, no classes: .*`slope` \(percent\)/);

    const want = oracle(
      dir,
      features.map((f) => ({ geometry: f.geometry, value: f.properties['slope'] })),
      samples,
      60,
      16,
      true,
    );
    const all: number[] = [];
    const bySplit: Record<string, number[]> = { train: [], validation: [], test: [] };
    let mixed = 0;
    for (const s of samples) {
      // The label members are the regression target and its coverage, no class member.
      expect(s.members.map((m) => m.name).filter((n) => !/^(json|\d+m\.npy|scl\.npy)$/.test(n))).toEqual([
        'regression.npy',
        'coverage.npy',
      ]);
      const value = decodeNpy(member(s, 'regression.npy') as Uint8Array);
      const coverage = decodeNpy(member(s, 'coverage.npy') as Uint8Array);
      expect(value.dtype).toBe('<f4');
      expect(value.shape).toEqual([16, 16]);
      const w = want[s.key] as Oracle[string];
      const meta = metaOf(s);
      value.data.forEach((got, p) => {
        const v = w.value[p] as number | null;
        if (v === null) {
          expect(Number.isNaN(got), `${s.key} ${p}`).toBe(true);
          return;
        }
        expect(Math.abs(got - v), `${s.key} pixel ${p}: ${got} vs ${v}`).toBeLessThanOrEqual(
          1e-5 * Math.max(1, Math.abs(v)),
        );
        expect(Math.abs((coverage.data[p] as number) - (w.coverage[p] as number))).toBeLessThanOrEqual(1e-5);
        if (Math.abs(v - Math.round(v * 10) / 10) > 1e-3) mixed++;
        all.push(got);
        bySplit[meta.split]?.push(got);
      });
      expect(meta.labels['classes']).toBeUndefined();
      expect((meta.labels['regression'] as { pixels: number }).pixels).toBe(
        value.data.filter((x) => !Number.isNaN(x)).length,
      );
    }
    expect(mixed).toBeGreaterThan(20);
    // The manifest's values are those of the written pixels.
    const summary = (xs: number[]) => ({
      pixels: xs.length,
      min: xs.length ? Math.min(...xs) : null,
      max: xs.length ? Math.max(...xs) : null,
    });
    expect(reg.values.all).toMatchObject({ samples: samples.length, ...summary(all) });
    expect(reg.values.all.mean).toBeCloseTo(all.reduce((a, b) => a + b, 0) / all.length, 9);
    for (const split of ['train', 'validation', 'test'] as const) {
      expect(reg.values[split]).toMatchObject({
        samples: manifest.splits[split].samples,
        ...summary(bySplit[split] as number[]),
      });
    }
    pythonLoader('test_targets.RegressionDatasetTest', { SATFACTORY_TEST_REGRESSION: root });
    console.info(
      `regression: ${samples.length} samples, ${all.length} pixels with a value, ${mixed} weighted over 2+ values; ${JSON.stringify(reg.values.all)}`,
    );
  });

  it('bigearthnet-19: the official table, CLC codes mapped, dropped classes counted, multilabel and .cls from union areas', async () => {
    const ben = JSON.parse(readFileSync(path.join(fixturesRoot(), BEN), 'utf8')) as {
      labels43: { clc_code: number; bigearthnet19_index: number | null }[];
      labels19: { index19: number; label: string }[];
    };
    const index19 = new Map(ben.labels43.map((l) => [l.clc_code, l.bigearthnet19_index]));
    const features = parcels.features.map((f, i) => {
      const clc = i === 5 ? 999 : (CLC_OF_LAND_USE[f.properties['land_use_id'] as number] as number);
      // Half the codes as text, as CSV or some exports write them.
      return { ...f, properties: { ...f.properties, clc: i % 2 === 0 ? clc : String(clc) } };
    });
    const source = path.join(dir, 'clc.geojson');
    await writeFile(source, JSON.stringify({ ...parcels, features }));
    const { manifest, samples, log, root } = await runJob(dir, 'targets-ben19', {
      source,
      classProperty: 'clc',
      nomenclature: 'bigearthnet-19',
      resolution: 60,
      outputs: ['labels', 'multilabel', 'cls'],
      multilabel: { minFraction: 0.02 },
    });
    const classes = manifest.classes as NonNullable<Manifest['classes']>;
    expect(classes.origin).toBe('nomenclature');
    expect(classes.nomenclature).toBe('bigearthnet-19');
    expect(classes.table.map((c) => [c.id, c.index, c.name])).toEqual(
      [...ben.labels19].sort((a, b) => a.index19 - b.index19).map((l) => [l.index19, l.index19, l.label]),
    );
    expect(classes.backgroundIs).toBe('ignore');
    // Rejects are counted and logged, one line each.
    const airports = features.filter(
      (f) => f.properties['clc'] === 124 || f.properties['clc'] === '124',
    ).length;
    expect(airports).toBeGreaterThan(0);
    expect(classes.validation?.problems).toMatchObject({
      'no-bigearthnet19-class': airports,
      'not-clc-code': 1,
    });
    expect(log.filter((l) => l.problem === 'not-clc-code')).toEqual([
      expect.objectContaining({ index: 5, action: 'dropped' }),
    ]);
    expect(classes.validation?.kept).toBe(100 - airports - 1);

    const kept = features.flatMap((f) => {
      const i = index19.get(Number(f.properties['clc']));
      return i === null || i === undefined ? [] : [{ geometry: f.geometry, cls: i }];
    });
    const want = oracle(dir, kept, samples, 60, 16, false);
    let withCls = 0;
    let withoutCls = 0;
    for (const s of samples) {
      const meta = metaOf(s);
      const union = (want[s.key] as Oracle[string]).union;
      const hot = decodeNpy(member(s, 'multilabel.npy') as Uint8Array).data as Uint8Array;
      expect(hot.length).toBe(19);
      const present = Object.entries(union)
        .filter(([, a]) => a / 256 >= 0.02)
        .map(([c]) => Number(c))
        .sort((a, b) => a - b);
      expect(
        [...hot].flatMap((h, k) => (h ? [k] : [])),
        s.key,
      ).toEqual(present);
      const labels = decodeNpy(member(s, 'labels.npy') as Uint8Array).data as Uint16Array;
      for (const id of labels) expect(id <= 18 || id === 65_535).toBe(true);
      const ranked = Object.entries(union).sort(([, a], [, b]) => b - a);
      const cls = member(s, 'cls');
      if (ranked.length === 0) {
        expect(cls).toBeUndefined();
        expect(meta.labels['cls']).toBeNull();
        withoutCls++;
        continue;
      }
      const text = Buffer.from(cls as Uint8Array).toString('ascii');
      expect(text).toMatch(/^\d+$/);
      expect(meta.labels['cls']).toBe(Number(text));
      const [best, area] = ranked[0] as [string, number];
      if (ranked.length === 1 || area - (ranked[1]?.[1] as number) > 1e-6)
        expect(Number(text), s.key).toBe(Number(best));
      withCls++;
    }
    console.info(
      `bigearthnet-19: ${samples.length} samples, ${withCls} with a .cls, ${withoutCls} covered by no kept class`,
    );
    expect(withCls).toBeGreaterThan(10);
    pythonLoader('test_targets.ClsDatasetTest', { SATFACTORY_TEST_CLS: root });
  });
});
