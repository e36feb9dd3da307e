import { grown, ProtobufWriter, utf8Length, varintSize } from '../wire/protobuf.ts';
import { isStaleNaN, type Label, type TimeSeries } from './remote-write-series.ts';

/**
 * Series → `prompb.WriteRequest` protobuf bytes, split into requests by sample count and size (snappy
 * compression is the I/O shell's job). On the export hot path: every length is measured once, every request is
 * written into one reused buffer, and a label shared with the previous series is copied as bytes.
 *
 *   WriteRequest { repeated TimeSeries timeseries = 1; }
 *   TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
 *   Label { string name = 1; string value = 2; }   Sample { double value = 1; int64 timestamp = 2; }
 */

const TAG_1_LEN = 0x0a; // field 1, wire type 2
const TAG_2_LEN = 0x12; // field 2, wire type 2
const TAG_1_FIXED64 = 0x09; // field 1, wire type 1
const TAG_2_VARINT = 0x10; // field 2, wire type 0

/** Integer milliseconds; protobuf int64 cannot carry a fraction. */
function timestampOf(sample: { timestampMs: number }): number {
  return Math.trunc(sample.timestampMs);
}

function sampleSize(timestampMs: number): number {
  return 1 + 8 + 1 + varintSize(timestampMs);
}

/**
 * A sample value. NaN is written as Prometheus's normal NaN (`0x7ff8000000000001`), unless it is a stale
 * marker, which keeps its payload (`STALE_NAN_BITS`): a data NaN must never end a series.
 */
function writeValue(w: ProtobufWriter, value: number): void {
  if (!Number.isNaN(value)) w.double(value);
  else if (isStaleNaN(value)) w.fixed64(2, 0x7ff00000);
  else w.fixed64(1, 0x7ff80000);
}

/** Encoded size of one `TimeSeries` message body (without its tag and length prefix). */
function seriesBodySize(series: TimeSeries): number {
  let size = 0;
  for (const label of series.labels) {
    const n = utf8Length(label.name);
    const v = utf8Length(label.value);
    const labelLen = 1 + varintSize(n) + n + 1 + varintSize(v) + v;
    size += 1 + varintSize(labelLen) + labelLen;
  }
  for (const sample of series.samples) {
    const len = sampleSize(timestampOf(sample));
    size += 1 + varintSize(len) + len;
  }
  return size;
}

/** Encoded size of one series inside a `WriteRequest` (tag + length + body). */
function encodedSeriesSize(series: TimeSeries): number {
  const body = seriesBodySize(series);
  return 1 + varintSize(body) + body;
}

/**
 * Writes series, one after the other, into one growing buffer: the request being filled. Each series is measured
 * (`measure`) before it is written (`write`), so the caller can decide first whether it still fits the request;
 * a label object shared with the previous series is neither measured nor encoded again, but copied as bytes.
 */
class SeriesWriter {
  private w: ProtobufWriter;
  /** UTF-8 bytes of the name and value of each label of the measured series, two per label. */
  private stringLens: Int32Array = new Int32Array(64);
  /** Body length of each Label message of the measured series, and of the previous series. */
  private labelLens: Int32Array = new Int32Array(32);
  private prevLabelLens: Int32Array = new Int32Array(32);
  /** Body length of the measured series' TimeSeries message. */
  private body = 0;
  /** The previous series' labels, and where each starts in the buffer (one more: where its samples start). */
  private prev: readonly Label[] = NO_LABELS;
  private prevStarts: number[] = [];
  private starts: number[] = [];

  constructor(capacity: number) {
    this.w = new ProtobufWriter(capacity);
  }

  /** Bytes written since the last `reset`. */
  get size(): number {
    return this.w.pos;
  }

  /** The request written since the last `reset`: a view of the buffer, valid until the next `write` or `reset`. */
  bytes(): Uint8Array {
    return this.w.bytes.subarray(0, this.w.pos);
  }

  /** Starts a new request: the next series is written at the start, and shares nothing with an earlier one. */
  reset(): void {
    this.w.pos = 0;
    this.prev = NO_LABELS;
  }

  /** The encoded size of `series` written next (tag + length + body); remembered for `write`. */
  measure(series: TimeSeries): number {
    const labels = series.labels;
    const count = labels.length;
    if (count > this.labelLens.length) {
      this.labelLens = grown(this.labelLens, count);
      this.prevLabelLens = grown(this.prevLabelLens, count);
      this.stringLens = grown(this.stringLens, 2 * count);
    }
    const { stringLens, labelLens, prevLabelLens, prev } = this;
    let body = 0;
    for (let j = 0; j < count; j++) {
      const label = labels[j] as Label;
      let labelLen: number;
      if (prev[j] === label) {
        // Series of one batch share label objects (resource labels, repeated values): measure each once. `write`
        // copies such a label from the previous series' bytes, so its string lengths are not needed again.
        labelLen = prevLabelLens[j] ?? 0;
      } else {
        const n = utf8Length(label.name);
        const v = utf8Length(label.value);
        stringLens[2 * j] = n;
        stringLens[2 * j + 1] = v;
        labelLen = 1 + varintSize(n) + n + 1 + varintSize(v) + v;
      }
      labelLens[j] = labelLen;
      body += 1 + varintSize(labelLen) + labelLen;
    }
    for (const sample of series.samples) {
      const len = sampleSize(timestampOf(sample));
      body += 1 + varintSize(len) + len;
    }
    this.body = body;
    return 1 + varintSize(body) + body;
  }

