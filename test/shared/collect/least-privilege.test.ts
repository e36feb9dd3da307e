import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CollectResult, collect } from '../../../shared/collect/collect.ts';
import { connectionTarget } from '../../../shared/config/local-target.ts';
import type { MetricPoint } from '../../../shared/model/metrics.ts';
import { BUILTIN_QUERIES, DEFAULT_LIMITS } from '../../../shared/queries/catalog.ts';
import { connectionAs, PG_MAJORS, type PgInstance, startPostgres } from '../../helpers/postgres.ts';

const MONITOR_PASSWORD = 'Monitor-Only-Pa55word';

function pointsOf(result: CollectResult, name: string): MetricPoint[] {
  return result.batches.flatMap(({ batch }) =>
    batch.families.filter((f) => f.name === name).flatMap((f) => f.points),
  );
}

/** `name` points of one database, as `schema.table` (or `schema.table.index`) sorted. */
function relationsOf(result: CollectResult, name: string, database: string, withIndex = false): string[] {
  return pointsOf(result, name)
    .filter((p) => p.attributes.database_name === database)
    .map((p) =>
      [
        p.attributes.schema_name,
        p.attributes.table_name,
        ...(withIndex ? [p.attributes.index_name] : []),
      ].join('.'),
    )
    .sort();
}

describe.each(PG_MAJORS)('the whole catalog as a pg_monitor-only role on PostgreSQL %i', (major) => {
  let server: PgInstance;
  let result: CollectResult;

  beforeAll(async () => {
    server = await startPostgres({ major });
    const setup = [
      `CREATE ROLE otel_monitor LOGIN PASSWORD '${MONITOR_PASSWORD}'`,
      'GRANT pg_monitor TO otel_monitor',
      'CREATE ROLE app_owner LOGIN',
      'CREATE DATABASE app_db OWNER app_owner',
      // CONNECT granted explicitly, not through PUBLIC.
      'CREATE DATABASE restricted_db OWNER app_owner',
      'REVOKE CONNECT ON DATABASE restricted_db FROM PUBLIC',
      'GRANT CONNECT ON DATABASE restricted_db TO otel_monitor',
      // A database the monitor may not enter at all: it must be left out, not reported as a failure.
      'CREATE DATABASE forbidden_db OWNER app_owner',
      'REVOKE CONNECT ON DATABASE forbidden_db FROM PUBLIC',
    ];
    for (const sql of setup) await server.query(sql);
    for (const db of ['app_db', 'restricted_db']) {
      const client = await server.client(db);
      try {
        await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
        await client.query('REVOKE ALL ON SCHEMA public FROM PUBLIC');
        await client.query('CREATE SCHEMA sales AUTHORIZATION app_owner');
        await client.query('SET ROLE app_owner');
        await client.query(`CREATE TABLE sales.orders (id bigint PRIMARY KEY, note text)`);
        await client.query(`CREATE TABLE sales.customers (id bigint PRIMARY KEY, name text)`);
        await client.query('CREATE INDEX orders_note_idx ON sales.orders (note)');
        await client.query(`INSERT INTO sales.orders SELECT g, 'n' || g FROM generate_series(1, 5000) g`);
        await client.query(`INSERT INTO sales.customers SELECT g, 'c' || g FROM generate_series(1, 500) g`);
        await client.query('DELETE FROM sales.orders WHERE id % 4 = 0');
        await client.query('SELECT count(*) FROM sales.orders WHERE note = $1', ['n1']);
        await client.query('ANALYZE sales.customers');
        await client.query('RESET ROLE');
      } finally {
        await client.end();
      }
    }
    result = await collect(
      connectionTarget('least-privilege', connectionAs(server, 'otel_monitor', MONITOR_PASSWORD), {
        environment: 'test',
      }),
      { tiers: ['critical', 'standard', 'historical'], scheduledAtMs: Date.now(), ignoreIntervals: true },
      { queries: BUILTIN_QUERIES, limits: DEFAULT_LIMITS },
    );
  });

  afterAll(async () => {
    await server?.destroy();
  });

  it('the monitor role cannot read the application tables (precondition)', async () => {
    const client = await server.client('app_db');
    try {
      await client.query('SET ROLE otel_monitor');
      await expect(client.query('SELECT count(*) FROM sales.orders')).rejects.toThrow(
        /permission denied for (schema sales|table orders)/,
      );
    } finally {
      await client.end();
    }
  });

  it('runs every query of every tier without a single error', () => {
    const errors = result.queries
      .filter((q) => q.status === 'error')
      .map(
        (q) =>
          `${q.query}${q.database === undefined ? '' : `@${q.database}`}: ${q.message} (${q.sqlstate ?? 'no sqlstate'})`,
      );
    expect(errors).toEqual([]);
    expect(result.up).toBe(1);
    // Nothing skipped for lack of privilege: only "not applicable to this version/role" skips are allowed.
    const skipped = result.queries.filter(
      (q) => q.status === 'skipped' && !/^not applicable to PostgreSQL/.test(q.message ?? ''),
    );
    expect(skipped).toEqual([]);
  });

  it('visits the databases the role may connect to and leaves the forbidden one out', () => {
    expect(result.databases).toEqual(['app_db', 'postgres', 'restricted_db']);
  });

  it('reports per-table and per-index metrics for tables owned by another role', () => {
    for (const db of ['app_db', 'restricted_db']) {
      expect(relationsOf(result, 'postgresql.table.size', db)).toEqual(['sales.customers', 'sales.orders']);
      expect(relationsOf(result, 'postgresql.index.size', db, true)).toEqual([
        'sales.customers.customers_pkey',
        'sales.orders.orders_note_idx',
        'sales.orders.orders_pkey',
      ]);
    }
  });

  it('reads pg_stat_statements text of other roles’ statements (pg_read_all_stats)', () => {
    const texts = pointsOf(result, 'postgresql.statements.calls').map((p) => p.attributes.query ?? '');
    expect(texts.some((t) => t.includes('FROM sales.orders WHERE note = $1'))).toBe(true);
    expect(texts.some((t) => t === '<insufficient privilege>')).toBe(false);
  });
});
