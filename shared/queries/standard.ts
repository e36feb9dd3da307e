import type { MetricMapping, QueryDefinition } from './types.ts';

/**
 * Standard tier (every 60 s): cumulative statistics views, sizes of whole databases, background
 * processes, I/O, pg_stat_statements. Counters take their start time from the view's `stats_reset`
 * where it has one; where it is NULL (PostgreSQL 15+ until the first reset) the engine falls back to
 * the server start time.
 */

const DATABASE = { column: 'database_name' } as const;

/** A counter fed by one column of a row that feeds several series of the same family. */
function counterOf(
  base: Omit<MetricMapping, 'valueColumn' | 'staticAttributes' | 'kind'>,
  column: string,
  staticAttributes: Readonly<Record<string, string>>,
): MetricMapping {
  return { ...base, kind: 'counter', valueColumn: column, staticAttributes };
}

const DATABASE_STATS_SQL = `
SELECT datname AS database_name,
       numbackends, xact_commit, xact_rollback, blks_read, blks_hit,
       tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted,
       deadlocks, checksum_failures, temp_files, temp_bytes,
       blks_hit::float8 / nullif(blks_hit + blks_read, 0) AS cache_hit_ratio,
       ((xact_commit + xact_rollback) / nullif(extract(epoch FROM now() - stats_reset), 0))::float8 AS transaction_rate,
       stats_reset
  FROM pg_stat_database
 WHERE datid IN (SELECT oid FROM pg_database WHERE NOT datistemplate)`;

const DB_COUNTER = { attributes: [DATABASE], startTimeColumn: 'stats_reset' } as const;
const TRANSACTIONS = {
  ...DB_COUNTER,
  name: 'postgresql.database.transactions',
  unit: '{transaction}',
  description: 'Transactions committed or rolled back.',
};
const BLOCKS = {
  ...DB_COUNTER,
  name: 'postgresql.database.blocks',
  unit: '{block}',
  description: 'Data blocks read from disk (read) or found in shared buffers (hit).',
};
const TUPLES = {
  ...DB_COUNTER,
  name: 'postgresql.database.tuples',
  unit: '{tuple}',
  description: 'Rows returned by sequential scans, fetched by index scans, inserted, updated and deleted.',
};

/**
 * Per-database activity counters and sizes from `pg_stat_database`, one row per database. Template
 * databases are left out here (15 series of zeros each); their wraparound age is still reported.
 */
export const DATABASE_STATS: QueryDefinition = {
  name: 'database_stats',
  tier: 'standard',
  scope: 'cluster',
  sql: [{ sql: DATABASE_STATS_SQL }],
  metrics: [
    counterOf(TRANSACTIONS, 'xact_commit', { transaction_type: 'commit' }),
    counterOf(TRANSACTIONS, 'xact_rollback', { transaction_type: 'rollback' }),
    counterOf(BLOCKS, 'blks_read', { block_type: 'read' }),
    counterOf(BLOCKS, 'blks_hit', { block_type: 'hit' }),
    counterOf(TUPLES, 'tup_returned', { operation: 'returned' }),
    counterOf(TUPLES, 'tup_fetched', { operation: 'fetched' }),
    counterOf(TUPLES, 'tup_inserted', { operation: 'inserted' }),
    counterOf(TUPLES, 'tup_updated', { operation: 'updated' }),
    counterOf(TUPLES, 'tup_deleted', { operation: 'deleted' }),
    {
      ...DB_COUNTER,
      name: 'postgresql.database.deadlocks',
      kind: 'counter',
      unit: '{deadlock}',
      description: 'Deadlocks detected.',
      valueColumn: 'deadlocks',
    },
    {
      ...DB_COUNTER,
      name: 'postgresql.database.checksum_failures',
      kind: 'counter',
      unit: '{failure}',
      description: 'Data page checksum failures (no point when data checksums are off).',
      valueColumn: 'checksum_failures',
    },
    {
      ...DB_COUNTER,
      name: 'postgresql.database.temp_files',
      kind: 'counter',
      unit: '{file}',
      description: 'Temporary files created by queries.',
      valueColumn: 'temp_files',
    },
    {
      ...DB_COUNTER,
      name: 'postgresql.database.temp_bytes',
      kind: 'counter',
      unit: 'By',
      description: 'Data written to temporary files by queries.',
      valueColumn: 'temp_bytes',
    },
    {
      name: 'postgresql.database.backends',
      kind: 'gauge',
      unit: '{connection}',
      description: 'Backends connected to the database (pg_stat_database.numbackends).',
      valueColumn: 'numbackends',
      attributes: [DATABASE],
    },
    {
      name: 'postgresql.cache_hit_ratio',
      kind: 'gauge',
      unit: '1',
      description: 'Share of block requests served from shared buffers since the statistics reset.',
      valueColumn: 'cache_hit_ratio',
      attributes: [DATABASE],
    },
    {
      name: 'postgresql.transaction_rate',
      kind: 'gauge',
      unit: '{transaction}/s',
      description: 'Average transactions per second since the statistics reset (no point when never reset).',
      valueColumn: 'transaction_rate',
      attributes: [DATABASE],
    },
  ],
};

