// Builds the ports of a step on this machine: blob stores from URIs (folders or S3), a range
// reader that speaks http(s), file and s3, the catalog of the job spec, the system clock.
import { blobStoreForUri } from '../adapters/blob-store-for-uri.ts';
import { catalogForSpec } from '../adapters/catalog-for-spec.ts';
import { rangeReaderForUrl } from '../adapters/range-reader-for-url.ts';
import { SasSigningReader } from '../adapters/sas-signing-reader.ts';
import { type BlobStore, type Log, noMetrics, systemClock } from '../ports.ts';
import type { StepContext } from '../work/context.ts';

export function createLocalContext(options: { workUri: string; log: Log }): StepContext {
  const stores = new Map<string, BlobStore>();
  const openStore = (uri: string) => {
    let store = stores.get(uri);
    if (!store) {
      store = blobStoreForUri(uri);
      stores.set(uri, store);
    }
    return store;
  };
  const ranges = rangeReaderForUrl();
  const signers = new Map<string, SasSigningReader>();
  return {
    work: openStore(options.workUri),
    openStore,
    ranges,
    signedRanges: (endpoint, collection) => {
      const key = `${endpoint}\u0000${collection}`;
      let signer = signers.get(key);
      if (!signer) {
        signer = new SasSigningReader(ranges, { endpoint, collection, clock: systemClock, log: options.log });
        signers.set(key, signer);
      }
      return signer;
    },
    openCatalog: (spec) =>
      catalogForSpec(spec, { clock: systemClock, baseDir: process.cwd(), log: options.log, ranges }),
    clock: systemClock,
    log: options.log,
    // The figures a Lambda emits as metrics reach the manifest's io and totals blocks instead.
    metrics: noMetrics,
  };
}
