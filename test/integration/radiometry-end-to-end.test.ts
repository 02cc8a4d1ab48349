// Radiometry per date, end to end on the local runtime over real Sentinel-2 COGs (Croatia, 120 m):
// a three-date series whose items disagree on the offset. What is real and what is edited:
// - 2023-08-13: the real item and pixels (Earth Search flag true: offset applied, effective 0).
// - 2023-08-15: EDITED ON PURPOSE: 1000 added to every valid pixel of B02/B03/B04/B08 (written here
//   with rasterio), and the item's `earthsearch:boa_offset_applied` set to false: pixels and metadata
//   both say the +1000 is in the pixels (effective -0.1), as in a collection-1 product.
// - 2023-08-20: EDITED ON PURPOSE: only the item's flag set to false; its pixels are the real ones
//   (no +1000). Metadata and pixels disagree: the probe must say so.
// Checks the per-date values of every sample's .json, the manifest and selection.json, and, with
// harmonization, that value * scale + offset of every written pixel equals the source pixel's
// value * scale + effective offset (sources read with rasterio).
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { prepareJob, workUriOf } from '../../shared/cli/prepare-job.ts';
import { verifyDataset } from '../../shared/dataset/verify.ts';
import type { StacItem } from '../../shared/domain/catalog.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { decodeNpy } from '../../shared/domain/npy.ts';
import { readShard } from '../../shared/domain/shard.ts';
import { noProgress, silentLog } from '../../shared/ports.ts';
import { createLocalContext } from '../../shared/runtime/local-context.ts';
import { runJobLocally } from '../../shared/runtime/run-job.ts';
import { type RangeServer, startRangeServer, writeFixtureItems } from '../helpers/range-server.ts';
import { rasterioRead, sentinel2Fixture } from '../helpers/rasterio-reference.ts';
import { PYTHON, requireFixture, requirePython } from '../helpers/requirements.ts';

const FIXTURE = 'earthsearch_v1_timeseries_T33TWL_2023-08_croatia_120m';
const ready = requireFixture(`sentinel2/${FIXTURE}`) && requirePython(['rasterio', 'numpy']);
const fixture = sentinel2Fixture(FIXTURE) as string;
const ASSETS: Record<string, string> = { blue: 'B02', green: 'B03', red: 'B04', nir: 'B08', scl: 'SCL' };
const BANDS = ['blue', 'green', 'red', 'nir'];
const FILE_ORIGIN = [526860, 5030880] as const;
const [REAL, PLUS, FLAG_ONLY] = [
  'S2B_33TWL_20230813_0_L2A',
  'S2A_33TWL_20230815_0_L2A',
  'S2B_33TWL_20230820_0_L2A',
];

const PLUS_1000 = `
import sys
import numpy as np
import rasterio
from rasterio.shutil import copy
src, out = sys.argv[1], sys.argv[2]
with rasterio.open(src) as ds:
    a = ds.read(1)
    profile = ds.profile
b = np.where(a != 0, a.astype(np.uint32) + 1000, 0).astype(np.uint16)
profile.update(driver='GTiff', tiled=True, blockxsize=256, blockysize=256, compress='deflate', predictor=2)
with rasterio.open(out + '.tmp.tif', 'w', **profile) as d:
    d.write(b, 1)
copy(out + '.tmp.tif', out, driver='COG', COMPRESS='DEFLATE', PREDICTOR='2', BLOCKSIZE='256', RESAMPLING='NEAREST')
`;

type Meta = {
  items: string[];
  transform: number[];
  bands: Record<string, { scale: number | number[]; offset: number | number[]; added?: number[] }>;
};

