import { InvalidMetricNameError, prometheusMetricName } from '../export/prom-names.ts';
import type { MetricKind, Tier } from '../model/metrics.ts';
import { customQueryDefinitions } from '../queries/custom.ts';
import type { MetricMapping, QueryDefinition } from '../queries/types.ts';
import { ConfigError } from './errors.ts';
import type { PgotelConfig } from './schema.ts';

type QueryConfig = Pick<PgotelConfig, 'queries' | 'custom_queries'>;

/**
 * Metric names the collector emits itself (`collect/self-metrics.ts`, `run/run-collection.ts`): `up`, and every
 * name in the `pgotel.` namespace, present and future.
 */
function isReservedMetric(name: string, prometheusName: string): boolean {
  return (
    name === 'up' ||
    prometheusName === 'up' ||
    /^pgotel[._]/.test(name) ||
    prometheusName.startsWith('pgotel_')
  );
}

/** The Prometheus name of a mapping, or why it has none. */
function prometheusNameOf(metric: MetricMapping): { name: string } | { error: string } {
  try {
    return { name: prometheusMetricName(metric) };
  } catch (error) {
    if (error instanceof InvalidMetricNameError) return { error: 'has no letter or digit' };
    throw error;
  }
}

interface Seen {
  readonly name: string;
  readonly kind: MetricKind;
  readonly unit: string;
  readonly tier: Tier;
  /** `custom_queries[i].metrics[j].name`, or `built-in query <name>`. */
  readonly where: string;
}

/**
 * Metric-name problems of the custom queries. One Prometheus name must mean one metric family in one batch:
 * a custom metric may not take a built-in metric's name, a self-metric's, or another custom metric's with a
 * different kind, unit or tier, and two different names may not become one Prometheus name (`custom.a` and
 * `custom_a`); otherwise the output has two `# HELP`/`# TYPE` blocks, or one series gets two meanings.
 */
function metricProblems(custom: readonly QueryDefinition[], builtins: readonly QueryDefinition[]): string[] {
  const problems: string[] = [];
  const byName = new Map<string, Seen>();
  const byPrometheusName = new Map<string, Seen>();
  for (const query of builtins) {
    for (const metric of query.metrics) {
      const seen = { ...metric, tier: query.tier, where: `built-in query ${query.name}` };
      const prometheus = prometheusNameOf(metric);
      if ('name' in prometheus && !byPrometheusName.has(prometheus.name))
        byPrometheusName.set(prometheus.name, seen);
      if (!byName.has(metric.name)) byName.set(metric.name, seen);
    }
  }
  custom.forEach((query, i) => {
    query.metrics.forEach((metric, j) => {
      const field = `custom_queries[${i}].metrics[${j}].name`;
      const seen: Seen = { ...metric, tier: query.tier, where: field };
      const shown = JSON.stringify(metric.name);
      const prometheus = prometheusNameOf(metric);
      if ('error' in prometheus) {
        problems.push(`${field}: ${shown} ${prometheus.error}`);
        return;
      }
      if (isReservedMetric(metric.name, prometheus.name)) {
        problems.push(`${field}: ${shown} is reserved for pgotel's own metrics (up, pgotel.*)`);
        return;
      }
      const same = byName.get(metric.name);
      const samePrometheus = byPrometheusName.get(prometheus.name);
      if (same?.where.startsWith('built-in') === true) {
        problems.push(`${field}: ${shown} is a built-in metric (${same.where}); choose another name`);
      } else if (same !== undefined && (same.kind !== metric.kind || same.unit !== metric.unit)) {
        problems.push(
          `${field}: ${shown} is already a ${same.kind} in "${same.unit}" (${same.where}), here a ${metric.kind} in "${metric.unit}"`,
        );
      } else if (same !== undefined && same.tier !== query.tier) {
        problems.push(
          `${field}: ${shown} is already collected in the ${same.tier} tier (${same.where}); one metric comes from one tier`,
        );
      } else if (same === undefined && samePrometheus !== undefined) {
        problems.push(
          `${field}: ${shown} becomes ${prometheus.name} in Prometheus, like ${JSON.stringify(samePrometheus.name)} (${samePrometheus.where}); choose another name`,
        );
      } else if (same === undefined) {
        byName.set(metric.name, seen);
        byPrometheusName.set(prometheus.name, seen);
      }
    });
  });
  return problems;
}

/**
 * What is wrong with the queries a config asks for, one line per problem naming the field: unknown names in
 * `queries.disable` / `queries.intervals`, custom query names that clash, custom metric names that clash
 * (see {@link metricProblems}). Empty when the config is sound. `parseConfig` runs this, so a config file
 * with such a problem fails to load, naming the file.
 */
export function querySetProblems(config: QueryConfig, builtins: readonly QueryDefinition[]): string[] {
  const problems: string[] = [];
  const builtinNames = new Set(builtins.map((q) => q.name));
  const custom = customQueryDefinitions(config.custom_queries);
  const allNames = new Set(builtinNames);
  custom.forEach((query, i) => {
    if (allNames.has(query.name))
      problems.push(`custom_queries[${i}].name: "${query.name}" is already used by another query`);
    allNames.add(query.name);
  });
  problems.push(...metricProblems(custom, builtins));
  config.queries.disable.forEach((name, i) => {
    if (!builtinNames.has(name)) problems.push(`queries.disable[${i}]: no built-in query named "${name}"`);
  });
  for (const name of Object.keys(config.queries.intervals)) {
    if (!allNames.has(name)) problems.push(`queries.intervals.${name}: no query named "${name}"`);
  }
  return problems;
}

/**
 * The queries a config asks for: built-ins minus `queries.disable`, plus `custom_queries`.
 * @throws ConfigError with every {@link querySetProblems} (a config that did not come through `parseConfig`)
 */
export function buildQuerySet(config: QueryConfig, builtins: readonly QueryDefinition[]): QueryDefinition[] {
  const problems = querySetProblems(config, builtins);
  if (problems.length > 0) throw new ConfigError(undefined, problems);
  const disabled = new Set(config.queries.disable);
  return [...builtins.filter((q) => !disabled.has(q.name)), ...customQueryDefinitions(config.custom_queries)];
}
