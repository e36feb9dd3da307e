import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTable } from '../../../cli/format-table.ts';
import { type CollectResult, type CollectTarget, collect } from '../../../shared/collect/collect.ts';
import { SizeMemory } from '../../../shared/collect/size-memory.ts';
import { connectionTarget } from '../../../shared/config/local-target.ts';
import { parseDsn } from '../../../shared/db/connection.ts';
import type { Tier } from '../../../shared/model/metrics.ts';
import { BUILTIN_QUERIES, DEFAULT_LIMITS } from '../../../shared/queries/catalog.ts';
import { EXCLUDED_METRICS } from '../../../shared/queries/historical.ts';
import type { QueryLimits } from '../../../shared/queries/types.ts';
import { PG_MAJORS, type PgInstance, startPostgres, startReplica } from '../../helpers/postgres.ts';
import { delay } from '../../helpers/processes.ts';

/**
 * The built-in catalog against a real server of every major in PGOTEL_PG_MAJORS, collected by a role that
 * has nothing but pg_monitor (and the default CONNECT). Autovacuum is off so row counts and sizes only
 * change when a test changes them.
 */

const ALL_TIERS: readonly Tier[] = ['critical', 'standard', 'historical'];
const MONITOR_USER = 'catalog_monitor';
const MONITOR_PASSWORD = 'monitor-Secret-7q';

/** Queries that legitimately do not run on a primary of this major. */
function expectedSkippedOnPrimary(major: number): string[] {
  const skipped = ['replica'];
  if (major < 14) skipped.push('session_stats', 'wal_stats', 'statements_info');
  if (major < 16) skipped.push('io');
  return skipped.sort();
}

function targetFor(server: PgInstance, include: readonly string[] = []): CollectTarget {
  const connection = parseDsn(
    `postgres://${MONITOR_USER}:${encodeURIComponent(MONITOR_PASSWORD)}@${server.host}:${server.port}/postgres`,
  );
  return connectionTarget(`pg${server.major}`, connection, {
    cluster: 'catalog-test',
    environment: 'test',
    serviceName: 'pgotel-test',
    databases: { include, exclude: [] },
  });
}

async function collectFrom(
  target: CollectTarget,
  options: { tiers?: readonly Tier[]; queries?: readonly string[]; limits?: Partial<QueryLimits> } = {},
): Promise<CollectResult> {
  const queries =
    options.queries === undefined
      ? BUILTIN_QUERIES
      : BUILTIN_QUERIES.filter((q) => options.queries?.includes(q.name));
  return collect(
    target,
    { tiers: options.tiers ?? ALL_TIERS, scheduledAtMs: Date.now(), ignoreIntervals: true },
    { queries, limits: { ...DEFAULT_LIMITS, ...options.limits } },
  );
}

function problems(result: CollectResult): string[] {
  return result.queries
    .filter((r) => r.status === 'error' || (r.warnings ?? []).length > 0)
    .map(
      (r) =>
        `${r.query}${r.database === undefined ? '' : `@${r.database}`}: ${r.message ?? ''} ${(r.warnings ?? []).join('; ')}`,
    );
}

function skippedQueries(result: CollectResult): string[] {
  return [...new Set(result.queries.filter((r) => r.status === 'skipped').map((r) => r.query))].sort();
}

/** Points of one family, across the batches of a run. */
function points(
  result: CollectResult,
  name: string,
): { attributes: Record<string, string>; value: number }[] {
  const out: { attributes: Record<string, string>; value: number }[] = [];
  for (const { batch } of result.batches) {
    for (const family of batch.families) {
      if (family.name !== name) continue;
      for (const point of family.points)
        out.push({ attributes: { ...point.attributes }, value: point.value });
    }
  }
  return out;
}

/** The kind of a family in a run, or undefined when the run has no such family. */
function kindOf(result: CollectResult, name: string): string | undefined {
  for (const { batch } of result.batches) {
    const family = batch.families.find((f) => f.name === name);
    if (family !== undefined) return family.kind;
  }
  return undefined;
}

/** Every label value of every point of a run, self-metrics included. */
function allLabelValues(result: CollectResult): string[] {
  return result.batches.flatMap(({ batch }) =>
    batch.families.flatMap((f) => f.points.flatMap((p) => Object.values(p.attributes))),
  );
}

/** The value of the series with exactly these attributes, or undefined. */
function seriesValue(
  result: CollectResult,
  name: string,
  attributes: Record<string, string>,
): number | undefined {
  const wanted = JSON.stringify(Object.entries(attributes).sort());
  return points(result, name).find((p) => JSON.stringify(Object.entries(p.attributes).sort()) === wanted)
    ?.value;
}

/** `pgotel.tables.excluded` and `pgotel.indexes.excluded` of one database, as `{ 'table cap': n, ... }`. */
function excludedOf(result: CollectResult, database: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const kind of ['table', 'index'] as const) {
    for (const p of points(result, EXCLUDED_METRICS[kind])) {
      expect(Object.keys(p.attributes).sort()).toEqual(['database_name', 'reason']);
      if (p.attributes.database_name === database) out[`${kind} ${p.attributes.reason}`] = p.value;
    }
  }
  return out;
}

/** Every table and index of a database with its size by PostgreSQL's own functions, sorted by name. */
async function sizesOf(
  server: PgInstance,
  database: string,
): Promise<{ tables: string[]; indexes: string[] }> {
  const tables = await server.query<{ line: string }>(
    `SELECT format('%s.%s %s', n.nspname, c.relname, pg_total_relation_size(c.oid)) AS line
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname IN ('app', 'audit') ORDER BY 1`,
    [],
    database,
  );
  const indexes = await server.query<{ line: string }>(
    `SELECT format('%s.%s.%s %s', n.nspname, c.relname, x.relname, pg_relation_size(x.oid)) AS line
       FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class x ON x.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname IN ('app', 'audit') ORDER BY 1`,
    [],
    database,
  );
  return { tables: tables.map((r) => r.line), indexes: indexes.map((r) => r.line) };
}

