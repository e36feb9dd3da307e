import { ConnectError, type ConnectionParams, openSession, type SessionSettings } from '../db/connection.ts';
import {
  type DatabaseSelection,
  detectServer,
  listDatabases,
  type ServerInfo,
  type SkippedDatabase,
} from '../db/server-info.ts';
import { type MetricBatch, type ResourceAttributes, TIERS, type Tier } from '../model/metrics.ts';
import { isDue, pickSql } from '../queries/select.ts';
import type { QueryDefinition, QueryLimits } from '../queries/types.ts';
import { FamilyBuilder } from './families.ts';
import {
  DEFAULT_MAX_ROWS_PER_QUERY,
  executeQuery,
  type QueryOutcome,
  type QueryReport,
} from './run-query.ts';
import { selfMetricPoints } from './self-metrics.ts';
import { describeFailure, Session } from './session.ts';
import { type SessionKeeper, sessionKey } from './session-keeper.ts';
import type { SizeMemory } from './size-memory.ts';

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
  /**
   * Seconds a session may wait, open, for the next run to reuse it, when the run has a `SessionKeeper`; 0 or
   * absent: every session is closed at the end of its run.
   */
  readonly keepSessionSeconds?: number;
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
  /**
   * Rows read at most from one query's result; the rest are never fetched, and the cut is a warning of the
   * query's report. A query bounded by a configured limit (`max_tables`, ...) is never cut below it.
   * @default DEFAULT_MAX_ROWS_PER_QUERY (10,000)
   */
  readonly maxRows?: number;
  /**
   * Relation sizes of earlier runs, for the queries that can reuse them (`rememberSizes`): given, a run measures
   * only the relations that changed, and every relation at the memory's full-pass interval. Keep one per process.
   */
  readonly sizes?: SizeMemory;
  /**
   * Sessions kept between runs (see `SessionKeeper`): given, and with the target's `keepSessionSeconds` above
   * 0, a run reuses the sessions of the target's previous run and leaves its own for the next. Keep one per
   * process.
   */
  readonly sessions?: SessionKeeper;
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
  /** The databases selected for per-database queries. */
  readonly databases: readonly string[];
  /**
   * Databases that were to be visited and were not, sorted, each with the reason: named in the target's
   * `databases:` but missing, closed, forbidden or a template, or their session could not be opened or
   * inspected. Their per-database queries are reported as errors too.
   */
  readonly skippedDatabases: readonly SkippedDatabase[];
  readonly durationMs: number;
  /** Series across all batches, self-metrics included. */
  readonly series: number;
  /** Sessions this run opened, and kept sessions of an earlier run it reused. */
  readonly sessions: { readonly opened: number; readonly reused: number };
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

/** Slack over `statement_timeout` before the client gives up on a round trip: the server's own cut comes first. */
const CLIENT_TIMEOUT_SLACK_MS = 5_000;

