import { CRITICAL_QUERIES } from './critical.ts';
import { HISTORICAL_QUERIES } from './historical.ts';
import { STANDARD_QUERIES } from './standard.ts';
import type { QueryDefinition, QueryLimits } from './types.ts';

/**
 * Every built-in query, critical tier first. Documented metric by metric in `docs/metrics.md`;
 * custom queries from the config file run next to these through the same engine.
 */
export const BUILTIN_QUERIES: readonly QueryDefinition[] = [
  ...CRITICAL_QUERIES,
  ...STANDARD_QUERIES,
  ...HISTORICAL_QUERIES,
];

/** Limits used when the config file sets none (the `@default`s of {@link QueryLimits}). */
export const DEFAULT_LIMITS: QueryLimits = {
  maxTables: 10_000,
  maxIndexes: 10_000,
  minRelationSizeBytes: 0,
  excludeSchemas: [],
  includeSchemas: [],
  maxStatements: 50,
  longRunningSeconds: 60,
};
