import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArchivedObject } from '../../../shared/archive/archive.ts';
import { parseConfig } from '../../../shared/config/load.ts';
import { archiveDestination, type ConnectionSource, planTarget } from '../../../shared/config/runtime.ts';
import { type ConnectionParams, parseDsn } from '../../../shared/db/connection.ts';
import { runCollection } from '../../../shared/run/run-collection.ts';
import { MemoryCardinalityStore, MemorySeriesStateStore } from '../../../shared/state/memory.ts';
import { type PgInstance, startPostgres } from '../../helpers/postgres.ts';
import { type PromInstance, startPrometheus } from '../../helpers/prometheus.ts';

/**
 * runCollection against a real PostgreSQL 18 and a real Prometheus, with the in-memory state adapters (the
 * DynamoDB ones have their own tests): the cardinality window, stale markers across runs, the re-read of
 * credentials after an authentication failure, and the deadline.
 */

const BUDGET = 10;
const WIDE = 30;

let pg: PgInstance;
let prom: PromInstance;
let dir: string;

beforeAll(async () => {
  [pg, prom] = await Promise.all([startPostgres(), startPrometheus()]);
  dir = await mkdtemp(join(tmpdir(), 'pgotel-run-'));
  await pg.query('CREATE TABLE keep_me (id int)');
  await pg.query('CREATE TABLE drop_me (id int)');
  await pg.query('INSERT INTO keep_me SELECT generate_series(1, 10)');
  await pg.query('INSERT INTO drop_me SELECT generate_series(1, 10)');
});

