// The shapes the label engine passes between its parts: features as read and validated, polygons in
// a tile's CRS, and the pixel grid a window is rasterized on.
import { z } from 'zod';

/** A ring as flat coordinates [x0, y0, x1, y1, ...], NOT repeating the first vertex at the end. */
export type Ring = Float64Array;

/** One polygon: rings[0] the outer ring, the rest holes. Orientation is not relied upon. */
export type PolygonRings = { readonly rings: readonly Ring[] };

/**
 * Points or lines as read: one flat [x0, y0, x1, y1, ...] array per part (a point part has one
 * vertex, a line part at least two distinct ones).
 */
export type VectorShape = { readonly kind: 'point' | 'line'; readonly parts: readonly Float64Array[] };

/** A ground-truth feature after reading and validation, in the CRS named by `epsg`. */
export type LabelFeature = {
  /** 0-based position of the feature in the source file: log entries and instance ids use it. */
  readonly index: number;
  /** The value of labels.idProperty (or the file's feature id), null when there is none. */
  readonly id: string | number | null;
  /** The raw value of labels.classProperty (integer or string, e.g. a crop name). */
  readonly classValue: string | number;
  /**
   * The area burnt into the label grids. Polygons: their parts (a MultiPolygon has several). Points
   * and lines: empty as read, their footprint (disc, box, buffered line: labels/buffer.ts) once they
   * are in a tile's metric CRS; left empty for points kept only as vectors (labels.points "none").
   */
  readonly polygons: readonly PolygonRings[];
  /** Points and lines: the geometry as read (reprojected with the feature). Absent for polygons. */
  readonly shape?: VectorShape;
  /** The properties kept for vector.json (labels.properties), when the job writes it. */
  readonly properties?: Readonly<Record<string, unknown>>;
};

/**
 * A north-up pixel grid: pixel (col, row) covers x in [originX + col*pixelSize, +pixelSize) and
 * y in (originY - (row+1)*pixelSize, originY - row*pixelSize].
 */
export type PixelGrid = {
  readonly originX: number;
  readonly originY: number;
  readonly pixelSize: number;
  readonly width: number;
  readonly height: number;
};

/** A feature ready to burn: its class id (from the class table), instance id (> 0) and polygons. */
export type BurnFeature = {
  readonly classId: number;
  readonly instanceId: number;
  readonly polygons: readonly PolygonRings[];
};

/** What the validator records for one feature: never silently dropped. */
export const LabelLogEntrySchema = z.strictObject({
  index: z.int().min(0),
  id: z.union([z.string(), z.number()]).nullable(),
  /** A stable code, e.g. "unclosed-ring", "self-intersection", "wrong-winding", "duplicate-vertices",
   *  "empty-geometry", "zero-area", "out-of-range-coordinates", "outside-aoi", "year-mismatch",
   *  "missing-class", "unsupported-geometry". */
  problem: z.string().min(1),
  /** Human-readable detail: where and what was seen. */
  detail: z.string(),
  /**
   * What was done: "fixed" (closed, rewound, deduplicated, repaired), "kept" or "dropped" by the
   * validator; "unsampled": kept, but in no sample (problem says why: see labels/accounting.ts).
   */
  action: z.enum(['fixed', 'kept', 'dropped', 'unsampled']),
});
export type LabelLogEntry = z.infer<typeof LabelLogEntrySchema>;
