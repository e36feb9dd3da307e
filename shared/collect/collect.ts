import type pg from 'pg';
import {
  abandonSession,
  applySessionSettings,
  ConnectError,
  type ConnectionParams,
  openSession,
  type SessionSettings,
} from '../db/connection.ts';
import { detectServer, listDatabases, type ServerInfo } from '../db/server-info.ts';
import { type MetricBatch, type ResourceAttributes, TIERS, type Tier } from '../model/metrics.ts';
import { isDue, pickSql } from '../queries/select.ts';
import type { QueryDefinition, QueryLimits } from '../queries/types.ts';
import { FamilyBuilder } from './families.ts';
import { type QueryReport, runQuery } from './run-query.ts';
import { selfMetricPoints } from './self-metrics.ts';

/** Per-tier session limits. */
export interface TierSettings {
  readonly enabled: boolean;
  readonly statementTimeoutMs: number;
  readonly lockTimeoutMs: number;
}

/** One monitored server, with credentials already resolved. */
export interface CollectTarget {
  readonly name: string;
  readonly cluster: string;
  readonly environment: string;
  readonly serviceName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly connection: ConnectionParams;
  readonly databases: { readonly include: readonly string[]; readonly exclude: readonly string[] };
  /** Per-database sessions open at once. */
  readonly maxConnections: number;
  readonly tiers: Readonly<Record<Tier, TierSettings>>;
}

export interface CollectRequest {
  readonly tiers: readonly Tier[];
  /** The slot this run belongs to; decides which per-query intervals are due. */
  readonly scheduledAtMs: number;
  /** Run every query of the requested tiers, ignoring per-query intervals (local `collect`, ad-hoc invokes). */
  readonly ignoreIntervals?: boolean;
  /** Epoch ms by which the run must be done; queries not started by then are skipped, running ones cut. */
  readonly deadlineMs?: number;
  /**
   * A problem found before connecting (the credentials could not be read): the run does not connect and
   * reports `up = 0` with this message.
   */
  readonly preflightError?: string;
}

export interface CollectOptions {
  readonly queries: readonly QueryDefinition[];
  readonly limits: QueryLimits;
  /** Per-query interval overrides in seconds. */
  readonly intervals?: Readonly<Record<string, number>>;
  readonly now?: () => number;
}

/** The outcome of one run: one batch per requested tier, plus what happened to each query. */
export interface CollectResult {
  readonly target: string;
  readonly up: 0 | 1;
  /** Why the server was unreachable (up = 0). Names host and port, never the password. */
  readonly error?: string;
  /** SQLSTATE when the server refused the connection, e.g. `28P01` (bad password), `3D000` (no database). */
  readonly errorCode?: string;
  readonly server?: Omit<ServerInfo, 'relations'>;
  readonly batches: readonly { readonly tier: Tier; readonly batch: MetricBatch }[];
  readonly queries: readonly QueryReport[];
  readonly databases: readonly string[];
  readonly durationMs: number;
  /** Series across all batches, self-metrics included. */
  readonly series: number;
}

function resourceOf(target: CollectTarget, server: ServerInfo | undefined): ResourceAttributes {
  return {
    ...target.labels,
    'service.name': target.serviceName,
    'service.instance.id': target.name,
    'db.system': 'postgresql',
    'db.cluster': target.cluster,
    'deployment.environment': target.environment,
    ...(server === undefined ? {} : { 'db.version': server.version, 'db.role': server.role }),
  };
}

async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

interface Planned {
  readonly query: QueryDefinition;
  readonly tier: Tier;
}

/** The report of a planned query that did not get to run (deadline, no session, relation missing). */
function notRun(item: Planned, status: 'error' | 'skipped', message: string, database?: string): QueryReport {
  return {
    query: item.query.name,
    tier: item.tier,
    origin: item.query.origin ?? 'builtin',
    ...(database === undefined ? {} : { database }),
    status,
    durationMs: 0,
    rows: 0,
    points: 0,
    message,
  };
}

