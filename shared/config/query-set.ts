import { customQueryDefinitions } from '../queries/custom.ts';
import type { QueryDefinition } from '../queries/types.ts';
import { ConfigError } from './errors.ts';
import type { PgotelConfig } from './schema.ts';

/**
 * The queries a config asks for: built-ins minus `queries.disable`, plus `custom_queries`. Unknown names in
 * `queries.disable` / `queries.intervals` and custom names that clash are config errors naming the field.
 */
export function buildQuerySet(
  config: Pick<PgotelConfig, 'queries' | 'custom_queries'>,
  builtins: readonly QueryDefinition[],
): QueryDefinition[] {
  const problems: string[] = [];
  const builtinNames = new Set(builtins.map((q) => q.name));
  const custom = customQueryDefinitions(config.custom_queries);
  const allNames = new Set(builtinNames);
  custom.forEach((query, i) => {
    if (allNames.has(query.name))
      problems.push(`custom_queries[${i}].name: "${query.name}" is already used by another query`);
    allNames.add(query.name);
  });
  config.queries.disable.forEach((name, i) => {
    if (!builtinNames.has(name)) problems.push(`queries.disable[${i}]: no built-in query named "${name}"`);
  });
  for (const name of Object.keys(config.queries.intervals)) {
    if (!allNames.has(name)) problems.push(`queries.intervals.${name}: no query named "${name}"`);
  }
  if (problems.length > 0) throw new ConfigError('config', problems);
  const disabled = new Set(config.queries.disable);
  return [...builtins.filter((q) => !disabled.has(q.name)), ...custom];
}