/**
 * Collects the due queries of the requested tiers from one target. Never throws: an unreachable server
 * yields `up = 0`; a failing query, a database that cannot be visited, or a connection lost (or silent)
 * at any step yields error reports for what did not run, and what was collected is kept.
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
  /**
   * The rows of queries that ran, waiting to become points: converted while the server runs the next statement,
   * or before anything else is reported, so reports keep their order and the client's work overlaps the server's.
   * A list: databases are visited concurrently.
   */
  const unconverted: (() => void)[] = [];
  const convertPending = () => {
    for (const convert of unconverted.splice(0)) convert();
  };
  const addReport = (report: QueryReport) => {
    convertPending();
    reports.push(report);
  };
  const skippedDatabases: SkippedDatabase[] = [];
  const outputTiers = tiers.length > 0 ? tiers : [firstTier];
  const builders = new Map<Tier, FamilyBuilder>(outputTiers.map((t) => [t, new FamilyBuilder()]));
  const pastDeadline = () => request.deadlineMs !== undefined && now() >= request.deadlineMs;
  // Every round trip is bounded, by the deadline too: a silent server must not take the time the exports need.
  const roundTripMs = (tier: Tier) =>
    Math.max(
      1,
      Math.min(
        settingsOf(tier).statementTimeoutMs + CLIENT_TIMEOUT_SLACK_MS,
        (request.deadlineMs ?? Number.POSITIVE_INFINITY) - now(),
      ),
    );

  const keeper = options.sessions;
  const keepSeconds = target.keepSessionSeconds ?? 0;
  /** Sessions that go back to the keeper after the run, with their key. */
  const keys = new Map<Session, string>();
  const released = new WeakSet<Session>();
  let sessionsOpened = 0;
  let sessionsReused = 0;

  /**
   * A session in `params.database` with the settings of `tier`: the one kept from an earlier run if it still
   * answers within the connect timeout (else it is dropped, silently), or a new one.
   * @throws ConnectError when a new session cannot be opened
   */
  const acquire = async (params: ConnectionParams, tier: Tier): Promise<Session> => {
    const key = keeper === undefined || keepSeconds <= 0 ? undefined : sessionKey(target.name, params);
    const kept = key === undefined ? undefined : keeper?.take(key);
    if (kept !== undefined && keeper !== undefined && key !== undefined) {
      const probeMs = Math.min(params.connectTimeoutMs ?? 5000, roundTripMs(tier));
      await kept.applySettings(tier, settingsOf(tier), probeMs);
      if (kept.lost === undefined) {
        sessionsReused += 1;
        keys.set(kept, key);
        return kept;
      }
      await keeper.discard(kept);
    }
    const session = new Session(await openSession(params, settingsOf(tier)));
    sessionsOpened += 1;
    if (key !== undefined) keys.set(session, key);
    return session;
  };

  /** Ends a session's part in this run: kept for the next run, or closed. Once per session; never throws. */
  const release = async (session: Session, major: number | undefined): Promise<void> => {
    if (released.has(session)) return;
    released.add(session);
    const key = keys.get(session);
    if (keeper === undefined || key === undefined) return session.close();
    const timeoutMs = Math.min(target.connection.connectTimeoutMs ?? 5000, CLIENT_TIMEOUT_SLACK_MS);
    await keeper.keep(key, session, { keepSeconds, major, timeoutMs, maxConnections: target.maxConnections });
  };

  const finish = (
    up: 0 | 1,
    server: ServerInfo | undefined,
    databases: string[],
    error?: string,
    errorCode?: string,
  ): CollectResult => {
    convertPending();
    const resource = resourceOf(target, server);
    const built = outputTiers.map((tier) => ({
      tier,
      families: (builders.get(tier) ?? new FamilyBuilder()).build(),
    }));
    const builtSeries = (self: boolean) =>
      built.reduce(
        (n, b) =>
          n +
          b.families.reduce((m, f) => m + (f.name.startsWith('pgotel.') === self ? f.points.length : 0), 0),
        0,
      );
    // Queries may report on themselves (`pgotel.tables.excluded`, ...): those are self-metrics too.
    const dataSeries = builtSeries(false);
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
      skippedDatabases: [...skippedDatabases].sort((a, b) =>
        a.database < b.database ? -1 : a.database > b.database ? 1 : 0,
      ),
      durationMs,
      series: dataSeries + builtSeries(true) + selfSeries,
      sessions: { opened: sessionsOpened, reused: sessionsReused },
    };
  };

  if (request.preflightError !== undefined) return finish(0, undefined, [], request.preflightError);
  let main: Session;
  try {
    main = await acquire(target.connection, firstTier);
  } catch (error) {
    const code = error instanceof ConnectError ? error.code : undefined;
    return finish(0, undefined, [], error instanceof Error ? error.message : String(error), code);
  }
  const relations = [
    ...new Set(
      planned.flatMap((p) => (p.query.requiresRelation === undefined ? [] : [p.query.requiresRelation])),
    ),
  ];

  /** Runs one planned query on a session, or reports why it cannot run there. */
  const run = async (
    session: Session,
    info: ServerInfo,
    item: Planned,
    database: string | undefined,
    current: { tier: Tier },
  ) => {
    if (pastDeadline()) {
      addReport(notRun(item, 'skipped', 'deadline reached before the query started', database));
      return;
    }
    if (current.tier !== item.tier && session.lost === undefined) {
      await session.applySettings(item.tier, settingsOf(item.tier), roundTripMs(current.tier));
      current.tier = item.tier;
    }
    if (session.lost !== undefined) {
      addReport(notRun(item, 'error', `not run: ${session.lost}`, database));
      return;
    }
    const executing = executeQuery(session.client, item.query, item.tier, {
      server: info,
      limits: options.limits,
      ...(database === undefined ? {} : { database }),
      queryTimeoutMs: roundTripMs(item.tier),
      maxRows: options.maxRows ?? DEFAULT_MAX_ROWS_PER_QUERY,
      // A session that will be kept parses each query once and keeps the plans of those without parameters.
      ...(keys.has(session) ? { prepared: session.prepared } : {}),
      // A replica's statistics do not count what WAL replay writes: its sizes are measured every run.
      ...(options.sizes !== undefined &&
      item.query.rememberSizes === true &&
      database !== undefined &&
      info.role === 'primary'
        ? { sizes: options.sizes.scope(target.name, database, item.query.name) }
        : {}),
    });
    // The statement is on its way: the previous query's rows become points while the server runs it.
    convertPending();
    const executed = await executing;
    const settle = ({ report, points }: QueryOutcome) => {
      if (report.status === 'error') session.noteFailure(report.message ?? '', report.sqlstate);
      const warnings = [...(report.warnings ?? []), ...(builders.get(item.tier)?.add(points) ?? [])];
      reports.push(warnings.length === 0 ? report : { ...report, warnings });
    };
    if ('done' in executed) settle(executed.done);
    else unconverted.push(() => settle(executed.convert()));
  };

  /** Opens and inspects a session in another database, or reports the database as not visited. */
  const openIn = async (
    database: string,
    items: readonly Planned[],
    tier: Tier,
  ): Promise<{ session: Session; info: ServerInfo } | undefined> => {
    const fail = (reason: string) => {
      skippedDatabases.push({ database, reason });
      for (const item of items) addReport(notRun(item, 'error', reason, database));
      return undefined;
    };
    let session: Session;
    try {
      session = await acquire({ ...target.connection, database }, tier);
    } catch (error) {
      return fail(error instanceof Error ? error.message : String(error));
    }
    const timeoutMs = roundTripMs(tier);
    try {
      return { session, info: await detectServer(session.client, relations, { timeoutMs }) };
    } catch (error) {
      const reason = `server detection failed: ${describeFailure(error, timeoutMs)}`;
      session.abandon(reason);
      await release(session, undefined);
      return fail(reason);
    }
  };

  /** Everything after the server is known; returns the databases selected for per-database queries. */
  const collectFrom = async (server: ServerInfo): Promise<string[]> => {
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
    if (perDatabase.length === 0 && deferred.length === 0) return [];
    // What was collected so far is kept; the per-database queries say why they did not run.
    const notListed = (message: string) => {
      for (const item of [...perDatabase, ...deferred]) {
        addReport(
          pastDeadline()
            ? notRun(item, 'skipped', 'deadline reached before the query started')
            : notRun(item, 'error', `databases not listed: ${message}`),
        );
      }
      return [];
    };
    if (main.lost !== undefined) return notListed(main.lost);
    const timeoutMs = roundTripMs(mainTier.tier);
    let selection: DatabaseSelection;
    try {
      selection = await listDatabases(main.client, target.databases, { timeoutMs });
    } catch (error) {
      const message = describeFailure(error, timeoutMs);
      main.abandon(`databases not listed: ${message}`);
      return notListed(message);
    }
    for (const { database, reason } of selection.skipped) {
      skippedDatabases.push({ database, reason });
      for (const item of perDatabase) addReport(notRun(item, 'error', `not visited: ${reason}`, database));
    }

    const visit = async (database: string) => {
      const own = database === server.database;
      const tier = perDatabase[0]?.tier ?? firstTier;
      if (!own && pastDeadline()) {
        for (const item of perDatabase)
          addReport(notRun(item, 'skipped', 'deadline reached before the query started', database));
        return;
      }
      const opened = own ? { session: main, info: server } : await openIn(database, perDatabase, tier);
      if (opened === undefined) return;
      const { session, info } = opened;
      try {
        const current = own ? mainTier : { tier };
        for (const item of perDatabase) await run(session, info, item, database, current);
        for (let i = deferred.length - 1; i >= 0; i--) {
          const item = deferred[i] as Planned;
          const needs = item.query.requiresRelation ?? '';
          if (!info.relations.has(needs)) continue;
          deferred.splice(i, 1);
          await run(session, info, item, database, current);
        }
      } finally {
        if (!own) await release(session, info.major);
      }
    };
    const databases = [...selection.visit];
    // The connection database is visited on the main session, which is then closed: at most
    // maxConnections sessions are ever open at once, the main one included.
    if (databases.includes(server.database)) await visit(server.database);
    await release(main, server.major);
    await mapLimit(
      databases.filter((d) => d !== server.database),
      Math.max(1, target.maxConnections),
      visit,
    );
    const unvisited = skippedDatabases.map((s) => s.database).sort();
    for (const item of deferred) {
      const where = unvisited.length === 0 ? '' : ` (not visited: ${unvisited.join(', ')})`;
      const message = `${item.query.requiresRelation ?? ''} is not installed in any visited database${where}`;
      addReport(notRun(item, 'skipped', message));
    }
    return databases;
  };

  let server: ServerInfo | undefined;
  try {
    const timeoutMs = roundTripMs(firstTier);
    try {
      server = await detectServer(main.client, relations, { timeoutMs });
    } catch (error) {
      const reason = describeFailure(error, timeoutMs);
      main.abandon(`server detection failed: ${reason}`);
      return finish(
        0,
        undefined,
        [],
        `connected to ${target.connection.host}:${target.connection.port} but server detection failed: ${reason}`,
      );
    }
    return finish(1, server, await collectFrom(server));
  } catch (error) {
    // Not database trouble, which is reported where it happens, but a defect: what was collected is still
    // returned, and every query without a report says the run stopped.
    const message = `collection stopped: ${error instanceof Error ? error.message : String(error)}`;
    convertPending();
    const reported = new Set(reports.map((r) => r.query));
    for (const item of planned) {
      if (!reported.has(item.query.name)) addReport(notRun(item, 'error', `not run: ${message}`));
    }
    return server === undefined ? finish(0, undefined, [], message) : finish(1, server, []);
  } finally {
    await release(main, server?.major);
  }
}
