import type { MetricMapping, QueryDefinition } from './types.ts';

/**
 * Historical tier (every 300 s): per-table and per-index statistics, run in every selected database.
 * The engine adds `database_name` to every point.
 *
 * Cost control, for databases with thousands of relations. Measuring a relation's size opens it, and in a
 * fresh session that means building its relcache entry: about 0.25 ms per table with its TOAST table and
 * indexes, 0.5 s for 2,000 tables. So:
 * - relations are ranked first by the planner's size estimate (`pg_class.relpages`, kept current by VACUUM,
 *   ANALYZE and CREATE INDEX), which costs no relation open; only the estimated top `limit × 5/4 + 10`, plus
 *   every relation of a table that has rows but was never vacuumed or analyzed (no estimate at all), are
 *   measured exactly, then ranked by their real size. A table whose estimate is stale by more than that margin can be
 *   missed for a run, until autovacuum refreshes it;
 * - the `pg_stat_get_*` functions run only for the reported rows; the `pg_stat_user_*` views would compute
 *   every column for every relation first;
 * - relations that another session holds or waits for in ACCESS EXCLUSIVE mode are skipped, because the size
 *   functions take ACCESS SHARE locks and would queue behind an `ALTER TABLE` until `lock_timeout` fails the
 *   whole query.
 */

/** User relations (no system schemas, no temporary tables) filtered by the configured schemas. */
function userRelations(excludeParam: string, includeParam: string): string {
  return `c.relkind IN ('r', 'm') AND c.relpersistence <> 't'
     AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
     AND NOT (n.nspname = ANY(${excludeParam}::text[]))
     AND (cardinality(${includeParam}::text[]) = 0 OR n.nspname = ANY(${includeParam}::text[]))`;
}

/**
 * Whether table `c` has rows but no estimate: never vacuumed or analyzed (PostgreSQL 14+ marks that with
 * `reltuples = -1`; 13 has 0, like an analyzed empty table) while the statistics saw rows arrive. Tables
 * created and never written to are left to the estimate: measuring thousands of empty tables would cost
 * what the estimate saves.
 */
function neverAnalyzed(unknownEstimate: string): string {
  return `(${unknownEstimate}) AND (pg_stat_get_tuples_inserted(c.oid) > 0 OR pg_stat_get_live_tuples(c.oid) > 0)`;
}
const NEVER_ANALYZED_13 = neverAnalyzed('c.relpages = 0 AND c.reltuples = 0');
const NEVER_ANALYZED_14 = neverAnalyzed('c.reltuples < 0');

/** OIDs of relations of this database that are ACCESS EXCLUSIVE locked or awaited. */
const LOCKED_CTE = `locked AS (
  SELECT coalesce(array_agg(l.relation), '{}') AS oids
    FROM pg_locks l
   WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
)`;

/** How many relations are measured exactly for a limit of `$1`. */
const MEASURED = '($1::bigint * 5 / 4 + 10)';

/**
 * Counters of `pg_stat_user_tables` have no reset time of their own: `pg_stat_reset()` resets them with
 * the database's counters, so the database's `stats_reset` is their start.
 */