function conflictsSql(activeLogicalSlot: string): string {
  return `
SELECT c.datname AS database_name, c.confl_tablespace, c.confl_lock, c.confl_snapshot, c.confl_bufferpin,
       c.confl_deadlock, ${activeLogicalSlot} AS confl_active_logicalslot, d.stats_reset
  FROM pg_stat_database_conflicts c
  JOIN pg_stat_database d ON d.datid = c.datid
 WHERE c.datid IN (SELECT oid FROM pg_database WHERE NOT datistemplate)`;
}

const CONFLICTS = {
  ...DB_COUNTER,
  name: 'postgresql.database.conflicts',
  unit: '{conflict}',
  description: 'Queries canceled on a standby because of recovery conflicts.',
};

/** Recovery conflicts by type (non-zero on standbys only). */
export const DATABASE_CONFLICTS: QueryDefinition = {
  name: 'database_conflicts',
  tier: 'standard',
  scope: 'cluster',
  sql: [
    { maxMajor: 15, sql: conflictsSql('NULL::bigint') },
    { minMajor: 16, sql: conflictsSql('c.confl_active_logicalslot') },
  ],
  metrics: [
    counterOf(CONFLICTS, 'confl_tablespace', { conflict_type: 'tablespace' }),
    counterOf(CONFLICTS, 'confl_lock', { conflict_type: 'lock' }),
    counterOf(CONFLICTS, 'confl_snapshot', { conflict_type: 'snapshot' }),
    counterOf(CONFLICTS, 'confl_bufferpin', { conflict_type: 'bufferpin' }),
    counterOf(CONFLICTS, 'confl_deadlock', { conflict_type: 'deadlock' }),
    counterOf(CONFLICTS, 'confl_active_logicalslot', { conflict_type: 'active_logicalslot' }),
  ],
};

const SESSION_TIME = {
  ...DB_COUNTER,
  name: 'postgresql.sessions.time',
  unit: 's',
  description:
    "Time spent by sessions running statements (active), idle in a transaction, and idle; the states add up to the sessions' total time.",
  scale: 0.001,
};
const SESSIONS_TERMINATED = {
  ...DB_COUNTER,
  name: 'postgresql.sessions.terminated',
  unit: '{session}',
  description:
    'Sessions ended by client loss (abandoned), a fatal error (fatal) or operator intervention (killed).',
};

/**
 * Session accounting added to `pg_stat_database` in PostgreSQL 14. Totals are never a series next to their
 * parts (any `sum by` would count them twice): session time is split into active, idle in transaction and the
 * rest (idle), which add up to `session_time`; the number of sessions established is its own family.
 */
export const SESSION_STATS: QueryDefinition = {
  name: 'session_stats',
  tier: 'standard',
  scope: 'cluster',
  sql: [
    {
      minMajor: 14,
      sql: `
SELECT datname AS database_name, active_time, idle_in_transaction_time,
       greatest(session_time - active_time - idle_in_transaction_time, 0) AS idle_time,
       sessions, sessions_abandoned, sessions_fatal, sessions_killed, stats_reset
  FROM pg_stat_database
 WHERE datid IN (SELECT oid FROM pg_database WHERE NOT datistemplate)`,
    },
  ],
  metrics: [
    counterOf(SESSION_TIME, 'active_time', { state: 'active' }),
    counterOf(SESSION_TIME, 'idle_in_transaction_time', { state: 'idle_in_transaction' }),
    counterOf(SESSION_TIME, 'idle_time', { state: 'idle' }),
    {
      ...DB_COUNTER,
      name: 'postgresql.sessions.established',
      kind: 'counter',
      unit: '{session}',
      description: 'Sessions established to the database (pg_stat_database.sessions).',
      valueColumn: 'sessions',
    },
    counterOf(SESSIONS_TERMINATED, 'sessions_abandoned', { reason: 'abandoned' }),
    counterOf(SESSIONS_TERMINATED, 'sessions_fatal', { reason: 'fatal' }),
    counterOf(SESSIONS_TERMINATED, 'sessions_killed', { reason: 'killed' }),
  ],
};

