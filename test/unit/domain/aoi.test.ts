// AOIs are validated like labels: every problem is an error naming its JSON pointer, or (aoiRepair)
// a logged repair. AOIs across the antimeridian are split at ±180 into parts within [-180, 180].
import { area } from '@turf/turf';
import { describe, expect, it } from 'vitest';
import { type AoiFix, parseAoi } from '../../../shared/domain/aoi.ts';
import { InvalidInputError } from '../../../shared/domain/errors.ts';

const job = { source: 'job.json', pointer: '/aoi' };
const polygon = (...rings: number[][][]) => ({ type: 'Polygon', coordinates: rings });
const box = (x0: number, y0: number, x1: number, y1: number) => [
  [x0, y0],
  [x1, y0],
  [x1, y1],
  [x0, y1],
  [x0, y0],
];

/** The InvalidInputError parseAoi throws, for its message and pointer. */
function refusal(value: unknown, options = job): InvalidInputError {
  try {
    parseAoi(value, options);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return error as InvalidInputError;
  }
  throw new Error('the AOI was accepted');
}

/** Planar shoelace area of GeoJSON (multi)polygon coordinates (holes subtract): the oracle. */
function planarArea(g: GeoJSON.Polygon | GeoJSON.MultiPolygon): number {
  const ring = (r: GeoJSON.Position[]) => {
    let s = 0;
    for (let i = 0; i + 1 < r.length; i++) {
      const [ax, ay] = r[i] as [number, number];
      const [bx, by] = r[i + 1] as [number, number];
      s += ax * by - bx * ay;
    }
    return Math.abs(s) / 2;
  };
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  return polys.reduce(
    (sum, [shell, ...holes]) => sum + ring(shell ?? []) - holes.reduce((h, r) => h + ring(r), 0),
    0,
  );
}

