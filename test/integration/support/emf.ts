/**
 * Reads back the CloudWatch embedded-metric-format lines Powertools Metrics writes to stdout, as
 * CloudWatch Logs would: each JSON line with an `_aws.CloudWatchMetrics` block is kept (and not
 * printed); every other write goes through.
 *
 * @module
 */
import { vi } from 'vitest';
import { METRICS } from '../../../src/core/resources.js';

/** One EMF line: the `_aws` metadata, the dimension values and the metric values. */
export type EmfRecord = Record<string, unknown> & {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
  };
};

/**
 * What {@link captureEmf} collected.
 *
 * @example
 * ```ts
 * const emf = captureEmf();
 * emf.count('DeploymentErrors'); // 3
 * emf.stop();
 * ```
 */
export interface EmfCapture {
  /** Every EMF line written since the capture started. */
  readonly records: EmfRecord[];
  /**
   * The sum of a worker metric's values in namespace `Machinery` with `service=machinery-worker`
   * (a metric added n times in one flush is one line holding an array of n values).
   */
  count(metricName: string): number;
  /** Stops capturing: stdout is written as before. */
  stop(): void;
}

function isEmf(value: unknown): value is EmfRecord {
  const aws = (value as { _aws?: { CloudWatchMetrics?: unknown } } | null)?._aws;
  return Array.isArray(aws?.CloudWatchMetrics);
}

/**
 * Captures the EMF lines written to `process.stdout` until `stop()`.
 *
 * @example
 * ```ts
 * const emf = captureEmf();
 * await handler(event, context);
 * expect(emf.count('SystemicErrors')).toBe(1);
 * ```
 */
export function captureEmf(): EmfCapture {
  const records: EmfRecord[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation(((
    chunk: unknown,
    ...rest: unknown[]
  ) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString();
    const others: string[] = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      if (isEmf(parsed)) records.push(parsed);
      else others.push(line);
    }
    if (others.length > 0) {
      return (write as (...args: unknown[]) => boolean)(`${others.join('\n')}\n`, ...rest);
    }
    const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    done?.();
    return true;
  }) as typeof process.stdout.write);
  return {
    records,
    count(metricName) {
      let sum = 0;
      for (const r of records) {
        const block = r._aws.CloudWatchMetrics[0];
        if (block?.Namespace !== METRICS.namespace || r.service !== METRICS.service) continue;
        const v = r[metricName];
        if (typeof v === 'number') sum += v;
        else if (Array.isArray(v)) for (const x of v) sum += Number(x);
      }
      return sum;
    },
    stop: () => spy.mockRestore(),
  };
}
