import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  catalogLabelNames,
  catalogPrometheusNames,
  metricNamesInPromQL,
  PromQLSyntaxError,
} from '../../ops/catalog-names.ts';

/**
 * The metric tables of docs/metrics.md: Prometheus name → label names (the union over the rows that name it;
 * `operation`=read\|write is the label `operation`, `—` is none).
 */
function documentedLabels(): Map<string, Set<string>> {
  const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
  const labels = new Map<string, Set<string>>();
  for (const match of doc.matchAll(
    /^\| `[a-z_.]+` \| `([a-z_]+)` \| (?:gauge|counter) \| [^|]+ \| (.*) \|$/gm,
  )) {
    const name = match[1] ?? '';
    const set = labels.get(name) ?? new Set<string>();
    for (const label of (match[2] ?? '').matchAll(/`([a-z_]+)`/g)) set.add(label[1] ?? '');
    labels.set(name, set);
  }
  return labels;
}

const SELF_METRICS: ReadonlyMap<string, readonly string[]> = new Map([
  ['up', []],
  ['pgotel_collection_duration_seconds', []],
  ['pgotel_collection_series', []],
  ['pgotel_query_duration_seconds', ['query', 'tier']],
  ['pgotel_query_errors', ['query', 'tier']],
  ['pgotel_cardinality_dropped', ['metric']],
]);

describe('catalogPrometheusNames', () => {
  it('is the documented catalog plus the self-metrics', () => {
    // Prepare
    const documented = [...documentedLabels().keys()];

    // Act
    const names = catalogPrometheusNames();

    // Assess: self-metrics a query reports on itself (`pgotel_*`) are documented with the collector, not in
    // the metric tables.
    expect(documented.length).toBeGreaterThanOrEqual(89);
    expect(documented.filter((name) => !names.has(name))).toEqual([]);
    expect([...SELF_METRICS.keys()].filter((name) => !names.has(name))).toEqual([]);
    const undocumented = [...names].filter((name) => !documented.includes(name) && !SELF_METRICS.has(name));
    expect(undocumented.filter((name) => !name.startsWith('pgotel_'))).toEqual([]);
  });

  it('gives every metric the labels docs/metrics.md documents, and the self-metrics theirs', () => {
    const labels = catalogLabelNames();
    const expected = new Map([
      ...documentedLabels(),
      ...[...SELF_METRICS].map(([k, v]) => [k, new Set(v)] as const),
    ]);
    for (const [name, set] of expected)
      expect([...(labels.get(name) ?? [])].sort(), name).toEqual([...set].sort());
    expect([...(labels.get('postgresql_bgwriter_buffers_written_total') ?? [])]).toEqual(['source']);
    expect([...(labels.get('postgresql_vacuum_dead_tuples') ?? [])].sort()).toEqual([
      'database_name',
      'schema_name',
      'table_name',
    ]);
  });

  it('names the metrics the alert rules rely on exactly as the exporter does', () => {
    const names = catalogPrometheusNames();
    for (const name of [
      'postgresql_wal_files',
      'postgresql_cache_hit_ratio',
      'postgresql_database_wraparound_ratio',
      'postgresql_table_bloat_percent',
      'postgresql_checkpoint_time_seconds_total',
      'postgresql_bgwriter_checkpoints_total',
    ]) {
      expect(names.has(name), name).toBe(true);
    }
    expect(names.has('pg_up')).toBe(false);
    expect(names.has('postgresql_checkpoint_time_milliseconds')).toBe(false);
  });
});

describe('metricNamesInPromQL', () => {
  const cases: Array<[string, string[]]> = [
    ['up == 0', ['up']],
    [
      'sum by (instance, database_name) (rate(postgresql_database_blocks_total{block_type="hit"}[5m]))',
      ['postgresql_database_blocks_total'],
    ],
    // Label lists of every modifier, `bool`, `offset`, durations, numbers and `Inf` are not names.
    [
      'max_over_time(up[10m] offset 1m) unless on (instance) group_left (db_role) up > bool 0.5e1 + 0x1F - Inf',
      ['up'],
    ],
    // Aggregation with the modifier after the body; `topk`'s parameter is a number.
    ['topk(5, postgresql_table_bloat_percent) without (schema_name)', ['postgresql_table_bloat_percent']],
    // Subquery ranges and `@` modifiers.
    ['max_over_time(rate(a_total[5m])[1h:1m] @ end())', ['a_total']],
    // Names spelled as matchers, recording rules, repeated names once, set operators.
    [
      '{__name__="x_total", job!~"a,b"} and {"y.z"} or instance:up:min or x_total',
      ['x_total', 'y.z', 'instance:up:min'],
    ],
    // Strings that look like names, `__name__` with a regex (not one name), comments.
    ['label_replace(a, "dst", "up", "src", "(.*)") + {__name__=~"b.*"} # c_total\n+ count(d)', ['a', 'd']],
    ['absent_over_time(up{instance="orders-primary"}[5m])', ['up']],
    // Grafana variables, in and outside brackets and matchers.
    [
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's ${name} syntax, not a JavaScript template
      'topk($n, rate(x_total{instance=~"$instance"}[$__rate_interval])) / ${scale} * ${factor:raw} + y',
      ['x_total', 'y'],
    ],
  ];

  it.each(cases)('%s', (expr, expected) => {
    expect(metricNamesInPromQL(expr)).toEqual(expected);
  });

  it('refuses an unterminated string or bracket, quoting the expression', () => {
    expect(() => metricNamesInPromQL('up{job="a}')).toThrow(PromQLSyntaxError);
    expect(() => metricNamesInPromQL('rate(x[5m)')).toThrow('unclosed "[" at offset 6 in "rate(x[5m)"');
  });
});
