import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import type { MetricBatch } from '../../../shared/model/metrics.ts';
import {
  encodeExportRequest,
  msToHrTime,
  PGOTEL_SCOPE,
  serializeWithLibrary,
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

describe('encodeExportRequest direct writer', () => {
  /** Deterministic PRNG (LCG), so a failing case can be replayed. */
  function prng(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
  }

  it('writes the same bytes as the otlp-transformer serializer (property)', () => {
    const texts = ['', 'a', 'orders', 'é', '😀', '\ud800', 'x'.repeat(200), '"q"', '\n', '0', '12'];
    const values = [0, -1, 1.5, 2 ** 60, Number.NaN, Number.POSITIVE_INFINITY, -0, 1e-300];
    for (let seed = 1; seed <= 60; seed++) {
      // Prepare: unicode and lone surrogates, integer-like keys (ordered first by JS), long strings that need
      // multi-byte lengths, start times before and after the epoch, fractional milliseconds.
      const random = prng(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
      const attrs = (n: number): Record<string, string> => {
        const out: Record<string, string> = {};
        for (let i = 0; i < n; i++) out[pick(texts) + pick(['', 'k', '1'])] = pick(texts) + pick(texts);
        return out;
      };
      const testBatch: MetricBatch = {
        resource: attrs(Math.floor(random() * 6)),
        timeMs: pick([T, T + 0.25, 1_000, -1_500.5]),
        families: Array.from({ length: 1 + Math.floor(random() * 4) }, () => ({
          name: pick(texts),
          unit: pick(['', 'By', '{x}', 'é']),
          description: pick(texts),
          kind: pick(['gauge', 'counter'] as const),
          points: Array.from({ length: Math.floor(random() * (random() < 0.2 ? 400 : 5)) }, () => ({
            attributes: attrs(Math.floor(random() * 4)),
            value: pick(values),
            ...(random() < 0.5 ? { startTimeMs: pick([T - 60_000, 0, -2_000.125, T + 0.5]) } : {}),
          })),
        })),
      };
      // Act
      const direct = encodeExportRequest(testBatch);
      const reference = serializeWithLibrary(testBatch);
      // Assess
      expect(Buffer.from(direct).toString('hex'), `seed ${seed}`).toBe(
        Buffer.from(reference).toString('hex'),
      );
    }
  });

  it('writes into a buffer of exactly the request size, however large its points are', () => {
    // Prepare: 5,000 points of about 180 bytes each, over the 128 bytes a point a growing buffer started with
    // (which doubled it past the request: 12.7 MB held for a 6.4 MB request).
    const large: MetricBatch = {
      ...batch,
      families: [
        {
          ...batch.families[0],
          points: Array.from({ length: 5_000 }, (_, i) => ({
            attributes: { database_name: 'orders', table_name: `${'t'.repeat(100)}${i}` },
            value: i,
          })),
        },
      ] as MetricBatch['families'],
    };
    // Act
    const bytes = encodeExportRequest(large);
    // Assess
    expect(bytes.byteLength).toBeGreaterThan(5_000 * 128);
    expect(bytes.buffer.byteLength).toBe(bytes.byteLength);
    expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(serializeWithLibrary(large)).toString('hex'));
  });

  it('writes what the serializer writes for a `__proto__` attribute key', () => {
    // Prepare: an own `__proto__` key, as JSON.parse makes one; the serializer drops it from the resource only.
    const odd: MetricBatch = {
      ...batch,
      resource: JSON.parse('{"__proto__":"r","service.name":"pg"}'),
      families: [
        { ...batch.families[0], points: [{ attributes: JSON.parse('{"__proto__":"p"}'), value: 1 }] },
      ],
    } as MetricBatch;
    // Act
    const bytes = encodeExportRequest(odd);
    // Assess
    expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(serializeWithLibrary(odd)).toString('hex'));
  });

  it('hands a batch with a non-string attribute value to the serializer', () => {
    // Prepare: outside the model's types, as untyped input could be.
    const odd = {
      ...batch,
      families: [
        {
          ...batch.families[0],
          points: [{ attributes: { n: 5 } as unknown as Record<string, string>, value: 1 }],
        },
      ],
    } as MetricBatch;
    // Act
    const bytes = encodeExportRequest(odd);
    // Assess
    expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(serializeWithLibrary(odd)).toString('hex'));
  });
});
