// A job file run on the local runtime in-process (two worker threads), then its dataset read back:
// the manifest and every sample of every shard, in manifest order.
import { FsBlobStore } from '../../shared/adapters/local/fs-blob-store.ts';
import { prepareJob, workUriOf } from '../../shared/cli/prepare-job.ts';
import type { Manifest } from '../../shared/domain/manifest.ts';
import { readShard, type ShardSample } from '../../shared/domain/shard.ts';
import { noProgress, silentLog } from '../../shared/ports.ts';
import { createLocalContext } from '../../shared/runtime/local-context.ts';
import { runJobLocally } from '../../shared/runtime/run-job.ts';

export type LocalJobResult = { store: FsBlobStore; manifest: Manifest; samples: ShardSample[] };

export async function runLocalJob(file: string): Promise<LocalJobResult> {
  const prepared = await prepareJob(file);
  const workUri = workUriOf(prepared.job);
  const ctx = createLocalContext({ workUri, log: silentLog });
  await runJobLocally({ ...prepared, workUri, ctx, progress: noProgress, threads: 2 });
  const store = new FsBlobStore(prepared.job.output.uri);
  const manifest = JSON.parse(
    Buffer.from((await store.get('manifest.json')) as Uint8Array).toString(),
  ) as Manifest;
  const samples: ShardSample[] = [];
  for (const shard of manifest.shards)
    samples.push(...(await readShard((await store.get(shard.path)) as Uint8Array)));
  return { store, manifest, samples };
}
