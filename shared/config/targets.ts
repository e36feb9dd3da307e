import type { CollectTarget, TierSettings } from '../collect/collect.ts';
import type { ConnectionParams } from '../db/connection.ts';
import { TIERS, type Tier } from '../model/metrics.ts';
import type { QueryLimits } from '../queries/types.ts';
import type { LimitsConfig, PgotelConfig, TargetConfig } from './schema.ts';

/** Builds the engine's target from its config entry and the already-resolved connection (DSN or secret). */
export function resolveTarget(
  config: PgotelConfig,
  target: TargetConfig,
  connection: ConnectionParams,
): CollectTarget {
  const tiers = {} as Record<Tier, TierSettings>;
  for (const tier of TIERS) {
    const settings = target.tiers[tier];
    tiers[tier] = {
      enabled: settings.enabled,
      statementTimeoutMs: settings.statement_timeout_ms,
      lockTimeoutMs: settings.lock_timeout_ms,
    };
  }
  return {
    name: target.name,
    cluster: target.cluster ?? target.name,
    environment: target.environment ?? config.environment,
    serviceName: config.service_name,
    labels: target.labels,
    connection: {
      ...connection,
      tls: target.tls ?? connection.tls,
      connectTimeoutMs: target.connect_timeout_ms,
    },
    databases: { include: target.databases, exclude: target.exclude_databases },
    maxConnections: target.max_connections,
    keepSessionSeconds: target.keep_session_seconds,
    tiers,
  };
}

/** The engine's limits from the config's snake_case `queries.limits`. */
export function resolveLimits(limits: LimitsConfig): QueryLimits {
  return {
    maxTables: limits.max_tables,
    maxIndexes: limits.max_indexes,
    minRelationSizeBytes: limits.min_relation_size_bytes,
    excludeSchemas: limits.exclude_schemas,
    includeSchemas: limits.include_schemas,
    maxStatements: limits.max_statements,
    longRunningSeconds: limits.long_running_seconds,
  };
}

/** Finds a target by name; the error lists the names that exist. */
export function findTarget(config: PgotelConfig, name: string): TargetConfig {
  const found = config.targets.find((t) => t.name === name);
  if (found === undefined) {
    throw new Error(
      `no target named "${name}" in the config; targets are: ${config.targets.map((t) => t.name).join(', ')}`,
    );
  }
  return found;
}
