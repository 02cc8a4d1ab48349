// Labels at scale: ingests N synthetic parcels (default 1 M) from GeoJSON and from FlatGeobuf in a
// child process each and reports the time and the child's peak RSS (target: <= 1 GB at 1 M).
// The parcels: a square grid of 100 m cells in UTM 33N (EPSG:32633, declared by a legacy GeoJSON
// `crs` member), one convex quadrilateral per cell with corners jittered by a hash of the cell (5 to
// 35 m in from each cell corner, so parcels never touch), a crop class out of 12 and an integer id.
// GeoJSON is written here, streamed; FlatGeobuf is converted from it by ogr2ogr (with its spatial
// index). Both are cached under ~/.cache/satfactory/bench.
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCache } from './e2e-bench.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const CROPS = [
  'maize',
  'winter wheat',
  'meadow',
  'sunflower',
  'soybean',
  'barley',
  'rapeseed',
  'oats',
  'potato',
  'sugar beet',
  'rye',
  'fallow',
];

function jitter(i: number, k: number): number {
  let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(k + 1, 0xc2b2ae35);
  h ^= h >>> 13;
  h = Math.imul(h, 0x27d4eb2f);
  h ^= h >>> 16;
  return 5 + ((h >>> 0) % 3001) / 100;
}

async function writeGeoJson(file: string, count: number): Promise<void> {
  const side = Math.ceil(Math.sqrt(count));
  const cell = 100;
  const x0 = 300000;
  const y0 = 5000000;
  const tmp = `${file}.part`;
  const out = createWriteStream(tmp);
  const write = (s: string) =>
    out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r()));
  await write(
    '{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::32633"}},"features":[\n',
  );
  let chunk = '';
  for (let i = 0; i < count; i++) {
    const cx = x0 + (i % side) * cell;
    const cy = y0 + Math.floor(i / side) * cell;
    // Counter-clockwise (RFC 7946): SW, SE, NE, NW.
    const ring = [
      [cx + jitter(i, 0), cy + jitter(i, 1)],
      [cx + cell - jitter(i, 2), cy + jitter(i, 3)],
      [cx + cell - jitter(i, 4), cy + cell - jitter(i, 5)],
      [cx + jitter(i, 6), cy + cell - jitter(i, 7)],
    ];
    ring.push(ring[0] as number[]);
    const coords = ring
      .map(([x, y]) => `[${(x as number).toFixed(2)},${(y as number).toFixed(2)}]`)
      .join(',');
    chunk += `${i ? ',\n' : ''}{"type":"Feature","properties":{"id":${i + 1},"crop":"${CROPS[i % CROPS.length]}"},"geometry":{"type":"Polygon","coordinates":[[${coords}]]}}`;
    if (chunk.length > 1 << 20) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(`${chunk}\n]}\n`);
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  renameSync(tmp, file);
}

/** The cached GeoJSON and FlatGeobuf files of `count` parcels. */
export async function ensureParcels(count: number, print: (line: string) => void = console.log) {
  const dir = path.join(benchCache(), 'parcels');
  mkdirSync(dir, { recursive: true });
  const geojson = path.join(dir, `parcels-${count}.geojson`);
  const fgb = path.join(dir, `parcels-${count}.fgb`);
  if (!existsSync(geojson)) {
    print(`writing ${count} synthetic parcels to ${geojson}`);
    await writeGeoJson(geojson, count);
  }
  if (!existsSync(fgb)) {
    print(`converting to ${fgb} (ogr2ogr)`);
    const run = spawnSync('ogr2ogr', ['-f', 'FlatGeobuf', `${fgb}.part.fgb`, geojson, '-nln', 'parcels'], {
      encoding: 'utf8',
    });
    if (run.status !== 0) throw new Error(`ogr2ogr failed: ${run.stderr}`);
    renameSync(`${fgb}.part.fgb`, fgb);
  }
  return { geojson, fgb };
}

export type IngestFigures = {
  format: string;
  mb: number;
  seconds: number;
  maxRssMb: number;
  read: number;
  kept: number;
};

function ingest(file: string): Omit<IngestFigures, 'format' | 'mb'> {
  const work = mkdtempSync(path.join(tmpdir(), 'satfactory-labels-scale-'));
  try {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(here, 'labels-ingest.ts'), file, work],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      },
    );
    if (run.status !== 0) throw new Error(`label ingestion of ${file} failed: ${run.stderr.slice(-2000)}`);
    return JSON.parse(run.stdout.trim().split('\n').pop() as string);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export async function runLabelScaleBench(
  count = 1_000_000,
  print: (line: string) => void = console.log,
): Promise<IngestFigures[]> {
  const files = await ensureParcels(count, print);
  const rows: IngestFigures[] = [];
  for (const [format, file] of [
    ['FlatGeobuf', files.fgb],
    ['GeoJSON', files.geojson],
  ] as const) {
    const r = ingest(file);
    rows.push({ format, mb: statSync(file).size / 1e6, ...r });
    print(
      `labels at scale, ${format} (${(statSync(file).size / 1e6).toFixed(0)} MB, ${r.read} parcels read, ${r.kept} kept): ${r.seconds.toFixed(1)} s, peak RSS ${r.maxRssMb.toFixed(0)} MB`,
    );
  }
  return rows;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await runLabelScaleBench(Number(process.argv[2] ?? 1_000_000));
}
