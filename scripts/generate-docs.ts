// Writes the README's tables of the workflow's Task states and work files, generated from the task
// table (shared/workflow/tasks.ts) and the work files (shared/work/files.ts); `npm run generate`
// runs it and a test keeps the README equal to it.
import { readFile, writeFile } from 'node:fs/promises';
import type { z } from 'zod';
import { grantsOf } from '../infra/constructs/task-functions.ts';
import { type WorkFileSpec, WorkFiles } from '../shared/work/files.ts';
import { type TaskDefinition, TaskNames, Tasks } from '../shared/workflow/tasks.ts';
import { renderManifestFields } from './manifest-fields.ts';

export const README_PATH = new URL('../README.md', import.meta.url);

const code = (s: string) => `\`${s}\``;
const list = (xs: readonly string[]) => (xs.length ? xs.map(code).join(' ') : '–');

function localHandler(task: TaskDefinition): string {
  if (task.kind === 'callback')
    return 'in-process queue → order-product step (shared/runtime/local-orders.ts)';
  return task.local === 'worker-pool' ? 'runTask in the worker pool (a thread per core)' : 'runTask, inline';
}

function grants(task: TaskDefinition): string {
  const g = grantsOf(task.access);
  const parts = [
    `work read ${list(g.work.read ?? [])}`,
    `work write ${list(g.work.write ?? [])}`,
    ...(g.datasets.read || g.datasets.write
      ? [
          `datasets ${[g.datasets.read ? 'read' : '', g.datasets.write ? 'write' : ''].filter(Boolean).join('+')} (${list(
            [...task.access.dataset.reads, ...task.access.dataset.writes].filter(
              (x, i, a) => a.indexOf(x) === i,
            ),
          )})`,
        ]
      : []),
  ];
  return parts.join('; ');
}

export function renderTaskTable(): string {
  const rows = TaskNames.map((name) => {
    const task = Tasks[name] as TaskDefinition;
    return `| ${task.state} | ${code(`lambdas/${task.entry}/index.ts`)} | ${localHandler(task)} | ${grants(task)} |`;
  });
  return ['| Task state | Lambda entry | local handler | grants |', '|---|---|---|---|', ...rows].join('\n');
}

/** The top-level fields of a JSON work file (of each line for JSONL). */
function fieldsOf(file: WorkFileSpec<unknown>): string {
  const shape = (file.schema as (z.ZodType & { shape?: Record<string, unknown> }) | null)?.shape;
  if (file.format === 'binary') return file.content ?? 'binary';
  return shape ? Object.keys(shape).join(', ') : 'see schema';
}

export function renderWorkFiles(): string {
  const writers = (file: WorkFileSpec<unknown>) =>
    TaskNames.filter((n) => (Tasks[n] as TaskDefinition).access.writes.includes(file)).join(', ') ||
    'the CLI / StartOnUpload (storeJob)';
  const rows = Object.values(WorkFiles).map(
    (f) => `| ${f.title} | ${code(f.pattern)} | ${f.format} | ${fieldsOf(f)} | ${writers(f)} |`,
  );
  return [
    '| work file | key | format | fields (zod schema) | written by |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

const SECTIONS = {
  tasks: renderTaskTable,
  'work-files': renderWorkFiles,
  'manifest-fields': renderManifestFields,
} as const;

/** The README with every generated section replaced by its current rendering. */
export function renderReadme(readme: string): string {
  let out = readme;
  for (const [name, render] of Object.entries(SECTIONS)) {
    const begin = `<!-- generated:${name} -->`;
    const end = `<!-- /generated:${name} -->`;
    const a = out.indexOf(begin);
    const b = out.indexOf(end);
    if (a < 0 || b < a) throw new Error(`README.md has no ${begin} ... ${end} section`);
    out = `${out.slice(0, a + begin.length)}\n${render()}\n${out.slice(b)}`;
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const readme = await readFile(README_PATH, 'utf8');
  await writeFile(README_PATH, renderReadme(readme));
  console.log(`wrote ${README_PATH.pathname}`);
}
