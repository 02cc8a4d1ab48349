// The benchmark (npm run bench): not a test. Runs, on real fixture pixels:
// - the COG read bench (decode + cut per core) side by side with GDAL and naive geotiff.js;
// - the label rasterization bench side by side with rasterio and shapely;
// - end to end: `satfactory run --threads 1` and `--threads 2` vs a rasterio reference script, and
//   refetch over the local range server (bench/e2e-bench.ts);
// - labels at scale: 1 M synthetic parcels, FlatGeobuf and GeoJSON, peak RSS (bench/labels-scale.ts);
// - one full Sentinel-2 tile (12 bands + SCL, 6 dates) over the range server (generated once into
//   ~/.cache/satfactory/bench, several GB and minutes).
// It ends with one line of figures (ratios > 1 mean satfactory is better):
//   bench: refetch=… decode_vs_gdal=… e2e_vs_rasterio=… threads_2_vs_1=… full_tile_samples_per_s=… worker_rss_mb=… labels_1m_rss_mb=…
// `npm run bench -- quick`: the small scenes only (COG bench, end to end on the 2400² scene): the
// full-tile and 1 M-parcel figures print as n/a, refetch comes from the 2400² scene.
// `npm run bench -- cog|labels|e2e|labels-scale|full` runs one part.
import { runCogBenchSuite } from './cog-bench.ts';
import { runE2eBench, runFullTileBench } from './e2e-bench.ts';
import { runLabelBenchSuite } from './labels-bench.ts';
import { runLabelScaleBench } from './labels-scale.ts';

const mode = process.argv[2];
const quick = mode === 'quick';
const all = mode === undefined || quick;
const figures: Record<string, number | undefined> = {};
const started = performance.now();

if (all || mode === 'cog') {
  const cog = await runCogBenchSuite(console.log, quick ? 3 : 5);
  const ratios = cog.map((r) => r.speedVsGdal).filter((r): r is number => r !== null);
  // Both scenes must reach the target: the line shows the lower one.
  if (ratios.length > 0) figures['decode_vs_gdal'] = Math.min(...ratios);
}
if (mode === undefined || mode === 'labels') await runLabelBenchSuite();
if (all || mode === 'e2e') {
  const e2e = await runE2eBench();
  figures['e2e_vs_rasterio'] = e2e.vsRasterio;
  figures['threads_2_vs_1'] = e2e.threads2vs1;
  figures['refetch'] = e2e.refetch.ratio;
}
if (mode === undefined || mode === 'labels-scale') {
  const rows = await runLabelScaleBench(1_000_000);
  figures['labels_1m_rss_mb'] = Math.max(...rows.map((r) => r.maxRssMb));
}
if (mode === undefined || mode === 'full') {
  const full = await runFullTileBench();
  figures['full_tile_samples_per_s'] = full.samplesPerSecondPerCore;
  figures['worker_rss_mb'] = full.maxRssMb;
  // At full scale, refetch is the full tile's (the 2400² scene's is printed above).
  figures['refetch'] = full.refetch.ratio;
}

const fmt = (k: string, digits: number) => {
  const v = figures[k];
  return `${k}=${v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits)}`;
};
console.log(
  `\n(${((performance.now() - started) / 1000).toFixed(0)} s${quick ? ', quick: small scenes only' : ''})`,
);
console.log(
  `bench: ${[
    fmt('refetch', 3),
    fmt('decode_vs_gdal', 2),
    fmt('e2e_vs_rasterio', 2),
    fmt('threads_2_vs_1', 2),
    fmt('full_tile_samples_per_s', 0),
    fmt('worker_rss_mb', 0),
    fmt('labels_1m_rss_mb', 0),
  ].join(' ')}`,
);
