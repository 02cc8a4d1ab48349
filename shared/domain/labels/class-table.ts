// A fixed class table (labels.classes): raw class value → id written in `.labels.npy`, name and
// colour, the same for every dataset of a project whatever classes its AOI holds. Training indices
// are the table's ids in ascending order numbered 0..K-1; ignored pixels keep the ignore index.
// The table comes inline from the job or from a JSON/CSV file (parsed here, read by the caller).
import { z } from 'zod';
import { InvalidInputError } from '../errors.ts';
import { quoteValue } from '../snippet.ts';
import type { ClassEntry } from './classes.ts';
import { parseCsv } from './csv.ts';

/** One class of a fixed table: the raw value found in the label data, the id written, a name. */
export const ClassDefSchema = z
  .object({
    value: z
      .union([z.string().min(1), z.number()])
      .describe(
        'The value of labels.classProperty in the label data (compared as text: 310 matches "310" and 310.0)',
      ),
    id: z.int().min(0).max(65_535).describe('The id written in .labels.npy for this class'),
    name: z.string().min(1).describe('A human-readable name, e.g. "forest"'),
    color: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, 'a colour such as "#228b22"')
      .optional()
      .describe('Display colour, "#rrggbb"'),
  })
  .strict();
export type ClassDef = z.infer<typeof ClassDefSchema>;

export const ClassTableSpecSchema = z
  .object({
    table: z
      .union([
        z.array(ClassDefSchema).min(1),
        z
          .string()
          .min(1)
          .describe(
            'A JSON (an array of {value, id, name, color}) or CSV (header value,id,name[,color]) file: a path relative to the job file, or a URI',
          ),
      ])
      .describe('The classes, inline or from a file; the same table gives the same ids in every dataset'),
    background: z
      .union([
        z.literal('ignore'),
        z.object({ class: z.int().min(0).max(65_535).describe('The id of a class of the table') }).strict(),
      ])
      .describe(
        'Pixels no polygon covers: {"class": id} (a class of the table) or "ignore" (they get ignoreIndex)',
      ),
    unknown: z
      .enum(['ignore', 'reject'])
      .default('reject')
      .describe(
        'Features whose class is not in the table: "reject" drops them (problem unknown-class in the labels log), "ignore" keeps them with ignoreIndex as their id',
      ),
    ignoreIndex: z
      .int()
      .min(0)
      .max(65_535)
      .default(65_535)
      .describe(
        'The id written in .labels.npy for ignored pixels, kept as is among the training indices (ignore_index of the loss): neither a class id nor below the number of training indices',
      ),
  })
  .strict();
export type ClassTableSpec = z.infer<typeof ClassTableSpecSchema>;

/** JSON pointer (RFC 6901) of a zod issue path. */
function jsonPointer(path: readonly PropertyKey[]): string {
  return path.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('') || '/';
}

export type ClassTableProblem = { path: (string | number)[]; message: string };

/** Raw values are compared as text: 310 (GeoJSON), 310.0 (read as 310) and "310" (CSV) are one class. */
export function classValueKey(value: string | number): string {
  return String(value);
}

/**
 * What is wrong with a table as the job declares it (paths relative to labels.classes): values or
 * ids given twice, a background that is no class, an ignore index that collides.
 */
export function classTableProblems(
  table: readonly ClassDef[],
  spec: Pick<ClassTableSpec, 'background' | 'ignoreIndex'>,
): ClassTableProblem[] {
  const problems: ClassTableProblem[] = [];
  const values = new Map<string, number>();
  const ids = new Map<number, number>();
  table.forEach((c, i) => {
    const key = classValueKey(c.value);
    const first = values.get(key);
    if (first !== undefined) {
      problems.push({
        path: ['table', i, 'value'],
        message: `value ${JSON.stringify(c.value)} is already the value of class ${first} (a value maps to one class)`,
      });
    } else values.set(key, i);
    const sameId = ids.get(c.id);
    if (sameId !== undefined) {
      problems.push({
        path: ['table', i, 'id'],
        message: `id ${c.id} is already the id of class ${sameId} (${JSON.stringify(table[sameId]?.name)}); give each class its own id`,
      });
    } else ids.set(c.id, i);
  });
  const ignore = spec.ignoreIndex ?? 65_535;
  if (ids.has(ignore)) {
    problems.push({
      path: ['ignoreIndex'],
      message: `ignoreIndex ${ignore} is the id of class ${ids.get(ignore)}; choose a value that is no class id`,
    });
  } else if (ignore < ids.size) {
    problems.push({
      path: ['ignoreIndex'],
      message: `ignoreIndex ${ignore} is one of the training indices 0..${ids.size - 1}; choose ${ids.size} or more (e.g. 65535)`,
    });
  }
  if (typeof spec.background === 'object' && !ids.has(spec.background.class)) {
    problems.push({
      path: ['background', 'class'],
      message: `background class ${spec.background.class} is not an id of the table (ids: ${[...ids.keys()]
        .sort((a, b) => a - b)
        .slice(0, 10)
        .join(', ')}${ids.size > 10 ? ', ...' : ''}); add it to the table or use "ignore"`,
    });
  }
  return problems;
}