/** The reported table and index sizes of one database, in the form of `sizesOf`. */
function reportedSizes(result: CollectResult, database: string): { tables: string[]; indexes: string[] } {
  const of = (metric: string, labels: readonly string[]) =>
    points(result, metric)
      .filter((p) => p.attributes.database_name === database)
      .map((p) => `${labels.map((l) => p.attributes[l]).join('.')} ${p.value}`)
      .sort();
  return {
    tables: of('postgresql.table.size', ['schema_name', 'table_name']),
    indexes: of('postgresql.index.size', ['schema_name', 'table_name', 'index_name']),
  };
}

async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(100);
  }
}

async function firstNumber(
  server: PgInstance,
  sql: string,
  params: unknown[] = [],
  database?: string,
): Promise<number> {
  const rows = await server.query<Record<string, unknown>>(sql, params, database);
  const value = Object.values(rows[0] ?? {})[0];
  return Number(value);
}

/**
 * Ends a session after making its pending statistics visible: PostgreSQL 15+ flushes on request, 13 and
 * 14 send them to the stats collector at the latest when the backend exits.
 */
async function endWithStats(server: PgInstance, client: pg.Client): Promise<void> {
  if (server.major >= 15) await client.query('SELECT pg_stat_force_next_flush()');
  await client.end();
}

