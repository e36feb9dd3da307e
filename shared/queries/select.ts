import type { ServerInfo } from '../db/server-info.ts';
import { TIER_INTERVAL_SECONDS, type Tier } from '../model/metrics.ts';
import type { QueryDefinition, VersionedSql } from './types.ts';

/** The SQL variant for this server, or undefined when the query does not apply (version or role). */
export function pickSql(
  query: QueryDefinition,
  server: Pick<ServerInfo, 'major' | 'role'>,
): VersionedSql | undefined {
  return query.sql.find(
    (v) =>
      (v.minMajor === undefined || server.major >= v.minMajor) &&
      (v.maxMajor === undefined || server.major <= v.maxMajor) &&
      (v.role === undefined || v.role === server.role),
  );
}

/** The interval a query runs at: the config override, else its own, else its tier's. */
export function effectiveInterval(
  query: QueryDefinition,
  overrides: Readonly<Record<string, number>>,
): number {
  return Math.max(
    overrides[query.name] ?? query.intervalSeconds ?? TIER_INTERVAL_SECONDS[query.tier],
    TIER_INTERVAL_SECONDS[query.tier],
  );
}

/**
 * Whether a query is due in the tier run scheduled at `scheduledAtMs`. Stateless: a query with a 480 s
 * interval in the 240 s tier runs in the tier runs whose scheduled time starts a new 480 s slot, so a
 * retried or late invocation makes the same decision.
 */
export function isDue(
  query: QueryDefinition,
  tier: Tier,
  scheduledAtMs: number,
  overrides: Readonly<Record<string, number>>,
): boolean {
  if (query.tier !== tier) return false;
  const interval = effectiveInterval(query, overrides);
  const tierInterval = TIER_INTERVAL_SECONDS[tier];
  if (interval <= tierInterval) return true;
  const t = Math.floor(scheduledAtMs / 1000);
  return Math.floor(t / interval) !== Math.floor((t - tierInterval) / interval);
}
