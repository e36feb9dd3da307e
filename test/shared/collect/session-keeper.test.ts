import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CollectResult, type CollectTarget, collect } from '../../../shared/collect/collect.ts';
import { SessionKeeper } from '../../../shared/collect/session-keeper.ts';
import { connectionTarget } from '../../../shared/config/local-target.ts';
import type { Tier } from '../../../shared/model/metrics.ts';
import { DEFAULT_LIMITS } from '../../../shared/queries/catalog.ts';
import { customQueryDefinitions } from '../../../shared/queries/custom.ts';
import { gaugeQuery } from '../../helpers/custom-query.ts';
import { connectionAs, PG_MAJORS, type PgInstance, startPostgres } from '../../helpers/postgres.ts';

const MONITOR_PASSWORD = 'Monitor-Keeps-Pa55word';

const PER_DATABASE = { scope: 'database' } as const;

// critical: what the session looks like; standard: a query that changes a session setting for good.
const QUERIES = customQueryDefinitions([
  gaugeQuery('pid', 'SELECT pg_backend_pid() AS v', PER_DATABASE),
  gaugeQuery('work_mem', "SELECT pg_size_bytes(current_setting('work_mem')) AS v", PER_DATABASE),
  gaugeQuery(
    'idle_session_timeout',
    "SELECT extract(epoch FROM coalesce(current_setting('idle_session_timeout', true), '0')::interval) AS v",
    PER_DATABASE,
  ),
  gaugeQuery(
    'keepalives_idle',
    "SELECT extract(epoch FROM current_setting('tcp_keepalives_idle')::interval) AS v",
    PER_DATABASE,
  ),
  gaugeQuery('set_work_mem', "SELECT 1 AS v FROM (SELECT set_config('work_mem', '77MB', false)) s", {
    tier: 'standard',
    scope: 'database',
  }),
]);

/** The value of custom metric `name` in database `database`. */
function metricValue(result: CollectResult, name: string, database: string): number | undefined {
  for (const { batch } of result.batches) {
    for (const family of batch.families) {
      if (family.name !== `custom.${name}`) continue;
      const point = family.points.find((p) => p.attributes.database_name === database);
      if (point !== undefined) return Number(point.value);
    }
  }
  return undefined;
}

/** Errors of a run, for a readable failure. */
function errorsOf(result: CollectResult): string[] {
  return result.queries.filter((q) => q.status === 'error').map((q) => `${q.query}: ${q.message}`);
}

const MAJORS = [...new Set([PG_MAJORS[0] ?? 18, PG_MAJORS.at(-1) ?? 18])];

