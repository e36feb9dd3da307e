import type { Attributes, MetricBatch, MetricFamily } from '../model/metrics.ts';
import { InvalidMetricNameError, prometheusMetricName, sanitizeLabelName } from './prom-names.ts';
import { KeyAssembler, labelKeyPart } from './remote-write-keys.ts';
import type { Label, TimeSeries } from './remote-write-series.ts';

/**
 * `MetricBatch` → Prometheus remote-write series: attributes mapped to sorted, valid, unique labels, one series
 * per point, label sets de-duplicated, and on request the series keys of staleness tracking. On the export hot
 * path: label objects are shared between series and scratch space is reused, so a point allocates little.
 */

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
  buildSeries(
    batch,
    options,
    (series) => all.push(series),
    (family, name, start, end) => {
      groups.push({ family, name, series: all.slice(start, end) });
    },
  );
  return groups;
}

/** All remote-write series of a batch, in family order; see `toTimeSeriesByFamily` for the label rules. */
export function toTimeSeries(batch: MetricBatch, options: ToTimeSeriesOptions = {}): TimeSeries[] {
  const out: TimeSeries[] = [];
  buildSeries(batch, options, (series) => out.push(series));
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
  const { keys, matched } = eachTimeSeriesWithKeys(batch, (s) => series.push(s), options, previousKeys);
  return { series, keys, matched };
}

/**
 * `toTimeSeriesWithKeys` one series at a time: `onSeries` gets each series as soon as it is built, in order, and
 * nothing here keeps it (label sets are told apart by their keys), so a caller that encodes them as they come
 * never holds a batch's series at once. Returns what `toTimeSeriesWithKeys` does but the series.
 */
export function eachTimeSeriesWithKeys(
  batch: MetricBatch,
  onSeries: (series: TimeSeries) => void,
  options: ToTimeSeriesOptions = {},
  previousKeys: readonly string[] = [],
): { keys: string[]; matched: Uint8Array } {
  const keys: string[] = [];
  const matched = buildSeries(batch, options, onSeries, undefined, { keys, previous: previousKeys });
  return { keys, matched };
}

// Point-level scratch space, reused for every point (the builder is synchronous).
const pointNames: string[] = [];
const pointValues: string[] = [];
const pointKeys: string[] = [];
const labelScratch: Label[] = [];

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
 * labels, every hit confirmed by `same` (comparing the labels, or their keys), so no identity string is built
 * per point just to find duplicates.
 */
class SeriesSet {
  /** Pairs (series index + 1, hash); index 0 marks a free slot. One array: a probe touches one cache line. */
  private readonly slots: Int32Array;
  private readonly mask: number;

  constructor(
    capacity: number,
    /** Whether the label set being added equals that of series `index`. */
    private readonly same: (index: number) => boolean,
  ) {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.slots = new Int32Array(2 * size);
    this.mask = size - 1;
  }

  /** Records the label set being added as series `index` unless an equal one is already there. */
  add(hash: number, index: number): boolean {
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
      if (slots[2 * slot + 1] === hash && this.same(entry - 1)) return false;
      slot = (slot + 1) & this.mask;
    }
  }
}

/** Slots per label position in `buildSeries`' label cache (a power of two). */
const LABEL_CACHE_SLOTS = 16;

function buildSeries(
  batch: MetricBatch,
  options: ToTimeSeriesOptions,
  emit: (series: TimeSeries) => void,
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
  // Duplicates are found by key when there are keys (the series themselves are not kept), else by labels.
  let key = '';
  let labels: Label[] = [];
  const labelSets: Label[][] = [];
  const seen = new SeriesSet(
    points,
    keys === undefined
      ? (index) => sameLabels(labelSets[index] as Label[], labels)
      : (index) => keys[index] === key,
  );
  let count = 0;
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
    const start = count;

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
      labels = labelScratch.slice(0, n);
      if (keys === undefined || assembler === undefined) {
        if (!seen.add(hash, count)) {
          options.onDrop?.('duplicate-series', family);
          continue;
        }
        labelSets.push(labels);
      } else {
        // Built before the duplicate check, which compares keys: a duplicate (rare) costs its key string.
        key = assembler.finish(namePart, nameHead);
        if (!seen.add(hash, count)) {
          options.onDrop?.('duplicate-series', family);
          continue;
        }
        keys.push(key);
      }
      count++;
      emit({ labels, samples: [{ value: point.value, timestampMs }] });
    }
    onFamily?.(family, metricName, start, count);
  }
  return assembler?.matched ?? NONE_MATCHED;
}

const NONE_MATCHED = new Uint8Array(0);
