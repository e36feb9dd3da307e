import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { buildDashboard, stat, timeSeries } from './panels.ts';
import { increase, rate, series } from './promql.ts';
import { BY_DATABASE as D } from './variables.ts';

/** Sessions, throughput, locks and the largest and busiest tables and indexes of the selected databases. */
export function databaseDashboard(): Dashboard {
  return buildDashboard({
    uid: 'pgotel-database',
    title: 'PostgreSQL / Database',
    description: 'Per-database activity of the selected targets: pick databases with the Database variable.',
    perDatabase: true,
    sections: [
      {
        title: 'Database',
        panels: [
          stat({
            title: 'Size',
            description: '`pg_database_size()` (historical tier, every 5 minutes).',
            unit: 'bytes',
            width: 6,
            queries: [
              { expr: series('postgresql_database_size_bytes', D), legend: '{{instance}} {{database_name}}' },
            ],
          }),
          stat({
            title: 'Backends',
            description: '`pg_stat_database.numbackends`: sessions connected to the database.',
            unit: 'none',
            width: 6,
            queries: [
              { expr: series('postgresql_database_backends', D), legend: '{{instance}} {{database_name}}' },
            ],
          }),
          stat({
            title: 'Deadlocks in range',
            description: 'Deadlocks detected during the dashboard time range.',
            unit: 'none',
            width: 6,
            queries: [
              {
                expr: `sum by (instance, database_name) (increase(${series('postgresql_database_deadlocks_total', D)}[$__range]))`,
                legend: '{{instance}} {{database_name}}',
              },
            ],
            steps: [{ value: 1, color: 'red' }],
          }),
          stat({
            title: 'Temporary data in range',
            description: 'Bytes written to temporary files during the dashboard time range.',
            unit: 'bytes',
            width: 6,
            queries: [
              {
                expr: `sum by (instance, database_name) (increase(${series('postgresql_database_temp_bytes_total', D)}[$__range]))`,
                legend: '{{instance}} {{database_name}}',
              },
            ],
          }),
        ],
      },
      {
        title: 'Throughput',
        panels: [
          timeSeries({
            title: 'Transactions per second',
            description: 'Commits and rollbacks per second.',
            unit: 'ops',
            queries: [
              {
                expr: `sum by (instance, database_name, transaction_type) (${rate('postgresql_database_transactions_total', D)})`,
                legend: '{{instance}} {{database_name}} {{transaction_type}}',
              },
            ],
          }),
          timeSeries({
            title: 'Rows per second',
            description: 'Rows returned, fetched, inserted, updated and deleted per second.',
            unit: 'short',
            queries: [
              {
                expr: `sum by (instance, database_name, operation) (${rate('postgresql_database_tuples_total', D)})`,
                legend: '{{instance}} {{database_name}} {{operation}}',
              },
            ],
          }),
          timeSeries({
            title: 'Blocks read and hit',
            description: 'Blocks per second found in shared buffers (`hit`) or read from the OS (`read`).',
            unit: 'short',
            queries: [
              {
                expr: `sum by (instance, database_name, block_type) (${rate('postgresql_database_blocks_total', D)})`,
                legend: '{{instance}} {{database_name}} {{block_type}}',
              },
            ],
          }),
          timeSeries({
            title: 'Session time by state',
            description:
              'Seconds per second spent by sessions active, idle in transaction or idle: the average number of sessions in each state (PostgreSQL 14+).',
            unit: 'short',
            stack: true,
            queries: [
              {
                expr: `sum by (instance, database_name, state) (${rate('postgresql_sessions_time_seconds_total', D)})`,
                legend: '{{instance}} {{database_name}} {{state}}',
              },
            ],
          }),
        ],
      },
      {
        title: 'Sessions and locks',
        panels: [
          timeSeries({
            title: 'Client sessions',
            description: 'Client sessions by state, the collector excluded.',
            unit: 'short',
            stack: true,
            queries: [
              {
                expr: `sum by (instance, database_name) (${series('postgresql_connections_active', D)})`,
                legend: '{{instance}} {{database_name}} active',
              },
              {
                expr: `sum by (instance, database_name) (${series('postgresql_connections_idle_in_transaction', D)})`,
                legend: '{{instance}} {{database_name}} idle in transaction',
              },
              {
                expr: `sum by (instance, database_name) (${series('postgresql_connections_idle', D)})`,
                legend: '{{instance}} {{database_name}} idle',
              },
            ],
          }),
          timeSeries({
            title: 'Lock waits',
            description:
              'Sessions blocked by another session, and sessions waiting on a heavyweight lock by lock type.',
            unit: 'short',
            queries: [
              {
                expr: series('postgresql_locks_blocked_sessions', D),
                legend: '{{instance}} {{database_name}} blocked',
              },
              {
                expr: `sum by (instance, database_name, lock_type) (${series('postgresql_locks_waiting_sessions', D)})`,
                legend: '{{instance}} {{database_name}} waiting on {{lock_type}}',
              },
            ],
          }),
          timeSeries({
            title: 'Longest transaction and query',
            description: 'Age of the oldest open transaction and of the oldest running statement.',
            unit: 's',
            queries: [
              {
                expr: series('postgresql_transactions_max_duration_seconds', D),
                legend: '{{instance}} {{database_name}} transaction',
              },
              {
                expr: series('postgresql_queries_max_duration_seconds', D),
                legend: '{{instance}} {{database_name}} query',
              },
            ],
          }),
          timeSeries({
            title: 'Long-running statements',
            description:
              'Longest statement running for more than `long_running_seconds` (default 60), by user, application and state.',
            unit: 's',
            queries: [
              {
                expr: series('postgresql_queries_long_running_seconds', D),
                legend:
                  '{{instance}} {{database_name}} {{user_name}} {{application_name}} ({{connection_state}})',
              },
            ],
          }),
        ],
      },
      {
        title: 'Tables and indexes',
        panels: [
          timeSeries({
            title: 'Largest tables',
            description:
              'The 10 largest tables, indexes and TOAST included (historical tier, every 5 minutes).',
            unit: 'bytes',
            queries: [
              {
                expr: `topk(10, ${series('postgresql_table_size_bytes', D)})`,
                legend: '{{instance}} {{database_name}} {{schema_name}}.{{table_name}}',
              },
            ],
          }),
          timeSeries({
            title: 'Most written tables',
            description: 'Rows inserted, updated, deleted and HOT-updated per second, top 10.',
            unit: 'short',
            queries: [
              {
                expr: `topk(10, ${rate('postgresql_table_modifications_total', D)})`,
                legend: '{{instance}} {{database_name}} {{schema_name}}.{{table_name}} {{operation}}',
              },
            ],
          }),
          timeSeries({
            title: 'Most scanned tables',
            description: 'Sequential and index scans started per second, top 10.',
            unit: 'short',
            queries: [
              {
                expr: `topk(10, ${rate('postgresql_table_scans_total', D)})`,
                legend: '{{instance}} {{database_name}} {{schema_name}}.{{table_name}} {{scan_type}}',
              },
            ],
          }),
          timeSeries({
            title: 'Index scans',
            description:
              'Scans per window of the 10 most used indexes (index statistics run every 10 minutes).',
            unit: 'short',
            queries: [
              {
                expr: `topk(10, ${increase('postgresql_index_scans_total', D)})`,
                legend: '{{instance}} {{database_name}} {{table_name}}.{{index_name}}',
              },
            ],
          }),
        ],
      },
    ],
  });
}
