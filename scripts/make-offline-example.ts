// Writes a small synthetic Sentinel-2-like scene (3 dates; 10 m and 20 m bands and SCL as tiled
// DEFLATE + predictor-2 GeoTIFFs, with STAC items) so the offline example runs with no network.
// Usage: tsx scripts/make-offline-example.ts [folder]   (default examples/offline-scene)
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { toWgs84 } from '../shared/domain/crs.ts';
import { buildTiff } from '../test/helpers/tiff-builder.ts';

const EPSG = 32633;
const ORIGIN = [500000, 5000000] as const;
const SIZE_10M = 480;
const DATES = ['2023-05-04T10:00:00Z', '2023-06-13T10:00:00Z', '2023-07-23T10:00:00Z'];
const BANDS: Array<{ key: string; file: string; res: number }> = [
  { key: 'blue', file: 'B02', res: 10 },
  { key: 'green', file: 'B03', res: 10 },
  { key: 'red', file: 'B04', res: 10 },
  { key: 'nir', file: 'B08', res: 10 },
  { key: 'rededge1', file: 'B05', res: 20 },
  { key: 'swir16', file: 'B11', res: 20 },
];

/** Deterministic fields: smooth gradients per band and date plus a little hash noise. */
function reflectance(n: number, band: number, date: number): Uint16Array {
  const out = new Uint16Array(n * n);
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++) {
      const noise = ((x * 73856093) ^ (y * 19349663) ^ (band * 83492791) ^ date) & 255;
      out[y * n + x] = 1000 + band * 300 + date * 120 + Math.round((1500 * x) / n + (800 * y) / n) + noise;
    }
  // A strip of no-data along the east edge on the first date, as at a swath border.
  if (date === 0)
    for (let y = 0; y < n; y++) for (let x = Math.floor(n * 0.9); x < n; x++) out[y * n + x] = 0;
  return out;
}

function scl(n: number, date: number): Uint8Array {
  const out = new Uint8Array(n * n).fill(4);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) if ((x + y) % 97 === 0) out[y * n + x] = 5;
  // The second date has a cloud over the north-west quarter.
  if (date === 1) for (let y = 0; y < n / 2; y++) for (let x = 0; x < n / 2; x++) out[y * n + x] = 9;
  if (date === 0)
    for (let y = 0; y < n; y++) for (let x = Math.floor(n * 0.9); x < n; x++) out[y * n + x] = 0;
  return out;
}

function tiff(data: Uint16Array | Uint8Array, n: number, res: number): Uint8Array {
  const tile = res === 10 ? 256 : 128;
  return buildTiff([
    {
      width: n,
      height: n,
      data,
      tileWidth: tile,
      tileHeight: tile,
      compression: 8,
      predictor: 2,
      nodata: '0',
      geo: { originX: ORIGIN[0], originY: ORIGIN[1], resX: res, resY: res, epsg: EPSG },
    },
  ]);
}

export async function makeOfflineScene(folder: string): Promise<string[]> {
  const extent = SIZE_10M * 10;
  const corners = [
    [ORIGIN[0], ORIGIN[1]],
    [ORIGIN[0] + extent, ORIGIN[1]],
    [ORIGIN[0] + extent, ORIGIN[1] - extent],
    [ORIGIN[0], ORIGIN[1] - extent],
    [ORIGIN[0], ORIGIN[1]],
  ].map(([x, y]) => toWgs84(EPSG, [x as number, y as number]).map((v) => Math.round(v * 1e7) / 1e7));
  const ids: string[] = [];
  for (const [d, datetime] of DATES.entries()) {
    const id = `SYNTH_33TWL_${datetime.slice(0, 10).replaceAll('-', '')}_0_L2A`;
    ids.push(id);
    const dir = path.join(folder, id);
    await mkdir(dir, { recursive: true });
    const assets: Record<string, unknown> = {};
    for (const [b, band] of BANDS.entries()) {
      const n = (SIZE_10M * 10) / band.res;
      await writeFile(path.join(dir, `${band.file}.tif`), tiff(reflectance(n, b, d), n, band.res));
      assets[band.key] = {
        href: `${band.file}.tif`,
        type: 'image/tiff; application=geotiff; profile=cloud-optimized',
        'raster:bands': [
          { nodata: 0, data_type: 'uint16', spatial_resolution: band.res, scale: 0.0001, offset: -0.1 },
        ],
      };
    }
    await writeFile(path.join(dir, 'SCL.tif'), tiff(scl(SIZE_10M / 2, d), SIZE_10M / 2, 20));
    assets['scl'] = {
      href: 'SCL.tif',
      'raster:bands': [{ nodata: 0, data_type: 'uint8', spatial_resolution: 20 }],
    };
    const item = {
      type: 'Feature',
      stac_version: '1.0.0',
      id,
      collection: 'synthetic-s2-l2a',
      geometry: { type: 'Polygon', coordinates: [corners] },
      bbox: [
        Math.min(...corners.map((c) => c[0] as number)),
        Math.min(...corners.map((c) => c[1] as number)),
        Math.max(...corners.map((c) => c[0] as number)),
        Math.max(...corners.map((c) => c[1] as number)),
      ],
      properties: {
        datetime,
        'eo:cloud_cover': d === 1 ? 25 : 2,
        's2:nodata_pixel_percentage': d === 0 ? 10 : 0,
        'proj:epsg': EPSG,
        'mgrs:utm_zone': 33,
        'mgrs:latitude_band': 'T',
        'mgrs:grid_square': 'WL',
      },
      links: [],
      assets,
    };
    await writeFile(path.join(dir, `${id}.json`), `${JSON.stringify(item, null, 1)}\n`);
  }
  await writeFile(path.join(folder, 'parcels.geojson'), `${JSON.stringify(syntheticParcels())}\n`);
  await writeFile(path.join(folder, 'objects.geojson'), `${JSON.stringify(syntheticObjects())}\n`);
  return ids;
}

