import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CollectResult, type CollectTarget, collect } from '../../../shared/collect/collect.ts';
import type { QueryReport } from '../../../shared/collect/run-query.ts';
import { connectionTarget } from '../../../shared/config/local-target.ts';
import { parseDsn } from '../../../shared/db/connection.ts';
import type { Tier } from '../../../shared/model/metrics.ts';
import { BUILTIN_QUERIES, DEFAULT_LIMITS } from '../../../shared/queries/catalog.ts';
import { customQueryDefinitions } from '../../../shared/queries/custom.ts';
import type { QueryDefinition } from '../../../shared/queries/types.ts';
import { gaugeQuery } from '../../helpers/custom-query.ts';
import { type PgInstance, startPostgres } from '../../helpers/postgres.ts';
import { delay } from '../../helpers/processes.ts';
import { isTerminate, type StallWhen, sqlContains, startStallProxy } from './stall-proxy.ts';

const ALL_TIERS: readonly Tier[] = ['critical', 'standard', 'historical'];

/** Short statement timeouts, so a round trip that gets no answer is given up within seconds. */
const QUICK_TIERS: CollectTarget['tiers'] = {
  critical: { enabled: true, statementTimeoutMs: 500, lockTimeoutMs: 200 },
  standard: { enabled: true, statementTimeoutMs: 500, lockTimeoutMs: 200 },
  historical: { enabled: true, statementTimeoutMs: 500, lockTimeoutMs: 200 },
};

function collectAll(target: CollectTarget, queries: readonly QueryDefinition[]): Promise<CollectResult> {
  return collect(
    target,
    { tiers: ALL_TIERS, scheduledAtMs: Date.now(), ignoreIntervals: true, deadlineMs: Date.now() + 60_000 },
    { queries, limits: DEFAULT_LIMITS },
  );
}

const byStatus = (result: CollectResult, status: QueryReport['status']) =>
  result.queries.filter((q) => q.status === status);

/** `query@database: message` of every failed query. */
const failures = (result: CollectResult) =>
  byStatus(result, 'error').map((q) => `${q.query}@${q.database ?? '-'}: ${q.message ?? ''}`);

