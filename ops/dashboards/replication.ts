import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { buildDashboard, stat, timeSeries } from './panels.ts';
import { increase, rate, series } from './promql.ts';
import { BY_TARGET as T } from './variables.ts';

/** Standbys as the primary sees them, lag as the replica sees it, replication slots, WAL and archiving. */
export function replicationDashboard(): Dashboard {
  const standby = '{{instance}} → {{application_name}}';
  const slot = '{{instance}} {{slot_name}} ({{slot_type}})';
  return buildDashboard({
    uid: 'pgotel-replication',
    title: 'PostgreSQL / Replication',
    description:
      'Streaming replication, slots and WAL of the selected targets: select the primary and its replicas together.',
    perDatabase: false,
    sections: [
      {
        title: 'Standbys (on the primary)',
        panels: [
          stat({
            title: 'Replicas',
            height: 8,
            description: 'WAL senders connected: standbys, base backups, logical subscribers.',
            unit: 'none',
            queries: [{ expr: series('postgresql_replication_replicas', T), legend: '{{instance}}' }],
          }),
          timeSeries({
            title: 'Standby lag (bytes)',
            description: 'WAL sent but not yet flushed (`flush`) or replayed (`replay`) by each standby.',
            unit: 'bytes',
            width: 10,
            queries: [
              { expr: series('postgresql_replication_lag_bytes', T), legend: `${standby} flush` },
              { expr: series('postgresql_replication_replay_lag_bytes', T), legend: `${standby} replay` },
            ],
          }),
          timeSeries({
            title: 'Standby lag (time)',
            description:
              '`pg_stat_replication` write, flush and replay lag; 0 when an idle standby has caught up.',
            unit: 's',
            width: 10,
            queries: [
              { expr: series('postgresql_replication_write_lag_seconds', T), legend: `${standby} write` },
              { expr: series('postgresql_replication_flush_lag_seconds', T), legend: `${standby} flush` },
              { expr: series('postgresql_replication_replay_lag_seconds', T), legend: `${standby} replay` },
            ],
          }),
        ],
      },
      {
        title: 'Replicas (on the replica)',
        panels: [
          stat({
            title: 'WAL receiver',
            height: 8,
            description: '1 while the replica streams WAL from its primary.',
            unit: 'none',
            queries: [{ expr: series('postgresql_wal_receiver_connected', T), legend: '{{instance}}' }],
            texts: { 0: { text: 'NOT STREAMING', color: 'red' }, 1: { text: 'STREAMING', color: 'green' } },
          }),
          timeSeries({
            title: 'Replay delay',
            description:
              'Time since the last replayed transaction was committed on the primary; 0 when everything received is replayed.',
            unit: 's',
            width: 10,
            queries: [{ expr: series('postgresql_replication_lag_seconds', T), legend: '{{instance}}' }],
          }),
          timeSeries({
            title: 'Received, not yet replayed',
            description: 'WAL the replica has received but not yet applied.',
            unit: 'bytes',
            width: 10,
            queries: [
              { expr: series('postgresql_replication_replay_lag_bytes_local', T), legend: '{{instance}}' },
            ],
          }),
        ],
      },
      {
        title: 'Replication slots',
        panels: [
          timeSeries({
            title: 'WAL retained by slots',
            description: 'WAL each slot keeps from removal (current position − `restart_lsn`).',
            unit: 'bytes',
            queries: [{ expr: series('postgresql_replication_slot_lag_bytes', T), legend: slot }],
          }),
          timeSeries({
            title: 'Logical slots: unconfirmed WAL',
            description:
              'WAL the logical consumer has not confirmed yet (current position − `confirmed_flush_lsn`).',
            unit: 'bytes',
            queries: [{ expr: series('postgresql_replication_slot_confirmed_lag_bytes', T), legend: slot }],
          }),
          timeSeries({
            title: 'WAL left before a slot is invalidated',
            description: '`safe_wal_size`: only when `max_slot_wal_keep_size` is set.',
            unit: 'bytes',
            queries: [{ expr: series('postgresql_replication_slot_safe_wal_size_bytes', T), legend: slot }],
          }),
          timeSeries({
            title: 'Inactive slots: time unused',
            description: 'Time since an inactive slot was last used (PostgreSQL 17+).',
            unit: 's',
            queries: [{ expr: series('postgresql_replication_slot_inactive_age_seconds', T), legend: slot }],
          }),
        ],
      },
      {
        title: 'WAL and archiving',
        panels: [
          timeSeries({
            title: 'WAL generated',
            description: 'Bytes of WAL per second (rate of the WAL position; replay position on a replica).',
            unit: 'Bps',
            width: 6,
            queries: [{ expr: rate('postgresql_wal_position_bytes', T), legend: '{{instance}}' }],
          }),
          timeSeries({
            title: 'Size of pg_wal',
            description:
              'Segments in `pg_wal`: grows when slots, `wal_keep_size` or a failing archiver keep WAL.',
            unit: 'bytes',
            width: 6,
            queries: [{ expr: series('postgresql_wal_size_bytes', T), legend: '{{instance}}' }],
          }),
          timeSeries({
            title: 'WAL archiving',
            description: 'Segments archived and archive failures per rate window (`pg_stat_archiver`).',
            unit: 'short',
            width: 6,
            queries: [
              { expr: increase('postgresql_archiver_archived_total', T), legend: '{{instance}} archived' },
              { expr: increase('postgresql_archiver_failed_total', T), legend: '{{instance}} failed' },
            ],
          }),
          timeSeries({
            title: 'Recovery conflicts',
            description: 'Queries cancelled on a standby by replay, by conflict type, per rate window.',
            unit: 'short',
            width: 6,
            queries: [
              {
                expr: `sum by (instance, conflict_type) (${increase('postgresql_database_conflicts_total', T)})`,
                legend: '{{instance}} {{conflict_type}}',
              },
            ],
          }),
        ],
      },
    ],
  });
}
