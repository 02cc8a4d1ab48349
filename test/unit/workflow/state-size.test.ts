// Proves that the workflow's state stays under 32 KiB whatever the plan's size: every schema that
// can land in the state (the execution input and every *OutputSchema / *ResultSchema of the step
// contracts, found by name, so new steps are covered) is bounded (no array without a max, no record,
// no open object, no unknown), and the worst state, built from the synthesized ASL's ResultPath
// slots each filled with the largest possible value, serializes below 32 KiB.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import * as contracts from '../../../shared/workflow/contracts.ts';

const LIMIT = 32 * 1024;
/** Every string in the state is an S3 key, an id or an ARN: S3 caps keys at 1,024 bytes. */
const MAX_STRING = 1024;
/** The longest JSON form of a double (-1.7976931348623157e+308) and of a safe integer. */
const WORST_NUMBER = -Number.MAX_VALUE;
const WORST_INT = Number.MIN_SAFE_INTEGER;

type Def = {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
  values?: unknown[];
  entries?: Record<string, unknown>;
  catchall?: z.ZodType;
  format?: string;
  checks?: Array<{ _zod: { def: { check: string; maximum?: number } } }>;
};
const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def;
const maxLength = (d: Def) => d.checks?.find((c) => c._zod.def.check === 'max_length')?._zod.def.maximum;

/** JSON paths of the parts of a schema whose size has no bound. */
function unboundedParts(schema: z.ZodType, at = '$'): string[] {
  const d = defOf(schema);
  switch (d.type) {
    case 'object': {
      const open = d.catchall && defOf(d.catchall).type !== 'never' ? [`${at} (open object)`] : [];
      return [...open, ...Object.entries(d.shape ?? {}).flatMap(([k, v]) => unboundedParts(v, `${at}.${k}`))];
    }
    case 'array':
      return maxLength(d) === undefined
        ? [`${at}[] (array without max)`]
        : unboundedParts(d.element as z.ZodType, `${at}[]`);
    case 'nullable':
    case 'optional':
    case 'default':
    case 'readonly':
      return unboundedParts(d.innerType as z.ZodType, at);
    case 'pipe':
      return unboundedParts(d.in as z.ZodType, at);
    case 'union':
      return (d.options ?? []).flatMap((o) => unboundedParts(o, at));
    case 'string':
    case 'number':
    case 'int':
    case 'boolean':
    case 'literal':
    case 'enum':
    case 'null':
      return [];
    default:
      return [`${at} (${d.type})`];
  }
}

/** The largest JSON value a bounded schema admits. */
function worst(schema: z.ZodType): unknown {
  const d = defOf(schema);
  switch (d.type) {
    case 'object':
      return Object.fromEntries(Object.entries(d.shape ?? {}).map(([k, v]) => [k, worst(v)]));
    case 'array':
      return Array.from({ length: maxLength(d) ?? 0 }, () => worst(d.element as z.ZodType));
    case 'nullable':
    case 'optional':
    case 'default':
    case 'readonly':
      return worst(d.innerType as z.ZodType);
    case 'pipe':
      return worst(d.in as z.ZodType);
    case 'union':
      return largest((d.options ?? []).map(worst));
    case 'string':
      return 'x'.repeat(Math.min(maxLength(d) ?? MAX_STRING, MAX_STRING));
    case 'number':
      return d.format?.includes('int') ? WORST_INT : WORST_NUMBER;
    case 'boolean':
      return false;
    case 'literal':
      return largest(d.values ?? []);
    case 'enum':
      return largest(Object.values(d.entries ?? {}));
    case 'null':
      return null;
    default:
      throw new Error(`no worst case for a ${d.type}`);
  }
}

const size = (v: unknown) => Buffer.byteLength(JSON.stringify(v));
const largest = (values: unknown[]) => values.reduce((a, b) => (size(b) > size(a) ? b : a), values[0]);

/** The schemas whose values the workflow keeps in its state. */
const stateSchemas = (Object.entries(contracts) as Array<[string, unknown]>).filter(
  (entry): entry is [string, z.ZodType] =>
    /(OutputSchema|ResultSchema)$/.test(entry[0]) || entry[0] === 'ExecutionInputSchema',
);

