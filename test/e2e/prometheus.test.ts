import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CollectResult, type CollectTarget, collect } from '../../shared/collect/collect.ts';
import { connectionTarget } from '../../shared/config/local-target.ts';
import { parseDsn } from '../../shared/db/connection.ts';
import { type ExportSummary, exportRun } from '../../shared/export/export-run.ts';
import { prometheusMetricName } from '../../shared/export/prom-names.ts';
import { toTimeSeries } from '../../shared/export/remote-write-labels.ts';
import { seriesKey } from '../../shared/export/staleness.ts';
import type { Attributes, MetricPoint } from '../../shared/model/metrics.ts';
import { BUILTIN_QUERIES, DEFAULT_LIMITS } from '../../shared/queries/catalog.ts';
import { type PgInstance, startPostgres } from '../helpers/postgres.ts';
import { type PromInstance, startPrometheus } from '../helpers/prometheus.ts';

/**
 * End to end: real PostgreSQL 18 → collect() every tier → exportRun → real Prometheus, asserted with
 * PromQL at the collection's timestamp against the values the collector produced.
 */

const ROWS = 1_000;
const DELETED = 250;
const COMMITS = 25;
const TARGET = 'e2e-primary';
const CLUSTER = 'e2e';

let pg: PgInstance;
let prom: PromInstance;
let target: CollectTarget;

function targetOf(server: PgInstance): CollectTarget {
  return connectionTarget(TARGET, parseDsn(server.dsn()), {
    cluster: CLUSTER,
    environment: 'test',
    labels: { team: 'dba' },
  });
}

async function collectAll(): Promise<CollectResult> {
  return collect(
    target,
    { tiers: ['critical', 'standard', 'historical'], scheduledAtMs: Date.now(), ignoreIntervals: true },
    { queries: BUILTIN_QUERIES, limits: DEFAULT_LIMITS },
  );
}

async function exportTo(result: CollectResult, previous?: ExportSummary): Promise<ExportSummary> {
  return exportRun(
    {
      batches: result.batches,
      cluster: CLUSTER,
      target: TARGET,
      scheduledAtMs: timeOf(result),
      deadlineMs: Date.now() + 30_000,
      ...(previous === undefined ? {} : { previousSeries: previous.series }),
    },
    { remoteWrite: { url: prom.writeUrl } },
  );
}

/** The collection time (every batch of one run shares it). */
function timeOf(result: CollectResult): number {
  const time = result.batches[0]?.batch.timeMs;
  if (time === undefined) throw new Error('collect returned no batch');
  return time;
}

/** The one collected point of `family` whose attributes include `match`. */
function pointOf(result: CollectResult, family: string, match: Attributes): MetricPoint {
  const points = result.batches
    .flatMap(({ batch }) => batch.families.filter((f) => f.name === family))
    .flatMap((f) => f.points)
    .filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v));
  if (points.length !== 1) {
    throw new Error(`expected one ${family} point matching ${JSON.stringify(match)}, got ${points.length}`);
  }
  return points[0] as MetricPoint;
}

/** Values of an instant query at the run's timestamp. */
async function valuesAt(promql: string, timeMs: number): Promise<number[]> {
  return (await prom.query(promql, timeMs / 1000)).map((s) => s.value);
}

/** Remote-write series keys of a run, as the exporter computes them. */
function keysOf(result: CollectResult): string[] {
  return result.batches.flatMap(({ batch }) => toTimeSeries(batch).map((s) => seriesKey(s.labels)));
}

