// Windows at the imagery's edge are never lost silently: the real SpaceNet Atlanta image (900 x 900 px
// at 0.5 m, one uint16 band, wrapped in a STAC item here) with 400 px windows has two whole windows a
// side and a third that reaches 300 px past the edge. "drop" rejects those as `edge` (and logs the
// buildings only they hold), "pad" writes them padded with nodata and a valid mask; the pixels inside
// equal GDAL's read.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { prepareJob, workUriOf } from '../../shared/cli/prepare-job.ts';
import { converterBetween } from '../../shared/domain/crs.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { decodeNpy } from '../../shared/domain/npy.ts';
import { readShard, type ShardSample } from '../../shared/domain/shard.ts';
import { noProgress, silentLog } from '../../shared/ports.ts';
import { createLocalContext } from '../../shared/runtime/local-context.ts';
import { runJobLocally } from '../../shared/runtime/run-job.ts';
import { type RangeServer, startRangeServer } from '../helpers/range-server.ts';
import { rasterioRead } from '../helpers/rasterio-reference.ts';
import { fixturesRoot, requireFixture, requirePython } from '../helpers/requirements.ts';

const SPACENET = 'labels/spacenet_atlanta_buildings_not_s2';
const ready =
  requireFixture(`${SPACENET}/sample_geotiff.tif`, `${SPACENET}/geotiff_labels.geojson`) &&
  requirePython(['rasterio', 'numpy']);
/** sample_geotiff.tif: [733601, 3724689, 734051, 3725139] in EPSG:32616, 900 x 900 at 0.5 m. */
const BOUNDS = [733_601, 3_724_689, 734_051, 3_725_139] as const;

type Run = {
  manifest: Manifest;
  samples: ShardSample[];
  rejects: Array<Record<string, unknown>>;
  log: string[];
};
const member = (s: ShardSample, name: string) => s.members.find((m) => m.name === name)?.data as Uint8Array;

