import type { QueryReport } from '../shared/collect/run-query.ts';
import { selfMetricPoints } from '../shared/collect/self-metrics.ts';
import { prometheusMetricName, sanitizeLabelName } from '../shared/export/prom-names.ts';
import { BUILTIN_QUERIES } from '../shared/queries/catalog.ts';
import { CARDINALITY_DROPPED } from '../shared/run/run-collection.ts';

/**
 * The metric names the shipped alert rules, recording rules and dashboards may use, derived from the code
 * that produces the series, so a renamed metric fails their tests instead of leaving a rule that never fires.
 */

/**
 * One run that produces every self-metric: up, a query that ran and failed (so the per-query duration and
 * error families appear), and a series count.
 */
const EVERY_SELF_METRIC_RUN: Parameters<typeof selfMetricPoints>[0] = {
  up: 1,
  durationMs: 1,
  series: 1,
  reports: [
    {
      query: 'q',
      tier: 'critical',
      origin: 'builtin',
      status: 'error',
      durationMs: 1,
      rows: 0,
      points: 0,
    } satisfies QueryReport,
  ],
};

let cachedLabels: ReadonlyMap<string, ReadonlySet<string>> | undefined;

/**
 * Every Prometheus metric name pgotel can emit without custom queries, each with the label names its points
 * can carry besides the target's resource labels (`job`, `instance`, `db_cluster`, …): the mapping's
 * attributes, its static attributes, and `database_name` for database-scoped queries. A metric fed by several
 * queries (`postgresql_bgwriter_buffers_written_total`) gets the union. Covers each metric of
 * `BUILTIN_QUERIES` and each self-metric (`up`, `pgotel_*`, the cardinality drop count).
 */
export function catalogLabelNames(): ReadonlyMap<string, ReadonlySet<string>> {
  if (cachedLabels !== undefined) return cachedLabels;
  const labels = new Map<string, Set<string>>();
  const add = (name: string, labelNames: Iterable<string>): void => {
    const set = labels.get(name) ?? new Set<string>();
    for (const label of labelNames) set.add(sanitizeLabelName(label));
    labels.set(name, set);
  };
  for (const query of BUILTIN_QUERIES) {
    for (const metric of query.metrics) {
      add(prometheusMetricName(metric), [
        ...(metric.attributes ?? []).map((a) => a.name ?? a.column),
        ...Object.keys(metric.staticAttributes ?? {}),
        ...(query.scope === 'database' ? ['database_name'] : []),
      ]);
    }
  }
  for (const { mapping, point } of selfMetricPoints(EVERY_SELF_METRIC_RUN)) {
    add(prometheusMetricName(mapping), Object.keys(point.attributes));
  }
  // The drop count is built inline in `runCollection`, labelled by the refused metric; its unit `{series}` is an
  // annotation, which adds no word to the name.
  add(prometheusMetricName({ name: CARDINALITY_DROPPED, unit: '{series}', kind: 'gauge' }), ['metric']);
  cachedLabels = labels;
  return labels;
}

/** Every Prometheus metric name pgotel can emit without custom queries (the keys of {@link catalogLabelNames}). */
export function catalogPrometheusNames(): ReadonlySet<string> {
  return new Set(catalogLabelNames().keys());
}

/** Aggregation operators: followed by `by`/`without` or `(`, never metric names. */
const AGGREGATIONS: ReadonlySet<string> = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);

/** Keywords whose parenthesised argument is a list of label names. */
const LABEL_LIST_KEYWORDS: ReadonlySet<string> = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
]);