beforeAll(async () => {
  [pg, prom] = await Promise.all([startPostgres(), startPrometheus()]);
  target = targetOf(pg);
  const client = await pg.client();
  try {
    // Autovacuum off on the test tables, so their dead rows and the database size stay put while we look.
    for (const table of ['e2e_orders', 'e2e_dropme', 'e2e_keep']) {
      await client.query(
        `CREATE TABLE ${table} (id integer PRIMARY KEY, note text) WITH (autovacuum_enabled = false)`,
      );
    }
    await client.query(
      `INSERT INTO e2e_orders SELECT g, repeat('x', 40) FROM generate_series(1, ${ROWS}) AS g`,
    );
    await client.query(`INSERT INTO e2e_dropme SELECT g, 'gone' FROM generate_series(1, 10) AS g`);
    await client.query(`DELETE FROM e2e_orders WHERE id <= ${DELETED}`);
    for (let i = 1; i <= COMMITS; i++) await client.query('INSERT INTO e2e_keep VALUES ($1, $2)', [i, 'c']);
    // The flush happens when the backend goes idle; the next statement is only read after it.
    await client.query('SELECT pg_stat_force_next_flush()');
    await client.query('SELECT 1');
  } finally {
    await client.end();
  }
});

afterAll(async () => {
  await Promise.all([pg?.destroy(), prom?.destroy()]);
});

