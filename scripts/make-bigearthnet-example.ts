// Writes the label file of the BigEarthNet example (examples/bigearthnet-19.json) from the real
// BigEarthNet v1 patches in the fixtures: one feature per patch and label, the patch's footprint with
// the label's CORINE level-3 code (property `clc`). Every label of a patch then covers the whole
// patch, so the 19-class multi-label of each sample is the official conversion of the patch's
// 43-class list (BigEarthNet gives labels per patch, not per pixel).
// Usage: tsx scripts/make-bigearthnet-example.ts [fixtures folder] [out file]
//   (defaults: SATFACTORY_FIXTURES or ../shared/fixtures; examples/bigearthnet/patch-labels.geojson)
import { mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { toWgs84 } from '../shared/domain/crs.ts';
import { BIGEARTHNET43 } from '../shared/domain/labels/bigearthnet.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const S2_PATCHES = 'bigearthnet/v1_example_patches/BigEarthNet-S2-Example';

type PatchMetadata = {
  labels: string[];
  coordinates: { ulx: number; uly: number; lrx: number; lry: number };
  projection: string;
  acquisition_date: string;
  tile_source: string;
};

export type PatchLabels = {
  patch: string;
  /** Its Sentinel-2 tile, lowercase (from the L1C product it was cut from). */
  utm: string;
  epsg: number;
  labels: string[];
  clc: number[];
  datetime: string;
};

/** Each S2 patch folder's labels, CLC codes, EPSG and acquisition time, by patch name. */
export function readPatches(fixtures: string): PatchLabels[] {
  const dir = path.join(fixtures, S2_PATCHES);
  return readdirSync(dir)
    .sort()
    .map((patch) => {
      const meta = JSON.parse(
        readFileSync(path.join(dir, patch, `${patch}_labels_metadata.json`), 'utf8'),
      ) as PatchMetadata;
      // The WKT's last AUTHORITY is the projected CRS's own.
      const epsg = Number([...meta.projection.matchAll(/AUTHORITY\["EPSG","(\d+)"\]/g)].pop()?.[1]);
      const clc = meta.labels.map((label) => {
        const found = BIGEARTHNET43.find((c) => c.label === label);
        if (!found) throw new Error(`${patch}: "${label}" is not one of the 43 BigEarthNet labels`);
        return found.code;
      });
      const datetime = `${meta.acquisition_date.replace(' ', 'T')}Z`;
      const utm = (/_T(\d\d[A-Z]{3})_/.exec(meta.tile_source)?.[1] ?? '').toLowerCase();
      return { patch, utm, epsg, labels: meta.labels, clc, datetime };
    });
}

/** The label GeoJSON (CRS84): one feature per patch and label, the patch's footprint. */
export function patchLabelFeatures(fixtures: string): GeoJSON.FeatureCollection {
  const dir = path.join(fixtures, S2_PATCHES);
  const features: GeoJSON.Feature[] = [];
  for (const p of readPatches(fixtures)) {
    const meta = JSON.parse(
      readFileSync(path.join(dir, p.patch, `${p.patch}_labels_metadata.json`), 'utf8'),
    ) as PatchMetadata;
    const { ulx, uly, lrx, lry } = meta.coordinates;
    const ring = (
      [
        [ulx, lry],
        [lrx, lry],
        [lrx, uly],
        [ulx, uly],
        [ulx, lry],
      ] as const
    ).map(([x, y]) => toWgs84(p.epsg, [x, y]) as GeoJSON.Position);
    p.clc.forEach((code, i) => {
      features.push({
        type: 'Feature',
        properties: { patch: p.patch, clc: code, label: p.labels[i] },
        geometry: { type: 'Polygon', coordinates: [ring] },
      });
    });
  }
  return { type: 'FeatureCollection', features };
}

function isMain(): boolean {
  const script = process.argv[1];
  return script !== undefined && realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
}

if (isMain()) {
  const fixtures =
    process.argv[2] ?? process.env['SATFACTORY_FIXTURES'] ?? path.resolve(repo, '../shared/fixtures');
  const out = process.argv[3] ?? path.join(repo, 'examples/bigearthnet/patch-labels.geojson');
  mkdirSync(path.dirname(out), { recursive: true });
  const fc = patchLabelFeatures(fixtures);
  writeFileSync(out, `${JSON.stringify(fc)}\n`);
  console.log(`wrote ${out}: ${fc.features.length} labels of ${readPatches(fixtures).length} patches`);
}
