import type { CollectTarget, TierSettings } from '../collect/collect.ts';
import type { ConnectionParams } from '../db/connection.ts';
import type { Tier } from '../model/metrics.ts';
import { tiersSchema } from './schema.ts';

/** The schema's tier defaults in the engine's shape. */
const DEFAULT_TIERS: Readonly<Record<Tier, TierSettings>> = (() => {
  const parsed = tiersSchema.parse({});
  const out = {} as Record<Tier, TierSettings>;
  for (const tier of ['critical', 'standard', 'historical'] as const) {
    const t = parsed[tier];
    out[tier] = {
      enabled: t.enabled,
      statementTimeoutMs: t.statement_timeout_ms,
      lockTimeoutMs: t.lock_timeout_ms,
    };
  }
  return out;
})();

/**
 * A target for one connection with every default (cluster = name, environment `local`, every database,
 * default tier timeouts): what `pgotel collect --dsn` collects from. `overrides` replace any field.
 */
export function connectionTarget(
  name: string,
  connection: ConnectionParams,
  overrides: Partial<CollectTarget> = {},
): CollectTarget {
  return {
    name,
    cluster: name,
    environment: 'local',
    serviceName: 'postgresql',
    labels: {},
    connection,
    databases: { include: [], exclude: [] },
    maxConnections: 2,
    tiers: DEFAULT_TIERS,
    ...overrides,
  };
}
