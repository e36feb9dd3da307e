import type { Attributes, MetricBatch, MetricFamily } from '../model/metrics.ts';
import { InvalidMetricNameError, prometheusMetricName, sanitizeLabelName } from './prom-names.ts';

/**
 * Pure Prometheus remote-write 1.0 encoding: `MetricBatch` → label-normalised series →
 * `prompb.WriteRequest` protobuf bytes (snappy compression is the I/O shell's job).
 * This is on the export hot path; the writer sizes everything first and fills one buffer.
 */

/** One Prometheus label. */
export interface Label {
  readonly name: string;
  readonly value: string;
}

/** One value at one time (epoch ms). */
export interface Sample {
  readonly value: number;
  readonly timestampMs: number;
}

/**
 * One series of a `WriteRequest`. `toTimeSeries` shares label objects between series of a batch,
 * so treat them as immutable.
 */
export interface TimeSeries {
  labels: Array<{ name: string; value: string }>;
  samples: Array<{ value: number; timestampMs: number }>;
}

/** Bit pattern Prometheus uses as the staleness marker (`value.StaleNaN`). */
export const STALE_NAN_BITS = 0x7ff0000000000002n;

/** Bit pattern ordinary NaN values are written with (Prometheus `value.NormalNaN`), never the stale one. */
export const NORMAL_NAN_BITS = 0x7ff8000000000001n;

const scratch = new DataView(new ArrayBuffer(8));

/**
 * A NaN carrying the stale-marker payload. V8 may set the quiet bit when the number is copied
 * into a double array, so `isStaleNaN` and the encoder recognise the payload with or without it.
 */
export function staleNaN(): number {
  scratch.setBigUint64(0, STALE_NAN_BITS, true);
  return scratch.getFloat64(0, true);
}

/** `true` when `value` is a stale marker (a NaN with payload 2, quiet bit ignored). */
export function isStaleNaN(value: number): boolean {
  if (!Number.isNaN(value)) return false;
  scratch.setFloat64(0, value, true);
  return scratch.getUint32(0, true) === 2 && (scratch.getUint32(4, true) & 0x7ff7ffff) === 0x7ff00000;
}

/** Options of `toTimeSeries`. */
export interface ToTimeSeriesOptions {
  /**
   * Called for what could not be exported as is: a family whose name has no letter or digit
   * (skipped), or a point whose final label set repeats an earlier one (the first one is kept,
   * because two samples of one series at one timestamp make Prometheus reject the whole request).
   */
  readonly onDrop?: (reason: 'invalid-name' | 'duplicate-series', family: MetricFamily) => void;
}

/** The series of one metric family, as built by `toTimeSeriesByFamily`. */
export interface FamilySeries {
  readonly family: MetricFamily;
  /** Prometheus metric name (`__name__`). */
  readonly name: string;
  readonly series: TimeSeries[];
}

/** Byte-order comparison, the order Prometheus requires for label names. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const sanitizedKeys: string[] = [];
const sanitizedNames: string[] = [];

/**
 * Sanitises and merges one level of attributes (resource or point) into `names`/`values` (reused
 * scratch arrays), sorted by name; returns how many. Two keys that sanitise to one name have their
 * values joined with `;` in byte order of the original keys (what the OTel collector does), so the
 * result never depends on object insertion order. Empty values and keys that sanitise to nothing
 * are dropped.
 */
function normaliseLevel(attributes: Attributes, names: string[], values: string[], keys: string[]): number {
  let n = 0;
  let k = 0;
  for (const key of Object.keys(attributes)) {
    const value = attributes[key];
    // Points of a family usually repeat the previous point's keys: sanitise each distinct key once.
    let name: string;
    if (sanitizedKeys[k] === key) {
      name = sanitizedNames[k] ?? '';
    } else {
      name = sanitizeLabelName(key);
      sanitizedKeys[k] = key;
      sanitizedNames[k] = name;
    }
    k++;
    if (typeof value !== 'string' || value === '') continue;
    if (name === '') continue;
    // Insertion sort by (name, key): a level holds a handful of attributes.
    let i = n;
    for (; i > 0; i--) {
      const before = names[i - 1] ?? '';
      if (before < name || (before === name && (keys[i - 1] ?? '') < key)) break;
      names[i] = before;
      values[i] = values[i - 1] ?? '';
      keys[i] = keys[i - 1] ?? '';
    }
    names[i] = name;
    values[i] = value;
    keys[i] = key;
    n++;
  }
  let w = 0;
  for (let r = 0; r < n; r++) {
    const name = names[r] ?? '';
    if (w > 0 && names[w - 1] === name) {
      values[w - 1] = `${values[w - 1] ?? ''};${values[r] ?? ''}`;
    } else {
      names[w] = name;
      values[w] = values[r] ?? '';
      w++;
    }
  }
  return w;
}

