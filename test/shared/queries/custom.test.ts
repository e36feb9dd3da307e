import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfigYaml } from '../../../shared/config/load.ts';
import { buildQuerySet } from '../../../shared/config/query-set.ts';
import { configSchema } from '../../../shared/config/schema.ts';
import { customQueryDefinitions, normalizeUnit } from '../../../shared/queries/custom.ts';
import type { QueryDefinition } from '../../../shared/queries/types.ts';

describe('normalizeUnit', () => {
  it('maps the seed unit words to UCUM and keeps UCUM as is', () => {
    expect(
      ['bytes', 'seconds', 's', 'ms', '%', 'rows', 'sessions', 'By/s', '{row}', 'ratio', ''].map(
        normalizeUnit,
      ),
    ).toEqual(['By', 's', 's', 'ms', '%', '{rows}', '{sessions}', 'By/s', '{row}', '1', '1']);
  });
});

describe('custom queries', () => {
  const config = parseConfigYaml(`
targets: [{ name: a, dsn: "postgres://x" }]
custom_queries:
  - query: SELECT 1 AS n, 'x' AS s
    tier: critical
    metrics:
      - { name: custom.one, value_column: n, data_type: counter, unit: bytes, attributes: [{ column: s, name: label }] }
  - name: named
    query: SELECT 2 AS n
    scope: database
    metrics:
      - { name: custom.two, value_column: n, data_type: gauge }
`);

  it('become query definitions of the same shape as built-ins', () => {
    expect(customQueryDefinitions(config.custom_queries)).toEqual([
      {
        name: 'custom_1',
        tier: 'critical',
        scope: 'cluster',
        origin: 'custom',
        sql: [{ sql: "SELECT 1 AS n, 'x' AS s" }],
        metrics: [
          {
            name: 'custom.one',
            kind: 'counter',
            unit: 'By',
            description: '',
            valueColumn: 'n',
            attributes: [{ column: 's', name: 'label' }],
          },
        ],
      },
      {
        name: 'named',
        tier: 'standard',
        scope: 'database',
        origin: 'custom',
        sql: [{ sql: 'SELECT 2 AS n' }],
        metrics: [
          { name: 'custom.two', kind: 'gauge', unit: '1', description: '', valueColumn: 'n', attributes: [] },
        ],
      },
    ]);
  });

  it('join the built-ins minus the disabled ones; unknown names are config errors naming the field', () => {
    const builtins: QueryDefinition[] = [
      { name: 'activity', tier: 'critical', scope: 'cluster', sql: [], metrics: [] },
      { name: 'named', tier: 'critical', scope: 'cluster', sql: [], metrics: [] },
    ];
    expect(() => buildQuerySet(config, builtins)).toThrow(
      'custom_queries[1].name: "named" is already used by another query',
    );

    // configSchema alone: parseConfig would check these names against the real catalog already.
    const ok = configSchema.parse(
      parseYaml(`
targets: [{ name: a, dsn: "postgres://x" }]
queries: { disable: [named], intervals: { activity: 60 } }
`),
    );
    expect(buildQuerySet(ok, builtins).map((q) => q.name)).toEqual(['activity']);

    const bad = configSchema.parse(
      parseYaml(`
targets: [{ name: a, dsn: "postgres://x" }]
queries: { disable: [nope], intervals: { missing: 60 } }
`),
    );
    expect(() => buildQuerySet(bad, builtins)).toThrow(
      'queries.disable[0]: no built-in query named "nope"\n  queries.intervals.missing: no query named "missing"',
    );
  });
});
