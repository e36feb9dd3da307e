import type { QueryDefinition } from './types.ts';

/**
 * Critical tier (every 15 s): sessions, locks, WAL position and replication. Every query here reads
 * in-memory views only (no relation sizes, no per-table statistics), so the whole tier stays far below
 * its 50 ms budget. All are cluster-scoped: they run once per target, on the connection database.
 */

const DATABASE = { column: 'database_name' } as const;

/**
 * Client sessions from one pass over `pg_stat_activity`: the CTE is materialized, so the view's
 * function runs once and the four aggregations read the copy. The collector's own session is left out.
 * Each branch fills its own value columns and leaves the others NULL, which yields no point.
 */
const ACTIVITY_SQL = `
WITH a AS MATERIALIZED (
  SELECT datname, usename, nullif(application_name, '') AS application_name, state,
         wait_event_type, wait_event, xact_start, query_start
    FROM pg_stat_activity
   WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
)
SELECT datname AS database_name, usename AS user_name, application_name,
       NULL::text AS wait_event_type, NULL::text AS wait_event, NULL::text AS connection_state,
       count(*) FILTER (WHERE state = 'active') AS active,
       count(*) FILTER (WHERE state = 'idle') AS idle,
       count(*) FILTER (WHERE state IN ('idle in transaction', 'idle in transaction (aborted)')) AS idle_in_transaction,
       NULL::bigint AS waiting, NULL::bigint AS connections,
       NULL::float8 AS transaction_max_duration, NULL::float8 AS query_max_duration
  FROM a
 GROUP BY datname, usename, application_name
UNION ALL
SELECT datname, NULL, NULL, wait_event_type, wait_event, NULL,
       NULL, NULL, NULL, count(*), NULL, NULL, NULL
  FROM a
 WHERE state = 'active' AND wait_event IS NOT NULL
 GROUP BY datname, wait_event_type, wait_event
UNION ALL
SELECT datname, NULL, NULL, NULL, NULL, coalesce(state, 'unknown'),
       NULL, NULL, NULL, NULL, count(*), NULL, NULL
  FROM a
 GROUP BY datname, coalesce(state, 'unknown')
UNION ALL
SELECT datname, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL,
       coalesce(extract(epoch FROM now() - min(xact_start)), 0)::float8,
       coalesce(extract(epoch FROM now() - min(query_start) FILTER (WHERE state = 'active')), 0)::float8
  FROM a
 GROUP BY datname`;

const USER_APP = [DATABASE, { column: 'user_name' }, { column: 'application_name' }] as const;

/** Sessions by state, sessions waiting, and the oldest open transaction and running query per database. */
export const ACTIVITY: QueryDefinition = {
  name: 'activity',
  tier: 'critical',
  scope: 'cluster',
  sql: [{ sql: ACTIVITY_SQL }],
  metrics: [
    {
      name: 'postgresql.connections.active',
      kind: 'gauge',
      unit: '{connection}',
      description: 'Client sessions running a statement.',
      valueColumn: 'active',
      attributes: USER_APP,
    },
    {
      name: 'postgresql.connections.idle',
      kind: 'gauge',
      unit: '{connection}',
      description: 'Client sessions waiting for a new command.',
      valueColumn: 'idle',
      attributes: USER_APP,
    },
    {
      name: 'postgresql.connections.idle_in_transaction',
      kind: 'gauge',
      unit: '{connection}',
      description: 'Client sessions idle inside a transaction (aborted ones included).',
      valueColumn: 'idle_in_transaction',
      attributes: USER_APP,
    },
    {
      name: 'postgresql.connections.waiting',
      kind: 'gauge',
      unit: '{connection}',
      description: 'Active client sessions waiting on a wait event (locks, I/O, LWLocks, ...).',
      valueColumn: 'waiting',
      attributes: [DATABASE, { column: 'wait_event_type' }, { column: 'wait_event' }],
    },
    {
      name: 'postgresql.database.connections',
      kind: 'gauge',
      unit: '{connection}',
      description: 'Client sessions per database and state.',
      valueColumn: 'connections',
      attributes: [DATABASE, { column: 'connection_state' }],
    },
    {
      name: 'postgresql.transactions.max_duration',
      kind: 'gauge',
      unit: 's',
      description: 'Age of the oldest open transaction of a client session; 0 when none is open.',
      valueColumn: 'transaction_max_duration',
      attributes: [DATABASE],
    },
    {
      name: 'postgresql.queries.max_duration',
      kind: 'gauge',
      unit: 's',
      description: 'Run time of the longest running active statement; 0 when none is running.',
      valueColumn: 'query_max_duration',
      attributes: [DATABASE],
    },
  ],
};