describe('PostgreSQL → collect → exportRun → Prometheus', () => {
  let run1: CollectResult;
  let summary1: ExportSummary;
  let sizeBefore: number;
  let sizeAfter: number;
  let commitsBefore: number;

  beforeAll(async () => {
    const sizeSql = "SELECT pg_database_size('postgres')::text AS size";
    const commitSql = "SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = 'postgres'";
    sizeBefore = Number((await pg.query<{ size: string }>(sizeSql))[0]?.size);
    commitsBefore = Number((await pg.query<{ n: string }>(commitSql))[0]?.n);
    run1 = await collectAll();
    sizeAfter = Number((await pg.query<{ size: string }>(sizeSql))[0]?.size);
    summary1 = await exportTo(run1);
  });

  it('sends every collected series, and Prometheus holds exactly that many', async () => {
    // Assess
    expect(run1.up).toBe(1);
    expect(run1.queries.filter((q) => q.status === 'error')).toEqual([]);
    expect(summary1.remoteWrite).toMatchObject({
      ok: true,
      seriesSent: run1.series,
      samplesSent: run1.series,
      samplesRejected: 0,
      lastStatus: 204,
      errors: [],
      staleMarkers: 0,
    });
    expect(await prom.seriesCount()).toBe(run1.series);
  });

  it('returns exactly the collected database size, commit count and dead rows at the collection time', async () => {
    // Prepare
    const t = timeOf(run1);
    const size = pointOf(run1, 'postgresql.database.size', { database_name: 'postgres' }).value;
    const commits = pointOf(run1, 'postgresql.database.transactions', {
      database_name: 'postgres',
      transaction_type: 'commit',
    }).value;
    const dead = pointOf(run1, 'postgresql.table.dead_rows', {
      database_name: 'postgres',
      table_name: 'e2e_orders',
    }).value;
    const live = pointOf(run1, 'postgresql.table.rows', {
      database_name: 'postgres',
      table_name: 'e2e_orders',
    }).value;

    // Act
    const promSize = await valuesAt('postgresql_database_size_bytes{database_name="postgres"}', t);
    const promCommits = await valuesAt(
      'postgresql_database_transactions_total{database_name="postgres",transaction_type="commit"}',
      t,
    );
    const promDead = await valuesAt('postgresql_table_dead_rows{table_name="e2e_orders"}', t);
    const promLive = await valuesAt('postgresql_table_rows{table_name="e2e_orders"}', t);
    const promUp = await valuesAt('up', t);

    // Assess
    expect(promSize).toEqual([size]);
    expect(size).toBeGreaterThanOrEqual(Math.min(sizeBefore, sizeAfter));
    expect(size).toBeLessThanOrEqual(Math.max(sizeBefore, sizeAfter));
    expect(promCommits).toEqual([commits]);
    expect(commits).toBeGreaterThanOrEqual(commitsBefore);
    expect(promDead).toEqual([dead]);
    expect(dead).toBe(DELETED);
    expect(promLive).toEqual([live]);
    expect(live).toBe(ROWS - DELETED);
    expect(promUp).toEqual([1]);
  });

  it('labels every series with job, instance and the resource attributes', async () => {
    // Act
    const up = await prom.query('up', timeOf(run1) / 1000);
    const dead = await prom.query('postgresql_table_dead_rows{table_name="e2e_orders"}', timeOf(run1) / 1000);

    // Assess
    const resource = {
      job: 'postgresql',
      instance: TARGET,
      service_name: 'postgresql',
      service_instance_id: TARGET,
      db_system: 'postgresql',
      db_version: run1.server?.version,
      db_role: 'primary',
      deployment_environment: 'test',
      db_cluster: CLUSTER,
      team: 'dba',
    };
    expect(run1.server?.version).toMatch(/^18\.\d+/);
    expect(up.map((s) => s.metric)).toEqual([{ __name__: 'up', ...resource }]);
    expect(dead.map((s) => s.metric)).toEqual([
      {
        __name__: 'postgresql_table_dead_rows',
        ...resource,
        database_name: 'postgres',
        schema_name: 'public',
        table_name: 'e2e_orders',
      },
    ]);
  });

  it('names families with _bytes, _seconds and _total suffixes, one Prometheus series per collected point', async () => {
    // Prepare: points per Prometheus name, from what was collected.
    const expected: Record<string, number> = {};
    for (const { batch } of run1.batches) {
      for (const family of batch.families) {
        const name = prometheusMetricName(family);
        expected[name] = (expected[name] ?? 0) + family.points.length;
      }
    }

    // Act
    const counts = await prom.query('count by (__name__) ({__name__=~".+"})', timeOf(run1) / 1000);
    const actual = Object.fromEntries(counts.map((s) => [s.metric.__name__ ?? '', s.value]));

    // Assess: databases are those not templates (postgres only here).
    expect(actual).toEqual(expected);
    const databases = await pg.query('SELECT datname FROM pg_database WHERE NOT datistemplate');
    expect(databases).toEqual([{ datname: 'postgres' }]);
    expect(actual.postgresql_database_size_bytes).toBe(1);
    expect(actual.postgresql_database_transactions_total).toBe(2);
    expect(actual.postgresql_sessions_time_seconds_total).toBe(3);
    expect(actual.postgresql_table_size_bytes).toBe(3);
    expect(actual.pgotel_collection_duration_seconds).toBe(1);
    expect(actual.up).toBe(1);
    expect(
      Object.keys(actual)
        .filter((n) => /^postgresql_database_(size|transactions)/.test(n))
        .sort(),
    ).toEqual(['postgresql_database_size_bytes', 'postgresql_database_transactions_total']);
  });

  it('ends a dropped table at the next run with stale markers, other tables carry on', async () => {
    // Prepare
    await pg.query('DROP TABLE e2e_dropme');
    const droppedSeries = await prom.query('{table_name="e2e_dropme"}', timeOf(run1) / 1000);

    // Act
    const run2 = await collectAll();
    const summary2 = await exportTo(run2, summary1);
    const after = timeOf(run2) + 1_000;
    const dropped = await prom.query('{table_name="e2e_dropme"}', after / 1000);
    const orders = await valuesAt('postgresql_table_size_bytes{table_name="e2e_orders"}', after);
    const keep = await valuesAt('postgresql_table_rows{table_name="e2e_keep"}', after);

    // Assess
    const current = new Set(keysOf(run2));
    const vanished = keysOf(run1).filter((k) => !current.has(k));
    expect(droppedSeries.length).toBeGreaterThan(0);
    expect(vanished.filter((k) => k.includes('"e2e_dropme"'))).toHaveLength(droppedSeries.length);
    expect(summary2.remoteWrite).toMatchObject({
      ok: true,
      seriesSent: run2.series + vanished.length,
      samplesRejected: 0,
      staleMarkers: vanished.length,
    });
    expect(dropped).toEqual([]);
    expect(orders).toEqual([
      pointOf(run2, 'postgresql.table.size', { database_name: 'postgres', table_name: 'e2e_orders' }).value,
    ]);
    expect(keep).toEqual([
      pointOf(run2, 'postgresql.table.rows', { database_name: 'postgres', table_name: 'e2e_keep' }).value,
    ]);
  });
});