/** Transaction ID wraparound headroom of every database, templates included (they age too). */
export const WRAPAROUND: QueryDefinition = {
  name: 'wraparound',
  tier: 'standard',
  scope: 'cluster',
  sql: [
    {
      sql: `
SELECT datname AS database_name, age(datfrozenxid) AS xid_age, mxid_age(datminmxid) AS mxid_age,
       age(datfrozenxid)::float8 / current_setting('autovacuum_freeze_max_age')::float8 AS wraparound_ratio
  FROM pg_database`,
    },
  ],
  metrics: [
    {
      name: 'postgresql.database.xid_age',
      kind: 'gauge',
      unit: '{transaction_id}',
      description: 'Age of the oldest unfrozen transaction ID in the database (age(datfrozenxid)).',
      valueColumn: 'xid_age',
      attributes: [DATABASE],
    },
    {
      name: 'postgresql.database.mxid_age',
      kind: 'gauge',
      unit: '{transaction_id}',
      description: 'Age of the oldest unfrozen multixact ID in the database (mxid_age(datminmxid)).',
      valueColumn: 'mxid_age',
      attributes: [DATABASE],
    },
    {
      name: 'postgresql.database.wraparound_ratio',
      kind: 'gauge',
      unit: '1',
      description: 'xid_age / autovacuum_freeze_max_age: above 1, anti-wraparound autovacuum is overdue.',
      valueColumn: 'wraparound_ratio',
      attributes: [DATABASE],
    },
  ],
};

/** Server settings that alert expressions divide by. */
export const SETTINGS: QueryDefinition = {
  name: 'settings',
  tier: 'standard',
  scope: 'cluster',
  sql: [
    {
      sql: `
SELECT current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int AS superuser_reserved_connections`,
    },
  ],
  metrics: [
    {
      name: 'postgresql.settings.max_connections',
      kind: 'gauge',
      unit: '{connection}',
      description: 'The max_connections setting.',
      valueColumn: 'max_connections',
    },
    {
      name: 'postgresql.settings.superuser_reserved_connections',
      kind: 'gauge',
      unit: '{connection}',
      description: 'The superuser_reserved_connections setting.',
      valueColumn: 'superuser_reserved_connections',
    },
  ],
};

const CHECKPOINTER_COUNTER = { startTimeColumn: 'stats_reset' } as const;
const CHECKPOINTS = {
  ...CHECKPOINTER_COUNTER,
  name: 'postgresql.bgwriter.checkpoints',
  unit: '{checkpoint}',
  description:
    'Checkpoints started on schedule (timed) or on request (requested: CHECKPOINT, WAL size, ...).',
};
const CHECKPOINT_TIME = {
  ...CHECKPOINTER_COUNTER,
  name: 'postgresql.checkpoint_time',
  unit: 's',
  scale: 0.001,
  description:
    'Time spent writing and syncing files in checkpoints (cumulative, although the seed lists a gauge in ms).',
};
const BUFFERS_WRITTEN = {
  ...CHECKPOINTER_COUNTER,
  name: 'postgresql.bgwriter.buffers_written',
  unit: '{buffer}',
  description: 'Shared buffers written by the checkpointer, the background writer and (up to 16) backends.',
};

