// One label file, two AOIs, one fixed class table: the real workflow on the local runtime, run twice
// (Croatian ARKOD parcels over the real 120 m Sentinel-2 scene). Every class has the same id and
// training index in both datasets although the smaller AOI holds fewer classes; classes absent
// from an AOI are listed with 0 pixels; a class outside the table is rejected with a log line; and
// every label pixel is the table id of the class of the parcel that owns it (read from the file).
import { readFileSync } from 'node:fs';
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
import { fixturesRoot, sentinel2Fixture } from '../helpers/rasterio-reference.ts';
import { requireFixture } from '../helpers/requirements.ts';

const FIXTURE = 'earthsearch_v1_timeseries_T33TWL_2023-08_croatia_120m';
const PARCELS_FILE = 'labels/parcels_hr_arkod_2024_sample_EPSG3765.geojson';
const ready = requireFixture(`sentinel2/${FIXTURE}`, PARCELS_FILE);
const fixture = ready ? sentinel2Fixture(FIXTURE) : undefined;
const PARCELS = path.join(fixturesRoot(), PARCELS_FILE);
const ASSETS: Record<string, string> = { blue: 'B02', green: 'B03', red: 'B04', nir: 'B08', scl: 'SCL' };

/** ARKOD land-use codes of the sample (910 left out: it must be rejected), plus a class no parcel has. */
const TABLE =
  'value,id,name,color\n200,1,arkod-200,#e0c060\n310,2,arkod-310,#80c040\n320,3,arkod-320,\n321,4,arkod-321,\n422,5,arkod-422,#a03020\n999,6,absent,\n';
const ID_OF: Record<number, number> = { 200: 1, 310: 2, 320: 3, 321: 4, 422: 5, 999: 6 };
const IGNORE = 65_535;

type Dataset = { manifest: Manifest; samples: ShardSample[]; store: FsBlobStore };

const member = (s: ShardSample, name: string) => s.members.find((m) => m.name === name)?.data as Uint8Array;

