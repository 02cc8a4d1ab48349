// What the pipeline knows about one Cloud-Optimized GeoTIFF after reading its header once: the
// full-resolution image's grid, encoding and the byte range of every internal tile. It is plain
// JSON, so PlanWindows stores it and region workers fetch tiles without reading headers again.
import { z } from 'zod';

const pixels = z.int().min(1);

export const CogInfoSchema = z.strictObject({
  href: z.string().min(1),
  /** Size of the full-resolution image in pixels. */
  width: pixels,
  height: pixels,
  /** Internal tile size; a stripped TIFF is described as tiles of (width x rowsPerStrip). */
  tileWidth: pixels,
  tileHeight: pixels,
  tilesAcross: pixels,
  tilesDown: pixels,
  /** North-up affine grid: x = originX + col * resX, y = originY - row * resY. */
  originX: z.number(),
  originY: z.number(),
  resX: z.number().positive(),
  resY: z.number().positive(),
  /** EPSG code from the GeoKeys, or null when the file declares none. */
  epsg: z.int().nullable(),
  bitsPerSample: z.union([z.literal(8), z.literal(16), z.literal(32)]),
  sampleFormat: z.enum(['uint', 'int', 'float']),
  /** TIFF Compression tag: 1 none, 8 or 32946 DEFLATE, 5 LZW, 50000 ZSTD... */
  compression: z.int(),
  /** TIFF Predictor tag: 1 none, 2 horizontal differencing, 3 floating point. */
  predictor: z.int(),
  nodata: z.number().nullable(),
  /**
   * Pixel-interleaved multi-band files (GDAL's default INTERLEAVE=PIXEL, e.g. 8-band WorldView):
   * samples per pixel in each tile, and which of them (0-based) is this band. Absent: one sample.
   */
  samplesPerPixel: z.int().min(2).optional(),
  sample: z.int().min(0).optional(),
  /** Byte offset and length of each tile, row-major (tile index = row * tilesAcross + col). */
  tileOffsets: z.array(z.int().min(0)),
  tileByteCounts: z.array(z.int().min(0)),
});
export type CogInfo = z.infer<typeof CogInfoSchema>;

/** A rectangle of pixels on a COG's full-resolution grid. May extend past the image edges. */
export type PixelRect = { x: number; y: number; width: number; height: number };
