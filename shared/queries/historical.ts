import type { MetricMapping, QueryDefinition } from './types.ts';

/**
 * Historical tier (every 240 s): per-table and per-index statistics, run in every selected database.
 * The engine adds `database_name` to every point.
 *
 * Coverage: every user table and index, up to `maxTables` / `maxIndexes` (10,000 each by default) per database;
 * what a query leaves out (cap, schema or size filter, lock) it counts in `pgotel.tables.excluded` /
 * `pgotel.indexes.excluded`.
 *
 * Cost, for databases with thousands of relations. Measuring a relation's size opens it, and in a fresh session
 * that means building its relation-cache entry: most of these queries' database time (on 2,000 tables with
 * 6,000 indexes, `pg_total_relation_size` of every table costs about three times as much in a fresh session as
 * again in the same one). So:
 * - with a size memory (`rememberSizes`, `collect/size-memory.ts`), only relations whose files or write and
 *   vacuum counters changed since the last run are measured; the others reuse the size measured then, and every
 *   relation is measured again at the memory's full-pass interval;
 * - with more relations than the cap, they are ranked first by the planner's size estimate
 *   (`pg_class.relpages`, kept current by VACUUM, ANALYZE and CREATE INDEX), which opens nothing; only the
 *   estimated top `limit × 5/4 + 10`, plus every relation of a table that has rows but was never vacuumed or
 *   analyzed (no estimate at all), are measured exactly, then ranked by their real size. A table whose estimate
 *   is stale by more than that margin can be missed for a run, until autovacuum refreshes it;
 * - the `pg_stat_get_*` functions run only for the reported rows; the `pg_stat_user_*` views would compute
 *   every column for every relation first;
 * - relations that another session holds or waits for in ACCESS EXCLUSIVE mode are skipped, because the size
 *   functions take ACCESS SHARE locks and would queue behind an `ALTER TABLE` until `lock_timeout` fails the
 *   whole query.
 */

/** User relations: no system schemas, no temporary tables. */
const USER_RELATIONS = `c.relkind IN ('r', 'm') AND c.relpersistence <> 't'
     AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'`;

/** Whether the configured schema filters keep schema `n`. */
function schemaKept(excludeParam: string, includeParam: string): string {
  return `NOT (n.nspname = ANY(${excludeParam}::text[]))
     AND (cardinality(${includeParam}::text[]) = 0 OR n.nspname = ANY(${includeParam}::text[]))`;
}