const ClassFileSchema = z.union([
  z.array(ClassDefSchema).min(1),
  z.object({ classes: z.array(ClassDefSchema).min(1) }).loose(),
]);

/**
 * Parses a class table file: JSON (an array of {value, id, name, color}, or {"classes": [...]})
 * or CSV (header `value,id,name` and optionally `color`). `.csv` names are CSV, `.json` JSON,
 * anything else is judged by its first character. Errors name the file and the line/field or pointer.
 */
export function parseClassTableFile(bytes: Uint8Array, source: string): ClassDef[] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new InvalidInputError(
      `class table ${source} is not UTF-8 text`,
      { source, pointer: '/labels/classes/table' },
      { cause },
    );
  }
  const body = text.replace(/^\uFEFF/, '');
  const isCsv =
    /\.csv$/i.test(pathOf(source)) || (!/\.json$/i.test(pathOf(source)) && !/^\s*[[{]/.test(body));
  return isCsv ? parseCsvTable(body, source) : parseJsonTable(body, source);
}

function pathOf(source: string): string {
  return source.replace(/[?#].*$/, '');
}

function parseJsonTable(text: string, source: string): ClassDef[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new InvalidInputError(
      `class table ${source} is not valid JSON (${(cause as Error).message}); write an array of {"value", "id", "name", "color"}`,
      { source, pointer: '/labels/classes/table' },
      { cause },
    );
  }
  const parsed = ClassFileSchema.safeParse(raw);
  if (!parsed.success) {
    // Report against the shape the file tried to be: an array, or an object with "classes".
    const asArray = Array.isArray(raw);
    const issues =
      (asArray
        ? z.array(ClassDefSchema).min(1).safeParse(raw)
        : z
            .object({ classes: z.array(ClassDefSchema).min(1) })
            .loose()
            .safeParse(raw)
      ).error?.issues ?? parsed.error.issues;
    const lines = issues.slice(0, 5).map((i) => `${jsonPointer(i.path)}: ${i.message}`);
    throw new InvalidInputError(`class table ${source} is invalid: ${lines.join('; ')}`, {
      source,
      pointer: issues[0] ? jsonPointer(issues[0].path) : '/',
    });
  }
  const table = Array.isArray(parsed.data) ? parsed.data : parsed.data.classes;
  return table;
}

const CSV_FIELDS = ['value', 'id', 'name', 'color'] as const;

function parseCsvTable(text: string, source: string): ClassDef[] {
  let csv: ReturnType<typeof parseCsv>;
  try {
    csv = parseCsv(text);
  } catch (cause) {
    throw new InvalidInputError(
      `class table ${source}: ${(cause as Error).message}`,
      { source, pointer: '/labels/classes/table' },
      { cause },
    );
  }
  const header = csv.header.map((h) => h.toLowerCase());
  const col = (name: string) => header.indexOf(name);
  for (const required of ['value', 'id', 'name']) {
    if (col(required) < 0) {
      throw new InvalidInputError(
        `class table ${source} line 1: the header has no column "${required}" (found ${csv.header.map((h) => JSON.stringify(h)).join(', ') || 'nothing'}); write value,id,name[,color]`,
        { source, line: 1, field: required },
      );
    }
  }
  const extra = header.find((h) => !(CSV_FIELDS as readonly string[]).includes(h));
  if (extra !== undefined) {
    throw new InvalidInputError(
      `class table ${source} line 1: unknown column ${JSON.stringify(extra)}; the columns are value, id, name and color`,
      { source, line: 1, field: extra },
    );
  }
  if (csv.rows.length === 0) {
    throw new InvalidInputError(`class table ${source} lists no class (only a header)`, { source, line: 1 });
  }
  const table: ClassDef[] = [];
  csv.rows.forEach((row, r) => {
    const line = csv.lines[r] as number;
    const fail = (field: string, message: string): never => {
      throw new InvalidInputError(`class table ${source} line ${line}, field ${field}: ${message}`, {
        source,
        line,
        field,
      });
    };
    if (row.length !== header.length) {
      fail(
        header[Math.min(row.length, header.length - 1)] ?? 'value',
        `${row.length} fields where the header has ${header.length}`,
      );
    }
    const cell = (name: string) => (col(name) >= 0 ? (row[col(name)] ?? '').trim() : '');
    const value = cell('value');
    if (value === '') fail('value', 'empty; every class needs the value found in the label data');
    const idText = cell('id');
    if (!/^\d+$/.test(idText) || Number(idText) > 65_535) {
      fail('id', `${quoteValue(idText)} is not a whole number from 0 to 65535`);
    }
    const name = cell('name');
    if (name === '') fail('name', 'empty; every class needs a name');
    const color = cell('color');
    if (color !== '' && !/^#[0-9a-fA-F]{6}$/.test(color)) {
      fail('color', `${quoteValue(color)} is not a colour such as "#228b22"`);
    }
    table.push({
      // A number written as one ("310", not "0310") is a number in the manifest too.
      value: /^-?\d+(\.\d+)?$/.test(value) && String(Number(value)) === value ? Number(value) : value,
      id: Number(idText),
      name,
      ...(color ? { color } : {}),
    });
  });
  return table;
}

/** Problems of a table read from a file, as one error naming the file and the class. */
export function checkClassTableFile(
  table: readonly ClassDef[],
  spec: Pick<ClassTableSpec, 'background' | 'ignoreIndex'>,
  source: string,
): void {
  const problems = classTableProblems(table, spec);
  if (problems.length === 0) return;
  const where = (p: ClassTableProblem) =>
    p.path[0] === 'table'
      ? `${source} class ${p.path[1]} (${p.path[2]})`
      : `labels.classes.${p.path.join('.')}`;
  throw new InvalidInputError(
    `class table ${source} is invalid: ${problems
      .slice(0, 5)
      .map((p) => `${where(p)}: ${p.message}`)
      .join('; ')}`,
    { source, pointer: `/labels/classes/${problems[0]?.path.join('/')}` },
  );
}

/** How label values become pixel ids in a run: the table and what background and strangers get. */
export const LabelCodingSchema = z.strictObject({
  /**
   * "job": labels.classes inline; "file": from labels.classes.table; "nomenclature": a built-in
   * table (labels.nomenclature); "derived": the classes found in the AOI.
   */
  origin: z.enum(['job', 'file', 'nomenclature', 'derived']),
  /** The table file's name (no folder: datasets hold no local path) and sha256. */
  file: z.strictObject({ name: z.string(), sha256: z.string() }).nullable(),
  /** The id written for pixels no polygon covers. */
  background: z.int().min(0).max(65_535),
  backgroundIs: z.enum(['class', 'ignore']),
  /** The id of ignored pixels (null without a fixed table). */
  ignoreIndex: z.int().min(0).max(65_535).nullable(),
  unknown: z.enum(['ignore', 'reject']).nullable(),
});
export type LabelCoding = z.infer<typeof LabelCodingSchema>;

/** The fixed table as the run uses it: classes by ascending id, and the coding. */
export function fixedClassTable(
  table: readonly ClassDef[],
  spec: ClassTableSpec,
  file: LabelCoding['file'],
): { classes: ClassEntry[]; coding: LabelCoding } {
  const classes = [...table]
    .sort((a, b) => a.id - b.id)
    .map((c) => ({ id: c.id, value: c.value, name: c.name, ...(c.color ? { color: c.color } : {}) }));
  return {
    classes,
    coding: {
      origin: file ? 'file' : 'job',
      file,
      background: spec.background === 'ignore' ? spec.ignoreIndex : spec.background.class,
      backgroundIs: spec.background === 'ignore' ? 'ignore' : 'class',
      ignoreIndex: spec.ignoreIndex,
      unknown: spec.unknown,
    },
  };
}

/** The coding of a job without labels.classes: background a class, no ignore, the table derived. */
export function derivedCoding(background: number | undefined): LabelCoding {
  return {
    origin: 'derived',
    file: null,
    background: background ?? 0,
    backgroundIs: 'class',
    ignoreIndex: null,
    unknown: null,
  };
}

/**
 * The ids of the training indices: position i in the list is index i. The classes (and, without a
 * fixed table, the background, which is then a class of its own) by ascending id; never the ignore index.
 */
export function trainingIds(classes: readonly ClassEntry[], coding: LabelCoding): number[] {
  const ids = new Set(classes.map((c) => c.id));
  if (coding.backgroundIs === 'class') ids.add(coding.background);
  return [...ids].sort((a, b) => a - b);
}

/** The id a feature of class `value` is burnt with; undefined when it has none (a stranger to be rejected). */
export function fixedClassLookup(
  classes: readonly ClassEntry[],
  coding: LabelCoding,
): (value: string | number) => number | undefined {
  const byValue = new Map(classes.map((c) => [classValueKey(c.value), c.id]));
  const stranger = coding.unknown === 'ignore' ? (coding.ignoreIndex ?? undefined) : undefined;
  return (value) => byValue.get(classValueKey(value)) ?? stranger;
}