describe.skipIf(!ready)(
  'radiometry per date, end to end (real Croatia COGs, items edited on purpose)',
  () => {
    let server: RangeServer;
    let dir: string;
    /** The source file of each item and band, as rasterio should read it. */
    const sourceOf = (id: string, band: string) =>
      id === PLUS
        ? path.join(dir, `plus1000-${ASSETS[band]}.tif`)
        : path.join(fixture, id, `${ASSETS[band]}.tif`);

    beforeAll(async () => {
      server = await startRangeServer({ root: fixture });
      dir = await mkdtemp(path.join(tmpdir(), 'satfactory-radiometry-'));
      for (const band of BANDS) {
        const out = sourceOf(PLUS, band);
        const run = spawnSync(
          PYTHON,
          ['-c', PLUS_1000, path.join(fixture, PLUS, `${ASSETS[band]}.tif`), out],
          {
            encoding: 'utf8',
          },
        );
        if (run.status !== 0) throw new Error(run.stderr);
        // In-memory files win over the fixture folder: the item's hrefs now serve the edited pixels.
        server.put(`/${PLUS}/${ASSETS[band]}.tif`, await readFile(out));
      }
      const file = await writeFixtureItems(fixture, server, dir, ASSETS);
      const collection = JSON.parse(await readFile(file, 'utf8')) as { features: StacItem[] };
      for (const item of collection.features) {
        if (item.id === PLUS || item.id === FLAG_ONLY)
          item.properties['earthsearch:boa_offset_applied'] = false;
      }
      await writeFile(file, JSON.stringify(collection));
    });
    afterAll(async () => {
      await server?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    async function run(
      name: string,
      radiometry?: Record<string, unknown>,
      overrides: Record<string, unknown> = {},
    ) {
      const job = {
        name,
        catalog: { kind: 'static', source: 'items.json' },
        aoi: {
          type: 'Polygon',
          coordinates: [
            [
              [15.5, 45.22],
              [15.7, 45.22],
              [15.7, 45.32],
              [15.5, 45.32],
              [15.5, 45.22],
            ],
          ],
        },
        period: { start: '2023-08-01', end: '2023-08-31' },
        selection: { maxCloudCover: 60, maxDates: 3, spread: 'uniform' },
        bands: BANDS,
        windows: { size: 8, stride: 8 },
        clouds: { mask: 'scl', maxCloudyFraction: 0.5 },
        splits: { method: 'random', train: 0.6, validate: 0.2, test: 0.2, seed: 7 },
        ...(radiometry ? { radiometry } : {}),
        ...overrides,
        output: { uri: `out/${name}` },
      };
      const file = path.join(dir, `${name}.json`);
      await writeFile(file, JSON.stringify(job));
      const prepared = await prepareJob(file);
      const workUri = workUriOf(prepared.job);
      const ctx = createLocalContext({ workUri, log: silentLog });
      await runJobLocally({ ...prepared, workUri, ctx, progress: noProgress, threads: 2 });
      const store = new FsBlobStore(prepared.job.output.uri);
      const json = async (key: string) =>
        JSON.parse(Buffer.from((await store.get(key)) as Uint8Array).toString());
      const manifest = (await json('manifest.json')) as Manifest;
      const selection = await json('selection.json');
      const samples = [];
      for (const shard of manifest.shards)
        samples.push(...(await readShard((await store.get(shard.path)) as Uint8Array)));
      const metas = samples.map(
        (s) =>
          JSON.parse(
            Buffer.from(s.members.find((m) => m.name === 'json')?.data as Uint8Array).toString(),
          ) as Meta,
      );
      expect((await verifyDataset(store)).problems).toEqual([]);
      return { manifest, selection, samples, metas };
    }

    const source = (m: Manifest, id: string) => m.sources.find((s) => s.id === id)?.radiometry;

    it('metadata (the default): one offset per date, 0 / -0.1 / -0.1, and a warning for the disagreeing item', async () => {
      const { manifest, selection, metas } = await run('per-date');
      expect(manifest.sources.map((s) => s.id)).toEqual([REAL, PLUS, FLAG_ONLY]);
      expect(metas.length).toBeGreaterThan(10);
      for (const meta of metas) {
        expect(meta.items).toEqual([REAL, PLUS, FLAG_ONLY]);
        for (const band of BANDS)
          expect(meta.bands[band]).toEqual({
            scale: 0.0001,
            offset: [0, -0.1, -0.1],
            nodata: 0,
            resolution: 120,
          });
      }
      // The manifest: no single offset, a pointer to the sources; per source what was declared and used.
      for (const band of manifest.bands[0]?.bands ?? []) {
        expect(band).toMatchObject({ scale: 0.0001, offset: null, at: expect.stringContaining('sources[]') });
      }
      expect(source(manifest, REAL)).toMatchObject({
        rule: 'flag-applied',
        offsetApplied: true,
        baseline: '05.09',
        probe: { verdict: 'no-offset-in-pixels', agrees: true },
        bands: {
          blue: {
            declaredScale: 0.0001,
            declaredOffset: -0.1,
            metadataOffset: 0,
            offset: 0,
            storedOffset: 0,
          },
        },
      });
      expect(source(manifest, PLUS)).toMatchObject({
        rule: 'flag-baseline',
        offsetApplied: false,
        probe: { verdict: 'offset-in-pixels', agrees: true },
        warning: null,
        bands: { red: { declaredOffset: -0.1, offset: -0.1 } },
      });
      const flagOnly = source(manifest, FLAG_ONLY);
      expect(flagOnly).toMatchObject({
        rule: 'flag-baseline',
        offsetFrom: 'metadata',
        probe: { verdict: 'no-offset-in-pixels', agrees: false },
        bands: { nir: { offset: -0.1 } },
      });
      expect(flagOnly?.warning).toMatch(
        new RegExp(`^${FLAG_ONLY}: the metadata say its pixels hold the \\+1000`),
      );
      expect(manifest.radiometry).toMatchObject({
        offset: 'metadata',
        harmonize: false,
        probed: 3,
        disagree: 1,
        unknown: 0,
      });
      expect(manifest.radiometry?.warnings).toEqual([flagOnly?.warning]);
      // Each probe cost one small read of the overview.
      for (const s of manifest.sources) expect(s.radiometry?.probe?.bytes).toBeLessThan(16 * 1024);
      // selection.json: the chosen candidates carry the verdict and the warning; the others the rule.
      const byId = new Map(selection.candidates.map((c: { id: string }) => [c.id, c]));
      expect(byId.get(FLAG_ONLY)).toMatchObject({
        chosen: true,
        radiometry: { warning: flagOnly?.warning, probe: { agrees: false } },
      });
      expect(byId.get(PLUS)).toMatchObject({
        chosen: true,
        radiometry: { warning: null, probe: { agrees: true } },
      });
      expect(byId.get('S2A_33TWL_20230818_0_L2A')).toMatchObject({
        chosen: false,
        reason: 'max-dates',
        radiometry: { rule: 'flag-applied', probe: null },
      });
    });

    it('radiometry.offset "probe": the disagreeing item takes the pixels\' verdict, 0 / -0.1 / 0', async () => {
      const { manifest, metas } = await run('trust-probe', { offset: 'probe' });
      for (const meta of metas) expect(meta.bands['blue']?.offset).toEqual([0, -0.1, 0]);
      expect(source(manifest, FLAG_ONLY)).toMatchObject({
        offsetFrom: 'probe',
        bands: { blue: { metadataOffset: -0.1, offset: 0, storedOffset: 0 } },
      });
      expect(source(manifest, FLAG_ONLY)?.warning).toMatch(/offsets taken from the probe/);
    });

    it('harmonize: one offset, -0.1, and every pixel still means what its source pixel means (rasterio)', async () => {
      const { manifest, samples, metas } = await run('harmonized', { offset: 'probe', harmonize: true });
      expect(manifest.radiometry).toMatchObject({ offset: 'probe', harmonize: true });
      for (const band of manifest.bands[0]?.bands ?? [])
        expect(band).toMatchObject({ scale: 0.0001, offset: -0.1 });
      const effective = [REAL, PLUS, FLAG_ONLY].map((id) => source(manifest, id)?.bands['blue']?.offset);
      expect(effective).toEqual([0, -0.1, 0]);
      for (const meta of metas) {
        for (const band of BANDS) {
          expect(meta.bands[band]).toEqual({
            scale: 0.0001,
            offset: -0.1,
            nodata: 0,
            resolution: 120,
            added: [1000, 0, 1000],
          });
        }
      }
      // Every pixel of every written sample against the source COGs, read by GDAL (one read per file).
      const rects = metas.map((meta) => ({
        x: Math.round(((meta.transform[0] as number) - FILE_ORIGIN[0]) / 120),
        y: Math.round((FILE_ORIGIN[1] - (meta.transform[3] as number)) / 120),
        width: 8,
        height: 8,
      }));
      const reference = new Map<string, Uint8Array[]>();
      for (const id of [REAL, PLUS, FLAG_ONLY])
        for (const band of BANDS)
          reference.set(`${id}/${band}`, rasterioRead(sourceOf(id, band), rects).windows);
      let compared = 0;
      let valid = 0;
      const wrong: string[] = [];
      for (const [k, sample] of samples.entries()) {
        const meta = metas[k] as Meta;
        const cube = decodeNpy(sample.members.find((m) => m.name === '120m.npy')?.data as Uint8Array);
        meta.items.forEach((id, t) => {
          const src = manifest.sources.find((s) => s.id === id)?.radiometry;
          BANDS.forEach((band, c) => {
            const window = reference.get(`${id}/${band}`)?.[k] as Uint8Array;
            const expected = new Uint16Array(window.slice().buffer);
            const got = (cube.data as Uint16Array).subarray((t * 4 + c) * 64, (t * 4 + c + 1) * 64);
            const b = src?.bands[band];
            const stored = meta.bands[band] as { scale: number; offset: number; added: number[] };
            expected.forEach((v, i) => {
              compared++;
              const at = `sample ${k} ${id} ${band} pixel ${i}: source ${v}, written ${got[i]}`;
              // Nodata stays nodata; a valid pixel gets its date's added DN and keeps its meaning.
              if (v === 0) {
                if (got[i] !== 0) wrong.push(at);
                return;
              }
              valid++;
              const written = (got[i] as number) * stored.scale + stored.offset;
              const source = v * (b?.scale as number) + (b?.offset as number);
              if (got[i] !== v + (stored.added[t] as number) || Math.abs(written - source) > 1e-12)
                wrong.push(at);
            });
          });
        });
      }
      expect(wrong).toEqual([]);
      expect(compared).toBe(samples.length * 3 * 4 * 64);
      expect(valid).toBeGreaterThan(compared * 0.9);
    });

    it('a probe that cannot read its overview loses its verdict, not the run', async () => {
      // EDITED ON PURPOSE: the 2023-08-13 item's blue asset points at a file that does not exist; the
      // job does not read blue, so only the probe needs it.
      const items = JSON.parse(await readFile(path.join(dir, 'items.json'), 'utf8')) as {
        features: StacItem[];
      };
      for (const item of items.features)
        if (item.id === REAL)
          (item.assets['blue'] as { href: string }).href = server.urlFor('missing/B02.tif');
      await writeFile(path.join(dir, 'items-missing-blue.json'), JSON.stringify(items));
      const { manifest, metas } = await run('missing-blue', undefined, {
        catalog: { kind: 'static', source: 'items-missing-blue.json' },
        bands: ['green', 'red', 'nir'],
      });
      expect(metas.length).toBeGreaterThan(10);
      expect(source(manifest, REAL)?.probe).toMatchObject({ verdict: 'unknown', agrees: null });
      expect(source(manifest, REAL)?.probe?.reason).toMatch(/^not probed: .*404/);
      expect(source(manifest, FLAG_ONLY)?.probe).toMatchObject({
        verdict: 'no-offset-in-pixels',
        agrees: false,
      });
      // Blue is not a band of this job: its header is part of the probe's bill.
      expect(source(manifest, FLAG_ONLY)?.probe?.requests).toBe(2);
    });
  },
);
