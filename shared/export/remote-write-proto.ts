import { ProtobufWriter, utf8Length, varintSize } from '../wire/protobuf.ts';
import { isStaleNaN, type Label, type TimeSeries } from './remote-write-series.ts';

/**
 * Series → `prompb.WriteRequest` protobuf bytes, split into requests by sample count and size (snappy
 * compression is the I/O shell's job). On the export hot path: every length is measured once, each request is
 * written into one buffer of its exact size, and a label shared with the previous series is copied as bytes.
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
 * Every length of the series of one request, measured once for both splitting and writing. Scratch space
 * reused by every call (encoding is synchronous) and indexed from the request's first series, so it stays
 * the size of one request, not of the whole batch.
 */
const sizing: {
  stringLens: Int32Array;
  labelLens: Int32Array;
  seriesLens: Int32Array;
  labelBase: Int32Array;
} = {
  /** UTF-8 bytes of each label's name and value, two per label, labels of all series in order. */
  stringLens: new Int32Array(4096),
  /** Body length of each Label message. */
  labelLens: new Int32Array(2048),
  /** Body length of each TimeSeries message. */
  seriesLens: new Int32Array(256),
  /** Index of each series' first label in the label arrays. */
  labelBase: new Int32Array(256),
};

/** Drops scratch space a very large request grew, so one big `encodeWriteRequest` does not pin it forever. */
function releaseScratch(): void {
  if (sizing.labelLens.length <= 1 << 16 && sizing.seriesLens.length <= 1 << 14) return;
  sizing.stringLens = new Int32Array(4096);
  sizing.labelLens = new Int32Array(2048);
  sizing.seriesLens = new Int32Array(256);
  sizing.labelBase = new Int32Array(256);
}

function grown(array: Int32Array, needed: number): Int32Array {
  if (needed <= array.length) return array;
  let size = array.length * 2;
  while (size < needed) size *= 2;
  const next = new Int32Array(size);
  next.set(array);
  return next;
}

const NO_LABELS: readonly Label[] = [];

/**
 * Measures `series` as entry `k` of the current request, its labels from index `li`; `prev` is the previous
 * entry's labels (from `prevBase`), whose shared label objects are not measured again. Returns the entry size.
 */
function measureOne(
  series: TimeSeries,
  k: number,
  li: number,
  prev: readonly Label[],
  prevBase: number,
): number {
  const labels = series.labels;
  const count = labels.length;
  if (li + count > sizing.labelLens.length) {
    sizing.labelLens = grown(sizing.labelLens, li + count);
    sizing.stringLens = grown(sizing.stringLens, 2 * (li + count));
  }
  if (k >= sizing.seriesLens.length) {
    sizing.seriesLens = grown(sizing.seriesLens, k + 1);
    sizing.labelBase = grown(sizing.labelBase, k + 1);
  }
  const { stringLens, labelLens } = sizing;
  sizing.labelBase[k] = li;
  let body = 0;
  for (let j = 0; j < count; j++) {
    const label = labels[j] as Label;
    let labelLen: number;
    const at = li + j;
    if (prev[j] === label) {
      // Series of one batch share label objects (resource labels, repeated values): measure each once. `write`
      // copies such a label from the previous series' bytes, so its string lengths are not needed again.
      labelLen = labelLens[prevBase + j] ?? 0;
    } else {
      const n = utf8Length(label.name);
      const v = utf8Length(label.value);
      stringLens[2 * at] = n;
      stringLens[2 * at + 1] = v;
      labelLen = 1 + varintSize(n) + n + 1 + varintSize(v) + v;
    }
    labelLens[at] = labelLen;
    body += 1 + varintSize(labelLen) + labelLen;
  }
  for (const sample of series.samples) {
    const len = sampleSize(timestampOf(sample));
    body += 1 + varintSize(len) + len;
  }
  sizing.seriesLens[k] = body;
  return 1 + varintSize(body) + body;
}

// Where each label of the previous series starts in the output, to copy shared labels instead of re-encoding.
let prevStarts: number[] = [];
let starts: number[] = [];