/** Checkpoint counters: `pg_stat_bgwriter` up to 16, `pg_stat_checkpointer` from 17. */
export const CHECKPOINTER: QueryDefinition = {
  name: 'checkpointer',
  tier: 'standard',
  scope: 'cluster',
  sql: [
    {
      maxMajor: 16,
      sql: `
SELECT checkpoints_timed AS timed, checkpoints_req AS requested,
       checkpoint_write_time AS write_time, checkpoint_sync_time AS sync_time,
       buffers_checkpoint AS buffers_written, stats_reset
  FROM pg_stat_bgwriter`,
    },
    {
      minMajor: 17,
      sql: `
SELECT num_timed AS timed, num_requested AS requested, write_time, sync_time, buffers_written, stats_reset
  FROM pg_stat_checkpointer`,
    },
  ],
  metrics: [
    counterOf(CHECKPOINTS, 'timed', { type: 'timed' }),
    counterOf(CHECKPOINTS, 'requested', { type: 'requested' }),
    counterOf(CHECKPOINT_TIME, 'write_time', { checkpoint_type: 'write' }),
    counterOf(CHECKPOINT_TIME, 'sync_time', { checkpoint_type: 'sync' }),
    counterOf(BUFFERS_WRITTEN, 'buffers_written', { source: 'checkpoint' }),
  ],
};

/** Background writer counters; `buffers_backend` left `pg_stat_bgwriter` in 17 (see `pg_stat_io`). */
export const BGWRITER: QueryDefinition = {
  name: 'bgwriter',
  tier: 'standard',
  scope: 'cluster',
  sql: [
    {
      maxMajor: 16,
      sql: `SELECT buffers_clean, maxwritten_clean, buffers_alloc, buffers_backend, stats_reset FROM pg_stat_bgwriter`,
    },
    {
      minMajor: 17,
      sql: `SELECT buffers_clean, maxwritten_clean, buffers_alloc, NULL::bigint AS buffers_backend, stats_reset FROM pg_stat_bgwriter`,
    },
  ],
  metrics: [
    counterOf(BUFFERS_WRITTEN, 'buffers_clean', { source: 'bgwriter' }),
    counterOf(BUFFERS_WRITTEN, 'buffers_backend', { source: 'backend' }),
    {
      ...CHECKPOINTER_COUNTER,
      name: 'postgresql.bgwriter.maxwritten',
      kind: 'counter',
      unit: '{stop}',
      description:
        'Times the background writer stopped a cleaning scan because it had written bgwriter_lru_maxpages.',
      valueColumn: 'maxwritten_clean',
    },
    {
      ...CHECKPOINTER_COUNTER,
      name: 'postgresql.bgwriter.buffers_allocated',
      kind: 'counter',
      unit: '{buffer}',
      description: 'Shared buffers allocated.',
      valueColumn: 'buffers_alloc',
    },
  ],
};

/** WAL generation from `pg_stat_wal` (14+); PostgreSQL 18 moved its write/sync columns to `pg_stat_io`. */
export const WAL_STATS: QueryDefinition = {
  name: 'wal_stats',
  tier: 'standard',
  scope: 'cluster',
  sql: [
    {
      minMajor: 14,
      sql: `SELECT wal_records, wal_fpi, wal_bytes, wal_buffers_full, stats_reset FROM pg_stat_wal`,
    },
  ],
  metrics: [
    {
      name: 'postgresql.wal.records',
      kind: 'counter',
      unit: '{record}',
      description: 'WAL records generated.',
      valueColumn: 'wal_records',
      startTimeColumn: 'stats_reset',
    },
    {
      name: 'postgresql.wal.full_page_images',
      kind: 'counter',
      unit: '{page}',
      description: 'Full page images written to WAL.',
      valueColumn: 'wal_fpi',
      startTimeColumn: 'stats_reset',
    },
    {
      name: 'postgresql.wal.bytes',
      kind: 'counter',
      unit: 'By',
      description:
        'WAL generated since the statistics reset (pg_stat_wal.wal_bytes); the LSN is postgresql.wal.position.',
      valueColumn: 'wal_bytes',
      startTimeColumn: 'stats_reset',
    },
    {
      name: 'postgresql.wal.buffers_full',
      kind: 'counter',
      unit: '{event}',
      description: 'Times WAL had to be written because the WAL buffers were full.',
      valueColumn: 'wal_buffers_full',
      startTimeColumn: 'stats_reset',
    },
  ],
};

/**
 * WAL segment files on disk (seed alert `pg_wal_count > 100`: WAL piling up behind a slot or a failing
 * archiver). `pg_ls_waldir()` is granted to `pg_monitor`.
 */