function tableStatsSql(unestimated: string): string {
  return `
WITH ${LOCKED_CTE},
estimated AS (
  SELECT c.oid, n.nspname, c.relname, ${unestimated} AS never_analyzed,
         c.relpages::bigint + coalesce(t.relpages, 0)
           + coalesce((SELECT sum(x.relpages) FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
                        WHERE i.indrelid = c.oid), 0) AS pages
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
   WHERE ${userRelations('$3', '$4')}
), candidates AS (
  (SELECT oid, nspname, relname FROM estimated ORDER BY pages DESC, nspname, relname LIMIT ${MEASURED})
  UNION
  SELECT oid, nspname, relname FROM estimated WHERE never_analyzed
), measured AS (
  SELECT m.oid, m.nspname, m.relname, pg_total_relation_size(m.oid) AS size_bytes
    FROM candidates m
   CROSS JOIN locked
   WHERE m.oid <> ALL (locked.oids)
     AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = m.oid AND i.indexrelid = ANY (locked.oids))
), top AS (
  SELECT oid, nspname, relname, size_bytes
    FROM measured
   WHERE size_bytes >= $2
   ORDER BY size_bytes DESC, nspname, relname
   LIMIT $1
)
SELECT t.nspname AS schema_name, t.relname AS table_name, t.size_bytes,
       pg_stat_get_live_tuples(t.oid) AS n_live_tup,
       pg_stat_get_dead_tuples(t.oid) AS n_dead_tup,
       pg_stat_get_tuples_inserted(t.oid) AS n_tup_ins,
       pg_stat_get_tuples_updated(t.oid) AS n_tup_upd,
       pg_stat_get_tuples_deleted(t.oid) AS n_tup_del,
       pg_stat_get_tuples_hot_updated(t.oid) AS n_tup_hot_upd,
       pg_stat_get_vacuum_count(t.oid) AS vacuum_count,
       pg_stat_get_autovacuum_count(t.oid) AS autovacuum_count,
       pg_stat_get_analyze_count(t.oid) AS analyze_count,
       pg_stat_get_autoanalyze_count(t.oid) AS autoanalyze_count,
       pg_stat_get_numscans(t.oid) AS seq_scan,
       (SELECT sum(pg_stat_get_numscans(i.indexrelid)) FROM pg_index i WHERE i.indrelid = t.oid) AS idx_scan,
       extract(epoch FROM now() - greatest(pg_stat_get_last_vacuum_time(t.oid),
                                           pg_stat_get_last_autovacuum_time(t.oid)))::float8 AS last_vacuum_age,
       (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()) AS stats_reset
  FROM top t
 ORDER BY t.size_bytes DESC, t.nspname, t.relname`;
}

const TABLE = [{ column: 'schema_name' }, { column: 'table_name' }] as const;
const TABLE_COUNTER = { attributes: TABLE, startTimeColumn: 'stats_reset' } as const;

function counterOf(
  base: Omit<MetricMapping, 'valueColumn' | 'staticAttributes' | 'kind'>,
  column: string,
  staticAttributes: Readonly<Record<string, string>>,
): MetricMapping {
  return { ...base, kind: 'counter', valueColumn: column, staticAttributes };
}

const MODIFICATIONS = {
  ...TABLE_COUNTER,
  name: 'postgresql.table.modifications',
  unit: '{row}',
  description: 'Rows inserted, updated, deleted and HOT-updated.',
};
const VACUUMS = {
  ...TABLE_COUNTER,
  name: 'postgresql.table.vacuum',
  unit: '{operation}',
  description: 'Manual and automatic vacuums of the table (VACUUM FULL not included).',
};
const ANALYZES = {
  ...TABLE_COUNTER,
  name: 'postgresql.table.analyze',
  unit: '{operation}',
  description: 'Manual and automatic analyzes of the table.',
};
const SCANS = {
  ...TABLE_COUNTER,
  name: 'postgresql.table.scans',
  unit: '{scan}',
  description: 'Sequential scans of the table and index scans of its indexes.',
};

/**
 * Database sizes. `pg_database_size` stats every file of the database (about two per relation), which
 * made it most of the standard tier's database time on 8,000 relations: sizes move slowly, so they are
 * collected with the other sizes every 300 s.
 */
export const DATABASE_SIZE: QueryDefinition = {
  name: 'database_size',
  tier: 'historical',
  scope: 'cluster',
  sql: [
    {
      sql: `SELECT datname AS database_name, pg_database_size(oid) AS size_bytes
  FROM pg_database WHERE NOT datistemplate ORDER BY datname`,
    },
  ],
  metrics: [
    {
      name: 'postgresql.database.size',
      kind: 'gauge',
      unit: 'By',
      description: 'Disk space used by the database (pg_database_size).',
      valueColumn: 'size_bytes',
      attributes: [{ column: 'database_name' }],
    },
  ],
};

