// Error messages quote at most a short, escaped glimpse of a data file, and nothing of a file the job
// did not name as data: every place that used to echo file content, with a file whose first bytes
// are a secret (as /proc/self/environ is).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fetchJson } from '../../../shared/adapters/http-json.ts';
import { StaticCatalog } from '../../../shared/adapters/static-catalog.ts';
import { readLabelSource } from '../../../shared/domain/labels/read.ts';
import { parseWkt } from '../../../shared/domain/labels/wkt.ts';
import { jsonSyntaxProblem, quoteSnippet, SNIPPET_CHARS } from '../../../shared/domain/snippet.ts';
import { systemClock } from '../../../shared/ports.ts';

const SECRET = 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY';
const environ = `AWS_REGION=us-west-2\u0000${SECRET}\u0000AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjE\u0000`;

/** The message of what `run` throws. */
async function messageOf(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a throw');
}

/** No more than `max` consecutive characters of `text` appear in `message`. */
function longestEcho(message: string, text: string): number {
  let best = 0;
  for (let i = 0; i < text.length; i++) {
    for (let n = best + 1; i + n <= text.length && message.includes(text.slice(i, i + n)); n++) best = n;
  }
  return best;
}

describe('quoteSnippet and jsonSyntaxProblem', () => {
  it('cut and escape: no control or bidi character gets through', () => {
    expect(quoteSnippet('abc')).toBe('"abc"');
    expect(quoteSnippet('x'.repeat(40))).toBe(`"${'x'.repeat(SNIPPET_CHARS)}"...`);
    expect(quoteSnippet('a\u0000b\u001b[31mc\u202ed"e\\')).toBe('"a\\u0000b\\u001b[31mc\\u202ed\\"e\\\\"');
    expect(quoteSnippet('Maïs, blé')).toBe('"Maïs, blé"');
  });

  it('drop the input V8 quotes in JSON.parse errors, keeping the position or the character', () => {
    const problem = (text: string) => {
      try {
        JSON.parse(text);
      } catch (error) {
        return jsonSyntaxProblem(error);
      }
      return 'parsed';
    };
    expect(problem(environ)).toBe('unexpected character "A"');
    expect(problem('\u0000secret')).toBe('unexpected character "\\u0000"');
    expect(problem(`{"a": ${SECRET}}`)).toBe('unexpected character "A"');
    expect(problem('{"a": 1')).toBe(
      "Expected ',' or '}' after property value in JSON at position 7 (line 1 column 8)",
    );
    expect(problem('')).toBe('Unexpected end of JSON input');
  });
});

describe('label readers', () => {
  it('a WKT error quotes at most 16 characters where parsing stopped, escaped', async () => {
    const message = await messageOf(() => parseWkt(`POLYGON ((1 2, ${SECRET}))`));
    expect(message).toBe('expected 2 ordinates, found 0 at character 15 (near "AWS_SECRET_ACCES"...)');
    expect(await messageOf(() => parseWkt('POLYGON ((1 2,\u001b[2J 3 4))'))).toContain(
      '(near "\\u001b[2J 3 4))")',
    );
    expect(await messageOf(() => parseWkt(SECRET.replace(/[^A-Z]/g, '')))).toMatch(
      /^unknown geometry type "AWSSECRETACCESSKEYJXUFEM"\.\.\. at character 45$/,
    );
  });

  it('a CSV without a geometry column names a few columns, short and escaped, not the header line', async () => {
    const csv = `${environ}\nrow`;
    const message = await messageOf(() => readLabelSource(Buffer.from(csv), { source: 'labels.csv' }));
    expect(message).toBe(
      'labels.csv: the CSV has no "geometry" column (1 column(s): "AWS_REGION=us-west-2"...); add the WKT geometry as "geometry"',
    );
    expect(longestEcho(message, SECRET)).toBeLessThanOrEqual(4);
    const wide = `${Array.from({ length: 30 }, (_, i) => `column_with_a_long_name_${i}`).join(',')}\n1`;
    const many = await messageOf(() => readLabelSource(Buffer.from(wide), { source: 'wide.csv' }));
    expect(many).toContain('30 column(s): "column_with_a_long_n"...');
    expect(many).toContain('and 24 more');
    expect(many.length).toBeLessThan(300);
  });

  it('a GeoJSON that is not JSON says where, not what', async () => {
    const message = await messageOf(() => readLabelSource(Buffer.from(environ), { source: 'x.geojson' }));
    expect(message).toBe(
      'x.geojson is not valid JSON (unexpected character "A"); export it again as GeoJSON',
    );
    const crs = {
      type: 'FeatureCollection',
      crs: { type: 'name', properties: { secret: SECRET } },
      features: [],
    };
    const crsMessage = await messageOf(() =>
      readLabelSource(Buffer.from(JSON.stringify(crs)), { source: 'c.geojson' }),
    );
    expect(longestEcho(crsMessage, SECRET)).toBeLessThanOrEqual(12);
    const code = { ...crs, crs: { type: 'name', properties: { name: SECRET } } };
    const codeMessage = await messageOf(() =>
      readLabelSource(Buffer.from(JSON.stringify(code)), { source: 'c.geojson' }),
    );
    expect(codeMessage).toContain(
      'crs member "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDE"... is not an EPSG code',
    );
  });
});

describe('catalogs', () => {
  it('a linked document that is not JSON is named, its content is not quoted', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'snippet-'));
    try {
      const secret = path.join(dir, 'not-stac.json');
      await writeFile(secret, environ);
      const catalog = {
        type: 'Catalog',
        stac_version: '1.0.0',
        id: 'c',
        description: 'c',
        links: [{ rel: 'item', href: pathToFileURL(secret).href }],
      };
      await writeFile(path.join(dir, 'catalog.json'), JSON.stringify(catalog));
      const search = () =>
        new StaticCatalog({ source: path.join(dir, 'catalog.json'), clock: systemClock }).search({
          collection: '',
          intersects: { type: 'Point', coordinates: [0, 0] },
          start: '2023-01-01',
          end: '2023-01-02',
        });
      const message = await messageOf(search);
      expect(message).toBe(`${secret} is not valid JSON (unexpected character "A")`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an answer that is not JSON is quoted short and escaped', async () => {
    const fetch = async () => new Response(`<html>\u001b]0;${SECRET}</html>`, { status: 200 });
    const message = await messageOf(() =>
      fetchJson({ method: 'GET', url: 'https://stac.example/v1' }, { clock: systemClock, fetch }),
    );
    expect(message).toBe(
      'GET https://stac.example/v1 answered 200 but the body is not JSON (unexpected character "<"; it starts "<html>\\u001b]0;AWS_SECRET_ACC"...)',
    );
  });
});
