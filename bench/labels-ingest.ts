// Child process of the labels-at-scale bench: ingests one label file exactly as PrepareLabels does
// (ingestLabels into a fresh work folder) and prints {"seconds", "maxRssMb", "read", "kept"} as JSON.
// Usage: tsx bench/labels-ingest.ts <label file> <work folder>
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createLog } from '../shared/adapters/local/console-log.ts';
import { type JobSpec, LabelsSchema } from '../shared/domain/job-spec.ts';
import { createLocalContext } from '../shared/runtime/local-context.ts';
import { ingestLabels } from '../shared/work/labels-store.ts';

const [file, work] = process.argv.slice(2) as [string, string];
const ctx = createLocalContext({
  workUri: pathToFileURL(path.resolve(work)).href,
  log: createLog({ json: true, verbose: false, write: () => {} }),
});
const labels = LabelsSchema.parse({ source: path.resolve(file), classProperty: 'crop', idProperty: 'id' });
const t0 = performance.now();
const summary = await ingestLabels(ctx, 'bench', { aoi: 'labels', labels } as unknown as JobSpec);
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(
  `${JSON.stringify({ seconds, maxRssMb: process.resourceUsage().maxRSS / 1024, read: summary.read, kept: summary.features })}\n`,
);
