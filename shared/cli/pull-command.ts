// satfactory pull <uri> <dir> [--split S] [--concurrency N]: copy a dataset and verify every shard.
import { pullDataset } from '../dataset/pull.ts';
import { datasetSourceForUri } from '../dataset/source.ts';
import { InvalidInputError } from '../domain/errors.ts';
import type { Log, Progress } from '../ports.ts';

export type PullCommandOptions = {
  split?: string;
  concurrency?: string;
  progress: Progress;
  out: (line: string) => void;
};

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export async function pullCommand(
  uri: string,
  dir: string | undefined,
  log: Log,
  options: PullCommandOptions,
): Promise<number> {
  if (!dir) throw new InvalidInputError('satfactory pull needs a source and a folder: pull <uri> <dir>');
  const concurrency = options.concurrency === undefined ? 4 : Number(options.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new InvalidInputError(`--concurrency ${options.concurrency} is not a positive whole number`);
  }
  const report = await pullDataset(datasetSourceForUri(uri), dir, {
    ...(options.split !== undefined ? { split: options.split } : {}),
    concurrency,
    progress: options.progress,
    log,
  });
  const what = options.split === undefined ? '' : ` of split ${options.split}`;
  options.out(
    `ok: ${report.shards} shard(s)${what} verified in ${dir}: ${report.fetched} fetched (${mb(report.bytes)}` +
      `${report.refetched > 0 ? `, ${report.refetched} of them replacing a damaged or partial copy` : ''}), ` +
      `${report.kept} already there`,
  );
  return 0;
}