/** Per-table size and activity of the `maxTables` largest tables (seed: every 300 s). */
export const TABLE_STATS: QueryDefinition = {
  name: 'table_stats',
  tier: 'historical',
  scope: 'database',
  intervalSeconds: 300,
  sql: [
    { maxMajor: 13, sql: tableStatsSql(NEVER_ANALYZED_13) },
    { minMajor: 14, sql: tableStatsSql(NEVER_ANALYZED_14) },
  ],
  params: ['maxTables', 'minRelationSizeBytes', 'excludeSchemas', 'includeSchemas'],
  metrics: [
    {
      name: 'postgresql.table.size',
      kind: 'gauge',
      unit: 'By',
      description: 'Disk space of the table with its indexes and TOAST data (pg_total_relation_size).',
      valueColumn: 'size_bytes',
      attributes: TABLE,
    },
    {
      name: 'postgresql.table.rows',
      kind: 'gauge',
      unit: '{row}',
      description: 'Estimated live rows (n_live_tup).',
      valueColumn: 'n_live_tup',
      attributes: TABLE,
    },
    {
      name: 'postgresql.table.dead_rows',
      kind: 'gauge',
      unit: '{row}',
      description: 'Estimated dead rows (n_dead_tup).',
      valueColumn: 'n_dead_tup',
      attributes: TABLE,
    },
    counterOf(MODIFICATIONS, 'n_tup_ins', { operation: 'insert' }),
    counterOf(MODIFICATIONS, 'n_tup_upd', { operation: 'update' }),
    counterOf(MODIFICATIONS, 'n_tup_del', { operation: 'delete' }),
    counterOf(MODIFICATIONS, 'n_tup_hot_upd', { operation: 'hot_update' }),
    counterOf(VACUUMS, 'vacuum_count', { vacuum_type: 'manual' }),
    counterOf(VACUUMS, 'autovacuum_count', { vacuum_type: 'auto' }),
    counterOf(ANALYZES, 'analyze_count', { analyze_type: 'manual' }),
    counterOf(ANALYZES, 'autoanalyze_count', { analyze_type: 'auto' }),
    counterOf(SCANS, 'seq_scan', { scan_type: 'seq' }),
    counterOf(SCANS, 'idx_scan', { scan_type: 'index' }),
    {
      name: 'postgresql.table.last_vacuum_age',
      kind: 'gauge',
      unit: 's',
      description: 'Time since the last manual or automatic vacuum (no point if never vacuumed).',
      valueColumn: 'last_vacuum_age',
      attributes: TABLE,
    },
  ],
};

/** Same columns as `pg_stat_user_indexes` (idx_tup_read is `pg_stat_get_tuples_returned`). */
function indexStatsSql(unestimated: string): string {
  return `
WITH ${LOCKED_CTE},
estimated AS (
  SELECT i.indexrelid, i.indrelid, n.nspname, c.relname, x.relname AS indexname, x.relpages AS pages,
         ${unestimated} AS never_analyzed
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indrelid
    JOIN pg_class x ON x.oid = i.indexrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE ${userRelations('$3', '$4')}
), candidates AS (
  (SELECT indexrelid, indrelid, nspname, relname, indexname FROM estimated
    ORDER BY pages DESC, nspname, indexname LIMIT ${MEASURED})
  UNION
  SELECT indexrelid, indrelid, nspname, relname, indexname FROM estimated WHERE never_analyzed
), measured AS (
  SELECT m.indexrelid, m.nspname, m.relname, m.indexname, pg_relation_size(m.indexrelid) AS size_bytes
    FROM candidates m
   CROSS JOIN locked
   WHERE m.indexrelid <> ALL (locked.oids) AND m.indrelid <> ALL (locked.oids)
), top AS (
  SELECT indexrelid, nspname, relname, indexname, size_bytes
    FROM measured
   WHERE size_bytes >= $2
   ORDER BY size_bytes DESC, nspname, indexname
   LIMIT $1
)
SELECT t.nspname AS schema_name, t.relname AS table_name, t.indexname AS index_name, t.size_bytes,
       pg_stat_get_numscans(t.indexrelid) AS idx_scan,
       pg_stat_get_tuples_returned(t.indexrelid) AS idx_tup_read,
       pg_stat_get_tuples_fetched(t.indexrelid) AS idx_tup_fetch,
       (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()) AS stats_reset
  FROM top t
 ORDER BY t.size_bytes DESC, t.nspname, t.indexname`;
}

const INDEX = [{ column: 'schema_name' }, { column: 'table_name' }, { column: 'index_name' }] as const;
const INDEX_TUPLES = {
  attributes: INDEX,
  startTimeColumn: 'stats_reset',
  name: 'postgresql.index.tuples',
  unit: '{tuple}',
  description:
    'Index entries returned by scans of the index (read) and live rows fetched through it (fetched).',
};