const CROPS = ['maize', 'winter wheat', 'meadow', 'sunflower', 'soybean'];

/**
 * Crop parcels over the synthetic scene, in its UTM CRS (declared by a legacy `crs` member): a grid
 * of fields with shared edges, tilted fields, one with a hole (a farmyard) and one that overlaps its
 * neighbour (a digitising error the double mask must flag).
 */
export function syntheticParcels(): GeoJSON.FeatureCollection & { crs: unknown } {
  const features: GeoJSON.Feature[] = [];
  const field = 330;
  let id = 1;
  for (let r = 0; r < 6; r++) {
    for (let c = 0; c < 6; c++) {
      if ((r * 7 + c * 3) % 5 === 0) continue; // not every cell is farmed
      const x0 = ORIGIN[0] + 600 + c * field;
      const y1 = ORIGIN[1] - 600 - r * field;
      const tilt = (r + c) % 3 === 0 ? 25 : 0;
      // RFC 7946 winding: outer rings counter-clockwise, holes clockwise.
      const ring: GeoJSON.Position[] = [
        [x0, y1],
        [x0 + tilt, y1 - field],
        [x0 + field, y1 - field],
        [x0 + field, y1 - tilt],
        [x0, y1],
      ];
      const rings = [ring];
      if (r === 2 && c === 3) {
        rings.push([
          [x0 + 100, y1 - 100],
          [x0 + 180, y1 - 100],
          [x0 + 180, y1 - 180],
          [x0 + 100, y1 - 180],
          [x0 + 100, y1 - 100],
        ]);
      }
      if (r === 4 && c === 3) for (const p of ring) p[0] = (p[0] as number) - 40; // overlaps its west neighbour
      features.push({
        type: 'Feature',
        properties: {
          parcel_id: `P${String(id).padStart(3, '0')}`,
          crop: CROPS[(r * 5 + c * 2) % CROPS.length],
          year: 2023,
        },
        geometry: { type: 'Polygon', coordinates: rings },
      });
      id++;
    }
  }
  return {
    type: 'FeatureCollection',
    crs: { type: 'name', properties: { name: `urn:ogc:def:crs:EPSG::${EPSG}` } },
    features,
  };
}

/**
 * SatlasPretrain-style objects over the synthetic scene, one file of mixed geometry types (property
 * `class`): a well (Point) in every third parcel, pairs of trees (MultiPoint), farm tracks
 * (LineString) between the rows of fields, a ditch with two branches (MultiLineString), then the
 * parcels as polygons (their crop). Points and lines come first: a pixel covered fully by a parcel
 * and a disc is a tie, and ties go to the earlier feature. For examples/satlas-objects.json.
 */
export function syntheticObjects(): GeoJSON.FeatureCollection & { crs: unknown } {
  const parcels = syntheticParcels();
  const features: GeoJSON.Feature[] = [];
  const field = 330;
  const [x, y] = [ORIGIN[0] + 600, ORIGIN[1] - 600];
  let n = 0;
  const add = (cls: string, geometry: GeoJSON.Geometry) =>
    features.push({ type: 'Feature', properties: { class: cls, name: `${cls}-${++n}` }, geometry });
  parcels.features.forEach((f, i) => {
    const ring = (f.geometry as GeoJSON.Polygon).coordinates[0] as GeoJSON.Position[];
    const [cx, cy] = [(ring[0]![0]! + ring[2]![0]!) / 2, (ring[0]![1]! + ring[2]![1]!) / 2];
    // At a 5 m label pixel's centre, so that the disc covers that pixel fully (and wins the tie).
    if (i % 3 === 0) add('well', { type: 'Point', coordinates: [cx + 32.5, cy - 22.5] });
    if (i % 4 === 1)
      add('tree', {
        type: 'MultiPoint',
        coordinates: [
          [cx - 60, cy + 50],
          [cx - 48, cy + 56],
        ],
      });
  });
  for (let r = 1; r < 6; r++)
    add('track', {
      type: 'LineString',
      coordinates: [
        [x - 100, y - r * field],
        [x + 2 * field, y - r * field + 15],
        [x + 6 * field + 100, y - r * field],
      ],
    });
  add('ditch', {
    type: 'MultiLineString',
    coordinates: [
      [
        [x + 1.5 * field, y + 100],
        [x + 1.6 * field, y - 3 * field],
        [x + 1.4 * field, y - 6 * field - 100],
      ],
      [
        [x + 1.6 * field, y - 3 * field],
        [x + 4.2 * field, y - 3.7 * field],
      ],
    ],
  });
  for (const f of parcels.features)
    features.push({
      ...f,
      properties: { ...f.properties, class: f.properties?.['crop'], name: f.properties?.['parcel_id'] },
    });
  return { ...parcels, features };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const folder = path.resolve(process.argv[2] ?? 'examples/offline-scene');
  const ids = await makeOfflineScene(folder);
  console.log(`wrote ${ids.length} synthetic products to ${folder}`);
}