  /** Appends `series`, which the last `measure` call measured at `size` bytes. */
  write(series: TimeSeries, size: number): void {
    this.w.ensure(size);
    const w = this.w;
    const buf = w.bytes;
    const end = w.pos + size;
    const { stringLens, labelLens, prev, prevStarts, starts } = this;
    const labels = series.labels;
    buf[w.pos++] = TAG_1_LEN;
    w.varint(this.body);
    let j = 0;
    while (j < labels.length) {
      const label = labels[j] as Label;
      if (prev[j] === label) {
        // A run of labels identical to the previous series': one memcpy.
        const runStart = prevStarts[j] ?? 0;
        let k = j;
        while (k < labels.length && prev[k] === labels[k] && prevStarts[k + 1] !== undefined) {
          starts[k] = w.pos + ((prevStarts[k] ?? 0) - runStart);
          k++;
        }
        if (k > j) {
          const runEnd = prevStarts[k] ?? 0;
          buf.copyWithin(w.pos, runStart, runEnd);
          w.pos += runEnd - runStart;
          j = k;
          continue;
        }
      }
      starts[j] = w.pos;
      buf[w.pos++] = TAG_1_LEN;
      w.varint(labelLens[j] ?? 0);
      buf[w.pos++] = TAG_1_LEN;
      w.string(label.name, stringLens[2 * j] ?? 0);
      buf[w.pos++] = TAG_2_LEN;
      w.string(label.value, stringLens[2 * j + 1] ?? 0);
      j++;
    }
    starts[labels.length] = w.pos;
    for (const sample of series.samples) {
      const ts = timestampOf(sample);
      buf[w.pos++] = TAG_2_LEN;
      w.varint(sampleSize(ts));
      buf[w.pos++] = TAG_1_FIXED64;
      writeValue(w, sample.value);
      buf[w.pos++] = TAG_2_VARINT;
      w.int64(ts);
    }
    if (w.pos !== end)
      throw new Error(`remote-write encoder wrote ${w.pos - end + size} bytes, sized ${size}`);
    this.prev = labels;
    this.prevStarts = starts;
    this.starts = prevStarts;
    this.starts.length = 0;
    const swap = this.prevLabelLens;
    this.prevLabelLens = labelLens;
    this.labelLens = swap;
  }
}

const NO_LABELS: readonly Label[] = [];

/**
 * Encodes a `prompb.WriteRequest` (uncompressed). Every field is written, zeros included.
 * NaN values are written as Prometheus's normal NaN (`0x7ff8000000000001`) unless they are
 * stale markers (`staleNaN()`), which keep `0x7ff0000000000002`. Timestamps are truncated to integers.
 */
export function encodeWriteRequest(series: readonly TimeSeries[]): Uint8Array {
  const writer = new SeriesWriter(1024);
  for (const s of series) writer.write(s, writer.measure(s));
  return writer.bytes().slice();
}

/** One encoded request of `encodeRequests`. */
export interface EncodedRequest {
  /** Uncompressed `WriteRequest` bytes. */
  readonly body: Uint8Array;
  readonly series: number;
  readonly samples: number;
}

/** Bytes the request buffer starts with; it doubles up to what the largest request needs. */
const INITIAL_REQUEST_BYTES = 16_384;

/**
 * `splitRequests` and `encodeWriteRequest` over a stream of series: `add` series in order, then `finish`; each
 * request is handed to `onRequest` as soon as it is full. A series is written as soon as it is added, so the
 * encoder holds no series, only the request being filled, and a run never holds all its series, nor all its
 * encoded requests, at once. The requests are exactly those of `encodeWriteRequest(r)` for each `r` of
 * `splitRequests(series)`.
 *
 * Every request is written into the one buffer the encoder keeps, so a request's `body` is valid only until
 * `onRequest` returns: compress it there, or copy it.
 */
export class RequestEncoder {
  private readonly maxSamples: number;
  private readonly maxBytes: number;
  private readonly writer = new SeriesWriter(INITIAL_REQUEST_BYTES);
  /** Series and samples in the request being filled. */
  private series = 0;
  private samples = 0;