/** Per-index size and usage of the `maxIndexes` largest indexes (seed: every 600 s). */
export const INDEX_STATS: QueryDefinition = {
  name: 'index_stats',
  tier: 'historical',
  scope: 'database',
  intervalSeconds: 600,
  sql: [
    { maxMajor: 13, sql: indexStatsSql(NEVER_ANALYZED_13) },
    { minMajor: 14, sql: indexStatsSql(NEVER_ANALYZED_14) },
  ],
  params: ['maxIndexes', 'minRelationSizeBytes', 'excludeSchemas', 'includeSchemas'],
  metrics: [
    {
      name: 'postgresql.index.size',
      kind: 'gauge',
      unit: 'By',
      description: 'Disk space of the index (pg_relation_size).',
      valueColumn: 'size_bytes',
      attributes: INDEX,
    },
    {
      name: 'postgresql.index.scans',
      kind: 'counter',
      unit: '{scan}',
      description: 'Index scans initiated on the index.',
      valueColumn: 'idx_scan',
      attributes: INDEX,
      startTimeColumn: 'stats_reset',
    },
    counterOf(INDEX_TUPLES, 'idx_tup_read', { operation: 'read' }),
    counterOf(INDEX_TUPLES, 'idx_tup_fetch', { operation: 'fetched' }),
  ],
};

/**
 * Seed custom query "Table bloat estimation", under a built-in name and the per-table labels of the other
 * families, fixed: the seed's `100 * n_dead_tup / NULLIF(...)` is integer division (always 0 or 100 below
 * 1 %), `tablename` is `relname` in `pg_stat_user_tables`, and the unbounded result is capped at `maxTables`.
 */
const TABLE_BLOAT_SQL = `
SELECT schema_name, table_name, round(100 * dead::numeric / nullif(live + dead, 0), 2) AS dead_ratio
  FROM (
    SELECT n.nspname AS schema_name, c.relname AS table_name,
           pg_stat_get_dead_tuples(c.oid) AS dead, pg_stat_get_live_tuples(c.oid) AS live
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE ${userRelations('$2', '$3')}
  ) s
 WHERE dead > 1000
 ORDER BY dead DESC, schema_name, table_name
 LIMIT $1`;

/** Dead rows as a percentage of all rows, for tables with more than 1000 dead rows. */
export const TABLE_BLOAT: QueryDefinition = {
  name: 'table_bloat',
  tier: 'historical',
  scope: 'database',
  sql: [{ sql: TABLE_BLOAT_SQL }],
  params: ['maxTables', 'excludeSchemas', 'includeSchemas'],
  metrics: [
    {
      name: 'postgresql.table.bloat',
      kind: 'gauge',
      unit: '%',
      description:
        "Dead rows / (live + dead rows) × 100, the seed's table bloat estimate; tables with over 1000 dead rows only.",
      valueColumn: 'dead_ratio',
      attributes: TABLE,
    },
  ],
};

/**
 * The 20 tables closest to forced anti-wraparound vacuum. A table's TOAST relation is frozen separately
 * and counts towards its table. System and temporary tables are included: they age like any other.
 */
const TABLE_FREEZE_AGE_SQL = `
SELECT n.nspname AS schema_name, c.relname AS table_name,
       greatest(age(c.relfrozenxid), age(t.relfrozenxid)) AS xid_age
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
 WHERE c.relkind IN ('r', 'm')
 ORDER BY 3 DESC, 1, 2
 LIMIT 20`;

/** Oldest unfrozen transaction ID per table, top 20 per database. */
export const TABLE_FREEZE_AGE: QueryDefinition = {
  name: 'table_freeze_age',
  tier: 'historical',
  scope: 'database',
  sql: [{ sql: TABLE_FREEZE_AGE_SQL }],
  metrics: [
    {
      name: 'postgresql.table.xid_age',
      kind: 'gauge',
      unit: '{transaction_id}',
      description: 'Age of the oldest unfrozen transaction ID of the table or its TOAST table.',
      valueColumn: 'xid_age',
      attributes: TABLE,
    },
  ],
};

/** Every historical-tier query, in run order. */
export const HISTORICAL_QUERIES: readonly QueryDefinition[] = [
  DATABASE_SIZE,
  TABLE_STATS,
  INDEX_STATS,
  TABLE_BLOAT,
  TABLE_FREEZE_AGE,
];
