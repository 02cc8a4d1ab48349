// The benchmark (npm run bench): not a test. Runs the COG read bench side by side with GDAL and the
// naive per-window geotiff.js approach, and the label rasterization bench side by side with
// rasterio's all_touched rasterize and a per-pixel shapely loop, on the real fixtures; prints tables.
// `npm run bench -- cog` or `npm run bench -- labels` runs one of them.
import { runCogBenchSuite } from './cog-bench.ts';
import { runLabelBenchSuite } from './labels-bench.ts';

const only = process.argv[2];
if (!only || only === 'cog') await runCogBenchSuite();
if (!only || only === 'labels') await runLabelBenchSuite();