describe.each(PG_MAJORS)('built-in query catalog on PostgreSQL %i', (major) => {
  let server: PgInstance;
  let target: CollectTarget;

  beforeAll(async () => {
    server = await startPostgres({ major, settings: { autovacuum: 'off' } });
    await server.query(`CREATE ROLE ${MONITOR_USER} LOGIN PASSWORD '${MONITOR_PASSWORD}' IN ROLE pg_monitor`);
    await server.query('CREATE DATABASE app');
    await server.query('CREATE DATABASE bounds');
    target = targetFor(server);
  });

  afterAll(async () => {
    await server?.destroy();
  });

  it('runs every query without error for a pg_monitor-only role and skips exactly the version-dependent ones', async () => {
    // Prepare: a table in each user database so the per-table queries have rows to map.
    await server.query('CREATE TABLE smoke (id int PRIMARY KEY, v text)', [], 'app');
    await server.query("INSERT INTO smoke SELECT g, 'x' FROM generate_series(1, 100) g", [], 'app');

    // Act
    const result = await collectFrom(target);

    // Assess
    expect(problems(result)).toEqual([]);
    expect(result.up).toBe(1);
    expect(skippedQueries(result)).toEqual(expectedSkippedOnPrimary(major));
    expect(result.databases).toEqual(['app', 'bounds', 'postgres']);
    expect(seriesValue(result, 'postgresql.settings.max_connections', {})).toBe(100);
    expect(seriesValue(result, 'postgresql.replication.replicas', {})).toBe(0);
    expect(seriesValue(result, 'postgresql.locks.blocked_sessions', { database_name: 'app' })).toBe(0);
    expect(points(result, 'postgresql.locks.waiting_sessions')).toEqual([]);
    expect(seriesValue(result, 'postgresql.vacuum.running', { database_name: 'app' })).toBe(0);
    const conflictTypes = points(result, 'postgresql.database.conflicts')
      .filter((p) => p.attributes.database_name === 'app')
      .map((p) => p.attributes.conflict_type)
      .sort();
    const expectedTypes = ['bufferpin', 'deadlock', 'lock', 'snapshot', 'tablespace'];
    if (major >= 16) expectedTypes.unshift('active_logicalslot');
    expect(conflictTypes).toEqual(expectedTypes);
    // Template databases are left out of the per-database statistics but not of wraparound.
    expect(
      points(result, 'postgresql.database.size')
        .map((p) => p.attributes.database_name)
        .sort(),
    ).toEqual(['app', 'bounds', 'postgres']);
    expect(
      seriesValue(result, 'postgresql.database.xid_age', { database_name: 'template0' }),
    ).toBeGreaterThan(0);
  });

  it('reports each database size as pg_database_size', async () => {
    // Act
    const result = await collectFrom(target, { tiers: ['historical'], queries: ['database_size'] });
    const expected = await server.query<{ datname: string; size: string }>(
      `SELECT datname, pg_database_size(datname) AS size FROM pg_database WHERE datname IN ('app', 'bounds', 'postgres')`,
    );

    // Assess
    expect(problems(result)).toEqual([]);
    for (const row of expected) {
      expect(seriesValue(result, 'postgresql.database.size', { database_name: row.datname })).toBe(
        Number(row.size),
      );
    }
  });

  it('reports live rows, dead rows and modifications of a table', async () => {
    // Prepare
    const n = 3000;
    const k = 1200; // over the 1000 dead rows the seed's bloat and dead-tuple queries require
    const client = await server.client('app');
    await client.query('CREATE TABLE churn (id int PRIMARY KEY, payload text)');
    await client.query("INSERT INTO churn SELECT g, repeat('p', 50) FROM generate_series(1, $1) g", [n]);
    await client.query('DELETE FROM churn WHERE id <= $1', [k]);
    await endWithStats(server, client);
    await waitFor('table statistics of churn', async () => {
      const dead = await firstNumber(
        server,
        "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'churn'",
        [],
        'app',
      );
      return dead === k;
    });

    // Act
    const result = await collectFrom(target, { tiers: ['historical'] });

    // Assess
    expect(problems(result)).toEqual([]);
    const table = { database_name: 'app', schema_name: 'public', table_name: 'churn' };
    expect(seriesValue(result, 'postgresql.table.rows', table)).toBe(n - k);
    expect(seriesValue(result, 'postgresql.table.dead_rows', table)).toBe(k);
    expect(seriesValue(result, 'postgresql.table.modifications', { ...table, operation: 'insert' })).toBe(n);
    expect(seriesValue(result, 'postgresql.table.modifications', { ...table, operation: 'delete' })).toBe(k);
    expect(seriesValue(result, 'postgresql.table.modifications', { ...table, operation: 'update' })).toBe(0);
    expect(seriesValue(result, 'postgresql.table.vacuum', { ...table, vacuum_type: 'manual' })).toBe(0);
    expect(seriesValue(result, 'postgresql.table.last_vacuum_age', table)).toBeUndefined();
    expect(seriesValue(result, 'postgresql.table.size', table)).toBe(
      await firstNumber(server, "SELECT pg_total_relation_size('churn')", [], 'app'),
    );
    expect(seriesValue(result, 'postgresql.table.bloat', table)).toBe(Math.round((10000 * k) / n) / 100);
    const standard = await collectFrom(target, { tiers: ['standard'], queries: ['vacuum_dead_tuples'] });
    expect(seriesValue(standard, 'postgresql.vacuum.dead_tuples', table)).toBe(k);
  });

  it('counts index scans on a known index', async () => {
    // Prepare
    const lookups = 7;
    await server.query('CREATE TABLE lookup (id int PRIMARY KEY, v int)', [], 'app');
    await server.query('INSERT INTO lookup SELECT g, g * 2 FROM generate_series(1, 1000) g', [], 'app');
    const client = await server.client('app');
    await client.query('SET enable_seqscan = off');
    await client.query('SET enable_bitmapscan = off');
    for (let i = 1; i <= lookups; i++) await client.query('SELECT v FROM lookup WHERE id = $1', [i * 10]);
    await endWithStats(server, client);
    await waitFor('index statistics of lookup_pkey', async () => {
      const scans = await firstNumber(
        server,
        "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'lookup_pkey'",
        [],
        'app',
      );
      return scans >= lookups;
    });

    // Act
    const result = await collectFrom(target, {
      tiers: ['historical'],
      queries: ['table_stats', 'index_stats'],
    });

    // Assess
    expect(problems(result)).toEqual([]);
    const index = {
      database_name: 'app',
      schema_name: 'public',
      table_name: 'lookup',
      index_name: 'lookup_pkey',
    };
    expect(seriesValue(result, 'postgresql.index.scans', index)).toBe(lookups);
    expect(seriesValue(result, 'postgresql.index.tuples', { ...index, operation: 'fetched' })).toBe(lookups);
    expect(
      seriesValue(result, 'postgresql.table.scans', {
        database_name: 'app',
        schema_name: 'public',
        table_name: 'lookup',
        scan_type: 'index',
      }),
    ).toBe(lookups);
    expect(seriesValue(result, 'postgresql.index.size', index)).toBe(
      await firstNumber(server, "SELECT pg_relation_size('lookup_pkey')", [], 'app'),
    );
  });

  it('counts commits', async () => {
    // Prepare
    const m = 25;
    const before = await collectFrom(target, { tiers: ['standard'], queries: ['database_stats'] });
    const commitsBefore = seriesValue(before, 'postgresql.database.transactions', {
      database_name: 'app',
      transaction_type: 'commit',
    });
    expect(commitsBefore).toBeTypeOf('number');
    const client = await server.client('app');
    for (let i = 0; i < m; i++) await client.query('SELECT 1');
    await endWithStats(server, client);
    const target0 = (commitsBefore ?? 0) + m;
    await waitFor('commits of app', async () => {
      const commits = await firstNumber(
        server,
        "SELECT xact_commit FROM pg_stat_database WHERE datname = 'app'",
      );
      return commits >= target0;
    });

    // Act
    const after = await collectFrom(target, { tiers: ['standard'], queries: ['database_stats'] });

    // Assess
    const commitsAfter = seriesValue(after, 'postgresql.database.transactions', {
      database_name: 'app',
      transaction_type: 'commit',
    });
    expect((commitsAfter ?? 0) - (commitsBefore ?? 0)).toBeGreaterThanOrEqual(m);
  });

  it('counts sessions established apart from the sessions terminated abnormally (13: reported not applicable)', async () => {
    if (major < 14) {
      // pg_stat_database has no session accounting before 14: the query says so and produces nothing.
      const result = await collectFrom(target, { tiers: ['standard'], queries: ['session_stats'] });
      expect(result.queries.map((q) => [q.query, q.status, q.message])).toEqual([
        ['session_stats', 'skipped', `not applicable to PostgreSQL ${major} primary`],
      ]);
      expect(points(result, 'postgresql.sessions.established')).toEqual([]);
      return;
    }
    // Prepare: one session in "app" killed by pg_terminate_backend.
    const victim = await server.client('app');
    victim.on('error', () => undefined); // the termination arrives as an error event on the idle client
    const victimPid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    await server.query('SELECT pg_terminate_backend($1)', [victimPid]);
    const viewSql = `SELECT sessions, sessions_abandoned + sessions_fatal + sessions_killed AS ended, sessions_killed,
                              session_time / 1000 AS session_seconds
                       FROM pg_stat_database WHERE datname = 'app'`;
    type Row = { sessions: string; ended: string; sessions_killed: string; session_seconds: number };
    await waitFor('the killed session to be counted', async () => {
      const rows = await server.query<Row>(viewSql);
      return Number(rows[0]?.sessions_killed) >= 1;
    });
    const before = (await server.query<Row>(viewSql))[0];

    // Act
    const result = await collectFrom(target, { tiers: ['standard'], queries: ['session_stats'] });
    const after = (await server.query<Row>(viewSql))[0];

    // Assess
    expect(problems(result)).toEqual([]);
    const app = { database_name: 'app' };
    const established = seriesValue(result, 'postgresql.sessions.established', app);
    expect(established).toBeGreaterThanOrEqual(Number(before?.sessions));
    expect(established).toBeLessThanOrEqual(Number(after?.sessions));
    // The parts of a family add up to what they describe: summing over `reason` counts nothing twice.
    const terminated = points(result, 'postgresql.sessions.terminated').filter(
      (p) => p.attributes.database_name === 'app',
    );
    expect(terminated.map((p) => p.attributes.reason).sort()).toEqual(['abandoned', 'fatal', 'killed']);
    expect(terminated.reduce((sum, p) => sum + p.value, 0)).toBe(Number(before?.ended));
    expect(seriesValue(result, 'postgresql.sessions.terminated', { ...app, reason: 'killed' })).toBe(
      Number(before?.sessions_killed),
    );
    expect(points(result, 'postgresql.sessions.count')).toEqual([]);
    // Session time: active, idle in transaction and idle add up to pg_stat_database.session_time.
    const [times] = await server.query<{ total: number }>(
      "SELECT session_time / 1000 AS total FROM pg_stat_database WHERE datname = 'app'",
    );
    const states = points(result, 'postgresql.sessions.time').filter(
      (p) => p.attributes.database_name === 'app',
    );
    expect(states.map((p) => p.attributes.state).sort()).toEqual(['active', 'idle', 'idle_in_transaction']);
    expect(states.reduce((sum, p) => sum + p.value, 0)).toBeCloseTo(Number(times?.total), 3);
  });

  it('shows a session blocked by a lock, the open transaction and the long-running statement', async () => {
    // Prepare: A holds an exclusive lock in an open transaction, B waits for it.
    const seconds = 2;
    await server.query('CREATE TABLE locked (id int)', [], 'app');
    const holder = await server.client('app');
    const waiter = await server.client('app');
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE locked IN ACCESS EXCLUSIVE MODE');
      const heldSince = Date.now();
      const waiterPid = (await waiter.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      const blocked = waiter.query('SELECT * FROM locked').catch((error: unknown) => error);
      await waitFor('the waiter to wait for the lock', async () => {
        const rows = await server.query<{ t: string | null }>(
          'SELECT wait_event_type AS t FROM pg_stat_activity WHERE pid = $1',
          [waiterPid],
        );
        return rows[0]?.t === 'Lock';
      });
      const waitingSince = Date.now();
      const waitUntil = Math.max(heldSince, waitingSince) + seconds * 1000;
      await delay(Math.max(0, waitUntil - Date.now()) + 50);

      // Act
      const result = await collectFrom(target, { tiers: ['critical'], limits: { longRunningSeconds: 1 } });

      // Assess
      expect(problems(result)).toEqual([]);
      expect(
        seriesValue(result, 'postgresql.connections.waiting', {
          database_name: 'app',
          wait_event_type: 'Lock',
          wait_event: 'relation',
        }),
      ).toBe(1);
      // Exactly the one session waiting on a heavyweight lock: not idle clients, not background processes.
      expect(points(result, 'postgresql.locks.waiting_sessions')).toEqual([
        { attributes: { database_name: 'app', lock_type: 'relation' }, value: 1 },
      ]);
      expect(seriesValue(result, 'postgresql.locks.blocked_sessions', { database_name: 'app' })).toBe(1);
      expect(seriesValue(result, 'postgresql.locks.blocked_sessions', { database_name: 'postgres' })).toBe(0);
      const app = { database_name: 'app', user_name: 'postgres' };
      expect(seriesValue(result, 'postgresql.connections.active', app)).toBe(1);
      expect(seriesValue(result, 'postgresql.connections.idle_in_transaction', app)).toBe(1);
      expect(seriesValue(result, 'postgresql.connections.idle', app)).toBe(0);
      expect(
        seriesValue(result, 'postgresql.database.connections', {
          database_name: 'app',
          connection_state: 'active',
        }),
      ).toBe(1);
      expect(
        seriesValue(result, 'postgresql.database.connections', {
          database_name: 'app',
          connection_state: 'idle in transaction',
        }),
      ).toBe(1);
      expect(
        seriesValue(result, 'postgresql.transactions.max_duration', { database_name: 'app' }),
      ).toBeGreaterThanOrEqual(seconds);
      expect(
        seriesValue(result, 'postgresql.queries.max_duration', { database_name: 'app' }),
      ).toBeGreaterThanOrEqual(seconds);
      expect(
        seriesValue(result, 'postgresql.queries.long_running', { ...app, connection_state: 'active' }),
      ).toBeGreaterThanOrEqual(seconds);
      expect(
        seriesValue(result, 'postgresql.queries.long_running', {
          ...app,
          connection_state: 'idle in transaction',
        }),
      ).toBeGreaterThanOrEqual(seconds);
      // The collector's own session is never counted.
      expect(
        points(result, 'postgresql.connections.active').filter(
          (p) => p.attributes.user_name === MONITOR_USER,
        ),
      ).toEqual([]);

      await holder.query('ROLLBACK');
      expect(await blocked).toMatchObject({ rowCount: 0 });
    } finally {
      await holder.end();
      await waiter.end();
    }
  });

  it('skips a table another session holds in ACCESS EXCLUSIVE mode instead of failing on lock_timeout', async () => {
    // Prepare
    await server.query('CREATE TABLE busy (id int PRIMARY KEY)', [], 'bounds');
    await server.query('CREATE TABLE calm (id int PRIMARY KEY)', [], 'bounds');
    const holder = await server.client('bounds');
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE busy IN ACCESS EXCLUSIVE MODE');

      // Act
      const result = await collectFrom(targetFor(server, ['bounds']), {
        tiers: ['historical'],
        queries: ['table_stats', 'index_stats'],
      });

      // Assess
      expect(problems(result)).toEqual([]);
      const tables = points(result, 'postgresql.table.size').map((p) => p.attributes.table_name);
      expect(tables).toContain('calm');
      expect(tables).not.toContain('busy');
      const indexes = points(result, 'postgresql.index.size').map((p) => p.attributes.index_name);
      expect(indexes).toContain('calm_pkey');
      expect(indexes).not.toContain('busy_pkey');
      expect(excludedOf(result, 'bounds')).toEqual({
        'table cap': 0,
        'table filter': 0,
        'table locked': 1,
        'index cap': 0,
        'index filter': 0,
        'index locked': 1,
      });
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
      await server.query('DROP TABLE busy, calm', [], 'bounds');
    }
  });

  it('bounds per-table and per-index series by size, schema and count', async () => {
    // Prepare: eight tables of strictly increasing size, the two largest in schema "archive".
    await server.query('CREATE SCHEMA archive', [], 'bounds');
    for (let i = 1; i <= 8; i++) {
      const name = i >= 7 ? `archive.b${i}` : `public.b${i}`;
      await server.query(`CREATE TABLE ${name} (id int PRIMARY KEY, pad text)`, [], 'bounds');
      await server.query(
        `INSERT INTO ${name} SELECT g, repeat('x', 200) FROM generate_series(1, $1) g`,
        [i * 300],
        'bounds',
      );
    }
    const sizes = await server.query<{ schema: string; name: string; size: string }>(
      `SELECT n.nspname AS schema, c.relname AS name, pg_total_relation_size(c.oid) AS size
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname IN ('public', 'archive')
        ORDER BY 3 DESC`,
      [],
      'bounds',
    );
    const only = targetFor(server, ['bounds']);
    const tablesOf = (result: CollectResult) =>
      points(result, 'postgresql.table.size')
        .map((p) => ({
          schema: p.attributes.schema_name,
          name: p.attributes.table_name,
          size: String(p.value),
        }))
        .sort((a, b) => Number(b.size) - Number(a.size));
    const historical = { tiers: ['historical'] as const, queries: ['table_stats', 'index_stats'] };

    // Act
    const top5 = await collectFrom(only, { ...historical, limits: { maxTables: 5, maxIndexes: 2 } });
    const noArchive = await collectFrom(only, {
      ...historical,
      limits: { maxTables: 5, excludeSchemas: ['archive'] },
    });
    const archiveOnly = await collectFrom(only, { ...historical, limits: { includeSchemas: ['archive'] } });
    const thirdSize = Number(sizes[2]?.size);
    const bigOnly = await collectFrom(only, { ...historical, limits: { minRelationSizeBytes: thirdSize } });

    // Assess
    for (const result of [top5, noArchive, archiveOnly, bigOnly]) expect(problems(result)).toEqual([]);
    expect(tablesOf(top5)).toEqual(sizes.slice(0, 5));
    expect(points(top5, 'postgresql.index.size').map((p) => p.attributes.index_name)).toEqual([
      'b8_pkey',
      'b7_pkey',
    ]);
    expect(tablesOf(noArchive)).toEqual(sizes.filter((s) => s.schema === 'public').slice(0, 5));
    expect(tablesOf(archiveOnly)).toEqual(sizes.filter((s) => s.schema === 'archive'));
    expect(tablesOf(bigOnly)).toEqual(sizes.slice(0, 3));
  });

  it('measures a large never-analyzed table that the size estimate ranks last', async () => {
    // Prepare: 30 analyzed one-row tables outrank (by estimate) a never-analyzed table holding 5000 rows.
    await server.query('CREATE DATABASE estimates');
    await server.query(
      `DO $$ BEGIN FOR i IN 1..30 LOOP
         EXECUTE format('CREATE TABLE small%s (id int PRIMARY KEY)', i);
         EXECUTE format('INSERT INTO small%s VALUES (1)', i);
       END LOOP; END $$`,
      [],
      'estimates',
    );
    await server.query('ANALYZE', [], 'estimates');
    const client = await server.client('estimates');
    await client.query('CREATE TABLE fresh_big (id int PRIMARY KEY, pad text)');
    await client.query("INSERT INTO fresh_big SELECT g, repeat('y', 100) FROM generate_series(1, 5000) g");
    await endWithStats(server, client);
    await waitFor('insert statistics of fresh_big', async () => {
      const inserted = await firstNumber(
        server,
        "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'fresh_big'",
        [],
        'estimates',
      );
      return inserted === 5000;
    });
    const estimate = await server.query<{ relpages: number }>(
      "SELECT relpages FROM pg_class WHERE relname = 'fresh_big'",
      [],
      'estimates',
    );
    expect(estimate).toEqual([{ relpages: 0 }]);

    // Act
    const result = await collectFrom(targetFor(server, ['estimates']), {
      tiers: ['historical'],
      queries: ['table_stats', 'index_stats'],
      limits: { maxTables: 2, maxIndexes: 1 },
    });

    // Assess
    expect(problems(result)).toEqual([]);
    const tables = points(result, 'postgresql.table.size');
    expect(tables.map((p) => p.attributes.table_name)).toHaveLength(2);
    expect(tables[0]?.attributes.table_name).toBe('fresh_big');
    expect(tables[0]?.value).toBe(
      await firstNumber(server, "SELECT pg_total_relation_size('fresh_big')", [], 'estimates'),
    );
    expect(points(result, 'postgresql.index.size').map((p) => p.attributes.index_name)).toEqual([
      'fresh_big_pkey',
    ]);
  });

  it('reports pg_stat_statements top-N with exact call counts', async () => {
    // Prepare
    const calls = 6;
    const client = await server.client('postgres');
    await client.query('SELECT pg_stat_statements_reset()');
    for (let i = 0; i < calls; i++) await client.query('SELECT pg_sleep(0.05)');
    await client.end();

    // Act
    const result = await collectFrom(target, {
      tiers: ['standard'],
      queries: ['statements'],
      limits: { maxStatements: 3 },
    });

    // Assess
    expect(problems(result)).toEqual([]);
    const series = points(result, 'postgresql.statements.calls');
    expect(series).toHaveLength(3);
    const sleep = series.find((p) => p.attributes.query === 'SELECT pg_sleep($1)');
    expect(sleep?.value).toBe(calls);
    expect(sleep?.attributes).toMatchObject({ database_name: 'postgres', user_name: 'postgres' });
    const execTime = seriesValue(result, 'postgresql.statements.exec_time', sleep?.attributes ?? {});
    expect(execTime).toBeGreaterThanOrEqual(calls * 0.05);
    expect(seriesValue(result, 'postgresql.statements.tracked', {})).toBeGreaterThanOrEqual(3);
  });

  it('exports utility statements as a placeholder, so no secret in them reaches a label', async () => {
    // Prepare: each statement carries a secret the old PASSWORD regex missed or masked.
    const secrets = {
      createRole: 'Create-Role-Leak-1',
      alterUser: 'Alter-User-Leak-2',
      dollar: 'Dollar-Tail-Leak-3',
      escape: 'Escape-Tail-Leak-4',
      conninfo: 'Conninfo-Leak-5',
      literal: 'Dml-Literal-Leak-6',
      comment: 'Comment-Leak-7',
      selectInto: 'Select-Into-Leak-8',
    };
    await server.query(`CREATE ROLE leak_role LOGIN PASSWORD '${secrets.createRole}'`);
    await server.query(`ALTER USER leak_role PASSWORD '${secrets.alterUser}'`);
    await server.query(`ALTER ROLE leak_role PASSWORD $$head ${secrets.dollar}$$`);
    await server.query(`ALTER ROLE leak_role PASSWORD E'head\\ ${secrets.escape}'`);
    await server.query(
      `CREATE SUBSCRIPTION leak_sub CONNECTION 'password=${secrets.conninfo} port=1'
         PUBLICATION leak_pub WITH (connect = false, slot_name = NONE)`,
    );
    await server.query(`SELECT '${secrets.literal}'::text AS v`);
    // pg_stat_statements keeps comments verbatim; SELECT ... INTO is a utility statement that starts like a query.
    await server.query(`/* route='${secrets.comment}' */ SELECT 2 AS w -- ${secrets.comment}`);
    await server.query(`SELECT '${secrets.selectInto}'::text AS v INTO TEMP leak_into`);
    try {
      // Act
      const result = await collectFrom(target, {
        tiers: ['standard'],
        queries: ['statements'],
        limits: { maxStatements: 1000 },
      });

      // Assess
      expect(problems(result)).toEqual([]);
      const leaks = allLabelValues(result).filter((v) =>
        [...Object.values(secrets), MONITOR_PASSWORD].some((secret) => v.includes(secret)),
      );
      expect(leaks).toEqual([]);
      const texts = points(result, 'postgresql.statements.calls').map((p) => p.attributes.query ?? '');
      // At least the five utility statements above, each its own series (told apart by queryid).
      expect(texts.filter((t) => t === '<utility statement>').length).toBeGreaterThanOrEqual(5);
      expect(texts.filter((t) => /^(CREATE|ALTER)\b/i.test(t))).toEqual([]);
      // Plannable statements keep their normalized text.
      expect(texts).toContain('SELECT $1::text AS v');
      expect(texts).toContain('SELECT $1 AS w');
    } finally {
      await server.query('DROP SUBSCRIPTION leak_sub');
      await server.query('DROP ROLE leak_role');
    }
  });

  it('counts a requested checkpoint', async () => {
    // Prepare
    const checkpoints = (result: CollectResult) =>
      seriesValue(result, 'postgresql.bgwriter.checkpoints', { type: 'requested' });
    const before = checkpoints(await collectFrom(target, { tiers: ['standard'], queries: ['checkpointer'] }));
    expect(before).toBeTypeOf('number');

    // Act
    await server.query('CHECKPOINT');
    let after: number | undefined;
    await waitFor('the checkpoint to be counted', async () => {
      after = checkpoints(await collectFrom(target, { tiers: ['standard'], queries: ['checkpointer'] }));
      return (after ?? 0) > (before ?? 0);
    });

    // Assess
    expect((after ?? 0) - (before ?? 0)).toBeGreaterThanOrEqual(1);
  });

  it('reports WAL positions and replication slot lag between direct readings', async () => {
    // Prepare
    await server.query("SELECT pg_create_physical_replication_slot('catalog_phys', true)");
    try {
      const lagSql =
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) FROM pg_replication_slots WHERE slot_name = 'catalog_phys'";
      const lagBefore = await firstNumber(server, lagSql);
      const walBefore = await firstNumber(server, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')");

      // Act
      const result = await collectFrom(target, {
        tiers: ['critical'],
        queries: ['wal', 'replication_slots'],
      });
      const lagAfter = await firstNumber(server, lagSql);
      const walAfter = await firstNumber(server, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')");

      // Assess
      expect(problems(result)).toEqual([]);
      const slot = { slot_name: 'catalog_phys', slot_type: 'physical', active: 'false' };
      const lag = seriesValue(result, 'postgresql.replication_slot.lag_bytes', slot);
      expect(lag).toBeGreaterThanOrEqual(lagBefore);
      expect(lag).toBeLessThanOrEqual(lagAfter);
      expect(seriesValue(result, 'postgresql.replication_slot.confirmed_lag_bytes', slot)).toBeUndefined();
      const wal = seriesValue(result, 'postgresql.wal.position', { server_role: 'primary' });
      expect(wal).toBeGreaterThanOrEqual(walBefore);
      expect(wal).toBeLessThanOrEqual(walAfter);
      // A position, not an amount generated since a start time (that is postgresql.wal.bytes).
      expect(kindOf(result, 'postgresql.wal.position')).toBe('gauge');
    } finally {
      await server.query("SELECT pg_drop_replication_slot('catalog_phys')");
    }
  });

  it('counts the files in the WAL directory', async () => {
    // Prepare
    const direct = () =>
      server.query<{ files: string; size: string }>(
        'SELECT count(*) AS files, sum(size) AS size FROM pg_ls_waldir()',
      );
    const before = await direct();

    // Act
    const result = await collectFrom(target, { tiers: ['standard'], queries: ['wal_files'] });
    const after = await direct();

    // Assess
    expect(problems(result)).toEqual([]);
    expect(after).toEqual(before); // nothing recycled a segment meanwhile
    expect(seriesValue(result, 'postgresql.wal.files', {})).toBe(Number(before[0]?.files));
    expect(seriesValue(result, 'postgresql.wal.size', {})).toBe(Number(before[0]?.size));
  });

  describe('coverage of every table and index', () => {
    const TABLES = 520;
    const historical = { tiers: ['historical'] as const, queries: ['table_stats', 'index_stats'] };
    const both = () => targetFor(server, ['coverage', 'coverage_small']);

    beforeAll(async () => {
      // 520 tables with two indexes each in schema app (more than the old defaults of 500 tables and 1,000
      // indexes), 3 tables with a primary key in schema audit; a second database with 2 tables.
      await server.query('CREATE DATABASE coverage');
      await server.query('CREATE SCHEMA app', [], 'coverage');
      await server.query('CREATE SCHEMA audit', [], 'coverage');
      await server.query(
        `DO $$ BEGIN FOR i IN 1..${TABLES} LOOP
           EXECUTE format('CREATE TABLE app.c%s (id int PRIMARY KEY, note text)', i);
           EXECUTE format('CREATE INDEX c%s_note_idx ON app.c%s (note)', i, i);
           EXECUTE format('INSERT INTO app.c%s SELECT g, repeat(''n'', 50) FROM generate_series(1, %s) g', i, i % 40);
         END LOOP;
         FOR i IN 1..3 LOOP EXECUTE format('CREATE TABLE audit.a%s (id int PRIMARY KEY)', i); END LOOP; END $$`,
        [],
        'coverage',
      );
      await server.query('ANALYZE', [], 'coverage');
      await server.query('CREATE DATABASE coverage_small');
      await server.query('CREATE SCHEMA app', [], 'coverage_small');
      await server.query('CREATE TABLE app.s1 (id int PRIMARY KEY)', [], 'coverage_small');
      await server.query('CREATE TABLE app.s2 (id int PRIMARY KEY)', [], 'coverage_small');
    });

    it('reports every table and index by default, sized exactly as pg_total_relation_size and pg_relation_size', async () => {
      // Act
      const result = await collectFrom(both(), historical);

      // Assess
      expect(problems(result)).toEqual([]);
      const reported = reportedSizes(result, 'coverage');
      const expected = await sizesOf(server, 'coverage');
      expect(reported.tables).toHaveLength(TABLES + 3);
      expect(reported.indexes).toHaveLength(TABLES * 2 + 3);
      expect(reported).toEqual(expected);
      expect(reportedSizes(result, 'coverage_small')).toEqual(await sizesOf(server, 'coverage_small'));
      // A table's size is its own (heap, FSM, VM, TOAST) plus its indexes', all forks: pg_total_relation_size.
      const [split] = await server.query<{ total: string; parts: string }>(
        `SELECT sum(pg_total_relation_size(oid))::text AS total,
                sum(pg_table_size(oid) + pg_indexes_size(oid))::text AS parts
           FROM pg_class WHERE relnamespace = 'app'::regnamespace AND relkind = 'r'`,
        [],
        'coverage',
      );
      const reportedTotal = points(result, 'postgresql.table.size')
        .filter((p) => p.attributes.database_name === 'coverage' && p.attributes.schema_name === 'app')
        .reduce((n, p) => n + p.value, 0);
      expect(String(reportedTotal)).toBe(split?.total);
      expect(split?.parts).toBe(split?.total);
      const none = { 'table cap': 0, 'table filter': 0, 'table locked': 0 };
      const noIndex = { 'index cap': 0, 'index filter': 0, 'index locked': 0 };
      expect(excludedOf(result, 'coverage')).toEqual({ ...none, ...noIndex });
      expect(excludedOf(result, 'coverage_small')).toEqual({ ...none, ...noIndex });
      expect(formatTable(result)).not.toContain('relations not reported');
    });

    it('reports exactly the K largest under a cap of K, and N − K left out per database and kind', async () => {
      // Act
      const capped = await collectFrom(both(), {
        ...historical,
        limits: { maxTables: 100, maxIndexes: 300 },
      });
      const one = await collectFrom(both(), { ...historical, limits: { maxTables: 1, maxIndexes: 1 } });

      // Assess
      expect(problems(capped)).toEqual([]);
      expect(problems(one)).toEqual([]);
      // The K largest, ties in size broken by schema and table name (tables) or schema and index name (indexes).
      const size = (line: string) => Number(line.split(' ')[1]);
      const largest = (lines: readonly string[], k: number, key: (name: string[]) => string) =>
        [...lines]
          .sort((x, y) => {
            const [kx, ky] = [key(x.split(' ')[0]?.split('.') ?? []), key(y.split(' ')[0]?.split('.') ?? [])];
            return size(y) - size(x) || (kx < ky ? -1 : kx > ky ? 1 : 0);
          })
          .slice(0, k)
          .sort();
      const expected = await sizesOf(server, 'coverage');
      const reported = reportedSizes(capped, 'coverage');
      expect(reported.tables).toEqual(
        largest(expected.tables, 100, ([schema, table]) => `${schema}.${table}`),
      );
      expect(reported.indexes).toEqual(
        largest(expected.indexes, 300, ([schema, , index]) => `${schema}.${index}`),
      );
      expect(excludedOf(capped, 'coverage')).toEqual({
        'table cap': TABLES + 3 - 100,
        'table filter': 0,
        'table locked': 0,
        'index cap': TABLES * 2 + 3 - 300,
        'index filter': 0,
        'index locked': 0,
      });
      expect(excludedOf(capped, 'coverage_small')).toMatchObject({ 'table cap': 0, 'index cap': 0 });
      expect(excludedOf(one, 'coverage')).toMatchObject({
        'table cap': TABLES + 2,
        'index cap': TABLES * 2 + 2,
      });
      expect(excludedOf(one, 'coverage_small')).toMatchObject({ 'table cap': 1, 'index cap': 1 });
      expect(
        formatTable(one)
          .split('\n')
          .filter((l) => l.includes('relations not reported')),
      ).toEqual([
        `  relations not reported in coverage: ${TABLES + 2} tables, ${(TABLES * 2 + 2).toLocaleString('en-US')} indexes over the max_tables/max_indexes cap`,
        '  relations not reported in coverage_small: 1 table, 1 index over the max_tables/max_indexes cap',
      ]);
    });

    it('counts the relations the schema and size filters leave out as reason=filter', async () => {
      // Prepare: the size of the 10th smallest app table; the tables below it are filtered out.
      const [threshold] = await server.query<{ size: string; below: string; idx_below: string }>(
        `WITH t AS (SELECT pg_total_relation_size(oid) AS s FROM pg_class
                     WHERE relnamespace = 'app'::regnamespace AND relkind = 'r'),
              x AS (SELECT pg_relation_size(oid) AS s FROM pg_class
                     WHERE relnamespace IN ('app'::regnamespace, 'audit'::regnamespace) AND relkind = 'i'),
              k AS (SELECT s FROM t ORDER BY s OFFSET 9 LIMIT 1)
         SELECT k.s::text AS size,
                ((SELECT count(*) FROM t WHERE s < k.s)
                  + (SELECT count(*) FROM pg_class WHERE relnamespace = 'audit'::regnamespace AND relkind = 'r'
                       AND pg_total_relation_size(oid) < k.s))::text AS below,
                (SELECT count(*) FROM x WHERE s < k.s)::text AS idx_below
           FROM k`,
        [],
        'coverage',
      );
      const minSize = Number(threshold?.size);

      // Act
      const noAudit = await collectFrom(both(), { ...historical, limits: { excludeSchemas: ['audit'] } });
      const auditOnly = await collectFrom(both(), { ...historical, limits: { includeSchemas: ['audit'] } });
      const big = await collectFrom(both(), { ...historical, limits: { minRelationSizeBytes: minSize } });

      // Assess
      for (const result of [noAudit, auditOnly, big]) expect(problems(result)).toEqual([]);
      const expected = await sizesOf(server, 'coverage');
      expect(reportedSizes(noAudit, 'coverage')).toEqual({
        tables: expected.tables.filter((l) => l.startsWith('app.')),
        indexes: expected.indexes.filter((l) => l.startsWith('app.')),
      });
      expect(excludedOf(noAudit, 'coverage')).toEqual({
        'table cap': 0,
        'table filter': 3,
        'table locked': 0,
        'index cap': 0,
        'index filter': 3,
        'index locked': 0,
      });
      expect(reportedSizes(auditOnly, 'coverage').tables).toHaveLength(3);
      expect(excludedOf(auditOnly, 'coverage')).toMatchObject({
        'table filter': TABLES,
        'index filter': TABLES * 2,
      });
      // coverage_small has no audit schema: everything in it is outside the include list.
      expect(excludedOf(auditOnly, 'coverage_small')).toMatchObject({ 'table filter': 2, 'index filter': 2 });
      const bigTables = reportedSizes(big, 'coverage').tables;
      expect(bigTables).toEqual(expected.tables.filter((l) => Number(l.split(' ')[1]) >= minSize));
      expect(excludedOf(big, 'coverage')).toMatchObject({
        'table cap': 0,
        'table filter': Number(threshold?.below),
        'index cap': 0,
        'index filter': Number(threshold?.idx_below),
      });
      expect(Number(threshold?.below)).toBeGreaterThan(0);
    });

    it('with a size memory, re-measures only what changed: exact after writes and TRUNCATE, a write still in progress shows at the full pass', async () => {
      // Prepare
      let now = Date.now();
      const sizes = new SizeMemory({ fullPassSeconds: 3600, now: () => now });
      const queries = BUILTIN_QUERIES.filter((q) => q.name === 'table_stats' || q.name === 'index_stats');
      const run = () =>
        collect(
          both(),
          { tiers: ['historical'], scheduledAtMs: Date.now(), ignoreIntervals: true },
          { queries, limits: DEFAULT_LIMITS, sizes },
        );
      const before = await sizesOf(server, 'coverage');
      const first = await run();
      const writer = await server.client('coverage');
      await writer.query("INSERT INTO app.c5 SELECT g, repeat('w', 200) FROM generate_series(1000, 3000) g");
      await writer.query('TRUNCATE app.c7');
      await endWithStats(server, writer);
      await waitFor('insert statistics of app.c5', async () => {
        const inserted = await firstNumber(
          server,
          "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relid = 'app.c5'::regclass",
          [],
          'coverage',
        );
        return inserted === 5 + 2001;
      });
      const afterWrites = await sizesOf(server, 'coverage');

      // Act
      const second = await run();
      // A transaction still writing: its rows are in the files, its counts arrive when it ends.
      const open = await server.client('coverage');
      let third: CollectResult;
      let fourth: CollectResult;
      let during: { tables: string[]; indexes: string[] };
      try {
        await open.query('BEGIN');
        await open.query("INSERT INTO app.c9 SELECT g, repeat('o', 200) FROM generate_series(1000, 3000) g");
        third = await run();
        during = await sizesOf(server, 'coverage');
        now += 3_600_000;
        fourth = await run();
      } finally {
        await open.query('ROLLBACK');
        await open.end();
      }

      // Assess
      for (const result of [first, second, third, fourth]) expect(problems(result)).toEqual([]);
      expect(reportedSizes(first, 'coverage')).toEqual(before);
      expect(afterWrites).not.toEqual(before);
      expect(reportedSizes(second, 'coverage')).toEqual(afterWrites);
      // Run 3 reused the remembered sizes of c9 and its indexes: stale by exactly the write in progress.
      const ofC9 = (lines: readonly string[]) => lines.filter((l) => /^app\.c9[ .]/.test(l));
      expect(ofC9(during.tables)).not.toEqual(ofC9(afterWrites.tables));
      const third3 = reportedSizes(third, 'coverage');
      expect(ofC9(third3.tables)).toEqual(ofC9(afterWrites.tables));
      expect(ofC9(third3.indexes)).toEqual(ofC9(afterWrites.indexes));
      const notC9 = (lines: readonly string[]) => lines.filter((l) => ofC9([l]).length === 0);
      expect(notC9(third3.tables)).toEqual(notC9(during.tables));
      expect(notC9(third3.indexes)).toEqual(notC9(during.indexes));
      // The full pass measures everything again.
      expect(reportedSizes(fourth, 'coverage')).toEqual(during);
    });
  });

  // Last: making a replica restarts the primary.
  it('runs the replica variants on a streaming standby', async () => {
    // Prepare
    const replica = await startReplica(server, { applicationName: 'catalog_standby' });
    try {
      await waitFor('the standby to replay everything it received', async () => {
        const rows = await replica.query<{ same: boolean }>(
          'SELECT pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() AS same',
        );
        return rows[0]?.same === true;
      });

      // Act
      const onReplica = await collectFrom(targetFor(replica));
      const onPrimary = await collectFrom(target, { tiers: ['critical'], queries: ['replication'] });

      // Assess
      expect(problems(onReplica)).toEqual([]);
      expect(problems(onPrimary)).toEqual([]);
      const skipped = expectedSkippedOnPrimary(major).filter((q) => q !== 'replica');
      expect(skippedQueries(onReplica)).toEqual(skipped);
      expect(onReplica.server?.role).toBe('replica');
      expect(seriesValue(onReplica, 'postgresql.wal_receiver.connected', { replica_name: 'replica' })).toBe(
        1,
      );
      expect(seriesValue(onReplica, 'postgresql.replication.lag_seconds', { replica_name: 'replica' })).toBe(
        0,
      );
      expect(
        seriesValue(onReplica, 'postgresql.replication.replay_lag_bytes_local', { replica_name: 'replica' }),
      ).toBe(0);
      expect(points(onReplica, 'postgresql.wal.position').map((p) => p.attributes)).toEqual([
        { server_role: 'replica' },
      ]);
      expect(seriesValue(onReplica, 'postgresql.replication.replicas', {})).toBe(0);
      expect(seriesValue(onPrimary, 'postgresql.replication.replicas', {})).toBe(1);
      const standby = { application_name: 'catalog_standby', client_addr: '127.0.0.1', state: 'streaming' };
      expect(seriesValue(onPrimary, 'postgresql.replication.lag', standby)).toBeGreaterThanOrEqual(0);
      expect(
        seriesValue(onPrimary, 'postgresql.replication.replay_lag_bytes', standby),
      ).toBeGreaterThanOrEqual(0);
    } finally {
      await replica.destroy();
    }
  });
});
