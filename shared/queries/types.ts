import type { ServerRole } from '../db/server-info.ts';
import type { MetricKind, Tier } from '../model/metrics.ts';

/**
 * Query definitions are data: the collector engine (`collect/run-query.ts`) is the only code path,
 * and custom queries from the config file are turned into the very same shape.
 */

export type { ServerRole };

/** One SQL text and the server versions and roles it applies to. */
export interface VersionedSql {
  /** Lowest PostgreSQL major version this SQL runs on (inclusive). @default 13 */
  readonly minMajor?: number;
  /** Highest PostgreSQL major version this SQL runs on (inclusive). @default no upper bound */
  readonly maxMajor?: number;
  /** Only on this role; both when absent. */
  readonly role?: ServerRole;
  readonly sql: string;
}

/** Turns one column of every result row into points of one metric. */
export interface MetricMapping {
  /** OTel-style dotted name, e.g. `postgresql.table.dead_rows`. */
  readonly name: string;
  readonly kind: MetricKind;
  /** UCUM unit. */
  readonly unit: string;
  readonly description: string;
  /** Column holding the numeric value. A NULL value yields no point (not applicable), not an error. */
  readonly valueColumn: string;
  /** Columns that become point attributes; `name` renames the attribute. */
  readonly attributes?: readonly { readonly column: string; readonly name?: string }[];
  /** Fixed attributes, used when several columns of one row feed one metric (e.g. `operation`). */
  readonly staticAttributes?: Readonly<Record<string, string>>;
  /** Column holding the counter's start time (a timestamptz such as `stats_reset`). */
  readonly startTimeColumn?: string;
  /** Multiply the value, e.g. 0.001 to turn milliseconds into seconds. @default 1 */
  readonly scale?: number;
}

/**
 * `cluster`: runs once per target, on the first database.
 * `database`: runs in every selected database; each point gets a `database_name` attribute.
 */
export type QueryScope = 'cluster' | 'database';

/** A named query: which tier runs it, which SQL for which server, and how rows become metrics. */
export interface QueryDefinition {
  /** Unique, snake_case; used in reports, self-metrics and `queries.disable`. */
  readonly name: string;
  readonly tier: Tier;
  readonly scope: QueryScope;
  /**
   * Run at most every this many seconds, even if the tier runs more often
   * (the seed's 600 s for index stats is not a default here: a series sampled less often than Prometheus's 5-minute
   * lookback vanishes from instant queries between samples). @default the tier's interval
   */
  readonly intervalSeconds?: number;
  /** The first entry that matches the server's major version and role is used; none matching = not applicable. */
  readonly sql: readonly VersionedSql[];
  /** A relation that must exist (e.g. `pg_stat_statements`); when missing the query is skipped, not failed. */
  readonly requiresRelation?: string;
  /** Limits passed to the SQL as `$1`, `$2`, ... in this order. */
  readonly params?: readonly (keyof QueryLimits)[];
  /**
   * The query can reuse sizes measured by earlier runs (`collect/size-memory.ts`): after its `params` it takes
   * three arrays — relation OIDs, the size signature each was measured under, its size in bytes — and
   * measures only the relations whose signature changed (every relation when the arrays are empty); its rows
   * carry `relid`, `size_signature` and `size_bytes` to remember.
   */
  readonly rememberSizes?: boolean;
  readonly metrics: readonly MetricMapping[];
  /** Where the query came from; custom queries are reported as such. @default 'builtin' */
  readonly origin?: 'builtin' | 'custom';
}

/**
 * Limits substituted into SQL as `$n` parameters; they bound per-table, per-index and per-statement
 * series so a database with 100,000 relations cannot blow up a run.
 */
export interface QueryLimits {
  /**
   * Most tables reported per database, largest first; a database with more reports how many were left out
   * (`pgotel.tables.excluded`). @default 10000
   */
  readonly maxTables: number;
  /** Most indexes reported per database, largest first, likewise (`pgotel.indexes.excluded`). @default 10000 */
  readonly maxIndexes: number;
  /** Tables and indexes smaller than this are not reported. @default 0 */
  readonly minRelationSizeBytes: number;
  /** Schemas whose relations are never reported, in addition to the system schemas. @default [] */
  readonly excludeSchemas: readonly string[];
  /** When non-empty, only these schemas are reported. @default [] */
  readonly includeSchemas: readonly string[];
  /** Number of `pg_stat_statements` entries reported, by total execution time. @default 50 */
  readonly maxStatements: number;
  /** Sessions running at least this long count as long-running. @default 60 */
  readonly longRunningSeconds: number;
}
