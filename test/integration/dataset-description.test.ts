// A real dataset (the offline labels example on the local runtime) describes itself: its manifest
// validates against schema/manifest.schema.json with an independent validator (Python's jsonschema),
// no file of it holds an absolute local path, collection.json and items.ndjson have the STAC fields
// and index every sample, and the card's front matter (read with PyYAML) names exactly each split's
// shards. verify accounts for the new files and pull copies them.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOfflineScene } from '../../scripts/make-offline-example.ts';
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { prepareJob, workUriOf } from '../../shared/cli/prepare-job.ts';
import { pullDataset } from '../../shared/dataset/pull.ts';
import { verifyDataset } from '../../shared/dataset/verify.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { readShard } from '../../shared/domain/shard.ts';
import { noProgress, silentLog } from '../../shared/ports.ts';
import { createLocalContext } from '../../shared/runtime/local-context.ts';
import { runJobLocally } from '../../shared/runtime/run-job.ts';
import { PYTHON, requirePython } from '../helpers/requirements.ts';
import { LabelSummariesShape, StacCollectionShape, StacItemShape } from '../helpers/stac-shape.ts';

const SCHEMA = path.resolve(import.meta.dirname, '../../schema/manifest.schema.json');
const EXAMPLE = path.resolve(import.meta.dirname, '../../examples/offline-labels.json');

/** Every file of a folder, recursively, relative to it. */
function filesUnder(root: string, dir = ''): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    return e.isDirectory() ? filesUnder(root, rel) : [rel];
  });
}

