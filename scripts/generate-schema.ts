// Writes schema/job.schema.json from the zod job spec (npm run generate); a test keeps them equal.
import { writeFile } from 'node:fs/promises';
import { jobSpecJsonSchema } from '../shared/domain/job-spec.ts';

export const SCHEMA_PATH = new URL('../schema/job.schema.json', import.meta.url);

export function renderJobSchema(): string {
  return `${JSON.stringify({ title: 'satfactory job spec', ...jobSpecJsonSchema() }, null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await writeFile(SCHEMA_PATH, renderJobSchema());
  console.log(`wrote ${SCHEMA_PATH.pathname}`);
}