export const WAL_FILES: QueryDefinition = {
  name: 'wal_files',
  tier: 'standard',
  scope: 'cluster',
  sql: [{ sql: `SELECT count(*) AS files, coalesce(sum(size), 0) AS size_bytes FROM pg_ls_waldir()` }],
  metrics: [
    {
      name: 'postgresql.wal.files',
      kind: 'gauge',
      unit: '{file}',
      description: 'Files in the WAL directory (pg_ls_waldir).',
      valueColumn: 'files',
    },
    {
      name: 'postgresql.wal.size',
      kind: 'gauge',
      unit: 'By',
      description: 'Total size of the files in the WAL directory.',
      valueColumn: 'size_bytes',
    },
  ],
};

/**
 * `pg_stat_io` (16+). PostgreSQL 18 dropped `op_bytes` and added `*_bytes` columns; before 18 the bytes
 * are operations × op_bytes. Combinations that cannot happen are NULL in the view and yield no point.
 * Rows without any operation yet are left out: they are most of the view (about 80 rows × 16 series)
 * and a counter that first appears at a small value loses nothing that matters.
 */
function ioSql(bytes: string): string {
  return `
SELECT backend_type, object AS io_object, context AS io_context,
       reads, writes, writebacks, extends, hits, evictions, reuses, fsyncs,
       read_time, write_time, writeback_time, extend_time, fsync_time,
       ${bytes},
       stats_reset
  FROM pg_stat_io
 WHERE coalesce(reads, 0) + coalesce(writes, 0) + coalesce(writebacks, 0) + coalesce(extends, 0)
     + coalesce(hits, 0) + coalesce(evictions, 0) + coalesce(reuses, 0) + coalesce(fsyncs, 0) > 0`;
}

const IO_LABELS = [{ column: 'backend_type' }, { column: 'io_object' }, { column: 'io_context' }] as const;
const IO_OPERATIONS = {
  attributes: IO_LABELS,
  startTimeColumn: 'stats_reset',
  name: 'postgresql.io.operations',
  unit: '{operation}',
  description: 'I/O operations by backend type, object, context and operation (pg_stat_io).',
};
const IO_TIME = {
  attributes: IO_LABELS,
  startTimeColumn: 'stats_reset',
  name: 'postgresql.io.time',
  unit: 's',
  description: 'Time spent in I/O operations (0 unless track_io_timing / track_wal_io_timing is on).',
  scale: 0.001,
};
const IO_BYTES = {
  attributes: IO_LABELS,
  startTimeColumn: 'stats_reset',
  name: 'postgresql.io.bytes',
  unit: 'By',
  description: 'Bytes read, written and extended.',
};

/** I/O statistics per backend type, object and context. */
export const IO: QueryDefinition = {
  name: 'io',
  tier: 'standard',
  scope: 'cluster',
  sql: [
    {
      minMajor: 16,
      maxMajor: 17,
      sql: ioSql(
        'reads * op_bytes AS read_bytes, writes * op_bytes AS write_bytes, extends * op_bytes AS extend_bytes',
      ),
    },
    { minMajor: 18, sql: ioSql('read_bytes, write_bytes, extend_bytes') },
  ],
  metrics: [
    counterOf(IO_OPERATIONS, 'reads', { operation: 'read' }),
    counterOf(IO_OPERATIONS, 'writes', { operation: 'write' }),
    counterOf(IO_OPERATIONS, 'writebacks', { operation: 'writeback' }),
    counterOf(IO_OPERATIONS, 'extends', { operation: 'extend' }),
    counterOf(IO_OPERATIONS, 'hits', { operation: 'hit' }),
    counterOf(IO_OPERATIONS, 'evictions', { operation: 'eviction' }),
    counterOf(IO_OPERATIONS, 'reuses', { operation: 'reuse' }),
    counterOf(IO_OPERATIONS, 'fsyncs', { operation: 'fsync' }),
    counterOf(IO_TIME, 'read_time', { operation: 'read' }),
    counterOf(IO_TIME, 'write_time', { operation: 'write' }),
    counterOf(IO_TIME, 'writeback_time', { operation: 'writeback' }),
    counterOf(IO_TIME, 'extend_time', { operation: 'extend' }),
    counterOf(IO_TIME, 'fsync_time', { operation: 'fsync' }),
    counterOf(IO_BYTES, 'read_bytes', { operation: 'read' }),
    counterOf(IO_BYTES, 'write_bytes', { operation: 'write' }),
    counterOf(IO_BYTES, 'extend_bytes', { operation: 'extend' }),
  ],
};

