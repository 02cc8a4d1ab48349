// The SatlasPretrain seed example (examples/satlas-objects.json) as a user runs it, offline on the
// fixtures: real Croatian parcels made into points, polylines and polygons with properties
// (scripts/make-satlas-example.ts) over the real Croatia Sentinel-2 scene, on web-mercator zoom-13
// tiles of 512 px. Oracles: the XYZ tile formulas for keys and geotransforms; GDAL/PROJ + shapely
// (label_oracle.py: reprojection, then discs and line buffers built by shapely) for every label
// pixel; PROJ (rasterio.warp.transform) for the points' pixel coordinates in vector.json.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PARCELS, satlasObjects } from '../../scripts/make-satlas-example.ts';
import type { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { verifyDataset } from '../../shared/dataset/verify.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { decodeNpy } from '../../shared/domain/npy.ts';
import type { ShardSample } from '../../shared/domain/shard.ts';
import { exampleFixtures, exampleJobIn } from '../helpers/examples.ts';
import { runLocalJob } from '../helpers/local-job.ts';
import { fixturesRoot, PYTHON } from '../helpers/rasterio-reference.ts';
import { requireFixture, requirePython } from '../helpers/requirements.ts';

const EXAMPLE = 'satlas-objects';
const ready = requireFixture(...exampleFixtures(EXAMPLE), PARCELS) && requirePython(['rasterio', 'shapely']);
const suite = ready ? describe : describe.skip;
const ORACLE = path.resolve(import.meta.dirname, '../interop/label_oracle.py');
/** Half the side of the web-mercator square, metres. */
const HALF = 20037508.342789244;
/** Side of the pixel blocks the label oracle checks. */
const BLOCK = 24;

type Meta = { transform: number[]; labels: { instances: Record<string, string> } };
type VectorDoc = {
  resolution: number;
  objects: {
    id: string;
    class: number;
    geometry: { type: string; coordinates: unknown };
    properties: Record<string, unknown>;
  }[];
};
const member = (s: ShardSample, name: string) => s.members.find((m) => m.name === name)?.data as Uint8Array;
const text = (s: ShardSample, name: string) => Buffer.from(member(s, name)).toString('utf8');

suite('the SatlasPretrain example: web-mercator tiles with points, lines, polygons and properties', () => {
  let dir: string;
  let manifest: Manifest;
  let store: FsBlobStore;
  let samples: ShardSample[];
  const objects = satlasObjects(fixturesRoot());

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-example-satlas-'));
    const file = exampleJobIn(EXAMPLE, dir);
    const labels = path.join(dir, 'objects.geojson');
    await writeFile(labels, JSON.stringify(objects));
    const job = JSON.parse(await readFile(file, 'utf8'));
    job.labels.source = labels;
    await writeFile(file, JSON.stringify(job));
    ({ store, manifest, samples } = await runLocalJob(file));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keys each sample by its zoom-13 tile, with that tile’s EPSG:3857 geotransform', async () => {
    expect((await verifyDataset(store)).problems).toEqual([]);
    expect(samples.length).toBeGreaterThan(0);
    const res = (2 * HALF) / (2 ** 13 * 512);
    for (const s of samples) {
      const m = /^13_(\d+)_(\d+)$/.exec(s.key);
      expect(m, s.key).not.toBeNull();
      const [x, y] = [Number(m?.[1]), Number(m?.[2])];
      const meta = JSON.parse(text(s, 'json')) as Meta;
      const t = meta.transform;
      expect(t[0]).toBeCloseTo(-HALF + x * 512 * res, 3);
      expect(t[3]).toBeCloseTo(HALF - y * 512 * res, 3);
      expect(t[1]).toBeCloseTo(res, 9);
    }
    // Every object of every kind is in a sample: nothing planned was lost.
    const accounting = manifest.classes?.validation?.accounting;
    expect(accounting?.kept).toBe(objects.features.length);
    expect(accounting?.inSamples).toBe(objects.features.length);
  });

  it('burns points as discs, lines as buffers and polygons, as GDAL + shapely do', async () => {
    const job = JSON.parse(await readFile(path.join(dir, `${EXAMPLE}.json`), 'utf8'));
    const table = (manifest.classes?.table ?? []) as { id: number; value: unknown }[];
    const idOf = new Map(table.map((c) => [String(c.value), c.id]));
    // The oracle intersects every pixel with shapely, in Python: it checks a block of BLOCK px
    // around every object's instance pixels in each tile (the rest of a tile is background both ways).
    const blocks: {
      id: string;
      sample: number;
      c0: number;
      r0: number;
      x0: number;
      y1: number;
      px: number;
    }[] = [];
    samples.forEach((s, k) => {
      const t = (JSON.parse(text(s, 'json')) as Meta).transform as [
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      const inst = decodeNpy(member(s, 'instances.npy')).data as Uint32Array;
      const seen = new Map<number, [number, number]>();
      inst.forEach((v, p) => {
        if (v !== 0 && !seen.has(v)) seen.set(v, [p % 512, Math.floor(p / 512)]);
      });
      for (const [v, [c, r]] of seen) {
        const c0 = Math.max(0, Math.min(512 - BLOCK, c - BLOCK / 2));
        const r0 = Math.max(0, Math.min(512 - BLOCK, r - BLOCK / 2));
        blocks.push({
          id: `${s.key}-${v}`,
          sample: k,
          c0,
          r0,
          x0: t[0] + c0 * t[1],
          y1: t[3] - r0 * t[1],
          px: t[1],
        });
      }
    });
    const request = {
      src_crs: 'EPSG:4326',
      dst_crs: 'EPSG:3857',
      background: 0,
      features: objects.features.map((f) => ({
        geometry: f.geometry,
        cls: idOf.get(String(f.properties?.['class'])),
        ...(f.geometry.type === 'Point'
          ? { buffer: { kind: 'disc', r: job.labels.points.radius } }
          : f.geometry.type === 'LineString'
            ? { buffer: { kind: 'line', r: job.labels.lines.width / 2 } }
            : {}),
      })),
      windows: blocks.map((b) => ({ key: b.id, x0: b.x0, y1: b.y1, px: b.px, size: BLOCK })),
    };
    const requestFile = path.join(dir, 'oracle.json');
    await writeFile(requestFile, JSON.stringify(request));
    const run = spawnSync(PYTHON, [ORACLE, requestFile], { encoding: 'utf8', maxBuffer: 1 << 30 });
    expect(run.stderr).toBe('');
    const oracle = JSON.parse(run.stdout) as Record<string, { labels: number[]; coverage: number[] }>;
    let total = 0;
    let mismatches = 0;
    let maxCoverageDiff = 0;
    const kinds = new Map<string, number>();
    const kindOf = new Map(objects.features.map((f, i) => [i + 1, f.geometry.type]));
    for (const b of blocks) {
      const s = samples[b.sample] as ShardSample;
      const want = oracle[b.id] as { labels: number[]; coverage: number[] };
      const labels = decodeNpy(member(s, 'labels.npy')).data as Uint16Array;
      const coverage = decodeNpy(member(s, 'coverage.npy')).data as Float32Array;
      const instances = decodeNpy(member(s, 'instances.npy')).data as Uint32Array;
      for (let r = 0; r < BLOCK; r++)
        for (let c = 0; c < BLOCK; c++) {
          const p = (b.r0 + r) * 512 + b.c0 + c;
          const q = r * BLOCK + c;
          total++;
          if (labels[p] !== want.labels[q]) mismatches++;
          maxCoverageDiff = Math.max(
            maxCoverageDiff,
            Math.abs((coverage[p] as number) - (want.coverage[q] as number)),
          );
          const kind = kindOf.get(instances[p] as number);
          if (kind) kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        }
    }
    // Each kind owns pixels, so each is checked.
    expect(kinds.get('Point')).toBeGreaterThan(0);
    expect(kinds.get('LineString')).toBeGreaterThan(0);
    expect((kinds.get('Polygon') ?? 0) + (kinds.get('MultiPolygon') ?? 0)).toBeGreaterThan(0);
    // GEOS simplifies a buffered line by 1 % of its distance first; we do not (README: Labels).
    console.log(
      `labels: ${mismatches} of ${total} pixels differ, max coverage difference ${maxCoverageDiff}, owners by kind ${JSON.stringify([...kinds])}`,
    );
    expect(maxCoverageDiff).toBeLessThan(2e-3);
    expect(mismatches / total).toBeLessThan(1e-3);
  });

  it("gives every object meeting a tile in its vector.json, points at PROJ's pixel position", () => {
    // Parcel ids repeat in the source file: a point must sit where one of its id's points does.
    const points: { key: string; col: number; row: number; t: number[]; candidates: [number, number][] }[] =
      [];
    for (const s of samples) {
      const t = (JSON.parse(text(s, 'json')) as Meta).transform;
      const doc = JSON.parse(text(s, 'vector.json')) as VectorDoc;
      expect(doc.objects.length).toBeGreaterThan(0);
      for (const o of doc.objects) {
        const sources = objects.features.filter(
          (f) => f.properties?.['jpaid'] === o.id && f.geometry.type === o.geometry.type,
        );
        expect(sources.length, `${s.key} ${o.id}`).toBeGreaterThan(0);
        // The job lists the properties vector.json keeps.
        expect(Object.keys(o.properties).sort()).toEqual(['area', 'jpaid', 'slope']);
        if (o.geometry.type === 'Point') {
          const [col, row] = o.geometry.coordinates as [number, number];
          const candidates = sources.map(
            (f) => (f.geometry as GeoJSON.Point).coordinates as [number, number],
          );
          points.push({ key: s.key, col, row, t, candidates });
        }
      }
    }
    expect(points.length).toBeGreaterThan(0);
    const script =
      'import json,sys\nfrom rasterio.warp import transform\np=json.load(sys.stdin)\nout=[]\n' +
      'for q in p:\n' +
      "    xs,ys=transform('EPSG:4326','EPSG:3857',[c[0] for c in q['candidates']],[c[1] for c in q['candidates']])\n" +
      "    out.append(min(max(abs((x-q['t'][0])/q['t'][1]-q['col']),abs((q['t'][3]-y)/q['t'][1]-q['row'])) for x,y in zip(xs,ys)))\n" +
      'print(json.dumps(out))';
    const run = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(points), encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const off = JSON.parse(run.stdout) as number[];
    off.forEach((d, i) => {
      expect(d, points[i]?.key).toBeLessThan(1e-3);
    });
  });
});
