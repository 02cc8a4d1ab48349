// A Catalog over static STAC: an ItemCollection, a Catalog/Collection tree, one Item, or a folder of
// Item files (local, file:// or http(s)). Filters locally; each item's base is the URL of its own file.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { booleanIntersects } from '@turf/turf';
import { normalizeFootprint } from '../domain/antimeridian.ts';
import { type StacItem, stacTime } from '../domain/catalog.ts';
import { CatalogError, HttpStatusError, InvalidInputError } from '../domain/errors.ts';
import { jsonSyntaxProblem, quoteSnippet, quoteValue } from '../domain/snippet.ts';
import type { Catalog, CatalogPage, CatalogQuery, CatalogResult, Log } from '../ports.ts';
import { silentLog } from '../ports.ts';
import { fetchJson, type HttpJsonOptions } from './http-json.ts';
import { checkInputUri, type InputPolicy, LOCAL_INPUT_POLICY } from './input-policy.ts';
import { searchInterval } from './stac-api-catalog.ts';

export type StaticCatalogOptions = HttpJsonOptions & {
  /** A path, file:// URL or http(s) URL of an ItemCollection, Catalog, Collection, Item, or a folder. */
  readonly source: string;
  /** Relative paths resolve against this folder (the job spec's folder); default: the working directory. */
  readonly baseDir?: string;
  /** What may be read: every document (the source and each link) is checked before it is read. */
  readonly policy?: InputPolicy;
};

