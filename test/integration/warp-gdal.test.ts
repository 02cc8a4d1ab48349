// The warp kernel (shared/domain/warp.ts) against GDAL's warper (rasterio.warp.reproject, GDAL's
// defaults: approximate transformer 0.125 px, source nodata honoured) on real Sentinel-2 fixtures,
// to the same grids with the same resampling: web-mercator grids at zoom-13 and zoom-11 pixel sizes,
// EPSG:3035 grids finer and coarser than the source (the coarser one also spills past the scene, so
// GDAL cuts it into chunks), the SCL band with nearest. Asserted: nearest ≥ 99.9 % identical pixels,
// bilinear/cubic mean absolute difference ≤ 0.01 DN and maximum ≤ 1 DN (rounding at .5 after
// last-bit differences of PROJ vs proj4js), average ≤ 0.05 DN and ≤ 1 DN, validity masks equal to 99.99 %. The figures print.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { converterBetween } from '../../shared/domain/crs.ts';
import {
  type GeoTransform,
  type RasterArray,
  type RasterGrid,
  type Resampling,
  sourceWindow,
  warp,
  windowGrid,
} from '../../shared/domain/warp.ts';
import { fixturesRoot, PYTHON, requireFixture, requirePython } from '../helpers/requirements.ts';

const ORACLE = path.resolve(import.meta.dirname, '../interop/warp_oracle.py');
const CROATIA = 'sentinel2/earthsearch_v1_timeseries_T33TWL_2023-08_croatia_120m/S2A_33TWL_20230815_0_L2A';
const BRANDENBURG = 'sentinel2/s2l1c_T33UUU_20170216_brandenburg';
const FTW = 'sentinel2/ftw_austria_T33UUP_2021_two_dates';
const ready = requireFixture(CROATIA, BRANDENBURG, FTW) && requirePython(['numpy', 'rasterio']);
const ALL: Resampling[] = ['nearest', 'bilinear', 'cubic', 'average'];

type Profile = {
  width: number;
  height: number;
  transform: GeoTransform;
  epsg: number;
  nodata: number | null;
  dtype: string;
};

