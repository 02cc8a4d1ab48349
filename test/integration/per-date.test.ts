// Single-date samples and quicklooks on real Sentinel-2 (Croatia, 5 dates at 120 m, real SCL with
// clouds, shadows and some snow), over real Croatian parcels (labels at 30 m). Oracles: rasterio
// reads of each date's window and numpy counts of its SCL pixels (test/interop/per_date_oracle.py),
// the train statistics with numpy (stats_oracle.py), the PNGs decoded and each pixel recomputed here
// from the arrays and the manifest's p2/p98 with the README's formula.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { main } from '../../shared/cli/main.ts';
import { prepareJob, workUriOf } from '../../shared/cli/prepare-job.ts';
import { verifyDataset } from '../../shared/dataset/verify.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { decodeNpy } from '../../shared/domain/npy.ts';
import { readShard, type ShardSample } from '../../shared/domain/shard.ts';
import { noProgress, silentLog } from '../../shared/ports.ts';
import { createLocalContext } from '../../shared/runtime/local-context.ts';
import { runJobLocally } from '../../shared/runtime/run-job.ts';
import { type RangeServer, startRangeServer, writeFixtureItems } from '../helpers/range-server.ts';
import { fixturesRoot, PYTHON, requireFixture, requirePython } from '../helpers/requirements.ts';
import { cliInProcess } from '../helpers/run-cli.ts';

const CROATIA = 'sentinel2/earthsearch_v1_timeseries_T33TWL_2023-08_croatia_120m';
const PARCELS_FILE = 'labels/parcels_hr_arkod_2024_sample_EPSG3765.geojson';
const ASSETS = { blue: 'B02', green: 'B03', red: 'B04', nir: 'B08', scl: 'SCL' };
const ORACLE = path.resolve(import.meta.dirname, '../interop/per_date_oracle.py');
const STATS_ORACLE = path.resolve(import.meta.dirname, '../interop/stats_oracle.py');
const MAX_CLOUDY = 0.2;
/** The default cloudy classes plus snow (11), which per-date mode counts by default. */
const CLOUDY = [3, 8, 9, 10, 11];
const ready = requireFixture(CROATIA, PARCELS_FILE) && requirePython(['numpy', 'rasterio']);

type Meta = {
  id: string;
  window: string;
  split: string;
  dates: string[];
  items: string[];
  cloudyFraction: number[] | null;
  validFraction: number[];
  groups: Record<string, { bands: string[]; shape: number[] }>;
  bands: Record<string, { scale: unknown; offset: unknown; nodata: number | null }>;
};
type Sample = { key: string; split: string; meta: Meta; members: Map<string, Uint8Array> };

const AOI = {
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
};

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
  const samples: Sample[] = [];
  for (const shard of manifest.shards) {
    for (const s of await readShard((await store.get(shard.path)) as Uint8Array))
      samples.push(sampleOf(s, shard.split));
  }
  return { manifest, root: prepared.job.output.uri, store, samples };
}

function sampleOf(s: ShardSample, split: string): Sample {
  const members = new Map(s.members.map((m) => [m.name, m.data]));
  const meta = JSON.parse(Buffer.from(members.get('json') as Uint8Array).toString()) as Meta;
  return { key: s.key, split, meta, members };
}

/** The README's stretch, written out again here: round(255 (v - p2) / (p98 - p2)) clipped to 0..255. */
function expectedChannel(v: number, p2: number, p98: number): number {
  const x = Math.round((255 * (v - p2)) / (p98 - p2));
  return x <= 0 ? 0 : x > 255 ? 255 : x;
}

/**
 * Checks every pixel of a sample's PNG: size = frames x window, outline pixels yellow (a label pixel
 * under the frame pixel differs from its right or lower neighbour), the others the stretch of the
 * band values (black where a band is nodata). Returns how many pixels of each kind were checked.
 */
