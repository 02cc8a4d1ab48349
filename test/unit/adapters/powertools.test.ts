import { afterEach, describe, expect, it, vi } from 'vitest';
import { createPowertools } from '../../../shared/adapters/aws/powertools.ts';

/** Every JSON line Powertools writes while `f` runs (it writes to stdout). */
function capture(f: () => void): Array<Record<string, unknown>> {
  const out: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  f();
  return out
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

describe('Powertools metrics (EMF)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('emits the figures of a region as CloudWatch EMF in the satfactory namespace', () => {
    const tools = createPowertools('ExtractRegion', {});
    const records = capture(() => {
      tools.metricsPort.add('BytesFetched', 'Bytes', 1000);
      tools.metricsPort.add('BytesFetched', 'Bytes', 500);
      tools.metricsPort.add('SamplesWritten', 'Count', 12);
      tools.metrics.publishStoredMetrics();
    });
    const emf = records.find((r) => r['SamplesWritten'] !== undefined);
    expect(emf).toBeDefined();
    const aws = emf?.['_aws'] as { CloudWatchMetrics: Array<{ Namespace: string; Metrics: unknown[] }> };
    expect(aws.CloudWatchMetrics[0]?.Namespace).toBe('satfactory');
    expect(aws.CloudWatchMetrics[0]?.Metrics).toEqual(
      expect.arrayContaining([
        { Name: 'BytesFetched', Unit: 'Bytes' },
        { Name: 'SamplesWritten', Unit: 'Count' },
      ]),
    );
    // Two adds of one metric are kept as two values (CloudWatch sums them).
    expect(emf?.['BytesFetched']).toEqual([1000, 500]);
    expect(emf?.['service']).toBe('ExtractRegion');
  });

  it('puts a dimensioned figure (rejects by reason) in its own record, with its dimension', () => {
    const tools = createPowertools('ExtractRegion', {});
    const records = capture(() =>
      tools.metricsPort.add('WindowsRejected', 'Count', 3, { reason: 'too-cloudy' }),
    );
    const emf = records.find((r) => r['WindowsRejected'] !== undefined);
    expect(emf).toMatchObject({ WindowsRejected: 3, reason: 'too-cloudy' });
    const aws = emf?.['_aws'] as { CloudWatchMetrics: Array<{ Dimensions: string[][] }> };
    expect(aws.CloudWatchMetrics[0]?.Dimensions[0]).toContain('reason');
  });

  it('logs at the level the environment asks for', () => {
    const quiet = createPowertools('Plan', { POWERTOOLS_LOG_LEVEL: 'WARN' });
    expect(capture(() => quiet.log.info('hidden'))).toEqual([]);
    const debug = createPowertools('Plan', { SATFACTORY_DEBUG: '1' });
    expect(capture(() => debug.log.debug('shown', { k: 1 }))[0]).toMatchObject({
      level: 'DEBUG',
      message: 'shown',
      k: 1,
    });
  });
});
