// The cost model: units (MB/s, MB → GB, per-million prices), lines that add up to the total, and
// the one-tile-year plan counted with the real grid code.
import { describe, expect, it } from 'vitest';
import { costTable, MEASURED_FILE, measured, ONE_TILE_YEAR, tilePlan } from '../../../scripts/cost-table.ts';
import { type CostPlan, DEFAULT_ASSUMPTIONS, estimateCost, PRICES } from '../../../shared/domain/cost.ts';

const plan: CostPlan = {
  tiles: 1,
  dates: 2,
  assets: 3,
  windows: 100,
  regions: 10,
  cogRequests: 1_000_000,
  bytesFetched: 700e6,
  bytesDecoded: 3_500e6,
  bytesWritten: 2e9,
  shards: 10,
};

describe('estimateCost', () => {
  it('turns bytes and throughput into GB-seconds of the configured memory', () => {
    const a = {
      ...DEFAULT_ASSUMPTIONS,
      processMBps: 200,
      fetchMBps: 70,
      regionOverheadSeconds: 1,
      extractMemoryMb: 2048,
    };
    const e = estimateCost(plan, a);
    // 2000 MB written / 200 MB/s + 700 MB / 70 MB/s + 10 regions x 1 s = 30 s, at 2 GB.
    expect(e.extractSeconds).toBeCloseTo(30, 9);
    const extract = e.lines.find((l) => l.item.startsWith('Lambda ExtractRegion'));
    expect(extract).toMatchObject({ quantity: 60, unit: 'GB-s' });
    expect(extract?.usd).toBeCloseTo(60 * 0.000_013_333_4, 12);
  });

  it('adds its lines to the total, each quantity times its unit price', () => {
    const e = estimateCost(plan);
    for (const l of e.lines) expect(l.usd).toBeCloseTo(l.quantity * l.unitUsd, 12);
    expect(e.totalUsd).toBeCloseTo(
      e.lines.reduce((s, l) => s + l.usd, 0),
      12,
    );
    expect(e.storageUsdPerMonth).toBeCloseTo(2 * 0.023, 12);
  });

  it('bills COG GETs and transfer only when asked: $0.40 per million GETs, $0.02 per GB', () => {
    const free = estimateCost(plan);
    const paid = estimateCost(plan, { ...DEFAULT_ASSUMPTIONS, cogGetsBilled: true, sameRegionAsCogs: false });
    expect(paid.totalUsd - free.totalUsd).toBeCloseTo(0.4 + 0.7 * 0.02, 9);
  });

  it('counts one Distributed Map child per batch of regions', () => {
    const e = estimateCost(plan, {
      ...DEFAULT_ASSUMPTIONS,
      regionsPerBatch: 4,
      mainTransitions: 10,
      transitionsPerChild: 2,
    });
    expect(e.lines.find((l) => l.unit === 'transitions')?.quantity).toBe(10 + 3 * 2);
    expect(PRICES.sfnTransition).toBeCloseTo(0.000_025, 12);
  });
});

describe('the measured processing speed', () => {
  it(`is the one ${MEASURED_FILE} records: sample bytes over CPU seconds`, () => {
    expect(measured.samples).toBeGreaterThan(0);
    expect(DEFAULT_ASSUMPTIONS.processMBps).toBeCloseTo(measured.sampleBytes / 1e6 / measured.cpuSeconds, 1);
    expect(costTable()).toContain(MEASURED_FILE);
  });
});

describe('one tile, one year', () => {
  it('is counted with the real grid: 457 x 457 windows of 24 px in 11 x 11 regions', () => {
    const p = tilePlan(ONE_TILE_YEAR);
    expect(p.windows).toBe(457 * 457);
    expect(p.regions).toBe(121);
    expect(p.bytesFetched).toBeCloseTo(p.bytesDecoded * ONE_TILE_YEAR.compression, -6);
    // 12 bands + SCL at one uint16 (uint8 for SCL) per pixel, every window and date.
    const perWindow = 4 * 24 * 24 * 2 + 6 * 12 * 12 * 2 + 2 * 4 * 4 * 2 + 12 * 12;
    expect(p.bytesWritten).toBe(p.windows * perWindow * 73);
    // Regions of 3 tiles end on window boundaries: far fewer tiles decoded twice.
    expect(tilePlan({ ...ONE_TILE_YEAR, regionTiles: 3 }).bytesDecoded).toBeLessThan(p.bytesDecoded / 2);
  });

  it('prints a markdown table with the total', () => {
    const table = costTable();
    expect(table).toMatch(/\| \*\*total, one run\*\* \| \| \*\*\$\d+\.\d+\*\* \|/);
    expect(table).toContain(PRICES.asOf);
  });
});
