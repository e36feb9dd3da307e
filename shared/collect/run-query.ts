import type pg from 'pg';
import { sqlstateOf } from '../db/connection.ts';
import type { ServerInfo } from '../db/server-info.ts';
import type { MetricPoint, Tier } from '../model/metrics.ts';
import { pickSql } from '../queries/select.ts';
import type { MetricMapping, QueryDefinition, QueryLimits } from '../queries/types.ts';
import { runReadOnlyStatement, type StatementResult } from './read-only-statement.ts';
import { describeFailure } from './session.ts';
import { MEASURE_ALL, type SizeScope } from './size-memory.ts';

/** Rows read at most from one query's result, unless a configured limit of the query is higher. */
export const DEFAULT_MAX_ROWS_PER_QUERY = 10_000;

/** Limits that bound a query's row count: a query taking one is never cut below it. */
const ROW_COUNT_LIMITS: readonly (keyof QueryLimits)[] = ['maxTables', 'maxIndexes', 'maxStatements'];

/** What happened to one query in one database. Never contains row data or credentials. */
export interface QueryReport {
  readonly query: string;
  readonly tier: Tier;
  /** Set for database-scoped queries and for cluster queries run outside the connection database. */
  readonly database?: string;
  readonly origin: 'builtin' | 'custom';
  readonly status: 'ok' | 'error' | 'skipped';
  readonly durationMs: number;
  readonly rows: number;
  readonly points: number;
  /** The error (status `error`) or why it did not run (status `skipped`). */
  readonly message?: string;
  /** SQLSTATE of a server-side error, e.g. `42501` permission denied. */
  readonly sqlstate?: string;
  /**
   * Rows that ran but were dropped (duplicate series, a metric name reused with another kind), or were
   * never read (a result cut at the row limit).
   */
  readonly warnings?: readonly string[];
}

/** A point tagged with the mapping that produced it. */
export interface MappedPoint {
  readonly mapping: MetricMapping;
  readonly point: MetricPoint;
}

/** A query's rows could not be turned into metrics; the message names the column. */
export class QueryShapeError extends Error {
  override readonly name = 'QueryShapeError';
}

export interface RunQueryContext {
  readonly server: ServerInfo;
  readonly limits: QueryLimits;
  /** Added as `database_name` to every point of database-scoped queries. */
  readonly database?: string;
  /** Client-side bound on one query, in case the network hangs where statement_timeout cannot help. */
  readonly queryTimeoutMs: number;
  /** Rows read at most; see `rowLimit`. @default DEFAULT_MAX_ROWS_PER_QUERY */
  readonly maxRows?: number;
  /** Sizes remembered for this query in this database (`rememberSizes` queries); without it every size is measured. */
  readonly sizes?: SizeScope;
  /** The named statements of a session kept between runs (see `StatementOptions.prepared`). */
  readonly prepared?: Set<string>;
}

/**
 * The rows read at most from `query`: `maxRows`, or the configured limit the query takes (`max_tables`, ...)
 * plus the one summary row a per-relation query adds (`pgotel.tables.excluded`, ...), when that is higher, since
 * the query is bounded by it already and must not be cut below it.
 */
function rowLimit(query: QueryDefinition, limits: QueryLimits, maxRows: number): number {
  let limit = maxRows;
  for (const name of query.params ?? []) {
    const value = limits[name];
    if (ROW_COUNT_LIMITS.includes(name) && typeof value === 'number') limit = Math.max(limit, value + 1);
  }
  return limit;
}

/** A report's message: the server's, with its refusal of several statements in one said plainly. */
function failureMessage(error: unknown, sqlstate: string | undefined, timeoutMs: number): string {
  const message = describeFailure(error, timeoutMs);
  if (sqlstate === '42601' && message === 'cannot insert multiple commands into a prepared statement')
    return `a query must be one statement; the server refused several in one (${message})`;
  return message;
}

function toNumber(value: unknown, column: string, row: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed === 'NaN') return Number.NaN;
    if (trimmed === 'Infinity' || trimmed === '-Infinity') return Number(trimmed);
    const n = Number(trimmed);
    if (trimmed !== '' && Number.isFinite(n)) return n;
  }
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value;
  throw new QueryShapeError(`value column "${column}" is not numeric (row ${row + 1}: ${shown})`);
}

function toAttribute(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

function toStartTime(value: unknown, fallbackMs: number): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string') {
    const t = Date.parse(value);
    if (Number.isFinite(t)) return t;
  }
  return fallbackMs;
}

function checkColumns(query: QueryDefinition, fields: readonly { name: string }[]): void {
  const present = new Set(fields.map((f) => f.name));
  for (const mapping of query.metrics) {
    const needed = [mapping.valueColumn, ...(mapping.attributes ?? []).map((a) => a.column)];
    if (mapping.startTimeColumn !== undefined) needed.push(mapping.startTimeColumn);
    for (const column of needed) {
      if (!present.has(column)) {
        throw new QueryShapeError(
          `column "${column}" (metric ${mapping.name}) is not in the result; columns are: ${[...present].join(', ') || '(none)'}`,
        );
      }
    }
  }
}

/** Sets an attribute; one named `__proto__` is defined, since assigning it would set the object's prototype. */
function setAttribute(attributes: Record<string, string>, name: string, value: string): void {
  if (name === '__proto__')
    Object.defineProperty(attributes, name, { value, enumerable: true, writable: true, configurable: true });
  else attributes[name] = value;
}

