// Reads a COG's header through a RangeReader (geotiff.js parses; our block cache makes it ~1 request)
// and returns the CogInfo of the full-resolution image, or throws RasterFormatError naming the URL.
import { GeoTIFF } from 'geotiff';
import type { RangeReader } from '../ports.ts';
import type { CogInfo } from './cog-types.ts';
import { RasterFormatError, SatfactoryError } from './errors.ts';
import { boundedMessage } from './snippet.ts';

export type ReadCogInfoOptions = {
  /**
   * Bytes per header read (default 16 KiB). A GDAL COG keeps all IFDs and tile tables at the start
   * of the file; 16 KiB holds them for a 10980² Sentinel-2 band, so the header costs one request.
   */
  readonly blockSize?: number;
  /** 1-based band of a planar-separate multi-band TIFF (default 1). */
  readonly band?: number;
};

export const DEFAULT_HEADER_BLOCK_SIZE = 16 * 1024;

/** Compressions decodeTile understands (cog-tiles.ts); anything else is refused at plan time. */
export const SUPPORTED_COMPRESSIONS: ReadonlySet<number> = new Set([1, 5, 8, 32946, 50000]);

const GEO_KEY = {
  GTModelType: 1024,
  GTRasterType: 1025,
  GeographicType: 2048,
  ProjectedCSType: 3072,
} as const;
const USER_DEFINED = 32767;

type GeoTiffSource = Parameters<typeof GeoTIFF.fromSource>[0];
type Ifd = Awaited<ReturnType<GeoTIFF['requestIFD']>>;

export async function readCogInfo(
  reader: RangeReader,
  href: string,
  options: ReadCogInfoOptions = {},
): Promise<CogInfo> {
  return (await readHeader(reader, href, options, false)).info;
}

/**
 * The full-resolution image and the smallest one (the last overview; the full image when there is
 * none), from one header read. Overviews carry no georeferencing: theirs is derived from the full image.
 */
export function readCogHeader(
  reader: RangeReader,
  href: string,
  options: ReadCogInfoOptions = {},
): Promise<{ info: CogInfo; smallest: CogInfo }> {
  return readHeader(reader, href, options, true);
}

/**
 * Several bands of one file from one header read: a multi-band file (pixel-interleaved or planar)
 * is parsed once, whatever number of its bands the job reads.
 */
export async function readCogInfos(
  reader: RangeReader,
  href: string,
  bands: readonly number[],
  options: Omit<ReadCogInfoOptions, 'band'> = {},
): Promise<CogInfo[]> {
  const source = new RangeReaderSource(reader, href, options.blockSize ?? DEFAULT_HEADER_BLOCK_SIZE);
  return withReadableErrors(href, source, async () => {
    const tiff = await GeoTIFF.fromSource(source as unknown as GeoTiffSource);
    const out: CogInfo[] = [];
    for (const band of bands) out.push((await describeTiff(tiff, href, band, false)).info);
    return out;
  });
}

/** What a file says about itself when no STAC item does (the files catalog): bands and date too. */
export type TiffFacts = {
  /** Band 1 of the full-resolution image (its grid, CRS and encoding are every band's). */
  info: CogInfo;
  /** Samples per pixel: the file's band count. */
  bands: number;
  /** TIFFTAG_DATETIME as written ("YYYY:MM:DD HH:MM:SS"), or null. */
  datetime: string | null;
};

export async function readTiffFacts(
  reader: RangeReader,
  href: string,
  options: ReadCogInfoOptions = {},
): Promise<TiffFacts> {
  const { info, facts } = await readHeader(reader, href, { ...options, band: 1 }, false);
  return { info, ...facts };
}

async function readHeader(
  reader: RangeReader,
  href: string,
  options: ReadCogInfoOptions,
  withSmallest: boolean,
): Promise<{ info: CogInfo; smallest: CogInfo; facts: Omit<TiffFacts, 'info'> }> {
  const source = new RangeReaderSource(reader, href, options.blockSize ?? DEFAULT_HEADER_BLOCK_SIZE);
  return withReadableErrors(href, source, async () => {
    const tiff = await GeoTIFF.fromSource(source as unknown as GeoTiffSource);
    return describeTiff(tiff, href, options.band ?? 1, withSmallest);
  });
}

