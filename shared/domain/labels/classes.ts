// The class table: every class value found in the label data mapped to the id written in
// `.labels.npy`. Integer codes that fit keep their own value (as DeepSatData does with crop codes),
// anything else (crop names, codes above 65535, a code equal to the background) is numbered 1..n.
import { z } from 'zod';
import { InvalidInputError } from '../errors.ts';

export const ClassEntrySchema = z.strictObject({
  id: z.int().min(0).max(65_535),
  value: z.union([z.string(), z.number()]),
  /** From a fixed table (labels.classes); a derived table has none. */
  name: z.string().optional(),
  color: z.string().optional(),
});
export type ClassEntry = z.infer<typeof ClassEntrySchema>;

export function buildClassTable(values: Iterable<string | number>, background: number): ClassEntry[] {
  const distinct = [...new Set(values)];
  const numbers = distinct.filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
  const strings = distinct.filter((v): v is string => typeof v === 'string').sort();
  const keepCodes =
    strings.length === 0 &&
    numbers.every((v) => Number.isInteger(v) && v >= 0 && v <= 65_535 && v !== background);
  if (keepCodes) return numbers.map((v) => ({ id: v, value: v }));
  const ordered: Array<string | number> = [...numbers, ...strings];
  if (ordered.length >= 65_535) {
    throw new InvalidInputError(
      `the label data has ${ordered.length} distinct classes; .labels.npy holds at most 65,534 besides the background`,
      { pointer: '/labels/classProperty' },
    );
  }
  const table: ClassEntry[] = [];
  let next = 1;
  for (const value of ordered) {
    if (next === background) next++;
    table.push({ id: next++, value });
  }
  return table;
}

/** Class value → id; the key is typed so that 7 and "7" stay distinct classes. */
export function classIdLookup(table: readonly ClassEntry[]): (value: string | number) => number | undefined {
  const byKey = new Map(table.map((c) => [classKey(c.value), c.id]));
  return (value) => byKey.get(classKey(value));
}

function classKey(value: string | number): string {
  return `${typeof value}:${value}`;
}
