// The label store's promise to region workers: after one ingest, a tile takes its features once and
// writes each region its chunk; a worker then reads one object (counted gets and bytes) holding
// exactly the features whose bounding box meets its region. 50,000 synthetic parcels, EPSG:32633.
import { describe, expect, it } from 'vitest';
import { type Bounds, converterBetween } from '../../../shared/domain/crs.ts';
import { parseJobSpec } from '../../../shared/domain/job-spec.ts';
import type { BlobStore, PutOptions } from '../../../shared/ports.ts';
import { noMetrics, silentLog, systemClock } from '../../../shared/ports.ts';
import type { StepContext } from '../../../shared/work/context.ts';
import { WorkFiles } from '../../../shared/work/files.ts';
import {
  ingestLabels,
  labelsExtentAoi,
  labelsForTile,
  loadRegionLabels,
  writeRegionLabels,
} from '../../../shared/work/labels-store.ts';
import { rng } from '../../helpers/label-oracle.ts';
import { MemoryBlobStore } from '../../helpers/memory-blob-store.ts';

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

  getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    return this.inner.getRange(key, offset, length);
  }

  putStream(key: string, chunks: AsyncIterable<Uint8Array>, options?: PutOptions): Promise<void> {
    return this.inner.putStream(key, chunks, options);
  }

  exists(key: string): Promise<boolean> {
    return this.inner.exists(key);
  }

  size(key: string): Promise<number | undefined> {
    return this.inner.size(key);
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
    metrics: noMetrics,
  };
}

describe('label store: a region worker reads only its own chunk', () => {
  it('writes a 10 km region exactly the parcels whose box meets it, read back in one get', async () => {
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
    // A tile over the west half: only the parcels that may fall on it are taken into its CRS.
    const tileBounds: Bounds = [AREA[0], AREA[1], 450_000, AREA[3]];
    const tile = await labelsForTile(ctx, RUN, summary, { epsg: EPSG, bounds: tileBounds });
    const onTile = boxes.filter((p) => intersects(p.box, tileBounds));
    expect(tile.size).toBeGreaterThanOrEqual(onTile.length);
    expect(tile.size).toBeLessThan(PARCELS * 0.6);

    const region: Bounds = [431_000, 5_341_000, 441_000, 5_351_000];
    const { key, features } = await writeRegionLabels(ctx, RUN, 'r1', tile, region);
    expect(key).toBe(WorkFiles.regionLabels.key(RUN, 'r1'));
    expect(features).toEqual(tile.search(region).map((f) => f.index));

    work.reset();
    const near = await loadRegionLabels(ctx, key);
    // One read, of the region's own chunk: a small share of the whole label set.
    expect(work.gets).toEqual([key]);
    expect(work.bytesRead).toBeLessThan(
      (await work.inner.get(WorkFiles.labelsFeatures.key(RUN)))!.length / 50,
    );

    // Exactly the parcels whose bounding box meets the region, by brute force, straddlers included.
    const expected = boxes.filter((p) => intersects(p.box, region));
    const straddling = expected.filter((p) => !(p.box[0] >= region[0] && p.box[2] <= region[2]));
    expect(straddling.length).toBeGreaterThan(0);
    expect(near.size).toBe(expected.length);
    const found = near.search(region);
    expect(found.map((f) => f.index)).toEqual(expected.map((p) => p.index));
    // Same CRS in and out: the coordinates are the file's, untouched.
    for (const f of found.slice(0, 50)) {
      const b = boxes[f.index]!.box;
      expect(f.id).toBe(`p${f.index}`);
      expect(Array.from(f.polygons[0]!.rings[0]!)).toEqual([b[0], b[1], b[2], b[1], b[2], b[3], b[0], b[3]]);
    }
  });

  it('says so when a region chunk is missing, instead of writing a label-less sample', async () => {
    const ctx = context(new MemoryBlobStore('memory://work'), new MemoryBlobStore('memory://src'));
    await expect(loadRegionLabels(ctx, WorkFiles.regionLabels.key(RUN, 'gone'))).rejects.toThrow(
      /the region's labels are missing at memory:\/\/work\/runs\/run-labels-store\/labels\/regions\/gone\.bin/,
    );
  });
});

