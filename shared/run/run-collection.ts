import { type CollectResult, collect } from '../collect/collect.ts';
import type { SessionKeeper } from '../collect/session-keeper.ts';
import type { SizeMemory } from '../collect/size-memory.ts';
import type { ConnectionSource, TargetPlan } from '../config/runtime.ts';
import type { ConnectionParams } from '../db/connection.ts';
import { type ExportDestinations, type ExportSummary, exportRun } from '../export/export-run.ts';
import { prometheusMetricName } from '../export/prom-names.ts';
import { sortedAttributePairs } from '../model/attribute-pairs.ts';
import type { MetricBatch, MetricFamily, Tier } from '../model/metrics.ts';
import type { CardinalityStore, SeriesByTier, SeriesStateStore } from '../state/ports.ts';

/**
 * One run of one target, the same for `pgotel collect` and the Lambda: credentials → collect → cardinality
 * window → export (remote-write and archive at once, stale markers from the previous run's series) → series
 * state for the next run. Never throws for database, AWS or receiver trouble: everything is in the summary.
 */

/** What to collect, and by when. */
export interface RunRequest {
  readonly tiers: readonly Tier[];
  /** The slot this run belongs to (the request's `scheduledAt`): fixes the archive keys and due intervals. */
  readonly scheduledAtMs: number;
  /** Absolute epoch ms by which everything, exports included, must be done. */
  readonly deadlineMs: number;
  /** Run every query of the tiers, ignoring per-query intervals (local and ad-hoc runs). */
  readonly ignoreIntervals?: boolean;
}

/** The run's ports; the shell (CLI or Lambda handler) builds them once and passes them in. */
export interface RunPorts {
  readonly connection: ConnectionSource;
  readonly destinations: ExportDestinations;
  /** Previous run's series per tier, for stale markers. Absent: no stale markers (a one-off local run). */
  readonly seriesState?: SeriesStateStore;
  /** Per-metric cardinality windows; used when the plan has a `cardinality` policy. */
  readonly cardinality?: CardinalityStore;
  /**
   * Relation sizes remembered from earlier runs of this process (a warm Lambda container): a run measures again only
   * the relations that changed, and every one at the memory's full-pass interval. Absent: every size is measured.
   */
  readonly sizes?: SizeMemory;
  /**
   * Sessions kept between runs of this process (a warm Lambda container), for targets whose
   * `keep_session_seconds` is above 0. Absent: every session is closed when its run ends.
   */
  readonly sessions?: SessionKeeper;
  /** @default Date.now */
  readonly now?: () => number;
}

/** One failed query, as the summary reports it. */
export interface QueryError {
  readonly query: string;
  readonly database?: string;
  readonly message: string;
}

/** The outcome of one run in a few fields; logged as one JSON line by the Lambda. Never holds a secret. */
export interface RunSummary {
  readonly target: string;
  readonly tiers: readonly Tier[];
  readonly scheduledAt: string;
  readonly up: 0 | 1;
  /** Why the target is down (up = 0). */
  readonly error?: string;
  /** Series collected, self-metrics included, before the cardinality window. */
  readonly series: number;
  readonly samplesSent: number;
  /** Series refused by the cardinality window, in total and per metric. */
  readonly droppedByCardinality: number;
  readonly droppedByMetric: Readonly<Record<string, number>>;
  readonly staleMarkers: number;
  readonly archiveKeys: readonly string[];
  readonly queryErrors: readonly QueryError[];
  /** Queries not started because the deadline came first. */
  readonly queriesSkippedAtDeadline: number;
  /** `ok` when remote-write accepted everything; absent without a remote-write destination. */
  readonly remoteWrite?: {
    readonly ok: boolean;
    readonly requests: number;
    readonly status?: number;
    readonly errors: readonly string[];
  };
  readonly archive?: { readonly ok: boolean; readonly errors: readonly string[] };
  /** Problems with the series state or the cardinality store; the run went on without them. */
  readonly stateErrors: readonly string[];
  /** Sessions the run opened, and sessions kept from an earlier run that it reused. */
  readonly sessions: { readonly opened: number; readonly reused: number };
  readonly durationMs: number;
}

/** The summary plus the full collection and export results (the CLI prints them). */
export interface RunOutcome {
  readonly summary: RunSummary;
  readonly result: CollectResult;
  readonly exported?: ExportSummary;
}

/** Metric of the cardinality self-metric. */
export const CARDINALITY_DROPPED = 'pgotel.cardinality.dropped';

/** Self-metrics are bounded by the catalog and never pass through the cardinality window. */
function isSelfMetric(name: string): boolean {
  return name === 'up' || name.startsWith('pgotel.');
}

/** SQLSTATEs after which the credentials are read again (bypassing the cache) before giving up. */
const REFRESH_ON: ReadonlySet<string> = new Set(['28P01', '28000']);

