import { collect } from '../collect/collect.ts';
import type { ConnectionSource, TargetPlan } from '../config/runtime.ts';
import { type ConnectionParams, openSession } from '../db/connection.ts';
import { detectServer, listDatabases, SUPPORTED_MAJORS } from '../db/server-info.ts';
import { TIERS } from '../model/metrics.ts';
import { type Check, catalogChecks, connectFailure, credentialsFailure, serverChecks } from './checks.ts';
import { readServerFacts } from './facts.ts';

/**
 * `pgotel doctor`: what a user would otherwise learn from missing graphs. Connects as the target's role, reads
 * its privileges and the server settings the catalog depends on, then runs the whole catalog once through the
 * collector engine itself (every tier, intervals ignored) and reports what was skipped and what failed — the
 * engine's own selection and errors, not a second opinion about them.
 */

/** The checks in print order; `connected` false when it never got as far as the server. */
export interface DoctorReport {
  readonly connected: boolean;
  readonly checks: readonly Check[];
}

/** Bound on the catalog run, as for `pgotel collect`. */
const CATALOG_DEADLINE_MS = 60_000;

/** Runs every check against one target. Never throws for database or secret trouble: that is a `fail` line. */
export async function runDoctor(plan: TargetPlan, connection: ConnectionSource): Promise<DoctorReport> {
  let params: ConnectionParams;
  try {
    params = await connection.get({ fresh: false });
  } catch (error) {
    return { connected: false, checks: [credentialsFailure(error)] };
  }
  const target = plan.target(params);
  let client: Awaited<ReturnType<typeof openSession>>;
  try {
    client = await openSession(params, target.tiers.critical);
  } catch (error) {
    return { connected: false, checks: [connectFailure(error, params)] };
  }
  let checks: Check[];
  let role: string;
  try {
    const timeoutMs = target.tiers.critical.statementTimeoutMs;
    const server = await detectServer(client, [], { timeoutMs });
    const facts = await readServerFacts(client);
    const databases = await listDatabases(client, target.databases, { timeoutMs });
    checks = serverChecks({ params, server, facts, databases, excluded: target.databases.exclude });
    if (server.major < SUPPORTED_MAJORS.min) return { connected: true, checks };
    role = facts.role;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      connected: true,
      checks: [connectFailure(new Error(`connected, then reading the server failed: ${message}`), params)],
    };
  } finally {
    // The catalog run opens its own sessions: this one is not kept open beside them.
    await client.end().catch(() => undefined);
  }
  const startedAt = Date.now();
  const result = await collect(
    target,
    {
      tiers: TIERS,
      scheduledAtMs: startedAt,
      ignoreIntervals: true,
      deadlineMs: startedAt + CATALOG_DEADLINE_MS,
    },
    { queries: plan.queries, limits: plan.limits, intervals: plan.intervals },
  );
  return { connected: true, checks: [...checks, ...catalogChecks(result, role)] };
}
