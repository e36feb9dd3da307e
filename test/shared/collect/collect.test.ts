import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CollectResult, type CollectTarget, collect } from '../../../shared/collect/collect.ts';
import type { QueryReport } from '../../../shared/collect/run-query.ts';
import { parseConfig } from '../../../shared/config/load.ts';
import { connectionTarget } from '../../../shared/config/local-target.ts';
import { buildQuerySet } from '../../../shared/config/query-set.ts';
import { resolveLimits, resolveTarget } from '../../../shared/config/targets.ts';
import { type ConnectionParams, parseDsn } from '../../../shared/db/connection.ts';
import type { MetricPoint, Tier } from '../../../shared/model/metrics.ts';
import { BUILTIN_QUERIES, DEFAULT_LIMITS } from '../../../shared/queries/catalog.ts';
import type { QueryDefinition } from '../../../shared/queries/types.ts';
import { freePort } from '../../helpers/ports.ts';
import { type PgInstance, startPostgres } from '../../helpers/postgres.ts';

const ALL_TIERS: readonly Tier[] = ['critical', 'standard', 'historical'];

function targetOf(connection: ConnectionParams, overrides: Partial<CollectTarget> = {}): CollectTarget {
  return connectionTarget('collect-test', connection, { environment: 'test', ...overrides });
}

async function collectAll(
  target: CollectTarget,
  queries: readonly QueryDefinition[],
  tiers = ALL_TIERS,
): Promise<CollectResult> {
  return collect(
    target,
    { tiers, scheduledAtMs: Date.now(), ignoreIntervals: true },
    { queries, limits: DEFAULT_LIMITS },
  );
}

/** Every point of `name` across the run's batches. */
function pointsOf(result: CollectResult, name: string): MetricPoint[] {
  return result.batches.flatMap(({ batch }) =>
    batch.families.filter((f) => f.name === name).flatMap((f) => f.points),
  );
}

function upValue(result: CollectResult): number | undefined {
  const first = result.batches[0]?.batch.families.find((f) => f.name === 'up');
  return first?.points[0]?.value;
}

function errorsOf(result: CollectResult): QueryReport[] {
  return result.queries.filter((q) => q.status === 'error');
}

/** Builds target and queries through the config file path, the way the CLI and the Lambda do. */
function fromConfig(
  server: PgInstance,
  raw: { target?: Record<string, unknown>; custom_queries?: unknown[] },
) {
  const dsn = server.dsn();
  const config = parseConfig({
    targets: [{ name: 'collect-test', dsn, ...raw.target }],
    custom_queries: raw.custom_queries ?? [],
  });
  const targetConfig = config.targets[0];
  if (targetConfig === undefined) throw new Error('config has no target');
  return {
    target: resolveTarget(config, targetConfig, parseDsn(dsn)),
    queries: buildQuerySet(config, BUILTIN_QUERIES),
    limits: resolveLimits(config.queries.limits),
  };
}

function gauge(name: string, query: string, value_column: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    query,
    metrics: [{ name: `custom.${name}`, value_column, data_type: 'gauge', ...extra }],
  };
}

