/**
 * MetricBatch → OTLP. The collector's model is a strict subset of OTLP metrics (numbers only, one
 * timestamp per batch), so the mapping is total: gauges become Gauge, counters monotonic cumulative Sum.
 *
 * `encodeExportRequest` writes the protobuf straight from the batch with the shared wire writer
 * (`wire/protobuf.ts`), byte for byte what `@opentelemetry/otlp-transformer`'s serializer writes; that
 * serializer stays as the reference the tests compare with and as the fallback for what the writer does
 * not handle. Throughput: `bench/export-otlp.ts`.
 */

import type { HrTime } from '@opentelemetry/api';
import { ValueType } from '@opentelemetry/api';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { DataPoint, MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import type { Attributes, MetricBatch, MetricFamily } from '../model/metrics.ts';
import { ProtobufWriter, utf8Length, varintSize } from '../wire/protobuf.ts';

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

/**
 * Encodes one batch as a protobuf `ExportMetricsServiceRequest` (the `.binpb` archive object body): the bytes
 * `ProtobufMetricsSerializer` writes for `toResourceMetrics(batch)`, written straight from the batch. A batch
 * whose attribute values are not all strings (outside the model's types) goes through the serializer itself.
 */
export function encodeExportRequest(batch: MetricBatch): Uint8Array {
  try {
    return writeBatch(batch, PGOTEL_SCOPE);
  } catch (error) {
    if (!(error instanceof NotPlain)) throw error;
  }
  return serializeWithLibrary(batch);
}

/** `encodeExportRequest` through otlp-transformer's serializer: the reference the direct writer must match. */
export function serializeWithLibrary(batch: MetricBatch): Uint8Array {
  const bytes = ProtobufMetricsSerializer.serializeRequest(toResourceMetrics(batch));
  if (bytes === undefined) throw new Error('OTLP serializer returned no bytes');
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Direct writer: the same bytes as `ProtobufMetricsSerializer.serializeRequest(toResourceMetrics(batch))`,
// without building a DataPoint object per point first (the export hot path archives every sample).
// ---------------------------------------------------------------------------------------------

/** Length-prefixed UTF-8 of `text` (`length` bytes), growing the buffer first. */
function writeString(w: ProtobufWriter, text: string, length: number): void {
  w.ensure(5 + length);
  w.string(text, length);
}

/** `HrTime` → unsigned 64-bit nanoseconds as [low, high], exactly as otlp-transformer's `writeHrTimeAsFixed64`. */
function hrTimeFixed64(time: HrTime): [number, number] {
  const [seconds, nanos] = time;
  const lowNanos = (seconds & 0xffff) * 1_000_000_000;
  const highNanos = ((seconds / 0x10000) >>> 0) * 1_000_000_000;
  const lowWithCarry = (lowNanos >>> 0) + (((highNanos & 0xffff) * 0x10000) >>> 0) + nanos;
  const carry = Math.floor(lowWithCarry / 0x100000000);
  return [
    lowWithCarry >>> 0,
    (Math.floor(lowNanos / 0x100000000) + ((highNanos / 0x10000) >>> 0) + carry) >>> 0,
  ];
}

/** Thrown inside the writer for what only the library serializer handles (a non-string attribute value, ...). */
class NotPlain extends Error {}

// Per attribute of the point being written: UTF-8 lengths of key and value, and the KeyValue body length.
const keyLens: number[] = [];
const valueLens: number[] = [];
const kvLens: number[] = [];
// UTF-8 length of each attribute key by position, for keys that repeat from point to point.
const lastKeys: string[] = [];
const lastKeyLens: number[] = [];

/** Measures one attribute set into the scratch arrays; returns the encoded size of its KeyValue fields. */
function measureAttributes(attributes: Attributes): number {
  let size = 0;
  let i = 0;
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    const value: unknown = attributes[key];
    if (typeof value !== 'string') throw new NotPlain();
    let k: number;
    if (lastKeys[i] === key) {
      k = lastKeyLens[i] ?? 0;
    } else {
      k = utf8Length(key);
      lastKeys[i] = key;
      lastKeyLens[i] = k;
    }
    const v = utf8Length(value);
    const any = 1 + varintSize(v) + v;
    const kv = 1 + varintSize(k) + k + 1 + varintSize(any) + any;
    keyLens[i] = k;
    valueLens[i] = v;
    kvLens[i] = kv;
    size += 1 + varintSize(kv) + kv;
    i++;
  }
  return size;
}

/** Writes the attributes `measureAttributes` just measured as repeated KeyValue field `tag`. */
function writeAttributes(w: ProtobufWriter, attributes: Attributes, tag: number): void {
  let i = 0;
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    const v = valueLens[i] ?? 0;
    w.ensure(12);
    w.byte(tag);
    w.varint(kvLens[i] ?? 0);
    w.byte(0x0a);
    writeString(w, key, keyLens[i] ?? 0);
    w.ensure(6);
    w.byte(0x12);
    w.varint(1 + varintSize(v) + v);
    w.byte(0x0a);
    writeString(w, attributes[key] ?? '', v);
    i++;
  }
}