/** Binary operators and modifiers spelled as words; `inf` and `nan` are number literals. */
const OTHER_KEYWORDS: ReadonlySet<string> = new Set([
  'and',
  'or',
  'unless',
  'atan2',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** A PromQL expression that cannot be read: the message says where. */
export class PromQLSyntaxError extends Error {
  override readonly name = 'PromQLSyntaxError';
}

const IDENT_START = /[a-zA-Z_:]/;
const IDENT_PART = /[a-zA-Z0-9_:]/;

/** Index just after the string literal that opens at `start` (`"`, `'` or a backtick; backticks have no escapes). */
function skipString(expr: string, start: number): number {
  const quote = expr[start];
  let i = start + 1;
  while (i < expr.length) {
    const char = expr[i];
    if (char === '\\' && quote !== '`') i += 2;
    else if (char === quote) return i + 1;
    else i += 1;
  }
  throw new PromQLSyntaxError(`unterminated string starting at offset ${start} in ${JSON.stringify(expr)}`);
}

/** The value of the string literal at `start` (escapes are only unwrapped, which metric names never need). */
function stringValue(expr: string, start: number, end: number): string {
  return expr.slice(start + 1, end - 1).replace(/\\(.)/g, '$1');
}

/**
 * Index just after the bracket that closes the one at `start`, skipping strings; `onName` receives the
 * metric names found inside label matchers (`{__name__="x"}`, or the quoted name of `{"x", job="y"}`).
 */
function skipGroup(expr: string, start: number, onName?: (name: string) => void): number {
  const open = expr[start];
  const close = open === '{' ? '}' : open === '[' ? ']' : ')';
  let i = start + 1;
  // Inside `{…}`: the matcher being read, as [label name or quoted string, operator, value].
  let matcher: string[] = [];
  const endMatcher = (): void => {
    const [first, op, value] = matcher;
    matcher = [];
    if (first === undefined) return;
    const quoted = first.startsWith('"');
    const label = quoted ? first.slice(1) : first;
    if (op === undefined && quoted) onName?.(label);
    else if (label === '__name__' && op === '=' && value !== undefined) onName?.(value);
  };
  while (i < expr.length) {
    const char = expr[i] ?? '';
    if (char === close) {
      if (open === '{') endMatcher();
      return i + 1;
    }
    if (char === '"' || char === "'" || char === '`') {
      const end = skipString(expr, i);
      const value = stringValue(expr, i, end);
      // A quoted string in the label-name position is a (UTF-8) label or metric name: mark it as quoted.
      matcher.push(matcher.length === 0 ? `"${value}` : value);
      i = end;
    } else if (open === '{' && char === ',') {
      endMatcher();
      i += 1;
    } else if (open === '{' && /[=!~]/.test(char)) {
      let op = char;
      while (/[=~]/.test(expr[i + op.length] ?? '')) op += expr[i + op.length];
      matcher.push(op);
      i += op.length;
    } else if (open === '{' && IDENT_START.test(char)) {
      let end = i + 1;
      while (end < expr.length && IDENT_PART.test(expr[end] ?? '')) end += 1;
      matcher.push(expr.slice(i, end));
      i = end;
    } else if (char === '#') {
      i = skipComment(expr, i);
    } else {
      i += 1;
    }
  }
  throw new PromQLSyntaxError(
    `unclosed ${JSON.stringify(open)} at offset ${start} in ${JSON.stringify(expr)}`,
  );
}

function skipComment(expr: string, start: number): number {
  const end = expr.indexOf('\n', start);
  return end === -1 ? expr.length : end + 1;
}

function skipSpace(expr: string, start: number): number {
  let i = start;
  while (i < expr.length && /\s/.test(expr[i] ?? '')) i += 1;
  return i;
}

/**
 * The metric names a PromQL expression selects, in order of first appearance, without duplicates:
 * bare selectors (`up`, `rate(x_total[5m])`), `{__name__="x"}` and quoted names (`{"x"}`). Names of
 * recording rules (`instance:up:min`) are returned like any other; the caller resolves them.
 *
 * Skipped: function and aggregation names (an identifier before `(`), label matchers and label lists
 * (`by (…)`, `on (…)`, `group_left (…)`), strings, numbers and durations, ranges and subqueries (`[5m:1m]`),
 * keywords (`and`, `or`, `unless`, `bool`, `offset`, …), comments and Grafana variables (`$instance`,
 * `${instance}`), so dashboard queries can be checked as they are.
 * @throws {PromQLSyntaxError} on an unterminated string or bracket.
 */
export function metricNamesInPromQL(expr: string): string[] {
  const names: string[] = [];
  const add = (name: string): void => {
    if (!names.includes(name)) names.push(name);
  };
  let i = 0;
  while (i < expr.length) {
    const char = expr[i] ?? '';
    if (char === '"' || char === "'" || char === '`') {
      i = skipString(expr, i);
    } else if (char === '#') {
      i = skipComment(expr, i);
    } else if (char === '{' || char === '[') {
      i = skipGroup(expr, i, add);
    } else if (char === '$') {
      // A Grafana template variable (`$instance`, `${instance:regex}`, `$__rate_interval`), not a name.
      const close = expr[i + 1] === '{' ? expr.indexOf('}', i) : -1;
      i = close === -1 ? i + 1 : close + 1;
      while (close === -1 && i < expr.length && /[a-zA-Z0-9_]/.test(expr[i] ?? '')) i += 1;
    } else if (/[0-9.]/.test(char)) {
      // Numbers, hex, exponents and durations (`5m`, `1h30m`, `1e3`, `0x1f`) in one run.
      i += 1;
      while (i < expr.length && /[0-9a-zA-Z_.]/.test(expr[i] ?? '')) i += 1;
    } else if (IDENT_START.test(char)) {
      let end = i + 1;
      while (end < expr.length && IDENT_PART.test(expr[end] ?? '')) end += 1;
      const word = expr.slice(i, end);
      const next = skipSpace(expr, end);
      const lower = word.toLowerCase();
      if (LABEL_LIST_KEYWORDS.has(lower)) {
        i = expr[next] === '(' ? skipGroup(expr, next) : next;
      } else if (AGGREGATIONS.has(lower) || OTHER_KEYWORDS.has(lower) || expr[next] === '(') {
        i = end;
      } else {
        add(word);
        i = end;
      }
    } else {
      i += 1;
    }
  }
  return names;
}