/** Writes series `from` to `to` (exclusive), measured as entries 0.. of `sizing`, as one WriteRequest of `total` bytes. */
function write(series: readonly TimeSeries[], from: number, to: number, total: number): Uint8Array {
  const { stringLens, labelLens, seriesLens, labelBase } = sizing;
  const w = new ProtobufWriter(total);
  const buf = w.bytes; // sized exactly: never replaced by growth
  let prev: readonly Label[] = NO_LABELS;
  prevStarts.length = 0;
  starts.length = 0;
  for (let si = from; si < to; si++) {
    const s = series[si] as TimeSeries;
    const labels = s.labels;
    let li = labelBase[si - from] ?? 0;
    buf[w.pos++] = TAG_1_LEN;
    w.varint(seriesLens[si - from] ?? 0);
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
          li += k - j;
          j = k;
          continue;
        }
      }
      starts[j] = w.pos;
      buf[w.pos++] = TAG_1_LEN;
      w.varint(labelLens[li] ?? 0);
      buf[w.pos++] = TAG_1_LEN;
      w.string(label.name, stringLens[2 * li] ?? 0);
      buf[w.pos++] = TAG_2_LEN;
      w.string(label.value, stringLens[2 * li + 1] ?? 0);
      li++;
      j++;
    }
    starts[labels.length] = w.pos;
    for (const sample of s.samples) {
      const ts = timestampOf(sample);
      buf[w.pos++] = TAG_2_LEN;
      w.varint(sampleSize(ts));
      buf[w.pos++] = TAG_1_FIXED64;
      writeValue(w, sample.value);
      buf[w.pos++] = TAG_2_VARINT;
      w.int64(ts);
    }
    prev = labels;
    const swap = prevStarts;
    prevStarts = starts;
    starts = swap;
    starts.length = 0;
  }
  if (w.pos !== total) throw new Error(`remote-write encoder wrote ${w.pos} bytes, sized ${total}`);
  return w.finish();
}

/**
 * Encodes a `prompb.WriteRequest` (uncompressed). Every field is written, zeros included.
 * NaN values are written as Prometheus's normal NaN (`0x7ff8000000000001`) unless they are
 * stale markers (`staleNaN()`), which keep `0x7ff0000000000002`. Timestamps are truncated to integers.
 */
export function encodeWriteRequest(series: readonly TimeSeries[]): Uint8Array {
  let total = 0;
  let li = 0;
  let prev: readonly Label[] = NO_LABELS;
  let prevBase = 0;
  for (let si = 0; si < series.length; si++) {
    const s = series[si] as TimeSeries;
    total += measureOne(s, si, li, prev, prevBase);
    prev = s.labels;
    prevBase = li;
    li += s.labels.length;
  }
  const bytes = write(series, 0, series.length, total);
  releaseScratch();
  return bytes;
}

/** One encoded request of `encodeRequests`. */
export interface EncodedRequest {
  /** Uncompressed `WriteRequest` bytes. */
  readonly body: Uint8Array;
  readonly series: number;
  readonly samples: number;
}

/**
 * `splitRequests` and `encodeWriteRequest` in one pass over the label strings: what the sender uses.
 * Each request is measured and written before the next is measured. Falls back to `splitRequests`
 * when a series has to be cut.
 */
export function encodeRequests(series: readonly TimeSeries[], limits: SplitLimits): EncodedRequest[] {
  const maxSamples = Math.max(1, Math.floor(limits.maxSamples));
  const maxBytes = Math.max(1, Math.floor(limits.maxBytes));
  const out: EncodedRequest[] = [];
  let from = 0;
  let bytes = 0;
  let samples = 0;
  let li = 0;
  let prev: readonly Label[] = NO_LABELS;
  let prevBase = 0;
  for (let si = 0; si < series.length; si++) {
    const s = series[si] as TimeSeries;
    let size = measureOne(s, si - from, li, prev, prevBase);
    const count = s.samples.length;
    if (count > maxSamples || size > maxBytes) {
      return splitRequests(series, limits).map((request) => ({
        body: encodeWriteRequest(request),
        series: request.length,
        samples: request.reduce((n, x) => n + x.samples.length, 0),
      }));
    }
    if (si > from && (samples + count > maxSamples || bytes + size > maxBytes)) {
      out.push({ body: write(series, from, si, bytes), series: si - from, samples });
      from = si;
      bytes = 0;
      samples = 0;
      li = 0;
      size = measureOne(s, 0, 0, NO_LABELS, 0); // again, as the first entry of the next request
    }
    prev = s.labels;
    prevBase = li;
    li += s.labels.length;
    bytes += size;
    samples += count;
  }
  if (series.length > from)
    out.push({ body: write(series, from, series.length, bytes), series: series.length - from, samples });
  releaseScratch();
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
    if (s.samples.length <= maxSamples && size <= maxBytes) {
      add(s, size);
      continue;
    }
    // Cut: as many samples per piece as both limits allow.
    const labelsOnly = seriesBodySize({ labels: s.labels, samples: [] });
    let piece: Array<{ value: number; timestampMs: number }> = [];
    let pieceBody = labelsOnly;
    for (const sample of s.samples) {
      const len = sampleSize(timestampOf(sample));
      const sampleBytes = 1 + varintSize(len) + len;
      const nextBody = pieceBody + sampleBytes;
      if (
        piece.length > 0 &&
        (piece.length >= maxSamples || 1 + varintSize(nextBody) + nextBody > maxBytes)
      ) {
        add({ labels: s.labels, samples: piece }, 1 + varintSize(pieceBody) + pieceBody);
        piece = [];
        pieceBody = labelsOnly;
      }
      piece.push(sample);
      pieceBody += sampleBytes;
    }
    if (piece.length > 0) add({ labels: s.labels, samples: piece }, 1 + varintSize(pieceBody) + pieceBody);
  }
  flush();
  return requests;
}
