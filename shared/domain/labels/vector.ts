// `<key>.vector.json` (SatlasPretrain style): every label feature meeting the window as an object
// in the window's label-grid pixel coordinates (x = column, y = row, from the window's top-left
// corner, floats), with its class, id, instance number and kept properties. Geometries are kept
// whole, not clipped to the window: `clipped` says whether part of one lies outside it.
import type { LabelFeature, PixelGrid, Ring } from './types.ts';

export type VectorObject = {
  /** Instance number, as in instances.npy: feature position + 1. */
  readonly instance: number;
  readonly id: string | number | null;
  /** Class id, as burnt in labels.npy (the ignore index for an ignored unknown class). */
  readonly class: number;
  /** The raw value of labels.classProperty. */
  readonly value: string | number;
  readonly geometry: { readonly type: string; readonly coordinates: unknown };
  readonly clipped: boolean;
  readonly properties?: Readonly<Record<string, unknown>>;
};

export type VectorDocument = {
  /** Label pixel size (metres) and window side in label pixels. */
  readonly resolution: number;
  readonly size: number;
  /** GDAL geotransform of the label grid: x = t[0] + col·t[1], y = t[3] + row·t[5]. */
  readonly transform: readonly number[];
  readonly objects: readonly VectorObject[];
};

/** Coordinates to a millionth of a label pixel: well below any reprojection's error. */
const round = (v: number) => Math.round(v * 1e6) / 1e6;

export function vectorObjects(
  features: readonly LabelFeature[],
  grid: PixelGrid,
  classOf: (index: number) => number,
): VectorDocument {
  const { originX, originY, pixelSize: px, width } = grid;
  const toPixel = (part: Float64Array, close: boolean): number[][] => {
    const out: number[][] = [];
    for (let i = 0; i + 1 < part.length; i += 2)
      out.push([
        round(((part[i] as number) - originX) / px),
        round((originY - (part[i + 1] as number)) / px),
      ]);
    if (close && out.length > 0) out.push([...(out[0] as number[])]);
    return out;
  };
  const objects = features.map((f): VectorObject => {
    let geometry: VectorObject['geometry'];
    const rings: Ring[] = [];
    if (f.shape?.kind === 'point') {
      const pts = f.shape.parts.map((p) => toPixel(p, false)[0] as number[]);
      geometry =
        pts.length === 1 ? { type: 'Point', coordinates: pts[0] } : { type: 'MultiPoint', coordinates: pts };
      rings.push(...f.shape.parts);
    } else if (f.shape?.kind === 'line') {
      const lines = f.shape.parts.map((p) => toPixel(p, false));
      geometry =
        lines.length === 1
          ? { type: 'LineString', coordinates: lines[0] }
          : { type: 'MultiLineString', coordinates: lines };
      rings.push(...f.shape.parts);
    } else {
      const polygons = f.polygons.map((p) => p.rings.map((r) => toPixel(r, true)));
      geometry =
        polygons.length === 1
          ? { type: 'Polygon', coordinates: polygons[0] }
          : { type: 'MultiPolygon', coordinates: polygons };
      for (const p of f.polygons) if (p.rings[0]) rings.push(p.rings[0]);
    }
    return {
      instance: f.index + 1,
      id: f.id,
      class: classOf(f.index),
      value: f.classValue,
      geometry,
      clipped: !inside(rings, grid),
      ...(f.properties ? { properties: f.properties } : {}),
    };
  });
  return {
    resolution: px,
    size: width,
    transform: [originX, px, 0, originY, 0, -px],
    objects,
  };
}

/** Whether every vertex lies in the grid's closed extent (a polygon lies inside iff its outer ring does). */
function inside(rings: readonly Ring[], grid: PixelGrid): boolean {
  const x1 = grid.originX + grid.width * grid.pixelSize;
  const y0 = grid.originY - grid.height * grid.pixelSize;
  for (const r of rings)
    for (let i = 0; i + 1 < r.length; i += 2) {
      const x = r[i] as number;
      const y = r[i + 1] as number;
      if (x < grid.originX || x > x1 || y < y0 || y > grid.originY) return false;
    }
  return true;
}
