// Points and lines as labels through the whole job on the local runtime (issue 13): the real
// Croatian ARKOD parcels (EPSG:3765) turned by shapely into one mixed file (derive_geometries.py:
// a third polygons, a third centroids, some as MultiPoints, a third parcel boundaries as lines),
// over the real Sentinel-2 COGs of Croatia (120 m), labels at 30 m. Points are discs of 40 m, lines
// 20 m wide. Checked against GDAL/PROJ + shapely: the label and coverage arrays (footprints built by
// shapely after reprojection), every vector.json object (pixel coordinates from the sample's
// geotransform, class, properties, clipped), and the books: every kept feature in a sample or logged.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
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

const FIXTURE = 'sentinel2/earthsearch_v1_timeseries_T33TWL_2023-08_croatia_120m';
const PARCELS_FILE = 'labels/parcels_hr_arkod_2024_sample_EPSG3765.geojson';
const ASSETS: Record<string, string> = { red: 'B04', nir: 'B08', scl: 'SCL' };
const INTEROP = path.resolve(import.meta.dirname, '../interop');
const RADIUS = 40;
const WIDTH = 20;
const PROPERTIES = ['home_name', 'area'];

const suite = requireFixture(FIXTURE, PARCELS_FILE) && requirePython(['shapely']) ? describe : describe.skip;

type Meta = {
  epsg: number;
  bounds: [number, number, number, number];
  transform: number[];
  labels: { size: number; resolution: number; instances: Record<string, unknown> };
};
type LogEntry = { index: number; problem: string; action: string };
type VectorDoc = {
  resolution: number;
  size: number;
  transform: number[];
  objects: { instance: number; geometry: { type: string; coordinates: unknown }; clipped: boolean }[];
};

const member = (s: ShardSample, name: string) => s.members.find((m) => m.name === name)?.data as Uint8Array;
const kindOf = (i: number) => (i % 3 === 0 ? 'polygon' : i % 3 === 1 ? 'point' : 'line');