/** geotiff's bare errors on truncated or non-TIFF input, as a RasterFormatError naming the file. */
async function withReadableErrors<T>(
  href: string,
  source: RangeReaderSource,
  read: () => Promise<T>,
): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof SatfactoryError) throw error;
    // geotiff throws bare RangeError/TypeError on truncated or non-TIFF input: say which file.
    const reason = boundedMessage(error);
    // A file shorter than the first header read ended inside the header: say so, with its size.
    const size = source.fileSize;
    throw new RasterFormatError(
      size !== null
        ? `${href} is not a readable GeoTIFF: the file is only ${size} bytes and ends inside its header (${reason}); it is truncated or not a TIFF`
        : `${href} is not a readable GeoTIFF (${reason}); check that the URL points at a complete .tif file`,
      { source: href, ...(size !== null ? { fileSize: size } : {}) },
      { cause: error },
    );
  }
}

async function describeTiff(
  tiff: GeoTIFF,
  href: string,
  band: number,
  withSmallest: boolean,
): Promise<{ info: CogInfo; smallest: CogInfo; facts: Omit<TiffFacts, 'info'> }> {
  const fail = (what: string) => new RasterFormatError(`${href}: ${what}`, { source: href });
  const count = await tiff.getImageCount();
  // The full-resolution image is the largest one that is not a mask (NewSubfileType bit 2).
  let best: Ifd | undefined;
  let bestPixels = -1;
  let least: Ifd | undefined;
  let leastPixels = Number.POSITIVE_INFINITY;
  for (let i = 0; i < count; i++) {
    const ifd = await tiff.requestIFD(i);
    const subfile = Number((await ifd.loadValue('NewSubfileType')) ?? 0);
    if (subfile & 4) continue;
    const pixels = Number(await ifd.loadValue('ImageWidth')) * Number(await ifd.loadValue('ImageLength'));
    if (pixels > bestPixels) {
      best = ifd;
      bestPixels = pixels;
    }
    if (pixels < leastPixels) {
      least = ifd;
      leastPixels = pixels;
    }
  }
  if (best === undefined || least === undefined) throw fail('the file has no image (only masks)');
  const info = await describeImage(tiff, best, href, band, fail, null);
  const dt = await best.loadValue('DateTime');
  const facts = {
    bands: Number((await best.loadValue('SamplesPerPixel')) ?? 1),
    datetime: typeof dt === 'string' ? dt.replace(/\0/g, '').trim() || null : null,
  };
  if (least === best || !withSmallest) return { info, smallest: info, facts };
  // An overview we cannot decode must not sink the plan: the caller gets the full image instead.
  const smallest = await describeImage(tiff, least, href, band, fail, info).catch((error: unknown) => {
    if (error instanceof RasterFormatError) return info;
    throw error;
  });
  return { info, smallest, facts };
}

