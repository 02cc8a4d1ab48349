// `satfactory show <dataset> [<key> | --split S --n 16] [-o file.png]`: a contact sheet PNG of a
// dataset, read through the dataset reader. A key shows that sample's frames one by one, captioned
// with their dates (a window's key in a per-date dataset shows every date of it); a split shows its
// first n samples in manifest order, captioned with their keys. A sample's own `<key>.png` is used
// when it has one; otherwise the quicklook is drawn from its arrays with the stretch the manifest
// records (manifest.quicklooks), or else the one quicklooks use (stats p2/p98 of the train split).
import { writeFile } from 'node:fs/promises';
import { decode } from 'fast-png';
import { type DatasetSample, openDataset } from '../dataset/reader.ts';
import { contactSheet, type SheetCell } from '../domain/contact-sheet.ts';
import { InvalidInputError } from '../domain/errors.ts';
import { QUICKLOOK_BANDS } from '../domain/job-spec.ts';
import type { Manifest } from '../domain/manifest.ts';
import { dateStamp } from '../domain/per-date.ts';
import {
  encodeRgbPng,
  type QuicklookStretch,
  quicklookImage,
  quicklookStretch,
  type RgbImage,
} from '../domain/quicklook.ts';

export type ShowOptions = { key?: string; split?: string; n?: string; output?: string };

export async function showCommand(
  uri: string,
  options: ShowOptions,
  out: (line: string) => void,
): Promise<number> {
  const n = options.n === undefined ? 16 : Number(options.n);
  if (!(Number.isInteger(n) && n >= 1 && n <= 10_000)) {
    throw new InvalidInputError(
      `--n ${JSON.stringify(options.n)} is not a number of samples from 1 to 10000`,
    );
  }
  if (options.key && options.split) {
    throw new InvalidInputError('give a sample key or --split, not both');
  }
  const ds = await openDataset(uri);
  const stretch = stretchOf(ds.manifest, ds.source.uri);
  const nodata = Object.fromEntries(
    ds.manifest.bands.flatMap((g) => g.bands.map((b) => [b.name, b.nodata] as const)),
  );
  const image = (s: DatasetSample): RgbImage => {
    const png = s.other['png'];
    if (png) {
      const d = decode(png);
      return { width: d.width, height: d.height, data: Uint8Array.from(d.data) };
    }
    const groups = (s.json['groups'] ?? {}) as Record<string, { bands: string[] }>;
    return quicklookImage({ arrays: s.arrays, groups, nodata }, stretch, s.key);
  };

  const cells: SheetCell[] = [];
  let what: string;
  if (options.key) {
    const key = options.key;
    const found: DatasetSample[] = [];
    for (const split of ds.splits) {
      for await (const s of ds.samples(split)) {
        if (s.key === key || s.json['window'] === key) found.push(s);
      }
    }
    if (found.length === 0) {
      throw new InvalidInputError(`no sample ${key} in ${ds.source.uri} (keys look like 33twl_0003_0012)`);
    }
    found.sort((a, b) => a.key.localeCompare(b.key));
    for (const s of found) cells.push(...frames(s, image(s)));
    what = key;
  } else {
    const split = options.split ?? ds.splits.find((x) => ds.shards(x).length > 0) ?? 'train';
    for await (const s of ds.samples(split)) {
      cells.push({ image: image(s), caption: s.key });
      if (cells.length >= n) break;
    }
    if (cells.length === 0) throw new InvalidInputError(`split ${split} of ${ds.source.uri} has no sample`);
    what = split;
  }
  const sheet = contactSheet(cells);
  const file = options.output ?? `${ds.manifest.name}-${what}.png`;
  const bytes = encodeRgbPng(sheet);
  await writeFile(file, bytes);
  out(
    `wrote ${file}: ${sheet.width} x ${sheet.height} px, ${cells.length} image(s), ${bytes.byteLength} bytes`,
  );
  return 0;
}

/** A sample's frames as cells, each captioned with its date (yyyymmdd) and the key's tail. */
function frames(s: DatasetSample, image: RgbImage): SheetCell[] {
  const dates = (s.json['dates'] ?? []) as string[];
  const side = image.height;
  const T = Math.round(image.width / side);
  return Array.from({ length: T }, (_, t) => {
    const data = new Uint8Array(side * side * 3);
    for (let y = 0; y < side; y++) {
      const from = (y * image.width + t * side) * 3;
      data.set(image.data.subarray(from, from + side * 3), y * side * 3);
    }
    const date = dates[t] ? dateStamp(dates[t] as string) : `frame ${t}`;
    return { image: { width: side, height: side, data }, caption: T > 1 ? date : `${s.key}` };
  });
}

function stretchOf(manifest: Manifest, where: string): QuicklookStretch {
  if (manifest.quicklooks) return manifest.quicklooks.channels;
  const bands = manifest.bands.flatMap((g) => g.bands.map((b) => b.name));
  const missing = QUICKLOOK_BANDS.filter((b) => !bands.includes(b));
  if (missing.length > 0) {
    throw new InvalidInputError(
      `${where} has no band ${missing.join(', ')}: show draws true colour from red, green and blue (its bands: ${bands.join(', ')})`,
      { source: where },
    );
  }
  return quicklookStretch(manifest.stats.bands);
}
