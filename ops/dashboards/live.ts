import { type CollectResult, type CollectTarget, collect } from '../../shared/collect/collect.ts';
import { connectionTarget } from '../../shared/config/local-target.ts';
import { parseDsn } from '../../shared/db/connection.ts';
import { type ExportSummary, exportRun } from '../../shared/export/export-run.ts';
import { TIERS } from '../../shared/model/metrics.ts';
import { BUILTIN_QUERIES, DEFAULT_LIMITS } from '../../shared/queries/catalog.ts';
import { type PgInstance, startPostgres, startReplica } from '../../test/helpers/postgres.ts';
import { type PromInstance, startPrometheus } from '../../test/helpers/prometheus.ts';
import { prepareShop } from './workload.ts';

/**
 * The real components behind the dashboard test and the pictures: an embedded PostgreSQL primary with a
 * streaming replica, the shop workload, a throwaway Prometheus, and pgotel's own collect → remote-write
 * path for both servers as two targets of one cluster.
 */

export const CLUSTER = 'orders';
export const PRIMARY = 'orders-primary';
export const REPLICA = 'orders-replica';

/**
 * Statements and open transactions count as long-running after 1 s instead of the default 60 s, so
 * the long-running panel has data without a minute of waiting.
 */
const LIMITS = { ...DEFAULT_LIMITS, longRunningSeconds: 1 };

export interface Live {
  readonly primary: PgInstance;
  readonly replica: PgInstance;
  readonly prom: PromInstance;
  /**
   * Collects every tier from both targets (every query, whatever its interval) and remote-writes it,
   * with stale markers for series gone since the previous call. Returns the collection time (epoch ms).
   * @throws {Error} when a target is down, a query fails or Prometheus refuses a sample.
   */
  collect(): Promise<number>;
  /** Stops and removes everything. */
  close(): Promise<void>;
}

function problemsOf(result: CollectResult, exported: ExportSummary): string[] {
  const problems = result.queries
    .filter((q) => q.status === 'error')
    .map((q) => `${result.target}: query ${q.query} failed in ${q.database ?? '-'}: ${q.message ?? ''}`);
  if (result.up !== 1) problems.push(`${result.target} is down: ${result.error ?? ''}`);
  const rw = exported.remoteWrite;
  if (rw === undefined || !rw.ok || rw.samplesRejected > 0) {
    problems.push(`${result.target}: remote-write failed: ${JSON.stringify(rw?.errors ?? 'not sent')}`);
  }
  return problems;
}

/** Starts PostgreSQL `major` (default 18) with a replica, prepares the shop workload, starts Prometheus. */
export async function startLive(options: { readonly major?: number } = {}): Promise<Live> {
  // max_slot_wal_keep_size makes PostgreSQL report each slot's safe_wal_size.
  const settings = { max_slot_wal_keep_size: '1GB' };
  const [primary, prom] = await Promise.all([
    startPostgres(options.major === undefined ? { settings } : { major: options.major, settings }),
    startPrometheus(),
  ]);
  let replica: PgInstance;
  try {
    replica = await startReplica(primary, { applicationName: REPLICA });
  } catch (error) {
    await Promise.all([primary.destroy(), prom.destroy()]);
    throw error;
  }
  try {
    await prepareShop(primary);
  } catch (error) {
    await Promise.all([primary.destroy(), replica.destroy(), prom.destroy()]);
    throw error;
  }
  const targetOf = (name: string, server: PgInstance): CollectTarget =>
    connectionTarget(name, parseDsn(server.dsn()), { cluster: CLUSTER, environment: 'test' });
  const targets = [targetOf(PRIMARY, primary), targetOf(REPLICA, replica)];
  const previous = new Map<string, ExportSummary>();
  return {
    primary,
    replica,
    prom,
    async collect() {
      const scheduledAtMs = Date.now();
      const problems: string[] = [];
      await Promise.all(
        targets.map(async (target) => {
          const result = await collect(
            target,
            { tiers: TIERS, scheduledAtMs, ignoreIntervals: true },
            { queries: BUILTIN_QUERIES, limits: LIMITS },
          );
          const before = previous.get(target.name);
          const exported = await exportRun(
            {
              batches: result.batches,
              cluster: CLUSTER,
              target: target.name,
              scheduledAtMs,
              deadlineMs: Date.now() + 30_000,
              ...(before === undefined ? {} : { previousSeries: before.series }),
            },
            { remoteWrite: { url: prom.writeUrl } },
          );
          previous.set(target.name, exported);
          problems.push(...problemsOf(result, exported));
        }),
      );
      if (problems.length > 0) throw new Error(problems.join('\n'));
      return scheduledAtMs;
    },
    async close() {
      await Promise.all([replica.destroy(), primary.destroy(), prom.destroy()]);
    },
  };
}
