import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import type { MetricBatch } from '../../../shared/model/metrics.ts';
import {
  encodeExportRequest,
  msToHrTime,
  PGOTEL_SCOPE,
  toResourceMetrics,
} from '../../../shared/otlp/build.ts';
import { f64, fixed64, message, nanos, str, vint } from './protobuf.ts';

const T = Date.UTC(2026, 10, 21, 19, 30, 0, 0);

const batch: MetricBatch = {
  resource: { 'service.name': 'postgresql' },
  timeMs: T,
  families: [
    {
      name: 'postgresql.backends',
      unit: '{connection}',
      description: 'Backends.',
      kind: 'gauge',
      points: [{ attributes: { db: 'orders' }, value: 7 }],
    },
    {
      name: 'postgresql.commits',
      unit: '{commit}',
      description: '',
      kind: 'counter',
      points: [
        { attributes: { db: 'orders' }, value: 10, startTimeMs: T - 60_000 },
        { attributes: { db: 'postgres' }, value: 1.5 },
      ],
    },
  ],
};

describe('toResourceMetrics', () => {
  it('maps gauges to GAUGE and counters to monotonic cumulative SUM under the pgotel scope', () => {
    // Act
    const rm = toResourceMetrics(batch);

    // Assess
    expect(rm.resource.attributes).toStrictEqual({ 'service.name': 'postgresql' });
    expect(rm.scopeMetrics).toHaveLength(1);
    expect(rm.scopeMetrics[0]?.scope).toStrictEqual({ name: 'pgotel', version: PGOTEL_SCOPE.version });
    const [gauge, sum] = rm.scopeMetrics[0]?.metrics ?? [];
    expect(gauge).toStrictEqual({
      descriptor: {
        name: 'postgresql.backends',
        description: 'Backends.',
        unit: '{connection}',
        valueType: 1,
      },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.GAUGE,
      dataPoints: [
        { startTime: [T / 1000, 0], endTime: [T / 1000, 0], attributes: { db: 'orders' }, value: 7 },
      ],
    });
    expect(sum).toStrictEqual({
      descriptor: { name: 'postgresql.commits', description: '', unit: '{commit}', valueType: 1 },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
      dataPoints: [
        { startTime: [T / 1000 - 60, 0], endTime: [T / 1000, 0], attributes: { db: 'orders' }, value: 10 },
        { startTime: [T / 1000, 0], endTime: [T / 1000, 0], attributes: { db: 'postgres' }, value: 1.5 },
      ],
    });
  });
});

describe('msToHrTime', () => {
  it.each([
    [0, [0, 0]],
    [1_500, [1, 500_000_000]],
    [T + 999, [T / 1000, 999_000_000]],
    [0.25, [0, 250_000]],
  ])('%d ms → %j', (ms, expected) => {
    // Act
    const hr = msToHrTime(ms);

    // Assess
    expect(hr).toStrictEqual(expected);
  });
});

describe('encodeExportRequest', () => {
  it('writes the exact ExportMetricsServiceRequest bytes', () => {
    // Prepare
    const kv = (key: string, value: string) => message(7, str(1, key), message(2, str(1, value)));
    const expected = message(
      1, // resource_metrics
      message(1, message(1, str(1, 'service.name'), message(2, str(1, 'postgresql'))), vint(2, 0)),
      message(
        2, // scope_metrics
        message(1, str(1, 'pgotel'), str(2, PGOTEL_SCOPE.version)),
        message(
          2,
          str(1, 'postgresql.backends'),
          str(2, 'Backends.'),
          str(3, '{connection}'),
          message(5, message(1, fixed64(2, nanos(T)), fixed64(3, nanos(T)), f64(4, 7), kv('db', 'orders'))),
        ),
        message(
          2,
          str(1, 'postgresql.commits'),
          str(3, '{commit}'),
          message(
            7,
            message(1, fixed64(2, nanos(T - 60_000)), fixed64(3, nanos(T)), f64(4, 10), kv('db', 'orders')),
            message(1, fixed64(2, nanos(T)), fixed64(3, nanos(T)), f64(4, 1.5), kv('db', 'postgres')),
            vint(2, 2), // AGGREGATION_TEMPORALITY_CUMULATIVE
            vint(3, 1), // is_monotonic
          ),
        ),
      ),
    );

    // Act
    const bytes = encodeExportRequest(batch);

    // Assess
    expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
  });
});
