// From the value a feature holds to the class it is burnt as: through labels.mapping (the user's
// table of value → class) or a built-in nomenclature (CORINE codes → BigEarthNet-19). A value with
// no class is a per-feature reject with its own problem code, logged and counted, never silent.
import { InvalidInputError } from '../errors.ts';
import type { JobSpec } from '../job-spec.ts';
import { BIGEARTHNET19_LABELS, clcToBigEarthNet19 } from './bigearthnet.ts';
import { classValueKey, type LabelCoding } from './class-table.ts';
import type { ClassEntry } from './classes.ts';

type Labels = NonNullable<JobSpec['labels']>;

export type Recoded = { value: string | number } | { problem: string; detail: string };

/** The bigearthnet-19 table: ids = official indices 0..18, value and name the official label. */
export function bigEarthNet19Table(): { classes: ClassEntry[]; coding: LabelCoding } {
  return {
    classes: BIGEARTHNET19_LABELS.map((label, id) => ({ id, value: label, name: label })),
    coding: {
      origin: 'nomenclature',
      file: null,
      // BigEarthNet has no background class: uncovered pixels are ignored.
      background: 65_535,
      backgroundIs: 'ignore',
      ignoreIndex: 65_535,
      unknown: 'reject',
    },
  };
}

/**
 * The recoder of a job, or null when values are classes as they are. `fixed` is the run's fixed
 * table (labels.classes or a nomenclature); mapping targets name its classes (name, or id), and a
 * target that is not in it (a table read from a file) is an error here, before any feature is read.
 */
export function classRecoder(
  labels: Labels,
  fixed: readonly ClassEntry[] | undefined,
): ((value: string | number) => Recoded) | null {
  const property = labels.classProperty;
  if (labels.mapping) {
    const mapped = new Map<string, string | number>();
    for (const [from, to] of Object.entries(labels.mapping)) {
      if (!fixed) {
        mapped.set(from, to);
        continue;
      }
      const entry = fixed.find((c) => (typeof to === 'number' ? c.id === to : c.name === to));
      if (!entry) {
        throw new InvalidInputError(
          `labels.mapping maps ${JSON.stringify(from)} to ${JSON.stringify(to)}, which is no class ${typeof to === 'number' ? 'id' : 'name'} of the class table; use one of ${fixed
            .slice(0, 8)
            .map((c) => JSON.stringify(typeof to === 'number' ? c.id : (c.name ?? c.value)))
            .join(', ')}${fixed.length > 8 ? ', ...' : ''}`,
          { pointer: `/labels/mapping/${from.replaceAll('~', '~0').replaceAll('/', '~1')}` },
        );
      }
      mapped.set(from, entry.value);
    }
    return (value) => {
      const to = mapped.get(classValueKey(value));
      return to !== undefined
        ? { value: to }
        : {
            problem: 'unmapped-value',
            detail: `class ${JSON.stringify(value)} (property "${property}") is not in labels.mapping; dropped`,
          };
    };
  }
  if (labels.nomenclature === 'bigearthnet-19') {
    return (value) => {
      const r = clcToBigEarthNet19(value);
      if (r.index !== null) return { value: BIGEARTHNET19_LABELS[r.index] as string };
      if (r.reason === 'dropped')
        return {
          problem: 'no-bigearthnet19-class',
          detail: `CLC ${r.clc.code} "${r.clc.label}" (property "${property}") is one of the 11 classes the BigEarthNet 19-class nomenclature drops; dropped`,
        };
      if (r.reason === 'not-bigearthnet')
        return {
          problem: 'no-bigearthnet19-class',
          detail: `CLC ${JSON.stringify(value)} (property "${property}") is no BigEarthNet class (glaciers and perpetual snow are not among its 43); dropped`,
        };
      return {
        problem: 'not-clc-code',
        detail: `class ${JSON.stringify(value)} (property "${property}") is no CORINE Land Cover level-3 code (such as 211), which labels.nomenclature "bigearthnet-19" reads; dropped`,
      };
    };
  }
  return null;
}