/** User relations filtered by the configured schemas. */
function userRelations(excludeParam: string, includeParam: string): string {
  return `${USER_RELATIONS}
     AND ${schemaKept(excludeParam, includeParam)}`;
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
 * The relations to measure, from the CTE `eligible`: all of them when they fit in the cap `$1`; otherwise the
 * estimated largest `MEASURED` and every one with no estimate. The second branch is gated by a one-time filter,
 * so a database within its cap pays no ranking.
 */
function candidates(columns: string, nameColumn: string): string {
  return `candidates AS (
  SELECT ${columns} FROM eligible WHERE (SELECT count(*) FROM eligible) <= $1
  UNION ALL
  SELECT ${columns} FROM (
    (SELECT ${columns} FROM eligible ORDER BY pages DESC, nspname, ${nameColumn} LIMIT ${MEASURED})
    UNION
    SELECT ${columns} FROM eligible WHERE never_analyzed
  ) ranked
   WHERE (SELECT count(*) FROM eligible) > $1
)`;
}

/**
 * The relations a per-relation query did not report, in one summary row: `by_filter` (outside the schema
 * filters, or measured below `min_relation_size_bytes`), `by_lock` (held or awaited in ACCESS EXCLUSIVE mode)
 * and `by_cap` (every other relation that passed the filters but is not among the `$1` reported: with more
 * candidates than the cap, those never measured are counted here even if they are below the minimum size).
 * Reads the CTEs `listed` (every user relation, `kept` by the schema filters), `eligible` (kept, not locked),
 * `measured` and `top`.
 */
const EXCLUDED_CTE = `excluded AS (
  SELECT (SELECT count(*) FROM listed WHERE NOT kept) + (SELECT count(*) FROM measured WHERE size_bytes < $2) AS by_filter,
         (SELECT count(*) FROM listed WHERE kept) - (SELECT count(*) FROM eligible) AS by_lock,
         (SELECT count(*) FROM eligible) - (SELECT count(*) FROM measured WHERE size_bytes < $2)
           - (SELECT count(*) FROM top) AS by_cap
)`;

/**
 * Sizes measured by earlier runs (`rememberSizes`): parameters `$5` (relation OIDs), `$6` (the size signature
 * each was measured under) and `$7` (its size); empty arrays measure every relation.
 */
const REMEMBERED_CTE = `remembered AS (
  SELECT * FROM unnest($5::oid[], $6::text[], $7::bigint[]) AS r(oid, signature, size_bytes)
)`;

/**
 * What a relation's size depends on, read without opening it: the files (`relfilenode`, new on TRUNCATE,
 * CLUSTER, VACUUM FULL, REINDEX) and the counters of every write and vacuum (a file grows by inserts and
 * updates, shrinks by vacuum truncation, gets FSM and VM forks by vacuum). Equal signature, equal size — up to
 * what the counters do not see yet (a transaction still writing: its counts arrive at its end) or at all (GIN
 * pending-list and BRIN summarization functions); a full measurement at a bounded interval covers those.
 */
function activity(rel: string): string {
  return `coalesce(pg_stat_get_tuples_inserted(${rel}) + pg_stat_get_tuples_updated(${rel})
    + pg_stat_get_tuples_deleted(${rel}) + pg_stat_get_vacuum_count(${rel})
    + pg_stat_get_autovacuum_count(${rel}), 0)`;
}

/** The summary row's value columns; NULL on the rows of relations, so those yield no excluded points. */
const EXCLUDED_COLUMNS =
  'by_cap AS excluded_cap, by_filter AS excluded_filter, by_lock AS excluded_locked, NULL::text AS relid, NULL::text AS size_signature';
const NO_EXCLUDED_COLUMNS = 'NULL::bigint, NULL::bigint, NULL::bigint, t.oid::text, t.signature';

/**
 * Counters of `pg_stat_user_tables` have no reset time of their own: `pg_stat_reset()` resets them with
 * the database's counters, so the database's `stats_reset` is their start. The first row is the summary of
 * the tables not reported (all its other columns NULL), then the tables, largest first.
 */
function tableStatsSql(unestimated: string): string {
  return `
WITH ${LOCKED_CTE}, ${REMEMBERED_CTE},
listed AS (
  SELECT c.oid, n.nspname, c.relname, c.relfilenode, c.reltoastrelid, t.relfilenode AS toast_file,
         c.relpages::bigint + coalesce(t.relpages, 0) AS pages, ${unestimated} AS never_analyzed,
         ${schemaKept('$3', '$4')} AS kept
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
   WHERE ${USER_RELATIONS}
), indexes AS (
  SELECT i.indrelid, sum(x.relpages) AS pages, array_agg(i.indexrelid) AS oids,
         string_agg(x.oid || '/' || x.relfilenode, ',' ORDER BY x.oid) AS files
    FROM pg_index i
    JOIN pg_class x ON x.oid = i.indexrelid
   GROUP BY i.indrelid
), eligible AS (
  SELECT c.oid, c.nspname, c.relname, c.relfilenode, c.reltoastrelid, c.toast_file, c.never_analyzed,
         c.pages + coalesce(ix.pages, 0) AS pages
    FROM listed c
   CROSS JOIN locked
    LEFT JOIN indexes ix ON ix.indrelid = c.oid
   WHERE c.kept
     AND (cardinality(locked.oids) = 0
          OR (c.oid <> ALL (locked.oids) AND NOT coalesce(ix.oids && locked.oids, false)))
), ${candidates('oid, nspname, relname, relfilenode, reltoastrelid, toast_file', 'relname')}, signed AS MATERIALIZED (
  SELECT m.oid, m.nspname, m.relname,
         concat_ws(':', m.relfilenode, m.toast_file, ${activity('m.oid')}, ${activity('m.reltoastrelid')},
                   ix.files, tx.files) AS signature
    FROM candidates m
    LEFT JOIN indexes ix ON ix.indrelid = m.oid
    LEFT JOIN indexes tx ON tx.indrelid = m.reltoastrelid
), measured AS (
  SELECT s.oid, s.nspname, s.relname, s.signature,
         CASE WHEN r.oid IS NULL THEN pg_total_relation_size(s.oid) ELSE r.size_bytes END AS size_bytes
    FROM signed s
    LEFT JOIN remembered r ON r.oid = s.oid AND r.signature = s.signature
), top AS (
  SELECT oid, nspname, relname, signature, size_bytes
    FROM measured
   WHERE size_bytes >= $2
   ORDER BY size_bytes DESC, nspname, relname
   LIMIT $1
), ${EXCLUDED_CTE}
SELECT NULL::name AS schema_name, NULL::name AS table_name, NULL::bigint AS size_bytes,
       NULL::bigint AS n_live_tup, NULL::bigint AS n_dead_tup, NULL::bigint AS n_tup_ins,
       NULL::bigint AS n_tup_upd, NULL::bigint AS n_tup_del, NULL::bigint AS n_tup_hot_upd,
       NULL::bigint AS vacuum_count, NULL::bigint AS autovacuum_count, NULL::bigint AS analyze_count,
       NULL::bigint AS autoanalyze_count, NULL::bigint AS seq_scan, NULL::numeric AS idx_scan,
       NULL::float8 AS last_vacuum_age, NULL::timestamptz AS stats_reset, ${EXCLUDED_COLUMNS}
  FROM excluded
UNION ALL
(SELECT t.nspname, t.relname, t.size_bytes,
       pg_stat_get_live_tuples(t.oid),
       pg_stat_get_dead_tuples(t.oid),
       pg_stat_get_tuples_inserted(t.oid),
       pg_stat_get_tuples_updated(t.oid),
       pg_stat_get_tuples_deleted(t.oid),
       pg_stat_get_tuples_hot_updated(t.oid),
       pg_stat_get_vacuum_count(t.oid),
       pg_stat_get_autovacuum_count(t.oid),
       pg_stat_get_analyze_count(t.oid),
       pg_stat_get_autoanalyze_count(t.oid),
       pg_stat_get_numscans(t.oid),
       (SELECT sum(pg_stat_get_numscans(i.indexrelid)) FROM pg_index i WHERE i.indrelid = t.oid),
       extract(epoch FROM now() - greatest(pg_stat_get_last_vacuum_time(t.oid),
                                           pg_stat_get_last_autovacuum_time(t.oid)))::float8,
       (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),
       ${NO_EXCLUDED_COLUMNS}
  FROM top t
 ORDER BY t.size_bytes DESC, t.nspname, t.relname)`;
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
 * Names of the per-database counts of user tables and indexes a per-relation query left out. One name per
 * query, not one name with a `kind` label: `table_stats` and `index_stats` may be given different intervals (`queries.intervals`) and then do not always run
 * together, and a run that collects a metric marks the series of it that it did not produce stale.
 */
export const EXCLUDED_METRICS = {
  table: 'pgotel.tables.excluded',
  index: 'pgotel.indexes.excluded',
} as const;

/**
 * `pgotel.tables.excluded{reason}` / `pgotel.indexes.excluded{reason}` from the summary row of a per-relation
 * query: always emitted (0 included), so an alert on a cut needs no `absent()`. A `pgotel.*` name: a
 * self-metric, bounded by the catalog (three series per database) and never refused by the cardinality window.
 */
function excludedMetrics(kind: 'table' | 'index'): MetricMapping[] {
  const reasons = [
    ['excluded_cap', 'cap'],
    ['excluded_filter', 'filter'],
    ['excluded_locked', 'locked'],
  ] as const;
  const [what, limit] = kind === 'table' ? ['tables', 'max_tables'] : ['indexes', 'max_indexes'];
  return reasons.map(([column, reason]) => ({
    name: EXCLUDED_METRICS[kind],
    kind: 'gauge',
    unit: `{${kind}}`,
    description: `User ${what} of the database not reported in this run: over ${limit} (cap), outside the schema filters or under min_relation_size_bytes (filter), or ACCESS EXCLUSIVE locked (locked).`,
    valueColumn: column,
    staticAttributes: { reason },
  }));
}

/**
 * Database sizes. `pg_database_size` stats every file of the database (about two per relation), which
 * made it most of the standard tier's database time on 8,000 relations: sizes move slowly, so they are
 * collected with the other sizes every historical run.
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

/**
 * Per-table size and activity of every user table, up to the `maxTables` largest (seed: every 300 s; here every
 * historical run, 240 s), and how many tables were left out.
 */
export const TABLE_STATS: QueryDefinition = {
  name: 'table_stats',
  tier: 'historical',
  scope: 'database',
  sql: [
    { maxMajor: 13, sql: tableStatsSql(NEVER_ANALYZED_13) },
    { minMajor: 14, sql: tableStatsSql(NEVER_ANALYZED_14) },
  ],
  params: ['maxTables', 'minRelationSizeBytes', 'excludeSchemas', 'includeSchemas'],
  rememberSizes: true,
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
    ...excludedMetrics('table'),
  ],
};

/**
 * Same columns as `pg_stat_user_indexes` (idx_tup_read is `pg_stat_get_tuples_returned`). The first row is
 * the summary of the indexes not reported, then the indexes, largest first.
 */
function indexStatsSql(unestimated: string): string {
  return `
WITH ${LOCKED_CTE}, ${REMEMBERED_CTE},
listed AS (
  SELECT i.indexrelid AS oid, i.indrelid, n.nspname, c.relname, x.relname AS indexname, x.relpages,
         x.relfilenode, ${unestimated} AS never_analyzed, ${schemaKept('$3', '$4')} AS kept
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indrelid
    JOIN pg_class x ON x.oid = i.indexrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE ${USER_RELATIONS}
), eligible AS (
  SELECT l.oid, l.indrelid, l.nspname, l.relname, l.indexname, l.relfilenode, l.relpages AS pages,
         l.never_analyzed
    FROM listed l
   CROSS JOIN locked
   WHERE l.kept
     AND (cardinality(locked.oids) = 0 OR (l.oid <> ALL (locked.oids) AND l.indrelid <> ALL (locked.oids)))
), ${candidates('oid, indrelid, nspname, relname, indexname, relfilenode', 'indexname')}, tables AS MATERIALIZED (
  SELECT t.oid, ${activity('t.oid')} AS activity FROM (SELECT DISTINCT indrelid AS oid FROM candidates) t
), signed AS MATERIALIZED (
  SELECT m.oid, m.nspname, m.relname, m.indexname, concat_ws(':', m.relfilenode, t.activity) AS signature
    FROM candidates m
    JOIN tables t ON t.oid = m.indrelid
), measured AS (
  SELECT s.oid, s.nspname, s.relname, s.indexname, s.signature,
         CASE WHEN r.oid IS NULL THEN pg_relation_size(s.oid) ELSE r.size_bytes END AS size_bytes
    FROM signed s
    LEFT JOIN remembered r ON r.oid = s.oid AND r.signature = s.signature
), top AS (
  SELECT oid, nspname, relname, indexname, signature, size_bytes
    FROM measured
   WHERE size_bytes >= $2
   ORDER BY size_bytes DESC, nspname, indexname
   LIMIT $1
), ${EXCLUDED_CTE}
SELECT NULL::name AS schema_name, NULL::name AS table_name, NULL::name AS index_name,
       NULL::bigint AS size_bytes, NULL::bigint AS idx_scan, NULL::bigint AS idx_tup_read,
       NULL::bigint AS idx_tup_fetch, NULL::timestamptz AS stats_reset, ${EXCLUDED_COLUMNS}
  FROM excluded
UNION ALL
(SELECT t.nspname, t.relname, t.indexname, t.size_bytes,
       pg_stat_get_numscans(t.oid),
       pg_stat_get_tuples_returned(t.oid),
       pg_stat_get_tuples_fetched(t.oid),
       (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),
       ${NO_EXCLUDED_COLUMNS}
  FROM top t
 ORDER BY t.size_bytes DESC, t.nspname, t.indexname)`;
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

/**
 * Per-index size and usage of every user index, up to the `maxIndexes` largest (seed: every 600 s; here every
 * historical run, 240 s: a series sampled less often than Prometheus's 5-minute lookback disappears from instant
 * queries between samples), and how many indexes were left out.
 */
export const INDEX_STATS: QueryDefinition = {
  name: 'index_stats',
  tier: 'historical',
  scope: 'database',
  sql: [
    { maxMajor: 13, sql: indexStatsSql(NEVER_ANALYZED_13) },
    { minMajor: 14, sql: indexStatsSql(NEVER_ANALYZED_14) },
  ],
  params: ['maxIndexes', 'minRelationSizeBytes', 'excludeSchemas', 'includeSchemas'],
  rememberSizes: true,
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
    ...excludedMetrics('index'),
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
