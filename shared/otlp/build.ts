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
import { grown, ProtobufWriter, utf8Length, varintSize } from '../wire/protobuf.ts';

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

/** Bytes of a length-delimited field (tag, length, body) whose body is `length` bytes. */
function fieldSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/**
 * Lengths measured by the first pass for the second, in write order: the UTF-8 length of every attribute value
 * of every point, the body length of every data point and of every metric's data. Module scratch (the writer is
 * synchronous), dropped after a batch that grew it large.
 */
let valueLens: Int32Array = new Int32Array(4096);
let pointLens: Int32Array = new Int32Array(1024);
let dataLens: Int32Array = new Int32Array(64);
let values = 0;

// UTF-8 length of each attribute key by position, for keys that repeat from point to point.
const lastKeys: string[] = [];
const lastKeyLens: number[] = [];

/** UTF-8 length of attribute key number `i` of a point, measured again only when the key there changes. */
function keyLength(key: string, i: number): number {
  if (lastKeys[i] === key) return lastKeyLens[i] ?? 0;
  const k = utf8Length(key);
  lastKeys[i] = key;
  lastKeyLens[i] = k;
  return k;
}

/** Encoded size of one KeyValue body with a string value. */
function keyValueSize(k: number, v: number): number {
  return fieldSize(k) + fieldSize(fieldSize(v));
}

/**
 * Measures one attribute set, recording each value's UTF-8 length (`valueLens`); returns the encoded size of
 * its KeyValue fields.
 */
function measureAttributes(attributes: Attributes): number {
  let size = 0;
  let i = 0;
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    const value: unknown = attributes[key];
    if (typeof value !== 'string') throw new NotPlain();
    const v = utf8Length(value);
    if (values === valueLens.length) valueLens = grown(valueLens, values + 1);
    valueLens[values++] = v;
    size += fieldSize(keyValueSize(keyLength(key, i), v));
    i++;
  }
  return size;
}

/** Writes the attributes `measureAttributes` measured, from value number `at`, as repeated KeyValue field `tag`. */
function writeAttributes(w: ProtobufWriter, attributes: Attributes, tag: number, at: number): number {
  let n = at;
  let i = 0;
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    const k = keyLength(key, i);
    const v = valueLens[n++] ?? 0;
    w.byte(tag);
    w.varint(keyValueSize(k, v));
    w.byte(0x0a);
    w.string(key, k);
    w.byte(0x12);
    w.varint(fieldSize(v));
    w.byte(0x0a);
    w.string(attributes[key] ?? '', v);
    i++;
  }
  return n;
}

/** Size of a string field that is written only when not empty. */
function optionalStringSize(text: string): number {
  return text === '' ? 0 : fieldSize(utf8Length(text));
}

/**
 * The direct writer, in two passes: every length is measured first (value lengths kept for the second pass),
 * then the request is written into one buffer of its exact size, lengths before bodies. One exact buffer matters
 * on the export hot path: a growing one doubles past the batch size (a 6.4 MB request took 12.7 MB).
 */
function writeBatch(batch: MetricBatch, scope: typeof PGOTEL_SCOPE): Uint8Array {
  // The library copies resource attributes into a fresh object, where an own `__proto__` key is lost.
  if (Object.hasOwn(batch.resource, '__proto__')) throw new NotPlain();
  const { families } = batch;
  values = 0;

  // Pass 1: sizes.
  const resourceLen = measureAttributes(batch.resource) + 2; // + dropped_attributes_count
  let points = 0;
  for (const family of families) points += family.points.length;
  pointLens = grown(pointLens, points);
  dataLens = grown(dataLens, families.length);
  const scopeLen =
    fieldSize(utf8Length(scope.name)) + (scope.version === '' ? 0 : fieldSize(utf8Length(scope.version)));
  let scopeMetricsLen = fieldSize(scopeLen);
  let p = 0;
  for (let f = 0; f < families.length; f++) {
    const family = families[f] as MetricFamily;
    let dataLen = family.kind === 'counter' ? 4 : 0;
    for (const point of family.points) {
      const ndp = 27 + measureAttributes(point.attributes);
      pointLens[p++] = ndp;
      dataLen += fieldSize(ndp);
    }
    dataLens[f] = dataLen;
    scopeMetricsLen += fieldSize(metricSize(family, dataLen));
  }
  const resourceMetricsLen = fieldSize(resourceLen) + fieldSize(scopeMetricsLen);
  const total = fieldSize(resourceMetricsLen);

  // Pass 2: the bytes.
  const w = new ProtobufWriter(total);
  const [endLow, endHigh] = hrTimeFixed64(msToHrTime(batch.timeMs));
  let startMs = Number.NaN;
  let startLow = 0;
  let startHigh = 0;
  w.byte(0x0a); // resource_metrics
  w.varint(resourceMetricsLen);
  w.byte(0x0a); // resource
  w.varint(resourceLen);
  let at = writeAttributes(w, batch.resource, 0x0a, 0);
  w.byte(0x10); // dropped_attributes_count
  w.byte(0);
  w.byte(0x12); // scope_metrics
  w.varint(scopeMetricsLen);
  w.byte(0x0a); // scope
  w.varint(scopeLen);
  w.byte(0x0a);
  w.string(scope.name, utf8Length(scope.name));
  if (scope.version !== '') {
    w.byte(0x12);
    w.string(scope.version, utf8Length(scope.version));
  }
  p = 0;
  for (let f = 0; f < families.length; f++) {
    const family = families[f] as MetricFamily;
    const dataLen = dataLens[f] ?? 0;
    w.byte(0x12); // metrics
    w.varint(metricSize(family, dataLen));
    w.byte(0x0a);
    w.string(family.name, utf8Length(family.name));
    if (family.description !== '') {
      w.byte(0x12);
      w.string(family.description, utf8Length(family.description));
    }
    if (family.unit !== '') {
      w.byte(0x1a);
      w.string(family.unit, utf8Length(family.unit));
    }
    const counter = family.kind === 'counter';
    w.byte(counter ? 0x3a : 0x2a); // sum (7) or gauge (5)
    w.varint(dataLen);
    for (const point of family.points) {
      w.byte(0x0a); // data_points
      w.varint(pointLens[p++] ?? 0);
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
      at = writeAttributes(w, point.attributes, 0x3a, at);
    }
    if (counter) {
      w.byte(0x10); // aggregation_temporality: CUMULATIVE
      w.byte(2);
      w.byte(0x18); // is_monotonic
      w.byte(1);
    }
  }
  if (valueLens.length > 1 << 16) valueLens = new Int32Array(4096);
  if (pointLens.length > 1 << 16) pointLens = new Int32Array(1024);
  if (w.pos !== total) throw new Error(`OTLP encoder wrote ${w.pos} bytes, sized ${total}`);
  return w.bytes;
}

/** Body size of one Metric message whose data (Gauge or Sum) body is `dataLen` bytes. */
function metricSize(family: MetricFamily, dataLen: number): number {
  return (
    fieldSize(utf8Length(family.name)) +
    optionalStringSize(family.description) +
    optionalStringSize(family.unit) +
    fieldSize(dataLen)
  );
}