/**
 * Heavyweight lock waits. The seed's "Lock monitoring" query counted every session with any wait event,
 * background processes in their idle main loops and clients waiting for the next command included, so it
 * was never 0; what clients wait on in general is `postgresql.connections.waiting` (activity). Here only
 * `wait_event_type = 'Lock'` counts, for every backend type. `pg_blocking_pids` takes the lock manager's
 * partition locks, so it only runs for those waiters (the materialized CTE holds nothing else). Blocked
 * sessions are reported as 0 for every connectable database so alerts see a value, not silence.
 */
const LOCKS_SQL = `
WITH w AS MATERIALIZED (
  SELECT pid, datname, wait_event
    FROM pg_stat_activity
   WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()
), blocked AS (
  SELECT datname, count(*) AS n
    FROM w
   WHERE cardinality(pg_blocking_pids(pid)) > 0
   GROUP BY datname
)
SELECT datname AS database_name, wait_event AS lock_type, count(*) AS waiting_sessions,
       NULL::bigint AS blocked_sessions
  FROM w
 GROUP BY datname, wait_event
UNION ALL
SELECT d.datname, NULL, NULL, coalesce(b.n, 0)
  FROM pg_database d
  LEFT JOIN blocked b ON b.datname = d.datname
 WHERE d.datallowconn AND NOT d.datistemplate`;

/** Sessions waiting on a heavyweight lock, by lock type, and sessions blocked by another session's lock. */
export const LOCKS: QueryDefinition = {
  name: 'locks',
  tier: 'critical',
  scope: 'cluster',
  sql: [{ sql: LOCKS_SQL }],
  metrics: [
    {
      name: 'postgresql.locks.waiting_sessions',
      kind: 'gauge',
      unit: '{session}',
      description:
        'Sessions (any backend type) waiting to acquire a heavyweight lock, by lock type; no point when none waits.',
      valueColumn: 'waiting_sessions',
      attributes: [DATABASE, { column: 'lock_type' }],
    },
    {
      name: 'postgresql.locks.blocked_sessions',
      kind: 'gauge',
      unit: '{session}',
      description: 'Sessions waiting for a lock held by another session (non-empty pg_blocking_pids).',
      valueColumn: 'blocked_sessions',
      attributes: [DATABASE],
    },
  ],
};

/**
 * Seed custom query "Long running queries", grouped: one series per (database, user, application, state)
 * holding the longest duration, because one row per pid would repeat label sets. Client backends only: a
 * streaming WAL sender stays `active` with its `query_start` at connection time and would always match.
 */
const LONG_RUNNING_SQL = `
SELECT datname AS database_name, usename AS user_name, nullif(application_name, '') AS application_name,
       state AS connection_state, max(extract(epoch FROM now() - query_start))::float8 AS query_duration
  FROM pg_stat_activity
 WHERE state <> 'idle'
   AND backend_type = 'client backend'
   AND pid <> pg_backend_pid()
   AND query_start < now() - make_interval(secs => $1::float8)
 GROUP BY datname, usename, nullif(application_name, ''), state`;

/** Statements (or idle transactions) running longer than `longRunningSeconds`. */
export const LONG_RUNNING: QueryDefinition = {
  name: 'long_running',
  tier: 'critical',
  scope: 'cluster',
  sql: [{ sql: LONG_RUNNING_SQL }],
  params: ['longRunningSeconds'],
  metrics: [
    {
      name: 'postgresql.queries.long_running',
      kind: 'gauge',
      unit: 's',
      description: 'Longest time since query_start among non-idle client sessions older than the threshold.',
      valueColumn: 'query_duration',
      attributes: [...USER_APP, { column: 'connection_state' }],
    },
  ],
};

/**
 * Seed custom query "WAL generation rate": the WAL position as bytes since 0/0. A position, not an amount
 * generated since a start time (that is `postgresql.wal.bytes` from `pg_stat_wal`), hence a gauge; its
 * `rate()` is the WAL generated per second. A replica has no insert position: it reports what it replayed.
 */
export const WAL: QueryDefinition = {
  name: 'wal',
  tier: 'critical',
  scope: 'cluster',
  sql: [
    {
      role: 'primary',
      sql: `SELECT 'primary' AS server_role, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') AS wal_position`,
    },
    {
      role: 'replica',
      sql: `SELECT 'replica' AS server_role, pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0') AS wal_position`,
    },
  ],
  metrics: [
    {
      name: 'postgresql.wal.position',
      kind: 'gauge',
      unit: 'By',
      description:
        'Current WAL LSN as bytes since 0/0: the write position (pg_current_wal_lsn) on a primary, the last replayed position on a replica.',
      valueColumn: 'wal_position',
      attributes: [{ column: 'server_role' }],
    },
  ],
};

