// The benchmark (npm run bench): not a test. Runs the COG read bench side by side with GDAL and the
// naive per-window geotiff.js approach on the real fixture scenes, and prints the table.
import { runCogBenchSuite } from './cog-bench.ts';

await runCogBenchSuite();