describe('AOI validation (parseAoi)', () => {
  it('refuses an unclosed ring with its JSON pointer, and closes it with aoiRepair (logged)', () => {
    const open = polygon(box(15, 45.12, 15.06, 45.16).slice(0, 4));
    const e = refusal(open);
    expect(e.context.pointer).toBe('/aoi/coordinates/0');
    expect(e.message).toMatch(/^job\.json \/aoi\/coordinates\/0: the outer ring is not closed/);
    expect(e.message).toContain('"aoiRepair": true');
    const repaired = parseAoi(open, { ...job, repair: true });
    expect(repaired.area).toEqual(polygon(box(15, 45.12, 15.06, 45.16)));
    expect(repaired.fixes).toEqual<AoiFix[]>([
      expect.objectContaining({ pointer: '/aoi/coordinates/0', problem: 'unclosed-ring', action: 'fixed' }),
    ]);
  });

  it('refuses a bow-tie (self-intersecting) AOI naming the crossing edges; repair splits it in two', () => {
    const bowtie = polygon([
      [0, 0],
      [1, 1],
      [1, 0],
      [0, 1],
      [0, 0],
    ]);
    const e = refusal(bowtie);
    expect(e.context.pointer).toBe('/aoi/coordinates/0');
    expect(e.message).toMatch(/the outer ring crosses itself \(edges 0 and 2, cross\)/);
    const repaired = parseAoi(bowtie, { ...job, repair: true });
    expect(repaired.fixes.map((f) => f.problem)).toEqual(['self-intersection']);
    // Two triangles of a quarter each, meeting at (0.5, 0.5).
    expect(repaired.area.type).toBe('MultiPolygon');
    expect((repaired.area as GeoJSON.MultiPolygon).coordinates).toHaveLength(2);
    expect(planarArea(repaired.area)).toBeCloseTo(0.5, 12);
  });

  it('refuses a hole that crosses its shell, pointing at the shell', () => {
    const e = refusal(polygon(box(0, 0, 4, 4), box(3, 1, 5, 2)));
    expect(e.message).toMatch(/the outer ring and hole 1 cross/);
    expect(e.context.pointer).toBe('/aoi/coordinates/0');
  });

  it('refuses empty coordinates, an empty ring and an empty MultiPolygon, each with its pointer', () => {
    expect(refusal(polygon()).context.pointer).toBe('/aoi/coordinates');
    expect(refusal(polygon()).message).toMatch(/the polygon has no rings/);
    expect(refusal(polygon([])).context.pointer).toBe('/aoi/coordinates/0');
    expect(refusal(polygon([])).message).toMatch(/the outer ring has no positions/);
    expect(refusal({ type: 'MultiPolygon', coordinates: [] }).message).toMatch(/has no polygon/);
    const hole = refusal(polygon(box(0, 0, 4, 4), []));
    expect(hole.context.pointer).toBe('/aoi/coordinates/1');
    expect(hole.message).toMatch(/hole 1 has no positions/);
  });

  it('with aoiRepair removes empty and degenerate parts, and refuses an AOI with nothing left', () => {
    const multi = {
      type: 'MultiPolygon',
      coordinates: [
        [box(0, 0, 1, 1), []],
        [],
        [[]],
        [
          [
            [5, 5],
            [6, 6],
            [5, 5],
          ],
        ],
      ],
    };
    const repaired = parseAoi(multi, { ...job, repair: true });
    expect(repaired.area).toEqual(polygon(box(0, 0, 1, 1)));
    expect(repaired.fixes.map((f) => [f.pointer, f.problem, f.action])).toEqual([
      ['/aoi/coordinates/0/1', 'empty-ring', 'removed'],
      ['/aoi/coordinates/1', 'empty-geometry', 'removed'],
      ['/aoi/coordinates/2/0', 'empty-ring', 'removed'],
      ['/aoi/coordinates/3/0', 'too-few-vertices', 'removed'],
    ]);
    const nothing = refusal(polygon([]), { ...job, repair: true } as typeof job);
    expect(nothing.message).toMatch(/nothing is left of the AOI after repair/);
  });

  it('refuses rings of fewer than 3 positions and rings with no area', () => {
    expect(
      refusal(
        polygon([
          [0, 0],
          [1, 1],
          [0, 0],
        ]),
      ).message,
    ).toMatch(/the outer ring has 2 distinct position\(s\), at least 3 needed/);
    expect(
      refusal(
        polygon([
          [0, 0],
          [1, 1],
          [2, 2],
          [0, 0],
        ]),
      ).message,
    ).toMatch(/encloses no area/);
  });

  it('refuses a hole outside its shell; repair removes it', () => {
    const aoi = polygon(box(0, 0, 1, 1), box(2, 2, 3, 3));
    const e = refusal(aoi);
    expect(e.context.pointer).toBe('/aoi/coordinates/1');
    expect(e.message).toMatch(/hole 1 lies outside the outer ring/);
    expect(parseAoi(aoi, { ...job, repair: true }).area).toEqual(polygon(box(0, 0, 1, 1)));
  });

  it('refuses positions that are not [lon, lat] numbers or lie outside lat ±90 / lon ±360, at the vertex', () => {
    const e = refusal(
      polygon([
        [0, 0],
        [1, 'a'],
        [1, 1],
        [0, 0],
      ] as unknown as number[][]),
    );
    expect(e.context.pointer).toBe('/aoi/coordinates/0/1');
    expect(e.message).toMatch(/not a \[lon, lat\] position/);
    expect(refusal(polygon(box(10, 80, 11, 95))).message).toMatch(/outside lon ±360 \/ lat ±90/);
    expect(refusal(polygon(box(10, 80, 11, 95))).context.pointer).toBe('/aoi/coordinates/0/2');
    expect(refusal(polygon(box(359, 0, 361, 1))).message).toMatch(/\(361, 0\) is outside lon ±360/);
    // Not repairable: repair cannot guess the intended coordinates.
    expect(() => parseAoi(polygon(box(10, 80, 11, 95)), { ...job, repair: true })).toThrow(/lat ±90/);
  });

  it('names the pointer through FeatureCollections and Features, and in an AOI file from its root', () => {
    const fc = {
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', properties: {}, geometry: polygon(box(0, 0, 1, 1)) },
        { type: 'Feature', properties: {}, geometry: polygon(box(2, 2, 3, 3).slice(0, 4)) },
      ],
    };
    expect(refusal(fc).context.pointer).toBe('/aoi/features/1/geometry/coordinates/0');
    const inFile = refusal(fc, { source: 'aoi.geojson', pointer: '' });
    expect(inFile.message).toMatch(/^aoi\.geojson \/features\/1\/geometry\/coordinates\/0: /);
    expect(refusal({ type: 'Feature', geometry: null }).message).toMatch(/\/aoi\/geometry: is null/);
    expect(refusal({ type: 'LineString', coordinates: [] }).message).toMatch(/needs Polygon or MultiPolygon/);
  });

  it('refuses GeometryCollections nested deeper than 32 levels without recursing further', () => {
    let g: unknown = polygon(box(0, 0, 1, 1));
    for (let i = 0; i < 100_000; i++) g = { type: 'GeometryCollection', geometries: [g] };
    expect(refusal(g).message).toMatch(/nests GeometryCollections deeper than 32 levels/);
  });

  it('refuses coordinates nested 1,000,000 arrays deep at the first position, without a stack overflow', () => {
    const deep = JSON.parse(`${'['.repeat(1_000_000)}0${']'.repeat(1_000_000)}`);
    const e = refusal({ type: 'Polygon', coordinates: deep });
    expect(e.context.pointer).toBe('/aoi/coordinates/0/0');
    expect(e.message).toMatch(/not a \[lon, lat\] position/);
  });

  it('returns a valid AOI as it is', () => {
    const aoi = polygon(box(15, 45.12, 15.06, 45.16));
    expect(parseAoi(aoi, job)).toEqual({ area: aoi, fixes: [], antimeridian: false });
    const multi = { type: 'MultiPolygon', coordinates: [[box(0, 0, 1, 1)], [box(2, 2, 3, 3)]] };
    expect(parseAoi(multi, job).area).toEqual(multi);
  });
});

