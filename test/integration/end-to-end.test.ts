// The whole job on the local runtime over real Sentinel-2 COGs served by a local HTTP range server:
// static catalog -> selection -> windows -> range reads -> shards -> manifest, then checks every
// array against GDAL (rasterio), the fetch accounting, idempotent reruns and resuming.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { prepareJob, workUriOf } from '../../shared/cli/prepare-job.ts';
import { verifyDataset } from '../../shared/dataset/verify.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { decodeNpy } from '../../shared/domain/npy.ts';
import { readShard } from '../../shared/domain/shard.ts';
import { noProgress, silentLog } from '../../shared/ports.ts';
import { createLocalContext } from '../../shared/runtime/local-context.ts';
import { runJobLocally } from '../../shared/runtime/run-job.ts';
import { type RangeServer, startRangeServer, writeFixtureItems } from '../helpers/range-server.ts';
import { rasterioRead, sentinel2Fixture } from '../helpers/rasterio-reference.ts';
import { requireFixture, requirePython } from '../helpers/requirements.ts';

const FIXTURE = 'earthsearch_v1_timeseries_T33TWL_2023-08_croatia_120m';
const fixture = requireFixture(`sentinel2/${FIXTURE}`) ? sentinel2Fixture(FIXTURE) : undefined;
const ASSETS: Record<string, string> = { blue: 'B02', green: 'B03', red: 'B04', nir: 'B08', scl: 'SCL' };
const FILE_ORIGIN = [526860, 5030880] as const;

const suite = fixture ? describe : describe.skip;

