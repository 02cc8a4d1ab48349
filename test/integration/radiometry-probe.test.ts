// The radiometry probe on real Sentinel-2 COGs served over local HTTP: it reads only the blue
// band's smallest overview and judges whether the pixels hold the +1000 of baseline 04.00. Oracles:
// numpy's sorted valid pixels of the same overview (rasterio overview_level), and the range server's
// own byte count. Real rasters: Croatia 2023 (5 dates) and Austria 2022 (2 dates), both flagged
// "offset applied" by Earth Search; the 2020 Western Sahara scene (baseline 02.14, no offset).
// EDITED ON PURPOSE: copies of the Croatia 2023-08-15 and the 2020 blue bands with 1000 added to
// every valid pixel (written here with rasterio's COG driver), as pixels that hold the offset.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpRangeReader } from '../../shared/adapters/local/http-range-reader.ts';
import { readCogHeader } from '../../shared/domain/cog-header.ts';
import { itemFacts } from '../../shared/domain/radiometry.ts';
import { countingReader, probeImage } from '../../shared/domain/radiometry-probe.ts';
import { type RangeServer, startRangeServer } from '../helpers/range-server.ts';
import { fixturesRoot, PYTHON, requireFixture, requirePython } from '../helpers/requirements.ts';

const CROATIA = 'earthsearch_v1_timeseries_T33TWL_2023-08_croatia_120m';
const AUSTRIA = 'earthsearch_v1_T33UWP_2022-04_austria_cloudy_480m';
const RKH = 'earthsearch_S2A_29RKH_20200219_L2A';
const ready =
  requireFixture(`sentinel2/${CROATIA}`, `sentinel2/${AUSTRIA}`, `sentinel2/${RKH}`) &&
  requirePython(['rasterio', 'numpy']);

/** numpy: the smallest overview's size, valid pixels and the same lower order statistic p1. */
const ORACLE = `
import json, sys
import numpy as np
import rasterio
path = sys.argv[1]
with rasterio.open(path) as ds:
    levels = len(ds.overviews(1))
with (rasterio.open(path, overview_level=levels - 1) if levels else rasterio.open(path)) as ds:
    a = ds.read(1)
    v = np.sort(a[a != 0])
    print(json.dumps({'width': ds.width, 'height': ds.height, 'valid': int(v.size),
                      'p1': int(v[int(np.floor(0.01 * (v.size - 1)))])}))
`;

/** Writes `out` as a COG like the fixture (DEFLATE, predictor 2, 256 px tiles) with 1000 added to valid pixels. */
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
tmp = out + '.tmp.tif'
with rasterio.open(tmp, 'w', **profile) as d:
    d.write(b, 1)
