import { Duration } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { LambdaConfig, PgotelConfig } from '../shared/config/schema.ts';

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
    for (const settings of Object.values(target.tiers)) {
      if (!settings.enabled) continue;
      worstMs = Math.max(worstMs, target.connect_timeout_ms + settings.statement_timeout_ms);
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