describe.skipIf(!ready)('a fixed class table: one label file, two AOIs, the same ids', () => {
  let server: RangeServer;
  let dir: string;
  let big: Dataset;
  let small: Dataset;
  const parcelClass = (JSON.parse(readFileSync(PARCELS, 'utf8')) as GeoJSON.FeatureCollection).features.map(
    (f) => Number(f.properties?.['land_use_id']),
  );

  async function run(name: string, aoi: unknown): Promise<Dataset> {
    const job = {
      name,
      catalog: { kind: 'static', source: 'items.json' },
      aoi,
      period: { start: '2023-08-01', end: '2023-08-31' },
      selection: { maxCloudCover: 60, maxDates: 2, minAoiCoverage: 0 },
      bands: ['red', 'nir'],
      windows: { size: 8, stride: 8, where: 'labels' },
      labels: {
        source: PARCELS,
        classProperty: 'land_use_id',
        idProperty: 'jpaid',
        resolution: 30,
        outputs: ['labels', 'instances'],
        // Relative to the job file: read by PrepareLabels through the blob store of its folder.
        classes: { table: 'classes.csv', background: 'ignore', unknown: 'reject' },
      },
      splits: { method: 'random', train: 0.6, validation: 0.2, test: 0.2, seed: 3, allowEmpty: true },
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
    return { manifest, samples, store };
  }

  beforeAll(async () => {
    server = await startRangeServer({ root: fixture as string });
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-class-table-'));
    await writeFixtureItems(fixture as string, server, dir, ASSETS);
    await writeFile(path.join(dir, 'classes.csv'), TABLE);
    big = await run('parcels-all', 'labels');
    // A box around the parcels near 15.37°E 45.40°N, inside the scene: fewer parcels, fewer classes.
    const [x0, y0, x1, y1] = [15.3, 45.35, 15.45, 45.42];
    const ring = [
      [x0, y0],
      [x1, y0],
      [x1, y1],
      [x0, y1],
      [x0, y0],
    ];
    small = await run('parcels-west', { type: 'Polygon', coordinates: [ring] });
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const classesOf = (d: Dataset) => d.manifest.classes as NonNullable<Manifest['classes']>;
  const present = (d: Dataset) =>
    classesOf(d)
      .table.filter((c) => (c.pixels ?? 0) > 0)
      .map((c) => c.id);

  it('writes two verified datasets, the smaller one with fewer classes present', async () => {
    expect((await verifyDataset(big.store)).problems).toEqual([]);
    expect((await verifyDataset(small.store)).problems).toEqual([]);
    expect(small.manifest.totals.written).toBeGreaterThan(0);
    expect(small.manifest.totals.written).toBeLessThan(big.manifest.totals.written);
    const inBig = present(big);
    const inSmall = present(small);
    expect(inSmall.length).toBeGreaterThan(0);
    expect(inSmall.length).toBeLessThan(inBig.length);
    expect(inBig).toEqual(expect.arrayContaining(inSmall));
  });

  it('gives every class the same id, training index, name and colour in both manifests', () => {
    const strip = (d: Dataset) =>
      classesOf(d).table.map(({ id, index, value, name, color }) => ({ id, index, value, name, color }));
    expect(strip(small)).toEqual(strip(big));
    expect(strip(big)).toEqual([
      { id: 1, index: 0, value: 200, name: 'arkod-200', color: '#e0c060' },
      { id: 2, index: 1, value: 310, name: 'arkod-310', color: '#80c040' },
      { id: 3, index: 2, value: 320, name: 'arkod-320', color: undefined },
      { id: 4, index: 3, value: 321, name: 'arkod-321', color: undefined },
      { id: 5, index: 4, value: 422, name: 'arkod-422', color: '#a03020' },
      { id: 6, index: 5, value: 999, name: 'absent', color: undefined },
    ]);
    for (const d of [big, small]) {
      const c = classesOf(d);
      expect(c).toMatchObject({
        origin: 'file',
        file: { name: 'classes.csv' },
        background: IGNORE,
        backgroundIs: 'ignore',
        ignoreIndex: IGNORE,
        unknown: 'reject',
        trainingIds: [1, 2, 3, 4, 5, 6],
      });
      // Statistics follow the table: the absent class is listed with 0 pixels, and gets no weight.
      expect(c.table.find((e) => e.id === 6)).toMatchObject({ pixels: 0, samples: 0 });
      expect(c.splits?.train.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6, IGNORE]);
      expect(c.weights?.ids).toEqual([1, 2, 3, 4, 5, 6]);
      expect(c.weights?.inverseFrequency[5]).toBeNull();
    }
  });

  it('burns each pixel with the table id of its parcel class, and the ignore index elsewhere', () => {
    for (const d of [big, small]) {
      let owned = 0;
      for (const s of d.samples) {
        const labels = decodeNpy(member(s, 'labels.npy')).data as Uint16Array;
        const instances = decodeNpy(member(s, 'instances.npy')).data as Uint32Array;
        labels.forEach((v, p) => {
          const instance = instances[p] as number;
          const want = instance === 0 ? IGNORE : ID_OF[parcelClass[instance - 1] as number];
          if (v !== want)
            expect({ key: s.key, pixel: p, value: v }).toEqual({ key: s.key, pixel: p, value: want });
          if (instance !== 0) owned++;
        });
      }
      expect(owned).toBeGreaterThan(0);
    }
  });

  it("describes each band: Sentinel-2 id, centre and FWHM from the items' eo:bands, reflectance units", () => {
    // The items say (eo:bands of every item): red 0.665 / 0.038 µm, nir 0.842 / 0.145 µm, scale 0.0001.
    const bands = big.manifest.bands.flatMap((g) => g.bands);
    expect(
      bands.map(
        ({ name, bandId, commonName, centerWavelength, fullWidthHalfMax, wavelengthFrom, units }) => ({
          name,
          bandId,
          commonName,
          centerWavelength,
          fullWidthHalfMax,
          wavelengthFrom,
          units,
        }),
      ),
    ).toEqual([
      {
        name: 'red',
        bandId: 'B04',
        commonName: 'red',
        centerWavelength: 0.665,
        fullWidthHalfMax: 0.038,
        wavelengthFrom: 'eo:bands',
        units: 'reflectance',
      },
      {
        name: 'nir',
        bandId: 'B08',
        commonName: 'nir',
        centerWavelength: 0.842,
        fullWidthHalfMax: 0.145,
        wavelengthFrom: 'eo:bands',
        units: 'reflectance',
      },
    ]);
  });

  it('rejects the parcel of class 910 (not in the table) with a line in the labels log', async () => {
    const c = classesOf(big);
    const index910 = parcelClass.indexOf(910);
    expect(index910).toBeGreaterThanOrEqual(0);
    const log = Buffer.from((await big.store.get(c.validation?.log as string)) as Uint8Array)
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { index: number; problem: string; action: string });
    expect(log.filter((e) => e.problem === 'unknown-class')).toEqual([
      expect.objectContaining({ index: index910, action: 'dropped' }),
    ]);
    expect(c.validation?.problems['unknown-class']).toBe(1);
    // The books balance: read = kept + features dropped (each with its line).
    const dropped = new Set(log.filter((e) => e.action === 'dropped').map((e) => e.index));
    expect((c.validation?.kept ?? 0) + dropped.size).toBe(c.validation?.read);
  });
});