/** Converts result rows into points, all-or-nothing: a shape error rejects the whole query. */
export function rowsToPoints(
  query: QueryDefinition,
  rows: readonly Record<string, unknown>[],
  context: Pick<RunQueryContext, 'database' | 'server'>,
): MappedPoint[] {
  const out: MappedPoint[] = [];
  const databaseAttribute =
    query.scope === 'database' && context.database !== undefined ? context.database : undefined;
  rows.forEach((row, index) => {
    for (const mapping of query.metrics) {
      const raw = toNumber(row[mapping.valueColumn], mapping.valueColumn, index);
      if (raw === undefined) continue;
      const attributes: Record<string, string> = {};
      if (databaseAttribute !== undefined) attributes.database_name = databaseAttribute;
      for (const attribute of mapping.attributes ?? []) {
        const value = toAttribute(row[attribute.column]);
        if (value !== undefined) setAttribute(attributes, attribute.name ?? attribute.column, value);
      }
      if (mapping.staticAttributes !== undefined) Object.assign(attributes, mapping.staticAttributes);
      const value = mapping.scale === undefined ? raw : raw * mapping.scale;
      const point: MetricPoint =
        mapping.kind === 'counter'
          ? {
              attributes,
              value,
              startTimeMs:
                mapping.startTimeColumn === undefined
                  ? context.server.startedAtMs
                  : toStartTime(row[mapping.startTimeColumn], context.server.startedAtMs),
            }
          : { attributes, value };
      out.push({ mapping, point });
    }
  });
  return out;
}

/** What a query gave: its report and points. */
export interface QueryOutcome {
  readonly report: QueryReport;
  readonly points: MappedPoint[];
}

/**
 * A query whose statement has finished: `done` when it failed or did not run; otherwise `convert()` maps its rows
 * into points (never throws: a shape error becomes the report). The conversion is separate so a caller can run it
 * while the server runs the next statement.
 */
export type ExecutedQuery = { readonly done: QueryOutcome } | { readonly convert: () => QueryOutcome };

/**
 * Runs one query on an open session, as one read-only statement that reads at most `rowLimit` rows
 * (`read-only-statement.ts`), and maps its rows. Never throws: every failure becomes a report, so one
 * broken query cannot sink the others of the run.
 */
export async function runQuery(
  client: pg.Client,
  query: QueryDefinition,
  tier: Tier,
  context: RunQueryContext,
): Promise<QueryOutcome> {
  const executed = await executeQuery(client, query, tier, context);
  return 'done' in executed ? executed.done : executed.convert();
}

/**
 * {@link runQuery} in two steps: the statement is sent before this returns its promise, and the rows are mapped
 * only when `convert()` is called. A report's `durationMs` is the statement's round trip.
 */
export async function executeQuery(
  client: pg.Client,
  query: QueryDefinition,
  tier: Tier,
  context: RunQueryContext,
): Promise<ExecutedQuery> {
  const base = {
    query: query.name,
    tier,
    origin: query.origin ?? 'builtin',
    ...(context.database === undefined ? {} : { database: context.database }),
  } as const;
  const variant = pickSql(query, context.server);
  if (variant === undefined) {
    const message = `not applicable to PostgreSQL ${context.server.major} ${context.server.role}`;
    return {
      done: {
        report: { ...base, status: 'skipped', durationMs: 0, rows: 0, points: 0, message },
        points: [],
      },
    };
  }
  if (query.requiresRelation !== undefined && !context.server.relations.has(query.requiresRelation)) {
    const message = `${query.requiresRelation} is not installed or not readable in database "${context.server.database}"`;
    return {
      done: {
        report: { ...base, status: 'skipped', durationMs: 0, rows: 0, points: 0, message },
        points: [],
      },
    };
  }
  const values: unknown[] = (query.params ?? []).map((name) => context.limits[name]);
  if (query.rememberSizes === true) {
    const { oids, signatures, sizes } = context.sizes?.remembered ?? MEASURE_ALL;
    values.push(oids, signatures, sizes);
  }
  const maxRows = rowLimit(query, context.limits, context.maxRows ?? DEFAULT_MAX_ROWS_PER_QUERY);
  const started = performance.now();
  const failed = (error: unknown, durationMs = performance.now() - started): QueryOutcome => {
    const sqlstate = sqlstateOf(error);
    const message = failureMessage(error, sqlstate, context.queryTimeoutMs);
    return {
      report: {
        ...base,
        status: 'error',
        durationMs,
        rows: 0,
        points: 0,
        message,
        ...(sqlstate === undefined ? {} : { sqlstate }),
      },
      points: [],
    };
  };
  let result: StatementResult;
  try {
    result = await runReadOnlyStatement(client, variant.sql, {
      values,
      maxRows,
      timeoutMs: context.queryTimeoutMs,
      ...(context.prepared === undefined ? {} : { prepared: context.prepared }),
    });
  } catch (error) {
    return { done: failed(error) };
  }
  const durationMs = performance.now() - started;
  return {
    convert: () => {
      try {
        checkColumns(query, result.fields);
        const points = rowsToPoints(query, result.rows, context);
        context.sizes?.keep(result.rows);
        const report: QueryReport = {
          ...base,
          status: 'ok',
          durationMs,
          rows: result.rows.length,
          points: points.length,
          ...(result.truncated
            ? { warnings: [`result cut at ${maxRows.toLocaleString('en-US')} rows: the rest were not read`] }
            : {}),
        };
        return { report, points };
      } catch (error) {
        return failed(error, durationMs);
      }
    },
  };
}
