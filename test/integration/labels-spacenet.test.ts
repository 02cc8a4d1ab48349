// SpaceNet building masks against GDAL and GEOS: the 43 Atlanta footprints of solaris' sample (real
// data, EPSG:32616, 0.5 m) go through the real reader and validator, then buildingMasks on the grid
// of their image; rasterio.features.rasterize and shapely (Debian's /usr/bin/python3) are the oracle.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type BuildingMasks, buildingMasks } from '../../shared/domain/labels/buildings.ts';
import { readLabelSource } from '../../shared/domain/labels/read.ts';
import type { BurnFeature, PixelGrid } from '../../shared/domain/labels/types.ts';
import { validateLabels } from '../../shared/domain/labels/validate.ts';
import { fixturesRoot, PYTHON } from '../helpers/rasterio-reference.ts';
import { requireFixture, requirePython } from '../helpers/requirements.ts';

const SPACENET = 'labels/spacenet_atlanta_buildings_not_s2';
const folder = path.join(fixturesRoot(), SPACENET);
const labelsFile = path.join(folder, 'geotiff_labels.geojson');
const imageFile = path.join(folder, 'sample_geotiff.tif');
const ready =
  requireFixture(`${SPACENET}/geotiff_labels.geojson`, `${SPACENET}/sample_geotiff.tif`) &&
  requirePython(['rasterio', 'numpy', 'shapely']);

/** sample_geotiff.tif: bounds [733601, 3724689, 734051, 3725139], 900 x 900 at 0.5 m (PROVENANCE.md). */
const grid: PixelGrid = { originX: 733_601, originY: 3_725_139, pixelSize: 0.5, width: 900, height: 900 };
const options = { boundaryWidth: 1, contactDistance: 2.5, maxDistance: 8 } as const;
/** Pixel centres this close to an outline may fall either way (GDAL and we round differently). */
const EDGE = 1e-6;

type Oracle = {
  /** GDAL geotransform of the image, to prove the grid above is the image's. */
  transform: number[];
  epsg: number;
  /** rasterio's footprint pixel count. */
  refCount: number;
  /** Pixels where the footprints differ, with their centre's distance to the nearest outline. */
  diffs: { p: number; ours: number; ref: number; edge: number }[];
  /** shapely signed distance of each sampled pixel centre (+ inside). */
  sampled: number[];
  /** For each contact pixel, the buildings (0-based) whose outline or inside is within contactDistance. */
  contactNear: number[][];
  /** Pairwise building distances, [i][j]. */
  pairs: number[][];
};

const ORACLE = `
import json, sys
import numpy as np
import rasterio
from rasterio.features import rasterize
from rasterio.transform import from_origin
from shapely.geometry import Point, Polygon, MultiLineString
from shapely.ops import unary_union
from shapely.prepared import prep
spec = json.load(open(sys.argv[1]))
g = spec['grid']
polys = [Polygon(rings[0], rings[1:]) for rings in spec['polygons']]
with rasterio.open(spec['image']) as ds:
    transform = list(ds.transform.to_gdal())
    epsg = ds.crs.to_epsg()
t = from_origin(g['originX'], g['originY'], g['pixelSize'], g['pixelSize'])
ref = rasterize([(p, 1) for p in polys], out_shape=(g['height'], g['width']), transform=t, fill=0, dtype='uint8')
ours = np.fromfile(spec['footprint'], dtype=np.uint8).reshape(g['height'], g['width'])
outlines = unary_union([p.boundary for p in polys])
union = prep(unary_union(polys))
def centre(p):
    r, c = divmod(p, g['width'])
    return Point(g['originX'] + (c + 0.5) * g['pixelSize'], g['originY'] - (r + 0.5) * g['pixelSize'])
diffs = []
for r, c in zip(*np.nonzero(ours != ref)):
    p = int(r) * g['width'] + int(c)
    diffs.append({'p': p, 'ours': int(ours[r, c]), 'ref': int(ref[r, c]), 'edge': outlines.distance(centre(p))})
sampled = []
for p in spec['samples']:
    pt = centre(p)
    d = outlines.distance(pt)
    sampled.append(d if union.contains(pt) else -d)
cd = spec['contactDistance']
contact_near = [[i for i, poly in enumerate(polys) if poly.distance(centre(p)) <= cd + 1e-9] for p in spec['contact']]
pairs = [[a.distance(b) for b in polys] for a in polys]
json.dump({'transform': transform, 'epsg': epsg, 'refCount': int(ref.sum()), 'diffs': diffs, 'sampled': sampled,
           'contactNear': contact_near, 'pairs': pairs}, sys.stdout)
`;