type AslState = {
  Type: string;
  ResultPath?: string | null;
  ResultWriter?: unknown;
  Catch?: Array<{ ResultPath?: string }>;
  ItemBatcher?: { MaxItemsPerBatch?: number; MaxInputBytesPerBatch?: number };
};
const asl = JSON.parse(
  readFileSync(new URL('../../../shared/runtime/workflow.asl.json', import.meta.url), 'utf8'),
) as {
  States: Record<string, AslState>;
};

/** A Distributed Map with a ResultWriter leaves only this in the state (not its items' results). */
const mapRunResult = {
  MapRunArn: 'x'.repeat(MAX_STRING),
  ResultWriterDetails: { Bucket: 'x'.repeat(63), Key: 'x'.repeat(MAX_STRING) },
};

describe('workflow state size', () => {
  it('finds the state schemas, and every one is bounded', () => {
    const names = stateSchemas.map(([n]) => n);
    expect(names).toEqual(
      expect.arrayContaining(['ExecutionInputSchema', 'PlanOutputSchema', 'CommitOutputSchema']),
    );
    for (const [name, schema] of stateSchemas)
      expect({ name, unbounded: unboundedParts(schema) }).toEqual({ name, unbounded: [] });
  });

  it('the worst value of every schema is one it accepts', () => {
    for (const [, schema] of stateSchemas) expect(() => schema.parse(worst(schema))).not.toThrow();
  });

  it('the worst successful state, over every ResultPath slot of the ASL, is below 32 KiB', () => {
    const bytes = size(worstSuccessState());
    console.info(`worst state: ${bytes} bytes (limit ${LIMIT})`);
    expect(bytes).toBeLessThan(LIMIT);
  });

  it('a failed run adds its Catch errors (a cause is capped at 32,768 chars) and stays under 256 KiB', () => {
    const catchSlots = new Set(
      Object.values(asl.States).flatMap((s) => (s.Catch ?? []).map((c) => c.ResultPath ?? '$')),
    );
    expect([...catchSlots], 'a Catch must not replace the whole state').not.toContain('$');
    const state: Record<string, unknown> = worstSuccessState();
    for (const slot of catchSlots)
      state[slot.replace(/^\$\./, '')] = { Error: 'x'.repeat(256), Cause: 'x'.repeat(32_768) };
    expect(size(state)).toBeLessThan(256 * 1024);
  });

  it('a Distributed Map batch (the ExtractRegion event) is bounded by its ItemBatcher below 32 KiB', () => {
    const maps = Object.entries(asl.States).filter(([, st]) => st.ItemBatcher);
    for (const [name, st] of maps) {
      const b = st.ItemBatcher ?? {};
      const items = Array.from({ length: b.MaxItemsPerBatch ?? 1 }, () => worst(contracts.RegionTaskSchema));
      const bytes = Math.min(b.MaxInputBytesPerBatch ?? Number.POSITIVE_INFINITY, size({ Items: items }));
      expect(bytes, `${name}: set MaxInputBytesPerBatch or fewer MaxItemsPerBatch`).toBeLessThan(LIMIT);
    }
  });
});

/** Input plus every ResultPath slot of the ASL filled with the largest value any output can have. */
function worstSuccessState(): Record<string, unknown> {
  const slots = Object.entries(asl.States).filter(
    ([, s]) => typeof s.ResultPath === 'string' && s.ResultPath !== '$',
  );
  expect(slots.length).toBeGreaterThan(0);
  // Any output in any slot: no state → schema table needed, and a new step is covered as it lands.
  const worstOutput = largest(stateSchemas.map(([, s]) => worst(s)));
  const state: Record<string, unknown> = { ...(worst(contracts.ExecutionInputSchema) as object) };
  for (const [name, s] of slots) {
    const slot = (s.ResultPath as string).replace(/^\$\./, '');
    expect(slot, `${name}'s ResultPath is a top-level field`).toMatch(/^[A-Za-z0-9_]+$/);
    state[slot] = s.Type === 'Map' && s.ResultWriter ? largest([mapRunResult, worstOutput]) : worstOutput;
  }
  return state;
}
