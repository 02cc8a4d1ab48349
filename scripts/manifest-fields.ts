// The README's table of manifest fields, rendered from the manifest's JSON Schema (generated from
// its zod schema): one row per field, nested objects as dotted paths, `[]` for array items and
// `{key}` for the values of a record.
import { manifestJsonSchema } from '../shared/domain/manifest.ts';

type Schema = {
  type?: string | string[];
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  anyOf?: Schema[];
  oneOf?: Schema[];
  const?: unknown;
  enum?: unknown[];
};

const variants = (s: Schema): Schema[] => s.anyOf ?? s.oneOf ?? [s];
const objectOf = (s: Schema) => variants(s).find((v) => v.properties);
const arrayOf = (s: Schema) => variants(s).find((v) => v.type === 'array' && v.items);
const recordOf = (s: Schema) =>
  variants(s).find((v) => !v.properties && typeof v.additionalProperties === 'object');

function typeOf(s: Schema): string {
  return variants(s)
    .map((v) => {
      if (v.const !== undefined) return JSON.stringify(v.const);
      if (v.enum) return v.enum.map((e) => JSON.stringify(e)).join(' \\| ');
      if (v.type === 'array') {
        const item = v.items ? typeOf(v.items) : 'any';
        return item.includes(' ') ? `(${item})[]` : `${item}[]`;
      }
      if (v.type === 'object' && !v.properties && typeof v.additionalProperties === 'object')
        return `{key: ${typeOf(v.additionalProperties)}}`;
      if (Array.isArray(v.type)) return v.type.join(' \\| ');
      return v.type ?? 'any';
    })
    .join(' \\| ');
}

function rows(s: Schema, prefix: string, out: string[]): void {
  const obj = objectOf(s);
  if (obj?.properties) {
    for (const [name, field] of Object.entries(obj.properties)) {
      const path = `${prefix}${prefix ? '.' : ''}${name}`;
      const optional = obj.required?.includes(name) ? '' : ' (optional)';
      const description = (field.description ?? variants(field).find((v) => v.description)?.description ?? '')
        .replace(/\|/g, '\\|')
        .replace(/\n/g, ' ');
      out.push(`| \`${path}\` | ${typeOf(field)}${optional} | ${description} |`);
      rows(field, path, out);
    }
    return;
  }
  const array = arrayOf(s);
  if (array?.items) rows(array.items, `${prefix}[]`, out);
  const record = recordOf(s);
  if (record && typeof record.additionalProperties === 'object')
    rows(record.additionalProperties, `${prefix}.{key}`, out);
}

/** Fields whose schema has no description (every field must have one). */
export function undescribedManifestFields(): string[] {
  return renderManifestFields()
    .split('\n')
    .slice(2)
    .filter((row) => /\|\s*\|$/.test(row))
    .map((row) => row.split('|')[1]?.trim() ?? row);
}

export function renderManifestFields(): string {
  const out: string[] = ['| field | type | description |', '|---|---|---|'];
  rows(manifestJsonSchema() as Schema, '', out);
  return out.join('\n');
}
