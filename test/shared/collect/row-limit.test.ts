import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CollectOptions, type CollectResult, collect } from '../../../shared/collect/collect.ts';
import { DEFAULT_MAX_ROWS_PER_QUERY } from '../../../shared/collect/run-query.ts';
import { connectionTarget } from '../../../shared/config/local-target.ts';
import { parseDsn } from '../../../shared/db/connection.ts';
import type { MetricPoint, Tier } from '../../../shared/model/metrics.ts';
import { BUILTIN_QUERIES, DEFAULT_LIMITS } from '../../../shared/queries/catalog.ts';
import { customQueryDefinitions } from '../../../shared/queries/custom.ts';
import type { QueryDefinition } from '../../../shared/queries/types.ts';
import { gaugeQuery } from '../../helpers/custom-query.ts';
import { type PgInstance, startPostgres } from '../../helpers/postgres.ts';

function custom(name: string, query: string, attributes: string[] = []): QueryDefinition[] {
  return customQueryDefinitions([gaugeQuery(name, query, { tier: 'standard', attributes })]);
}

function pointsOf(result: CollectResult, name: string): MetricPoint[] {
  return result.batches.flatMap(({ batch }) =>
    batch.families.filter((f) => f.name === name).flatMap((f) => f.points),
  );
}

describe('collect: a query result is bounded', () => {
  let server: PgInstance;
  beforeAll(async () => {
    server = await startPostgres({ pgStatStatements: false });
  });
  afterAll(async () => {
    await server?.destroy();
  });

  function run(
    queries: readonly QueryDefinition[],
    tiers: readonly Tier[],
    extra: Partial<CollectOptions> = {},
  ) {
    return collect(
      connectionTarget('rows', parseDsn(server.dsn()), { environment: 'test' }),
      { tiers, scheduledAtMs: Date.now(), ignoreIntervals: true },
      { queries, limits: DEFAULT_LIMITS, ...extra },
    );
  }

  it('1,000,000 rows with distinct attributes: the first 10,000 are read, the cut is reported, memory stays flat', async () => {
    // Prepare
    const query = custom(
      'million',
      `SELECT g AS v, 'series-' || g AS label, repeat('x', 100) AS padding FROM generate_series(1, 1000000) g`,
      ['label', 'padding'],
    );
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);

    // Act
    let result: CollectResult;
    try {
      result = await run(query, ['standard']);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);

    // Assess
    expect(pointsOf(result, 'custom.million')).toHaveLength(10_000);
    expect(pointsOf(result, 'custom.million')[9_999]?.value).toBe(10_000);
    const report = result.queries.find((q) => q.query === 'million');
    expect(report).toMatchObject({ status: 'ok', rows: 10_000, points: 10_000 });
    expect(report?.warnings).toEqual(['result cut at 10,000 rows: the rest were not read']);
    // 1,000,000 rows held at once take well over a gigabyte; 10,000 take a few megabytes.
    expect(peak - baseline).toBeLessThan(150 * 1024 * 1024);
    expect(DEFAULT_MAX_ROWS_PER_QUERY).toBe(10_000);
  });

  it('maxRows is the limit; a result of exactly that many rows is not cut', async () => {
    const queries = [
      ...custom('eleven', 'SELECT g AS v, g AS n FROM generate_series(1, 11) g', ['n']),
      ...custom('ten', 'SELECT g AS v, g AS n FROM generate_series(1, 10) g', ['n']),
    ];

    const result = await run(queries, ['standard'], { maxRows: 10 });

    expect(pointsOf(result, 'custom.eleven').map((p) => p.value)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(pointsOf(result, 'custom.ten')).toHaveLength(10);
    expect(result.queries.map((q) => [q.query, q.rows, q.warnings])).toEqual([
      ['eleven', 10, ['result cut at 10 rows: the rest were not read']],
      ['ten', 10, undefined],
    ]);
  });

  it('a built-in query bounded by a configured limit is never cut below that limit', async () => {
    // Prepare: more tables than maxRows, fewer than max_tables.
    for (let i = 0; i < 5; i++) await server.query(`CREATE TABLE IF NOT EXISTS t${i} (id int)`);
    const tableStats = BUILTIN_QUERIES.filter((q) => q.name === 'table_stats');

    // Act
    const result = await run(tableStats, ['historical'], { maxRows: 2 });

    // Assess
    const report = result.queries.find((q) => q.query === 'table_stats');
    expect(report?.status).toBe('ok');
    expect(report?.rows).toBeGreaterThanOrEqual(5);
    expect(report?.warnings).toBeUndefined();
  });
});