/** Files read at once when walking a folder: enough to hide latency, few enough to spare descriptors. */
const READ_CONCURRENCY = 16;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Turns catalog.source into an absolute URL (file:// for paths). */
export function resolveSource(source: string, baseDir: string = process.cwd()): string {
  if (/^https?:\/\//i.test(source)) return new URL(source).href;
  if (/^file:\/\//i.test(source)) return new URL(source).href;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    throw new InvalidInputError(
      `catalog.source "${source}" uses an unsupported scheme; give a path, a file:// URL or an http(s):// URL`,
      { source, pointer: '/catalog/source' },
    );
  }
  return pathToFileURL(path.resolve(baseDir, source)).href;
}

/**
 * Checks that `value` is a STAC Item (type Feature, string id, properties and assets objects) and
 * names the file and JSON pointer of the first problem.
 */
export function asStacItem(value: unknown, source: string, pointer = ''): StacItem {
  const fail = (what: string, at: string): never => {
    throw new InvalidInputError(`${source}${at ? ` at ${at}` : ''}: ${what}; expected a STAC Item`, {
      source,
      pointer: at || '/',
    });
  };
  if (!isRecord(value)) return fail('not a JSON object', pointer);
  if (value['type'] !== 'Feature')
    return fail(`type is ${quoteValue(value['type'])}, not "Feature"`, `${pointer}/type`);
  if (typeof value['id'] !== 'string' || value['id'] === '') return fail('no string id', `${pointer}/id`);
  if (!isRecord(value['properties'])) return fail('no properties object', `${pointer}/properties`);
  if (!isRecord(value['assets'])) return fail('no assets object', `${pointer}/assets`);
  return value as unknown as StacItem;
}

function looksLikeItem(value: unknown): boolean {
  return (
    isRecord(value) &&
    value['type'] === 'Feature' &&
    isRecord(value['assets']) &&
    typeof value['id'] === 'string'
  );
}

/**
 * Whether a static item answers the query. Items without a datetime or footprint are kept, so that
 * normalizeItem rejects them with a reason the selection report shows instead of dropping them silently.
 * The collection is only compared when both the query and the item name one (static sources often do not).
 */
export function matchesQuery(item: StacItem, query: CatalogQuery, source: string): boolean {
  if (query.collection && item.collection !== undefined && item.collection !== query.collection) return false;
  const { start, end } = searchInterval(query.start, query.end);
  const from = Date.parse(start);
  const to = Date.parse(end);
  const props = item.properties;
  const datetime = typeof props.datetime === 'string' ? Date.parse(props.datetime) : Number.NaN;
  if (!Number.isNaN(datetime)) {
    if (datetime < from || datetime > to) return false;
  } else {
    // Items with only a range (datetime null) match when the range overlaps the period.
    const s =
      typeof props['start_datetime'] === 'string'
        ? Date.parse(stacTime(props['start_datetime']))
        : Number.NaN;
    const e =
      typeof props['end_datetime'] === 'string' ? Date.parse(stacTime(props['end_datetime'])) : Number.NaN;
    if (!Number.isNaN(s) && !Number.isNaN(e) && (e < from || s > to)) return false;
  }
  const cloud = props['eo:cloud_cover'];
  if (query.maxCloudCover !== undefined && typeof cloud === 'number' && cloud > query.maxCloudCover)
    return false;
  if (item.geometry) {
    try {
      const g = item.geometry;
      // A footprint written across ±180 the short way is read as such, not as a band round the world.
      const footprint = g.type === 'Polygon' || g.type === 'MultiPolygon' ? normalizeFootprint(g) : g;
      if (!booleanIntersects(footprint, query.intersects)) return false;
    } catch (cause) {
      throw new InvalidInputError(
        `${source}: the geometry of item ${item.id} cannot be intersected with the AOI (${String(cause)}); fix the footprint`,
        { source, item: item.id, pointer: '/geometry' },
        { cause },
      );
    }
  }
  return true;
}

type Found = { item: StacItem; base: string };

export class StaticCatalog implements Catalog {
  readonly description: string;
  readonly sourceUrl: string;
  private readonly options: StaticCatalogOptions;
  private readonly log: Log;

  constructor(options: StaticCatalogOptions) {
    this.options = options;
    this.sourceUrl = resolveSource(options.source, options.baseDir);
    this.description = `static STAC ${this.sourceUrl}`;
    this.log = options.log ?? silentLog;
  }

  async search(query: CatalogQuery): Promise<CatalogResult> {
    checkInputUri(this.options.policy ?? LOCAL_INPUT_POLICY, this.sourceUrl, 'catalog.source');
    const pages: CatalogPage[] = [];
    const found: Found[] = [];
    if (this.sourceUrl.startsWith('file:') && (await this.isFolder(this.sourceUrl))) {
      await this.walkFolder(fileURLToPath(this.sourceUrl), pages, found);
    } else {
      await this.visit(this.sourceUrl, pages, found, new Set());
    }

    const seen = new Set<string>();
    const matched: Found[] = [];
    for (const f of found) {
      const key = `${f.item.collection ?? ''}\u0000${f.item.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (matchesQuery(f.item, query, f.base)) matched.push(f);
    }
    // Same order as the API search (sortby datetime asc), so both catalogs feed selection alike.
    const time = (f: Found): number => {
      const t = Date.parse(
        stacTime(String(f.item.properties.datetime ?? f.item.properties['start_datetime'] ?? '')),
      );
      return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
    };
    matched.sort((a, b) => time(a) - time(b) || (a.item.id < b.item.id ? -1 : a.item.id > b.item.id ? 1 : 0));

    const bases: Record<string, string> = {};
    for (const f of matched) bases[f.item.id] ??= f.base;
    this.log.info('static catalog: search done', {
      source: this.sourceUrl,
      documents: pages.length,
      items: found.length,
      matched: matched.length,
    });
    return { items: matched.map((f) => f.item), pages, bases };
  }

  private async isFolder(url: string): Promise<boolean> {
    const file = fileURLToPath(url);
    try {
      return (await stat(file)).isDirectory();
    } catch (cause) {
      throw new InvalidInputError(
        `catalog.source ${file} does not exist or cannot be read; check the path`,
        {
          source: file,
          pointer: '/catalog/source',
        },
        { cause },
      );
    }
  }

  private async walkFolder(root: string, pages: CatalogPage[], found: Found[]): Promise<void> {
    const entries = await readdir(root, { recursive: true, withFileTypes: true });
    const files = entries
      .filter((e) => e.isFile() && /\.(geo)?json$/i.test(e.name))
      .map((e) => path.join(e.parentPath, e.name))
      .sort();
    for (let i = 0; i < files.length; i += READ_CONCURRENCY) {
      const batch = files.slice(i, i + READ_CONCURRENCY);
      const docs = await Promise.all(
        batch.map(async (file) => ({
          url: pathToFileURL(file).href,
          doc: await this.read(pathToFileURL(file).href),
        })),
      );
      for (const { url, doc } of docs) {
        // A folder holds more than items (tile metadata, collection.json): only Items count.
        if (!looksLikeItem(doc)) {
          this.log.debug('static catalog: not a STAC Item, skipped', { file: url });
          continue;
        }
        pages.push({ request: { method: 'GET', url }, status: 200, body: doc });
        found.push({ item: asStacItem(doc, url), base: url });
      }
    }
    if (found.length === 0) {
      this.log.warn('static catalog: the folder holds no STAC Item JSON', { source: root });
    }
  }

  private async visit(
    url: string,
    pages: CatalogPage[],
    found: Found[],
    visited: Set<string>,
  ): Promise<void> {
    if (visited.has(url)) return;
    visited.add(url);
    const doc = await this.read(url);
    pages.push({ request: { method: 'GET', url }, status: 200, body: doc });
    if (!isRecord(doc)) {
      throw new InvalidInputError(`${url} is not a STAC document (not a JSON object)`, {
        source: url,
        pointer: '/',
      });
    }
    const type = doc['type'];
    if (type === 'Feature') {
      found.push({ item: asStacItem(doc, url), base: url });
      return;
    }
    if (type === 'FeatureCollection') {
      const features = doc['features'];
      if (!Array.isArray(features)) {
        throw new InvalidInputError(`${url} is a FeatureCollection without a features array`, {
          source: url,
          pointer: '/features',
        });
      }
      features.forEach((f, i) => {
        found.push({ item: asStacItem(f, url, `/features/${i}`), base: url });
      });
      return;
    }
    // STAC before 1.0 had no `type` on catalogs; a stac_version with links is one.
    const isCatalog =
      type === 'Catalog' ||
      type === 'Collection' ||
      (type === undefined && typeof doc['stac_version'] === 'string');
    if (!isCatalog) {
      throw new InvalidInputError(
        `${url} is not a STAC ItemCollection, Catalog, Collection or Item (type ${quoteValue(type)})`,
        { source: url, pointer: '/type' },
      );
    }
    const links = Array.isArray(doc['links']) ? doc['links'] : [];
    for (const [i, link] of links.entries()) {
      if (!isRecord(link) || (link['rel'] !== 'item' && link['rel'] !== 'child')) continue;
      const href = link['href'];
      if (typeof href !== 'string') {
        throw new InvalidInputError(`${url}: link ${i} has no href`, {
          source: url,
          pointer: `/links/${i}/href`,
        });
      }
      const target = this.linkTarget(href, url, i);
      if (link['rel'] === 'child') {
        await this.visit(target, pages, found, visited);
        continue;
      }
      if (visited.has(target)) continue;
      visited.add(target);
      const itemDoc = await this.read(target);
      pages.push({ request: { method: 'GET', url: target }, status: 200, body: itemDoc });
      found.push({ item: asStacItem(itemDoc, target), base: target });
    }
  }

  private linkTarget(href: string, from: string, index: number): string {
    let target: string;
    try {
      target = new URL(href, from).href;
    } catch (cause) {
      throw new InvalidInputError(
        `${from}: link ${index} has an invalid href ${quoteSnippet(href, 80)}`,
        {
          source: from,
          pointer: `/links/${index}/href`,
        },
        { cause },
      );
    }
    // A remote catalog must not make us read local files.
    if (target.startsWith('file:') && !from.startsWith('file:')) {
      throw new InvalidInputError(
        `${from}: link ${index} points to a local file (${target}); remote catalogs may only link to http(s)`,
        {
          source: from,
          pointer: `/links/${index}/href`,
        },
      );
    }
    if (!/^(file|https?):/i.test(target)) {
      throw new InvalidInputError(
        `${from}: link ${index} uses an unsupported scheme (${quoteSnippet(target, 80)})`,
        {
          source: from,
          pointer: `/links/${index}/href`,
        },
      );
    }
    return target;
  }

  private async read(url: string): Promise<unknown> {
    checkInputUri(this.options.policy ?? LOCAL_INPUT_POLICY, url, 'catalog document');
    if (url.startsWith('file:')) {
      const file = fileURLToPath(url);
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (cause) {
        throw new InvalidInputError(
          `${file} cannot be read (${(cause as Error).message}); check catalog.source and the links to it`,
          {
            source: file,
          },
          { cause },
        );
      }
      try {
        return JSON.parse(text);
      } catch (cause) {
        throw new InvalidInputError(
          `${file} is not valid JSON (${jsonSyntaxProblem(cause)})`,
          { source: file, pointer: '/' },
          {
            cause,
          },
        );
      }
    }
    try {
      return (await fetchJson({ method: 'GET', url }, this.options)).body;
    } catch (error) {
      if (error instanceof HttpStatusError && !error.retryable) {
        throw new CatalogError(
          `static STAC document ${url} could not be read: ${error.message}`,
          {
            source: url,
            status: error.status,
          },
          { cause: error },
        );
      }
      throw error;
    }
  }
}