describe('a dataset describes itself (offline labels example, local runtime)', () => {
  let dir: string;
  let out: string;
  let workDir: string;
  let manifest: Manifest;
  /** Every text the dataset holds: its side files and every sample .json. */
  const texts = new Map<string, string>();
  const keysByShard = new Map<string, string[]>();

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-describe-'));
    await makeOfflineScene(path.join(dir, 'offline-scene'));
    const job = JSON.parse(readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>;
    job.output = { uri: 'out/parcels' };
    const file = path.join(dir, 'job.json');
    await writeFile(file, JSON.stringify(job));
    const prepared = await prepareJob(file);
    const workUri = workUriOf(prepared.job);
    workDir = new URL(workUri).pathname;
    const ctx = createLocalContext({ workUri, log: silentLog });
    await runJobLocally({ ...prepared, workUri, ctx, progress: noProgress, threads: 2 });
    out = prepared.job.output.uri;
    manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Manifest;
    for (const rel of filesUnder(out)) {
      if (rel.startsWith('.satfactory/')) continue;
      if (rel.endsWith('.tar')) {
        const samples = await readShard(readFileSync(path.join(out, rel)));
        keysByShard.set(
          rel,
          samples.map((s) => s.key),
        );
        for (const s of samples) {
          const json = s.members.find((m) => m.name === 'json');
          texts.set(`${rel}:${s.key}.json`, Buffer.from(json?.data ?? new Uint8Array()).toString('utf8'));
        }
      } else {
        texts.set(rel, readFileSync(path.join(out, rel), 'utf8'));
      }
    }
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes the STAC files and the card, and verify accounts for them', async () => {
    for (const f of [
      'collection.json',
      'items.ndjson',
      'README.md',
      'manifest.json',
      'selection.json',
      'claim.json',
    ])
      expect(texts.has(f), f).toBe(true);
    expect(manifest.totals.written).toBeGreaterThan(0);
    const report = await verifyDataset(new FsBlobStore(out));
    expect(report.problems).toEqual([]);
  });

  it('holds no absolute local path in any file', () => {
    expect(texts.size).toBeGreaterThan(manifest.totals.written);
    const forbidden = ['file://', dir, out, workDir, path.dirname(path.join(dir, 'job.json'))];
    for (const [name, text] of texts) {
      for (const f of forbidden) expect(text.includes(f), `${name} holds ${f}`).toBe(false);
    }
    // The local inputs are still named, relative to the dataset, and resolve from it.
    expect((manifest.job.output as { uri: string }).uri).toBe('.');
    const href = manifest.sources[0]?.hrefs.blue as string;
    expect(href).toMatch(/^\.\.\/\.\.\/offline-scene\/.+\/B02\.tif$/);
    expect(readFileSync(path.resolve(out, href)).byteLength).toBeGreaterThan(0);
    expect(manifest.classes?.validation?.source).toBe('../../offline-scene/parcels.geojson');
  });

  it('validates against schema/manifest.schema.json with Python jsonschema', (ctx) => {
    if (!requirePython(['jsonschema'])) return ctx.skip();
    const script = `
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in jsonschema.Draft202012Validator(schema).iter_errors(json.load(open(sys.argv[2])))]
broken = json.load(open(sys.argv[2])); broken["shards"][0]["sha256"] = "XYZ"; del broken["totals"]
bad = list(jsonschema.Draft202012Validator(schema).iter_errors(broken))
print(json.dumps({"errors": errors, "brokenErrors": len(bad)}))
`;
    const run = spawnSync(PYTHON, ['-c', script, SCHEMA, path.join(out, 'manifest.json')], {
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout) as { errors: string[]; brokenErrors: number };
    expect(result.errors).toEqual([]);
    // The validator does check: a bad checksum and a missing field are both reported.
    expect(result.brokenErrors).toBe(2);
  });

  it('has a STAC Collection and one Item per sample, each pointing at the shard that holds it', () => {
    const collection = StacCollectionShape.parse(JSON.parse(texts.get('collection.json') as string));
    expect(collection.id).toBe(manifest.name);
    LabelSummariesShape.parse(collection.summaries);
    expect(collection.summaries['eo:bands'].map((b) => b.name)).toEqual(
      manifest.bands.flatMap((g) => g.bands.map((b) => b.name)),
    );
    const items = (texts.get('items.ndjson') as string)
      .split('\n')
      .filter(Boolean)
      .map((l) => StacItemShape.parse(JSON.parse(l)));
    expect(items).toHaveLength(manifest.totals.written);
    const [w, s, e, n] = collection.extent.spatial.bbox[0] as number[];
    for (const item of items) {
      const shard = String(item.assets.shard?.href).replace(/^\.\//, '');
      expect(keysByShard.get(shard), item.id).toContain(item.id);
      const split = manifest.shards.find((x) => x.path === shard)?.split;
      expect(item.properties['ml-aoi:split']).toBe(split === 'validation' ? 'validate' : split);
      const sample = JSON.parse(texts.get(`${shard}:${item.id}.json`) as string) as {
        boundsWgs84: number[];
        dates: string[];
      };
      expect(item.bbox).toEqual(sample.boundsWgs84);
      expect(item.properties.start_datetime).toBe(sample.dates[0]);
      expect(item.properties.end_datetime).toBe(sample.dates[sample.dates.length - 1]);
      const [iw, is, ie, iN] = item.bbox as number[];
      expect(iw).toBeGreaterThanOrEqual(w as number);
      expect(ie).toBeLessThanOrEqual(e as number);
      expect(is).toBeGreaterThanOrEqual(s as number);
      expect(iN).toBeLessThanOrEqual(n as number);
    }
  });

  it("has a card whose front matter (PyYAML) names exactly each split's shards", (ctx) => {
    if (!requirePython(['yaml'])) return ctx.skip();
    const script = `
import glob, json, os, sys, yaml
text = open(os.path.join(sys.argv[1], "README.md")).read()
assert text.startswith("---\\n")
front = yaml.safe_load(text.split("\\n---\\n")[0][4:])
out = {}
for config in front["configs"]:
    for entry in config["data_files"]:
        files = set()
        for pattern in entry["path"]:
            files |= {os.path.relpath(f, sys.argv[1]) for f in glob.glob(os.path.join(sys.argv[1], pattern))}
        out[entry["split"]] = sorted(files)
print(json.dumps({"files": out, "license": front["license"], "tasks": front["task_categories"]}))
`;
    const run = spawnSync(PYTHON, ['-c', script, out], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const front = JSON.parse(run.stdout) as {
      files: Record<string, string[]>;
      license: string;
      tasks: string[];
    };
    const expected: Record<string, string[]> = {};
    for (const s of manifest.shards) {
      expected[s.split] = [...(expected[s.split] ?? []), s.path];
    }
    for (const list of Object.values(expected)) list.sort();
    expect(front.files).toEqual(expected);
    expect(front.license).toBe('other');
    expect(front.tasks).toEqual(['image-segmentation']);
    const card = texts.get('README.md') as string;
    expect(card).toContain(manifest.runId);
    for (const c of manifest.classes?.table ?? []) expect(card).toContain(`| ${c.id} |`);
  });

  it('is copied whole by pull', async () => {
    const copy = path.join(dir, 'copy');
    const report = await pullDataset(new FsBlobStore(out), copy);
    expect(report.missingSideFiles).toEqual([]);
    for (const f of ['collection.json', 'items.ndjson', 'README.md']) {
      expect(readFileSync(path.join(copy, f), 'utf8')).toBe(texts.get(f));
    }
    expect((await verifyDataset(new FsBlobStore(copy))).problems).toEqual([]);

    // verify reads the index: a sample left out and one pointed at the wrong shard are named.
    const lines = (texts.get('items.ndjson') as string).split('\n').filter(Boolean);
    const [dropped, moved, ...rest] = lines.map(
      (l) => JSON.parse(l) as { id: string; assets: { shard: { href: string } } },
    );
    const right = (moved as { assets: { shard: { href: string } } }).assets.shard.href;
    const wrong = manifest.shards.map((x) => `./${x.path}`).find((p) => p !== right) as string;
    (moved as { assets: { shard: { href: string } } }).assets.shard.href = wrong;
    await writeFile(
      path.join(copy, 'items.ndjson'),
      [moved, ...rest].map((x) => `${JSON.stringify(x)}\n`).join(''),
    );
    const problems = (await verifyDataset(new FsBlobStore(copy))).problems;
    expect(problems).toEqual([
      `items.ndjson line 1: sample ${moved?.id} is in ${right.slice(2)}, the index says ${wrong.slice(2)}`,
      `items.ndjson does not list 1 sample(s): ${dropped?.id}`,
    ]);
  });
});
