/**
 * OTLP `ExportMetricsServiceRequest` protobuf → MetricBatch[], the inverse of `build.ts`.
 *
 * `@opentelemetry/otlp-transformer` only decodes export *responses*, so this is a small hand-written
 * reader for the subset pgotel writes: Resource attributes, Gauge and Sum of NumberDataPoint. Every other
 * field is skipped by wire type, so archives written by newer encoders (or the OTel collector) still read.
 *
 * Field numbers follow opentelemetry-proto v1 (metrics.proto, common.proto, resource.proto).
 */
import type { Attributes, MetricBatch, MetricFamily, MetricKind, MetricPoint } from '../model/metrics.ts';

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

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_FIXED32 = 5;

/** NumberDataPoint flag: no value was recorded (a staleness signal), there is nothing to keep. */
const FLAG_NO_RECORDED_VALUE = 1;

const AGGREGATION_TEMPORALITY_CUMULATIVE = 2;

const utf8 = new TextDecoder('utf-8');

/** A cursor over one protobuf buffer. Sub-messages are read in place between `pos` and an end offset. */
class Reader {
  pos = 0;
  private readonly view: DataView;

  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** A varint as a JS number; exact up to 2^53, which covers tags, lengths, enums and bools. */
  varint(end: number): number {
    let b = this.byte(end);
    if (b < 0x80) return b;
    let result = b & 0x7f;
    let factor = 0x80;
    for (let i = 1; i < 10; i++) {
      b = this.byte(end);
      result += (b & 0x7f) * factor;
      if (b < 0x80) return result;
      factor *= 0x80;
    }
    throw this.error('varint longer than 10 bytes');
  }

  /** A varint as a signed 64-bit integer, exactly. */
  varintInt64(end: number): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.byte(end);
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asIntN(64, result);
      shift += 7n;
    }
    throw this.error('varint longer than 10 bytes');
  }

  double(end: number): number {
    this.need(8, end);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** sfixed64 as a JS number (exact up to 2^53). */
  sfixed64(end: number): number {
    this.need(8, end);
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getInt32(this.pos + 4, true);
    this.pos += 8;
    return hi * 0x1_0000_0000 + lo;
  }

  /** fixed64 Unix nanoseconds → epoch milliseconds, exact for whole milliseconds. */
  nanosAsMs(end: number): number {
    this.need(8, end);
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    // 2^32 ns = 4294 ms + 967296 ns; both partial products stay below 2^53, so whole ms come out exact.
    return hi * 4294 + (hi * 967_296 + lo) / 1e6;
  }

  /** Reads a length prefix and returns the end offset of the delimited bytes. */
  delimited(end: number): number {
    const len = this.varint(end);
    const stop = this.pos + len;
    if (stop > end) throw this.error(`length ${len} overruns its message`);
    return stop;
  }

  string(end: number): string {
    const stop = this.delimited(end);
    const s = utf8.decode(this.buf.subarray(this.pos, stop));
    this.pos = stop;
    return s;
  }

  /** Skips one field's value of any wire type, including (deprecated) groups. */
  skip(wireType: number, field: number, end: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint(end);
        return;
      case WIRE_FIXED64:
        this.need(8, end);
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.delimited(end);
        return;
      case WIRE_FIXED32:
        this.need(4, end);
        this.pos += 4;
        return;
      case WIRE_START_GROUP:
        for (;;) {
          const tag = this.varint(end);
          const innerWire = tag & 7;
          const innerField = Math.floor(tag / 8);
          if (innerWire === WIRE_END_GROUP) {
            if (innerField !== field) throw this.error(`group ${field} closed by end-group ${innerField}`);
            return;
          }
          this.skip(innerWire, innerField, end);
        }
      default:
        throw this.error(`unexpected wire type ${wireType} for field ${field}`);
    }
  }

  private byte(end: number): number {
    if (this.pos >= end) throw this.error('truncated varint');
    return this.buf[this.pos++] ?? 0;
  }

  private need(n: number, end: number): void {
    if (this.pos + n > end) throw this.error(`truncated: ${n} bytes needed`);
  }

  error(message: string): OtlpDecodeError {
    return new OtlpDecodeError(`invalid OTLP protobuf at byte ${this.pos}: ${message}`);
  }
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
  const r = new Reader(bytes);
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

function readResourceMetrics(r: Reader, end: number, options: DecodeOptions): MetricBatch[] {
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
function readAttributesOf(r: Reader, end: number, field: number): Attributes {
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

function readKeyValue(r: Reader, end: number, into: Record<string, string>): void {
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
function readAnyValue(r: Reader, end: number): string | undefined {
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

function readScopeMetrics(r: Reader, end: number, into: RawMetric[], options: DecodeOptions): void {
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

function readMetric(r: Reader, end: number, options: DecodeOptions): RawMetric | undefined {
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
  r: Reader,
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

function readNumberDataPoint(r: Reader, end: number): RawPoint | undefined {
  let startMs = 0;
  let timeMs = 0;
  let value: number | undefined;
  let flags = 0;
  let attributes: Record<string, string> | undefined;
  while (r.pos < end) {
    const tag = r.varint(end);
    switch (tag) {
      case (2 << 3) | WIRE_FIXED64:
        startMs = r.nanosAsMs(end);
        break;
      case (3 << 3) | WIRE_FIXED64:
        timeMs = r.nanosAsMs(end);
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
