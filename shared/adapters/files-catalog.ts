// A Catalog over the user's own GeoTIFFs (catalog kind "files"): each file's header is read once
// through the range reader (a few KiB), and the items are made from what the files say
// (shared/domain/files-catalog.ts). Filters like a static catalog: period and AOI.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { readTiffFacts } from '../domain/cog-header.ts';
import { runLimited } from '../domain/concurrency.ts';
import { InvalidInputError, RasterFormatError } from '../domain/errors.ts';
import { FILES_COLLECTION, type FileFacts, filePath, itemsFromFiles } from '../domain/files-catalog.ts';
import type { CatalogFile } from '../domain/job-spec.ts';
import type { Catalog, CatalogQuery, CatalogResult, Log, RangeReader } from '../ports.ts';
import { silentLog } from '../ports.ts';
import { matchesQuery } from './static-catalog.ts';

export type FilesCatalogOptions = {
  readonly files: readonly CatalogFile[];
  readonly datetime?: string | undefined;
  /** Relative paths resolve against this folder (the job file's; the CLI makes them absolute). */
  readonly baseDir?: string;
  readonly ranges: RangeReader;
  readonly log?: Log;
};

/** A path, file://, http(s):// or s3:// location as the URL the range reader reads. */
export function fileHref(location: string, baseDir: string = process.cwd()): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return location;
  return pathToFileURL(path.resolve(baseDir, location)).href;
}

export class FilesCatalog implements Catalog {
  readonly description: string;
  readonly #options: FilesCatalogOptions;
  readonly #log: Log;

  constructor(options: FilesCatalogOptions) {
    this.#options = options;
    this.#log = options.log ?? silentLog;
    this.description = `files (${options.files.length} GeoTIFF${options.files.length > 1 ? 's' : ''})`;
  }

  async search(query: CatalogQuery): Promise<CatalogResult> {
    const { files, baseDir, ranges } = this.#options;
    const facts: FileFacts[] = new Array(files.length);
    await runLimited(
      files.map((entry, index) => async () => {
        const href = fileHref(filePath(entry), baseDir);
        try {
          const read = await readTiffFacts(ranges, href);
          facts[index] = { index, href, info: read.info, bands: read.bands, tiffDatetime: read.datetime };
        } catch (error) {
          // A file that is not a TIFF, or has no georeferencing: bad input, named with its pointer.
          if (!(error instanceof RasterFormatError)) throw error;
          throw new InvalidInputError(
            `catalog.files[${index}]: ${error.message}`,
            { source: href, pointer: `/catalog/files/${index}` },
            { cause: error },
          );
        }
      }),
      8,
    );
    const items = itemsFromFiles(files, facts, this.#options.datetime);
    const matched = items.filter((item) => matchesQuery(item, { ...query, collection: '' }, item.id));
    matched.sort(
      (a, b) =>
        String(a.properties.datetime).localeCompare(String(b.properties.datetime)) ||
        a.id.localeCompare(b.id),
    );
    this.#log.info('files catalog: items made from the files', {
      files: files.length,
      items: items.length,
      matched: matched.length,
    });
    return {
      items: matched,
      // What the files said, kept with the run like a catalog's answer.
      pages: [
        {
          request: { method: 'GET', url: `files:${FILES_COLLECTION}` },
          status: 200,
          body: { type: 'FeatureCollection', features: items },
        },
      ],
      bases: {},
    };
  }
}
