// Valid work files for tests that start a run midway (a stored selection, products): every field the
// schemas in shared/work/files.ts require, with the ones a test cares about given.
import type { Product } from '../../shared/domain/catalog.ts';
import type { StoredSelection } from '../../shared/work/files.ts';

export const unitSquare: GeoJSON.Polygon = {
  type: 'Polygon',
  coordinates: [
    [
      [15, 45],
      [16, 45],
      [16, 46],
      [15, 46],
      [15, 45],
    ],
  ],
};

export function productOf(fields: Pick<Product, 'id' | 'tile' | 'datetime'> & Partial<Product>): Product {
  return {
    collection: 'sentinel-2-l2a',
    epsg: 32633,
    cloudCover: 1,
    nodataPercent: 0,
    footprint: unitSquare,
    assets: {},
    selfHref: null,
    online: true,
    ...fields,
  };
}

export function selectionOf(runId: string, chosen: Record<string, Product[]>): StoredSelection {
  const items = Object.values(chosen).reduce((n, list) => n + list.length, 0);
  return { runId, aoi: unitSquare, catalog: { description: 'test', pages: 1, items }, chosen };
}
