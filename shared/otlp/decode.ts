/**
 * OTLP `ExportMetricsServiceRequest` protobuf → MetricBatch[], the inverse of `build.ts`.
 *
 * `@opentelemetry/otlp-transformer` only decodes export *responses*, so this is a small hand-written
 * decoder on the shared wire reader (`wire/protobuf.ts`) for the subset pgotel writes: Resource attributes,
 * Gauge and Sum of NumberDataPoint. Every other field is skipped by wire type, so archives written by newer
 * encoders (or the OTel collector) still read.
 *
 * Field numbers follow opentelemetry-proto v1 (metrics.proto, common.proto, resource.proto).
 */
import type { Attributes, MetricBatch, MetricFamily, MetricKind, MetricPoint } from '../model/metrics.ts';
import { ProtobufReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from '../wire/protobuf.ts';

/** Raised for bytes that are not a well-formed protobuf message (truncated, bad lengths, bad wire type). */
export class OtlpDecodeError extends Error {
  override readonly name = 'OtlpDecodeError';
}

/** What the decoder reports instead of failing when it meets data pgotel's model cannot hold. */
export interface DecodeOptions {
  /**
   * Called once per skipped metric (histograms, summaries, delta sums, exponential histograms).
   * @default ignore
   */
  readonly onSkipped?: (metricName: string, reason: string) => void;
}

/** NumberDataPoint flag: no value was recorded (a staleness signal), there is nothing to keep. */
const FLAG_NO_RECORDED_VALUE = 1;

const AGGREGATION_TEMPORALITY_CUMULATIVE = 2;

function otlpError(message: string, pos: number): OtlpDecodeError {
  return new OtlpDecodeError(`invalid OTLP protobuf at byte ${pos}: ${message}`);
}

/** fixed64 Unix nanoseconds → epoch milliseconds, exact for whole milliseconds. */
function nanosAsMs(r: ProtobufReader, end: number): number {
  r.need(8, end);
  const lo = r.view.getUint32(r.pos, true);
  const hi = r.view.getUint32(r.pos + 4, true);
  r.pos += 8;
  // 2^32 ns = 4294 ms + 967296 ns; both partial products stay below 2^53, so whole ms come out exact.
  return hi * 4294 + (hi * 967_296 + lo) / 1e6;
}

interface RawPoint {
  readonly timeMs: number;
  readonly startMs: number;
  readonly value: number;
  readonly attributes: Attributes;
}

interface RawMetric {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  readonly kind: MetricKind;
  readonly points: RawPoint[];
}

/**
 * Decodes an `ExportMetricsServiceRequest`. One MetricBatch per ResourceMetrics and point timestamp
 * (a pgotel object has one timestamp per ResourceMetrics, so that is one batch per ResourceMetrics),
 * in time order. Mapping back: Gauge and non-monotonic Sum → `gauge`; monotonic cumulative Sum →
 * `counter`. Attribute values that are int, bool or double become their string form; arrays, maps and
 * bytes are dropped. A start time equal to the point time (or zero) is left out of `startTimeMs`.
 * A ResourceMetrics without any point carries no timestamp and yields no batch.
 * @throws OtlpDecodeError on malformed bytes
 */
export function decodeExportRequest(bytes: Uint8Array, options: DecodeOptions = {}): MetricBatch[] {
  const r = new ProtobufReader(bytes, otlpError);
  const end = bytes.length;
  const batches: MetricBatch[] = [];
  while (r.pos < end) {
    const tag = r.varint(end);
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const stop = r.delimited(end);
      for (const batch of readResourceMetrics(r, stop, options)) batches.push(batch);
      r.pos = stop;
    } else {
      r.skip(tag & 7, Math.floor(tag / 8), end);
    }
  }
  return batches;
}

function readResourceMetrics(r: ProtobufReader, end: number, options: DecodeOptions): MetricBatch[] {
  let resource: Attributes = {};
  const metrics: RawMetric[] = [];
  while (r.pos < end) {
    const tag = r.varint(end);
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const stop = r.delimited(end);
      resource = readAttributesOf(r, stop, 1);
      r.pos = stop;
    } else if (tag === ((2 << 3) | WIRE_LEN)) {
      const stop = r.delimited(end);
      readScopeMetrics(r, stop, metrics, options);
      r.pos = stop;
    } else {
      r.skip(tag & 7, Math.floor(tag / 8), end);
    }
  }
  return groupByTime(resource, metrics);
}

