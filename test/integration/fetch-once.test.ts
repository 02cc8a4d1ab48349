// Each COG byte once per job: the real Croatia scene (5 dates, 544 x 224 px at 120 m) re-tiled by
// GDAL into 64 px COG tiles (SCL at 240 m in 32 px tiles: 64 px of the finest grid too), with 24 px
// windows that straddle tile borders, run through the whole workflow on the local runtime in several
// regions. The range server's own log is the oracle: the tile ranges the regions asked for never
// overlap, and they add up to the manifest's io. The same job with the old layout (one COG tile per
// region) fetches border tiles again, and both write the very same samples.
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refetchOfManifest } from '../../bench/refetch.ts';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { prepareJob, workUriOf } from '../../shared/cli/prepare-job.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { readShard } from '../../shared/domain/shard.ts';
import { noProgress, silentLog } from '../../shared/ports.ts';
import { createLocalContext } from '../../shared/runtime/local-context.ts';
import { runJobLocally } from '../../shared/runtime/run-job.ts';
import { type RangeServer, startRangeServer, writeFixtureItems } from '../helpers/range-server.ts';
import { fixturesRoot, requireFixture, requirePython, requireTool } from '../helpers/requirements.ts';

const FIXTURE = 'sentinel2/earthsearch_v1_timeseries_T33TWL_2023-08_croatia_120m';
const ASSETS: Record<string, string> = { blue: 'B02', green: 'B03', red: 'B04', nir: 'B08', scl: 'SCL' };
const ready = requireFixture(FIXTURE) && requireTool('gdal_translate') && requirePython(['osgeo', 'numpy']);

/** Start offset of every full-resolution tile of each file, as GDAL reads them (BLOCK_OFFSET_x_y). */
const BLOCK_OFFSETS = `
import json, sys
from osgeo import gdal
out = {}
for f in sys.argv[2:]:
    ds = gdal.Open(f)
    b = ds.GetRasterBand(1)
    bx, by = b.GetBlockSize()
    nx, ny = -(-ds.RasterXSize // bx), -(-ds.RasterYSize // by)
    offsets = []
    for y in range(ny):
        for x in range(nx):
            o = b.GetMetadataItem(f'BLOCK_OFFSET_{x}_{y}', 'TIFF')
            if o is not None and int(o) > 0:
                offsets.append(int(o))
    out['/' + f[len(sys.argv[1]) + 1:]] = offsets
print(json.dumps(out))
`;

type Run = {
  manifest: Manifest;
  regions: number;
  samples: Map<string, string>;
  rejects: string[];
  /** The server's log of this run's tile reads (header and probe reads left out). */
  tileReads: Array<{ path: string; start: number; end: number }>;
};

type Figures = { requests: number; fetched: number; distinct: number; ratio: number };

/** From the server's log alone: bytes, requests and the union of the ranges per file. */
function figuresOf(reads: Run['tileReads']): Figures {
  const byPath = new Map<string, Array<[number, number]>>();
  let fetched = 0;
  for (const r of reads) {
    fetched += r.end - r.start;
    byPath.set(r.path, [...(byPath.get(r.path) ?? []), [r.start, r.end]]);
  }
  let distinct = 0;
  for (const list of byPath.values()) {
    list.sort((a, b) => a[0] - b[0]);
    let end = -1;
    for (const [a, b] of list) {
      const from = Math.max(a, end);
      if (b > from) distinct += b - from;
      end = Math.max(end, b);
    }
  }
  return { requests: reads.length, fetched, distinct, ratio: fetched / distinct };
}