/**
 * Resource labels of a batch: every resource attribute (sanitised), plus `job` (`service.name`, or
 * `service.namespace/service.name`) and `instance` (`service.instance.id`), which replace resource
 * attributes that sanitise to `job` or `instance`.
 */
function resourceLabels(resource: Attributes): Label[] {
  const names: string[] = [];
  const values: string[] = [];
  const count = normaliseLevel(resource, names, values, []);
  const byName = new Map<string, string>();
  for (let i = 0; i < count; i++) byName.set(names[i] ?? '', values[i] ?? '');
  const service = resource['service.name'] ?? '';
  const namespace = resource['service.namespace'] ?? '';
  const job = namespace !== '' && service !== '' ? `${namespace}/${service}` : service;
  if (job !== '') byName.set('job', job);
  const instance = resource['service.instance.id'] ?? '';
  if (instance !== '') byName.set('instance', instance);
  return [...byName.entries()]
    .sort((a, b) => compareNames(a[0], b[0]))
    .map(([name, value]) => ({ name, value }));
}

/**
 * Builds the remote-write series of a batch, grouped by family (prom-text needs the grouping).
 *
 * Label rules, all guaranteed for every series returned:
 * - `__name__` is present and is the family's Prometheus name (`prometheusMetricName`);
 * - every other name is a valid label name outside the reserved `__` namespace (`sanitizeLabelName`);
 * - names are unique and sorted in byte order; no value is empty (an empty attribute is dropped);
 * - precedence when names collide: point attribute > `job`/`instance` > resource attribute;
 *   within one level, values of keys that sanitise to one name are joined with `;` in key order;
 * - label sets are unique across the batch (see `ToTimeSeriesOptions.onDrop`).
 */
export function toTimeSeriesByFamily(batch: MetricBatch, options: ToTimeSeriesOptions = {}): FamilySeries[] {
  const all: TimeSeries[] = [];
  const groups: FamilySeries[] = [];
  buildSeries(batch, options, all, (family, name, start, end) => {
    groups.push({ family, name, series: all.slice(start, end) });
  });
  return groups;
}

/** All remote-write series of a batch, in family order; see `toTimeSeriesByFamily` for the label rules. */
export function toTimeSeries(batch: MetricBatch, options: ToTimeSeriesOptions = {}): TimeSeries[] {
  const out: TimeSeries[] = [];
  buildSeries(batch, options, out);
  return out;
}

/**
 * `toTimeSeries` plus the identity key of every series: `keys[i]` is exactly `seriesKey(series[i].labels)`
 * (staleness.ts), built from per-label pieces made once per batch, family or distinct value instead of once
 * per series.
 */
export function toTimeSeriesWithKeys(
  batch: MetricBatch,
  options: ToTimeSeriesOptions = {},
): { series: TimeSeries[]; keys: string[] } {
  const series: TimeSeries[] = [];
  const keys: string[] = [];
  buildSeries(batch, options, series, undefined, keys);
  return { series, keys };
}

// Point-level scratch space, reused for every point (the builder is synchronous).
const pointNames: string[] = [];
const pointValues: string[] = [];
const pointKeys: string[] = [];
const labelScratch: Label[] = [];
const fragScratch: string[] = [];

/**
 * `JSON.stringify` of one string, without its cost for the usual label text (printable ASCII
 * without `"` or `\`), which needs no escaping. The result is always exactly `JSON.stringify(text)`.
 */
export function jsonString(text: string): string {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) return JSON.stringify(text);
  }
  return `"${text}"`;
}

/** The part of a series key (`seriesKey`) one label contributes: `"name","value"`. */
export function labelKeyPart(name: string, value: string): string {
  return `${jsonString(name)},${jsonString(value)}`;
}

/** FNV-1a over a label's name and value: input to the de-duplication table, never persisted. */
function hashLabel(name: string, value: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 0x10000, 0x01000193); // no UTF-16 unit is 0x10000: the boundary cannot be faked
  for (let i = 0; i < value.length; i++) h = Math.imul(h ^ value.charCodeAt(i), 0x01000193);
  return h;
}