function writeBatch(batch: MetricBatch, scope: typeof PGOTEL_SCOPE): Uint8Array {
  let points = 0;
  for (const family of batch.families) points += family.points.length;
  const w = new ProtobufWriter(1024 + points * 128);
  const [endLow, endHigh] = hrTimeFixed64(msToHrTime(batch.timeMs));
  let startMs = Number.NaN;
  let startLow = 0;
  let startHigh = 0;

  w.byte(0x0a); // resource_metrics
  const resourceMetrics = w.begin();
  // The library copies resource attributes into a fresh object, where an own `__proto__` key is lost.
  if (Object.hasOwn(batch.resource, '__proto__')) throw new NotPlain();
  w.byte(0x0a); // resource
  const resource = w.begin();
  measureAttributes(batch.resource);
  writeAttributes(w, batch.resource, 0x0a);
  w.ensure(2);
  w.byte(0x10); // dropped_attributes_count
  w.byte(0);
  w.end(resource);
  w.byte(0x12); // scope_metrics
  const scopeMetrics = w.begin();
  w.byte(0x0a); // scope
  const scopeStart = w.begin();
  w.byte(0x0a);
  writeString(w, scope.name, utf8Length(scope.name));
  if (scope.version !== '') {
    w.ensure(1);
    w.byte(0x12);
    writeString(w, scope.version, utf8Length(scope.version));
  }
  w.end(scopeStart);

  for (const family of batch.families) {
    w.ensure(1);
    w.byte(0x12); // metrics
    const metric = w.begin();
    w.byte(0x0a);
    writeString(w, family.name, utf8Length(family.name));
    if (family.description !== '') {
      w.ensure(1);
      w.byte(0x12);
      writeString(w, family.description, utf8Length(family.description));
    }
    if (family.unit !== '') {
      w.ensure(1);
      w.byte(0x1a);
      writeString(w, family.unit, utf8Length(family.unit));
    }
    const counter = family.kind === 'counter';
    w.ensure(1);
    w.byte(counter ? 0x3a : 0x2a); // sum (7) or gauge (5)
    const data = w.begin();
    for (const point of family.points) {
      const ndp = 27 + measureAttributes(point.attributes);
      w.ensure(6 + ndp);
      w.byte(0x0a); // data_points
      w.varint(ndp);
      let low = endLow;
      let high = endHigh;
      if (point.startTimeMs !== undefined) {
        if (point.startTimeMs !== startMs) {
          startMs = point.startTimeMs;
          [startLow, startHigh] = hrTimeFixed64(msToHrTime(startMs));
        }
        low = startLow;
        high = startHigh;
      }
      w.byte(0x11); // start_time_unix_nano
      w.fixed64(low, high);
      w.byte(0x19); // time_unix_nano
      w.fixed64(endLow, endHigh);
      w.byte(0x21); // as_double
      w.double(point.value);
      writeAttributes(w, point.attributes, 0x3a);
    }
    if (counter) {
      w.ensure(4);
      w.byte(0x10); // aggregation_temporality: CUMULATIVE
      w.byte(2);
      w.byte(0x18); // is_monotonic
      w.byte(1);
    }
    w.end(data);
    w.end(metric);
  }
  w.end(scopeMetrics);
  w.end(resourceMetrics);
  return w.finish();
}