describe.skipIf(!ready)('each COG byte once per job (Croatia re-tiled in 64 px COG tiles)', () => {
  let server: RangeServer;
  let dir: string;
  let tileOffsets: Map<string, Set<number>>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-fetch-once-'));
    const source = path.join(fixturesRoot(), FIXTURE);
    const cogs = path.join(dir, 'cogs');
    const files: string[] = [];
    for (const id of (await readdir(source)).filter((d) => d.startsWith('S2')).sort()) {
      await mkdir(path.join(cogs, id), { recursive: true });
      await copyFile(path.join(source, id, `${id}.json`), path.join(cogs, id, `${id}.json`));
      for (const file of Object.values(ASSETS)) {
        const out = path.join(cogs, id, `${file}.tif`);
        // GDAL warns that tiles under 128 px are unusual; they are what makes many tiles here.
        const scl = file === 'SCL';
        execFileSync(
          'gdal_translate',
          [
            '-q',
            '-of',
            'COG',
            '-co',
            `BLOCKSIZE=${scl ? 32 : 64}`,
            '-co',
            'COMPRESS=DEFLATE',
            '-co',
            `PREDICTOR=${scl ? 1 : 2}`,
            ...(scl ? ['-tr', '240', '240', '-r', 'nearest'] : []),
            path.join(source, id, `${file}.tif`),
            out,
          ],
          { stdio: 'pipe' },
        );
        files.push(out);
      }
    }
    const offsets = JSON.parse(
      execFileSync('/usr/bin/python3', ['-c', BLOCK_OFFSETS, cogs, ...files], { encoding: 'utf8' }),
    ) as Record<string, number[]>;
    tileOffsets = new Map(Object.entries(offsets).map(([p, list]) => [p, new Set(list)]));
    server = await startRangeServer({ root: cogs });
    await writeFixtureItems(cogs, server, dir, ASSETS);
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** One job name for all runs (it is in every sample's .json); each its own output folder. */
  async function run(folder: string, windows: Record<string, unknown>): Promise<Run> {
    const job = {
      name: 'croatia-64',
      catalog: { kind: 'static', source: 'items.json' },
      aoi: {
        type: 'Polygon',
        coordinates: [
          [
            [15.0, 45.0],
            [16.5, 45.0],
            [16.5, 45.6],
            [15.0, 45.6],
            [15.0, 45.0],
          ],
        ],
      },
      period: { start: '2023-08-01', end: '2023-08-31' },
      selection: { maxCloudCover: 100, minAoiCoverage: 0 },
      bands: ['blue', 'green', 'red', 'nir'],
      windows,
      clouds: { mask: 'scl', maxCloudyFraction: 0.5 },
      splits: { method: 'random', train: 0.6, validation: 0.2, test: 0.2, seed: 7 },
      output: { uri: `out/${folder}` },
    };
    const file = path.join(dir, `${folder}.json`);
    await writeFile(file, JSON.stringify(job));
    const prepared = await prepareJob(file);
    const workUri = workUriOf(prepared.job);
    const first = server.log.length;
    const summary = await runJobLocally({
      ...prepared,
      workUri,
      ctx: createLocalContext({ workUri, log: silentLog }),
      progress: noProgress,
      threads: 2,
    });
    const tileReads = server.log.slice(first).flatMap((r) => {
      const m = /^bytes=(\d+)-(\d+)$/.exec(r.range ?? '');
      if (!m || r.status !== 206) return [];
      const start = Number(m[1]);
      // A region's read starts at a tile; header blocks and the probe's overview tiles do not.
      if (!tileOffsets.get(r.path)?.has(start)) return [];
      return [{ path: r.path, start, end: Number(m[2]) + 1 }];
    });
    const store = new FsBlobStore(prepared.job.output.uri);
    const text = async (key: string) => Buffer.from((await store.get(key)) as Uint8Array).toString();
    const manifest = JSON.parse(await text('manifest.json')) as Manifest;
    const samples = new Map<string, string>();
    for (const s of manifest.shards) {
      for (const sample of await readShard((await store.get(s.path)) as Uint8Array)) {
        const bytes = sample.members.map((m) => `${m.name}:${Buffer.from(m.data).toString('base64')}`);
        samples.set(sample.key, bytes.join('|'));
      }
    }
    const rejects = (await text('rejects.jsonl')).split('\n').filter(Boolean).sort();
    return { manifest, regions: summary.windows.regions, samples, rejects, tileReads };
  }

  it('24 px windows on 64 px tiles in several regions: no tile byte fetched twice, the same samples as one tile per region', async () => {
    const auto = await run('auto', { size: 24, stride: 24 });
    const old = await run('tiles1', { size: 24, stride: 24, regionTiles: 1 });

    // Windows straddle tile borders (64 is no multiple of 24), and the job has several regions:
    // 192 px (lcm of 24 and 64) regions over a 544 x 224 px grid.
    expect(auto.regions).toBeGreaterThan(1);
    expect(auto.regions).toBeLessThan(old.regions);
    const ownFigures = figuresOf(auto.tileReads);
    const io = auto.manifest.io as NonNullable<Manifest['io']>;
    // The server's log agrees with the manifest, and no range overlaps another: each byte once.
    expect(ownFigures.fetched).toBe(io.bytesFetched);
    expect(ownFigures.requests).toBe(io.requests);
    expect(ownFigures.distinct).toBe(ownFigures.fetched);
    expect(io.bytesDistinct).toBe(io.bytesFetched);
    expect(io.refetchRatio).toBe(1);
    expect(refetchOfManifest(auto.manifest).ratio).toBe(1);
    // Every tile the windows need was read: the summed needs of the regions equal what was fetched
    // within the gaps GDAL leaves between tiles (4-byte leaders inside merged ranges).
    expect(io.bytesFetched).toBeGreaterThanOrEqual(io.bytesNeeded);
    expect(io.bytesFetched).toBeLessThanOrEqual(io.bytesNeeded + 8 * io.tilesNeeded);

    // One tile per region (before): border tiles again and again, and the manifest says so.
    const oldFigures = figuresOf(old.tileReads);
    const oldIo = old.manifest.io as NonNullable<Manifest['io']>;
    expect(oldFigures.fetched).toBe(oldIo.bytesFetched);
    expect(oldFigures.distinct).toBe(oldIo.bytesDistinct);
    expect(oldIo.refetchRatio).toBeGreaterThan(1.5);
    // Both read the same distinct bytes: only how often differs.
    expect(oldFigures.distinct).toBe(ownFigures.distinct);
    console.info(
      `fetch-once figures: one tile per region ${JSON.stringify({ regions: old.regions, ...oldFigures })}; ` +
        `default ${JSON.stringify({ regions: auto.regions, ...ownFigures })}`,
    );

    // The same dataset content: every planned window written or rejected exactly as before.
    expect(auto.manifest.totals).toEqual(old.manifest.totals);
    expect(auto.samples.size).toBe(auto.manifest.totals.written);
    expect(auto.samples.size).toBeGreaterThan(50);
    expect([...auto.samples.keys()].sort()).toEqual([...old.samples.keys()].sort());
    for (const [key, bytes] of auto.samples) expect(bytes === old.samples.get(key), key).toBe(true);
    expect(auto.rejects).toEqual(old.rejects);
    expect(auto.manifest.stats).toEqual(old.manifest.stats);
  });

  it('overlapping windows (24 px, stride 12): regions grow until no byte is fetched twice', async () => {
    const auto = await run('overlap', { size: 24, stride: 12 });
    const figures = figuresOf(auto.tileReads);
    const io = auto.manifest.io as NonNullable<Manifest['io']>;
    expect(figures.fetched).toBe(io.bytesFetched);
    expect(figures.distinct).toBe(io.bytesDistinct);
    // Every border of overlapping windows is straddled: regions grow in whole periods up to the
    // memory budget, which here holds the whole grid in one region.
    expect(auto.regions).toBe(1);
    expect(io.refetchRatio).toBeLessThanOrEqual(1.05);
    expect(auto.manifest.totals.written).toBeGreaterThan(100);
  });
});
