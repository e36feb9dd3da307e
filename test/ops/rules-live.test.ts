import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgotel } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { type PgInstance, startPostgres } from '../helpers/postgres.ts';
import { delay } from '../helpers/processes.ts';
import { type PromInstance, startPrometheus } from '../helpers/prometheus.ts';

/**
 * The shipped rules in a real Prometheus, on data the real collector (`pgotel collect --remote-write`) wrote
 * from a real PostgreSQL with a workload: a transaction left open holding a row lock, a session blocked by it,
 * a table with 120,000 dead tuples, 50 requested checkpoints between two runs, a target whose role lacks
 * pg_monitor (a failing query) and a target nobody listens for (up = 0). The alerts that workload causes
 * must be pending (their `for` is minutes), every other alert inactive, and every rule must evaluate
 * without error on the real label sets.
 */

const RULES_DIR = resolve(import.meta.dirname, '..', '..', 'ops', 'rules');
const DEAD_TUPLES = 120_000;
const CHECKPOINTS = 50;
/**
 * The one threshold the test cannot reach for real: a transaction open for an hour. The test copy of the
 * alerts lowers it to 1 s; every other rule is loaded as shipped.
 */
const LONG_TRANSACTION = {
  shipped: 'postgresql_transactions_max_duration_seconds > 3600',
  test: 'postgresql_transactions_max_duration_seconds > 1',
};

let server: PgInstance;
let prom: PromInstance;
let configFile: string;
let holder: pg.Client;
let waiter: pg.Client;
let blocked: Promise<unknown>;