describe.each(MAJORS)('sessions kept between runs on PostgreSQL %i', (major) => {
  let server: PgInstance;

  beforeAll(async () => {
    server = await startPostgres({ major, pgStatStatements: false });
    await server.query(`CREATE ROLE otel_monitor LOGIN PASSWORD '${MONITOR_PASSWORD}'`);
    await server.query('GRANT pg_monitor TO otel_monitor');
    await server.query('CREATE DATABASE app');
  });
  afterAll(async () => {
    await server?.destroy();
  });
  // A test that fails midway leaves no session behind for the next one.
  const keepers: SessionKeeper[] = [];
  afterEach(async () => {
    await Promise.all(keepers.splice(0).map((k) => k.closeAll()));
  });
  function newKeeper(options?: ConstructorParameters<typeof SessionKeeper>[0]): SessionKeeper {
    const keeper = new SessionKeeper(options);
    keepers.push(keeper);
    return keeper;
  }

  function targetWith(overrides: Partial<CollectTarget> = {}): CollectTarget {
    return connectionTarget('kept', connectionAs(server, 'otel_monitor', MONITOR_PASSWORD), {
      databases: { include: ['postgres', 'app'], exclude: [] },
      keepSessionSeconds: 60,
      ...overrides,
    });
  }

  function run(target: CollectTarget, keeper: SessionKeeper | undefined, tiers: Tier[]) {
    return collect(
      target,
      { tiers, scheduledAtMs: Date.now(), ignoreIntervals: true },
      { queries: QUERIES, limits: DEFAULT_LIMITS, ...(keeper === undefined ? {} : { sessions: keeper }) },
    );
  }

  async function pgotelPids(): Promise<number[]> {
    const rows = await server.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgotel' ORDER BY pid",
    );
    return rows.map((r) => r.pid);
  }

  async function waitGone(pid: number, withinMs: number): Promise<boolean> {
    const until = Date.now() + withinMs;
    while (Date.now() < until) {
      if (!(await pgotelPids()).includes(pid)) return true;
      await new Promise((r) => setTimeout(r, 200));
    }
    return false;
  }

  it('the next run reuses the sessions of every database, with the settings of its own tier and none a custom query left', async () => {
    // Prepare
    const keeper = newKeeper();
    const target = targetWith();

    // Act
    const first = await run(target, keeper, ['critical', 'standard']);
    const idleBetween = await pgotelPids();
    const second = await run(target, keeper, ['critical']);

    // Assess
    expect(errorsOf(first)).toEqual([]);
    expect(errorsOf(second)).toEqual([]);
    expect(first.sessions).toEqual({ opened: 2, reused: 0 });
    expect(second.sessions).toEqual({ opened: 0, reused: 2 });
    const firstPids = [metricValue(first, 'pid', 'postgres'), metricValue(first, 'pid', 'app')];
    expect([metricValue(second, 'pid', 'postgres'), metricValue(second, 'pid', 'app')]).toEqual(firstPids);
    expect(idleBetween).toEqual([...(firstPids as number[])].sort((a, b) => a - b));
    // The first run set work_mem for the session after reading it; the second reads the default again.
    expect(metricValue(second, 'work_mem', 'app')).toBe(4 * 1024 * 1024);
    // The server ends a kept session 10 s after the container stops reusing it; 13 has keepalives instead.
    expect(metricValue(second, 'idle_session_timeout', 'app')).toBe(major >= 14 ? 70 : 0);
    if (major >= 14) expect(metricValue(second, 'keepalives_idle', 'app')).not.toBe(30);
    else expect(metricValue(second, 'keepalives_idle', 'app')).toBe(30);
    expect(metricValue(first, 'idle_session_timeout', 'app')).toBe(0);
    await keeper.closeAll();
    for (const pid of firstPids) expect(await waitGone(pid as number, 5_000)).toBe(true);
  });

  it("a session is kept only while the role's CONNECTION LIMIT leaves room for a whole run besides", async () => {
    // Prepare: CONNECTION LIMIT 2 and max_connections 1. The main session is released first (alone: 1 + 1 <= 2,
    // kept); app's session then finds two sessions of the role (2 + 1 > 2) and is closed.
    await server.query(`CREATE ROLE otel_limited LOGIN PASSWORD '${MONITOR_PASSWORD}' CONNECTION LIMIT 2`);
    await server.query('GRANT pg_monitor TO otel_limited');
    const keeper = newKeeper();
    const target = targetWith({ maxConnections: 1 });
    const limited = { ...target, connection: { ...target.connection, user: 'otel_limited' } };

    // Act
    const first = await run(limited, keeper, ['critical']);
    const second = await run(limited, keeper, ['critical']);

    // Assess: the second run reuses the one kept session and opens app's again, within the limit.
    expect(errorsOf(first)).toEqual([]);
    expect(errorsOf(second)).toEqual([]);
    expect(second.sessions).toEqual({ opened: 1, reused: 1 });
    expect(metricValue(second, 'pid', 'postgres')).toBe(metricValue(first, 'pid', 'postgres'));
    expect(keeper.stats).toMatchObject({ kept: 2, noRoom: 2 });
    expect(keeper.size).toBe(1);
  });

  it('a kept session parses each query once, and parses again after a custom query deallocated them all', async () => {
    // Prepare: the first run prepares its four queries (DEALLOCATE ALL last, in the standard tier, which then
    // drops them all); the second finds none of what it remembers and parses again.
    const counting = customQueryDefinitions([
      gaugeQuery(
        'prepared',
        "SELECT count(*) AS v FROM pg_prepared_statements WHERE name LIKE 'pgotel\\_%'",
        PER_DATABASE,
      ),
      gaugeQuery('one', 'SELECT 1 AS v', PER_DATABASE),
      gaugeQuery('deallocate', 'DEALLOCATE ALL', { tier: 'standard', scope: 'database' }),
    ]);
    const keeper = newKeeper();
    const target = targetWith({ databases: { include: ['postgres'], exclude: [] } });
    const runWith = (tiers: Tier[]) =>
      collect(
        target,
        { tiers, scheduledAtMs: Date.now(), ignoreIntervals: true },
        { queries: counting, limits: DEFAULT_LIMITS, sessions: keeper },
      );

    // Act
    const first = await runWith(['critical']);
    const second = await runWith(['critical']);
    const third = await runWith(['critical', 'standard']);
    const fourth = await runWith(['critical']);

    // Assess
    const prepared = (r: CollectResult) => metricValue(r, 'prepared', 'postgres');
    // A probe is parsed before it runs, so it counts itself; server detection and the database list are not
    // catalog queries and stay unnamed.
    expect([prepared(first), prepared(second), prepared(third)]).toEqual([1, 2, 2]);
    expect(errorsOf(third)).toEqual([expect.stringMatching(/^deallocate: /)]);
    expect(errorsOf(fourth)).toEqual([]);
    expect(prepared(fourth)).toBe(1);
    expect(metricValue(fourth, 'one', 'postgres')).toBe(1);
    expect(fourth.sessions).toEqual({ opened: 0, reused: 1 });
  });

  it('a kept session the server ended is replaced by a new one, with nothing reported', async () => {
    // Prepare
    const keeper = newKeeper();
    const target = targetWith({ databases: { include: ['postgres'], exclude: [] } });
    const first = await run(target, keeper, ['critical']);
    const pid = metricValue(first, 'pid', 'postgres');
    await server.query('SELECT pg_terminate_backend($1)', [pid]);

    // Act
    const second = await run(target, keeper, ['critical']);

    // Assess
    expect(second.up).toBe(1);
    expect(errorsOf(second)).toEqual([]);
    expect(second.sessions).toEqual({ opened: 1, reused: 0 });
    expect(metricValue(second, 'pid', 'postgres')).not.toBe(pid);
    expect(keeper.stats).toEqual({ reused: 0, kept: 2, dropped: 1, noRoom: 0 });
    await keeper.closeAll();
  });

  it('a session is closed at the end of its run when keeping is off, and a kept one once its time is up', async () => {
    // Prepare
    let now = Date.now();
    const keeper = newKeeper({ now: () => now });
    const single = { databases: { include: ['postgres'], exclude: [] } };

    // Act
    const off = await run(targetWith({ ...single, keepSessionSeconds: 0 }), keeper, ['critical']);
    const kept = await run(targetWith({ ...single, keepSessionSeconds: 30 }), keeper, ['critical']);
    now += 30_000;
    const later = await run(targetWith({ ...single, keepSessionSeconds: 30 }), keeper, ['critical']);

    // Assess
    expect(off.sessions).toEqual({ opened: 1, reused: 0 });
    expect(await waitGone(metricValue(off, 'pid', 'postgres') as number, 5_000)).toBe(true);
    expect(later.sessions).toEqual({ opened: 1, reused: 0 });
    expect(await waitGone(metricValue(kept, 'pid', 'postgres') as number, 5_000)).toBe(true);
    expect(await pgotelPids()).toEqual([metricValue(later, 'pid', 'postgres')]);
    await keeper.closeAll();
  });

  // PostgreSQL 13 has no idle_session_timeout (its kept sessions carry TCP keepalives, checked above).
  if (major >= 14)
    it('the server itself ends a kept session that no run reuses (idle_session_timeout)', async () => {
      // Prepare
      const keeper = newKeeper();
      const target = targetWith({ databases: { include: ['postgres'], exclude: [] }, keepSessionSeconds: 1 });

      // Act
      const first = await run(target, keeper, ['critical']);
      const pid = metricValue(first, 'pid', 'postgres') as number;
      const keptAfterRun = await pgotelPids();

      // Assess: 1 s + 10 s of slack, then the server ends it; the container still holds it.
      expect(keptAfterRun).toEqual([pid]);
      expect(await waitGone(pid, 20_000)).toBe(true);
      expect(keeper.size).toBe(1);
      await keeper.closeAll();
    }, 30_000);
});
