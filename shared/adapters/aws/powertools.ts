// The Log and Metrics ports on Lambda, through Powertools for AWS Lambda: JSON logs with the request
// id, cold start, function and X-Ray trace id (level from POWERTOOLS_LOG_LEVEL, or SATFACTORY_DEBUG=1
// for debug), and metrics as CloudWatch Embedded Metric Format, flushed at the end of each invocation.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import type { Log, LogFields, Metrics, MetricUnit } from '../../ports.ts';

/** The CloudWatch namespace of every satfactory metric. */
export const METRICS_NAMESPACE = 'satfactory';

export type Powertools = {
  readonly logger: Logger;
  readonly metrics: PowertoolsMetrics;
  readonly log: Log;
  readonly metricsPort: Metrics;
};

/** One Logger and one Metrics per container; `service` names the function (e.g. a Task state). */
export function createPowertools(service: string, env: NodeJS.ProcessEnv = process.env): Powertools {
  const level = env['POWERTOOLS_LOG_LEVEL'] ?? (env['SATFACTORY_DEBUG'] === '1' ? 'DEBUG' : 'INFO');
  const logger = new Logger({ serviceName: service, logLevel: level as 'INFO' });
  const metrics = new PowertoolsMetrics({ namespace: METRICS_NAMESPACE, serviceName: service });
  return { logger, metrics, log: powertoolsLog(logger), metricsPort: powertoolsMetrics(metrics) };
}

export function powertoolsLog(logger: Logger): Log {
  // Fields go in as extra keys of the JSON line, next to Powertools' own (level, timestamp, request id).
  const fields = (f: LogFields | undefined) => (f ? [f] : []);
  return {
    debug: (m, f) => logger.debug(m, ...fields(f)),
    info: (m, f) => logger.info(m, ...fields(f)),
    warn: (m, f) => logger.warn(m, ...fields(f)),
    error: (m, f) => logger.error(m, ...fields(f)),
  };
}

export function powertoolsMetrics(metrics: PowertoolsMetrics): Metrics {
  return {
    add(name: string, unit: MetricUnit, value: number, dimensions?: Readonly<Record<string, string>>) {
      if (!dimensions || Object.keys(dimensions).length === 0) {
        metrics.addMetric(name, unit, value);
        return;
      }
      // A metric with its own dimensions goes out as its own EMF record (it would split the others).
      const single = metrics.singleMetric();
      for (const [k, v] of Object.entries(dimensions)) single.addDimension(k, v);
      single.addMetric(name, unit, value);
    },
  };
}