afterAll(async () => {
  await Promise.all([pg?.destroy(), prom?.destroy()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

function configFor(extra: Record<string, unknown> = {}) {
  return parseConfig({
    environment: 'test',
    targets: [{ name: 'run-test', dsn: pg.dsn() }],
    cardinality: { max_series_per_metric: BUDGET, window_seconds: 3600 },
    custom_queries: [
      {
        name: 'wide',
        tier: 'critical',
        query: `SELECT 'k' || g AS key, g AS v FROM generate_series(1, ${WIDE}) g`,
        metrics: [
          { name: 'custom.wide', value_column: 'v', data_type: 'gauge', attributes: [{ column: 'key' }] },
        ],
      },
    ],
    ...extra,
  });
}

/** A connection source that counts its reads; `cached` is what a stale cache would return. */
function countingSource(cached: ConnectionParams, fresh: ConnectionParams) {
  const reads: boolean[] = [];
  const source: ConnectionSource = {
    refreshable: true,
    get: async (options) => {
      reads.push(options.fresh);
      return options.fresh ? fresh : cached;
    },
  };
  return { source, reads };
}

describe('runCollection', () => {
  it('admits exactly the budget per metric, counts the rest, and keeps the same set on the next run', async () => {
    // Prepare
    const plan = planTarget(configFor());
    const cardinality = new MemoryCardinalityStore();
    const ports = {
      connection: { refreshable: false, get: async () => parseDsn(pg.dsn()) },
      destinations: { remoteWrite: { url: prom.writeUrl } },
      cardinality,
    };

    // Act
    const first = await runCollection(
      plan,
      { tiers: ['critical'], scheduledAtMs: Date.now(), deadlineMs: Date.now() + 30_000 },
      ports,
    );
    const second = await runCollection(
      plan,
      { tiers: ['critical'], scheduledAtMs: Date.now(), deadlineMs: Date.now() + 30_000 },
      ports,
    );

    // Assess
    expect(first.summary.droppedByMetric).toStrictEqual({ 'custom.wide': WIDE - BUDGET });
    expect(second.summary.droppedByCardinality).toBe(WIDE - BUDGET);
    const t1 = (first.result.batches[0]?.batch.timeMs ?? 0) / 1000;
    const t2 = (second.result.batches[0]?.batch.timeMs ?? 0) / 1000;
    const keys = async (t: number) =>
      (await prom.query('{__name__=~"custom_wide.*"}', t)).map((s) => s.metric.key).sort();
    const admitted = await keys(t1);
    expect(admitted).toHaveLength(BUDGET);
    expect(await keys(t2)).toStrictEqual(admitted);
    const dropped = await prom.query('pgotel_cardinality_dropped{metric="custom.wide"}', t2);
    expect(dropped.map((s) => s.value)).toStrictEqual([WIDE - BUDGET]);
  });

  it('marks the series of a dropped table stale on the next run, and keeps the others', async () => {
    // Prepare
    const plan = planTarget(configFor());
    const ports = {
      connection: { refreshable: false, get: async () => parseDsn(pg.dsn()) },
      destinations: { remoteWrite: { url: prom.writeUrl } },
      seriesState: new MemorySeriesStateStore(),
    };
    const run = () =>
      runCollection(
        plan,
        {
          tiers: ['historical'],
          scheduledAtMs: Date.now(),
          deadlineMs: Date.now() + 60_000,
          ignoreIntervals: true,
        },
        ports,
      );
    const before = await run();
    await pg.query('DROP TABLE drop_me');

    // Act
    const after = await run();

    // Assess
    expect(before.summary.staleMarkers).toBe(0);
    expect(after.summary.staleMarkers).toBeGreaterThan(0);
    const t1 = (before.result.batches[0]?.batch.timeMs ?? 0) / 1000;
    const t2 = (after.result.batches[0]?.batch.timeMs ?? 0) / 1000;
    const rows = (table: string, t: number) =>
      prom.query(`postgresql_table_rows{table_name="${table}",database_name="postgres"}`, t);
    expect((await rows('drop_me', t1)).map((s) => s.value)).toStrictEqual([10]);
    expect(await rows('drop_me', t2 + 1)).toStrictEqual([]);
    expect((await rows('keep_me', t2)).map((s) => s.value)).toStrictEqual([10]);
  });

  it('reads the credentials again once after an authentication failure, and is up', async () => {
    // Prepare
    const good = parseDsn(pg.dsn());
    const { source, reads } = countingSource({ ...good, password: 'rotated-away' }, good);
    const plan = planTarget(configFor());

    // Act
    const { summary } = await runCollection(
      plan,
      { tiers: ['critical'], scheduledAtMs: Date.now(), deadlineMs: Date.now() + 30_000 },
      { connection: source, destinations: {} },
    );

    // Assess
    expect(summary.up).toBe(1);
    expect(reads).toStrictEqual([false, true]);
  });

  it('reports up = 0 with a clear error, and no password, when the credentials stay wrong', async () => {
    // Prepare
    const good = parseDsn(pg.dsn());
    const wrong = { ...good, password: 'wrong-password-123' };
    const { source, reads } = countingSource(wrong, wrong);

    // Act
    const { summary } = await runCollection(
      planTarget(configFor()),
      { tiers: ['critical'], scheduledAtMs: Date.now(), deadlineMs: Date.now() + 30_000 },
      { connection: source, destinations: { remoteWrite: { url: prom.writeUrl } } },
    );

    // Assess
    expect(summary.up).toBe(0);
    expect(reads).toStrictEqual([false, true]);
    expect(summary.error).toMatch(/password authentication failed/);
    expect(JSON.stringify(summary)).not.toContain('wrong-password-123');
    expect(summary.remoteWrite?.ok).toBe(true);
  });

  it('when the secret cannot be read: up = 0 naming the target, still exported', async () => {
    // Prepare
    const source: ConnectionSource = {
      refreshable: true,
      get: async () => {
        throw new Error('secret arn:aws:secretsmanager:us-east-1:0:secret:x: ResourceNotFoundException');
      },
    };

    // Act
    const { summary } = await runCollection(
      planTarget(configFor()),
      { tiers: ['critical'], scheduledAtMs: Date.now(), deadlineMs: Date.now() + 30_000 },
      { connection: source, destinations: { remoteWrite: { url: prom.writeUrl } } },
    );

    // Assess
    expect(summary.up).toBe(0);
    expect(summary.error).toBe(
      'credentials for target run-test: secret arn:aws:secretsmanager:us-east-1:0:secret:x: ResourceNotFoundException',
    );
    expect(summary.samplesSent).toBeGreaterThan(0);
  });

  it('cuts a query still running at the deadline and archives what was collected', async () => {
    // Prepare
    const config = configFor({
      custom_queries: [
        {
          name: 'slow',
          tier: 'critical',
          query: 'SELECT 1 AS v FROM pg_sleep(20)',
          metrics: [{ name: 'custom.slow', value_column: 'v', data_type: 'gauge' }],
        },
      ],
    });
    const plan = planTarget(config);
    const archive = archiveDestination(pathToFileURL(join(dir, 'deadline')).href, 'none', {});
    const started = Date.now();

    // Act
    const { summary } = await runCollection(
      plan,
      { tiers: ['critical'], scheduledAtMs: started, deadlineMs: started + 5_000 },
      { connection: { refreshable: false, get: async () => parseDsn(pg.dsn()) }, destinations: { archive } },
    );

    // Assess
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(summary.up).toBe(1);
    expect(summary.queryErrors.map((q) => q.query)).toContain('slow');
    expect(summary.archiveKeys).toHaveLength(1);
    const [batch] = await readArchivedObject(archive.store, summary.archiveKeys[0] ?? '');
    const names = batch?.families.map((f) => f.name) ?? [];
    expect(names).toContain('up');
    expect(names).not.toContain('custom.slow');
  });
});