/** One image of the file; an overview (`full` given) takes its grid from the full image. */
async function describeImage(
  tiff: GeoTIFF,
  ifd: Ifd,
  href: string,
  band: number,
  fail: (what: string) => RasterFormatError,
  full: CogInfo | null,
): Promise<CogInfo> {
  const num = async (tag: string): Promise<number | undefined> => {
    const v = await ifd.loadValue(tag as never);
    if (v === undefined || v === null) return undefined;
    return Number(ArrayBuffer.isView(v) || Array.isArray(v) ? (v as ArrayLike<number>)[0] : v);
  };

  const width = (await num('ImageWidth')) ?? 0;
  const height = (await num('ImageLength')) ?? 0;
  if (width <= 0 || height <= 0) throw fail(`image size ${width}x${height} is empty`);

  const samples = (await num('SamplesPerPixel')) ?? 1;
  const planar = (await num('PlanarConfiguration')) ?? 1;
  // Pixel-interleaved: every tile holds all samples; decodeTile keeps this band's.
  const interleaved = samples > 1 && planar !== 2;
  if (band < 1 || band > samples) throw fail(`band ${band} asked for, but the file has ${samples}`);
  if (multiByte(await ifd.loadValue('BitsPerSample')) && !tiff.littleEndian) {
    // geotiff 3.0.5 reads deferred tile tables as little-endian regardless, and GDAL writes LE.
    throw fail(
      'big-endian TIFF is not supported; rewrite it with gdal_translate (GDAL writes little-endian)',
    );
  }

  const bitsList = toNumbers(await ifd.loadValue('BitsPerSample')) ?? [1];
  const bits = bitsList[band - 1] ?? bitsList[0] ?? 1;
  if (bitsList.some((b) => b !== bits) || (bits !== 8 && bits !== 16 && bits !== 32)) {
    throw fail(`${bitsList.join('/')} bits per sample is not supported (8, 16 or 32)`);
  }
  const formatCode = toNumbers(await ifd.loadValue('SampleFormat'))?.[band - 1] ?? 1;
  const sampleFormat =
    formatCode === 1 ? 'uint' : formatCode === 2 ? 'int' : formatCode === 3 ? 'float' : null;
  if (sampleFormat === null)
    throw fail(`SampleFormat ${formatCode} is not supported (1 uint, 2 int, 3 float)`);
  if (sampleFormat === 'float' && bits !== 32) throw fail(`${bits}-bit floats are not supported`);

  const compression = (await num('Compression')) ?? 1;
  if (!SUPPORTED_COMPRESSIONS.has(compression)) {
    throw fail(
      `compression ${compression} is not supported (none, LZW, DEFLATE, ZSTD); rewrite with -co COMPRESS=DEFLATE`,
    );
  }
  const predictor = (await num('Predictor')) ?? 1;
  if (predictor !== 1 && predictor !== 2) {
    throw fail(
      `predictor ${predictor} is not supported (1 none, 2 horizontal); rewrite with -co PREDICTOR=2`,
    );
  }
  if (predictor === 2 && sampleFormat === 'float')
    throw fail('predictor 2 on floating-point samples is not supported');

  const tiled = ifd.hasTag('TileOffsets');
  const tileWidth = tiled ? ((await num('TileWidth')) ?? 0) : width;
  const rowsPerStrip = (await num('RowsPerStrip')) ?? height;
  const tileHeight = tiled ? ((await num('TileLength')) ?? 0) : Math.min(rowsPerStrip, height);
  if (tileWidth <= 0 || tileHeight <= 0) throw fail(`tile size ${tileWidth}x${tileHeight} is invalid`);
  const tilesAcross = Math.ceil(width / tileWidth);
  const tilesDown = Math.ceil(height / tileHeight);
  const perBand = tilesAcross * tilesDown;

  // Asked together, so both tables come in one range when they lie past the first block.
  const [offsetValues, countValues] = await Promise.all([
    ifd.loadValue(tiled ? 'TileOffsets' : 'StripOffsets'),
    ifd.loadValue(tiled ? 'TileByteCounts' : 'StripByteCounts'),
  ]);
  const offsets = toNumbers(offsetValues);
  const counts = toNumbers(countValues);
  const expected = planar === 2 ? perBand * samples : perBand;
  if (
    offsets === undefined ||
    counts === undefined ||
    offsets.length < expected ||
    counts.length < expected
  ) {
    throw fail(
      `the tile tables hold ${offsets?.length ?? 0}/${counts?.length ?? 0} entries, ${expected} expected`,
    );
  }
  const first = planar === 2 ? (band - 1) * perBand : 0;

  return {
    href,
    width,
    height,
    tileWidth,
    tileHeight,
    tilesAcross,
    tilesDown,
    ...(full
      ? {
          originX: full.originX,
          originY: full.originY,
          resX: (full.resX * full.width) / width,
          resY: (full.resY * full.height) / height,
        }
      : await georeference(ifd, width, height, fail)),
    epsg: full ? full.epsg : epsgOf(await ifd.loadValue('GeoKeyDirectory')),
    bitsPerSample: bits,
    sampleFormat,
    compression,
    predictor,
    nodata: parseNodata(await ifd.loadValue('GDAL_NODATA')) ?? full?.nodata ?? null,
    ...(interleaved ? { samplesPerPixel: samples, sample: band - 1 } : {}),
    tileOffsets: offsets.slice(first, first + perBand),
    tileByteCounts: counts.slice(first, first + perBand),
  };
}

