// examples/satlas-objects.json runs offline (issue 13): the synthetic scene of `npm run
// example:offline` with its objects.geojson, one file of parcels (Polygon), wells (Point), tree
// pairs (MultiPoint), tracks (LineString) and a ditch (MultiLineString), burnt into the label
// members and written object by object to vector.json; the label books balance.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOfflineScene } from '../../scripts/make-offline-example.ts';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { prepareJob, workUriOf } from '../../shared/cli/prepare-job.ts';
import { verifyDataset } from '../../shared/dataset/verify.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { decodeNpy } from '../../shared/domain/npy.ts';
import { readShard, type ShardSample } from '../../shared/domain/shard.ts';
import { noProgress, silentLog } from '../../shared/ports.ts';
import { createLocalContext } from '../../shared/runtime/local-context.ts';
import { runJobLocally } from '../../shared/runtime/run-job.ts';

const EXAMPLE = path.resolve(import.meta.dirname, '../../examples/satlas-objects.json');
const member = (s: ShardSample, name: string) => s.members.find((m) => m.name === name)?.data as Uint8Array;

describe('examples/satlas-objects.json (offline)', () => {
  let dir: string;
  let manifest: Manifest;
  let samples: ShardSample[];
  let objects: GeoJSON.FeatureCollection;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-objects-example-'));
    await makeOfflineScene(path.join(dir, 'offline-scene'));
    objects = JSON.parse(await readFile(path.join(dir, 'offline-scene/objects.geojson'), 'utf8'));
    const job = JSON.parse(await readFile(EXAMPLE, 'utf8'));
    job.output = { uri: 'out/objects' };
    const file = path.join(dir, 'objects.json');
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
    expect((await verifyDataset(store)).problems).toEqual([]);
    manifest = JSON.parse(Buffer.from((await store.get('manifest.json')) as Uint8Array).toString());
    samples = [];
    for (const shard of manifest.shards)
      samples.push(...(await readShard((await store.get(shard.path)) as Uint8Array)));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps every object, burns points and lines, and balances the books', () => {
    const validation = manifest.classes?.validation;
    expect(validation?.read).toBe(objects.features.length);
    expect(validation?.kept).toBe(objects.features.length);
    const accounting = validation?.accounting as NonNullable<NonNullable<typeof validation>['accounting']>;
    const unsampled = Object.values(accounting.unsampled).reduce((n, k) => n + k, 0);
    expect(accounting.inSamples + unsampled).toBe(accounting.kept);
    const classes = new Map((manifest.classes?.table ?? []).map((c) => [c.id, String(c.value)]));
    const burnt = new Set<string>();
    for (const s of samples)
      for (const v of decodeNpy(member(s, 'labels.npy')).data as Uint16Array)
        burnt.add(classes.get(v) ?? 'bg');
    for (const c of ['well', 'tree', 'track', 'ditch', 'maize']) expect(burnt.has(c), c).toBe(true);
  });

  it('writes vector.json with every kind of geometry, pixel coordinates and the listed properties', () => {
    const types = new Set<string>();
    for (const s of samples) {
      const doc = JSON.parse(Buffer.from(member(s, 'vector.json')).toString());
      for (const o of doc.objects) {
        types.add(o.geometry.type);
        const f = objects.features[o.instance - 1] as GeoJSON.Feature;
        expect(o.value).toBe(f.properties?.['class']);
        expect(o.id).toBe(f.properties?.['name']);
        expect(Object.keys(o.properties).every((k: string) => ['name', 'crop'].includes(k))).toBe(true);
      }
    }
    expect([...types].sort()).toEqual(['LineString', 'MultiLineString', 'MultiPoint', 'Point', 'Polygon']);
  });
});