const dir = mkdtempSync(path.join(tmpdir(), 'satfactory-warp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function typed(buf: Buffer, dtype: string): RasterArray {
  const b = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
  if (dtype === 'uint8') return new Uint8Array(b);
  if (dtype === 'uint16') return new Uint16Array(b);
  throw new Error(`unexpected dtype ${dtype}`);
}

/** GDAL's answer for each resampling, and the whole source band it warped. */
function gdal(file: string, band: number, dst: RasterGrid, resamplings: Resampling[]) {
  const out = mkdtempSync(path.join(dir, 'case-'));
  const run = spawnSync(PYTHON, [ORACLE], {
    input: JSON.stringify({ path: file, band, out, resamplings, dst }),
    encoding: 'utf8',
    env: { ...process.env, GDAL_NUM_THREADS: '1' },
  });
  if (run.status !== 0) throw new Error(`warp_oracle.py failed: ${run.stderr}`);
  const p = JSON.parse(run.stdout) as Profile;
  return {
    profile: p,
    src: typed(readFileSync(path.join(out, 'src.bin')), p.dtype),
    warped: Object.fromEntries(
      resamplings.map((r) => [r, typed(readFileSync(path.join(out, `${r}.bin`)), p.dtype)]),
    ),
  };
}

/** A size x size grid of `res` in `epsg` centred near the source's centre (origin off the pixel lattice). */
function gridAround(p: Profile, epsg: number, res: number, size: number): RasterGrid {
  const t = p.transform;
  const cx = t[0] + (p.width / 2) * t[1];
  const cy = t[3] + (p.height / 2) * t[5];
  const [x, y] = converterBetween(p.epsg, epsg).forward([cx, cy]) as [number, number];
  const x0 = Math.round((x - (size * res) / 2) / res) * res + 0.37 * res;
  const y0 = Math.round((y + (size * res) / 2) / res) * res - 0.21 * res;
  return { width: size, height: size, epsg, transform: [x0, res, 0, y0, 0, -res] };
}

type Agreement = { identical: number; mae: number; max: number; validAgree: number; valid: number };

function compare(
  ours: { data: RasterArray; valid: Uint8Array },
  ref: RasterArray,
  nodata: number | null,
): Agreement {
  let same = 0;
  let both = 0;
  let sum = 0;
  let max = 0;
  let validAgree = 0;
  for (let i = 0; i < ref.length; i++) {
    const a = ours.data[i] as number;
    const g = ref[i] as number;
    if (a === g) same++;
    // Without a source nodata GDAL fills nothing: every pixel it writes is valid.
    const gValid = nodata === null ? true : g !== nodata;
    const aValid = ours.valid[i] === 1;
    if (aValid === gValid) validAgree++;
    if (aValid && gValid) {
      both++;
      const d = Math.abs(a - g);
      sum += d;
      if (d > max) max = d;
    }
  }
  return {
    identical: same / ref.length,
    mae: both ? sum / both : 0,
    max,
    validAgree: validAgree / ref.length,
    valid: both,
  };
}

const CASES: {
  name: string;
  file: string;
  band: number;
  epsg: number;
  res: number;
  size: number;
  kinds?: Resampling[];
}[] = [
  // Real 10 m pixels onto zoom-13 web-mercator pixels (9.55 m), a 512 px tile.
  {
    name: 'Brandenburg B02 (10 m) → EPSG:3857 9.55 m',
    file: `${BRANDENBURG}/T33UUU_20170216T102101_B02.tif`,
    band: 1,
    epsg: 3857,
    res: 9.554628535647032,
    size: 512,
  },
  {
    name: 'Brandenburg B02 (10 m) → EPSG:3035 10 m',
    file: `${BRANDENBURG}/T33UUU_20170216T102101_B02.tif`,
    band: 1,
    epsg: 3035,
    res: 10,
    size: 300,
  },
  // FTW (Austria, 10 m, several bands): its 4th band onto a coarser 3035 grid (the kernels widen).
  {
    name: 'FTW Austria band 4 (10 m) → EPSG:3035 25 m',
    file: `${FTW}/inference-img.tif`,
    band: 4,
    epsg: 3035,
    res: 25,
    size: 120,
  },
  // 120 m Croatia (nodata at the scene edge): a tile larger than the scene, and a coarser grid.
  {
    name: 'Croatia B04 (120 m) → EPSG:3857 76.4 m (spills past the scene)',
    file: `${CROATIA}/B04.tif`,
    band: 1,
    epsg: 3857,
    res: 76.43702828517625,
    size: 512,
  },
  {
    name: 'Croatia B04 (120 m) → EPSG:3035 300 m (GDAL chunks it)',
    file: `${CROATIA}/B04.tif`,
    band: 1,
    epsg: 3035,
    res: 300,
    size: 200,
  },
  {
    name: 'Croatia B04 (120 m) → EPSG:3035 60 m',
    file: `${CROATIA}/B04.tif`,
    band: 1,
    epsg: 3035,
    res: 60,
    size: 400,
  },
  {
    name: 'Croatia SCL (120 m) → EPSG:3857 76.4 m',
    file: `${CROATIA}/SCL.tif`,
    band: 1,
    epsg: 3857,
    res: 76.43702828517625,
    size: 512,
    kinds: ['nearest'],
  },
];

describe.skipIf(!ready)('warp kernel vs GDAL (rasterio.warp.reproject) on real Sentinel-2 fixtures', () => {
  const figures: string[] = [];
  afterAll(() => console.log(`warp agreement with GDAL:\n${figures.join('\n')}`));

  for (const c of CASES) {
    it(c.name, () => {
      const file = path.join(fixturesRoot(), c.file);
      const probe = gdal(
        file,
        c.band,
        { width: 1, height: 1, epsg: 4326, transform: [0, 1, 0, 0, 0, -1] },
        [],
      );
      const dst = gridAround(probe.profile, c.epsg, c.res, c.size);
      const kinds = c.kinds ?? ALL;
      const { profile, src, warped } = gdal(file, c.band, dst, kinds);
      const raster = { ...profile, data: src };
      for (const r of kinds) {
        const ours = warp(raster, dst, r);
        expect(ours.data.constructor).toBe(src.constructor);
        const a = compare(ours, warped[r] as RasterArray, profile.nodata);
        figures.push(
          `${c.name} ${r}: identical ${(a.identical * 100).toFixed(4)} %, MAE ${a.mae.toFixed(5)} DN, ` +
            `max ${a.max} DN, validity agrees ${(a.validAgree * 100).toFixed(4)} % (${a.valid} valid px)`,
        );
        expect(a.valid, `${r}: some pixels must be compared`).toBeGreaterThan(1000);
        expect(a.validAgree, `${r} validity`).toBeGreaterThanOrEqual(0.9999);
        if (r === 'nearest') expect(a.identical, 'nearest identical').toBeGreaterThanOrEqual(0.999);
        else {
          // average: ~1 % of pixels of the FTW case land on the other side of .5 (GDAL's weights
          // differ from ours by a few hundredths there, cause not found), hence its looser bound.
          expect(a.mae, `${r} MAE`).toBeLessThanOrEqual(r === 'average' ? 0.05 : 0.01);
          expect(a.max, `${r} max`).toBeLessThanOrEqual(1);
        }
      }
    });
  }

  it('warping from the source window that sourceWindow names equals warping from the whole raster', () => {
    const file = path.join(fixturesRoot(), `${CROATIA}/B04.tif`);
    const probe = gdal(file, 1, { width: 1, height: 1, epsg: 4326, transform: [0, 1, 0, 0, 0, -1] }, []);
    const whole = { ...probe.profile, data: probe.src };
    for (const [epsg, res, size] of [
      [3857, 76.43702828517625, 128],
      [3035, 300, 40],
      [3035, 60, 100],
    ] as const) {
      const dst = gridAround(probe.profile, epsg, res, size);
      for (const r of ALL) {
        const w = sourceWindow(whole, dst, r);
        if (!w) throw new Error('the grid meets the scene');
        const g = windowGrid(whole, w);
        const data = new Uint16Array(g.width * g.height);
        for (let y = 0; y < g.height; y++)
          data.set(
            (probe.src as Uint16Array).subarray(
              (w.y0 + y) * whole.width + w.x0,
              (w.y0 + y) * whole.width + w.x1,
            ),
            y * g.width,
          );
        const a = warp(whole, dst, r);
        const b = warp({ ...g, data, nodata: probe.profile.nodata }, dst, r);
        expect(Buffer.from(b.data.buffer).equals(Buffer.from(a.data.buffer)), `${epsg} ${r}`).toBe(true);
        expect(Buffer.from(b.valid).equals(Buffer.from(a.valid)), `${epsg} ${r} valid`).toBe(true);
      }
    }
  });
});
