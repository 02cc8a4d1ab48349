// Renders the README's contact sheets from a real fixture run: Croatia (Sentinel-2 L2A, 5 dates of
// August 2023, decimated to 120 m by its publisher) with the Croatian ARKOD parcels, per-date
// samples with quicklooks, then `satfactory show` of 16 train samples and of one window's dates.
// Usage: npx tsx scripts/readme-quicklooks.ts [OUT_DIR]   (default docs/; fixtures from
// $SATFACTORY_FIXTURES or ../shared/fixtures)
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../shared/cli/main.ts';
import { openDataset } from '../shared/dataset/reader.ts';

const root = path.resolve(import.meta.dirname, '..');
const fixtures = process.env['SATFACTORY_FIXTURES'] ?? path.resolve(root, '../shared/fixtures');
const scene = path.join(fixtures, 'sentinel2/earthsearch_v1_timeseries_T33TWL_2023-08_croatia_120m');
const parcels = path.join(fixtures, 'labels/parcels_hr_arkod_2024_sample_EPSG3765.geojson');
const outDir = path.resolve(process.argv[2] ?? path.join(root, 'docs'));
const ASSETS: Record<string, string> = { blue: 'B02', green: 'B03', red: 'B04', nir: 'B08', scl: 'SCL' };

const dir = await mkdtemp(path.join(tmpdir(), 'satfactory-readme-'));
try {
  const items = [];
  for (const id of (await readdir(scene)).filter((d) => d.startsWith('S2')).sort()) {
    const item = JSON.parse(await readFile(path.join(scene, id, `${id}.json`), 'utf8'));
    for (const [key, file] of Object.entries(ASSETS))
      item.assets[key].href = path.join(scene, id, `${file}.tif`);
    items.push(item);
  }
  await writeFile(
    path.join(dir, 'items.json'),
    JSON.stringify({ type: 'FeatureCollection', features: items }),
  );
  const job = {
    name: 'croatia-per-date',
    catalog: { kind: 'static', source: 'items.json' },
    aoi: 'labels',
    period: { start: '2023-08-01', end: '2023-08-31' },
    selection: { maxCloudCover: 100 },
    samples: 'per-date',
    bands: ['blue', 'green', 'red', 'nir'],
    windows: { size: 8, stride: 8, where: 'labels' },
    labels: { source: parcels, classProperty: 'land_use_id', idProperty: 'jpaid', resolution: 30 },
    clouds: { mask: 'scl', maxCloudyFraction: 0.2 },
    splits: { method: 'random', train: 0.6, validation: 0.2, test: 0.2, seed: 5 },
    output: { uri: 'out', quicklooks: true },
  };
  const jobFile = path.join(dir, 'job.json');
  await writeFile(jobFile, JSON.stringify(job, null, 1));
  if ((await main(['run', jobFile])) !== 0) throw new Error('the fixture job failed');
  const dataset = path.join(dir, 'out');
  const train = path.join(outDir, 'quicklooks-train.png');
  if ((await main(['show', dataset, '--split', 'train', '--n', '16', '-o', train])) !== 0) process.exit(1);
  // The window with the most dates written: its per-date samples side by side.
  const count = new Map<string, number>();
  const ds = await openDataset(dataset);
  for (const split of ds.splits) {
    for await (const s of ds.samples(split)) {
      const w = String(s.json['window']);
      count.set(w, (count.get(w) ?? 0) + 1);
    }
  }
  const [window] = [...count].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0] ?? [];
  if (!window) throw new Error('no sample written');
  if ((await main(['show', dataset, window, '-o', path.join(outDir, 'quicklooks-window.png')])) !== 0)
    process.exit(1);
} finally {
  await rm(dir, { recursive: true, force: true });
}