/** Never used to connect: the engine reports `up = 0` with the preflight error instead. */
const UNRESOLVED: ConnectionParams = {
  host: 'unresolved',
  port: 0,
  user: '',
  password: '',
  database: '',
  tls: { mode: 'disable' },
};

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Identity of a point within its family: its attributes, in a canonical order, as a JSON array. The cardinality
 * windows store a hash of it, so its form is fixed: a different one would make every stored series look new.
 */
function pointIdentity(attributes: Readonly<Record<string, string>>): string {
  return JSON.stringify(sortedAttributePairs(attributes));
}

interface Admitted {
  readonly batches: CollectResult['batches'];
  readonly dropped: Map<string, number>;
  readonly error?: string;
}

/** Runs every non-self series through the cardinality windows and removes the refused ones. */
async function admit(
  batches: CollectResult['batches'],
  plan: TargetPlan,
  store: CardinalityStore | undefined,
  nowMs: number,
): Promise<Admitted> {
  const policy = plan.cardinality;
  if (store === undefined || policy === undefined) return { batches, dropped: new Map() };
  const candidates = new Map<string, string[]>();
  for (const { batch } of batches) {
    for (const family of batch.families) {
      if (isSelfMetric(family.name)) continue;
      const ids = candidates.get(family.name) ?? [];
      for (const point of family.points) ids.push(pointIdentity(point.attributes));
      candidates.set(family.name, ids);
    }
  }
  let refused: ReadonlyMap<string, ReadonlySet<string>>;
  try {
    refused = await store.admit(plan.name, candidates, policy, nowMs);
  } catch (error) {
    // Fail open: a store outage must not drop the data a user configured.
    return { batches, dropped: new Map(), error: `cardinality store: ${messageOf(error)}` };
  }
  const dropped = new Map<string, number>();
  if (refused.size === 0) return { batches, dropped };
  const filtered = batches.map(({ tier, batch }) => {
    const families = batch.families.map((family): MetricFamily => {
      const out = refused.get(family.name);
      if (out === undefined || out.size === 0) return family;
      const points = family.points.filter((p) => !out.has(pointIdentity(p.attributes)));
      dropped.set(family.name, (dropped.get(family.name) ?? 0) + family.points.length - points.length);
      return { ...family, points };
    });
    return { tier, batch: { ...batch, families } };
  });
  return { batches: filtered, dropped };
}

/** Adds `pgotel.cardinality.dropped{metric}` to the first batch (where the other self-metrics are). */
function withDroppedMetric(
  batches: CollectResult['batches'],
  dropped: ReadonlyMap<string, number>,
): CollectResult['batches'] {
  const first = batches[0];
  if (dropped.size === 0 || first === undefined) return batches;
  const family: MetricFamily = {
    name: CARDINALITY_DROPPED,
    unit: '{series}',
    description: 'Series refused by the per-metric cardinality window in this run',
    kind: 'gauge',
    points: [...dropped].map(([metric, n]) => ({ attributes: { metric }, value: n })),
  };
  const batch: MetricBatch = { ...first.batch, families: [...first.batch.families, family] };
  return [{ tier: first.tier, batch }, ...batches.slice(1)];
}

/**
 * Prometheus names whose series this run really measured: metrics of queries that ran, plus `up` and the run's
 * own counters. A previous series of any other metric is carried, not marked stale (its query was not due, or
 * failed this time); per-query self-metrics are carried too, since they only exist in runs of their tier.
 */
function collectedNames(plan: TargetPlan, result: CollectResult): (name: string) => boolean {
  const ran = new Set(result.queries.filter((q) => q.status === 'ok').map((q) => q.query));
  const names = new Set<string>(['up']);
  for (const query of plan.queries) {
    if (!ran.has(query.name)) continue;
    for (const metric of query.metrics) {
      try {
        names.add(prometheusMetricName(metric));
      } catch {
        // a name with no valid Prometheus form produces no series either
      }
    }
  }
  return (name) => names.has(name) || name.startsWith('pgotel_collection_');
}