function mix(hash: number, h: number): number {
  const x = Math.imul(hash ^ h, 0x9e3779b1);
  return (x << 13) | (x >>> 19);
}

function sameLabels(a: readonly Label[], b: readonly Label[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Label;
    const y = b[i] as Label;
    if (x !== y && (x.name !== y.name || x.value !== y.value)) return false;
  }
  return true;
}

/**
 * The label sets seen so far in a batch: an open-addressing table of series indices keyed by a hash of the
 * labels, every hit confirmed by comparing the labels, so no identity string is built per point.
 */
class SeriesSet {
  private readonly slots: Int32Array;
  private readonly hashes: Int32Array;
  private readonly mask: number;

  constructor(capacity: number) {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.slots = new Int32Array(size);
    this.hashes = new Int32Array(size);
    this.mask = size - 1;
  }

  /** Records `labels` as series `index` of `series` unless an equal label set is already there. */
  add(hash: number, labels: readonly Label[], series: readonly TimeSeries[], index: number): boolean {
    const h = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
    let slot = (h ^ (h >>> 13)) & this.mask;
    for (;;) {
      const entry = this.slots[slot] ?? 0;
      if (entry === 0) {
        this.slots[slot] = index + 1;
        this.hashes[slot] = hash;
        return true;
      }
      if (this.hashes[slot] === hash && sameLabels((series[entry - 1] as TimeSeries).labels, labels)) return false;
      slot = (slot + 1) & this.mask;
    }
  }
}

function buildSeries(
  batch: MetricBatch,
  options: ToTimeSeriesOptions,
  out: TimeSeries[],
  onFamily?: (family: MetricFamily, name: string, start: number, end: number) => void,
  keys?: string[],
): void {
  const resLabels = resourceLabels(batch.resource);
  const resCount = resLabels.length;
  const resParts = keys === undefined ? [] : resLabels.map((l) => labelKeyPart(l.name, l.value));
  const timestampMs = batch.timeMs;
  let points = 0;
  for (const family of batch.families) points += family.points.length;
  const seen = new SeriesSet(points);
  // The label objects made for the previous point, by position among its own labels: consecutive points
  // often share values (schema, database), and a shared object is measured and written once by the encoder.
  const prevOwn: Label[] = [];
  const prevHash: number[] = [];
  const prevPart: string[] = [];

  for (const family of batch.families) {
    let metricName: string;
    try {
      metricName = prometheusMetricName(family);
    } catch (error) {
      if (!(error instanceof InvalidMetricNameError)) throw error;
      options.onDrop?.('invalid-name', family);
      continue;
    }
    const nameLabel: Label = { name: '__name__', value: metricName };
    const nameHash = hashLabel('__name__', metricName);
    const namePart = keys === undefined ? '' : labelKeyPart('__name__', metricName);
    const start = out.length;

    for (const point of family.points) {
      const ownCount = normaliseLevel(point.attributes, pointNames, pointValues, pointKeys);
      let hash = nameHash;
      let n = 0;
      let r = 0;
      let p = 0;
      let named = false;
      while (r < resCount || p < ownCount) {
        const res = resLabels[r];
        let label: Label;
        let part = '';
        if (res !== undefined && (p >= ownCount || res.name < (pointNames[p] ?? ''))) {
          label = res;
          if (keys !== undefined) part = resParts[r] ?? '';
          r++;
        } else {
          const ownName = pointNames[p] ?? '';
          const ownValue = pointValues[p] ?? '';
          if (res !== undefined && res.name === ownName) {
            r++; // the point attribute wins
            if (res.value === ownValue) {
              p++;
              label = res;
              if (keys !== undefined) part = resParts[r - 1] ?? '';
              if (!named && label.name > '__name__') {
                labelScratch[n] = nameLabel;
                fragScratch[n++] = namePart;
                named = true;
              }
              labelScratch[n] = label;
              fragScratch[n++] = part;
              continue;
            }
          }
          const prev = prevOwn[p];
          if (prev !== undefined && prev.name === ownName && prev.value === ownValue) {
            label = prev;
            hash = mix(hash, prevHash[p] ?? 0);
            if (keys !== undefined) part = prevPart[p] ?? '';
          } else {
            label = { name: ownName, value: ownValue };
            const h = hashLabel(ownName, ownValue);
            hash = mix(hash, h);
            prevOwn[p] = label;
            prevHash[p] = h;
            if (keys !== undefined) {
              part = labelKeyPart(ownName, ownValue);
              prevPart[p] = part;
            }
          }
          p++;
        }
        // Sanitised names never start with `_`, so `__name__` never collides; it sorts after uppercase.
        if (!named && label.name > '__name__') {
          labelScratch[n] = nameLabel;
          fragScratch[n++] = namePart;
          named = true;
        }
        labelScratch[n] = label;
        fragScratch[n++] = part;
      }
      if (!named) {
        labelScratch[n] = nameLabel;
        fragScratch[n++] = namePart;
      }
      const labels = labelScratch.slice(0, n);
      if (!seen.add(hash, labels, out, out.length)) {
        options.onDrop?.('duplicate-series', family);
        continue;
      }
      out.push({ labels, samples: [{ value: point.value, timestampMs }] });
      if (keys !== undefined) {
        let key = `[${fragScratch[0] ?? ''}`;
        for (let i = 1; i < n; i++) key += `,${fragScratch[i] ?? ''}`;
        keys.push(`${key}]`);
      }
    }
    onFamily?.(family, metricName, start, out.length);
  }
}