copy(tmp, out, driver='COG', COMPRESS='DEFLATE', PREDICTOR='2', BLOCKSIZE='256', RESAMPLING='NEAREST')
`;

function python(script: string, args: string[]): string {
  const run = spawnSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`python failed: ${run.stderr}`);
  return run.stdout;
}

type Case = { label: string; file: string; item: string; urlPath: string };

describe.skipIf(!ready)('the radiometry probe on real COGs over HTTP', () => {
  let server: RangeServer;
  let dir: string;
  const root = path.join(fixturesRoot(), 'sentinel2');

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'satfactory-probe-'));
    server = await startRangeServer({ root });
    // The pixels + 1000, served from memory next to the real files.
    for (const [name, src] of [
      ['croatia-0815-plus1000.tif', `${CROATIA}/S2A_33TWL_20230815_0_L2A/B02.tif`],
      ['rkh-plus1000.tif', `${RKH}/B02.tif`],
    ] as const) {
      python(PLUS_1000, [path.join(root, src), path.join(dir, name)]);
      server.put(`/edited/${name}`, await readFile(path.join(dir, name)));
    }
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function probe(c: Case) {
    const facts = itemFacts(JSON.parse(await readFile(path.join(root, c.item), 'utf8')));
    const ranges = new HttpRangeReader();
    const url = server.urlFor(c.urlPath);
    const { smallest } = await readCogHeader(ranges, url);
    server.resetStats();
    const result = await probeImage(countingReader(ranges), smallest, 'blue', facts.darkPercent);
    const oracle = JSON.parse(python(ORACLE, [c.file])) as {
      width: number;
      height: number;
      valid: number;
      p1: number;
    };
    return { result, oracle, served: server.totals(), fileBytes: (await stat(c.file)).size, facts };
  }

  const real = (folder: string, id: string | null): Case => {
    const rel = id ? `${folder}/${id}` : folder;
    const itemId = id ?? 'S2A_29RKH_20200219_0_L2A';
    return {
      label: itemId,
      file: path.join(root, rel, 'B02.tif'),
      item: `${rel}/${itemId}.json`,
      urlPath: `${rel}/B02.tif`,
    };
  };

  it('Croatia 2023, five real dates flagged "offset applied": no +1000 in the pixels, ~12 KB each', async () => {
    for (const id of [
      'S2B_33TWL_20230810_0_L2A',
      'S2B_33TWL_20230813_0_L2A',
      'S2A_33TWL_20230815_0_L2A',
      'S2A_33TWL_20230818_0_L2A',
      'S2B_33TWL_20230820_0_L2A',
    ]) {
      const { result, oracle, served, fileBytes, facts } = await probe(real(CROATIA, id));
      expect(facts.offsetApplied, id).toBe(true);
      expect(result, id).toMatchObject({
        verdict: 'no-offset-in-pixels',
        width: oracle.width,
        height: oracle.height,
        validPixels: oracle.valid,
        p1: oracle.p1,
      });
      expect(oracle.width * 4, id).toBe(544); // the smallest of two overview levels
      // The probe's bill is what the server sent: one request, the overview's one tile.
      expect(result.bytes, id).toBe(served.bytes);
      expect(result.requests, id).toBe(1);
      expect(result.bytes, id).toBeLessThan(16 * 1024);
      expect(result.bytes / fileBytes, id).toBeLessThan(0.07);
    }
  });

  it('Austria 2022: 94 % cloud, still no +1000 (p1 ~700); 99.9 % cloud: unknown (nothing dark)', async () => {
    const clear = await probe(real(AUSTRIA, 'S2A_33UWP_20220405_0_L2A'));
    expect(clear.result).toMatchObject({ verdict: 'no-offset-in-pixels', p1: clear.oracle.p1 });
    const cloudy = await probe(real(AUSTRIA, 'S2A_33UWP_20220402_0_L2A'));
    expect(cloudy.result).toMatchObject({ verdict: 'unknown', p1: cloudy.oracle.p1 });
    expect(cloudy.oracle.p1).toBeGreaterThan(3000);
    // No overviews in these files: the probe reads the whole (small) image.
    for (const r of [clear, cloudy]) {
      expect(r.result.bytes).toBe(r.served.bytes);
      expect(r.result.bytes).toBeLessThanOrEqual(r.fileBytes);
    }
  });

  it('the 2020 desert scene (no offset): p1 ~1010, yet unknown, not "offset": bright scenes prove nothing', async () => {
    const { result, oracle, served, fileBytes } = await probe(real(RKH, null));
    expect(oracle.p1).toBeGreaterThanOrEqual(1000);
    expect(result).toMatchObject({ verdict: 'unknown', p1: oracle.p1, validPixels: oracle.valid });
    expect(result.reason).toMatch(/0\.0 % vegetation or water/);
    expect(result.bytes).toBe(served.bytes);
    expect(result.bytes / fileBytes).toBeLessThan(0.1);
  });

  it('EDITED pixels + 1000: "offset" where the scene is vegetated (Croatia), unknown in the desert', async () => {
    const croatia = await probe({
      label: 'croatia +1000',
      file: path.join(dir, 'croatia-0815-plus1000.tif'),
      item: `${CROATIA}/S2A_33TWL_20230815_0_L2A/S2A_33TWL_20230815_0_L2A.json`,
      urlPath: 'edited/croatia-0815-plus1000.tif',
    });
    expect(croatia.result).toMatchObject({ verdict: 'offset-in-pixels', p1: croatia.oracle.p1 });
    expect(croatia.oracle.p1).toBeGreaterThan(1100);
    const desert = await probe({
      label: 'rkh +1000',
      file: path.join(dir, 'rkh-plus1000.tif'),
      item: `${RKH}/S2A_29RKH_20200219_0_L2A.json`,
      urlPath: 'edited/rkh-plus1000.tif',
    });
    expect(desert.result).toMatchObject({ verdict: 'unknown', p1: desert.oracle.p1 });
  });
});