/** Runs one collection of `plan`'s target and exports it; see the module comment. */
export async function runCollection(
  plan: TargetPlan,
  request: RunRequest,
  ports: RunPorts,
): Promise<RunOutcome> {
  const now = ports.now ?? Date.now;
  const started = now();
  const stateErrors: string[] = [];
  // Exports need time after the queries: keep a quarter of what is left (1 to 10 s) for them.
  const reserve = Math.min(10_000, Math.max(1_000, (request.deadlineMs - started) / 4));
  const collectDeadlineMs = request.deadlineMs - reserve;

  // The previous series are read while the queries run.
  const previous: Promise<SeriesByTier> =
    ports.seriesState === undefined
      ? Promise.resolve({})
      : ports.seriesState.load(plan.name, request.tiers).catch((error: unknown) => {
          stateErrors.push(`series state load: ${messageOf(error)}`);
          return {};
        });

  const collectOnce = async (fresh: boolean): Promise<CollectResult> => {
    const base = {
      tiers: request.tiers,
      scheduledAtMs: request.scheduledAtMs,
      deadlineMs: collectDeadlineMs,
      ...(request.ignoreIntervals === true ? { ignoreIntervals: true } : {}),
    };
    const options = {
      queries: plan.queries,
      limits: plan.limits,
      intervals: plan.intervals,
      now,
      ...(ports.sizes === undefined ? {} : { sizes: ports.sizes }),
      ...(ports.sessions === undefined ? {} : { sessions: ports.sessions }),
    };
    let connection: ConnectionParams;
    try {
      connection = await ports.connection.get({ fresh });
    } catch (error) {
      const message = `credentials for target ${plan.name}: ${messageOf(error)}`;
      return collect(plan.target(UNRESOLVED), { ...base, preflightError: message }, options);
    }
    try {
      return await collect(plan.target(connection), base, options);
    } catch (error) {
      // The engine reports database trouble itself; anything else still ends in up = 0, never a crash.
      const message = `collection failed: ${messageOf(error)}`;
      return collect(plan.target(connection), { ...base, preflightError: message }, options);
    }
  };

  let result = await collectOnce(false);
  // A rotated password or client certificate: read the secret again, once, and retry at once (no redeploy, no
  // waiting for the cache). 28P01 is a wrong password, 28000 a refused certificate or pg_hba entry.
  if (result.up === 0 && REFRESH_ON.has(result.errorCode ?? '') && ports.connection.refreshable) {
    result = await collectOnce(true);
  }

  const admitted = await admit(result.batches, plan, ports.cardinality, now());
  if (admitted.error !== undefined) stateErrors.push(admitted.error);
  const batches = withDroppedMetric(admitted.batches, admitted.dropped);

  const previousSeries = await previous;
  const exporting = ports.destinations.remoteWrite !== undefined || ports.destinations.archive !== undefined;
  const exported = exporting
    ? await exportRun(
        {
          batches,
          cluster: result.batches[0]?.batch.resource['db.cluster'] ?? plan.name,
          target: plan.name,
          scheduledAtMs: request.scheduledAtMs,
          deadlineMs: request.deadlineMs,
          previousSeries,
          collected: collectedNames(plan, result),
        },
        ports.destinations,
      )
    : undefined;

  if (exported !== undefined && ports.seriesState !== undefined) {
    const ran = new Set(batches.map((b) => b.tier));
    const next: SeriesByTier = {};
    for (const tier of ran) next[tier] = exported.series[tier];
    await ports.seriesState.save(plan.name, next).catch((error: unknown) => {
      stateErrors.push(`series state save: ${messageOf(error)}`);
    });
  }

  return {
    summary: summarize(plan, request, result, admitted.dropped, exported, stateErrors, now() - started),
    result,
    ...(exported === undefined ? {} : { exported }),
  };
}

function summarize(
  plan: TargetPlan,
  request: RunRequest,
  result: CollectResult,
  dropped: ReadonlyMap<string, number>,
  exported: ExportSummary | undefined,
  stateErrors: readonly string[],
  durationMs: number,
): RunSummary {
  const rw = exported?.remoteWrite;
  const archive = exported?.archive;
  let droppedTotal = 0;
  for (const n of dropped.values()) droppedTotal += n;
  return {
    target: plan.name,
    tiers: result.batches.map((b) => b.tier),
    scheduledAt: new Date(request.scheduledAtMs).toISOString(),
    up: result.up,
    ...(result.error === undefined ? {} : { error: result.error }),
    series: result.series,
    samplesSent: rw?.samplesSent ?? 0,
    droppedByCardinality: droppedTotal,
    droppedByMetric: Object.fromEntries(dropped),
    staleMarkers: rw?.staleMarkers ?? 0,
    archiveKeys: archive?.objects.map((o) => o.key) ?? [],
    queryErrors: result.queries
      .filter((q) => q.status === 'error')
      .map((q) => ({
        query: q.query,
        ...(q.database === undefined ? {} : { database: q.database }),
        message: q.message ?? 'failed',
      })),
    queriesSkippedAtDeadline: result.queries.filter(
      (q) => q.status === 'skipped' && q.message?.startsWith('deadline') === true,
    ).length,
    ...(rw === undefined
      ? {}
      : {
          remoteWrite: {
            ok: rw.ok,
            requests: rw.requests,
            ...(rw.lastStatus === undefined ? {} : { status: rw.lastStatus }),
            errors: rw.errors,
          },
        }),
    ...(archive === undefined ? {} : { archive: { ok: archive.ok, errors: archive.errors } }),
    stateErrors,
    sessions: result.sessions,
    durationMs: Math.round(durationMs),
  };
}
