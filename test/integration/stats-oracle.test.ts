// manifest.stats equals numpy over the train split's cloud-free valid pixels, read back from the
// shards by test/interop/stats_oracle.py (tarfile + numpy, no satfactory code): counts, min, max
// and percentiles exactly, mean and std to 1e-9. Two real scenes: Croatia (5 dates, SCL at the
// bands' 120 m, random split) and 29RKH (bands at 100, 200 and 600 m over 200 m SCL, so the SCL
// matching of finer and coarser bands is exercised, and windows padded past the scene's east edge).
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { prepareJob, workUriOf } from '../../shared/cli/prepare-job.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { noProgress, silentLog } from '../../shared/ports.ts';
import { createLocalContext } from '../../shared/runtime/local-context.ts';
import { runJobLocally } from '../../shared/runtime/run-job.ts';
import { type RangeServer, startRangeServer, writeFixtureItems } from '../helpers/range-server.ts';
import { fixturesRoot, PYTHON, requireFixture, requirePython } from '../helpers/requirements.ts';

const ORACLE = path.resolve(import.meta.dirname, '../interop/stats_oracle.py');
const CROATIA = 'sentinel2/earthsearch_v1_timeseries_T33TWL_2023-08_croatia_120m';
const RKH = 'sentinel2/earthsearch_S2A_29RKH_20200219_L2A';
const CLOUDY = [3, 8, 9, 10];
const ready = requireFixture(CROATIA, RKH) && requirePython(['numpy']);

type Summary = Manifest['stats']['bands'][string];
type Oracle = {
  samples: number;
  padded: number;
  bands: Record<string, Summary>;
  allPixels: Record<string, number | null>;
};