/** Reads the repeated KeyValue `field` of a message (Resource.attributes is 1). */
function readAttributesOf(r: ProtobufReader, end: number, field: number): Attributes {
  const attributes: Record<string, string> = {};
  const wanted = (field << 3) | WIRE_LEN;
  while (r.pos < end) {
    const tag = r.varint(end);
    if (tag === wanted) {
      const stop = r.delimited(end);
      readKeyValue(r, stop, attributes);
      r.pos = stop;
    } else {
      r.skip(tag & 7, Math.floor(tag / 8), end);
    }
  }
  return attributes;
}

function readKeyValue(r: ProtobufReader, end: number, into: Record<string, string>): void {
  let key: string | undefined;
  let value: string | undefined;
  while (r.pos < end) {
    const tag = r.varint(end);
    if (tag === ((1 << 3) | WIRE_LEN)) {
      key = r.string(end);
    } else if (tag === ((2 << 3) | WIRE_LEN)) {
      const stop = r.delimited(end);
      value = readAnyValue(r, stop);
      r.pos = stop;
    } else {
      r.skip(tag & 7, Math.floor(tag / 8), end);
    }
  }
  if (key !== undefined && value !== undefined) into[key] = value;
}

/** AnyValue → string for the scalar cases; undefined for arrays, maps, bytes and empty values. */
function readAnyValue(r: ProtobufReader, end: number): string | undefined {
  let value: string | undefined;
  while (r.pos < end) {
    const tag = r.varint(end);
    switch (tag) {
      case (1 << 3) | WIRE_LEN:
        value = r.string(end);
        break;
      case (2 << 3) | WIRE_VARINT:
        value = r.varint(end) === 0 ? 'false' : 'true';
        break;
      case (3 << 3) | WIRE_VARINT:
        value = r.varintInt64(end).toString();
        break;
      case (4 << 3) | WIRE_FIXED64:
        value = String(r.double(end));
        break;
      default:
        // array_value, kvlist_value, bytes_value: no faithful string form in a Prometheus-bound label.
        value = undefined;
        r.skip(tag & 7, Math.floor(tag / 8), end);
    }
  }
  return value;
}

function readScopeMetrics(r: ProtobufReader, end: number, into: RawMetric[], options: DecodeOptions): void {
  while (r.pos < end) {
    const tag = r.varint(end);
    if (tag === ((2 << 3) | WIRE_LEN)) {
      const stop = r.delimited(end);
      const metric = readMetric(r, stop, options);
      if (metric !== undefined) into.push(metric);
      r.pos = stop;
    } else {
      r.skip(tag & 7, Math.floor(tag / 8), end);
    }
  }
}

function readMetric(r: ProtobufReader, end: number, options: DecodeOptions): RawMetric | undefined {
  let name = '';
  let description = '';
  let unit = '';
  let kind: MetricKind | undefined;
  let points: RawPoint[] = [];
  let skipped: string | undefined;
  while (r.pos < end) {
    const tag = r.varint(end);
    switch (tag) {
      case (1 << 3) | WIRE_LEN:
        name = r.string(end);
        break;
      case (2 << 3) | WIRE_LEN:
        description = r.string(end);
        break;
      case (3 << 3) | WIRE_LEN:
        unit = r.string(end);
        break;
      case (5 << 3) | WIRE_LEN: {
        const stop = r.delimited(end);
        points = readNumberPoints(r, stop).points;
        kind = 'gauge';
        r.pos = stop;
        break;
      }
      case (7 << 3) | WIRE_LEN: {
        const stop = r.delimited(end);
        const sum = readNumberPoints(r, stop);
        r.pos = stop;
        if (!sum.monotonic) {
          kind = 'gauge';
          points = sum.points;
        } else if (sum.temporality === AGGREGATION_TEMPORALITY_CUMULATIVE) {
          kind = 'counter';
          points = sum.points;
        } else {
          skipped = 'monotonic sum without cumulative temporality';
        }
        break;
      }
      case (9 << 3) | WIRE_LEN:
        skipped = 'histogram';
        r.skip(WIRE_LEN, 9, end);
        break;
      case (10 << 3) | WIRE_LEN:
        skipped = 'exponential histogram';
        r.skip(WIRE_LEN, 10, end);
        break;
      case (11 << 3) | WIRE_LEN:
        skipped = 'summary';
        r.skip(WIRE_LEN, 11, end);
        break;
      default:
        r.skip(tag & 7, Math.floor(tag / 8), end);
    }
  }
  if (kind === undefined) {
    options.onSkipped?.(name, skipped ?? 'no data');
    return undefined;
  }
  return { name, description, unit, kind, points };
}

