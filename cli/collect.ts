import { existsSync } from 'node:fs';
import { ConfigError, loadConfig, parseConfig } from '../shared/config/load.ts';
import {
  type ConnectionSource,
  connectionSource,
  planTarget,
  type TargetPlan,
} from '../shared/config/runtime.ts';
import type { PgotelConfig } from '../shared/config/schema.ts';
import { TIERS, type Tier } from '../shared/model/metrics.ts';
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

/** What one `pgotel collect` collects from, and how to clean up after it. */
export interface LocalPlan {
  readonly config: PgotelConfig;
  readonly plan: TargetPlan;
  readonly connection: ConnectionSource;
  readonly cleanup: () => Promise<void>;
}

/** A config for one DSN with every default: what `--dsn`, `DATABASE_URL` and the demo database collect. */
function dsnConfig(name: string, environment: string, dsn: string): PgotelConfig {
  return parseConfig({ environment, targets: [{ name, dsn }] }, '--dsn');
}

/**
 * Decides what to collect from: a config target, a DSN, or a freshly started demo database. All three go
 * through the config schema, so every default comes from one place.
 */
export async function planCollection(
  options: CollectCommandOptions,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<LocalPlan> {
  const noop = async () => undefined;
  if (options.target !== undefined || options.config !== undefined) {
    const path = options.config ?? 'pgotel.config.yaml';
    if (options.config === undefined && !existsSync(path))
      throw new UsageError('--target needs --config FILE (no pgotel.config.yaml here)');
    const config = await loadConfig(path);
    try {
      const plan = planTarget(config, options.target);
      const connection = connectionSource(
        plan.config,
        options.dsn === undefined ? {} : { dsnOverride: options.dsn },
      );
      return { config, plan, connection, cleanup: noop };
    } catch (error) {
      // Problems found after loading are still the file's: name it, not "config".
      if (error instanceof ConfigError) throw error.withSource(path);
      if (error instanceof Error && error.name === 'Error') throw new UsageError(error.message);
      throw error;
    }
  }
  const dsn = options.dsn ?? env.DATABASE_URL;
  if (dsn !== undefined && dsn !== '') {
    const config = dsnConfig('local', 'local', dsn);
    const plan = planTarget(config);
    return { config, plan, connection: connectionSource(plan.config, {}), cleanup: noop };
  }
  const demo = await startDemoDatabase(log);
  const config = dsnConfig('embedded', 'demo', demo.dsn);
  const plan = planTarget(config);
  return {
    config,
    plan,
    connection: connectionSource(plan.config, {}),
    cleanup: async () => {
      log('stopping embedded PostgreSQL');
      await demo.stop();
    },
  };
}
