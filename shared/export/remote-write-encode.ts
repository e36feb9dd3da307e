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
 * per series. Given the previous run's keys, a key equal to the next one of them is that string itself, and
 * `matched[i]` says whether `previousKeys[i]` is among `keys` that way (a `0` may still be live: compare).
 */
export function toTimeSeriesWithKeys(
  batch: MetricBatch,
  options: ToTimeSeriesOptions = {},
  previousKeys: readonly string[] = [],
): { series: TimeSeries[]; keys: string[]; matched: Uint8Array } {
  const series: TimeSeries[] = [];
  const keys: string[] = [];
  const matched = buildSeries(batch, options, series, undefined, { keys, previous: previousKeys });
  return { series, keys, matched };
}

// Point-level scratch space, reused for every point (the builder is synchronous).
const pointNames: string[] = [];
const pointValues: string[] = [];
const pointKeys: string[] = [];
const labelScratch: Label[] = [];

/**
 * `JSON.stringify` of one string, without its cost for the usual label text (printable ASCII
 * without `"` or `\`), which needs no escaping. The result is always exactly `JSON.stringify(text)`.
 */
export function jsonString(text: string): string {
  return isPlainJsonText(text) ? `"${text}"` : JSON.stringify(text);
}

/** `true` when `JSON.stringify(text)` is `text` in quotes: printable ASCII without `"` or `\`. */
export function isPlainJsonText(text: string): boolean {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) return false;
  }
  return true;
}

/** The part of a series key (`seriesKey`) one label contributes: `"name","value"`. */
export function labelKeyPart(name: string, value: string): string {
  return `${jsonString(name)},${jsonString(value)}`;
}

/** FNV-1a over a label's name and value: input to the de-duplication table, never persisted. */
function hashLabel(name: string, value: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 0x10000, 0x01000193); // a separator no UTF-16 unit equals
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
  /** Pairs (series index + 1, hash); index 0 marks a free slot. One array: a probe touches one cache line. */
  private readonly slots: Int32Array;
  private readonly mask: number;

  constructor(capacity: number) {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.slots = new Int32Array(2 * size);
    this.mask = size - 1;
  }

  /** Records `labels` as series `index` of `series` unless an equal label set is already there. */
  add(hash: number, labels: readonly Label[], series: readonly TimeSeries[], index: number): boolean {
    const slots = this.slots;
    const h = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
    let slot = (h ^ (h >>> 13)) & this.mask;
    for (;;) {
      const entry = slots[2 * slot] ?? 0;
      if (entry === 0) {
        slots[2 * slot] = index + 1;
        slots[2 * slot + 1] = hash;
        return true;
      }
      if (slots[2 * slot + 1] === hash && sameLabels((series[entry - 1] as TimeSeries).labels, labels))
        return false;
      slot = (slot + 1) & this.mask;
    }
  }
}

/**
 * Assembles series keys (`seriesKey`: the JSON of the sorted name/value pairs) from pieces made once: one per
 * resource label run, family name and distinct point label, each with its leading comma, so one key is a
 * `join` of a handful of strings into one flat string.
 */
class KeyAssembler {
  private readonly runs: (string | undefined)[] = [];
  private parts: string[] = [];
  private runStart = -1;
  private runEnd = -1;
  private cursor = 0;
  /** `matched[i]` is 1 once `previous[i]` was found to be the key of a series of this batch. */
  readonly matched: Uint8Array;

  /**
   * `resParts`: `,"name","value"` of each resource label, in label order. `previous`: the keys of the previous
   * run; in steady state the same keys in the same order, so the key a series needs usually exists already
   * and is checked piece by piece instead of being built (no allocation, and the strings are shared).
   */
  constructor(
    private readonly resParts: readonly string[],
    private readonly previous: readonly string[],
  ) {
    this.matched = new Uint8Array(previous.length);
  }

  /** Appends resource label `index`. */
  resource(index: number): void {
    if (this.runEnd !== index) {
      this.flushRun();
      this.runStart = index;
    }
    this.runEnd = index + 1;
  }

  /** Appends any other label, as its `,"name","value"` piece. */
  other(part: string): void {
    this.flushRun();
    this.parts.push(part);
  }

  /** Forgets the labels appended since the last call. */
  discard(): void {
    this.flushRun();
    this.parts = [];
  }

  /**
   * The key of the labels appended since the last call: the next previous key when it is equal (one
   * inserted or removed series is skipped over), else built. `head` replaces the first piece when it is `first`.
   */
  finish(first: string, head: string): string {
    this.flushRun();
    const parts = this.parts;
    this.parts = [];
    for (let c = this.cursor; c < this.cursor + 2 && c < this.previous.length; c++) {
      const candidate = this.previous[c];
      if (typeof candidate === 'string' && this.equals(candidate, parts, first, head)) {
        this.matched[c] = 1;
        this.cursor = c + 1;
        return candidate;
      }
    }
    const lead = parts[0] ?? '';
    parts[0] = lead === first ? head : `[${lead.slice(1)}`;
    parts.push(']');
    return parts.join('');
  }

