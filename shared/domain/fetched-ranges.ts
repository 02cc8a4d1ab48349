// Which bytes a job fetched, so that re-reading shows: each region records the ranges it read per
// URL as merged intervals; Commit takes their union per URL. Bytes fetched over the union's bytes is
// the job's refetch ratio (1.0: no byte read twice), what S3 bills and Lambda waits for.
import { z } from 'zod';
import type { RangeReader, RangeReaderStats } from '../ports.ts';

/** URL → sorted, disjoint, non-adjacent [start, end) byte intervals. */
export const FetchedRangesSchema = z.record(
  z.string(),
  z.array(z.tuple([z.int().min(0), z.int().min(0)]).refine(([a, b]) => b > a, 'an empty interval')),
);
export type FetchedRanges = z.infer<typeof FetchedRangesSchema>;

/** Sorts and merges intervals that overlap or touch. */
export function mergeIntervals(intervals: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const sorted = intervals.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of sorted) {
    const last = out.at(-1);
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** The union per URL of several regions' ranges. */
export function unionRanges(all: readonly FetchedRanges[]): FetchedRanges {
  const byUrl = new Map<string, Array<readonly [number, number]>>();
  for (const ranges of all) {
    for (const [url, intervals] of Object.entries(ranges)) {
      const list = byUrl.get(url) ?? [];
      list.push(...intervals);
      byUrl.set(url, list);
    }
  }
  const out: FetchedRanges = {};
  for (const url of [...byUrl.keys()].sort()) out[url] = mergeIntervals(byUrl.get(url) ?? []);
  return out;
}

/** Bytes covered by the intervals (disjoint ones: as mergeIntervals leaves them). */
export function rangeBytes(ranges: FetchedRanges): number {
  let n = 0;
  for (const intervals of Object.values(ranges)) for (const [a, b] of intervals) n += b - a;
  return n;
}

/** Bytes fetched over distinct bytes; null when nothing was fetched. */
export function refetchRatio(io: { bytesFetched: number; bytesDistinct: number }): number | null {
  return io.bytesDistinct > 0 ? io.bytesFetched / io.bytesDistinct : null;
}

/**
 * A RangeReader that passes reads through and records them: its own counters (not the shared
 * reader's, which other work in the same process may also move) and the ranges per URL.
 */
export class RecordingRangeReader implements RangeReader {
  readonly stats: RangeReaderStats = { requests: 0, bytes: 0 };
  readonly #inner: RangeReader;
  readonly #reads = new Map<string, Array<[number, number]>>();

  constructor(inner: RangeReader) {
    this.#inner = inner;
  }

  async read(url: string, offset: number, length: number): Promise<Uint8Array> {
    const bytes = await this.#inner.read(url, offset, length);
    this.stats.requests++;
    this.stats.bytes += bytes.byteLength;
    const list = this.#reads.get(url) ?? [];
    list.push([offset, offset + bytes.byteLength]);
    this.#reads.set(url, list);
    return bytes;
  }

  /** What was read, merged per URL. */
  ranges(): FetchedRanges {
    const out: FetchedRanges = {};
    for (const url of [...this.#reads.keys()].sort()) out[url] = mergeIntervals(this.#reads.get(url) ?? []);
    return out;
  }
}