function checkQuicklook(s: Sample, manifest: Manifest): { stretched: number; outline: number } {
  const png = decode(s.members.get('png') as Uint8Array);
  const group = Object.entries(s.meta.groups).find(([, g]) => g.bands.includes('red')) as [
    string,
    { bands: string[] },
  ];
  const arr = decodeNpy(s.members.get(`${group[0]}.npy`) as Uint8Array);
  const [T, C, S] = arr.shape as [number, number, number];
  expect([png.width, png.height, png.channels, png.depth]).toEqual([T * S, S, 3, 8]);
  const labels = s.members.get('labels.npy') ? decodeNpy(s.members.get('labels.npy') as Uint8Array) : null;
  // The label of a frame pixel: the label pixel at its centre; outline where it differs from the
  // right or lower neighbour's.
  const onOutline = (y: number, x: number): boolean => {
    if (!labels) return false;
    const [H] = labels.shape as [number, number];
    const k = H / S;
    const L = labels.data as Uint16Array;
    const at = (yy: number, xx: number) => L[(yy * k + Math.floor(k / 2)) * H + xx * k + Math.floor(k / 2)];
    return (x + 1 < S && at(y, x + 1) !== at(y, x)) || (y + 1 < S && at(y + 1, x) !== at(y, x));
  };
  const counts = { stretched: 0, outline: 0 };
  const stats = manifest.stats.bands;
  const data = arr.data as Uint16Array;
  for (let t = 0; t < T; t++) {
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const o = (y * png.width + t * S + x) * 3;
        const got = [png.data[o], png.data[o + 1], png.data[o + 2]];
        if (onOutline(y, x)) {
          expect(got).toEqual([255, 255, 0]);
          counts.outline++;
          continue;
        }
        const want = ['red', 'green', 'blue'].map((b) => {
          const c = group[1].bands.indexOf(b);
          const v = data[((t * C + c) * S + y) * S + x] as number;
          const st = stats[b] as { p2: number; p98: number };
          return { v, ch: expectedChannel(v, st.p2, st.p98) };
        });
        const blank = want.some(
          (w, i) => w.v === s.meta.bands[['red', 'green', 'blue'][i] as string]?.nodata,
        );
        expect(got, `${s.key} frame ${t} (${x}, ${y})`).toEqual(blank ? [0, 0, 0] : want.map((w) => w.ch));
        counts.stretched++;
      }
    }
  }
  return counts;
}

type OracleAnswer = {
  written: string[];
  rejected: Record<string, string>;
  snowDecided: string[];
  cloudy: Record<string, number>;
  checked: number;
  mismatches: unknown[];
};

/**
 * A per-date dataset against per_date_oracle.py: the samples written and the reasons of the
 * rejects are what numpy decides from the SCL pixels; arrays and SCL equal rasterio's reads.
 */
function oracleCheck(root: string, samples: Sample[]): OracleAnswer {
  const fixture = path.join(fixturesRoot(), CROATIA);
  const run = spawnSync(
    PYTHON,
    [ORACLE, root, fixture, JSON.stringify({ assets: ASSETS, cloudy: CLOUDY, max: MAX_CLOUDY })],
    { encoding: 'utf8', maxBuffer: 1 << 28 },
  );
  if (run.status !== 0) throw new Error(`per_date_oracle.py failed: ${run.stderr}`);
  const want = JSON.parse(run.stdout) as OracleAnswer;
  expect(want.mismatches).toEqual([]);
  // Every group and the SCL of every sample compared.
  expect(want.checked).toBe(samples.length * 2);
  // Written exactly where numpy finds some valid pixel and at most 20 % cloud, shadow or snow.
  expect(samples.map((s) => s.key).sort()).toEqual(want.written);
  const rejects = readFileSyncOf(root, 'rejects.jsonl')
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { key: string; reason: string; date: string });
  expect(Object.fromEntries(rejects.map((r) => [r.key, r.reason]))).toEqual(want.rejected);
  for (const r of rejects) expect(r.key.endsWith(r.date.slice(0, 10).replaceAll('-', ''))).toBe(true);
  // The cloudy share in every .json is numpy's, for that date only.
  for (const s of samples) {
    expect(s.meta.cloudyFraction).toEqual([Math.round((want.cloudy[s.key] as number) * 1e4) / 1e4]);
    expect(s.meta.dates).toHaveLength(1);
    expect(s.meta.items).toHaveLength(1);
    expect(s.key).toBe(`${s.meta.window}_${(s.meta.dates[0] as string).slice(0, 10).replaceAll('-', '')}`);
    for (const g of Object.values(s.meta.groups)) expect(g.shape[0]).toBe(1);
  }
  console.info(
    `per-date ${path.basename(root)}: ${samples.length} written, ${rejects.length} rejected (${want.snowDecided.length} by snow alone), ${want.checked} arrays equal rasterio's`,
  );
  return want;
}

