/**
 * MetricBatch → OTLP. The collector's model is a strict subset of OTLP metrics (numbers only, one
 * timestamp per batch), so the mapping is total: gauges become Gauge, counters monotonic cumulative Sum.
 *
 * Serialization is delegated to `@opentelemetry/otlp-transformer`, whose writer is hand-rolled (no
 * protobufjs) and fast enough for the export budget; see `bench/export-otlp.ts`.
 */

import type { HrTime } from '@opentelemetry/api';
import { ValueType } from '@opentelemetry/api';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { DataPoint, MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import type { MetricBatch, MetricFamily } from '../model/metrics.ts';

/** The instrumentation scope every pgotel metric is emitted under. */
export const PGOTEL_SCOPE: { readonly name: string; readonly version: string } = {
  name: 'pgotel',
  version: '0.1.0',
};

/** Epoch milliseconds (possibly fractional) → OTel `[seconds, nanoseconds]`. */
export function msToHrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

/**
 * Builds the OTLP `ResourceMetrics` of one batch: one resource, one `pgotel` scope, one metric per family.
 * Every point is recorded as a double (`ValueType.DOUBLE`) because PostgreSQL statistics exceed 2^53 only
 * where a double is the best JS can do anyway, and NaN/±Inf have no integer encoding.
 * The start time of a point is `startTimeMs` when set (counters: `stats_reset`), else the batch time.
 */
export function toResourceMetrics(
  batch: MetricBatch,
  scope: typeof PGOTEL_SCOPE = PGOTEL_SCOPE,
): ResourceMetrics {
  const endTime = msToHrTime(batch.timeMs);
  const metrics: MetricData[] = [];
  for (const family of batch.families) metrics.push(toMetricData(family, endTime));
  return {
    resource: resourceFromAttributes({ ...batch.resource }),
    scopeMetrics: [{ scope: { name: scope.name, version: scope.version }, metrics }],
  };
}

function toMetricData(family: MetricFamily, endTime: HrTime): MetricData {
  // One HrTime array is shared by every point without its own start time: the serializer only reads it.
  const dataPoints: DataPoint<number>[] = family.points.map((point) => ({
    startTime: point.startTimeMs === undefined ? endTime : msToHrTime(point.startTimeMs),
    endTime,
    attributes: point.attributes,
    value: point.value,
  }));
  const descriptor = {
    name: family.name,
    description: family.description,
    unit: family.unit,
    valueType: ValueType.DOUBLE,
  };
  if (family.kind === 'counter') {
    return {
      descriptor,
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
      dataPoints,
    };
  }
  return {
    descriptor,
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints,
  };
}

/** Encodes one batch as a protobuf `ExportMetricsServiceRequest` (the `.binpb` archive object body). */
export function encodeExportRequest(batch: MetricBatch): Uint8Array {
  const bytes = ProtobufMetricsSerializer.serializeRequest(toResourceMetrics(batch));
  if (bytes === undefined) throw new Error('OTLP serializer returned no bytes');
  return bytes;
}
