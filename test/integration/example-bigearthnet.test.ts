// The BigEarthNet seed example (examples/bigearthnet-19.json) as a user runs it, offline on the
// fixtures: the six real BigEarthNet v1 S2 patches read from their GeoTIFFs (files catalog, 12 bands
// at 10/20/60 m), one single-date 120 px sample per patch, 19-class multi-labels from each patch's
// CORINE labels (scripts/make-bigearthnet-example.ts), quicklooks. Oracles: the published 43 → 19
// table in the fixtures (not our module) for the labels, rasterio for every band, fast-png's decoder.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patchLabelFeatures, readPatches, S2_PATCHES } from '../../scripts/make-bigearthnet-example.ts';
import type { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { verifyDataset } from '../../shared/dataset/verify.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { decodeNpy } from '../../shared/domain/npy.ts';
import type { ShardSample } from '../../shared/domain/shard.ts';
import { exampleFixtures, exampleJobIn } from '../helpers/examples.ts';
import { runLocalJob } from '../helpers/local-job.ts';
import { fixturesRoot, rasterioRead } from '../helpers/rasterio-reference.ts';
import { requireFixture, requirePython } from '../helpers/requirements.ts';

const EXAMPLE = 'bigearthnet-19';
const NOMENCLATURE = 'bigearthnet/bigearthnet_v1_nomenclature_43_to_19.json';
const ready =
  requireFixture(...exampleFixtures(EXAMPLE), NOMENCLATURE) && requirePython(['rasterio', 'numpy']);
const suite = ready ? describe : describe.skip;

type Meta = {
  items: string[];
  dates: string[];
  transform: number[];
  groups: Record<string, { bands: string[]; resolution: number; shape: number[] }>;
  labels: { multilabel: number[]; cls: number | null };
};
const member = (s: ShardSample, name: string) => s.members.find((m) => m.name === name)?.data;
const FILE_OF: Record<string, string> = {
  coastal: 'B01',
  blue: 'B02',
  green: 'B03',
  red: 'B04',
  rededge1: 'B05',
  rededge2: 'B06',
  rededge3: 'B07',
  nir: 'B08',
  nir08: 'B8A',
  nir09: 'B09',
  swir16: 'B11',
  swir22: 'B12',
};

suite('the BigEarthNet example: single-date patches, 19-class multi-labels, quicklooks', () => {
  let dir: string;
  let manifest: Manifest;
  let store: FsBlobStore;
  let samples: ShardSample[];
  const patches = readPatches(fixturesRoot());

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-example-bigearthnet-'));
    const file = exampleJobIn(EXAMPLE, dir);
    // The label file is made from the fixtures, as `npm run example:bigearthnet` makes it.
    const labels = path.join(dir, 'patch-labels.geojson');
    await writeFile(labels, JSON.stringify(patchLabelFeatures(fixturesRoot())));
    const job = JSON.parse(await readFile(file, 'utf8'));
    job.labels.source = labels;
    await writeFile(file, JSON.stringify(job));
    ({ store, manifest, samples } = await runLocalJob(file));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes one single-date sample per patch, and every label feature is in one', async () => {
    expect((await verifyDataset(store)).problems).toEqual([]);
    expect(samples).toHaveLength(patches.length);
    const accounting = manifest.classes?.validation?.accounting;
    expect(accounting?.kept).toBe(patches.reduce((n, p) => n + p.labels.length, 0));
    expect(accounting?.inSamples).toBe(accounting?.kept);
    for (const s of samples) {
      const meta = JSON.parse(Buffer.from(member(s, 'json') as Uint8Array).toString()) as Meta;
      expect(meta.dates).toHaveLength(1);
      expect(s.key).toMatch(/_\d{8}$/);
    }
  });

  it("has each patch's multi-label as the published 43 -> 19 table converts its labels", async () => {
    const table = JSON.parse(await readFile(path.join(fixturesRoot(), NOMENCLATURE), 'utf8')) as {
      labels43: { label: string; bigearthnet19_index: number | null }[];
      labels19: { index19: number; label: string }[];
    };
    expect(manifest.classes?.table.map((c) => c.name)).toEqual(table.labels19.map((c) => c.label));
    const to19 = new Map(table.labels43.map((l) => [l.label, l.bigearthnet19_index]));
    for (const s of samples) {
      const meta = JSON.parse(Buffer.from(member(s, 'json') as Uint8Array).toString()) as Meta;
      const patch = patches.find(
        (p) => meta.dates[0]?.startsWith(p.datetime.slice(0, 10)) && s.key.startsWith(tileOf(p.patch)),
      );
      expect(patch, s.key).toBeDefined();
      const want = [
        ...new Set(
          (patch?.labels ?? [])
            .map((l) => to19.get(l))
            .filter((i): i is number => i !== null && i !== undefined),
        ),
      ].sort((a, b) => a - b);
      const hot = decodeNpy(member(s, 'multilabel.npy') as Uint8Array).data as Uint8Array;
      expect([...hot].flatMap((v, i) => (v ? [i] : []))).toEqual(want);
      expect(meta.labels.multilabel).toEqual(want);
    }
  });

  it("equals rasterio's read of every band file, and its quicklook decodes to one 120 px frame", () => {
    for (const s of samples) {
      const meta = JSON.parse(Buffer.from(member(s, 'json') as Uint8Array).toString()) as Meta;
      const patch = patches.find(
        (p) => s.key.startsWith(tileOf(p.patch)) && meta.dates[0]?.startsWith(p.datetime.slice(0, 10)),
      );
      const folder = path.join(fixturesRoot(), S2_PATCHES, patch?.patch as string);
      for (const [name, g] of Object.entries(meta.groups)) {
        const arr = decodeNpy(member(s, `${name}.npy`) as Uint8Array);
        const [, C, H, W] = arr.shape as [number, number, number, number];
        g.bands.forEach((band, c) => {
          const file = path.join(folder, `${patch?.patch}_${FILE_OF[band]}.tif`);
          const ref = rasterioRead(file, [{ x: 0, y: 0, width: W, height: H }]).windows[0] as Uint8Array;
          const want = new Uint16Array(ref.buffer, ref.byteOffset, W * H);
          const got = (arr.data as Uint16Array).subarray(c * H * W, (c + 1) * H * W);
          expect(Array.from(got), `${s.key} ${band}`).toEqual(Array.from(want));
        });
        expect(C).toBe(g.bands.length);
      }
      const png = decode(member(s, 'png') as Uint8Array);
      expect([png.width, png.height]).toEqual([120, 120]);
    }
  });
});

/** The files catalog's tile name the example gives a patch: `<utm>x<col>y<row>` (lowercase). */
function tileOf(patch: string): string {
  const p = readPatches(fixturesRoot()).find((x) => x.patch === patch);
  const [col, row] = patch.split('_').slice(-2);
  return `${p?.utm}x${col}y${row}`;
}