describe('aoi "labels": the labels\' extent as the AOI', () => {
  const job = (source: string) =>
    parseJobSpec({
      name: 'fiji',
      catalog: { kind: 'static', source: 'items.json' },
      aoi: 'labels',
      period: { start: '2023-06-01', end: '2023-06-30' },
      bands: ['red'],
      windows: { size: 24 },
      labels: { source, classProperty: 'crop' },
      output: { uri: 'memory://out' },
    });
  const square = (x: number, y: number, side: number) => [
    [x, y],
    [x + side, y],
    [x + side, y + side],
    [x, y + side],
    [x, y],
  ];

  it('of parcels in UTM zone 60 across 180°: two parts meeting at ±180, not a band round the world', async () => {
    const [x180] = converterBetween(4326, 32760).forward([180, -16.5]) as [number, number];
    const features = [-3000, 2000].map((dx, i) => ({
      type: 'Feature',
      properties: { crop: i + 1 },
      geometry: { type: 'Polygon', coordinates: [square(x180 + dx, 8_170_000, 500)] },
    }));
    const source = new MemoryBlobStore('s3://labels-bucket/fiji');
    await source.put(
      'parcels.geojson',
      JSON.stringify({
        type: 'FeatureCollection',
        crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::32760' } },
        features,
      }),
    );
    const summary = await ingestLabels(
      context(new MemoryBlobStore('memory://work'), source),
      'run-fiji',
      job(`${source.uri}/parcels.geojson`),
    );
    const [west, , east] = summary.extentWgs84 as Bounds;
    expect(west).toBeGreaterThan(179.9); // RFC 7946: west > east across the antimeridian
    expect(east).toBeLessThan(-179.9);
    const aoi = labelsExtentAoi(summary);
    expect(aoi.type).toBe('MultiPolygon');
    const lons = (aoi as GeoJSON.MultiPolygon).coordinates.flatMap((p) =>
      (p[0] ?? []).map((q) => q[0] as number),
    );
    expect(Math.max(...lons)).toBe(180);
    expect(Math.min(...lons)).toBe(-180);
    expect(lons.filter((l) => l > 0 && l < 180).every((l) => l > 179.9)).toBe(true);
  });

  it('of lon/lat parcels on both sides of ±180 cannot be told from a band round the world: refused, saying what to write', async () => {
    const source = new MemoryBlobStore('s3://labels-bucket/fiji-4326');
    await source.put(
      'parcels.geojson',
      JSON.stringify({
        type: 'FeatureCollection',
        features: [179.95, -179.99].map((x, i) => ({
          type: 'Feature',
          properties: { crop: i + 1 },
          geometry: { type: 'Polygon', coordinates: [square(x, -16.5, 0.01)] },
        })),
      }),
    );
    const summary = await ingestLabels(
      context(new MemoryBlobStore('memory://work'), source),
      'run-4326',
      job(`${source.uri}/parcels.geojson`),
    );
    expect(() => labelsExtentAoi(summary)).toThrow(
      /the labels of \S+ span 359\.9° of longitude .*give the AOI explicitly \(longitudes past 180, or a MultiPolygon split at ±180\)/,
    );
  });

  it('of a labels.source that is a folder (an S3 prefix): says it is a folder and what it holds', async () => {
    const source = new MemoryBlobStore('s3://labels-bucket/ground-truth');
    await source.put('crops/parcels.geojson', '{}');
    await source.put('crops/parcels.prj', '');
    const error = await ingestLabels(
      context(new MemoryBlobStore('memory://work'), source),
      'run-folder',
      job(`${source.uri}/crops`),
    ).catch((e: unknown) => e);
    expect(String(error)).toMatch(
      /labels\.source s3:\/\/labels-bucket\/ground-truth\/crops is a folder \(holding 2 file\(s\): parcels\.geojson, parcels\.prj\); name one label file in it/,
    );
  });
});