describe.skipIf(!ready)('windows at the imagery edge (SpaceNet Atlanta, 400 px windows on 900 px)', () => {
  let server: RangeServer;
  let dir: string;

  beforeAll(async () => {
    server = await startRangeServer({ root: path.join(fixturesRoot(), SPACENET) });
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-edge-'));
    const toLonLat = converterBetween(32616, 4326);
    const corner = (x: number, y: number) => toLonLat.forward([x, y]) as [number, number];
    const ring = [
      corner(BOUNDS[0], BOUNDS[1]),
      corner(BOUNDS[2], BOUNDS[1]),
      corner(BOUNDS[2], BOUNDS[3]),
      corner(BOUNDS[0], BOUNDS[3]),
      corner(BOUNDS[0], BOUNDS[1]),
    ];
    const item = {
      type: 'Feature',
      stac_version: '1.0.0',
      id: 'spacenet-atlanta-sample',
      collection: 'spacenet',
      geometry: { type: 'Polygon', coordinates: [ring] },
      properties: { datetime: '2009-12-22T16:00:00Z', 'proj:epsg': 32616, 'grid:code': 'ATL' },
      assets: { pan: { href: `${server.url}/sample_geotiff.tif`, 'raster:bands': [{ nodata: 0 }] } },
      links: [],
    };
    await writeFile(
      path.join(dir, 'items.json'),
      JSON.stringify({ type: 'FeatureCollection', features: [item] }),
    );
    await writeFile(path.join(dir, 'aoi.json'), JSON.stringify({ type: 'Polygon', coordinates: [ring] }));
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function run(edge: 'drop' | 'pad'): Promise<Run> {
    const job = {
      name: `edge-${edge}`,
      catalog: { kind: 'static', source: 'items.json' },
      aoi: 'aoi.json',
      period: { start: '2009-12-01', end: '2009-12-31' },
      selection: { minAoiCoverage: 0 },
      bands: ['pan'],
      windows: { size: 400, stride: 400, edge },
      labels: {
        source: path.join(fixturesRoot(), SPACENET, 'geotiff_labels.geojson'),
        classProperty: 'building',
        outputs: ['labels', 'instances'],
      },
      splits: { method: 'random', train: 1, validation: 0, test: 0, seed: 1 },
      output: { uri: `out/${edge}` },
    };
    const file = path.join(dir, `${edge}.json`);
    await writeFile(file, JSON.stringify(job));
    const prepared = await prepareJob(file);
    const workUri = workUriOf(prepared.job);
    await runJobLocally({
      ...prepared,
      workUri,
      ctx: createLocalContext({ workUri, log: silentLog }),
      progress: noProgress,
      threads: 2,
    });
    const store = new FsBlobStore(prepared.job.output.uri);
    const text = async (key: string) => Buffer.from((await store.get(key)) as Uint8Array).toString();
    const manifest = JSON.parse(await text('manifest.json')) as Manifest;
    const samples: ShardSample[] = [];
    for (const s of manifest.shards)
      samples.push(...(await readShard((await store.get(s.path)) as Uint8Array)));
    const rejects = (await text('rejects.jsonl'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    return { manifest, samples, rejects, log: (await text('labels-log.jsonl')).split('\n').filter(Boolean) };
  }

  it('drop: plans all 9 windows, writes the 4 whole ones, rejects 5 as edge, logs their buildings', async () => {
    const { manifest, samples, rejects, log } = await run('drop');
    expect(manifest.totals).toMatchObject({
      planned: 9,
      written: 4,
      rejected: 5,
      rejectedByReason: { edge: 5 },
    });
    expect(samples).toHaveLength(4);
    // 100 of 400 px inside on the right and bottom edges, 100 x 100 in the corner.
    expect(rejects.map((r) => r['insideFraction']).sort()).toEqual([0.0625, 0.25, 0.25, 0.25, 0.25]);
    expect(rejects.every((r) => r['reason'] === 'edge')).toBe(true);
    const accounting = manifest.classes?.validation?.accounting;
    expect(accounting?.kept).toBe(43);
    const unsampled = log.map((l) => JSON.parse(l)).filter((e) => e.action === 'unsampled');
    expect(unsampled.length).toBeGreaterThan(0);
    expect(accounting?.inSamples).toBe(43 - unsampled.length);
    for (const e of unsampled) {
      expect(e.problem).toBe('only-in-rejected-windows');
      expect(e.detail).toContain('edge');
    }
  });

  it('pad: writes all 9, padded with nodata outside the image, with a valid mask; inside equals GDAL', async () => {
    const { manifest, samples, rejects } = await run('pad');
    expect(manifest.totals).toMatchObject({ planned: 9, written: 9, rejected: 0 });
    expect(rejects).toEqual([]);
    expect(manifest.classes?.validation?.accounting).toMatchObject({
      kept: 43,
      inSamples: 43,
      unsampled: {},
    });
    const image = path.join(fixturesRoot(), SPACENET, 'sample_geotiff.tif');
    for (const s of samples) {
      const meta = JSON.parse(Buffer.from(member(s, 'json')).toString()) as { row: number; col: number };
      const valid = decodeNpy(member(s, 'valid.npy'));
      expect(valid.shape).toEqual([400, 400]);
      const cube = decodeNpy(member(s, '0p5m.npy'));
      expect(cube.shape).toEqual([1, 1, 400, 400]);
      const inside = (start: number) => Math.max(0, Math.min(400, 900 - start));
      const w = inside(meta.col * 400);
      const h = inside(meta.row * 400);
      const ref = rasterioRead(image, [{ x: meta.col * 400, y: meta.row * 400, width: w, height: h }]);
      const expected = new Uint16Array((ref.windows[0] as Uint8Array).slice().buffer);
      const data = cube.data as Uint16Array;
      const mask = valid.data as Uint8Array;
      let maskWrong = 0;
      let padWrong = 0;
      let dataWrong = 0;
      let data0 = 0;
      for (let y = 0; y < 400; y++) {
        for (let x = 0; x < 400; x++) {
          const p = y * 400 + x;
          const isInside = x < w && y < h;
          if (mask[p] !== (isInside ? 1 : 0)) maskWrong++;
          if (!isInside && data[p] !== 0) padWrong++;
          if (isInside && data[p] !== expected[y * w + x]) dataWrong++;
          if (isInside && data[p] !== 0) data0++;
        }
      }
      expect({ key: s.key, maskWrong, padWrong, dataWrong }).toEqual({
        key: s.key,
        maskWrong: 0,
        padWrong: 0,
        dataWrong: 0,
      });
      // The image has data wherever it is: the comparison is not between two empty arrays.
      expect(data0).toBe(w * h);
    }
  });
});