describe('collect: the server stops in the middle of a run', () => {
  let server: PgInstance;
  beforeAll(async () => {
    server = await startPostgres();
    await server.query('CREATE DATABASE other_db');
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('all tiers, stopped during a 3 s custom query: up = 1, what ran is kept, every other query names the lost connection', async () => {
    // Prepare
    const slow = customQueryDefinitions([
      gaugeQuery('slow', 'SELECT 1 AS v FROM pg_sleep(3)', { tier: 'standard' }),
    ]);
    const queries = [...BUILTIN_QUERIES, ...slow];
    const target = connectionTarget('loss', parseDsn(server.dsn()), { environment: 'test' });

    // Act: stop the server once the slow query is running.
    const running = collectAll(target, queries);
    for (;;) {
      const rows = await server.query(
        `SELECT 1 FROM pg_stat_activity WHERE application_name = 'pgotel' AND query LIKE '%pg_sleep(3)%'`,
      );
      if (rows.length > 0) break;
      await delay(20);
    }
    await server.stop();
    let result: CollectResult;
    try {
      result = await running;
    } finally {
      await server.start();
    }

    // Assess
    expect(result.up).toBe(1);
    expect(result.server?.database).toBe('postgres');
    // Every query of the run is accounted for.
    expect(new Set(result.queries.map((q) => q.query))).toEqual(new Set(queries.map((q) => q.name)));
    // What ran before the stop is kept.
    const critical = result.queries.filter((q) => q.tier === 'critical' && q.status !== 'skipped');
    expect(critical.length).toBeGreaterThan(3);
    expect(critical.filter((q) => q.status !== 'ok')).toEqual([]);
    expect(result.batches.find((b) => b.tier === 'critical')?.batch.families.length).toBeGreaterThan(3);
    // The query that was running has the server's reason; the others say the connection was lost, and why.
    const failed = failures(result);
    expect(failed[0]).toBe('slow@-: terminating connection due to administrator command');
    expect(failed.length).toBeGreaterThan(2);
    for (const line of failed.slice(1)) {
      expect(line).toMatch(
        /^[a-z_]+@-: (not run|databases not listed): connection lost: terminating connection due to administrator command$/,
      );
    }
  });
});

describe('collect: a server that stops answering at any step still ends the run', () => {
  let server: PgInstance;
  beforeAll(async () => {
    server = await startPostgres();
    await server.query('CREATE DATABASE other_db');
  });
  afterAll(async () => {
    await server?.destroy();
  });

  async function collectThrough(stallWhen: StallWhen) {
    const proxy = await startStallProxy(server.port, stallWhen);
    try {
      const connection = { ...parseDsn(server.dsn()), port: proxy.port };
      const target = connectionTarget('stall', connection, { environment: 'test', tiers: QUICK_TIERS });
      const result = await collectAll(target, BUILTIN_QUERIES);
      return { result, stalled: proxy.stalled };
    } finally {
      await proxy.close();
    }
  }

  const perDatabase = BUILTIN_QUERIES.filter((q) => q.scope === 'database').map((q) => q.name);

  it('listing the databases: the per-database queries are reported, the rest is kept', {
    timeout: 30_000,
  }, async () => {
    const { result, stalled } = await collectThrough(
      sqlContains("has_database_privilege(datname, 'CONNECT')"),
    );

    expect(stalled).toBe(1);
    expect(result.up).toBe(1);
    expect(result.databases).toEqual([]);
    expect(byStatus(result, 'ok').length).toBeGreaterThan(10);
    const failed = byStatus(result, 'error');
    expect(failed.map((q) => q.query).sort()).toEqual([...perDatabase].sort());
    for (const report of failed) {
      expect(report.message).toMatch(/^databases not listed: no answer from the server within \d+ ms$/);
    }
  });

  it('server detection on a per-database session: that database is reported, the others collected', {
    timeout: 30_000,
  }, async () => {
    const { result, stalled } = await collectThrough(
      (chunk, session) => session.database === 'other_db' && sqlContains('pg_postmaster_start_time()')(chunk),
    );

    expect(stalled).toBe(1);
    expect(result.up).toBe(1);
    expect(result.databases).toEqual(['other_db', 'postgres']);
    const failed = byStatus(result, 'error');
    expect(failed.map((q) => q.query).sort()).toEqual([...perDatabase].sort());
    for (const report of failed) {
      expect(report.database).toBe('other_db');
      expect(report.message).toMatch(/^server detection failed: no answer from the server within \d+ ms$/);
    }
    expect(result.skippedDatabases).toEqual([
      { database: 'other_db', reason: expect.stringMatching(/^server detection failed: no answer/) },
    ]);
    const inPostgres = result.queries.filter((q) => q.database === 'postgres');
    expect(
      inPostgres
        .filter((q) => q.status === 'ok')
        .map((q) => q.query)
        .sort(),
    ).toEqual([...perDatabase].sort());
  });

  it('applying the next tier’s session settings: the queries left are reported as not run', {
    timeout: 30_000,
  }, async () => {
    const { result, stalled } = await collectThrough(sqlContains("set_config('statement_timeout'"));

    expect(stalled).toBe(1);
    expect(result.up).toBe(1);
    const critical = result.queries.filter((q) => q.tier === 'critical' && q.status !== 'skipped');
    expect(critical.length).toBeGreaterThan(3);
    expect(critical.filter((q) => q.status !== 'ok')).toEqual([]);
    const failed = failures(result);
    expect(failed.length).toBeGreaterThan(10);
    for (const line of failed) {
      expect(line).toMatch(
        /^[a-z_]+@-: (not run|databases not listed): session dropped: settings of tier standard not applied: no answer from the server within \d+ ms$/,
      );
    }
  });

  it('closing a session: the run ends with every query collected', { timeout: 30_000 }, async () => {
    const { result, stalled } = await collectThrough(isTerminate);

    expect(stalled).toBeGreaterThanOrEqual(2);
    expect(result.up).toBe(1);
    expect(failures(result)).toEqual([]);
    expect(result.databases).toEqual(['other_db', 'postgres']);
  });
});
