import { isPlainJsonText } from './remote-write-keys.ts';
import { type Label, staleNaN, type TimeSeries } from './remote-write-series.ts';

/**
 * Staleness markers for series that vanished between two runs (a dropped table, a database that
 * went away), so Prometheus ends them at once instead of after its 5-minute lookback.
 * Pure: the previous run's key set is an input, persisting it is the caller's job.
 */

/**
 * A stable, decodable identity of a label set: the JSON array `[name, value, name, value, ...]`
 * of the labels sorted by name. Input order does not matter.
 */
export function seriesKey(labels: readonly Label[]): string {
  let sorted = true;
  for (let i = 1; i < labels.length; i++) {
    if ((labels[i - 1]?.name ?? '') > (labels[i]?.name ?? '')) {
      sorted = false;
      break;
    }
  }
  const ordered = sorted
    ? labels
    : [...labels].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Exactly `JSON.stringify` of the flat pairs. Label text rarely needs escaping: then one `join` of the raw
  // pieces builds the key without the intermediate array and quoted strings.
  const count = ordered.length;
  const parts: string[] = new Array(2 * count);
  for (let i = 0; i < count; i++) {
    const label = ordered[i] as Label;
    if (!isPlainJsonText(label.name) || !isPlainJsonText(label.value)) {
      const flat: string[] = [];
      for (const l of ordered) flat.push(l.name, l.value);
      return JSON.stringify(flat);
    }
    parts[2 * i] = label.name;
    parts[2 * i + 1] = label.value;
  }
  return count === 0 ? '[]' : `["${parts.join('","')}"]`;
}

/**
 * The labels a key was made from, or `undefined` when the key is not one `seriesKey` produced
 * (persisted state can be corrupted; a bad key must not fail the export).
 */
export function labelsFromKey(key: string): Label[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(key);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || parsed.length % 2 !== 0) return undefined;
  const labels: Label[] = [];
  for (let i = 0; i < parsed.length; i += 2) {
    const name: unknown = parsed[i];
    const value: unknown = parsed[i + 1];
    if (typeof name !== 'string' || typeof value !== 'string' || name === '' || value === '')
      return undefined;
    if (labels.length > 0 && (labels[labels.length - 1]?.name ?? '') >= name) return undefined;
    labels.push({ name, value });
  }
  if (!labels.some((label) => label.name === '__name__')) return undefined;
  return labels;
}

/**
 * One stale-marker series (value `staleNaN()` at `timeMs`) for every key of `previousKeys` that
 * no series of `current` has. Keys that do not decode are skipped; duplicates give one marker.
 * `timeMs` should be the current batch's time: a marker older than the series' last sample is
 * out of order and would make Prometheus reject the request.
 */
export function staleMarkers(
  previousKeys: readonly string[],
  current: readonly TimeSeries[],
  timeMs: number,
): TimeSeries[] {
  if (previousKeys.length === 0) return [];
  const live = new Set<string>();
  for (const series of current) live.add(seriesKey(series.labels));
  const out: TimeSeries[] = [];
  for (const key of previousKeys) {
    if (live.has(key)) continue;
    live.add(key);
    const labels = labelsFromKey(key);
    if (labels === undefined) continue;
    out.push({ labels, samples: [{ value: staleNaN(), timestampMs: timeMs }] });
  }
  return out;
}