  constructor(
    limits: SplitLimits,
    private readonly onRequest: (request: EncodedRequest) => void,
  ) {
    this.maxSamples = Math.max(1, Math.floor(limits.maxSamples));
    this.maxBytes = Math.max(1, Math.floor(limits.maxBytes));
  }

  /** Appends one series; one that does not fit a request alone is cut as `splitRequests` cuts it. */
  add(series: TimeSeries): void {
    const size = this.writer.measure(series);
    if (series.samples.length <= this.maxSamples && size <= this.maxBytes) {
      this.append(series, size);
      return;
    }
    for (const piece of cut(series, this.maxSamples, this.maxBytes))
      this.append(piece, this.writer.measure(piece));
  }

  /** Hands over the last request, if any series are pending. */
  finish(): void {
    if (this.series > 0) this.flush();
  }

  /** Appends a series just measured at `size` bytes, first handing over the request if it is full. */
  private append(series: TimeSeries, measured: number): void {
    const count = series.samples.length;
    let size = measured;
    if (
      this.series > 0 &&
      (this.samples + count > this.maxSamples || this.writer.size + size > this.maxBytes)
    ) {
      this.flush();
      size = this.writer.measure(series); // again, as the first of the next request: nothing to copy from
    }
    this.writer.write(series, size);
    this.series++;
    this.samples += count;
  }

  private flush(): void {
    this.onRequest({ body: this.writer.bytes(), series: this.series, samples: this.samples });
    this.writer.reset();
    this.series = 0;
    this.samples = 0;
  }
}

/**
 * `splitRequests` and `encodeWriteRequest` in one pass over the label strings: each series is measured once
 * and written at once.
 */
export function encodeRequests(series: Iterable<TimeSeries>, limits: SplitLimits): EncodedRequest[] {
  const out: EncodedRequest[] = [];
  const encoder = new RequestEncoder(limits, (request) =>
    out.push({ ...request, body: request.body.slice() }),
  );
  for (const s of series) encoder.add(s);
  encoder.finish();
  return out;
}

/** Per-request limits of `splitRequests`. */
export interface SplitLimits {
  /** Most samples per request. */
  readonly maxSamples: number;
  /** Most encoded (uncompressed) bytes per request. */
  readonly maxBytes: number;
}

/**
 * Splits series into requests of at most `maxSamples` samples and `maxBytes` encoded bytes.
 * A series with more samples than fit is cut into several series with the same labels. A single
 * series-with-one-sample larger than `maxBytes` cannot be cut and goes alone in its request.
 */
export function splitRequests(series: readonly TimeSeries[], limits: SplitLimits): TimeSeries[][] {
  const maxSamples = Math.max(1, Math.floor(limits.maxSamples));
  const maxBytes = Math.max(1, Math.floor(limits.maxBytes));
  const requests: TimeSeries[][] = [];
  let current: TimeSeries[] = [];
  let samples = 0;
  let bytes = 0;
  const flush = (): void => {
    if (current.length > 0) requests.push(current);
    current = [];
    samples = 0;
    bytes = 0;
  };
  const add = (s: TimeSeries, size: number): void => {
    if (current.length > 0 && (samples + s.samples.length > maxSamples || bytes + size > maxBytes)) flush();
    current.push(s);
    samples += s.samples.length;
    bytes += size;
  };

  for (const s of series) {
    const size = encodedSeriesSize(s);
    if (s.samples.length <= maxSamples && size <= maxBytes) add(s, size);
    else for (const piece of cut(s, maxSamples, maxBytes)) add(piece, encodedSeriesSize(piece));
  }
  flush();
  return requests;
}

/**
 * A series with more samples or bytes than a request holds, as pieces with the same labels: as many samples per
 * piece as both limits allow. A piece of one sample may still exceed `maxBytes`: it goes alone in its request.
 */
function cut(series: TimeSeries, maxSamples: number, maxBytes: number): TimeSeries[] {
  const pieces: TimeSeries[] = [];
  const labelsOnly = seriesBodySize({ labels: series.labels, samples: [] });
  let piece: Array<{ value: number; timestampMs: number }> = [];
  let pieceBody = labelsOnly;
  for (const sample of series.samples) {
    const len = sampleSize(timestampOf(sample));
    const sampleBytes = 1 + varintSize(len) + len;
    const nextBody = pieceBody + sampleBytes;
    if (piece.length > 0 && (piece.length >= maxSamples || 1 + varintSize(nextBody) + nextBody > maxBytes)) {
      pieces.push({ labels: series.labels, samples: piece });
      piece = [];
      pieceBody = labelsOnly;
    }
    piece.push(sample);
    pieceBody += sampleBytes;
  }
  if (piece.length > 0) pieces.push({ labels: series.labels, samples: piece });
  return pieces;
}