/**
 * Seed custom query "Replication slot lag", fixed: `pg_replication_slots` has no `last_confirmed_at`.
 * All slot types are reported (the seed kept logical ones only); `inactive_since` (17+) is the closest
 * real column to the seed's "seconds since confirm".
 */
function slotsSql(currentLsn: string, inactiveSince: string): string {
  return `
WITH cur AS (SELECT ${currentLsn} AS lsn)
SELECT s.slot_name, s.slot_type, s.active,
       pg_wal_lsn_diff(cur.lsn, s.restart_lsn) AS lag_bytes,
       pg_wal_lsn_diff(cur.lsn, s.confirmed_flush_lsn) AS confirmed_lag_bytes,
       s.safe_wal_size,
       ${inactiveSince} AS inactive_seconds
  FROM pg_replication_slots s CROSS JOIN cur`;
}

const REPLICA_LSN = 'coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())';
const INACTIVE_17 = 'extract(epoch FROM now() - s.inactive_since)::float8';
const SLOT = [{ column: 'slot_name' }, { column: 'slot_type' }, { column: 'active' }] as const;

/** WAL retained by each replication slot. */
export const REPLICATION_SLOTS: QueryDefinition = {
  name: 'replication_slots',
  tier: 'critical',
  scope: 'cluster',
  sql: [
    { role: 'primary', maxMajor: 16, sql: slotsSql('pg_current_wal_lsn()', 'NULL::float8') },
    { role: 'primary', minMajor: 17, sql: slotsSql('pg_current_wal_lsn()', INACTIVE_17) },
    { role: 'replica', maxMajor: 16, sql: slotsSql(REPLICA_LSN, 'NULL::float8') },
    { role: 'replica', minMajor: 17, sql: slotsSql(REPLICA_LSN, INACTIVE_17) },
  ],
  metrics: [
    {
      name: 'postgresql.replication_slot.lag_bytes',
      kind: 'gauge',
      unit: 'By',
      description:
        'WAL between the current position and the slot restart_lsn: WAL the slot keeps from removal.',
      valueColumn: 'lag_bytes',
      attributes: SLOT,
    },
    {
      name: 'postgresql.replication_slot.confirmed_lag_bytes',
      kind: 'gauge',
      unit: 'By',
      description: 'WAL between the current position and the confirmed_flush_lsn of a logical slot.',
      valueColumn: 'confirmed_lag_bytes',
      attributes: SLOT,
    },
    {
      name: 'postgresql.replication_slot.safe_wal_size',
      kind: 'gauge',
      unit: 'By',
      description:
        'WAL that can still be written before the slot is in danger of losing WAL (max_slot_wal_keep_size).',
      valueColumn: 'safe_wal_size',
      attributes: SLOT,
    },
    {
      name: 'postgresql.replication_slot.inactive_age',
      kind: 'gauge',
      unit: 's',
      description: 'Time since the slot became inactive (PostgreSQL 17+; no point while active).',
      valueColumn: 'inactive_seconds',
      attributes: SLOT,
    },
  ],
};

/**
 * Standbys streaming from this server. The lag columns are NULL once a caught-up standby has been idle
 * for a while: a position equal to `sent_lsn` then means 0, not "unknown". Rows are grouped by the label
 * set (two standbys may share application_name and address) and the standby count is always emitted.
 */
function replicationSql(currentLsn: string): string {
  return `
WITH r AS MATERIALIZED (
  SELECT application_name, coalesce(host(client_addr), 'local') AS client_addr, state,
         pg_wal_lsn_diff(${currentLsn}, flush_lsn) AS lag,
         pg_wal_lsn_diff(${currentLsn}, replay_lsn) AS replay_lag_bytes,
         CASE WHEN write_lag IS NOT NULL THEN extract(epoch FROM write_lag) WHEN write_lsn = sent_lsn THEN 0 END AS write_lag,
         CASE WHEN flush_lag IS NOT NULL THEN extract(epoch FROM flush_lag) WHEN flush_lsn = sent_lsn THEN 0 END AS flush_lag,
         CASE WHEN replay_lag IS NOT NULL THEN extract(epoch FROM replay_lag) WHEN replay_lsn = sent_lsn THEN 0 END AS replay_lag
    FROM pg_stat_replication
)
SELECT application_name, client_addr, state,
       max(lag) AS lag, max(replay_lag_bytes) AS replay_lag_bytes,
       max(write_lag)::float8 AS write_lag, max(flush_lag)::float8 AS flush_lag, max(replay_lag)::float8 AS replay_lag,
       NULL::bigint AS replicas
  FROM r
 GROUP BY application_name, client_addr, state
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, count(*) FROM r`;
}

