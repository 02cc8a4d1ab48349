// Bad inputs through the command line, one case per test: the exit code, a message that names the
// real cause and the file, field or URL, and nothing written that should not be. Cases of the fault
// table (test/README.md); the offline example scene is the base job.
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fromArrayBuffer } from 'geotiff';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOfflineScene } from '../../scripts/make-offline-example.ts';
import { readShard } from '../../shared/domain/shard.ts';
import { type RangeServer, startRangeServer } from '../helpers/range-server.ts';
import { cliInProcess, cliSpawn } from '../helpers/run-cli.ts';
import { buildTiff } from '../helpers/tiff-builder.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const DATES = ['SYNTH_33TWL_20230504_0_L2A', 'SYNTH_33TWL_20230613_0_L2A', 'SYNTH_33TWL_20230723_0_L2A'];

let dir: string;
let base: Record<string, unknown>;

/** Writes `<name>.json`: the offline job with its output in out/<name> and the changes applied. */
async function job(name: string, changes: Record<string, unknown> = {}): Promise<string> {
  const file = path.join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify({ ...base, output: { uri: `out/${name}` }, ...changes }));
  return file;
}

/** Files under a folder, recursively, as relative paths ([] when the folder does not exist). */
async function filesUnder(folder: string): Promise<string[]> {
  try {
    const entries = await readdir(folder, { recursive: true, withFileTypes: true });
    return entries
      .filter((e) => e.isFile())
      .map((e) => path.relative(folder, path.join(e.parentPath, e.name)))
      .sort();
  } catch {
    return [];
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'satfactory-messages-'));
  await chmod(dir, 0o755);
  await makeOfflineScene(path.join(dir, 'offline-scene'));
  base = JSON.parse(await readFile(path.join(repo, 'examples/offline.json'), 'utf8'));
  delete base.$schema;
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('job spec and command line', () => {
  it('exits 2 on a job file that is not JSON, naming the file and the parse error', async () => {
    const file = path.join(dir, 'broken.json');
    await writeFile(file, '{"name": "offline-example", "catalog": {');
    const r = await cliInProcess(['plan', file]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/InvalidInputError: job spec \S+broken\.json is not valid JSON: /);
  });

  it('exits 2 on an unknown field, naming it and its place', async () => {
    const r = await cliInProcess(['plan', await job('unknown-field', { colour: 'red' })]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown-field\.json is invalid:\n {2}\/: Unrecognized key: "colour"/);
    expect(await filesUnder(path.join(dir, 'out/unknown-field'))).toEqual([]);
  });

  it('exits 2 on an impossible date (2023-02-30), naming /period/start, writing nothing', async () => {
    const r = await cliInProcess([
      'plan',
      await job('impossible-date', { period: { start: '2023-02-30', end: '2023-07-31' } }),
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /\/period\/start: 2023-02-30 is not a real calendar date \(2023-02 has no day 30\)/,
    );
    expect(await filesUnder(path.join(dir, 'out/impossible-date'))).toEqual([]);
  });

  it('exits 2 on --threads 0, abc, 1.5 or nothing, before reading the job', async () => {
    for (const value of ['0', 'abc', '1.5', '']) {
      const r = await cliSpawn(['run', await job('threads'), `--threads=${value}`], dir);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toContain(
        `--threads "${value}" is not a number of threads: give a whole number from 1 to 1024`,
      );
    }
    expect(await filesUnder(path.join(dir, 'out/threads'))).toEqual([]);
  }, 60_000);

  it('exits 2 on an AOI with empty coordinates, blaming /aoi/coordinates and not an item footprint', async () => {
    const r = await cliInProcess([
      'plan',
      await job('empty-aoi', { aoi: { type: 'Polygon', coordinates: [] } }),
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/empty-aoi\.json \/aoi\/coordinates: the polygon has no rings/);
    expect(r.err).not.toMatch(/footprint/);
    expect(await filesUnder(path.join(dir, 'out/empty-aoi'))).toEqual([]);
  });
});

describe('inputs that name the wrong thing', () => {
  it('exits 2 on an unknown band name, naming it and listing the asset keys the items have, before any dataset file', async () => {
    const r = await cliInProcess(['plan', await job('unknown-band', { bands: ['blue', 'nir99'] })]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /band "nir99" is not an asset of any of the 3 item\(s\) found in static STAC \S+; band names are STAC asset keys, and these items have: blue, green, nir, red, rededge1, scl, swir16 \(.*pointer=\/bands\/1\)/,
    );
    expect(r.err).not.toMatch(/widen the period/);
    // Only the run's scratch (the job and the catalog page) exists: no selection.json, no dataset file.
    const files = await filesUnder(path.join(dir, 'out/unknown-band'));
    expect(files.filter((f) => !f.startsWith('.satfactory/'))).toEqual([]);
  });

  it('rejects only the items that lack a band, with the reason in selection.json, and plans the others', async () => {
    const scene = path.join(dir, 'scene-missing-band');
    await cp(path.join(dir, 'offline-scene'), scene, { recursive: true });
    const itemFile = path.join(scene, DATES[1] as string, `${DATES[1]}.json`);
    const item = JSON.parse(await readFile(itemFile, 'utf8'));
    delete item.assets.swir16;
    await writeFile(itemFile, JSON.stringify(item));
    const r = await cliInProcess([
      'plan',
      await job('missing-band', { catalog: { kind: 'static', source: 'scene-missing-band' } }),
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/products\s+2 on 1 tile/);
    const selection = JSON.parse(await readFile(path.join(dir, 'out/missing-band/selection.json'), 'utf8'));
    const rejected = selection.candidates.find((c: { id: string }) => c.id === DATES[1]);
    expect(rejected).toMatchObject({ chosen: false, reason: 'missing-band', detail: 'no asset for swir16' });
  });

  it('exits 2 when labels.source is a folder, saying so and naming a file in it, writing nothing', async () => {
    const r = await cliInProcess([
      'plan',
      await job('labels-folder', { labels: { source: 'offline-scene', classProperty: 'crop' } }),
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /labels\.source \S+offline-scene is a folder, not a label file; name one file in it \(GeoJSON, FlatGeobuf or CSV\), e\.g\. objects\.geojson, parcels\.geojson/,
    );
    expect(r.err).not.toMatch(/does not exist/);
    expect(await filesUnder(path.join(dir, 'out/labels-folder'))).toEqual([]);
  });

  it('exits 2 when labels.source does not exist, naming the path, writing nothing', async () => {
    const r = await cliInProcess([
      'plan',
      await job('labels-missing', { labels: { source: 'nowhere/parcels.geojson', classProperty: 'crop' } }),
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/labels\.source \S+nowhere\/parcels\.geojson does not exist; check the path/);
    expect(await filesUnder(path.join(dir, 'out/labels-missing'))).toEqual([]);
  });

  it('exits 2 when the window size does not co-register the bands; no manifest, no shard', async () => {
    const r = await cliInProcess(['plan', await job('odd-window', { windows: { size: 25 } })]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /windows\.size 25 px at 10 m does not co-register band rededge1 \(20 m\): use a multiple of 2/,
    );
    // Plan explains its selection in selection.json; nothing of a dataset is written.
    const files = await filesUnder(path.join(dir, 'out/odd-window'));
    expect(files.filter((f) => !f.startsWith('.satfactory/'))).toEqual(['selection.json']);
  });
});

describe('outputs that cannot be written', () => {
  it('exits 2 on a read-only output folder, saying permission denied and naming the folder, writing nothing', async () => {
    const readonly = path.join(dir, 'read-only');
    await mkdir(readonly, { mode: 0o555 });
    await chmod(readonly, 0o555);
    const file = path.join(dir, 'readonly.json');
    await writeFile(file, JSON.stringify({ ...base, output: { uri: 'read-only/dataset' } }));
    // Permission bits do not bind root: run as nobody then (the effective uid only, restored after).
    const root = process.getuid?.() === 0;
    if (root) process.seteuid?.(65534);
    let r: Awaited<ReturnType<typeof cliInProcess>>;
    try {
      r = await cliInProcess(['plan', file]);
    } finally {
      if (root) process.seteuid?.(0);
    }
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      new RegExp(
        `StorageAccessError: cannot write \\S+: permission denied: ${readonly.replaceAll('/', '\\/')} is read-only for this user .*\\(EACCES on mkdir ${readonly.replaceAll('/', '\\/')}\\/dataset\\); choose an output\\.uri`,
      ),
    );
    expect(r.err).not.toMatch(/ENOENT/);
    expect(await readdir(readonly)).toEqual([]);
  });

  it('exits 1 on an s3:// output without an AWS region or credentials, saying which and how to set them', async () => {
    const file = await job('s3-output', { output: { uri: 's3://satfactory-test-bucket/crops' } });
    const home = path.join(dir, 'empty-home');
    await mkdir(home, { recursive: true });
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'],
      HOME: home,
      AWS_CONFIG_FILE: path.join(home, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none'),
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const noRegion = await cliSpawn(['plan', file], dir, env);
    expect(noRegion.code, noRegion.err).toBe(1);
    expect(noRegion.err).toMatch(
      /AwsSetupError: S3 (HeadObject|GetObject) of s3:\/\/satfactory-test-bucket\/crops\/\S+: no AWS region is configured \(the SDK says "Region is missing"\); set one, e\.g\. export AWS_REGION=us-west-2/,
    );
    const noCredentials = await cliSpawn(['plan', file], dir, { ...env, AWS_REGION: 'us-west-2' });
    expect(noCredentials.code, noCredentials.err).toBe(1);
    expect(noCredentials.err).toMatch(/AwsSetupError: .*: no AWS credentials were found .*aws configure/);
  }, 60_000);
});

describe('imagery that is not what it claims (served over HTTP)', () => {
  let server: RangeServer;
  let scene: string;
  /** The offline scene with http:// asset hrefs, as one ItemCollection. */
  const httpJob = async (name: string, changes: Record<string, unknown> = {}) => {
    const items = [];
    for (const d of DATES) {
      const item = JSON.parse(await readFile(path.join(scene, d, `${d}.json`), 'utf8'));
      for (const a of Object.values(item.assets) as { href: string }[])
        a.href = server.urlFor(`${d}/${a.href}`);
      items.push(item);
    }
    await writeFile(
      path.join(dir, 'http-items.json'),
      JSON.stringify({ type: 'FeatureCollection', features: items }),
    );
    return job(name, { catalog: { kind: 'static', source: 'http-items.json' }, ...changes });
  };
  const B02 = `${DATES[1]}/B02.tif`;

  beforeAll(async () => {
    scene = path.join(dir, 'scene-http');
    await cp(path.join(dir, 'offline-scene'), scene, { recursive: true });
    server = await startRangeServer({ root: scene });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('exits 1 at once on an HTML page instead of a COG, naming the URL, without retrying it', async () => {
    server.clearFaults();
    server.resetStats();
    server.inject({ path: `/${B02}`, fault: { kind: 'html' } });
    const r = await cliInProcess(['plan', await httpJob('html-cog')]);
    server.clearFaults();
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      new RegExp(
        `RangeRejectedError: ${server.urlFor(B02).replaceAll('.', '\\.')} answered 200 with an HTML page`,
      ),
    );
    expect(server.statsFor(B02).requests).toBe(1);
    expect(await filesUnder(path.join(dir, 'out/html-cog'))).not.toContain('manifest.json');
  });

  it('exits 1 on a missing COG (404), naming the URL, without retrying it', async () => {
    server.clearFaults();
    server.resetStats();
    server.inject({ path: `/${B02}`, fault: { kind: 'status', status: 404, body: 'NoSuchKey' } });
    const r = await cliInProcess(['plan', await httpJob('missing-cog')]);
    server.clearFaults();
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      new RegExp(`HttpRejectedError: 404 from ${server.urlFor(B02).replaceAll('.', '\\.')}`),
    );
    expect(server.statsFor(B02).requests).toBe(1);
  });

  it('exits 1 on a COG cut in half, naming the file and the truncation, asking for no range twice (no retries)', async () => {
    const cog = path.join(scene, B02);
    const whole = await readFile(cog);
    await writeFile(cog, whole.subarray(0, Math.floor(whole.length / 2)));
    server.clearFaults();
    server.resetStats();
    try {
      const r = await cliSpawn(['run', await httpJob('cut-cog')], dir);
      expect(r.code, r.err).toBe(1);
      expect(r.err).toMatch(
        new RegExp(
          `RangeRejectedError: range \\d+-\\d+ of ${server.urlFor(B02).replaceAll('.', '\\.')} runs past the end of the file \\(${Math.floor(whole.length / 2)} bytes\\); the file is shorter than its header says \\(truncated\\?\\)`,
        ),
      );
      expect(r.err).not.toMatch(/retrying/);
      // No retries: the header, the probe's overview, and one request per region that reached it
      // (the 4 regions of the scene may all need the same bytes; see issue 11).
      const asked = server.log.filter((q) => q.path === `/${B02}`).map((q) => q.range);
      expect(asked.length).toBeLessThanOrEqual(2 + 4);
      expect(await filesUnder(path.join(dir, 'out/cut-cog'))).not.toContain('manifest.json');
    } finally {
      await writeFile(cog, whole);
    }
  }, 120_000);
});

describe('a COG cut inside its header', () => {
  it('exits 1 at plan time, naming the file, its size and that it ends inside its header', async () => {
    const scene = path.join(dir, 'scene-cut-header');
    await cp(path.join(dir, 'offline-scene'), scene, { recursive: true });
    const cog = path.join(scene, DATES[1] as string, 'B02.tif');
    await writeFile(cog, (await readFile(cog)).subarray(0, 300));
    const r = await cliInProcess([
      'plan',
      await job('cut-header', { catalog: { kind: 'static', source: 'scene-cut-header' } }),
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /RasterFormatError: file:\/\/\S+\/SYNTH_33TWL_20230613_0_L2A\/B02\.tif is not a readable GeoTIFF: the file is only 300 bytes and ends inside its header \(.*\); it is truncated or not a TIFF/,
    );
    const files = await filesUnder(path.join(dir, 'out/cut-header'));
    expect(files.filter((f) => !f.startsWith('.satfactory/'))).toEqual(['selection.json']);
  });
});

describe('a strip TIFF instead of a tiled COG', () => {
  it('reads it: the samples equal those of the tiled COG, pixel for pixel', async () => {
    const stripped = path.join(dir, 'scene-strips');
    await cp(path.join(dir, 'offline-scene'), stripped, { recursive: true });
    for (const d of DATES) {
      const file = path.join(stripped, d, 'B02.tif');
      const bytes = await readFile(file);
      const tiff = await fromArrayBuffer(
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
      );
      const image = await tiff.getImage();
      const [data] = (await image.readRasters()) as unknown as [Uint16Array];
      const [originX, originY] = image.getOrigin() as [number, number];
      const [resX, resY] = image.getResolution() as [number, number];
      await writeFile(
        file,
        buildTiff([
          {
            width: image.getWidth(),
            height: image.getHeight(),
            data,
            rowsPerStrip: 16,
            compression: 8,
            predictor: 2,
            nodata: '0',
            geo: { originX, originY, resX, resY: -resY, epsg: 32633 },
          },
        ]),
      );
      const info = await stat(file);
      expect(info.size).toBeGreaterThan(0);
    }
    const tiled = await cliSpawn(['run', await job('tiled-run')], dir);
    expect(tiled.code, tiled.err).toBe(0);
    const strips = await cliSpawn(
      ['run', await job('strip-run', { catalog: { kind: 'static', source: 'scene-strips' } })],
      dir,
    );
    expect(strips.code, strips.err).toBe(0);
    const arrays = async (name: string) => {
      const manifest = JSON.parse(await readFile(path.join(dir, 'out', name, 'manifest.json'), 'utf8'));
      const out = new Map<string, string>();
      for (const shard of manifest.shards) {
        for (const s of await readShard(await readFile(path.join(dir, 'out', name, shard.path)))) {
          const npy = s.members.find((m) => m.name === '10m.npy');
          out.set(s.key, Buffer.from(npy?.data ?? []).toString('base64'));
        }
      }
      return out;
    };
    const a = await arrays('tiled-run');
    const b = await arrays('strip-run');
    expect(a.size).toBe(320);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [key, value] of a) expect(b.get(key), key).toBe(value);
  }, 300_000);
});
