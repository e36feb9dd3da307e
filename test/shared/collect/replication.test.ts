import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CollectResult, collect } from '../../../shared/collect/collect.ts';
import { SizeMemory } from '../../../shared/collect/size-memory.ts';
import { connectionTarget } from '../../../shared/config/local-target.ts';
import { parseDsn } from '../../../shared/db/connection.ts';
import type { MetricPoint } from '../../../shared/model/metrics.ts';
import { BUILTIN_QUERIES, DEFAULT_LIMITS } from '../../../shared/queries/catalog.ts';
import { PG_MAJORS, type PgInstance, startPostgres, startReplica } from '../../helpers/postgres.ts';

async function collectFrom(server: PgInstance, name: string, sizes?: SizeMemory): Promise<CollectResult> {
  return collect(
    connectionTarget(name, parseDsn(server.dsn()), { cluster: 'replication-test', environment: 'test' }),
    { tiers: ['critical', 'standard', 'historical'], scheduledAtMs: Date.now(), ignoreIntervals: true },
    { queries: BUILTIN_QUERIES, limits: DEFAULT_LIMITS, ...(sizes === undefined ? {} : { sizes }) },
  );
}

function pointsOf(result: CollectResult, name: string): MetricPoint[] {
  return result.batches.flatMap(({ batch }) =>
    batch.families.filter((f) => f.name === name).flatMap((f) => f.points),
  );
}

function onlyValue(result: CollectResult, name: string, attributes: Record<string, string>): number {
  const matching = pointsOf(result, name).filter((p) =>
    Object.entries(attributes).every(([k, v]) => p.attributes[k] === v),
  );
  expect(matching, `${name} ${JSON.stringify(attributes)}`).toHaveLength(1);
  return matching[0]?.value ?? Number.NaN;
}

function failures(result: CollectResult): string[] {
  return result.queries
    .filter((q) => q.status === 'error')
    .map((q) => `${q.query}${q.database === undefined ? '' : `@${q.database}`}: ${q.message}`);
}

