// Writes the label file of the SatlasPretrain example (examples/satlas-objects.json) from real
// Croatian ARKOD parcels in the fixtures: points, polylines and polygons with properties in one
// file, as SatlasPretrain's labels are. Of the parcels inside the Croatia scene, the first third stay polygons (class: their
// land-use code), the second third become points at their outer ring's vertex mean (class
// "centroid"), the last third their outer boundary as a line (class "boundary"); each keeps its
// jpaid, slope and area.
// Usage: tsx scripts/make-satlas-example.ts [fixtures folder] [out file]
//   (defaults: SATFACTORY_FIXTURES or ../shared/fixtures; examples/satlas/objects.geojson)
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const PARCELS = 'labels/parcels_hr_arkod_2024_sample_EPSG4326.geojson';
/** The Croatia fixture scene's extent (lon/lat), a little inside: only parcels within it are kept. */
export const SCENE_BOUNDS = [15.35, 45.19, 16.17, 45.42] as const;

type Parcel = GeoJSON.Feature<GeoJSON.Polygon | GeoJSON.MultiPolygon>;

/** The mixed objects, in the parcels' order: polygons, then points, then lines. */
export function satlasObjects(fixtures: string): GeoJSON.FeatureCollection {
  const all = (JSON.parse(readFileSync(path.join(fixtures, PARCELS), 'utf8')) as GeoJSON.FeatureCollection)
    .features as Parcel[];
  const inScene = (f: Parcel) =>
    (JSON.stringify(f.geometry.coordinates).match(/-?\d+(\.\d+)?,-?\d+(\.\d+)?/g) ?? []).every((pair) => {
      const [x, y] = pair.split(',').map(Number) as [number, number];
      return x > SCENE_BOUNDS[0] && x < SCENE_BOUNDS[2] && y > SCENE_BOUNDS[1] && y < SCENE_BOUNDS[3];
    });
  const parcels = all.filter(inScene);
  const third = Math.ceil(parcels.length / 3);
  const features = parcels.map((f, i): GeoJSON.Feature => {
    const p = f.properties ?? {};
    const properties = { jpaid: p['jpaid'], slope: p['slope'], area: p['area'] };
    const outer =
      (f.geometry.type === 'Polygon' ? f.geometry.coordinates : f.geometry.coordinates[0])?.[0] ?? [];
    if (i < third)
      return {
        type: 'Feature',
        properties: { ...properties, class: String(p['land_use_id']) },
        geometry: f.geometry,
      };
    if (i < 2 * third) {
      const ring = outer.slice(0, -1);
      const mean = [0, 1].map((k) => ring.reduce((s, c) => s + (c[k] as number), 0) / ring.length);
      return {
        type: 'Feature',
        properties: { ...properties, class: 'centroid' },
        geometry: { type: 'Point', coordinates: mean },
      };
    }
    return {
      type: 'Feature',
      properties: { ...properties, class: 'boundary' },
      geometry: { type: 'LineString', coordinates: outer },
    };
  });
  return { type: 'FeatureCollection', features };
}

function isMain(): boolean {
  const script = process.argv[1];
  return script !== undefined && realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
}

if (isMain()) {
  const fixtures =
    process.argv[2] ?? process.env['SATFACTORY_FIXTURES'] ?? path.resolve(repo, '../shared/fixtures');
  const out = process.argv[3] ?? path.join(repo, 'examples/satlas/objects.geojson');
  mkdirSync(path.dirname(out), { recursive: true });
  const fc = satlasObjects(fixtures);
  writeFileSync(out, `${JSON.stringify(fc)}\n`);
  console.log(`wrote ${out}: ${fc.features.length} objects`);
}