/** WAL archiving: counts and the age of the last success and failure. */
export const ARCHIVER: QueryDefinition = {
  name: 'archiver',
  tier: 'standard',
  scope: 'cluster',
  sql: [
    {
      sql: `
SELECT archived_count, failed_count,
       extract(epoch FROM now() - last_archived_time)::float8 AS last_archive_age,
       extract(epoch FROM now() - last_failed_time)::float8 AS last_failure_age,
       stats_reset
  FROM pg_stat_archiver`,
    },
  ],
  metrics: [
    {
      name: 'postgresql.archiver.archived',
      kind: 'counter',
      unit: '{file}',
      description: 'WAL files archived successfully.',
      valueColumn: 'archived_count',
      startTimeColumn: 'stats_reset',
    },
    {
      name: 'postgresql.archiver.failed',
      kind: 'counter',
      unit: '{failure}',
      description: 'Failed attempts to archive a WAL file.',
      valueColumn: 'failed_count',
      startTimeColumn: 'stats_reset',
    },
    {
      name: 'postgresql.archiver.last_archive_age',
      kind: 'gauge',
      unit: 's',
      description: 'Time since the last WAL file was archived (no point if none ever was).',
      valueColumn: 'last_archive_age',
    },
    {
      name: 'postgresql.archiver.last_failure_age',
      kind: 'gauge',
      unit: 's',
      description: 'Time since the last archiving failure (no point if none ever failed).',
      valueColumn: 'last_failure_age',
    },
  ],
};

/**
 * Running VACUUMs, cluster-wide. The table is named only for the connection database (`regclass` is
 * resolved in the current database); elsewhere it is the relation OID. PostgreSQL 17 replaced the dead
 * tuple counters by dead item IDs and the bytes of their TID store. A per-database count of running
 * vacuums is always emitted (0 when none) so alerts see a value.
 */
function vacuumProgressSql(deadTuples: string, deadTupleBytes: string): string {
  return `
WITH p AS MATERIALIZED (
  SELECT pid, datid, datname, relid, phase, heap_blks_total, heap_blks_scanned, heap_blks_vacuumed,
         ${deadTuples} AS dead_tuples, ${deadTupleBytes} AS dead_tuple_bytes
    FROM pg_stat_progress_vacuum
)
SELECT datname AS database_name,
       CASE WHEN datname = current_database() THEN relid::regclass::text ELSE relid::text END AS table_name,
       phase, heap_blks_total, heap_blks_scanned, heap_blks_vacuumed, dead_tuples, dead_tuple_bytes,
       NULL::bigint AS running
  FROM p
UNION ALL
SELECT d.datname, NULL, NULL, NULL, NULL, NULL, NULL, NULL, count(p.pid)
  FROM pg_database d
  LEFT JOIN p ON p.datid = d.oid
 WHERE d.datallowconn AND NOT d.datistemplate
 GROUP BY d.datname`;
}

const VACUUM_TABLE = [DATABASE, { column: 'table_name' }, { column: 'phase' }] as const;

/** Progress of running VACUUMs (`pg_stat_progress_vacuum`). */
export const VACUUM_PROGRESS: QueryDefinition = {
  name: 'vacuum_progress',
  tier: 'standard',
  scope: 'cluster',
  sql: [
    { maxMajor: 16, sql: vacuumProgressSql('num_dead_tuples', 'NULL::bigint') },
    { minMajor: 17, sql: vacuumProgressSql('num_dead_item_ids', 'dead_tuple_bytes') },
  ],
  metrics: [
    {
      name: 'postgresql.vacuum.progress.heap_blocks',
      kind: 'gauge',
      unit: '{block}',
      description: 'Heap blocks of the table being vacuumed.',
      valueColumn: 'heap_blks_total',
      attributes: VACUUM_TABLE,
    },
    {
      name: 'postgresql.vacuum.progress.heap_blocks_scanned',
      kind: 'gauge',
      unit: '{block}',
      description: 'Heap blocks scanned so far.',
      valueColumn: 'heap_blks_scanned',
      attributes: VACUUM_TABLE,
    },
    {
      name: 'postgresql.vacuum.progress.heap_blocks_vacuumed',
      kind: 'gauge',
      unit: '{block}',
      description: 'Heap blocks vacuumed so far.',
      valueColumn: 'heap_blks_vacuumed',
      attributes: VACUUM_TABLE,
    },
    {
      name: 'postgresql.vacuum.progress.dead_tuples',
      kind: 'gauge',
      unit: '{tuple}',
      description: 'Dead tuples collected since the last index vacuum cycle (17+: dead item IDs).',
      valueColumn: 'dead_tuples',
      attributes: VACUUM_TABLE,
    },
    {
      name: 'postgresql.vacuum.progress.dead_tuple_bytes',
      kind: 'gauge',
      unit: 'By',
      description: 'Memory holding the collected dead item IDs (PostgreSQL 17+).',
      valueColumn: 'dead_tuple_bytes',
      attributes: VACUUM_TABLE,
    },
    {
      name: 'postgresql.vacuum.running',
      kind: 'gauge',
      unit: '{process}',
      description: 'VACUUM processes running in the database (autovacuum included); 0 when none.',
      valueColumn: 'running',
      attributes: [DATABASE],
    },
  ],
};

