import { existsSync } from 'node:fs';
import { type CollectResult, type CollectTarget, collect } from '../shared/collect/collect.ts';
import { loadConfig } from '../shared/config/load.ts';
import type { PgotelConfig } from '../shared/config/schema.ts';
import { connectionTarget, findTarget, resolveLimits, resolveTarget } from '../shared/config/targets.ts';
import { parseDsn } from '../shared/db/connection.ts';
import { TIERS, type Tier } from '../shared/model/metrics.ts';
import { BUILTIN_QUERIES, DEFAULT_LIMITS } from '../shared/queries/catalog.ts';
import { buildQuerySet } from '../shared/queries/query-set.ts';
import type { QueryDefinition, QueryLimits } from '../shared/queries/types.ts';
import { startDemoDatabase } from './demo.ts';

/** Options of `pgotel collect`, as parsed from the command line. */
export interface CollectCommandOptions {
  readonly dsn?: string;
  readonly config?: string;
  readonly target?: string;
  readonly tier?: string;
  readonly format: 'table' | 'json' | 'prom';
}

/** A usage problem: printed as one line, exit code 1. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parses `--tier critical,standard` (or `all`). */
export function parseTiers(value: string | undefined): Tier[] {
  if (value === undefined || value === 'all') return [...TIERS];
  const tiers = value.split(',').map((t) => t.trim());
  for (const t of tiers) {
    if (!(TIERS as readonly string[]).includes(t))
      throw new UsageError(`--tier: unknown tier "${t}" (use ${TIERS.join(', ')} or all)`);
  }
  return tiers as Tier[];
}

interface Plan {
  readonly target: CollectTarget;
  readonly queries: readonly QueryDefinition[];
  readonly limits: QueryLimits;
  readonly intervals: Readonly<Record<string, number>>;
  readonly config?: PgotelConfig;
  readonly cleanup: () => Promise<void>;
}

/** Decides what to collect from: a config target, a DSN, or a freshly started demo database. */
export async function planCollection(
  options: CollectCommandOptions,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<Plan> {
  const noop = async () => undefined;
  if (options.target !== undefined || options.config !== undefined) {
    const path = options.config ?? 'pgotel.config.yaml';
    if (options.config === undefined && !existsSync(path))
      throw new UsageError('--target needs --config FILE (no pgotel.config.yaml here)');
    const config = await loadConfig(path);
    const targetConfig =
      options.target === undefined ? config.targets[0] : findTarget(config, options.target);
    if (targetConfig === undefined) throw new UsageError('the config has no targets');
    if (targetConfig.dsn === undefined) {
      throw new UsageError(
        `target "${targetConfig.name}" uses secret_arn; local collection needs a dsn (or pass --dsn); the Lambda collector reads secrets`,
      );
    }
    const connection = parseDsn(options.dsn ?? targetConfig.dsn);
    return {
      target: resolveTarget(config, targetConfig, connection),
      queries: buildQuerySet(config, BUILTIN_QUERIES),
      limits: resolveLimits(config.queries.limits),
      intervals: config.queries.intervals,
      config,
      cleanup: noop,
    };
  }
  const dsn = options.dsn ?? env.DATABASE_URL;
  if (dsn !== undefined && dsn !== '') {
    return {
      target: connectionTarget('local', parseDsn(dsn)),
      queries: BUILTIN_QUERIES,
      limits: DEFAULT_LIMITS,
      intervals: {},
      cleanup: noop,
    };
  }
  const demo = await startDemoDatabase(log);
  return {
    target: connectionTarget('embedded', parseDsn(demo.dsn), { environment: 'demo' }),
    queries: BUILTIN_QUERIES,
    limits: DEFAULT_LIMITS,
    intervals: {},
    cleanup: async () => {
      log('stopping embedded PostgreSQL');
      await demo.stop();
    },
  };
}

/** Runs one collection of the requested tiers, every query of them regardless of per-query intervals. */
export async function runCollect(
  plan: Plan,
  tiers: readonly Tier[],
  scheduledAtMs: number = Date.now(),
): Promise<CollectResult> {
  return collect(
    plan.target,
    { tiers, scheduledAtMs, ignoreIntervals: true },
    { queries: plan.queries, limits: plan.limits, intervals: plan.intervals },
  );
}
