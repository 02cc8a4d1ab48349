// The label store's promise to region workers: after one ingest and one partition per tile, a worker
// reads only the cells under its region (counted gets and bytes) and finds exactly the features
// whose bounding box meets the region. 50,000 synthetic parcels over one UTM tile (EPSG:32633).
import { describe, expect, it } from 'vitest';
import type { Product } from '../../shared/domain/catalog.ts';
import { type Bounds, toWgs84 } from '../../shared/domain/crs.ts';
import { parseJobSpec } from '../../shared/domain/job-spec.ts';
import type { BlobStore, PutOptions } from '../../shared/ports.ts';
import { silentLog, systemClock } from '../../shared/ports.ts';
import type { StepContext } from '../../shared/steps/context.ts';
import {
  ingestLabels,
  LABEL_CELL_METRES,
  labelKeys,
  loadLabelsNear,
  partitionLabels,
} from '../../shared/steps/labels-store.ts';
import { rng } from '../helpers/label-oracle.ts';
import { MemoryBlobStore } from '../helpers/memory-blob-store.ts';

/** A BlobStore that counts what is read from it (the hyparquet habit: assert requests and bytes). */
class CountingStore implements BlobStore {
  readonly inner: MemoryBlobStore;
  readonly gets: string[] = [];
  bytesRead = 0;

  constructor(inner: MemoryBlobStore) {
    this.inner = inner;
  }

  get uri(): string {
    return this.inner.uri;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const bytes = await this.inner.get(key);
    this.gets.push(key);
    this.bytesRead += bytes?.length ?? 0;
    return bytes;
  }

  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<void> {
    return this.inner.put(key, body, options);
  }

  exists(key: string): Promise<boolean> {
    return this.inner.exists(key);
  }

  list(prefix: string): Promise<string[]> {
    return this.inner.list(prefix);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  reset(): void {
    this.gets.length = 0;
    this.bytesRead = 0;
  }
}

const EPSG = 32633;
const TILE = '33UVP';
/** The parcels' area: 100 km x 100 km of zone 33N. */
const AREA: Bounds = [400_000, 5_300_000, 500_000, 5_400_000];
const PARCELS = 50_000;
const RUN = 'run-labels-store';

type Parcel = { index: number; box: Bounds };

/** Small squares (40 to 160 m) at random places, some across cell edges, as GeoJSON in EPSG:32633. */
function parcels(): { geojson: string; boxes: Parcel[] } {
  const random = rng(11);
  const boxes: Parcel[] = [];
  const features: unknown[] = [];
  for (let i = 0; i < PARCELS; i++) {
    const side = 40 + random() * 120;
    const x0 = AREA[0] + random() * (AREA[2] - AREA[0] - side);
    const y0 = AREA[1] + random() * (AREA[3] - AREA[1] - side);
    const box: Bounds = [x0, y0, x0 + side, y0 + side];
    boxes.push({ index: i, box });
    features.push({
      type: 'Feature',
      properties: { id: `p${i}`, crop: 1 + (i % 5) },
      geometry: {
        type: 'Polygon',
        // Counter-clockwise and closed, as RFC 7946 asks: the validator has nothing to fix.
        coordinates: [
          [
            [box[0], box[1]],
            [box[2], box[1]],
            [box[2], box[3]],
            [box[0], box[3]],
            [box[0], box[1]],
          ],
        ],
      },
    });
  }
  const geojson = JSON.stringify({
    type: 'FeatureCollection',
    crs: { type: 'name', properties: { name: `urn:ogc:def:crs:EPSG::${EPSG}` } },
    features,
  });
  return { geojson, boxes };
}

/** A product of the tile whose footprint (lon/lat) holds the parcels with a 5 km margin. */
function product(): Product {
  const [x0, y0, x1, y1] = [AREA[0] - 5000, AREA[1] - 5000, AREA[2] + 5000, AREA[3] + 5000];
  const ring = [
    [x0, y0],
    [x1, y0],
    [x1, y1],
    [x0, y1],
    [x0, y0],
  ].map(([x, y]) => toWgs84(EPSG, [x!, y!]));
  return {
    id: `S2B_${TILE}_20230801_0_L2A`,
    collection: 'sentinel-2-c1-l2a',
    datetime: '2023-08-01T10:00:00Z',
    tile: TILE,
    epsg: EPSG,
    cloudCover: 1,
    nodataPercent: 0,
    footprint: { type: 'Polygon', coordinates: [ring] },
    assets: {},
    selfHref: null,
    online: true,
  };
}

function intersects(a: Bounds, b: Bounds): boolean {
  return a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];
}

function context(work: BlobStore, source: MemoryBlobStore): StepContext {
  const unused = (what: string) => () => {
    throw new Error(`the label store must not use ${what}`);
  };
  return {
    work,
    openStore: (uri) => {
      if (uri !== source.uri) throw new Error(`unexpected store ${uri}`);
      return source;
    },
    ranges: { read: unused('the range reader') } as unknown as StepContext['ranges'],
    openCatalog: unused('the catalog'),
    clock: systemClock,
    log: silentLog,
  };
}