interface ActiveAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}
interface RuleState {
  name: string;
  health: string;
  lastError?: string;
}
interface RuleGroup {
  name: string;
  lastEvaluation: string;
  rules: RuleState[];
}

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${prom.url}${path}`, { signal: AbortSignal.timeout(10_000) });
  const body = (await response.json()) as { status: string; data: T };
  if (body.status !== 'success') throw new Error(`${path}: ${JSON.stringify(body)}`);
  return body.data;
}

/** Points Prometheus at a test copy of the rules, evaluated every second, and restarts it. */
async function loadRules(): Promise<void> {
  const alerts = await readFile(join(RULES_DIR, 'pgotel-alerts.yml'), 'utf8');
  if (alerts.split(LONG_TRANSACTION.shipped).length !== 2) {
    throw new Error(`pgotel-alerts.yml no longer has exactly one "${LONG_TRANSACTION.shipped}"`);
  }
  // startPrometheus keeps its configuration next to the data directory; it has no option for rule files.
  const root = dirname(prom.dataDir);
  const testAlerts = join(root, 'pgotel-alerts.test-copy.yml');
  await writeFile(testAlerts, alerts.replace(LONG_TRANSACTION.shipped, LONG_TRANSACTION.test));
  await writeFile(
    join(root, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 15s',
      '  evaluation_interval: 1s',
      'rule_files:',
      `  - ${JSON.stringify(join(RULES_DIR, 'pgotel-recording.yml'))}`,
      `  - ${JSON.stringify(testAlerts)}`,
      'scrape_configs: []',
      '',
    ].join('\n'),
  );
  await prom.stop();
  await prom.start();
  const { groups } = await api<{ groups: RuleGroup[] }>('/api/v1/rules');
  if (groups.length !== 5) {
    throw new Error(
      `Prometheus loaded ${groups.length} rule groups from ${root}/prometheus.yml, not 5: ${prom.logFile}`,
    );
  }
}

/** `pgotel collect` of one target of the test config, remote-writing to the test Prometheus. */
async function collect(target: string, tier = 'all'): Promise<{ code: number | null; stderr: string }> {
  const run = await pgotel([
    'collect',
    '--config',
    configFile,
    '--target',
    target,
    '--tier',
    tier,
    '--remote-write',
    prom.writeUrl,
  ]);
  return { code: run.code, stderr: run.stderr };
}

/** Active alerts as `alertname instance [other labels the rule adds from the series]`, sorted. */
async function activeAlerts(): Promise<string[]> {
  const { alerts } = await api<{ alerts: ActiveAlert[] }>('/api/v1/alerts');
  return alerts
    .map(({ labels, state }) => {
      const { alertname, instance, database_name, schema_name, table_name, query, type } = labels;
      const detail = [database_name, schema_name, table_name, query, type].filter((v) => v !== undefined);
      return [alertname, instance, ...detail, state].join(' ');
    })
    .sort();
}

/** Waits until every rule group has been evaluated after `timeMs` (each second, but not in step with us). */
async function evaluatedAfter(timeMs: number): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    const { groups } = await api<{ groups: RuleGroup[] }>('/api/v1/rules');
    if (groups.every((g) => Date.parse(g.lastEvaluation) > timeMs)) return;
    await delay(200);
  }
  throw new Error(`the rules were not evaluated within a minute: ${prom.logFile}`);
}

async function scalar(promql: string): Promise<number> {
  const samples = await prom.query(promql);
  if (samples.length !== 1) throw new Error(`${promql}: ${samples.length} series`);
  return samples[0]?.value ?? Number.NaN;
}

beforeAll(async () => {
  [server, prom] = await Promise.all([startPostgres(), startPrometheus()]);
  await loadRules();

  // Prepare: the workload.
  await server.query('CREATE DATABASE shop');
  await server.query(`CREATE ROLE watcher LOGIN PASSWORD 'watcher-pw'`);
  const setup = await server.client('shop');
  try {
    await setup.query('CREATE TABLE accounts (id int PRIMARY KEY, balance int)');
    await setup.query('INSERT INTO accounts VALUES (1, 100)');
    // Autovacuum off for this table, so the dead tuples stay until the test ends.
    await setup.query('CREATE TABLE bloated (id int) WITH (autovacuum_enabled = off)');
    await setup.query(`INSERT INTO bloated SELECT generate_series(1, ${DEAD_TUPLES})`);
    await setup.query('DELETE FROM bloated');
  } finally {
    await setup.end();
  }
  for (;;) {
    const [row] = await server.query<{ n: string }>(
      `SELECT n_dead_tup AS n FROM pg_stat_user_tables WHERE relname = 'bloated'`,
      [],
      'shop',
    );
    if (Number(row?.n) === DEAD_TUPLES) break;
    await delay(100);
  }
  holder = await server.client('shop');
  waiter = await server.client('shop');
  await holder.query('BEGIN');
  await holder.query('UPDATE accounts SET balance = balance + 1 WHERE id = 1');
  blocked = waiter.query('UPDATE accounts SET balance = balance - 1 WHERE id = 1').catch(() => undefined);
  for (;;) {
    const rows = await server.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'`);
    if (rows.length === 1) break;
    await delay(100);
  }

  const dsn = (user: string, password: string, port: number): string =>
    `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  configFile = join(dirname(prom.dataDir), 'pgotel.config.yaml');
  await writeFile(
    configFile,
    [
      'environment: test',
      'targets:',
      '  - name: shop',
      `    dsn: ${JSON.stringify(dsn(server.user, server.password, server.port))}`,
      '    cluster: rules-live',
      '    labels: { team: dba }',
      '  - name: restricted',
      `    dsn: ${JSON.stringify(dsn('watcher', 'watcher-pw', server.port))}`,
      '  - name: gone',
      `    dsn: ${JSON.stringify(dsn('postgres', 'unused', await freePort()))}`,
      '',
    ].join('\n'),
  );

  // Act: two runs of every tier 50 checkpoints apart; the other targets once.
  const runs = [await collect('shop'), await collect('restricted', 'standard'), await collect('gone')];
  for (let i = 0; i < CHECKPOINTS; i++) await server.query('CHECKPOINT');
  runs.push(await collect('shop'));
  expect(
    runs.map((r) => r.code),
    runs.map((r) => r.stderr).join('\n'),
  ).toEqual([0, 0, 2, 0]);
  await evaluatedAfter(Date.now());
}, 240_000);

afterAll(async () => {
  await waiter?.end().catch(() => undefined);
  await holder?.end().catch(() => undefined);
  await blocked;
  await prom?.destroy();
  await server?.destroy();
});

describe('ops/rules on data pgotel collected', () => {
  it('wrote the workload as the rules expect it', async () => {
    // Assess: the label sets the promtool tests are shaped after, and the values the alerts compare.
    const up = await prom.query('up{db_system="postgresql"}');
    expect(
      up
        .map((s) => [
          s.metric.instance,
          Object.keys(s.metric)
            .filter((k) => k !== '__name__')
            .sort()
            .join(),
          s.value,
        ])
        .sort(),
    ).toEqual([
      [
        'gone',
        'db_cluster,db_system,deployment_environment,instance,job,service_instance_id,service_name',
        0,
      ],
      [
        'restricted',
        'db_cluster,db_role,db_system,db_version,deployment_environment,instance,job,service_instance_id,service_name',
        1,
      ],
      [
        'shop',
        'db_cluster,db_role,db_system,db_version,deployment_environment,instance,job,service_instance_id,service_name,team',
        1,
      ],
    ]);
    expect(await scalar('postgresql_locks_blocked_sessions{instance="shop", database_name="shop"}')).toBe(1);
    expect(
      await scalar(
        'postgresql_vacuum_dead_tuples{instance="shop", database_name="shop", table_name="bloated"}',
      ),
    ).toBe(DEAD_TUPLES);
    const requested = 'postgresql_bgwriter_checkpoints_total{instance="shop", type="requested"}[5m]';
    expect(await scalar(`max_over_time(${requested}) - min_over_time(${requested})`)).toBe(CHECKPOINTS);
  });

  it('evaluates every rule without error on the real label sets', async () => {
    // Act
    const { groups } = await api<{ groups: RuleGroup[] }>('/api/v1/rules');
    const rules = groups.flatMap((g) => g.rules);

    // Assess
    expect(rules.map((r) => [r.name, r.health, r.lastError ?? ''])).toEqual(
      rules.map((r) => [r.name, 'ok', '']),
    );
    expect(rules.length).toBe(24);
  });

  it('records the derived metrics for each target', async () => {
    // The tiers each target ran: shop every tier (critical: 15 s), restricted only standard (60 s), gone none.
    const cadence = await prom.query('instance:pgotel_tier_interval_seconds:min');
    expect(cadence.map((s) => [s.metric.instance, s.value]).sort()).toEqual([
      ['restricted', 60],
      ['shop', 15],
    ]);
    const saturation = await scalar(
      'instance:postgresql_database_backends:ratio_max_connections{instance="shop"}',
    );
    const backends = await scalar('sum(postgresql_database_backends{instance="shop"})');
    expect(await scalar('postgresql_settings_max_connections{instance="shop"}')).toBe(100);
    expect(saturation).toBe(backends / 100);
    // A primary without deadlocks and with fewer than 100 sessions: 75, plus 25 if every database's cache
    // hit ratio is above 0.99.
    const cacheOk = await scalar('min(postgresql_cache_hit_ratio{instance="shop"}) > bool 0.99');
    expect(await scalar('instance:postgresql_health:score{instance="shop"}')).toBe(75 + 25 * cacheOk);
  });

  it('has exactly the alerts the workload causes pending, and no other alert active', async () => {
    const expected = [
      'PgotelQueryFailing restricted wal_files pending',
      'PostgreSQLBlockedSessions shop shop pending',
      'PostgreSQLDown gone pending',
      'PostgreSQLFrequentCheckpoints shop requested pending',
      'PostgreSQLLongRunningTransaction shop shop pending',
      'PostgreSQLTableBloat restricted shop public bloated pending',
      'PostgreSQLTableBloat shop shop public bloated pending',
    ];
    const active = await activeAlerts();
    expect(active).toEqual(expected);
  });
});