/**
 * Seed custom query "Vacuum progress" (really: tables with most dead tuples), labelled `schema_name` and
 * `table_name` like every other per-table family (the seed says `schemaname`, `tablename`). The seed
 * selects `tablename` from `pg_stat_user_tables`, which has `relname`; the statistics functions are called
 * on `pg_class` directly so the view does not compute ~25 columns for every table first.
 */
const VACUUM_DEAD_TUPLES_SQL = `
SELECT n.nspname AS schema_name, c.relname AS table_name, pg_stat_get_dead_tuples(c.oid) AS n_dead_tup
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
   AND NOT (n.nspname = ANY($1::text[]))
   AND (cardinality($2::text[]) = 0 OR n.nspname = ANY($2::text[]))
   AND pg_stat_get_dead_tuples(c.oid) > 1000
 ORDER BY 3 DESC, 1, 2
 LIMIT 50`;

/** The 50 tables with most dead tuples (over 1000), per database. */
export const VACUUM_DEAD_TUPLES: QueryDefinition = {
  name: 'vacuum_dead_tuples',
  tier: 'standard',
  scope: 'database',
  sql: [{ sql: VACUUM_DEAD_TUPLES_SQL }],
  params: ['excludeSchemas', 'includeSchemas'],
  metrics: [
    {
      name: 'postgresql.vacuum.dead_tuples',
      kind: 'gauge',
      unit: '{tuple}',
      description: 'Dead tuples of the tables with most of them (over 1000, top 50).',
      valueColumn: 'n_dead_tup',
      attributes: [{ column: 'schema_name' }, { column: 'table_name' }],
    },
  ],
};

/**
 * Top statements by total execution time, from `pg_stat_statements`. Entries are summed over `toplevel`
 * (14+) per (user, database, queryid) so each label set appears once; the view is read once (materialized
 * CTE) for both the ranking and the entry count.
 *
 * Only texts pg_stat_statements normalizes leave the server. It replaces the constants of plannable
 * statements (SELECT, INSERT, UPDATE, DELETE, MERGE, WITH, VALUES, TABLE) by `$n`, but keeps utility
 * statements as written, secrets included (`PASSWORD '...'`, `CONNECTION 'password=...'`, `E'...'`,
 * `$$...$$`): those are exported as `<utility statement>`, told apart by queryid. Comments are removed
 * (they are kept verbatim too). A text that still holds a quote, a dollar quote or an unclosed comment is
 * `<not normalized>`: `SELECT ... INTO t` is a utility statement that reads like a query, and before
 * PostgreSQL 16 its literals stay in the text.
 */
