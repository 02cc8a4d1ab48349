// What the pipeline knows about one Cloud-Optimized GeoTIFF after reading its header once: the
// full-resolution image's grid, encoding and the byte range of every internal tile. It is plain
// JSON, so PlanWindows stores it and region workers fetch tiles without reading headers again.

export type CogInfo = {
  href: string;
  /** Size of the full-resolution image in pixels. */
  width: number;
  height: number;
  /** Internal tile size; a stripped TIFF is described as tiles of (width x rowsPerStrip). */
  tileWidth: number;
  tileHeight: number;
  tilesAcross: number;
  tilesDown: number;
  /** North-up affine grid: x = originX + col * resX, y = originY - row * resY. */
  originX: number;
  originY: number;
  resX: number;
  resY: number;
  /** EPSG code from the GeoKeys, or null when the file declares none. */
  epsg: number | null;
  bitsPerSample: 8 | 16 | 32;
  sampleFormat: 'uint' | 'int' | 'float';
  /** TIFF Compression tag: 1 none, 8 or 32946 DEFLATE, 5 LZW, 50000 ZSTD... */
  compression: number;
  /** TIFF Predictor tag: 1 none, 2 horizontal differencing, 3 floating point. */
  predictor: number;
  nodata: number | null;
  /** Byte offset and length of each tile, row-major (tile index = row * tilesAcross + col). */
  tileOffsets: number[];
  tileByteCounts: number[];
};

/** A rectangle of pixels on a COG's full-resolution grid. May extend past the image edges. */
export type PixelRect = { x: number; y: number; width: number; height: number };
