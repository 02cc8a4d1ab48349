// The radiometry probe: do an item's pixels hold the +1000 of baseline 04.00, whatever its metadata
// say? Read the smallest overview of the blue band (COGs keep overviews first; a few KB to a few
// hundred KB) and look at its darkest valid pixels. Thresholds, checked on the real fixture rasters
// (test/integration/radiometry-probe.test.ts):
// - p1 < 800 DN: the pixels do NOT hold the +1000. With it, 1 % of the scene would have a blue BOA
//   reflectance below -0.02, which the processors do not produce (Croatia 2023: p1 152-368, Austria
//   2022-04-05: 700, both flagged "offset applied"; the same pixels + 1000: 1152-1700).
// - p1 >= 1000 DN says nothing by itself: a bright scene without the offset looks the same (the 2020
//   Western Sahara scene, baseline 02.14: p1 1010; 99.9 % cloud on 2022-04-02: p1 3928). So the
//   pixels are said to hold it only when the item's scene classification says >= 25 % of the scene
//   is vegetation or water, whose blue reflectance (< 0.08) would put p1 below 800 without it.
// - anything else: unknown. L1C items carry no scene classification, so they are never "offset".
import type { RangeReader } from '../ports.ts';
import { decodeTile, fetchTiles } from './cog-tiles.ts';
import type { CogInfo } from './cog-types.ts';
import type { Probe, ProbeVerdict } from './radiometry.ts';

export const PROBE_NO_OFFSET_BELOW = 800;
export const PROBE_OFFSET_FROM = 1000;
export const PROBE_DARK_PERCENT = 25;
export const PROBE_MIN_PIXELS = 100;
/** An image this large is not an overview worth reading for a probe (a COG without overviews). */
export const PROBE_MAX_BYTES = 4 * 1024 * 1024;

/** The value below which 1 % of the valid pixels lie (a lower order statistic), and their count. */
export function darkPercentile(
  pixels: ArrayLike<number>,
  nodata: number | null,
): { p1: number | null; valid: number } {
  // A histogram keeps it linear for uint16 pixels.
  const counts = new Uint32Array(65536);
  let valid = 0;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i] as number;
    if (v === nodata) continue;
    counts[v] = (counts[v] as number) + 1;
    valid++;
  }
  if (valid === 0) return { p1: null, valid };
  const rank = Math.floor(0.01 * (valid - 1));
  let seen = 0;
  for (let v = 0; v < counts.length; v++) {
    seen += counts[v] as number;
    if (seen > rank) return { p1: v, valid };
  }
  return { p1: null, valid };
}

/** The verdict from the dark percentile and the item's vegetation + water share. */
export function judgeProbe(
  p1: number | null,
  valid: number,
  darkPercent: number | null,
): { verdict: ProbeVerdict; reason: string } {
  if (p1 === null || valid < PROBE_MIN_PIXELS)
    return { verdict: 'unknown', reason: `only ${valid} valid pixels in the overview` };
  if (p1 < PROBE_NO_OFFSET_BELOW) {
    return {
      verdict: 'no-offset-in-pixels',
      reason: `1st percentile ${p1} DN < ${PROBE_NO_OFFSET_BELOW}: with the +1000, 1 % of the scene would be below -0.02 reflectance`,
    };
  }
  if (p1 >= PROBE_OFFSET_FROM && darkPercent !== null && darkPercent >= PROBE_DARK_PERCENT) {
    return {
      verdict: 'offset-in-pixels',
      reason: `1st percentile ${p1} DN >= ${PROBE_OFFSET_FROM} although ${darkPercent.toFixed(1)} % of the scene is vegetation or water (< 800 DN without the +1000)`,
    };
  }
  return {
    verdict: 'unknown',
    reason:
      darkPercent === null
        ? `1st percentile ${p1} DN, and the item gives no vegetation/water share: a bright scene looks the same with or without the +1000`
        : `1st percentile ${p1} DN with ${darkPercent.toFixed(1)} % vegetation or water: a bright scene (desert, snow, cloud) looks the same with or without the +1000`,
  };
}

/** A RangeReader that counts what passes through it, for the probe's own bill. */
export function countingReader(reader: RangeReader): RangeReader {
  const stats = { requests: 0, bytes: 0 };
  return {
    stats,
    async read(url, offset, length) {
      const bytes = await reader.read(url, offset, length);
      stats.requests++;
      stats.bytes += bytes.byteLength;
      return bytes;
    },
  };
}

/**
 * Reads every tile of one image (the smallest overview) and judges it. `reader` should be a
 * countingReader: its counts are the probe's cost. Images past PROBE_MAX_BYTES are not read.
 */
export async function probeImage(
  reader: RangeReader,
  image: CogInfo,
  asset: string,
  darkPercent: number | null,
): Promise<Omit<Probe, 'agrees'>> {
  const base = { asset, width: image.width, height: image.height };
  const stored = image.tileByteCounts.reduce((n, b) => n + b, 0);
  if (stored > PROBE_MAX_BYTES || image.bitsPerSample !== 16 || image.sampleFormat !== 'uint') {
    return {
      ...base,
      validPixels: 0,
      p1: null,
      verdict: 'unknown',
      reason:
        stored > PROBE_MAX_BYTES
          ? `the smallest image of ${asset} holds ${stored} bytes (no overviews?); not probed`
          : `${asset} is not uint16; not probed`,
      bytes: reader.stats.bytes,
      requests: reader.stats.requests,
    };
  }
  const tiles = await fetchTiles(
    reader,
    image,
    image.tileOffsets.map((_, i) => i),
  );
  const pixels = new Uint16Array(image.width * image.height);
  for (const [i, bytes] of tiles) {
    const tile = decodeTile(image, bytes) as Uint16Array;
    const x0 = (i % image.tilesAcross) * image.tileWidth;
    const y0 = Math.floor(i / image.tilesAcross) * image.tileHeight;
    const w = Math.min(image.tileWidth, image.width - x0);
    for (let y = 0; y < image.tileHeight && y0 + y < image.height; y++) {
      pixels.set(tile.subarray(y * image.tileWidth, y * image.tileWidth + w), (y0 + y) * image.width + x0);
    }
  }
  // Nodata 0 is the Sentinel-2 convention; a header that says otherwise wins.
  const { p1, valid } = darkPercentile(pixels, image.nodata ?? 0);
  return {
    ...base,
    validPixels: valid,
    p1,
    ...judgeProbe(p1, valid, darkPercent),
    bytes: reader.stats.bytes,
    requests: reader.stats.requests,
  };
}

/** The verdict of a probe whose image could not be read: unknown, saying why. */
export function unreadProbe(asset: string, why: string, reader: RangeReader): Omit<Probe, 'agrees'> {
  return {
    asset,
    width: 0,
    height: 0,
    validPixels: 0,
    p1: null,
    verdict: 'unknown',
    reason: `not probed: ${why}`,
    bytes: reader.stats.bytes,
    requests: reader.stats.requests,
  };
}