function runOracle(
  features: readonly BurnFeature[],
  masks: BuildingMasks,
  samples: number[],
  contact: number[],
): Oracle {
  const dir = mkdtempSync(path.join(tmpdir(), 'satfactory-spacenet-'));
  try {
    const footprint = path.join(dir, 'footprint.u8');
    writeFileSync(footprint, masks.footprint);
    const input = path.join(dir, 'in.json');
    // Rings as the validator left them, closed again for shapely.
    const polygons = features.map((f) =>
      f.polygons[0]!.rings.map((ring) => {
        const xy: [number, number][] = [];
        for (let i = 0; i < ring.length; i += 2) xy.push([ring[i]!, ring[i + 1]!]);
        return [...xy, xy[0]!];
      }),
    );
    writeFileSync(
      input,
      JSON.stringify({
        grid,
        image: imageFile,
        footprint,
        polygons,
        samples,
        contact,
        contactDistance: options.contactDistance,
      }),
    );
    const run = spawnSync(PYTHON, ['-c', ORACLE, input], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (run.status !== 0) throw new Error(`the rasterio/shapely oracle failed: ${run.stderr}`);
    return JSON.parse(run.stdout) as Oracle;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!ready)('SpaceNet Atlanta buildings vs rasterio and shapely', () => {
  const setup = async () => {
    const source = labelsFile;
    const raw = await readLabelSource(readFileSync(source), { source });
    const checked = validateLabels(raw, { classProperty: 'building', repair: false, source });
    const features: BurnFeature[] = checked.features.map((f, i) => ({
      classId: 1,
      instanceId: i + 1,
      polygons: f.polygons,
    }));
    const masks = buildingMasks(features, grid, options);
    const n = grid.width * grid.height;
    // Every 97th pixel of the image, plus every 7th pixel within the capped distance of an outline.
    const samples: number[] = [];
    for (let p = 0; p < n; p++) {
      if (p % 97 === 0 || (Math.abs(masks.distance[p]!) < options.maxDistance && p % 7 === 0))
        samples.push(p);
    }
    const contact: number[] = [];
    for (let p = 0; p < n; p++) if (masks.contact[p] === 1) contact.push(p);
    return {
      raw,
      checked,
      features,
      masks,
      samples,
      contact,
      oracle: runOracle(features, masks, samples, contact),
    };
  };
  let data: Awaited<ReturnType<typeof setup>> | undefined;
  const get = async () => {
    data ??= await setup();
    return data;
  };

  it('reads all 43 footprints in EPSG:32616, and the grid is the image grid', async () => {
    const { raw, checked, oracle } = await get();
    expect(raw.epsg).toBe(32616);
    expect(raw.features).toHaveLength(43);
    expect(checked.features).toHaveLength(43);
    expect(checked.log.filter((e) => e.action === 'dropped')).toEqual([]);
    expect(oracle.epsg).toBe(32616);
    expect(oracle.transform).toEqual([grid.originX, grid.pixelSize, 0, grid.originY, 0, -grid.pixelSize]);
  });

  it('the footprint equals rasterio.features.rasterize (centre rule) except at centres on an edge', async () => {
    const { masks, oracle } = await get();
    const ours = masks.footprint.reduce((s, v) => s + v, 0);
    expect(ours).toBeGreaterThan(10_000);
    for (const d of oracle.diffs)
      expect(d.edge, `pixel ${d.p}: ours ${d.ours}, rasterio ${d.ref}`).toBeLessThan(EDGE);
    expect(Math.abs(ours - oracle.refCount)).toBe(oracle.diffs.length);
    // Real footprints have vertices off the grid: a pixel centre on an edge should be rare.
    expect(oracle.diffs.length).toBeLessThan(10);
  });

  it('the signed distance matches shapely within 1e-4 m, clipped at maxDistance', async () => {
    const { masks, samples, oracle } = await get();
    expect(samples.length).toBeGreaterThan(10_000);
    let inside = 0;
    let capped = 0;
    samples.forEach((p, i) => {
      const ref = oracle.sampled[i]!;
      const clipped = Math.sign(ref) * Math.min(Math.abs(ref), options.maxDistance);
      if (Math.abs(ref) < EDGE) return;
      if (ref > 0) inside++;
      if (Math.abs(ref) >= options.maxDistance) capped++;
      expect(
        Math.abs(masks.distance[p]! - clipped),
        `pixel ${p}: ours ${masks.distance[p]}, shapely ${ref}`,
      ).toBeLessThan(1e-4);
    });
    // The sample holds inside, outside and far (capped) pixels.
    expect(inside).toBeGreaterThan(1000);
    expect(capped).toBeGreaterThan(1000);
  });

  it('contact pixels lie only between buildings less than 2 x contactDistance apart', async () => {
    const { masks, contact, oracle } = await get();
    expect(contact.length).toBeGreaterThan(0);
    const touched = new Set<string>();
    contact.forEach((p, k) => {
      expect(masks.footprint[p]).toBe(0);
      // Within contactDistance of two buildings: so those two are at most twice that apart.
      const near = oracle.contactNear[k]!;
      expect(near.length, `contact pixel ${p}`).toBeGreaterThanOrEqual(2);
      for (const i of near) {
        for (const j of near) {
          if (i < j) {
            expect(oracle.pairs[i]![j]!).toBeLessThanOrEqual(2 * options.contactDistance + 1e-9);
            touched.add(`${i}-${j}`);
          }
        }
      }
    });
    // The closest pair (about 3 m apart) is separated by contact pixels; pairs farther than
    // 2 x contactDistance never are.
    const pairs: [number, number, number][] = [];
    oracle.pairs.forEach((row, i) => {
      row.forEach((d, j) => {
        if (i < j) pairs.push([d, i, j]);
      });
    });
    pairs.sort((a, b) => a[0] - b[0]);
    const [closest, i, j] = pairs[0]!;
    expect(closest).toBeLessThan(2 * options.contactDistance);
    expect(touched.has(`${i}-${j}`)).toBe(true);
    // On this data every pair closer than 2 x contactDistance (four pairs, 3.0 to 4.5 m apart) has
    // a pixel centre within reach of both; the next pair (5.1 m) has none.
    const close = pairs.filter(([d]) => d < 2 * options.contactDistance).map(([, a, b]) => `${a}-${b}`);
    expect(close).toHaveLength(4);
    expect([...touched].sort()).toEqual(close.sort());
  });
});