describe('AOIs across the antimeridian', () => {
  // Fiji: 179.9°E to 179.9°W, written with longitudes past 180.
  const fiji = polygon(box(179.9, -16.6, 180.1, -16.5));

  it('splits an AOI written with longitudes past 180 into two parts that meet at ±180, area kept', () => {
    const parsed = parseAoi(fiji, job);
    expect(parsed.antimeridian).toBe(true);
    expect(parsed.area.type).toBe('MultiPolygon');
    const parts = (parsed.area as GeoJSON.MultiPolygon).coordinates;
    expect(parts).toHaveLength(2);
    const lons = parts.map((p) => (p[0] ?? []).map((q) => q[0] as number));
    const west = lons.find((l) => Math.min(...l) > 0) as number[];
    const east = lons.find((l) => Math.max(...l) < 0) as number[];
    expect([Math.min(...west), Math.max(...west)]).toEqual([179.9, 180]);
    expect(Math.min(...east)).toBe(-180);
    expect(Math.max(...east)).toBeCloseTo(-179.9, 12);
    // turf's geodesic area of the parts equals that of the polygon as written (it only needs lon deltas).
    expect(area(parsed.area)).toBeCloseTo(area(fiji as GeoJSON.Polygon), 0);
    expect(area(parsed.area)).toBeGreaterThan(0.99 * 21.3e3 * 11.1e3);
  });

  it('takes the west form (longitudes below -180) the same way', () => {
    const west = parseAoi(polygon(box(-180.1, -16.6, -179.9, -16.5)), job);
    expect(west.antimeridian).toBe(true);
    expect(area(west.area)).toBeCloseTo(area(parseAoi(fiji, job).area), 0);
  });

  it('keeps an AOI already split at ±180 as written, and says it crosses', () => {
    const split = {
      type: 'MultiPolygon',
      coordinates: [[box(179.9, -16.6, 180, -16.5)], [box(-180, -16.6, -179.9, -16.5)]],
    };
    const parsed = parseAoi(split, job);
    expect(parsed.area).toEqual(split);
    expect(parsed.antimeridian).toBe(true);
  });

  it('refuses an edge longer than 180° (read the long way round); repair takes it the short way', () => {
    // As users write it by mistake: 179.9 -> -179.9, which GeoJSON reads as a 359.8° band.
    const wrapped = polygon([
      [179.9, -16.6],
      [-179.9, -16.6],
      [-179.9, -16.5],
      [179.9, -16.5],
      [179.9, -16.6],
    ]);
    const e = refusal(wrapped);
    expect(e.context.pointer).toBe('/aoi/coordinates/0');
    expect(e.message).toMatch(/an edge 359\.8° of longitude long/);
    expect(e.message).toMatch(/write longitudes past 180/);
    const repaired = parseAoi(wrapped, { ...job, repair: true });
    expect(repaired.fixes.map((f) => f.problem)).toEqual(['antimeridian-edge']);
    expect(area(repaired.area)).toBeCloseTo(area(parseAoi(fiji, job).area), 0);
  });

  it('refuses a polygon more than 180° wide', () => {
    const wide = polygon([
      [-170, 0],
      [-50, 0],
      [70, 0],
      [170, 0],
      [170, 1],
      [70, 1],
      [-50, 1],
      [-170, 1],
      [-170, 0],
    ]);
    expect(refusal(wide).message).toMatch(/spans 340\.0° of longitude; an AOI polygon may span at most 180°/);
  });
});
