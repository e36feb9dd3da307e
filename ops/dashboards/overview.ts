import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { buildDashboard, stat, timeSeries } from './panels.ts';
import { increase, rate, series } from './promql.ts';
import { BY_TARGET as T } from './variables.ts';

/** Health of every selected target at a glance: availability, saturation, throughput, WAL, checkpoints. */
export function overviewDashboard(): Dashboard {
  return buildDashboard({
    uid: 'pgotel-overview',
    title: 'PostgreSQL / Overview',
    description: 'Every selected pgotel target at a glance. Per-database detail: "PostgreSQL / Database".',
    perDatabase: false,
    sections: [
      {
        title: 'Status',
        panels: [
          stat({
            title: 'Target up',
            description: '`up`: 1 when the collector reached the server, 0 when it could not.',
            unit: 'none',
            queries: [{ expr: series('up', T), legend: '{{instance}}' }],
            texts: { 0: { text: 'DOWN', color: 'red' }, 1: { text: 'UP', color: 'green' } },
          }),
          stat({
            title: 'Connections used',
            description: 'Client sessions of all databases over `max_connections`.',
            unit: 'percentunit',
            queries: [
              {
                expr: `sum by (instance) (${series('postgresql_database_backends', T)}) / max by (instance) (${series('postgresql_settings_max_connections', T)})`,
                legend: '{{instance}}',
              },
            ],
            steps: [
              { value: 0.75, color: 'yellow' },
              { value: 0.9, color: 'red' },
            ],
          }),
          stat({
            title: 'Longest transaction',
            description: 'Age of the oldest open transaction of a client session.',
            unit: 's',
            queries: [
              {
                expr: `max by (instance) (${series('postgresql_transactions_max_duration_seconds', T)})`,
                legend: '{{instance}}',
              },
            ],
            steps: [
              { value: 300, color: 'yellow' },
              { value: 3600, color: 'red' },
            ],
          }),
          stat({
            title: 'Blocked sessions',
            description: 'Sessions waiting for a lock another session holds.',
            unit: 'none',
            queries: [
              {
                expr: `sum by (instance) (${series('postgresql_locks_blocked_sessions', T)})`,
                legend: '{{instance}}',
              },
            ],
            steps: [{ value: 1, color: 'red' }],
          }),
          stat({
            title: 'Wraparound',
            description:
              'Oldest database `age(datfrozenxid)` over `autovacuum_freeze_max_age`; at 100 % anti-wraparound vacuums start.',
            unit: 'percentunit',
            queries: [
              {
                expr: `max by (instance) (${series('postgresql_database_wraparound_ratio', T)})`,
                legend: '{{instance}}',
              },
            ],
            steps: [
              { value: 0.75, color: 'yellow' },
              { value: 1, color: 'red' },
            ],
          }),
          stat({
            title: 'Replicas',
            description: 'WAL senders (standbys, base backups, logical subscribers) connected to the server.',
            unit: 'none',
            queries: [{ expr: series('postgresql_replication_replicas', T), legend: '{{instance}}' }],
          }),
        ],
      },
      {
        title: 'Activity',
        panels: [
          timeSeries({
            title: 'Transactions per second',
            description: 'Commits and rollbacks of all databases (`pg_stat_database`).',
            unit: 'ops',
            queries: [
              {
                expr: `sum by (instance, transaction_type) (${rate('postgresql_database_transactions_total', T)})`,
                legend: '{{instance}} {{transaction_type}}',
              },
            ],
          }),
          timeSeries({
            title: 'Client sessions by state',
            description: 'Client sessions by `pg_stat_activity.state`, the collector excluded.',
            unit: 'short',
            stack: true,
            queries: [
              {
                expr: `sum by (instance, connection_state) (${series('postgresql_database_connections', T)})`,
                legend: '{{instance}} {{connection_state}}',
              },
            ],
          }),
          timeSeries({
            title: 'Cache hit ratio',
            description: 'Share of block reads served from shared buffers, over the rate window.',
            unit: 'percentunit',
            queries: [
              {
                expr: `sum by (instance) (${rate('postgresql_database_blocks_total', `${T},block_type="hit"`)}) / sum by (instance) (${rate('postgresql_database_blocks_total', T)})`,
                legend: '{{instance}}',
              },
            ],
          }),
          timeSeries({
            title: 'Active sessions waiting',
            description:
              'Active client sessions with a wait event, by `wait_event_type` (Lock, IO, LWLock, …).',
            unit: 'short',
            stack: true,
            queries: [
              {
                expr: `sum by (instance, wait_event_type) (${series('postgresql_connections_waiting', T)})`,
                legend: '{{instance}} {{wait_event_type}}',
              },
            ],
          }),
          timeSeries({
            title: 'WAL generated',
            description: 'Bytes of WAL written per second: the rate of the WAL position (LSN).',
            unit: 'Bps',
            queries: [{ expr: rate('postgresql_wal_position_bytes', T), legend: '{{instance}}' }],
          }),
          timeSeries({
            title: 'Database size',
            description: '`pg_database_size()` of every database (historical tier, every 5 minutes).',
            unit: 'bytes',
            queries: [
              {
                expr: series('postgresql_database_size_bytes', T),
                legend: '{{instance}} {{database_name}}',
              },
            ],
          }),
        ],
      },
      {
        title: 'Checkpoints and I/O',
        panels: [
          timeSeries({
            title: 'Checkpoints',
            description:
              'Checkpoints started per rate window: `timed` (checkpoint_timeout) or `requested` (WAL volume, manual).',
            unit: 'short',
            queries: [
              {
                expr: `sum by (instance, type) (${increase('postgresql_bgwriter_checkpoints_total', T)})`,
                legend: '{{instance}} {{type}}',
              },
            ],
          }),
          timeSeries({
            title: 'Buffers written',
            description:
              'Shared buffers written per second by the checkpointer, the background writer and (≤ 16) backends.',
            unit: 'short',
            stack: true,
            queries: [
              {
                expr: `sum by (instance, source) (${rate('postgresql_bgwriter_buffers_written_total', T)})`,
                legend: '{{instance}} {{source}}',
              },
            ],
          }),
          timeSeries({
            title: 'I/O operations (pg_stat_io)',
            description: 'Reads, writes, extends, hits… per second of all backend types (PostgreSQL 16+).',
            unit: 'ops',
            queries: [
              {
                expr: `sum by (instance, operation) (${rate('postgresql_io_operations_total', T)})`,
                legend: '{{instance}} {{operation}}',
              },
            ],
          }),
          timeSeries({
            title: 'Temporary files written',
            description:
              'Bytes per second spilled to temporary files (sorts and hashes larger than `work_mem`).',
            unit: 'Bps',
            queries: [
              {
                expr: `sum by (instance) (${rate('postgresql_database_temp_bytes_total', T)})`,
                legend: '{{instance}}',
              },
            ],
          }),
        ],
      },
    ],
  });
}