async function georeference(
  ifd: Ifd,
  width: number,
  height: number,
  fail: (what: string) => RasterFormatError,
): Promise<Pick<CogInfo, 'originX' | 'originY' | 'resX' | 'resY'>> {
  const scale = toNumbers(await ifd.loadValue('ModelPixelScale'));
  const tie = toNumbers(await ifd.loadValue('ModelTiepoint'));
  const matrix = toNumbers(await ifd.loadValue('ModelTransformation'));
  const keys = geoKeys(await ifd.loadValue('GeoKeyDirectory'));
  // PixelIsPoint: tie points name pixel centres; GDAL (and so rasterio) shifts by half a pixel.
  const half = keys.get(GEO_KEY.GTRasterType) === 2 ? 0.5 : 0;
  let grid: { originX: number; originY: number; resX: number; resY: number };
  if (matrix !== undefined && matrix.length >= 8) {
    const [a, b, , d, e, f, , h] = matrix as [number, number, number, number, number, number, number, number];
    if (b !== 0 || e !== 0) {
      throw fail(
        'the grid is rotated or sheared (ModelTransformation); warp it north-up with gdalwarp first',
      );
    }
    grid = { originX: d - half * a, originY: h - half * f, resX: a, resY: -f };
  } else if (scale !== undefined && tie !== undefined && scale.length >= 2 && tie.length >= 6) {
    const [i, j, , x, y] = tie as [number, number, number, number, number];
    const [sx, sy] = scale as [number, number];
    grid = { originX: x - (i + half) * sx, originY: y + (j + half) * sy, resX: sx, resY: sy };
  } else {
    throw fail('it has no georeferencing (ModelTiepoint + ModelPixelScale or ModelTransformation)');
  }
  if (
    !(grid.resX > 0) ||
    !(grid.resY > 0) ||
    !Number.isFinite(grid.originX) ||
    !Number.isFinite(grid.originY)
  ) {
    throw fail(
      `the grid is not north-up (pixel size ${grid.resX} x ${-grid.resY}) for ${width}x${height} pixels; warp it with gdalwarp first`,
    );
  }
  return grid;
}

function geoKeys(directory: unknown): Map<number, number> {
  const keys = new Map<number, number>();
  const d = toNumbers(directory);
  if (d === undefined || d.length < 4) return keys;
  const n = d[3] ?? 0;
  for (let k = 0; k < n; k++) {
    const at = 4 + k * 4;
    const id = d[at];
    const location = d[at + 1];
    const value = d[at + 3];
    // Location 0: the value is stored inline; other locations point at double/ASCII params.
    if (id !== undefined && location === 0 && value !== undefined) keys.set(id, value);
  }
  return keys;
}

/** EPSG from ProjectedCSTypeGeoKey (projected model) or GeographicTypeGeoKey; null if user-defined or absent. */
export function epsgOf(directory: unknown): number | null {
  const keys = geoKeys(directory);
  const model = keys.get(GEO_KEY.GTModelType);
  const projected = keys.get(GEO_KEY.ProjectedCSType);
  const geographic = keys.get(GEO_KEY.GeographicType);
  const code = model === 2 ? geographic : (projected ?? geographic);
  return code === undefined || code === USER_DEFINED || code <= 0 ? null : code;
}