suite('end to end on real Sentinel-2 COGs (Croatia, 5 dates, 120 m)', () => {
  let server: RangeServer;
  let dir: string;

  beforeAll(async () => {
    server = await startRangeServer({ root: fixture as string });
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-e2e-'));
    await writeFixtureItems(fixture as string, server, dir, ASSETS);
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function writeJob(name: string, extra: Record<string, unknown> = {}): Promise<string> {
    const job = {
      name,
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
      selection: { maxCloudCover: 60, maxDates: 3, spread: 'uniform' },
      bands: ['blue', 'green', 'red', 'nir'],
      windows: { size: 8, stride: 8 },
      clouds: { mask: 'scl', maxCloudyFraction: 0.5 },
      splits: { method: 'random', train: 0.6, validation: 0.2, test: 0.2, seed: 7 },
      output: { uri: `out/${name}` },
      ...extra,
    };
    const file = path.join(dir, `${name}.json`);
    await writeFile(file, JSON.stringify(job));
    return file;
  }

  async function run(jobFile: string) {
    const prepared = await prepareJob(jobFile);
    const workUri = workUriOf(prepared.job);
    const ctx = createLocalContext({ workUri, log: silentLog });
    const summary = await runJobLocally({ ...prepared, workUri, ctx, progress: noProgress, threads: 2 });
    const store = new FsBlobStore(prepared.job.output.uri);
    const manifest = JSON.parse(
      Buffer.from((await store.get('manifest.json')) as Uint8Array).toString(),
    ) as Manifest;
    return { prepared, summary, store, manifest };
  }

  it('builds a verified dataset whose arrays equal GDAL reads, fetching needed bytes once', async (ctx) => {
    const { store, manifest, summary } = await run(await writeJob('croatia'));
    // Selection: maxCloudCover 60 drops 2023-08-10 (69 %); 3 of the other 4 dates spread over August.
    expect(manifest.sources.map((s) => s.id)).toHaveLength(3);
    expect(manifest.sources.every((s) => (s.cloudCover ?? 100) <= 60)).toBe(true);
    const selection = JSON.parse(Buffer.from((await store.get('selection.json')) as Uint8Array).toString());
    // The catalog applies the cloud bound itself; selection then drops one date for maxDates.
    const reasons = selection.candidates.map((c: { reason: string | null }) => c.reason).sort();
    expect(reasons).toEqual(['max-dates', null, null, null]);
    expect(manifest.totals.planned).toBe(summary.windows.windows);
    expect(manifest.totals.written + manifest.totals.rejected).toBe(manifest.totals.planned);
    expect(manifest.totals.written).toBeGreaterThan(50);
    expect(manifest.bands).toEqual([
      expect.objectContaining({ group: '120m', resolution: 120, bands: expect.any(Array) }),
    ]);
    const io = manifest.io as {
      bytesFetched: number;
      bytesNeeded: number;
      requests: number;
      tilesNeeded: number;
    };
    expect(io.bytesFetched / io.bytesNeeded).toBeLessThanOrEqual(1.02);
    expect(io.requests).toBeLessThanOrEqual(io.tilesNeeded);

    const report = await verifyDataset(store);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.samples).toBe(manifest.totals.written);

    // The GDAL oracle: without rasterio the checks above ran, but the test counts as skipped.
    if (!requirePython(['rasterio', 'numpy'])) return ctx.skip();
    const shard = manifest.shards[0] as Manifest['shards'][number];
    const samples = await readShard((await store.get(shard.path)) as Uint8Array);
    const picked = [samples[0], samples[Math.floor(samples.length / 2)], samples.at(-1)];
    for (const sample of picked) {
      const meta = JSON.parse(
        Buffer.from(sample?.members.find((m) => m.name === 'json')?.data as Uint8Array).toString(),
      );
      const cube = decodeNpy(sample?.members.find((m) => m.name === '120m.npy')?.data as Uint8Array);
      const scl = decodeNpy(sample?.members.find((m) => m.name === 'scl.npy')?.data as Uint8Array);
      expect(cube.shape).toEqual([3, 4, 8, 8]);
      expect(cube.dtype).toBe('<u2');
      expect(meta.dates).toEqual([...meta.dates].sort());
      const rect = {
        x: Math.round((meta.transform[0] - FILE_ORIGIN[0]) / 120),
        y: Math.round((FILE_ORIGIN[1] - meta.transform[3]) / 120),
        width: 8,
        height: 8,
      };
      meta.items.forEach((id: string, t: number) => {
        ['blue', 'green', 'red', 'nir'].forEach((band, c) => {
          const ref = rasterioRead(path.join(fixture as string, id, `${ASSETS[band]}.tif`), [rect]);
          const expected = new Uint16Array(ref.windows[0]?.slice().buffer as ArrayBuffer);
          const got = (cube.data as Uint16Array).subarray((t * 4 + c) * 64, (t * 4 + c + 1) * 64);
          expect(Array.from(got)).toEqual(Array.from(expected));
        });
        const refScl = rasterioRead(path.join(fixture as string, id, 'SCL.tif'), [rect]);
        expect(Array.from((scl.data as Uint8Array).subarray(t * 64, (t + 1) * 64))).toEqual(
          Array.from(refScl.windows[0] as Uint8Array),
        );
      });
    }
  });

  it('a rerun of a finished job changes nothing and fetches nothing', async () => {
    const first = await run(await writeJob('rerun'));
    const before = server.totals().requests;
    const manifestBytes = await first.store.get('manifest.json');
    const second = await run(await writeJob('rerun'));
    expect(server.totals().requests).toBe(before);
    expect(await second.store.get('manifest.json')).toEqual(manifestBytes);
  });

  it('an interrupted run resumes: only the unfinished region is extracted again', async () => {
    const first = await run(await writeJob('resume'));
    const work = new FsBlobStore(path.join(first.prepared.job.output.uri, '.satfactory'));
    const results = await work.list(`runs/${first.prepared.runId}/results/`);
    expect(results.length).toBeGreaterThan(1);
    // Simulate a crash after the shards of one region were written but before its record and the manifest.
    await work.delete(results[0] as string);
    await first.store.delete('manifest.json');
    const beforeRequests = server.totals().requests;
    const second = await run(await writeJob('resume'));
    const requests = server.totals().requests - beforeRequests;
    expect(requests).toBeGreaterThan(0);
    expect(requests).toBeLessThan((first.manifest.io as { requests: number }).requests);
    expect({ ...second.manifest, createdAt: '' }).toEqual({ ...first.manifest, createdAt: '' });
    expect(existsSync(path.join(first.prepared.job.output.uri, 'manifest.json'))).toBe(true);
  });
});