describe.skipIf(!ready)('per-date samples and quicklooks (Croatia, 5 dates, parcels)', () => {
  let server: RangeServer;
  let dir: string;
  let manifest: Manifest;
  let root: string;
  let store: FsBlobStore;
  let samples: Sample[];
  const fixture = path.join(fixturesRoot(), CROATIA);

  beforeAll(async () => {
    server = await startRangeServer({ root: fixture });
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-per-date-'));
    await writeFixtureItems(fixture, server, dir, ASSETS);
    ({ manifest, root, store, samples } = await runJob(dir, {
      name: 'per-date',
      catalog: { kind: 'static', source: 'items.json' },
      aoi: 'labels',
      period: { start: '2023-08-01', end: '2023-08-31' },
      selection: { maxCloudCover: 100 },
      samples: 'per-date',
      bands: ['blue', 'green', 'red', 'nir'],
      windows: { size: 8, stride: 8, where: 'labels' },
      labels: {
        source: path.join(fixturesRoot(), PARCELS_FILE),
        classProperty: 'land_use_id',
        idProperty: 'jpaid',
        resolution: 30,
        outputs: ['labels', 'instances'],
      },
      clouds: { mask: 'scl', maxCloudyFraction: MAX_CLOUDY },
      splits: { method: 'random', train: 0.6, validation: 0.2, test: 0.2, seed: 5 },
      output: { uri: 'out/per-date', shardBytes: 100_000, minShardsPerSplit: 2, quicklooks: true },
    }));
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes [1, C, H, W] samples keyed <window>_<yyyymmdd>, equal to rasterio reads of that date', () => {
    const want = oracleCheck(root, samples);
    expect(samples.length).toBeGreaterThan(20);
    expect(Object.values(want.rejected).filter((r) => r === 'too-cloudy').length).toBeGreaterThan(20);
  });

  it('rejects a date covered by snow like one covered by cloud (SCL 11 counted, by numpy too)', async () => {
    // Where the scene's snow pixels lie: three (window, date) pairs whose cloud + shadow share is
    // at most 20 % but whose cloud + shadow + snow share is above it.
    const snowJob = {
      name: 'per-date-snow',
      catalog: { kind: 'static', source: 'items.json' },
      aoi: {
        ...AOI,
        coordinates: [
          [
            [15.36, 45.32],
            [15.55, 45.32],
            [15.55, 45.39],
            [15.36, 45.39],
            [15.36, 45.32],
          ],
        ],
      },
      period: { start: '2023-08-01', end: '2023-08-31' },
      selection: { maxCloudCover: 100 },
      samples: 'per-date',
      bands: ['red', 'nir'],
      windows: { size: 8, stride: 8 },
      clouds: { mask: 'scl', maxCloudyFraction: MAX_CLOUDY },
      splits: { method: 'random', train: 0.6, validation: 0.2, test: 0.2, seed: 5 },
      output: { uri: 'out/per-date-snow' },
    };
    const snow = await runJob(dir, snowJob);
    const want = oracleCheck(snow.root, snow.samples);
    // The dry run announces as many per-date samples as the run planned.
    const planFile = path.join(dir, 'per-date-plan.json');
    await writeFile(planFile, JSON.stringify({ ...snowJob, output: { uri: 'out/per-date-plan' } }));
    const plan = await cliInProcess(['plan', planFile]);
    expect(plan.code, plan.err).toBe(0);
    expect(plan.out).toContain(
      `samples    per-date: ${snow.manifest.totals.planned} planned (windows x dates)`,
    );
    expect(want.snowDecided.length).toBeGreaterThanOrEqual(3);
    for (const key of want.snowDecided) expect(want.rejected[key]).toBe('too-cloudy');
    expect(snow.manifest.totals.rejectedByReason?.['too-cloudy']).toBe(
      Object.values(want.rejected).filter((r) => r === 'too-cloudy').length,
    );
  });

  it('counts per-date samples in the manifest, keeps a window in one split, labels alike on every date', async () => {
    const T = manifest.grid.tiles[0]?.dates.length as number;
    expect(T).toBe(5);
    const windows = new Set<string>();
    for (const line of readFileSyncOf(root, 'rejects.jsonl').toString().split('\n').filter(Boolean)) {
      windows.add((JSON.parse(line) as { key: string }).key.slice(0, -9));
    }
    for (const s of samples) windows.add(s.meta.window);
    expect(manifest.totals.planned).toBe(windows.size * T);
    expect(manifest.totals.written).toBe(samples.length);
    expect(manifest.totals.planned).toBe(manifest.totals.written + manifest.totals.rejected);
    expect(manifest.scl?.cloudyClasses).toEqual(CLOUDY);
    expect(manifest.stats.excludedScl).toEqual(CLOUDY);
    const byWindow = new Map<string, Sample[]>();
    for (const s of samples) byWindow.set(s.meta.window, [...(byWindow.get(s.meta.window) ?? []), s]);
    let shared = 0;
    for (const [, dates] of byWindow) {
      expect(new Set(dates.map((s) => s.split)).size).toBe(1);
      expect(new Set(dates.map((s) => s.meta.split)).size).toBe(1);
      const first = dates[0] as Sample;
      for (const s of dates.slice(1)) {
        expect(
          Buffer.compare(
            s.members.get('labels.npy') as Uint8Array,
            first.members.get('labels.npy') as Uint8Array,
          ),
        ).toBe(0);
        expect(
          Buffer.compare(
            s.members.get('instances.npy') as Uint8Array,
            first.members.get('instances.npy') as Uint8Array,
          ),
        ).toBe(0);
        shared++;
      }
    }
    expect(shared).toBeGreaterThan(10);
    // Class frequencies count every written sample (each date carries the window's labels).
    const classSamples = (manifest.classes?.splits?.train ?? []).reduce((n, c) => Math.max(n, c.samples), 0);
    expect(classSamples).toBeLessThanOrEqual(manifest.splits.train.samples);
    expect((await verifyDataset(store)).problems).toEqual([]);
    const card = readFileSyncOf(root, 'README.md').toString();
    expect(card).toContain('Single-date Sentinel-2 patches');
    expect(card).toContain('[1, C, H, W]');
    expect(card).toContain('`<key>.png` (true-colour quicklook)');
    // Python's own reading (tarfile, numpy, the PNG header) finds nothing wrong nor unknown.
    const py = spawnSync(PYTHON, [path.resolve(import.meta.dirname, '../interop/read_shards.py'), root], {
      encoding: 'utf8',
    });
    expect(py.status, py.stderr).toBe(0);
    const report = JSON.parse(py.stdout);
    expect([report.problems, report.warnings]).toEqual([[], []]);
    expect(report.members['png'].count).toBe(samples.length);
  });

  it('train statistics over the per-date samples equal numpy, cloud, shadow and snow pixels left out', () => {
    const run = spawnSync(PYTHON, [STATS_ORACLE, root, CLOUDY.join(',')], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    if (run.status !== 0) throw new Error(`stats_oracle.py failed: ${run.stderr}`);
    const want = JSON.parse(run.stdout) as { samples: number; bands: Manifest['stats']['bands'] };
    expect(want.samples).toBe(manifest.splits.train.samples);
    for (const [band, w] of Object.entries(want.bands)) {
      const got = manifest.stats.bands[band];
      expect([got?.count, got?.min, got?.max, got?.p2, got?.p50, got?.p98], band).toEqual([
        w.count,
        w.min,
        w.max,
        w.p2,
        w.p50,
        w.p98,
      ]);
    }
  });

  it('gives every sample a PNG quicklook stretched by the train p2/p98, parcels outlined', () => {
    const channels = manifest.quicklooks?.channels ?? [];
    expect(channels.map((c) => [c.band, c.low, c.high, c.from])).toEqual(
      ['red', 'green', 'blue'].map((b) => [
        b,
        manifest.stats.bands[b]?.p2,
        manifest.stats.bands[b]?.p98,
        'stats-p2-p98',
      ]),
    );
    const total = { stretched: 0, outline: 0 };
    for (const s of samples) {
      const c = checkQuicklook(s, manifest);
      total.stretched += c.stretched;
      total.outline += c.outline;
    }
    expect(total.outline).toBeGreaterThan(50);
    expect(total.stretched).toBeGreaterThan(1000);
  });

  it('the Python reference reader reads per-date samples: [1, C, H, W] arrays, the PNG as bytes, stack batches them', () => {
    const script = `
import json, sys
sys.path.insert(0, sys.argv[1])
import satfactory_data as sd
ds = sd.open_dataset(sys.argv[2])
out = {"samples": 0, "shapes": set(), "png": 0, "windows": set()}
batch = []
for split in ds.splits:
    for s in ds.samples(split, equalize=None):
        out["samples"] += 1
        out["shapes"].add(tuple(s["120m"].shape[:2]))
        out["png"] += s["png"][:8] == b"\\x89PNG\\r\\n\\x1a\\n"
        out["windows"].add(s["json"]["window"])
        if len(batch) < 4:
            batch.append(s)
b = sd.stack(batch)
print(json.dumps({"samples": out["samples"], "shapes": sorted(out["shapes"]), "png": out["png"],
    "windows": len(out["windows"]), "batch": list(b["120m"].shape), "time_mask": b["time_mask"].tolist()}))
`;
    const run = spawnSync(PYTHON, ['-c', script, path.resolve(import.meta.dirname, '../../python'), root], {
      encoding: 'utf8',
    });
    if (run.status !== 0) throw new Error(`python reader failed: ${run.stderr}`);
    const got = JSON.parse(run.stdout);
    expect(got).toEqual({
      samples: samples.length,
      shapes: [[1, 4]],
      png: samples.length,
      windows: new Set(samples.map((s) => s.meta.window)).size,
      batch: [4, 1, 4, 8, 8],
      time_mask: [[true], [true], [true], [true]],
    });
  });

  it('satfactory show draws a contact sheet of a split, and a window with all its dates', async () => {
    const sheet = path.join(dir, 'sheet.png');
    expect(await main(['show', root, '--split', 'train', '--n', '5', '-o', sheet], silentLog)).toBe(0);
    const png = decode(await readFile(sheet));
    // 5 cells of one 8 px frame, zoom 8 (64 px); captions of 24 characters: 24·4 - 1 = 95 cells of
    // 2 px = 190 px wide; 3 columns, 2 rows, 8 px gaps; rows 64 + 14 px high.
    expect([png.width, png.height]).toEqual([3 * 190 + 4 * 8, 2 * (64 + 14) + 3 * 8]);
    const window = (samples[0] as Sample).meta.window;
    const dates = samples.filter((s) => s.meta.window === window).length;
    const one = path.join(dir, 'window.png');
    expect(await main(['show', root, window, '-o', one], silentLog)).toBe(0);
    const w = decode(await readFile(one));
    const cols = Math.ceil(Math.sqrt(dates));
    expect([w.width, w.height]).toEqual([
      cols * 190 + (cols + 1) * 8,
      Math.ceil(dates / cols) * 78 + (Math.ceil(dates / cols) + 1) * 8,
    ]);
    expect(await main(['show', root, 'nosuchkey', '-o', one], silentLog)).toBe(2);
  });
});

function readFileSyncOf(root: string, name: string): Buffer {
  return readFileSync(path.join(root, name));
}

describe.skipIf(!requireFixture(CROATIA))('quicklooks of time series, and show without quicklooks', () => {
  let server: RangeServer;
  let dir: string;
  const fixture = path.join(fixturesRoot(), CROATIA);

  beforeAll(async () => {
    server = await startRangeServer({ root: fixture });
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-quicklooks-'));
    await writeFixtureItems(fixture, server, dir, ASSETS);
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const job = (name: string, output: Record<string, unknown>) => ({
    name,
    catalog: { kind: 'static', source: 'items.json' },
    aoi: AOI,
    period: { start: '2023-08-01', end: '2023-08-31' },
    selection: { maxCloudCover: 100 },
    bands: ['blue', 'green', 'red'],
    windows: { size: 12, stride: 12 },
    clouds: { mask: 'scl', maxCloudyFraction: 1 },
    splits: { method: 'random', train: 0.5, validation: 0.25, test: 0.25, seed: 2 },
    output: { uri: `out/${name}`, ...output },
  });

  it('a series sample gets one frame per date side by side; show renders the same from the arrays', async () => {
    const withPng = await runJob(dir, job('series-ql', { quicklooks: true }));
    const T = withPng.manifest.grid.tiles[0]?.dates.length as number;
    expect(T).toBe(5);
    // Snow is not cloudy in series mode unless the job says so.
    expect(withPng.manifest.scl?.cloudyClasses).toEqual([3, 8, 9, 10]);
    let outline = 0;
    for (const s of withPng.samples) outline += checkQuicklook(s, withPng.manifest).outline;
    expect(outline).toBe(0);
    expect(withPng.samples.length).toBeGreaterThan(10);
    expect((await verifyDataset(withPng.store)).problems).toEqual([]);

    // The same job without quicklooks: show draws the same pictures from the arrays.
    const plain = await runJob(dir, job('series-plain', {}));
    expect(plain.samples.every((s) => !s.members.has('png'))).toBe(true);
    const key = (withPng.samples[0] as Sample).key;
    const a = path.join(dir, 'a.png');
    const b = path.join(dir, 'b.png');
    expect(await main(['show', withPng.root, key, '-o', a], silentLog)).toBe(0);
    expect(await main(['show', plain.root, key, '-o', b], silentLog)).toBe(0);
    const pa = decode(await readFile(a));
    const pb = decode(await readFile(b));
    // 5 frames of 12 px at zoom 5 (60 px), captions yyyymmdd (8 characters, 62 px): 3 columns, 2 rows.
    expect([pa.width, pa.height]).toEqual([3 * 62 + 4 * 8, 2 * (60 + 14) + 3 * 8]);
    expect(Buffer.compare(Buffer.from(pa.data), Buffer.from(pb.data))).toBe(0);
  });

  it('refuses quicklooks without red, green and blue at validation, naming the field', async () => {
    const bad = { ...job('no-blue', { quicklooks: true }), bands: ['red', 'green', 'nir'] };
    const file = path.join(dir, 'no-blue.json');
    await writeFile(file, JSON.stringify(bad));
    await expect(prepareJob(file)).rejects.toThrow(/\/output\/quicklooks: .*does not read blue/);
  });
});