/** GDAL_NODATA is ASCII ("0", "-32768", "nan"). NaN cannot travel in JSON, so it becomes null. */
export function parseNodata(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const text = value.replace(/\0/g, '').trim();
  if (text === '') return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

function toNumbers(value: unknown): number[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' || typeof value === 'bigint') return [Number(value)];
  if (ArrayBuffer.isView(value) || Array.isArray(value)) {
    return Array.from(value as ArrayLike<number | bigint>, (v) => Number(v));
  }
  return undefined;
}

function multiByte(bits: unknown): boolean {
  return (toNumbers(bits) ?? [8]).some((b) => b > 8);
}

type Deferred = { resolve: (bytes: Uint8Array) => void; reject: (error: unknown) => void };

/**
 * A geotiff.js byte source over our RangeReader: reads whole blocks, caches them, and reads a run of
 * missing neighbouring blocks as one range, so geotiff keeps its range planning and the header of a
 * COG costs one request. Stops at the end of the file once a read past it has told us the size.
 */
class RangeReaderSource {
  fileSize: number | null = null;
  readonly #reader: RangeReader;
  readonly #href: string;
  readonly #blockSize: number;
  readonly #blocks = new Map<number, Promise<Uint8Array>>();
  readonly #pending = new Map<number, Deferred>();

  constructor(reader: RangeReader, href: string, blockSize: number) {
    this.#reader = reader;
    this.#href = href;
    this.#blockSize = blockSize;
  }

  async fetch(slices: Array<{ offset: number; length: number }>): Promise<ArrayBuffer[]> {
    return Promise.all(slices.map((s) => this.#slice(s.offset, s.length)));
  }

  async fetchSlice(slice: { offset: number; length: number }) {
    return { ...slice, data: await this.#slice(slice.offset, slice.length) };
  }

  async close(): Promise<void> {}

  async #slice(offset: number, length: number): Promise<ArrayBuffer> {
    const bs = this.#blockSize;
    let end = offset + length;
    const firstBlock = Math.floor(offset / bs);
    const lastBlock = Math.floor((end - 1) / bs);
    const wanted: Array<Promise<Uint8Array>> = [];
    for (let b = firstBlock; b <= lastBlock; b++) wanted.push(this.#block(b));
    const blocks = await Promise.all(wanted);
    // Past the end of the file geotiff gets a short slice and raises its own error (wrapped above).
    if (this.fileSize !== null) end = Math.min(end, this.fileSize);
    const out = new Uint8Array(Math.max(0, end - offset));
    for (let k = 0; k < blocks.length; k++) {
      const block = blocks[k] as Uint8Array;
      const blockStart = (firstBlock + k) * bs;
      const from = Math.max(offset, blockStart);
      const to = Math.min(end, blockStart + block.length);
      if (to > from) out.set(block.subarray(from - blockStart, to - blockStart), from - offset);
    }
    return out.buffer;
  }

  /** A cached or pending block; missing ones are queued and read together on the next turn. */
  #block(b: number): Promise<Uint8Array> {
    const known = this.#blocks.get(b);
    if (known !== undefined) return known;
    let settle!: Deferred;
    const promise = new Promise<Uint8Array>((resolve, reject) => {
      settle = { resolve, reject };
    });
    // A failed read must not stay cached as a rejected block for a later caller.
    promise.catch(() => this.#blocks.delete(b));
    this.#blocks.set(b, promise);
    this.#pending.set(b, settle);
    if (this.#pending.size === 1) setImmediate(() => this.#flush());
    return promise;
  }

  /** Reads each run of consecutive queued blocks as one range (tile offsets + byte counts: one read). */
  #flush(): void {
    const ids = [...this.#pending.keys()].sort((a, b) => a - b);
    const pending = new Map(this.#pending);
    this.#pending.clear();
    let start = 0;
    while (start < ids.length) {
      let stop = start + 1;
      while (stop < ids.length && ids[stop] === (ids[stop - 1] as number) + 1) stop++;
      const run = ids.slice(start, stop);
      const first = run[0] as number;
      this.#readClipped(first * this.#blockSize, run.length * this.#blockSize).then(
        (bytes) => {
          run.forEach((b, k) => {
            pending.get(b)?.resolve(bytes.subarray(k * this.#blockSize, (k + 1) * this.#blockSize));
          });
        },
        (error: unknown) => {
          for (const b of run) pending.get(b)?.reject(error);
        },
      );
      start = stop;
    }
  }

  async #readClipped(offset: number, length: number): Promise<Uint8Array> {
    const size = this.fileSize;
    if (size !== null) {
      const clipped = Math.min(length, size - offset);
      return clipped > 0 ? this.#reader.read(this.#href, offset, clipped) : new Uint8Array(0);
    }
    try {
      return await this.#reader.read(this.#href, offset, length);
    } catch (error) {
      const fileSize = pastEndSize(error);
      if (fileSize === undefined) throw error;
      // Whole blocks overshoot the end of a small file: learn its size and ask again for what exists.
      this.fileSize = fileSize;
      const clipped = Math.min(length, fileSize - offset);
      return clipped > 0 ? this.#reader.read(this.#href, offset, clipped) : new Uint8Array(0);
    }
  }
}

/** The file size carried by a "past the end of the file" RangeRejectedError (see adapters). */
function pastEndSize(error: unknown): number | undefined {
  if (!(error instanceof SatfactoryError) || error.context['reason'] !== 'past-end-of-file') return undefined;
  const size = error.context['fileSize'];
  return typeof size === 'number' ? size : undefined;
}
