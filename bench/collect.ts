import { collect } from '../shared/collect/collect.ts';
import { connectionTarget } from '../shared/config/local-target.ts';
import { parseDsn } from '../shared/db/connection.ts';
import { TIER_INTERVAL_SECONDS, TIERS, type Tier } from '../shared/model/metrics.ts';
import { BUILTIN_QUERIES, DEFAULT_LIMITS } from '../shared/queries/catalog.ts';
import { effectiveInterval } from '../shared/queries/select.ts';
import type { QueryDefinition, QueryLimits } from '../shared/queries/types.ts';
import { type PgInstance, startPostgres } from '../test/helpers/postgres.ts';

/** Result of the collection benchmark for one tier. */
export interface TierTiming {
  readonly tier: Tier;
  readonly runs: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly series: number;
  /** Database execution + planning time per run, from pg_stat_statements, ms. */
  readonly dbMsPerRun: number;
}

function percentile(sorted: readonly number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)] ?? Number.NaN;
}

const SCHEMA_SQL = (from: number, to: number) => `
DO $$
BEGIN
  FOR i IN ${from}..${to} LOOP
    EXECUTE format('CREATE TABLE app.t%s (id bigserial PRIMARY KEY, account int NOT NULL, note text, at timestamptz DEFAULT now())', i);
    EXECUTE format('CREATE INDEX t%s_account_idx ON app.t%s (account)', i, i);
    EXECUTE format('CREATE INDEX t%s_at_idx ON app.t%s (at)', i, i);
    EXECUTE format('INSERT INTO app.t%s (account, note) SELECT g %% 7, ''row '' || g FROM generate_series(1, 1 + (%s %% 50)) g', i, i);
  END LOOP;
END $$;`;

/**
 * The bench database: `bench` with `tables` tables of 3 indexes each, and the role `otel_monitor` (password
 * `bench-monitor`) with only `pg_monitor`.
 */
export async function createBenchDatabase(
  pg: PgInstance,
  tables: number,
  log: (line: string) => void,
): Promise<void> {
  log(`creating ${tables} tables with ${tables * 3} indexes`);
  await pg.query('CREATE DATABASE bench');
  await pg.query('CREATE SCHEMA app', [], 'bench');
  await pg.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements', [], 'bench');
  // One DO block per 250 tables keeps each transaction's lock count bounded.
  for (let from = 1; from <= tables; from += 250) {
    await pg.query(SCHEMA_SQL(from, Math.min(tables, from + 249)), [], 'bench');
  }
  await pg.query('VACUUM ANALYZE', [], 'bench');
  await pg.query("CREATE ROLE otel_monitor LOGIN PASSWORD 'bench-monitor'");
  await pg.query('GRANT pg_monitor TO otel_monitor');
}

/**
 * Collects each tier repeatedly from PostgreSQL 18 holding `tables` tables with 3 indexes each, as a
 * `pg_monitor`-only role, and reads the database time the collector consumed from pg_stat_statements.
 */
export async function benchCollect(options: {
  readonly tables?: number;
  readonly runs?: Partial<Record<Tier, number>>;
  readonly limits?: QueryLimits;
  readonly log?: (line: string) => void;
}): Promise<{ tiers: TierTiming[]; dbCoreFraction: number; tables: number; indexes: number }> {
  const tables = options.tables ?? 2000;
  const log = options.log ?? (() => undefined);
  const runs = { critical: 200, standard: 100, historical: 20, ...options.runs };
  const pg = await startPostgres({
    major: 18,
    settings: { 'pg_stat_statements.track': 'all', max_locks_per_transaction: '1024' },
  });
  try {
    await createBenchDatabase(pg, tables, log);
    const dsn = new URL(pg.dsn('postgres'));
    dsn.username = 'otel_monitor';
    dsn.password = 'bench-monitor';
    const target = connectionTarget('bench', parseDsn(dsn.toString()), { environment: 'bench' });
    const limits = options.limits ?? DEFAULT_LIMITS;
    const results: TierTiming[] = [];
    for (const tier of TIERS) {
      // Warm-up run: the first connection of a tier loads catalog caches.
      await collect(
        target,
        { tiers: [tier], scheduledAtMs: Date.now(), ignoreIntervals: true },
        { queries: BUILTIN_QUERIES, limits },
      );
      await pg.query('SELECT pg_stat_statements_reset()');
      const times: number[] = [];
      let series = 0;
      for (let i = 0; i < runs[tier]; i++) {
        const result = await collect(
          target,
          { tiers: [tier], scheduledAtMs: Date.now(), ignoreIntervals: true },
          { queries: BUILTIN_QUERIES, limits },
        );
        const errors = result.queries.filter((q) => q.status === 'error');
        if (errors.length > 0)
          throw new Error(`query errors during the benchmark: ${JSON.stringify(errors)}`);
        times.push(result.durationMs);
        series = result.series;
      }
      const [row] = await pg.query<{ ms: number }>(
        `SELECT coalesce(sum(total_exec_time + total_plan_time), 0)::float8 AS ms
           FROM pg_stat_statements WHERE userid = 'otel_monitor'::regrole`,
      );
      times.sort((a, b) => a - b);
      const timing: TierTiming = {
        tier,
        runs: runs[tier],
        p50: percentile(times, 50),
        p95: percentile(times, 95),
        p99: percentile(times, 99),
        max: times[times.length - 1] ?? Number.NaN,
        series,
        dbMsPerRun: (row?.ms ?? 0) / runs[tier],
      };
      log(
        `${tier}: p50 ${timing.p50.toFixed(1)} ms, p99 ${timing.p99.toFixed(1)} ms, ${series} series, db ${timing.dbMsPerRun.toFixed(2)} ms/run`,
      );
      results.push(timing);
    }
    // At the seed cadences. Queries slower than their tier (index stats every 600 s) are measured alone, so
    // their database time is counted at their own interval rather than the tier's.
    const dbMsPerRunOf = async (tier: Tier, queries: readonly QueryDefinition[], n: number) => {
      await pg.query('SELECT pg_stat_statements_reset()');
      for (let i = 0; i < n; i++) {
        await collect(
          target,
          { tiers: [tier], scheduledAtMs: Date.now(), ignoreIntervals: true },
          { queries, limits },
        );
      }
      const [row] = await pg.query<{ ms: number }>(
        `SELECT coalesce(sum(total_exec_time + total_plan_time), 0)::float8 AS ms
           FROM pg_stat_statements WHERE userid = 'otel_monitor'::regrole`,
      );
      return (row?.ms ?? 0) / n;
    };
    let dbMsPerSecond = 0;
    for (const t of results) {
      let slowMsPerSecond = 0;
      let slowMsPerRun = 0;
      for (const query of BUILTIN_QUERIES.filter((q) => q.tier === t.tier)) {
        const interval = effectiveInterval(query, {});
        if (interval <= TIER_INTERVAL_SECONDS[t.tier]) continue;
        const ms = await dbMsPerRunOf(t.tier, [query], Math.min(10, runs[t.tier]));
        slowMsPerRun += ms;
        slowMsPerSecond += ms / interval;
      }
      dbMsPerSecond +=
        Math.max(0, t.dbMsPerRun - slowMsPerRun) / TIER_INTERVAL_SECONDS[t.tier] + slowMsPerSecond;
    }
    return { tiers: results, dbCoreFraction: dbMsPerSecond / 1000, tables, indexes: tables * 3 };
  } finally {
    await pg.destroy();
  }
}
