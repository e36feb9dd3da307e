import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { buildDashboard, stat, timeSeries } from './panels.ts';
import { rate, series } from './promql.ts';
import { BY_DATABASE as D, BY_TARGET as T } from './variables.ts';

/** The top statements from pg_stat_statements by time, calls, rows and block reads. */
export function statementsDashboard(): Dashboard {
  const statement = '{{instance}} {{database_name}} {{query}}';
  /** `topk(10, …)` of a per-statement counter's rate, summed over users. */
  const top = (metric: string): string =>
    `topk(10, sum by (instance, database_name, queryid, query) (${rate(metric, D)}))`;
  return buildDashboard({
    uid: 'pgotel-statements',
    title: 'PostgreSQL / Statements',
    description:
      'The statements pgotel exports from pg_stat_statements (top `max_statements` by total time, texts only for normalized statements).',
    perDatabase: true,
    sections: [
      {
        title: 'pg_stat_statements',
        panels: [
          stat({
            title: 'Statements tracked',
            description: 'Entries in pg_stat_statements; near `pg_stat_statements.max`, entries get evicted.',
            unit: 'none',
            width: 12,
            queries: [{ expr: series('postgresql_statements_tracked', T), legend: '{{instance}}' }],
          }),
          stat({
            title: 'Evictions in range',
            description:
              'Entries evicted to make room during the time range (PostgreSQL 14+): top-N numbers are then incomplete.',
            unit: 'none',
            width: 12,
            queries: [
              {
                expr: `increase(${series('postgresql_statements_deallocations_total', T)}[$__range])`,
                legend: '{{instance}}',
              },
            ],
            steps: [{ value: 1, color: 'yellow' }],
          }),
        ],
      },
      {
        title: 'Top statements',
        panels: [
          timeSeries({
            title: 'Execution time per second',
            description:
              'Seconds of execution per second (how many backends the statement keeps busy), top 10.',
            unit: 's',
            queries: [{ expr: top('postgresql_statements_exec_time_seconds_total'), legend: statement }],
          }),
          timeSeries({
            title: 'Calls per second',
            description: 'Executions per second, top 10.',
            unit: 'ops',
            queries: [{ expr: top('postgresql_statements_calls_total'), legend: statement }],
          }),
          timeSeries({
            title: 'Mean time per call',
            description: 'Execution time over calls in the rate window, the 10 slowest.',
            unit: 's',
            queries: [
              {
                expr: `topk(10, sum by (instance, database_name, queryid, query) (${rate('postgresql_statements_exec_time_seconds_total', D)}) / sum by (instance, database_name, queryid, query) (${rate('postgresql_statements_calls_total', D)}))`,
                legend: statement,
              },
            ],
          }),
          timeSeries({
            title: 'Rows per second',
            description: 'Rows returned or affected per second, top 10.',
            unit: 'short',
            queries: [{ expr: top('postgresql_statements_rows_total'), legend: statement }],
          }),
          timeSeries({
            title: 'Shared blocks read per second',
            description: 'Blocks not found in shared buffers (read from the OS cache or disk), top 10.',
            unit: 'short',
            queries: [{ expr: top('postgresql_statements_shared_blocks_read_total'), legend: statement }],
          }),
          timeSeries({
            title: 'Shared blocks hit per second',
            description: 'Blocks found in shared buffers, top 10.',
            unit: 'short',
            queries: [{ expr: top('postgresql_statements_shared_blocks_hit_total'), legend: statement }],
          }),
        ],
      },
    ],
  });
}