/** Gauge and Sum share field 1 (data points); Sum adds 2 (temporality) and 3 (is_monotonic). */
function readNumberPoints(
  r: ProtobufReader,
  end: number,
): { points: RawPoint[]; temporality: number; monotonic: boolean } {
  const points: RawPoint[] = [];
  let temporality = 0;
  let monotonic = false;
  while (r.pos < end) {
    const tag = r.varint(end);
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const stop = r.delimited(end);
      const point = readNumberDataPoint(r, stop);
      if (point !== undefined) points.push(point);
      r.pos = stop;
    } else if (tag === ((2 << 3) | WIRE_VARINT)) {
      temporality = r.varint(end);
    } else if (tag === ((3 << 3) | WIRE_VARINT)) {
      monotonic = r.varint(end) !== 0;
    } else {
      r.skip(tag & 7, Math.floor(tag / 8), end);
    }
  }
  return { points, temporality, monotonic };
}

function readNumberDataPoint(r: ProtobufReader, end: number): RawPoint | undefined {
  let startMs = 0;
  let timeMs = 0;
  let value: number | undefined;
  let flags = 0;
  let attributes: Record<string, string> | undefined;
  while (r.pos < end) {
    const tag = r.varint(end);
    switch (tag) {
      case (2 << 3) | WIRE_FIXED64:
        startMs = nanosAsMs(r, end);
        break;
      case (3 << 3) | WIRE_FIXED64:
        timeMs = nanosAsMs(r, end);
        break;
      case (4 << 3) | WIRE_FIXED64:
        value = r.double(end);
        break;
      case (6 << 3) | WIRE_FIXED64:
        value = r.sfixed64(end);
        break;
      case (7 << 3) | WIRE_LEN: {
        const stop = r.delimited(end);
        attributes ??= {};
        readKeyValue(r, stop, attributes);
        r.pos = stop;
        break;
      }
      case (8 << 3) | WIRE_VARINT:
        flags = r.varint(end);
        break;
      default:
        r.skip(tag & 7, Math.floor(tag / 8), end);
    }
  }
  if (value === undefined || (flags & FLAG_NO_RECORDED_VALUE) !== 0) return undefined;
  return { timeMs, startMs, value, attributes: attributes ?? {} };
}

/** Splits one ResourceMetrics into one batch per distinct point time, keeping metric order. */
function groupByTime(resource: Attributes, metrics: readonly RawMetric[]): MetricBatch[] {
  const distinct = new Set<number>();
  for (const metric of metrics) for (const point of metric.points) distinct.add(point.timeMs);
  if (distinct.size === 0) return [];
  const times = [...distinct].sort((a, b) => a - b);
  return times.map((timeMs, i) => {
    const families: MetricFamily[] = [];
    for (const metric of metrics) {
      const points: MetricPoint[] = [];
      for (const p of metric.points) if (p.timeMs === timeMs) points.push(toPoint(p));
      // A metric without points has no time of its own: it travels with the earliest batch.
      if (points.length > 0 || (metric.points.length === 0 && i === 0)) {
        families.push({
          name: metric.name,
          unit: metric.unit,
          description: metric.description,
          kind: metric.kind,
          points,
        });
      }
    }
    return { resource, timeMs, families };
  });
}

function toPoint(p: RawPoint): MetricPoint {
  if (p.startMs === 0 || p.startMs === p.timeMs) return { attributes: p.attributes, value: p.value };
  return { attributes: p.attributes, value: p.value, startTimeMs: p.startMs };
}