const STATEMENTS_SQL = String.raw`
WITH s AS MATERIALIZED (
  SELECT userid, dbid, queryid, query, calls, total_exec_time, rows, shared_blks_hit, shared_blks_read
    FROM pg_stat_statements
), top AS (
  SELECT userid, dbid, queryid, min(query) AS query, sum(calls) AS calls, sum(total_exec_time) AS total_exec_time,
         sum(rows) AS rows, sum(shared_blks_hit) AS shared_blks_hit, sum(shared_blks_read) AS shared_blks_read
    FROM s
   WHERE queryid IS NOT NULL
   GROUP BY userid, dbid, queryid
   ORDER BY sum(total_exec_time) DESC, queryid
   LIMIT $1
), uncommented AS (
  SELECT top.*, regexp_replace(left(query, 2000), $re$/\*([^*]|\*+[^*/])*\*+/|--[^\n]*$re$, ' ', 'g') AS stripped
    FROM top
)
SELECT t.queryid::text AS queryid, d.datname AS database_name, coalesce(r.rolname, t.userid::text) AS user_name,
       CASE
         WHEN t.stripped !~* $re$^[[:space:](]*(select|insert|update|delete|merge|with|values|table)\M$re$
           THEN '<utility statement>'
         WHEN t.stripped ~ $re$'|\$(\D|$)|/\*$re$ THEN '<not normalized>'
         ELSE left(btrim(regexp_replace(t.stripped, '[[:space:]]+', ' ', 'g')), 100)
       END AS query,
       t.calls, t.total_exec_time, t.rows, t.shared_blks_hit, t.shared_blks_read, NULL::bigint AS tracked
  FROM uncommented t
  LEFT JOIN pg_database d ON d.oid = t.dbid
  LEFT JOIN pg_roles r ON r.oid = t.userid
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, count(*) FROM s`;

const STATEMENT_LABELS = [
  { column: 'queryid' },
  { column: 'database_name' },
  { column: 'user_name' },
  { column: 'query' },
] as const;

/** The `maxStatements` statements with the most execution time, and how many entries are tracked. */
export const STATEMENTS: QueryDefinition = {
  name: 'statements',
  tier: 'standard',
  scope: 'cluster',
  requiresRelation: 'pg_stat_statements',
  sql: [{ sql: STATEMENTS_SQL }],
  params: ['maxStatements'],
  metrics: [
    {
      name: 'postgresql.statements.calls',
      kind: 'counter',
      unit: '{call}',
      description: 'Times the statement was executed.',
      valueColumn: 'calls',
      attributes: STATEMENT_LABELS,
    },
    {
      name: 'postgresql.statements.exec_time',
      kind: 'counter',
      unit: 's',
      description: 'Time spent executing the statement.',
      valueColumn: 'total_exec_time',
      attributes: STATEMENT_LABELS,
      scale: 0.001,
    },
    {
      name: 'postgresql.statements.rows',
      kind: 'counter',
      unit: '{row}',
      description: 'Rows retrieved or affected by the statement.',
      valueColumn: 'rows',
      attributes: STATEMENT_LABELS,
    },
    {
      name: 'postgresql.statements.shared_blocks_hit',
      kind: 'counter',
      unit: '{block}',
      description: 'Shared buffer hits of the statement.',
      valueColumn: 'shared_blks_hit',
      attributes: STATEMENT_LABELS,
    },
    {
      name: 'postgresql.statements.shared_blocks_read',
      kind: 'counter',
      unit: '{block}',
      description: 'Shared blocks read from disk by the statement.',
      valueColumn: 'shared_blks_read',
      attributes: STATEMENT_LABELS,
    },
    {
      name: 'postgresql.statements.tracked',
      kind: 'gauge',
      unit: '{statement}',
      description: 'Entries held by pg_stat_statements (compare with pg_stat_statements.max).',
      valueColumn: 'tracked',
    },
  ],
};

/** Entries pg_stat_statements evicted to make room (`pg_stat_statements_info`, extension 1.9+ on 14+). */
export const STATEMENTS_INFO: QueryDefinition = {
  name: 'statements_info',
  tier: 'standard',
  scope: 'cluster',
  requiresRelation: 'pg_stat_statements_info',
  sql: [{ minMajor: 14, sql: `SELECT dealloc, stats_reset FROM pg_stat_statements_info` }],
  metrics: [
    {
      name: 'postgresql.statements.deallocations',
      kind: 'counter',
      unit: '{statement}',
      description: 'Entries evicted because pg_stat_statements.max was reached.',
      valueColumn: 'dealloc',
      startTimeColumn: 'stats_reset',
    },
  ],
};

/** Every standard-tier query, in run order. */
export const STANDARD_QUERIES: readonly QueryDefinition[] = [
  DATABASE_STATS,
  DATABASE_CONFLICTS,
  SESSION_STATS,
  WRAPAROUND,
  SETTINGS,
  CHECKPOINTER,
  BGWRITER,
  WAL_STATS,
  WAL_FILES,
  IO,
  ARCHIVER,
  VACUUM_PROGRESS,
  VACUUM_DEAD_TUPLES,
  STATEMENTS,
  STATEMENTS_INFO,
];
