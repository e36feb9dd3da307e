import type { MetricKind, Tier } from '../model/metrics.ts';
import type { QueryDefinition, QueryScope } from './types.ts';

/** A custom query in the seed's `custom_queries` format (the config schema's output has this shape). */
export interface CustomQuerySpec {
  readonly name?: string | undefined;
  readonly tier: Tier;
  readonly scope: QueryScope;
  readonly interval?: number | undefined;
  readonly query: string;
  readonly metrics: readonly {
    readonly name: string;
    readonly value_column: string;
    readonly data_type: MetricKind;
    readonly unit: string;
    readonly description: string;
    readonly attributes: readonly { readonly column: string; readonly name?: string | undefined }[];
  }[];
}

const UNIT_WORDS: Readonly<Record<string, string>> = {
  bytes: 'By',
  byte: 'By',
  seconds: 's',
  second: 's',
  milliseconds: 'ms',
  millisecond: 'ms',
  percent: '%',
  ratio: '1',
  '': '1',
};

/**
 * Maps the seed's unit words (`bytes`, `seconds`, `rows`, `%`) to UCUM, so custom metrics get the same
 * Prometheus suffixes as built-in ones. Known UCUM units pass through; other words become annotations
 * (`rows` → `{rows}`), which add no suffix.
 */
export function normalizeUnit(unit: string): string {
  const word = unit.trim();
  const mapped = UNIT_WORDS[word.toLowerCase()];
  if (mapped !== undefined) return mapped;
  if (/^(By|KiBy|MiBy|GiBy|s|ms|us|ns|min|h|d|1|%|\{[^}]*\})(\/(s|min|h|d))?$/.test(word)) return word;
  return `{${word.replace(/[{}]/g, '')}}`;
}

/** Turns the config's `custom_queries` into query definitions; they then run through the same engine. */
export function customQueryDefinitions(custom: readonly CustomQuerySpec[]): QueryDefinition[] {
  return custom.map((query, index) => ({
    name: query.name ?? `custom_${index + 1}`,
    tier: query.tier,
    scope: query.scope,
    ...(query.interval === undefined ? {} : { intervalSeconds: query.interval }),
    origin: 'custom',
    sql: [{ sql: query.query }],
    metrics: query.metrics.map((metric) => ({
      name: metric.name,
      kind: metric.data_type,
      unit: normalizeUnit(metric.unit),
      description: metric.description,
      valueColumn: metric.value_column,
      attributes: metric.attributes.map((a) =>
        a.name === undefined ? { column: a.column } : { column: a.column, name: a.name },
      ),
    })),
  }));
}