describe('collect: honest down signal', () => {
  it('a port with nothing listening yields up = 0 naming host:port and ECONNREFUSED', async () => {
    // Prepare
    const port = await freePort();
    const password = 'Secret-Refused-1234';
    const target = targetOf({
      host: '127.0.0.1',
      port,
      user: 'monitor',
      password,
      database: 'postgres',
      tls: { mode: 'disable' },
    });

    // Act
    const result = await collectAll(target, BUILTIN_QUERIES);

    // Assess
    expect(result.up).toBe(0);
    expect(upValue(result)).toBe(0);
    expect(result.batches.map((b) => b.tier)).toEqual(['critical', 'standard', 'historical']);
    expect(result.error).toBe(
      `cannot connect to 127.0.0.1:${port} (database "postgres", user "monitor"): connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    expect(result.queries).toEqual([]);
    expect(result.databases).toEqual([]);
    expect(result.server).toBeUndefined();
    expect(JSON.stringify(result)).not.toContain(password);
  });

  describe('against a running server', () => {
    let server: PgInstance;
    beforeAll(async () => {
      server = await startPostgres();
    });
    afterAll(async () => {
      await server?.destroy();
    });

    it('a wrong password yields up = 0 with the server reason and without the password', async () => {
      // Prepare
      const password = 'Not-The-Password-5678';
      const target = targetOf({ ...parseDsn(server.dsn()), password });

      // Act
      const result = await collectAll(target, BUILTIN_QUERIES, ['critical']);

      // Assess
      expect(result.up).toBe(0);
      expect(upValue(result)).toBe(0);
      expect(result.error).toBe(
        `cannot connect to 127.0.0.1:${server.port} (database "postgres", user "postgres"): password authentication failed for user "postgres"`,
      );
      expect(JSON.stringify(result)).not.toContain(password);
      expect(JSON.stringify(result)).not.toContain(server.password);
    });

    it('a database that does not exist yields up = 0 naming it', async () => {
      const target = targetOf({ ...parseDsn(server.dsn()), database: 'no_such_db' });

      const result = await collectAll(target, BUILTIN_QUERIES, ['critical']);

      expect(result.up).toBe(0);
      expect(result.error).toBe(
        `cannot connect to 127.0.0.1:${server.port} (database "no_such_db", user "postgres"): database "no_such_db" does not exist`,
      );
      expect(JSON.stringify(result)).not.toContain(server.password);
    });
  });

  describe('against a TCP server that accepts and never answers', () => {
    let silent: Server;
    const sockets = new Set<Socket>();
    let port: number;
    beforeAll(async () => {
      silent = createServer((socket) => {
        sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const address = silent.address();
      port = typeof address === 'object' && address !== null ? address.port : 0;
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });

    it('the connect timeout yields up = 0 and a timed-out reason', { timeout: 20_000 }, async () => {
      // Prepare
      const password = 'Secret-Hang-9012';
      const target = targetOf({
        host: '127.0.0.1',
        port,
        user: 'monitor',
        password,
        database: 'postgres',
        tls: { mode: 'disable' },
        connectTimeoutMs: 1_000,
      });

      // Act
      const result = await collectAll(target, BUILTIN_QUERIES);

      // Assess
      expect(result.up).toBe(0);
      expect(upValue(result)).toBe(0);
      expect(result.error).toBe(
        `cannot connect to 127.0.0.1:${port} (database "postgres", user "monitor"): connection timed out (timeout expired)`,
      );
      expect(JSON.stringify(result)).not.toContain(password);
    });
  });
});

describe('collect: failures stay contained, sessions are locked down', () => {
  let server: PgInstance;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('broken custom queries are reported by name while every built-in and the good custom query succeed', async () => {
    // Prepare
    const { target, queries, limits } = fromConfig(server, {
      custom_queries: [
        gauge('good_answer', `SELECT 42::bigint AS answer, 'forty two' AS label`, 'answer', {
          attributes: [{ column: 'label' }],
        }),
        gauge('broken_syntax', 'SELEC 1 AS v', 'v'),
        gauge('not_numeric', `SELECT 'abc'::text AS v`, 'v'),
        gauge('missing_column', 'SELECT 1 AS a, 2 AS c', 'b'),
      ],
    });

    // Act
    const result = await collect(
      target,
      { tiers: ALL_TIERS, scheduledAtMs: Date.now(), ignoreIntervals: true },
      { queries, limits },
    );

    // Assess
    expect(result.up).toBe(1);
    const errors = errorsOf(result).map((r) => ({
      query: r.query,
      origin: r.origin,
      message: r.message,
      sqlstate: r.sqlstate,
    }));
    expect(errors).toEqual([
      {
        query: 'broken_syntax',
        origin: 'custom',
        message: 'syntax error at or near "SELEC"',
        sqlstate: '42601',
      },
      {
        query: 'not_numeric',
        origin: 'custom',
        message: 'value column "v" is not numeric (row 1: "abc")',
        sqlstate: undefined,
      },
      {
        query: 'missing_column',
        origin: 'custom',
        message: 'column "b" (metric custom.missing_column) is not in the result; columns are: a, c',
        sqlstate: undefined,
      },
    ]);
    expect(pointsOf(result, 'custom.good_answer')).toEqual([
      { attributes: { label: 'forty two' }, value: 42 },
    ]);
    const builtinReports = result.queries.filter((q) => q.origin === 'builtin');
    expect(builtinReports.length).toBeGreaterThan(10);
    expect(builtinReports.filter((q) => q.status === 'error')).toEqual([]);
    // The self-metric counts exactly one error for each broken query and none for the others.
    const errorCounts = Object.fromEntries(
      pointsOf(result, 'pgotel.query.errors')
        .filter((p) => p.value > 0)
        .map((p) => [p.attributes.query, p.value]),
    );
    expect(errorCounts).toEqual({ broken_syntax: 1, not_numeric: 1, missing_column: 1 });
  });

  it('a tier statement_timeout cancels only the slow query (57014)', async () => {
    // Prepare
    const { target, queries, limits } = fromConfig(server, {
      target: { tiers: { critical: { statement_timeout_ms: 200 } } },
      custom_queries: [
        { ...gauge('slow_sleep', 'SELECT 1 AS v FROM pg_sleep(1)', 'v'), tier: 'critical' },
        { ...gauge('after_sleep', 'SELECT 7 AS v', 'v'), tier: 'critical' },
      ],
    });

    // Act
    const result = await collect(
      target,
      { tiers: ['critical'], scheduledAtMs: Date.now(), ignoreIntervals: true },
      { queries, limits },
    );

    // Assess
    expect(result.up).toBe(1);
    expect(errorsOf(result).map((r) => [r.query, r.message, r.sqlstate])).toEqual([
      ['slow_sleep', 'canceling statement due to statement timeout', '57014'],
    ]);
    expect(pointsOf(result, 'custom.after_sleep')).toEqual([{ attributes: {}, value: 7 }]);
    expect(result.queries.filter((q) => q.status === 'ok').length).toBeGreaterThan(2);
  });

  it('sessions are read-only and carry application_name, statement_timeout and lock_timeout per tier', async () => {
    // Prepare
    const settingsQuery = `SELECT 1 AS v, current_setting('application_name') AS app, current_setting('statement_timeout') AS statement_timeout,
                                  current_setting('lock_timeout') AS lock_timeout, current_setting('transaction_read_only') AS read_only`;
    const attributes = [
      { column: 'app' },
      { column: 'statement_timeout' },
      { column: 'lock_timeout' },
      { column: 'read_only' },
    ];
    const { target, queries, limits } = fromConfig(server, {
      target: {
        tiers: {
          critical: { statement_timeout_ms: 4000, lock_timeout_ms: 1500 },
          standard: { statement_timeout_ms: 12345, lock_timeout_ms: 2345 },
        },
      },
      custom_queries: [
        { ...gauge('settings_critical', settingsQuery, 'v', { attributes }), tier: 'critical' },
        { ...gauge('settings_standard', settingsQuery, 'v', { attributes }), tier: 'standard' },
        {
          ...gauge('settings_in_db', settingsQuery, 'v', { attributes }),
          tier: 'standard',
          scope: 'database',
        },
        {
          ...gauge(
            'seen_as_pgotel',
            `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'pgotel' AND pid = pg_backend_pid()`,
            'n',
          ),
          tier: 'critical',
        },
        gauge('writes_temp_table', 'CREATE TEMP TABLE pgotel_probe (x int)', 'v'),
      ],
    });
    await server.query('CREATE DATABASE other_db');

    try {
      // Act
      const result = await collect(
        target,
        { tiers: ALL_TIERS, scheduledAtMs: Date.now(), ignoreIntervals: true },
        { queries, limits },
      );

      // Assess
      expect(pointsOf(result, 'custom.settings_critical')).toEqual([
        {
          attributes: { app: 'pgotel', statement_timeout: '4s', lock_timeout: '1500ms', read_only: 'on' },
          value: 1,
        },
      ]);
      expect(pointsOf(result, 'custom.settings_standard')).toEqual([
        {
          attributes: {
            app: 'pgotel',
            statement_timeout: '12345ms',
            lock_timeout: '2345ms',
            read_only: 'on',
          },
          value: 1,
        },
      ]);
      const perDb = pointsOf(result, 'custom.settings_in_db')
        .map((p) => p.attributes)
        .sort((a, b) => String(a.database_name).localeCompare(String(b.database_name)));
      expect(perDb).toEqual([
        {
          database_name: 'other_db',
          app: 'pgotel',
          statement_timeout: '12345ms',
          lock_timeout: '2345ms',
          read_only: 'on',
        },
        {
          database_name: 'postgres',
          app: 'pgotel',
          statement_timeout: '12345ms',
          lock_timeout: '2345ms',
          read_only: 'on',
        },
      ]);
      expect(pointsOf(result, 'custom.seen_as_pgotel')).toEqual([{ attributes: {}, value: 1 }]);
      const refused = errorsOf(result).map((r) => [r.query, r.message, r.sqlstate]);
      expect(refused).toEqual([
        ['writes_temp_table', 'cannot execute CREATE TABLE in a read-only transaction', '25006'],
      ]);
    } finally {
      await server.query('DROP DATABASE other_db');
    }
  });
});

describe('collect: database selection', () => {
  let server: PgInstance;
  const visitQuery = gauge('visited', 'SELECT current_database() AS db, 1 AS v', 'v', {
    attributes: [{ column: 'db' }],
  });

  beforeAll(async () => {
    server = await startPostgres({ pgStatStatements: false });
    for (const db of ['db_a', 'db_b', 'db_c']) await server.query(`CREATE DATABASE ${db}`);
    await server.query('CREATE DATABASE tmpl_x IS_TEMPLATE true');
    await server.query('CREATE DATABASE no_conn ALLOW_CONNECTIONS false');
  });
  afterAll(async () => {
    await server?.destroy();
  });

  async function visited(target: Record<string, unknown>) {
    const {
      target: resolved,
      queries,
      limits,
    } = fromConfig(server, {
      target,
      custom_queries: [{ ...visitQuery, scope: 'database' }],
    });
    const result = await collect(
      resolved,
      { tiers: ['standard'], scheduledAtMs: Date.now(), ignoreIntervals: true },
      { queries, limits },
    );
    const skipped = result.skippedDatabases.map((s) => s.database);
    // A listed database that is not visited is reported (test/shared/collect/unvisitable-databases.test.ts).
    expect(errorsOf(result).filter((r) => !skipped.includes(r.database ?? ''))).toEqual([]);
    const seen = pointsOf(result, 'custom.visited').map((p) => {
      // The per-database attribute and the database the session really was in agree.
      expect(p.attributes.database_name).toBe(p.attributes.db);
      return p.attributes.db;
    });
    return { databases: result.databases, seen: seen.sort(), skipped };
  }

  it('by default visits every database that allows connections, never templates', async () => {
    expect(await visited({})).toEqual({
      databases: ['db_a', 'db_b', 'db_c', 'postgres'],
      seen: ['db_a', 'db_b', 'db_c', 'postgres'],
      skipped: [],
    });
  });

  it('an include list visits only those, sorted, and still never templates or closed databases', async () => {
    expect(await visited({ databases: ['db_c', 'tmpl_x', 'no_conn', 'template1', 'db_a'] })).toEqual({
      databases: ['db_a', 'db_c'],
      seen: ['db_a', 'db_c'],
      skipped: ['no_conn', 'template1', 'tmpl_x'],
    });
  });

  it('an exclude list skips those', async () => {
    expect(await visited({ exclude_databases: ['db_b', 'postgres'] })).toEqual({
      databases: ['db_a', 'db_c'],
      seen: ['db_a', 'db_c'],
      skipped: [],
    });
  });

  it.each([1, 2, 3])('max_connections %i bounds the pgotel sessions open at once', async (max) => {
    // Prepare: each database reports how many pgotel sessions exist while it sleeps, so visits overlap.
    const { target, queries, limits } = fromConfig(server, {
      target: { max_connections: max },
      custom_queries: [
        {
          ...gauge(
            'pgotel_sessions',
            `SELECT count(*) AS n FROM pg_stat_activity, pg_sleep(0.5) WHERE application_name = 'pgotel'`,
            'n',
          ),
          scope: 'database',
        },
      ],
    });

    // Act
    const result = await collect(
      target,
      { tiers: ['standard'], scheduledAtMs: Date.now(), ignoreIntervals: true },
      { queries, limits },
    );

    // Assess
    expect(errorsOf(result)).toEqual([]);
    const counts = pointsOf(result, 'custom.pgotel_sessions').map((p) => p.value);
    expect(counts).toHaveLength(4);
    expect(Math.max(...counts)).toBeLessThanOrEqual(max);
    // The bound is also reached, so the test would notice if visits ran one at a time.
    expect(Math.max(...counts)).toBe(max);
  });
});