describe('label store: a region worker reads only the cells under its region', () => {
  it('loads 4 of ~100 cells for a 10 km region and finds exactly the parcels whose box meets it', async () => {
    const { geojson, boxes } = parcels();
    const source = new MemoryBlobStore('s3://labels-bucket/ground-truth');
    await source.put('parcels.geojson', geojson);
    const work = new CountingStore(new MemoryBlobStore('memory://work'));
    const ctx = context(work, source);
    const job = parseJobSpec({
      name: 'store',
      catalog: { kind: 'static', source: 'items.json' },
      aoi: 'labels',
      period: { start: '2023-08-01', end: '2023-08-31' },
      bands: ['red'],
      windows: { size: 24, stride: 24, where: 'labels' },
      labels: { source: `${source.uri}/parcels.geojson`, classProperty: 'crop', idProperty: 'id' },
      output: { uri: 'memory://out' },
    });

    const summary = await ingestLabels(ctx, RUN, job);
    expect(summary).toMatchObject({ epsg: EPSG, read: PARCELS, features: PARCELS, problems: {} });
    const [index] = await partitionLabels(ctx, RUN, summary, { [TILE]: [product()] });
    expect(index).toMatchObject({ tile: TILE, epsg: EPSG, cellSize: LABEL_CELL_METRES, features: PARCELS });
    // 100 km over 10.24 km cells: 10 or 11 per axis.
    expect(index!.cells.length).toBeGreaterThanOrEqual(100);
    expect(index!.cells.length).toBeLessThanOrEqual(121);
    const cellKeys = await work.list(labelKeys.cell(RUN, TILE, '').replace(/\.bin$/, ''));
    expect(cellKeys).toHaveLength(index!.cells.length);
    let storedBytes = 0;
    for (const key of cellKeys) storedBytes += (await work.inner.get(key))!.length;

    // A 10 km region off the cell lines: it spans 2 x 2 cells.
    const region: Bounds = [431_000, 5_341_000, 441_000, 5_351_000];
    const cellsUnder: string[] = [];
    for (
      let r = Math.floor(region[1] / LABEL_CELL_METRES);
      r <= Math.floor(region[3] / LABEL_CELL_METRES);
      r++
    )
      for (
        let c = Math.floor(region[0] / LABEL_CELL_METRES);
        c <= Math.floor(region[2] / LABEL_CELL_METRES);
        c++
      )
        cellsUnder.push(`${c}_${r}`);
    expect(cellsUnder).toHaveLength(4);

    work.reset();
    const near = await loadLabelsNear(ctx, RUN, TILE, region);

    // Reads: the tile's index, then the four cells, each once; nothing else (not features.bin).
    expect(work.gets).toEqual([
      labelKeys.tileIndex(RUN, TILE),
      ...cellsUnder.map((cell) => labelKeys.cell(RUN, TILE, cell)),
    ]);
    const indexBytes = (await work.inner.get(labelKeys.tileIndex(RUN, TILE)))!.length;
    const cellBytesRead = work.bytesRead - indexBytes;
    expect(cellBytesRead / storedBytes).toBeLessThan(0.06);
    expect(work.bytesRead).toBeLessThan((await work.inner.get(labelKeys.features(RUN)))!.length / 15);

    // Decoded: only the parcels of those cells (each once, even when it lies in two cells).
    const cellBox: Bounds = [
      Math.floor(region[0] / LABEL_CELL_METRES) * LABEL_CELL_METRES,
      Math.floor(region[1] / LABEL_CELL_METRES) * LABEL_CELL_METRES,
      (Math.floor(region[2] / LABEL_CELL_METRES) + 1) * LABEL_CELL_METRES,
      (Math.floor(region[3] / LABEL_CELL_METRES) + 1) * LABEL_CELL_METRES,
    ];
    const inCells = boxes.filter((p) => intersects(p.box, cellBox));
    expect(near.size).toBe(inCells.length);
    expect(near.size).toBeLessThan(PARCELS / 15);

    // Searched: exactly the parcels whose bounding box meets the region, by brute force.
    const expected = boxes.filter((p) => intersects(p.box, region));
    const straddling = expected.filter((p) => !(p.box[0] >= region[0] && p.box[2] <= region[2]));
    expect(straddling.length).toBeGreaterThan(0);
    const found = near.search(region);
    expect(found.map((f) => f.index)).toEqual(expected.map((p) => p.index));
    // Same CRS in and out: the coordinates are the file's, untouched.
    for (const f of found.slice(0, 50)) {
      const b = boxes[f.index]!.box;
      expect(f.id).toBe(`p${f.index}`);
      expect(Array.from(f.polygons[0]!.rings[0]!)).toEqual([b[0], b[1], b[2], b[1], b[2], b[3], b[0], b[3]]);
    }
  }, 60_000);
});
