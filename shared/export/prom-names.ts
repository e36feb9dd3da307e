import type { MetricKind } from '../model/metrics.ts';

/**
 * OTel → Prometheus naming, following the OpenTelemetry "Prometheus and OpenMetrics compatibility"
 * specification as the collector's `translator/prometheus` applies it with suffixes enabled, so
 * dashboards built for the OTel collector's `prometheusremotewrite` exporter work unchanged.
 *
 * Deliberate differences from the collector, all towards stricter output:
 * - names and label names are ASCII only (`[a-zA-Z0-9_]`): the collector keeps Unicode letters,
 *   which Prometheus's legacy name validation rejects;
 * - `:` is replaced too: Prometheus reserves colons for recording rules;
 * - every label name starting with `_` gets a `key` prefix, `__` included: the `__` namespace is
 *   Prometheus's own (`__name__`), and an attribute must never be able to overwrite it.
 */

/** UCUM main units → Prometheus unit words (spec table). `1` is dimensionless: no unit word. */
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '1': '',
  '%': 'percent',
};

/** UCUM units after a `/` → singular words (`By/s` → `bytes_per_second`). */
const PER_UNIT_WORDS: Readonly<Record<string, string>> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

/** Metric names Prometheus itself defines, which keep their name whatever their unit. */
const RESERVED_NAMES: ReadonlySet<string> = new Set(['up']);

/** The parts of a metric family that decide its Prometheus name. */
export interface NamedFamily {
  readonly name: string;
  readonly unit: string;
  readonly kind: MetricKind;
}

/** A family name that has no letter or digit at all, so no valid Prometheus name can be derived. */
export class InvalidMetricNameError extends Error {
  override readonly name = 'InvalidMetricNameError';
  readonly metricName: string;
  constructor(metricName: string) {
    super(`metric name ${JSON.stringify(metricName)} has no letter or digit`);
    this.metricName = metricName;
  }
}

/** Splits on every character outside `[a-zA-Z0-9]`, which also collapses runs of `_`. */
function tokens(text: string): string[] {
  return text.split(/[^a-zA-Z0-9]+/).filter((token) => token !== '');
}

/** `true` when `suffix` tokens already appear, in order and contiguously, somewhere in `name` tokens. */
function containsRun(nameTokens: readonly string[], suffix: readonly string[]): boolean {
  if (suffix.length === 0) return true;
  outer: for (let i = 0; i + suffix.length <= nameTokens.length; i++) {
    for (let j = 0; j < suffix.length; j++) if (nameTokens[i + j] !== suffix[j]) continue outer;
    return true;
  }
  return false;
}

function unitWord(unit: string, table: Readonly<Record<string, string>>): string[] {
  const trimmed = unit.trim();
  // `{connection}` and friends are annotations (a count of things), not units.
  if (trimmed === '' || trimmed.includes('{') || trimmed.includes('}')) return [];
  return tokens(Object.hasOwn(table, trimmed) ? (table[trimmed] ?? '') : trimmed);
}

const nameCache = new Map<string, string>();

/**
 * The Prometheus metric name of an OTel metric family, e.g.
 * `postgresql.database.size` / `By` / gauge → `postgresql_database_size_bytes`,
 * `postgresql.database.transactions` / `{transaction}` / counter → `postgresql_database_transactions_total`.
 *
 * A unit word is not added when the name already contains it (`..._lag_seconds` in `s`), `_total` is
 * moved to the end of counters, `_ratio` to the end of gauges in unit `1`; `up` stays `up`.
 * @throws {InvalidMetricNameError} when the name has no letter or digit.
 */
export function prometheusMetricName(family: NamedFamily): string {
  const cacheKey = `${family.kind}\u0000${family.unit}\u0000${family.name}`;
  const cached = nameCache.get(cacheKey);
  if (cached !== undefined) return cached;

  if (RESERVED_NAMES.has(family.name)) return family.name;
  let nameTokens = tokens(family.name);
  if (nameTokens.length === 0) throw new InvalidMetricNameError(family.name);

  const slash = family.unit.indexOf('/');
  const mainUnit = unitWord(slash === -1 ? family.unit : family.unit.slice(0, slash), UNIT_WORDS);
  const perUnit = slash === -1 ? [] : unitWord(family.unit.slice(slash + 1), PER_UNIT_WORDS);
  if (!containsRun(nameTokens, mainUnit)) nameTokens.push(...mainUnit);
  if (perUnit.length > 0 && !containsRun(nameTokens, perUnit)) nameTokens.push('per', ...perUnit);

  if (family.kind === 'counter') nameTokens = [...nameTokens.filter((t) => t !== 'total'), 'total'];
  else if (family.unit === '1') nameTokens = [...nameTokens.filter((t) => t !== 'ratio'), 'ratio'];

  let name = nameTokens.join('_');
  if (name.charCodeAt(0) <= 0x39) name = `_${name}`; // leading digit (tokens hold only [a-zA-Z0-9])
  if (nameCache.size >= 4096) nameCache.clear();
  nameCache.set(cacheKey, name);
  return name;
}

const VALID_LABEL_NAME = /^[a-zA-Z][a-zA-Z0-9_]*$/;
const labelCache = new Map<string, string>();

/**
 * A valid Prometheus label name for an attribute key: every character outside `[a-zA-Z0-9_]`
 * becomes `_` (`db.system` → `db_system`), a leading digit gets a `key_` prefix (`2xx` → `key_2xx`)
 * and a leading underscore a `key` prefix (`_x` → `key_x`, `__name__` → `key__name__`).
 * The empty string stays empty: callers drop such a label.
 */
export function sanitizeLabelName(name: string): string {
  if (VALID_LABEL_NAME.test(name)) return name;
  if (name === '') return '';
  const cached = labelCache.get(name);
  if (cached !== undefined) return cached;
  // Iterating code points turns an astral character (one emoji) into one `_`, not two.
  let out = '';
  for (const char of name) out += /^[a-zA-Z0-9_]$/.test(char) ? char : '_';
  const first = out.charCodeAt(0);
  if (first >= 0x30 && first <= 0x39) out = `key_${out}`;
  else if (first === 0x5f) out = `key${out}`;
  if (labelCache.size >= 4096) labelCache.clear();
  labelCache.set(name, out);
  return out;
}

/** `true` for a valid Prometheus metric name (legacy character set, colons excluded). */
export function isValidMetricName(name: string): boolean {
  return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name);
}

/** `true` for a valid label name outside Prometheus's reserved `__` namespace. */
export function isValidLabelName(name: string): boolean {
  return VALID_LABEL_NAME.test(name);
}