async function currentLsnBytes(server: PgInstance): Promise<number> {
  const rows = await server.query<{ b: string }>(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') AS b`);
  return Number(rows[0]?.b);
}

describe.each(PG_MAJORS)('replication metrics on PostgreSQL %i', (major) => {
  let primary: PgInstance;
  let replica: PgInstance;

  beforeAll(async () => {
    primary = await startPostgres({ major });
    replica = await startReplica(primary);
    await primary.query(`SELECT pg_create_logical_replication_slot('slot_a', 'test_decoding')`);
    // WAL the slot must retain: nobody consumes slot_a.
    await primary.query(
      'CREATE TABLE wal_filler AS SELECT g, md5(g::text) AS h FROM generate_series(1, 50000) g',
    );
    // Wait until the replica has replayed the commit (the table is visible there): a healthy, caught-up standby.
    for (let i = 0; i < 600; i++) {
      const rows = await replica.query<{ seen: boolean }>(
        `SELECT to_regclass('wal_filler') IS NOT NULL AS seen`,
      );
      if (rows[0]?.seen === true) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  afterAll(async () => {
    await replica?.destroy();
    await primary?.destroy();
  });

  it('on the primary: role, one standby with plausible lag, slot lag for the unconsumed slot', async () => {
    // Prepare
    const slot = await primary.query<{ restart: string }>(
      `SELECT pg_wal_lsn_diff(restart_lsn, '0/0') AS restart FROM pg_replication_slots WHERE slot_name = 'slot_a'`,
    );
    const restart = Number(slot[0]?.restart);
    const before = await currentLsnBytes(primary);

    // Act
    const result = await collectFrom(primary, 'primary');
    const after = await currentLsnBytes(primary);

    // Assess
    expect(failures(result)).toEqual([]);
    expect(result.up).toBe(1);
    expect(result.server?.role).toBe('primary');
    for (const { batch } of result.batches) expect(batch.resource['db.role']).toBe('primary');
    expect(onlyValue(result, 'postgresql.replication.replicas', {})).toBe(1);
    const lag = onlyValue(result, 'postgresql.replication.lag', {
      application_name: 'replica1',
      client_addr: '127.0.0.1',
      state: 'streaming',
    });
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(100 * 1024 * 1024);
    const slotLag = onlyValue(result, 'postgresql.replication_slot.lag_bytes', {
      slot_name: 'slot_a',
      slot_type: 'logical',
      active: 'false',
    });
    expect(slotLag).toBeGreaterThanOrEqual(before - restart);
    expect(slotLag).toBeLessThanOrEqual(after - restart);
    // The filler table alone is megabytes of WAL behind the slot.
    expect(slotLag).toBeGreaterThan(1024 * 1024);
    const wal = onlyValue(result, 'postgresql.wal.position', { server_role: 'primary' });
    expect(wal).toBeGreaterThanOrEqual(before);
    expect(wal).toBeLessThanOrEqual(after);
  });

  it('on the replica: role, replay lag in seconds, replayed WAL position, no errors', async () => {
    // Prepare
    const primaryLsn = await currentLsnBytes(primary);

    // Act
    const result = await collectFrom(replica, 'replica');

    // Assess
    expect(failures(result)).toEqual([]);
    expect(result.up).toBe(1);
    expect(result.server?.role).toBe('replica');
    for (const { batch } of result.batches) expect(batch.resource['db.role']).toBe('replica');
    const lagSeconds = onlyValue(result, 'postgresql.replication.lag_seconds', { replica_name: 'replica' });
    expect(lagSeconds).toBeGreaterThanOrEqual(0);
    expect(onlyValue(result, 'postgresql.wal_receiver.connected', { replica_name: 'replica' })).toBe(1);
    const replayed = onlyValue(result, 'postgresql.wal.position', { server_role: 'replica' });
    expect(replayed).toBeGreaterThan(0);
    // A replica never replays past what the primary has written.
    expect(replayed).toBeLessThanOrEqual(await currentLsnBytes(primary));
    expect(replayed).toBeGreaterThan(primaryLsn - 100 * 1024 * 1024);
    // The replica has no standbys of its own.
    expect(onlyValue(result, 'postgresql.replication.replicas', {})).toBe(0);
  });

  it('on the replica, sizes are measured every run: its statistics do not see what replay writes', async () => {
    // Prepare: a table the replica has replayed, measured once with a size memory
    await primary.query('CREATE TABLE growing (id int, pad text)');
    await primary.query("INSERT INTO growing SELECT g, repeat('x', 100) FROM generate_series(1, 100) g");
    const replayed = async (rows: number) => {
      for (let i = 0; i < 600; i++) {
        const seen = await replica
          .query<{ n: string }>('SELECT count(*) AS n FROM growing')
          .catch(() => [{ n: '-1' }]);
        if (Number(seen[0]?.n) === rows) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`the replica did not replay ${rows} rows of growing`);
    };
    await replayed(100);
    const sizes = new SizeMemory();
    const first = await collectFrom(replica, 'replica', sizes);

    // Act: the table grows on the primary; the replica replays it
    await primary.query("INSERT INTO growing SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g");
    await replayed(20100);
    const second = await collectFrom(replica, 'replica', sizes);
    const [{ size }] = (await replica.query<{ size: string }>(
      "SELECT pg_total_relation_size('growing') AS size",
    )) as [{ size: string }];

    // Assess
    const sizeOf = (r: CollectResult) =>
      onlyValue(r, 'postgresql.table.size', { database_name: 'postgres', table_name: 'growing' });
    expect(sizeOf(second)).toBe(Number(size));
    expect(sizeOf(second)).toBeGreaterThan(sizeOf(first));
    expect(sizes.size).toBe(0);
  });
});