const STANDBY = [{ column: 'application_name' }, { column: 'client_addr' }, { column: 'state' }] as const;

/** Replication from this server's point of view (a replica sees its cascaded standbys). */
export const REPLICATION: QueryDefinition = {
  name: 'replication',
  tier: 'critical',
  scope: 'cluster',
  sql: [
    { role: 'primary', sql: replicationSql('pg_current_wal_lsn()') },
    { role: 'replica', sql: replicationSql('pg_last_wal_replay_lsn()') },
  ],
  metrics: [
    {
      name: 'postgresql.replication.lag',
      kind: 'gauge',
      unit: 'By',
      description: 'WAL not yet flushed by the standby (current position minus flush_lsn, as in the seed).',
      valueColumn: 'lag',
      attributes: STANDBY,
    },
    {
      name: 'postgresql.replication.replay_lag_bytes',
      kind: 'gauge',
      unit: 'By',
      description: 'WAL not yet replayed by the standby (current position minus replay_lsn).',
      valueColumn: 'replay_lag_bytes',
      attributes: STANDBY,
    },
    {
      name: 'postgresql.replication.write_lag',
      kind: 'gauge',
      unit: 's',
      description: 'Time until recent WAL was written by the standby (pg_stat_replication.write_lag).',
      valueColumn: 'write_lag',
      attributes: STANDBY,
    },
    {
      name: 'postgresql.replication.flush_lag',
      kind: 'gauge',
      unit: 's',
      description: 'Time until recent WAL was flushed by the standby (pg_stat_replication.flush_lag).',
      valueColumn: 'flush_lag',
      attributes: STANDBY,
    },
    {
      name: 'postgresql.replication.replay_lag',
      kind: 'gauge',
      unit: 's',
      description: 'Time until recent WAL was replayed by the standby (pg_stat_replication.replay_lag).',
      valueColumn: 'replay_lag',
      attributes: STANDBY,
    },
    {
      name: 'postgresql.replication.replicas',
      kind: 'gauge',
      unit: '{replica}',
      description: 'WAL sender sessions (connected standbys and other replication clients); 0 when none.',
      valueColumn: 'replicas',
    },
  ],
};

/**
 * Lag seen from a replica (seed `postgresql.replication.lag_seconds`). A replica that has replayed all it
 * received is not behind, however old its last replayed transaction is, so it reports 0 then.
 */
const REPLICA_SQL = `
SELECT coalesce(nullif(current_setting('cluster_name'), ''), 'replica') AS replica_name,
       CASE WHEN pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END::float8 AS lag_seconds,
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) AS replay_lag_bytes_local,
       EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') AS wal_receiver_connected`;

/** Replica-only: replay delay and WAL receiver state. */
export const REPLICA: QueryDefinition = {
  name: 'replica',
  tier: 'critical',
  scope: 'cluster',
  sql: [{ role: 'replica', sql: REPLICA_SQL }],
  metrics: [
    {
      name: 'postgresql.replication.lag_seconds',
      kind: 'gauge',
      unit: 's',
      description:
        'Time since the last replayed transaction while WAL is waiting to be replayed; 0 when caught up.',
      valueColumn: 'lag_seconds',
      attributes: [{ column: 'replica_name' }],
    },
    {
      name: 'postgresql.replication.replay_lag_bytes_local',
      kind: 'gauge',
      unit: 'By',
      description: 'WAL received but not yet replayed by this replica.',
      valueColumn: 'replay_lag_bytes_local',
      attributes: [{ column: 'replica_name' }],
    },
    {
      name: 'postgresql.wal_receiver.connected',
      kind: 'gauge',
      unit: '{receiver}',
      description: '1 when the WAL receiver is streaming from the upstream server, else 0.',
      valueColumn: 'wal_receiver_connected',
      attributes: [{ column: 'replica_name' }],
    },
  ],
};

/** Every critical-tier query, in run order. */
export const CRITICAL_QUERIES: readonly QueryDefinition[] = [
  ACTIVITY,
  LOCKS,
  LONG_RUNNING,
  WAL,
  REPLICATION_SLOTS,
  REPLICATION,
  REPLICA,
];
