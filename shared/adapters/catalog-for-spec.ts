// Opens the Catalog a job spec names: a STAC API (kind "stac") or static STAC files (kind "static").
// The one place that maps CatalogSpec fields onto adapter options.
import type { CatalogSpec } from '../domain/job-spec.ts';
import type { Catalog, Clock, Log, RangeReader } from '../ports.ts';
import { FilesCatalog } from './files-catalog.ts';
import type { FetchLike, RetryOptions } from './http-json.ts';
import type { InputPolicy } from './input-policy.ts';
import { StacApiCatalog } from './stac-api-catalog.ts';
import { StaticCatalog } from './static-catalog.ts';

export type CatalogForSpecOptions = RetryOptions & {
  readonly clock: Clock;
  /** Folder that relative static sources resolve against (the job spec's folder). */
  readonly baseDir: string;
  readonly log?: Log;
  readonly fetch?: FetchLike;
  /** What may be read (default: anything, as the local CLI does). HTTP goes through `fetch`. */
  readonly policy?: InputPolicy;
  /** Reads the headers of a files catalog's GeoTIFFs (the step's own range reader). */
  readonly ranges?: RangeReader;
};

export function catalogForSpec(spec: CatalogSpec, options: CatalogForSpecOptions): Catalog {
  const { baseDir, policy, ranges, ...http } = options;
  if (spec.kind === 'stac') {
    return new StacApiCatalog({
      ...http,
      url: spec.url,
      collection: spec.collection,
      limit: spec.limit,
      maxPages: spec.maxPages,
      maxItems: spec.maxItems,
    });
  }
  if (spec.kind === 'files') {
    if (!ranges) throw new Error('catalogForSpec: a files catalog needs the range reader');
    return new FilesCatalog({
      files: spec.files,
      datetime: spec.datetime,
      baseDir,
      ranges,
      ...(http.log ? { log: http.log } : {}),
    });
  }
  return new StaticCatalog({ ...http, source: spec.source, baseDir, ...(policy ? { policy } : {}) });
}