// ---------------------------------------------------------------------------------------------
// Protobuf writer for prompb.WriteRequest { repeated TimeSeries timeseries = 1; }
//   TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
//   Label { string name = 1; string value = 2; }   Sample { double value = 1; int64 timestamp = 2; }
// ---------------------------------------------------------------------------------------------

const TAG_1_LEN = 0x0a; // field 1, wire type 2
const TAG_2_LEN = 0x12; // field 2, wire type 2
const TAG_1_FIXED64 = 0x09; // field 1, wire type 1
const TAG_2_VARINT = 0x10; // field 2, wire type 0

function varintSize(v: number): number {
  if (v < 0) return 10; // negative int64: two's complement, always ten bytes
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  if (v < 0x800000000) return 5;
  if (v < 0x40000000000) return 6;
  if (v < 0x2000000000000) return 7;
  return 8; // up to 2^56, beyond any safe integer
}

function utf8Length(s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  return n;
}

/** Integer milliseconds; protobuf int64 cannot carry a fraction. */
function timestampOf(sample: { timestampMs: number }): number {
  return Math.trunc(sample.timestampMs);
}

function sampleSize(timestampMs: number): number {
  return 1 + 8 + 1 + varintSize(timestampMs);
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
export function encodedSeriesSize(series: TimeSeries): number {
  const body = seriesBodySize(series);
  return 1 + varintSize(body) + body;
}

class Writer {
  readonly buf: Buffer;
  readonly view: DataView;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  varint(value: number): void {
    const buf = this.buf;
    if (value < 0) {
      this.varint64(BigInt.asUintN(64, BigInt(value)));
      return;
    }
    let v = value;
    while (v > 0x7f) {
      // `& 0x7f` is exact above 2^32 too: ToInt32 keeps the low 32 bits.
      buf[this.pos++] = (v & 0x7f) | 0x80;
      v = v < 0x100000000 ? v >>> 7 : Math.floor(v / 128);
    }
    buf[this.pos++] = v;
  }

  private varint64(value: bigint): void {
    let v = value;
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  string(s: string, byteLength: number): void {
    this.varint(byteLength);
    const n = s.length;
    if (byteLength === n && n < 48) {
      const buf = this.buf;
      let pos = this.pos;
      for (let i = 0; i < n; i++) buf[pos++] = s.charCodeAt(i);
      this.pos = pos;
    } else {
      // Lone surrogates become U+FFFD here and in Buffer.byteLength alike, so sizes agree.
      this.pos += this.buf.write(s, this.pos, byteLength, 'utf8');
    }
  }

  double(value: number): void {
    const view = this.view;
    if (!Number.isNaN(value)) {
      view.setFloat64(this.pos, value, true);
    } else if (isStaleNaN(value)) {
      view.setUint32(this.pos, 2, true);
      view.setUint32(this.pos + 4, 0x7ff00000, true);
    } else {
      view.setUint32(this.pos, 1, true);
      view.setUint32(this.pos + 4, 0x7ff80000, true);
    }
    this.pos += 8;
  }
}

/** Every length of a list of series, measured once for both splitting and writing. */
interface Sizing {
  /** UTF-8 bytes of each label's name and value, two per label, labels of all series in order. */
  readonly stringLens: Int32Array;
  /** Body length of each Label message. */
  readonly labelLens: Int32Array;
  /** Body length of each TimeSeries message. */
  readonly seriesLens: Int32Array;
  /** Index of each series' first label in the label arrays. */
  readonly labelBase: Int32Array;
}

function measure(series: readonly TimeSeries[]): Sizing {
  let labelCount = 0;
  for (const s of series) labelCount += s.labels.length;
  const stringLens = new Int32Array(labelCount * 2);
  const labelLens = new Int32Array(labelCount);
  const seriesLens = new Int32Array(series.length);
  const labelBase = new Int32Array(series.length);
  let li = 0;
  let prev: readonly Label[] = [];
  let prevBase = 0;
  for (let si = 0; si < series.length; si++) {
    const s = series[si] as TimeSeries;
    const labels = s.labels;
    labelBase[si] = li;
    let body = 0;
    for (let j = 0; j < labels.length; j++) {
      const label = labels[j] as Label;
      let labelLen: number;
      if (prev[j] === label) {
        // Series of one batch share their resource label objects: measure each once.
        const from = prevBase + j;
        stringLens[2 * li] = stringLens[2 * from] ?? 0;
        stringLens[2 * li + 1] = stringLens[2 * from + 1] ?? 0;
        labelLen = labelLens[from] ?? 0;
      } else {
        const n = utf8Length(label.name);
        const v = utf8Length(label.value);
        stringLens[2 * li] = n;
        stringLens[2 * li + 1] = v;
        labelLen = 1 + varintSize(n) + n + 1 + varintSize(v) + v;
      }
      labelLens[li++] = labelLen;
      body += 1 + varintSize(labelLen) + labelLen;
    }
    for (const sample of s.samples) {
      const len = sampleSize(timestampOf(sample));
      body += 1 + varintSize(len) + len;
    }
    seriesLens[si] = body;
    prev = labels;
    prevBase = labelBase[si] ?? 0;
  }
  return { stringLens, labelLens, seriesLens, labelBase };
}

/** Writes series `from` to `to` (exclusive) as one WriteRequest of `total` bytes. */
function write(
  series: readonly TimeSeries[],
  sizing: Sizing,
  from: number,
  to: number,
  total: number,
): Uint8Array {
  const { stringLens, labelLens, seriesLens, labelBase } = sizing;
  const w = new Writer(total);
  const buf = w.buf;
  // Where each label of the previous series starts in `buf`, to copy shared labels instead of re-encoding.
  let prev: readonly Label[] = [];
  let prevStarts: number[] = [];
  let starts: number[] = [];
  for (let si = from; si < to; si++) {
    const s = series[si] as TimeSeries;
    const labels = s.labels;
    let li = labelBase[si] ?? 0;
    buf[w.pos++] = TAG_1_LEN;
    w.varint(seriesLens[si] ?? 0);
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
      w.double(sample.value);
      buf[w.pos++] = TAG_2_VARINT;
      w.varint(ts);
    }
    prev = labels;
    const swap = prevStarts;
    prevStarts = starts;
    starts = swap;
    starts.length = 0;
  }
  if (w.pos !== total) throw new Error(`remote-write encoder wrote ${w.pos} bytes, sized ${total}`);
  return buf;
}

function entrySize(sizing: Sizing, si: number): number {
  const body = sizing.seriesLens[si] ?? 0;
  return 1 + varintSize(body) + body;
}

/**
 * Encodes a `prompb.WriteRequest` (uncompressed). Every field is written, zeros included.
 * NaN values are written as Prometheus's normal NaN (`0x7ff8000000000001`) unless they are
 * stale markers (`staleNaN()`), which keep `0x7ff0000000000002`. Timestamps are truncated to integers.
 */
export function encodeWriteRequest(series: readonly TimeSeries[]): Uint8Array {
  const sizing = measure(series);
  let total = 0;
  for (let si = 0; si < series.length; si++) total += entrySize(sizing, si);
  return write(series, sizing, 0, series.length, total);
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
 * Falls back to `splitRequests` when a series has to be cut.
 */
export function encodeRequests(series: readonly TimeSeries[], limits: SplitLimits): EncodedRequest[] {
  const maxSamples = Math.max(1, Math.floor(limits.maxSamples));
  const maxBytes = Math.max(1, Math.floor(limits.maxBytes));
  const sizing = measure(series);
  const out: EncodedRequest[] = [];
  let from = 0;
  let bytes = 0;
  let samples = 0;
  for (let si = 0; si < series.length; si++) {
    const size = entrySize(sizing, si);
    const count = (series[si] as TimeSeries).samples.length;
    if (count > maxSamples || size > maxBytes) {
      return splitRequests(series, limits).map((request) => ({
        body: encodeWriteRequest(request),
        series: request.length,
        samples: request.reduce((n, s) => n + s.samples.length, 0),
      }));
    }
    if (si > from && (samples + count > maxSamples || bytes + size > maxBytes)) {
      out.push({ body: write(series, sizing, from, si, bytes), series: si - from, samples });
      from = si;
      bytes = 0;
      samples = 0;
    }
    bytes += size;
    samples += count;
  }
  if (series.length > from)
    out.push({
      body: write(series, sizing, from, series.length, bytes),
      series: series.length - from,
      samples,
    });
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

/** A decoded sample with the exact bit pattern of its value (to tell stale markers from NaN). */
export interface DecodedSample {
  readonly value: number;
  readonly valueBits: bigint;
  readonly timestampMs: number;
}

/** A decoded series. */
export interface DecodedTimeSeries {
  readonly labels: Label[];
  readonly samples: DecodedSample[];
}

/** The input is not a well-formed `WriteRequest`. */
export class ProtobufDecodeError extends Error {
  override readonly name = 'ProtobufDecodeError';
}

class Reader {
  pos: number;
  readonly view: DataView;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new ProtobufDecodeError('truncated varint');
      const byte = this.buf[this.pos++] ?? 0;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new ProtobufDecodeError('varint too long');
    }
  }

  length(): number {
    const len = Number(this.varint());
    if (this.pos + len > this.end) throw new ProtobufDecodeError('length beyond message end');
    return len;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.pos += this.length();
    else if (wireType === 5) this.pos += 4;
    else throw new ProtobufDecodeError(`unsupported wire type ${wireType}`);
    if (this.pos > this.end) throw new ProtobufDecodeError('field beyond message end');
  }

  /** Visits each field of the message up to `end`. */
  fields(visit: (field: number, wireType: number) => boolean): void {
    while (this.pos < this.end) {
      const tag = Number(this.varint());
      const field = tag >>> 3;
      const wireType = tag & 7;
      if (!visit(field, wireType)) this.skip(wireType);
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes an uncompressed `prompb.WriteRequest` (tests, replay, debugging). Unknown fields are skipped.
 * @throws {ProtobufDecodeError} on malformed input.
 */
export function decodeWriteRequest(bytes: Uint8Array): DecodedTimeSeries[] {
  const top = new Reader(bytes, 0, bytes.length);
  const out: DecodedTimeSeries[] = [];
  top.fields((field, wireType) => {
    if (field !== 1 || wireType !== 2) return false;
    const len = top.length();
    const ts = new Reader(bytes, top.pos, top.pos + len);
    const labels: Label[] = [];
    const samples: DecodedSample[] = [];
    ts.fields((f, wt) => {
      if (wt !== 2 || (f !== 1 && f !== 2)) return false;
      const innerLen = ts.length();
      const inner = new Reader(bytes, ts.pos, ts.pos + innerLen);
      if (f === 1) {
        let name = '';
        let value = '';
        inner.fields((lf, lwt) => {
          if (lwt !== 2 || (lf !== 1 && lf !== 2)) return false;
          const n = inner.length();
          const text = utf8.decode(bytes.subarray(inner.pos, inner.pos + n));
          inner.pos += n;
          if (lf === 1) name = text;
          else value = text;
          return true;
        });
        labels.push({ name, value });
      } else {
        let valueBits = 0n;
        let timestamp = 0n;
        inner.fields((sf, swt) => {
          if (sf === 1 && swt === 1) {
            if (inner.pos + 8 > inner.end) throw new ProtobufDecodeError('truncated double');
            valueBits = inner.view.getBigUint64(inner.pos, true);
            inner.pos += 8;
            return true;
          }
          if (sf === 2 && swt === 0) {
            timestamp = BigInt.asIntN(64, inner.varint());
            return true;
          }
          return false;
        });
        scratch.setBigUint64(0, valueBits, true);
        samples.push({ value: scratch.getFloat64(0, true), valueBits, timestampMs: Number(timestamp) });
      }
      ts.pos = inner.end;
      return true;
    });
    out.push({ labels, samples });
    top.pos += len;
    return true;
  });
  return out;
}
