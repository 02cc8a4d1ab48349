// Where a dataset is read from: a BlobStore (a folder, file://, s3://) or an HTTP(S) base URL. Readers
// and pull need only `get`, so any of them will do.
import { blobStoreForUri } from '../adapters/blob-store-for-uri.ts';
import { HttpDatasetSource, type HttpDatasetSourceOptions } from '../adapters/http-dataset-source.ts';
import type { BlobStore } from '../ports.ts';

/** Read access to the files of a dataset, by dataset-relative key. */
export type DatasetSource = Pick<BlobStore, 'uri' | 'get'>;

/** A folder, file:///abs/path, s3://bucket/prefix (AWS_ENDPOINT_URL_S3 honoured) or http(s)://host/path. */
export function datasetSourceForUri(
  uri: string,
  baseDir: string = process.cwd(),
  http: HttpDatasetSourceOptions = {},
): DatasetSource {
  if (/^https?:\/\//i.test(uri)) return new HttpDatasetSource(uri, http);
  return blobStoreForUri(uri, baseDir);
}