function oracle(dataset: string, excluded: readonly number[]): Oracle {
  const run = spawnSync(PYTHON, [ORACLE, dataset, excluded.join(',')], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (run.status !== 0) throw new Error(`stats_oracle.py failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Oracle;
}

function expectSameStats(manifest: Manifest, want: Oracle): void {
  expect(Object.keys(manifest.stats.bands).sort()).toEqual(Object.keys(want.bands).sort());
  for (const [band, w] of Object.entries(want.bands)) {
    const got = manifest.stats.bands[band] as Summary;
    expect(got.count, band).toBe(w.count);
    expect([got.min, got.max, got.p1, got.p2, got.p50, got.p98, got.p99], band).toEqual([
      w.min,
      w.max,
      w.p1,
      w.p2,
      w.p50,
      w.p98,
      w.p99,
    ]);
    for (const field of ['mean', 'std'] as const) {
      const g = got[field] as number;
      const e = w[field] as number;
      expect(Math.abs(g - e) / Math.max(Math.abs(e), 1e-300), `${band}.${field}: ${g} vs ${e}`).toBeLessThan(
        1e-9,
      );
    }
  }
}

async function runJob(dir: string, job: Record<string, unknown>) {
  const file = path.join(dir, `${job['name']}.json`);
  await writeFile(file, JSON.stringify(job));
  const prepared = await prepareJob(file);
  const workUri = workUriOf(prepared.job);
  const ctx = createLocalContext({ workUri, log: silentLog });
  await runJobLocally({ ...prepared, workUri, ctx, progress: noProgress, threads: 2 });
  const store = new FsBlobStore(prepared.job.output.uri);
  const manifest = JSON.parse(
    Buffer.from((await store.get('manifest.json')) as Uint8Array).toString(),
  ) as Manifest;
  return { manifest, root: prepared.job.output.uri };
}

describe.skipIf(!ready)('manifest.stats against numpy over the train split', () => {
  let server: RangeServer;
  let dir: string;

  beforeAll(async () => {
    server = await startRangeServer({ root: fixturesRoot() });
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-stats-'));
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('Croatia, 5 dates with clouds: train only, cloudy SCL classes out, exactly numpy', async () => {
    const croatia = path.join(fixturesRoot(), CROATIA);
    const crServer = await startRangeServer({ root: croatia });
    try {
      const sub = await mkdtemp(path.join(dir, 'croatia-'));
      await writeFixtureItems(croatia, crServer, sub, {
        blue: 'B02',
        green: 'B03',
        red: 'B04',
        nir: 'B08',
        scl: 'SCL',
      });
      const { manifest, root } = await runJob(sub, {
        name: 'stats-croatia',
        catalog: { kind: 'static', source: 'items.json' },
        aoi: {
          type: 'Polygon',
          coordinates: [
            [
              [15.5, 45.22],
              [15.9, 45.22],
              [15.9, 45.4],
              [15.5, 45.4],
              [15.5, 45.22],
            ],
          ],
        },
        period: { start: '2023-08-01', end: '2023-08-31' },
        // Every date, the 69 % cloudy one included, and windows kept whatever their clouds.
        selection: { maxCloudCover: 100 },
        bands: ['blue', 'green', 'red', 'nir'],
        windows: { size: 8, stride: 8 },
        clouds: { mask: 'scl', maxCloudyFraction: 1 },
        splits: { method: 'random', train: 0.5, validation: 0.25, test: 0.25, seed: 11 },
        output: { uri: 'out/stats-croatia' },
      });
      expect(manifest.sources).toHaveLength(5);
      expect(manifest.stats).toMatchObject({
        split: 'train',
        dates: 'all',
        excludedScl: CLOUDY,
        units: 'stored',
        percentiles: 'linear',
      });
      const want = oracle(root, CLOUDY);
      expect(want.samples).toBe(manifest.splits.train.samples);
      expect(want.samples).toBeGreaterThan(20);
      expect(manifest.splits.validation.samples + manifest.splits.test.samples).toBeGreaterThan(10);
      expectSameStats(manifest, want);
      const blue = manifest.stats.bands['blue'] as Summary;
      console.info(
        `Croatia: ${want.samples} train samples; blue over cloud-free pixels ${JSON.stringify(blue)}; ` +
          `mean over all valid train pixels (clouds in): ${want.allPixels['blue']}`,
      );
      // The clouds matter here: leaving them in would move the mean far.
      expect((want.allPixels['blue'] as number) - (blue.mean as number)).toBeGreaterThan(100);
    } finally {
      await crServer.close();
    }
  });

  it('29RKH, bands at 100/200/600 m over 200 m SCL, windows padded past the edge: exactly numpy', async () => {
    const sub = await mkdtemp(path.join(dir, 'rkh-'));
    const id = 'S2A_29RKH_20200219_0_L2A';
    const item = JSON.parse(await readFile(path.join(fixturesRoot(), RKH, `${id}.json`), 'utf8'));
    const assets: Record<string, string> = { blue: 'B02', rededge1: 'B05', coastal: 'B01', scl: 'SCL' };
    for (const [key, file] of Object.entries(assets))
      item.assets[key].href = server.urlFor(`${RKH}/${file}.tif`);
    await writeFile(
      path.join(sub, 'items.json'),
      JSON.stringify({ type: 'FeatureCollection', features: [item] }),
    );
    const { manifest, root } = await runJob(sub, {
      name: 'stats-rkh',
      catalog: { kind: 'static', source: 'items.json' },
      // The scene's north-east corner, where the clouds are, reaching past its east edge.
      aoi: {
        type: 'Polygon',
        coordinates: [
          [
            [-11.03256, 25.06801],
            [-10.88095, 25.07001],
            [-10.88372, 25.25053],
            [-11.03556, 25.24852],
            [-11.03256, 25.06801],
          ],
        ],
      },
      period: { start: '2020-02-01', end: '2020-02-29' },
      bands: ['blue', 'rededge1', 'coastal'],
      windows: { size: 12, stride: 12, edge: 'pad' },
      clouds: { mask: 'scl', maxCloudyFraction: 1 },
      splits: { method: 'random', train: 0.6, validation: 0.2, test: 0.2, seed: 5 },
      output: { uri: 'out/stats-rkh' },
    });
    expect(manifest.bands.map((g) => g.group)).toEqual(['100m', '200m', '600m']);
    const want = oracle(root, CLOUDY);
    expect(want.samples).toBe(manifest.splits.train.samples);
    expect(want.samples).toBeGreaterThan(20);
    expect(want.padded).toBeGreaterThan(0);
    expectSameStats(manifest, want);
    const counts = Object.fromEntries(Object.entries(manifest.stats.bands).map(([b, s]) => [b, s.count]));
    console.info(
      `29RKH: ${want.samples} train samples (${want.padded} padded), counted pixels ${JSON.stringify(counts)}`,
    );
    // Clouds left out something in every band (the oracle without exclusions counts more).
    const unmasked = oracle(root, []);
    for (const band of ['blue', 'rededge1', 'coastal'])
      expect((unmasked.bands[band] as Summary).count).toBeGreaterThan((want.bands[band] as Summary).count);
  });
});
