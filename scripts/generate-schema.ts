// Writes schema/job.schema.json and schema/manifest.schema.json from the zod job spec and manifest
// (npm run generate); tests keep them equal.
import { writeFile } from 'node:fs/promises';
import { jobSpecJsonSchema } from '../shared/domain/job-spec.ts';
import { manifestJsonSchema } from '../shared/domain/manifest.ts';

export const SCHEMA_PATH = new URL('../schema/job.schema.json', import.meta.url);
export const MANIFEST_SCHEMA_PATH = new URL('../schema/manifest.schema.json', import.meta.url);

export function renderJobSchema(): string {
  return `${JSON.stringify({ title: 'satfactory job spec', ...jobSpecJsonSchema() }, null, 2)}\n`;
}

export function renderManifestSchema(): string {
  return `${JSON.stringify({ title: 'satfactory dataset manifest', ...manifestJsonSchema() }, null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await writeFile(SCHEMA_PATH, renderJobSchema());
  console.log(`wrote ${SCHEMA_PATH.pathname}`);
  await writeFile(MANIFEST_SCHEMA_PATH, renderManifestSchema());
  console.log(`wrote ${MANIFEST_SCHEMA_PATH.pathname}`);
}
