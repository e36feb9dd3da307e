import { Duration } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { LambdaConfig, PgotelConfig } from '../shared/config/schema.ts';
import type { Tier } from '../shared/model/metrics.ts';

/** The config's `lambda` section (memory, timeout, log retention, VPC). */
export type LambdaSettings = LambdaConfig;

/** Collector memory when the config sets none. */
export const DEFAULT_MEMORY_MB = 256;
/** Collector log retention when the config sets none. */
export const DEFAULT_LOG_RETENTION_DAYS = RetentionDays.ONE_MONTH;
/** Lambda's hard limit. */
export const MAX_TIMEOUT_SECONDS = 900;
/** Time after the slowest statement for the connection already made, export, archive and state writes. */
export const FLUSH_MARGIN_SECONDS = 30;

/**
 * Statement timeouts of a tier no target overrides. Mirrors `DEFAULT_TIER_SETTINGS` in
 * `shared/collect/collect.ts` (a test keeps them equal) because infra may not import the collection code;
 * both go away when the schema carries these defaults.
 */
export const DEFAULT_STATEMENT_TIMEOUT_MS: Readonly<Record<Tier, number>> = {
  critical: 5_000,
  standard: 30_000,
  historical: 60_000,
};

/** The config's `lambda` section, or an empty one. */
export function lambdaSettingsOf(config: PgotelConfig): LambdaSettings {
  return config.lambda ?? {};
}

/**
 * The collector's timeout: `lambda.timeout_seconds` when set; otherwise the slowest enabled tier of any
 * target (its connect timeout plus its statement timeout) plus {@link FLUSH_MARGIN_SECONDS}, at most
 * {@link MAX_TIMEOUT_SECONDS}. One invocation collects one target, so the worst target sets the bound.
 */
export function collectorTimeout(config: PgotelConfig): Duration {
  const explicit = lambdaSettingsOf(config).timeout_seconds;
  if (explicit !== undefined) return Duration.seconds(explicit);
  let worstMs = 0;
  for (const target of config.targets) {
    for (const [tier, defaultMs] of Object.entries(DEFAULT_STATEMENT_TIMEOUT_MS)) {
      const settings = target.tiers[tier as Tier];
      if (settings?.enabled === false) continue;
      const statementMs = settings?.statement_timeout_ms ?? defaultMs;
      worstMs = Math.max(worstMs, target.connect_timeout_ms + statementMs);
    }
  }
  return Duration.seconds(Math.min(MAX_TIMEOUT_SECONDS, Math.ceil(worstMs / 1000) + FLUSH_MARGIN_SECONDS));
}

/** `lambda.log_retention_days` as a CloudWatch retention, failing synth on a value Logs does not offer. */
export function logRetention(settings: LambdaSettings): RetentionDays {
  const days = settings.log_retention_days;
  if (days === undefined) return DEFAULT_LOG_RETENTION_DAYS;
  const allowed = Object.values(RetentionDays).filter((v): v is number => typeof v === 'number');
  const match = allowed.find((v) => v === days);
  if (match === undefined) {
    throw new Error(
      `lambda.log_retention_days: ${days} is not a CloudWatch Logs retention; use one of ${allowed.join(', ')}`,
    );
  }
  return match;
}
