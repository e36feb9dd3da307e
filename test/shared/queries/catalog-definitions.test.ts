import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { prometheusMetricName } from '../../../shared/export/prom-names.ts';
import { BUILTIN_QUERIES, DEFAULT_LIMITS } from '../../../shared/queries/catalog.ts';
import { EXCLUDED_METRICS } from '../../../shared/queries/historical.ts';
import { pickSql } from '../../../shared/queries/select.ts';

/** Static properties of the catalog that the engine relies on but cannot check before a query runs. */

describe('BUILTIN_QUERIES', () => {
  it('has unique snake_case names', () => {
    // Act
    const names = BUILTIN_QUERIES.map((q) => q.name);

    // Assess
    expect(new Set(names).size).toBe(names.length);
    expect(names.filter((n) => !/^[a-z][a-z0-9_]*$/.test(n))).toEqual([]);
  });

  it('gives every metric name a single kind and unit across queries', () => {
    // Prepare
    const seen = new Map<string, string>();
    const clashes: string[] = [];

    // Act
    for (const query of BUILTIN_QUERIES) {
      for (const metric of query.metrics) {
        const shape = `${metric.kind} ${metric.unit}`;
        const before = seen.get(metric.name);
        if (before !== undefined && before !== shape) clashes.push(`${metric.name}: ${before} vs ${shape}`);
        seen.set(metric.name, shape);
      }
    }

    // Assess
    expect(clashes).toEqual([]);
  });

  it('uses exactly the declared parameters in every SQL variant', () => {
    // Prepare
    const mismatches: string[] = [];

    // Act
    for (const query of BUILTIN_QUERIES) {
      for (const variant of query.sql) {
        const used = [...variant.sql.matchAll(/\$(\d+)(?![\d$])/g)].map((m) => Number(m[1]));
        const highest = used.length === 0 ? 0 : Math.max(...used);
        // A query that reuses remembered sizes takes three more: OIDs, signatures, sizes.
        const declared = (query.params?.length ?? 0) + (query.rememberSizes === true ? 3 : 0);
        if (highest !== declared) mismatches.push(`${query.name}: uses $${highest}, declares ${declared}`);
      }
    }

    // Assess
    expect(mismatches).toEqual([]);
  });

  it('leaves database_name to the engine in database-scoped queries', () => {
    // Act
    const offenders = BUILTIN_QUERIES.filter((q) => q.scope === 'database').flatMap((q) =>
      q.metrics
        .filter((m) => (m.attributes ?? []).some((a) => (a.name ?? a.column) === 'database_name'))
        .map((m) => m.name),
    );

    // Assess
    expect(offenders).toEqual([]);
  });

  it('has SQL for both roles of every supported major, except the version- and role-specific queries', () => {
    // Prepare
    const missing: string[] = [];

    // Act
    for (const query of BUILTIN_QUERIES) {
      for (let major = 13; major <= 18; major++) {
        for (const role of ['primary', 'replica'] as const) {
          if (pickSql(query, { major, role }) === undefined) missing.push(`${query.name} ${major} ${role}`);
        }
      }
    }

    // Assess
    const expected = [
      ...[13, 14, 15, 16, 17, 18].map((major) => `replica ${major} primary`),
      ...['primary', 'replica'].flatMap((role) => [
        `session_stats 13 ${role}`,
        `wal_stats 13 ${role}`,
        `statements_info 13 ${role}`,
      ]),
      ...[13, 14, 15].flatMap((major) => [`io ${major} primary`, `io ${major} replica`]),
    ];
    expect(missing.sort()).toEqual(expected.sort());
  });

  it('names every built-in metric postgresql.*, leaving custom.* to custom queries, but the relations a query left out', () => {
    // Act
    const names = BUILTIN_QUERIES.flatMap((q) => q.metrics).map((m) => m.name);
    const selfNames: string[] = Object.values(EXCLUDED_METRICS);
    const reporters = BUILTIN_QUERIES.flatMap((q) =>
      q.metrics
        .filter((m) => selfNames.includes(m.name))
        .map((m) => `${q.name} ${m.name} ${m.staticAttributes?.reason}`),
    );

    // Assess: the per-relation queries report on themselves, under self-metric names the cardinality window
    // exempts, one name per query (they run at different intervals).
    expect(names.filter((n) => !n.startsWith('postgresql.') && !selfNames.includes(n))).toEqual([]);
    expect(reporters).toEqual([
      'table_stats pgotel.tables.excluded cap',
      'table_stats pgotel.tables.excluded filter',
      'table_stats pgotel.tables.excluded locked',
      'index_stats pgotel.indexes.excluded cap',
      'index_stats pgotel.indexes.excluded filter',
      'index_stats pgotel.indexes.excluded locked',
    ]);
  });

  it('names schemas, tables, users and applications the same way in every family', () => {
    // Prepare: the label names used elsewhere are schema_name, table_name, user_name, application_name.
    const inconsistent = new Set([
      'schema',
      'schemaname',
      'table',
      'tablename',
      'relname',
      'user',
      'usename',
    ]);
    inconsistent.add('application');

    // Act
    const offenders = BUILTIN_QUERIES.flatMap((q) => q.metrics).flatMap((m) =>
      (m.attributes ?? [])
        .map((a) => a.name ?? a.column)
        .filter((label) => inconsistent.has(label))
        .map((label) => `${m.name}: ${label}`),
    );

    // Assess
    expect(offenders).toEqual([]);
  });

  it('counts time in seconds, the base unit promtool requires', () => {
    // Act
    const units = BUILTIN_QUERIES.flatMap((q) => q.metrics)
      .filter((m) => m.unit === 'ms' || m.unit === 'us')
      .map((m) => m.name);

    // Assess
    expect([...new Set(units)]).toEqual([]);
  });
});

describe('DEFAULT_LIMITS', () => {
  it('matches the documented defaults', () => {
    expect(DEFAULT_LIMITS).toEqual({
      maxTables: 10_000,
      maxIndexes: 10_000,
      minRelationSizeBytes: 0,
      excludeSchemas: [],
      includeSchemas: [],
      maxStatements: 50,
      longRunningSeconds: 60,
    });
  });
});

describe('docs/metrics.md', () => {
  it('documents every query and every metric with its Prometheus name, type and unit', async () => {
    // Prepare
    const docs = await readFile(new URL('../../../docs/metrics.md', import.meta.url), 'utf8');
    const undocumented: string[] = [];

    // Act
    for (const query of BUILTIN_QUERIES) {
      if (!docs.includes(`### \`${query.name}\``)) undocumented.push(`query ${query.name}`);
      for (const metric of query.metrics) {
        const row = `| \`${metric.name}\` | \`${prometheusMetricName(metric)}\` | ${metric.kind} | \`${metric.unit}\` |`;
        if (!docs.includes(row)) undocumented.push(row);
      }
    }

    // Assess
    expect(undocumented).toEqual([]);
  });
});