/**
 * Collects the due queries of the requested tiers from one target. Never throws for database trouble:
 * an unreachable server yields `up = 0`, a failing query yields an error report and the others still run.
 */
export async function collect(
  target: CollectTarget,
  request: CollectRequest,
  options: CollectOptions,
): Promise<CollectResult> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const started = performance.now();
  const tiers = TIERS.filter((t) => request.tiers.includes(t) && target.tiers[t].enabled);
  const intervals = options.intervals ?? {};
  const planned: Planned[] = [];
  for (const tier of tiers) {
    for (const query of options.queries) {
      if (
        request.ignoreIntervals === true
          ? query.tier === tier
          : isDue(query, tier, request.scheduledAtMs, intervals)
      ) {
        planned.push({ query, tier });
      }
    }
  }
  const firstTier = tiers[0] ?? request.tiers[0] ?? 'critical';
  const settingsOf = (tier: Tier): SessionSettings => target.tiers[tier];
  const reports: QueryReport[] = [];
  const outputTiers = tiers.length > 0 ? tiers : [firstTier];
  const builders = new Map<Tier, FamilyBuilder>(outputTiers.map((t) => [t, new FamilyBuilder()]));
  const pastDeadline = () => request.deadlineMs !== undefined && now() >= request.deadlineMs;

  const finish = (
    up: 0 | 1,
    server: ServerInfo | undefined,
    databases: string[],
    error?: string,
    errorCode?: string,
  ): CollectResult => {
    const resource = resourceOf(target, server);
    const built = outputTiers.map((tier) => ({
      tier,
      families: (builders.get(tier) ?? new FamilyBuilder()).build(),
    }));
    const dataSeries = built.reduce((n, b) => n + b.families.reduce((m, f) => m + f.points.length, 0), 0);
    const durationMs = performance.now() - started;
    // Self-metrics ride with the most frequent tier of the run, so they are exported once per run.
    const self = new FamilyBuilder();
    self.add(selfMetricPoints({ up, reports, durationMs, series: dataSeries }));
    const selfFamilies = self.build();
    const selfSeries = selfFamilies.reduce((n, f) => n + f.points.length, 0);
    const batches = built.map(({ tier, families }, i) => ({
      tier,
      batch: { resource, timeMs: startedAt, families: i === 0 ? [...families, ...selfFamilies] : families },
    }));
    let serverInfo: Omit<ServerInfo, 'relations'> | undefined;
    if (server !== undefined) {
      const { relations: _relations, ...rest } = server;
      serverInfo = rest;
    }
    return {
      target: target.name,
      up,
      ...(error === undefined ? {} : { error }),
      ...(errorCode === undefined ? {} : { errorCode }),
      ...(serverInfo === undefined ? {} : { server: serverInfo }),
      batches,
      queries: reports,
      databases,
      durationMs,
      series: dataSeries + selfSeries,
    };
  };

  if (request.preflightError !== undefined) return finish(0, undefined, [], request.preflightError);
  let main: pg.Client;
  try {
    main = await openSession(target.connection, settingsOf(firstTier));
  } catch (error) {
    const code = error instanceof ConnectError ? error.code : undefined;
    return finish(0, undefined, [], error instanceof Error ? error.message : String(error), code);
  }
  try {
    const relations = [
      ...new Set(
        planned.flatMap((p) => (p.query.requiresRelation === undefined ? [] : [p.query.requiresRelation])),
      ),
    ];
    let server: ServerInfo;
    try {
      server = await detectServer(main, relations);
    } catch (error) {
      return finish(
        0,
        undefined,
        [],
        `connected to ${target.connection.host}:${target.connection.port} but server detection failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }

    const run = async (
      client: pg.Client,
      info: ServerInfo,
      item: Planned,
      database: string | undefined,
      current: { tier: Tier },
    ) => {
      if (pastDeadline()) {
        reports.push(notRun(item, 'skipped', 'deadline reached before the query started', database));
        return;
      }
      if (current.tier !== item.tier) {
        await applySessionSettings(client, settingsOf(item.tier)).catch(() => undefined);
        current.tier = item.tier;
      }
      const { report, points } = await runQuery(client, item.query, item.tier, {
        server: info,
        limits: options.limits,
        ...(database === undefined ? {} : { database }),
        // Bounded by the deadline too: a slow query must not take the time the exports need.
        queryTimeoutMs: Math.max(
          1,
          Math.min(
            settingsOf(item.tier).statementTimeoutMs + 5_000,
            (request.deadlineMs ?? Number.POSITIVE_INFINITY) - now(),
          ),
        ),
      });
      if (report.status === 'error' && report.message === 'Query read timeout') abandonSession(client);
      const warnings = builders.get(item.tier)?.add(points) ?? [];
      reports.push(warnings.length === 0 ? report : { ...report, warnings });
    };

    // Cluster-wide queries run on the connection database, unless they need a relation (pg_stat_statements)
    // that is only installed elsewhere: those wait for a database that has it.
    const mainTier = { tier: firstTier };
    const deferred: Planned[] = [];
    for (const item of planned) {
      if (item.query.scope !== 'cluster') continue;
      const needs = item.query.requiresRelation;
      // A query with no SQL for this version is reported as not applicable, not as a missing relation.
      if (needs !== undefined && !server.relations.has(needs) && pickSql(item.query, server) !== undefined)
        deferred.push(item);
      else await run(main, server, item, undefined, mainTier);
    }

    const perDatabase = planned.filter((p) => p.query.scope === 'database');
    let databases: string[] = [];
    if (perDatabase.length > 0 || deferred.length > 0) {
      try {
        databases = await listDatabases(main, target.databases);
      } catch (error) {
        // The main session is gone (a query before was cut at the deadline, or the server went away): what
        // was collected so far is still reported, and the per-database queries say why they did not run.
        const message = `databases not listed: ${error instanceof Error ? error.message : String(error)}`;
        for (const item of [...perDatabase, ...deferred]) {
          reports.push(
            pastDeadline()
              ? notRun(item, 'skipped', 'deadline reached before the query started')
              : notRun(item, 'error', message),
          );
        }
        return finish(1, server, []);
      }
      const visit = async (database: string) => {
        const own = database === server.database;
        let client = main;
        let info = server;
        if (!own) {
          if (perDatabase.length === 0 && deferred.length === 0) return;
          try {
            client = await openSession(
              { ...target.connection, database },
              settingsOf(perDatabase[0]?.tier ?? firstTier),
            );
            info = await detectServer(client, relations);
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            for (const item of perDatabase) reports.push(notRun(item, 'error', message, database));
            await client.end().catch(() => undefined);
            return;
          }
        }
        try {
          const current = own ? mainTier : { tier: perDatabase[0]?.tier ?? firstTier };
          for (const item of perDatabase) await run(client, info, item, database, current);
          for (let i = deferred.length - 1; i >= 0; i--) {
            const item = deferred[i] as Planned;
            const needs = item.query.requiresRelation ?? '';
            if (!info.relations.has(needs)) continue;
            deferred.splice(i, 1);
            await run(client, info, item, database, current);
          }
        } finally {
          if (!own) await client.end().catch(() => undefined);
        }
      };
      // The connection database is visited on the main session, which is then closed: at most
      // maxConnections sessions are ever open at once, the main one included.
      if (databases.includes(server.database)) await visit(server.database);
      await main.end().catch(() => undefined);
      await mapLimit(
        databases.filter((d) => d !== server.database),
        Math.max(1, target.maxConnections),
        visit,
      );
    }
    for (const item of deferred) {
      const message = `${item.query.requiresRelation ?? ''} is not installed in any visited database`;
      reports.push(notRun(item, 'skipped', message));
    }
    return finish(1, server, databases);
  } finally {
    await main.end().catch(() => undefined);
  }
}
