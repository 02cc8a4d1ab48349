// The reference reader for raster tests and the bench: GDAL through Debian's rasterio
// (/usr/bin/python3), plus where the Sentinel-2 fixtures live. Both may be absent: tests check
// with test/helpers/requirements.ts (skip locally, fail in CI), the bench with rasterioAvailable.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PixelRect } from '../../shared/domain/cog-types.ts';
import { fixturesRoot, PYTHON } from './requirements.ts';

export { fixturesRoot, PYTHON };

/** A Sentinel-2 fixture folder, or undefined when it is not on this machine. */
export function sentinel2Fixture(name: string): string | undefined {
  const dir = path.join(fixturesRoot(), 'sentinel2', name);
  return existsSync(dir) ? dir : undefined;
}

let rasterio: boolean | undefined;
export function rasterioAvailable(): boolean {
  rasterio ??=
    existsSync(PYTHON) &&
    spawnSync(PYTHON, ['-c', 'import rasterio, numpy'], { stdio: 'ignore' }).status === 0;
  return rasterio;
}

export type ReferenceRead = {
  profile: ReferenceProfile;
  /** One little-endian byte buffer per window, rect.width * rect.height samples. */
  windows: Uint8Array[];
};

const READ_SCRIPT = `
import json, sys
import numpy as np
import rasterio
from rasterio.windows import Window
spec = json.load(sys.stdin)
with rasterio.Env(GDAL_NUM_THREADS=1):
    with rasterio.open(spec['path']) as ds:
        fill = ds.nodata if ds.nodata is not None else 0
        with open(spec['out'], 'wb') as out:
            for x, y, w, h in spec['windows']:
                a = ds.read(spec['band'], window=Window(x, y, w, h), boundless=True, fill_value=fill)
                out.write(np.ascontiguousarray(a).astype(a.dtype.newbyteorder('<')).tobytes())
        print(json.dumps({'width': ds.width, 'height': ds.height, 'transform': list(ds.transform.to_gdal()),
            'epsg': ds.crs.to_epsg() if ds.crs else None, 'nodata': ds.nodata, 'dtype': ds.dtypes[spec['band'] - 1],
            'block': list(ds.block_shapes[spec['band'] - 1])}))
`;

/** Reads windows with rasterio (boundless, filled with nodata ?? 0), the way GDAL users would. */
export function rasterioRead(file: string, rects: PixelRect[], band = 1): ReferenceRead {
  const dir = mkdtempSync(path.join(tmpdir(), 'satfactory-rio-'));
  const out = path.join(dir, 'windows.bin');
  try {
    const run = spawnSync(PYTHON, ['-c', READ_SCRIPT], {
      input: JSON.stringify({
        path: file,
        out,
        band,
        windows: rects.map((r) => [r.x, r.y, r.width, r.height]),
      }),
      encoding: 'utf8',
      env: { ...process.env, GDAL_NUM_THREADS: '1' },
    });
    if (run.status !== 0) throw new Error(`rasterio failed on ${file}: ${run.stderr}`);
    const profile = JSON.parse(run.stdout) as ReferenceProfile;
    const bytes = readFileSync(out);
    const size = bytesPerSample(profile.dtype);
    const windows: Uint8Array[] = [];
    let at = 0;
    for (const r of rects) {
      const n = r.width * r.height * size;
      windows.push(new Uint8Array(bytes.buffer, bytes.byteOffset + at, n));
      at += n;
    }
    return { profile, windows };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type ReferenceProfile = {
  width: number;
  height: number;
  /** GDAL geotransform: [originX, resX, 0, originY, 0, -resY]. */
  transform: number[];
  epsg: number | null;
  nodata: number | null;
  dtype: string;
  /** [rows, cols] of the internal blocks of band 1. */
  block: [number, number];
};

function bytesPerSample(dtype: string): number {
  const m = /(\d+)$/.exec(dtype);
  return m ? Number(m[1]) / 8 : 1;
}