suite('points, lines and polygons in one file, end to end (Croatian parcels, 30 m labels)', () => {
  let server: RangeServer;
  let dir: string;
  let mixed: string;
  let manifest: Manifest;
  let samples: ShardSample[];
  let metas: Meta[];
  let log: LogEntry[];
  let source: GeoJSON.FeatureCollection;
  let datasetDir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-geometry-e2e-'));
    mixed = path.join(dir, 'mixed.geojson');
    const derive = spawnSync(
      PYTHON,
      [path.join(INTEROP, 'derive_geometries.py'), path.join(fixturesRoot(), PARCELS_FILE), mixed],
      { encoding: 'utf8' },
    );
    expect(derive.stderr).toBe('');
    source = JSON.parse(readFileSync(mixed, 'utf8')) as GeoJSON.FeatureCollection;
    const root = path.join(fixturesRoot(), FIXTURE);
    server = await startRangeServer({ root });
    await writeFixtureItems(root, server, dir, ASSETS);
    const job = {
      name: 'objects',
      catalog: { kind: 'static', source: 'items.json' },
      aoi: 'labels',
      period: { start: '2023-08-01', end: '2023-08-31' },
      selection: { maxCloudCover: 60, maxDates: 2, minAoiCoverage: 0 },
      bands: ['red', 'nir'],
      windows: { size: 8, stride: 8, where: 'labels' },
      labels: {
        source: 'mixed.geojson',
        classProperty: 'land_use_id',
        idProperty: 'jpaid',
        resolution: 30,
        points: { rasterize: 'disc', radius: RADIUS },
        lines: { width: WIDTH },
        properties: PROPERTIES,
        outputs: ['labels', 'instances', 'coverage', 'multilabel', 'vector'],
      },
      splits: { method: 'random', train: 0.6, validation: 0.2, test: 0.2, seed: 3 },
      output: { uri: 'out/objects' },
    };
    const file = path.join(dir, 'objects.json');
    await writeFile(file, JSON.stringify(job));
    const prepared = await prepareJob(file);
    const workUri = workUriOf(prepared.job);
    const ctx = createLocalContext({ workUri, log: silentLog });
    await runJobLocally({ ...prepared, workUri, ctx, progress: noProgress, threads: 2 });
    datasetDir = prepared.job.output.uri;
    const store = new FsBlobStore(prepared.job.output.uri);
    expect((await verifyDataset(store)).problems).toEqual([]);
    manifest = JSON.parse(
      Buffer.from((await store.get('manifest.json')) as Uint8Array).toString(),
    ) as Manifest;
    samples = [];
    for (const shard of manifest.shards)
      samples.push(...(await readShard((await store.get(shard.path)) as Uint8Array)));
    metas = samples.map((s) => JSON.parse(Buffer.from(member(s, 'json')).toString()) as Meta);
    log = Buffer.from((await store.get('labels-log.jsonl')) as Uint8Array)
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LogEntry);
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps points and lines, burns them, and the books balance with nothing lost silently', () => {
    const validation = manifest.classes?.validation;
    expect(validation?.read).toBe(100);
    expect(validation?.problems['unsupported-geometry']).toBeUndefined();
    const dropped = new Set(log.filter((e) => e.action === 'dropped').map((e) => e.index));
    expect(validation?.kept).toBe(100 - dropped.size);
    const accounting = validation?.accounting as NonNullable<NonNullable<typeof validation>['accounting']>;
    const unsampled = Object.values(accounting.unsampled).reduce((n, k) => n + k, 0);
    expect(accounting.inSamples + unsampled).toBe(accounting.kept);
    // In a sample = owns a label pixel: the instance maps say which.
    const inSamples = new Set<number>();
    for (const s of samples)
      for (const v of decodeNpy(member(s, 'instances.npy')).data as Uint32Array) if (v) inSamples.add(v - 1);
    expect(inSamples.size).toBe(accounting.inSamples);
    const logged = log.filter((e) => e.action === 'unsampled').map((e) => e.index);
    expect(logged).toHaveLength(unsampled);
    expect(new Set([...inSamples, ...logged, ...dropped]).size).toBe(100);
    // Each kind owns pixels: points (discs), lines (buffers), polygons.
    const kinds = [...inSamples].map(kindOf);
    for (const k of ['point', 'line', 'polygon'])
      expect(kinds.filter((x) => x === k).length).toBeGreaterThan(5);
  });

  it('labels and coverage equal GDAL/PROJ + shapely footprints (disc buffer, line buffer)', (ctx) => {
    if (!requirePython(['rasterio', 'shapely'])) return ctx.skip();
    const request = {
      src_crs: 'EPSG:3765',
      dst_crs: `EPSG:${metas[0]?.epsg}`,
      background: 0,
      features: source.features.map((f, i) => ({
        geometry: f.geometry,
        cls: f.properties?.['land_use_id'],
        ...(kindOf(i) === 'point' ? { buffer: { kind: 'disc', r: RADIUS } } : {}),
        ...(kindOf(i) === 'line' ? { buffer: { kind: 'line', r: WIDTH / 2 } } : {}),
      })),
      windows: samples.map((s, i) => ({
        key: s.key,
        x0: metas[i]?.bounds[0],
        y1: metas[i]?.bounds[3],
        px: 30,
        size: 32,
      })),
    };
    const file = path.join(dir, 'oracle.json');
    writeFileSync(file, JSON.stringify(request));
    const run = spawnSync(PYTHON, [path.join(INTEROP, 'label_oracle.py'), file], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    expect(run.stderr).toBe('');
    const oracle = JSON.parse(run.stdout) as Record<string, { labels: number[]; coverage: number[] }>;
    let mismatches = 0;
    let total = 0;
    let maxCoverageDiff = 0;
    for (const s of samples) {
      const want = oracle[s.key] as { labels: number[]; coverage: number[] };
      const labels = decodeNpy(member(s, 'labels.npy')).data as Uint16Array;
      const coverage = decodeNpy(member(s, 'coverage.npy')).data as Float32Array;
      for (let p = 0; p < labels.length; p++) {
        total++;
        if (labels[p] !== want.labels[p]) mismatches++;
        maxCoverageDiff = Math.max(
          maxCoverageDiff,
          Math.abs((coverage[p] as number) - (want.coverage[p] as number)),
        );
      }
    }
    // proj4 vs PROJ (millimetres) and GEOS's line simplification (README): well under a pixel's 1e-3.
    console.log(
      `labels: ${mismatches} of ${total} pixels differ; max coverage difference ${maxCoverageDiff.toExponential(2)}`,
    );
    expect(maxCoverageDiff).toBeLessThan(2e-3);
    expect(mismatches / total).toBeLessThan(1e-3);
  });

  it('vector.json: every object meeting the window, in pixel coordinates of the label grid', (ctx) => {
    if (!requirePython(['rasterio', 'shapely'])) return ctx.skip();
    const docs = samples.map(
      (s) => JSON.parse(Buffer.from(member(s, 'vector.json')).toString()) as VectorDoc,
    );
    docs.forEach((d, i) => {
      const m = metas[i] as Meta;
      expect(d.size).toBe(32);
      expect(d.resolution).toBe(30);
      // The label grid's geotransform: the sample's origin, the label pixel.
      expect(d.transform).toEqual([m.transform[0], 30, 0, m.transform[3], 0, -30]);
    });
    const request = {
      src_crs: 'EPSG:3765',
      properties: PROPERTIES,
      features: source.features.map((f, i) => ({
        geometry: f.geometry,
        cls: f.properties?.['land_use_id'],
        properties: f.properties,
        ...(kindOf(i) === 'point' ? { buffer: { kind: 'disc', r: RADIUS } } : {}),
        ...(kindOf(i) === 'line' ? { buffer: { kind: 'line', r: WIDTH / 2 } } : {}),
      })),
      samples: samples.map((s, i) => ({
        key: s.key,
        epsg: metas[i]?.epsg,
        x0: metas[i]?.transform[0],
        y1: metas[i]?.transform[3],
        res: 30,
        size: 32,
        objects: docs[i]?.objects,
      })),
    };
    const file = path.join(dir, 'vector-oracle.json');
    writeFileSync(file, JSON.stringify(request));
    const run = spawnSync(PYTHON, [path.join(INTEROP, 'vector_oracle.py'), file], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    expect(run.stderr).toBe('');
    const o = JSON.parse(run.stdout) as Record<string, number | unknown[]>;
    console.log(`vector.json: ${JSON.stringify(o)}`);
    expect(o['objects']).toBeGreaterThan(samples.length);
    // proj4 and PROJ agree to millimetres: 1e-4 of a 30 m pixel.
    expect(o['point_diff']).toBeLessThan(1e-4);
    expect(o['line_diff']).toBeLessThan(1e-4);
    expect(o['polygon_symdiff']).toBeLessThan(1e-5);
    for (const k of ['missing', 'extra', 'clipped_wrong', 'class_wrong', 'props_wrong'])
      expect(o[k]).toEqual([]);
    // Objects of all three kinds, and some clipped at the window's edge.
    const all = docs.flatMap((d) => d.objects);
    const types = new Set(all.map((x) => x.geometry.type.replace('Multi', '')));
    expect([...types].sort()).toEqual(['LineString', 'Point', 'Polygon']);
    expect(all.some((x) => x.clipped)).toBe(true);
    expect(all.some((x) => !x.clipped)).toBe(true);
  });

  it('the Python loader reads vector.json, and resample keeps it on the label grid', (ctx) => {
    if (!requirePython(['numpy'])) return ctx.skip();
    const script = [
      'import json, sys',
      'import satfactory_data as sd',
      'ds = sd.open_dataset(sys.argv[1])',
      'out = {}',
      'for split in ds.splits:',
      '    for s in ds.samples(split):',
      '        r = sd.resample(s, resolution=60.0)',
      '        out[s["__key__"]] = [s["vector"], r["vector"], list(r["labels"].shape)]',
      'json.dump(out, sys.stdout)',
    ].join('\n');
    const run = spawnSync(PYTHON, ['-c', script, datasetDir], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
      env: { ...process.env, PYTHONPATH: path.resolve(import.meta.dirname, '../../python') },
    });
    expect(run.stderr).toBe('');
    const read = JSON.parse(run.stdout) as Record<string, [VectorDoc, VectorDoc, number[]]>;
    expect(Object.keys(read).sort()).toEqual(samples.map((s) => s.key).sort());
    for (const s of samples) {
      const [doc, coarse, shape] = read[s.key] as [VectorDoc, VectorDoc, number[]];
      expect(doc).toEqual(JSON.parse(Buffer.from(member(s, 'vector.json')).toString()));
      // 30 m -> 60 m: the labels are 16 x 16, every coordinate halved.
      expect(shape).toEqual([16, 16]);
      expect(coarse.size).toBe(16);
      expect(coarse.resolution).toBe(60);
      const flat = (g: unknown): number[] => (Array.isArray(g) ? g.flatMap(flat) : [g as number]);
      coarse.objects.forEach((o, i) => {
        const was = flat(doc.objects[i]?.geometry.coordinates);
        const now = flat(o.geometry.coordinates);
        expect(now).toHaveLength(was.length);
        now.forEach((v, k) => {
          expect(v).toBeCloseTo((was[k] as number) / 2, 12);
        });
      });
    }
  });
});
