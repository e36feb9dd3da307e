import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { buildDashboard, stat, timeSeries } from './panels.ts';
import { series } from './promql.ts';
import { BY_TARGET as T } from './variables.ts';

/** pgotel's own health: reachability, run durations against the cadence, query errors, series counts. */
export function collectorDashboard(): Dashboard {
  return buildDashboard({
    uid: 'pgotel-collector',
    title: 'PostgreSQL / pgotel collector',
    description:
      "pgotel's self-metrics: every run reports `up`, its duration and series count, and each query's duration and errors.",
    perDatabase: false,
    sections: [
      {
        title: 'Runs',
        panels: [
          stat({
            title: 'Target up',
            description: '`up`: 1 when the collector reached the server, 0 when it could not.',
            unit: 'none',
            width: 6,
            queries: [{ expr: series('up', T), legend: '{{instance}}' }],
            texts: { 0: { text: 'DOWN', color: 'red' }, 1: { text: 'UP', color: 'green' } },
          }),
          stat({
            title: 'Failed queries (last run)',
            description: 'Query executions that failed in the latest run (one per failing database).',
            unit: 'none',
            width: 6,
            queries: [
              { expr: `sum by (instance) (${series('pgotel_query_errors', T)})`, legend: '{{instance}}' },
            ],
            steps: [{ value: 1, color: 'red' }],
          }),
          stat({
            title: 'Series per run',
            description: 'Series the latest run produced, self-metrics excluded.',
            unit: 'none',
            width: 6,
            queries: [{ expr: series('pgotel_collection_series', T), legend: '{{instance}}' }],
          }),
          stat({
            title: 'Run duration',
            description: 'Wall time of the latest run; the 15 s tier must finish well within 15 s.',
            unit: 's',
            width: 6,
            queries: [{ expr: series('pgotel_collection_duration_seconds', T), legend: '{{instance}}' }],
            steps: [
              { value: 5, color: 'yellow' },
              { value: 10, color: 'red' },
            ],
          }),
        ],
      },
      {
        title: 'Over time',
        panels: [
          timeSeries({
            title: 'Run duration',
            description: 'Wall time of each run (runs with the historical tier take longest).',
            unit: 's',
            queries: [{ expr: series('pgotel_collection_duration_seconds', T), legend: '{{instance}}' }],
          }),
          timeSeries({
            title: 'Slowest queries',
            description: 'Wall time of each query in its latest run (summed over databases), the 10 slowest.',
            unit: 's',
            queries: [
              {
                expr: `topk(10, ${series('pgotel_query_duration_seconds', T)})`,
                legend: '{{instance}} {{query}} ({{tier}})',
              },
            ],
          }),
          timeSeries({
            title: 'Query errors',
            description:
              'Failed executions per query and run; the collector log names the error (permission, timeout, …).',
            unit: 'short',
            queries: [
              {
                expr: `sum by (instance, query) (${series('pgotel_query_errors', T)})`,
                legend: '{{instance}} {{query}}',
              },
            ],
          }),
          timeSeries({
            title: 'Series per run',
            description: 'Series produced per run; a jump means new tables, indexes, statements or sessions.',
            unit: 'short',
            queries: [{ expr: series('pgotel_collection_series', T), legend: '{{instance}}' }],
          }),
          timeSeries({
            title: 'Series dropped by the cardinality window',
            description:
              'Series refused per run by the per-metric cardinality window (`cardinality` in the config), by metric.',
            unit: 'short',
            width: 24,
            height: 6,
            queries: [
              {
                expr: `sum by (instance, metric) (${series('pgotel_cardinality_dropped', T)})`,
                legend: '{{instance}} {{metric}}',
              },
            ],
          }),
        ],
      },
    ],
  });
}