  /** `true` when `candidate` is the key of `parts` (only for keys that start with the metric name, the usual case). */
  private equals(candidate: string, parts: readonly string[], first: string, head: string): boolean {
    // `indexOf(part, offset) === offset` is `startsWith(part, offset)`, about three times faster in V8.
    if (parts[0] !== first || candidate.indexOf(head) !== 0) return false;
    let offset = head.length;
    for (let i = 1; i < parts.length; i++) {
      const part = parts[i] ?? '';
      if (candidate.indexOf(part, offset) !== offset) return false;
      offset += part.length;
    }
    return offset === candidate.length - 1 && candidate.charCodeAt(offset) === 0x5d;
  }

  private flushRun(): void {
    if (this.runStart < 0) return;
    const stride = this.resParts.length + 1;
    const slot = this.runStart * stride + this.runEnd;
    let run = this.runs[slot];
    if (run === undefined) {
      run = this.resParts.slice(this.runStart, this.runEnd).join('');
      this.runs[slot] = run;
    }
    this.parts.push(run);
    this.runStart = -1;
    this.runEnd = -1;
  }
}

/** Slots per label position in `buildSeries`' label cache (a power of two). */
const LABEL_CACHE_SLOTS = 16;

function buildSeries(
  batch: MetricBatch,
  options: ToTimeSeriesOptions,
  out: TimeSeries[],
  onFamily?: (family: MetricFamily, name: string, start: number, end: number) => void,
  withKeys?: { keys: string[]; previous: readonly string[] },
): Uint8Array {
  const resLabels = resourceLabels(batch.resource);
  const resCount = resLabels.length;
  const keys = withKeys?.keys;
  const assembler =
    withKeys === undefined
      ? undefined
      : new KeyAssembler(
          resLabels.map((l) => `,${labelKeyPart(l.name, l.value)}`),
          withKeys.previous,
        );
  const timestampMs = batch.timeMs;
  let points = 0;
  for (const family of batch.families) points += family.points.length;
  const seen = new SeriesSet(points);
  // Label objects already made, in a small direct-mapped cache per position among a point's own labels:
  // points repeat values (database, schema), and a shared object is allocated, hashed and measured once.
  const cachedLabel: (Label | undefined)[] = [];
  const cachedHash: number[] = [];
  const cachedPart: string[] = [];

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
    const namePart = assembler === undefined ? '' : `,${labelKeyPart('__name__', metricName)}`;
    const nameHead = `[${namePart.slice(1)}`;
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
        let part = ''; // empty: resource label `r - 1`
        if (res !== undefined && (p >= ownCount || res.name < (pointNames[p] ?? ''))) {
          label = res;
          r++;
        } else {
          const ownName = pointNames[p] ?? '';
          const ownValue = pointValues[p] ?? '';
          if (res !== undefined && res.name === ownName) r++; // the point attribute wins
          if (res !== undefined && res.name === ownName && res.value === ownValue) {
            label = res;
          } else {
            const last = ownValue.length - 1; // values are never empty here
            const slot =
              p * LABEL_CACHE_SLOTS + ((ownValue.charCodeAt(last) + 31 * last) & (LABEL_CACHE_SLOTS - 1));
            const cached = cachedLabel[slot];
            if (cached !== undefined && cached.value === ownValue && cached.name === ownName) {
              label = cached;
              hash = mix(hash, cachedHash[slot] ?? 0);
              if (assembler !== undefined) part = cachedPart[slot] ?? '';
            } else {
              label = { name: ownName, value: ownValue };
              const h = hashLabel(ownName, ownValue);
              hash = mix(hash, h);
              cachedLabel[slot] = label;
              cachedHash[slot] = h;
              if (assembler !== undefined) {
                part = `,${labelKeyPart(ownName, ownValue)}`;
                cachedPart[slot] = part;
              }
            }
          }
          p++;
        }
        // Sanitised names never start with `_`, so `__name__` never collides; it sorts after uppercase.
        if (!named && label.name > '__name__') {
          labelScratch[n++] = nameLabel;
          assembler?.other(namePart);
          named = true;
        }
        labelScratch[n++] = label;
        if (assembler !== undefined) {
          if (label === res) assembler.resource(r - 1);
          else assembler.other(part);
        }
      }
      if (!named) {
        labelScratch[n++] = nameLabel;
        assembler?.other(namePart);
      }
      const labels = labelScratch.slice(0, n);
      if (!seen.add(hash, labels, out, out.length)) {
        assembler?.discard();
        options.onDrop?.('duplicate-series', family);
        continue;
      }
      out.push({ labels, samples: [{ value: point.value, timestampMs }] });
      if (assembler !== undefined) keys?.push(assembler.finish(namePart, nameHead));
    }
    onFamily?.(family, metricName, start, out.length);
  }
  return assembler?.matched ?? NONE_MATCHED;
}

const NONE_MATCHED = new Uint8Array(0);

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
  /** What is returned: a plain `Uint8Array` (snappyjs compresses one faster than a `Buffer`). */
  readonly bytes: Uint8Array;
  /** The same memory as a `Buffer`, for its UTF-8 writer and `copyWithin`. */
  readonly buf: Buffer;
  readonly view: DataView;
  pos = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.buf = Buffer.from(this.bytes.buffer, 0, size);
    this.view = new DataView(this.bytes.buffer, 0, size);
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
  const w = new Writer(total);
  const buf = w.buf;
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
  return w.bytes;
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
