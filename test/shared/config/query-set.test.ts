import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/config/errors.ts';
import { loadConfig, parseConfig } from '../../../shared/config/load.ts';
import { buildQuerySet } from '../../../shared/config/query-set.ts';
import { BUILTIN_QUERIES } from '../../../shared/queries/catalog.ts';
import { makeTmpRoot } from '../../helpers/processes.ts';

const TARGETS = [{ name: 'a', dsn: 'postgres://u@127.0.0.1/db' }];

/** A custom query with one metric per `[name, data_type, unit]`. */
function query(name: string, metrics: [string, string, string][], extra: Record<string, unknown> = {}) {
  return {
    name,
    query: 'SELECT 1 AS n',
    metrics: metrics.map(([metric, data_type, unit]) => ({
      name: metric,
      value_column: 'n',
      data_type,
      unit,
    })),
    ...extra,
  };
}

/** The problems `parseConfig` reports for these custom queries, or [] when it accepts them. */
function problemsOf(custom_queries: unknown[]): readonly string[] {
  try {
    parseConfig({ targets: TARGETS, custom_queries });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('custom metric names', () => {
  it('refuses a built-in metric name, naming the field', () => {
    // Act
    const problems = problemsOf([
      query('mine', [
        ['custom.ok', 'gauge', '1'],
        ['postgresql.database.size', 'gauge', 'bytes'],
      ]),
    ]);

    // Assess
    expect(problems).toEqual([
      'custom_queries[0].metrics[1].name: "postgresql.database.size" is a built-in metric (built-in query database_size); choose another name',
    ]);
  });

  it('refuses a built-in name with another kind or unit too (one name, one meaning)', () => {
    expect(problemsOf([query('mine', [['postgresql.database.size', 'counter', 'rows']])])).toEqual([
      'custom_queries[0].metrics[0].name: "postgresql.database.size" is a built-in metric (built-in query database_size); choose another name',
    ]);
  });

  it('refuses a name that becomes a built-in Prometheus name', () => {
    // `postgresql_database_size` in bytes is postgresql_database_size_bytes, like postgresql.database.size.
    expect(problemsOf([query('mine', [['postgresql_database_size', 'gauge', 'bytes']])])).toEqual([
      'custom_queries[0].metrics[0].name: "postgresql_database_size" becomes postgresql_database_size_bytes in Prometheus, like "postgresql.database.size" (built-in query database_size); choose another name',
    ]);
  });

  it.each([
    ['up', 'gauge', '1'],
    ['pgotel.query.errors', 'gauge', '{error}'],
    ['pgotel_cardinality_dropped', 'gauge', '1'],
    ['pgotel.anything.new', 'counter', 'By'],
  ])('refuses %s, a name of pgotel itself', (name, kind, unit) => {
    expect(problemsOf([query('mine', [[name, kind, unit]])])).toEqual([
      `custom_queries[0].metrics[0].name: "${name}" is reserved for pgotel's own metrics (up, pgotel.*)`,
    ]);
  });

  it('refuses two custom metrics of one name with another kind or unit', () => {
    // Act
    const problems = problemsOf([
      query('first', [['custom.queue', 'gauge', 'rows']]),
      query('second', [['custom.queue', 'counter', 'rows']]),
      query('third', [['custom.queue', 'gauge', 'bytes']]),
    ]);

    // Assess
    expect(problems).toEqual([
      'custom_queries[1].metrics[0].name: "custom.queue" is already a gauge in "{rows}" (custom_queries[0].metrics[0].name), here a counter in "{rows}"',
      'custom_queries[2].metrics[0].name: "custom.queue" is already a gauge in "{rows}" (custom_queries[0].metrics[0].name), here a gauge in "By"',
    ]);
  });

  it('refuses one metric fed from two tiers (two batches, two # TYPE blocks)', () => {
    expect(
      problemsOf([
        query('fast', [['custom.queue', 'gauge', '1']], { tier: 'critical' }),
        query('slow', [['custom.queue', 'gauge', '1']]),
      ]),
    ).toEqual([
      'custom_queries[1].metrics[0].name: "custom.queue" is already collected in the critical tier (custom_queries[0].metrics[0].name); one metric comes from one tier',
    ]);
  });

  it('refuses two names that become one Prometheus name', () => {
    expect(
      problemsOf([
        query('one', [['custom.queue.depth', 'gauge', '1']]),
        query('two', [['custom_queue_depth', 'gauge', '1']]),
      ]),
    ).toEqual([
      'custom_queries[1].metrics[0].name: "custom_queue_depth" becomes custom_queue_depth_ratio in Prometheus, like "custom.queue.depth" (custom_queries[0].metrics[0].name); choose another name',
    ]);
  });

  it('refuses a name with no letter or digit', () => {
    expect(problemsOf([query('mine', [['_._', 'gauge', '1']])])).toEqual([
      'custom_queries[0].metrics[0].name: "_._" has no letter or digit',
    ]);
  });

  it('accepts one metric fed by several queries of one tier with one kind and unit ("bytes" is By)', () => {
    expect(
      problemsOf([
        query('per_schema_a', [['custom.schema.size', 'gauge', 'bytes']]),
        query('per_schema_b', [['custom.schema.size', 'gauge', 'By']], { scope: 'database' }),
      ]),
    ).toEqual([]);
  });
});

describe('query-set problems carry the file they came from', () => {
  it('a custom query named like a built-in one: the error header names the file', async () => {
    // Prepare
    const file = join(await makeTmpRoot('query-set'), 'pgotel.config.yaml');
    await writeFile(
      file,
      [
        'targets: [{ name: a, dsn: "postgres://u@127.0.0.1/db" }]',
        'custom_queries:',
        '  - name: database_size',
        '    query: SELECT 1 AS n',
        '    metrics: [{ name: custom.n, value_column: n, data_type: gauge }]',
        '',
      ].join('\n'),
    );

    // Act
    const act = loadConfig(file);

    // Assess
    await expect(act).rejects.toThrow(
      `invalid config ${file}:\n  custom_queries[0].name: "database_size" is already used by another query`,
    );
  });

  it('parseConfig reports query-set problems with its source; buildQuerySet still checks a config it is given', () => {
    // Prepare
    const raw = { targets: TARGETS, queries: { disable: ['nope'] } };

    // Act
    const parse = () => parseConfig(raw, 'inline.yaml');
    const build = () =>
      buildQuerySet(
        {
          queries: {
            disable: ['nope'],
            intervals: {},
            limits: parseConfig({ targets: TARGETS }).queries.limits,
          },
          custom_queries: [],
        },
        BUILTIN_QUERIES,
      );

    // Assess
    expect(parse).toThrow(
      'invalid config inline.yaml:\n  queries.disable[0]: no built-in query named "nope"',
    );
    expect(build).toThrow('invalid config:\n  queries.disable[0]: no built-in query named "nope"');
  });

  it('ConfigError.withSource attributes a problem found after loading to the file', () => {
    // Prepare
    const error = new ConfigError(undefined, ['targets.a.secret_arn: secrets are read by the Lambda']);

    // Act
    const attributed = error.withSource('/etc/pgotel.yaml');

    // Assess
    expect(attributed.message).toBe(
      'invalid config /etc/pgotel.yaml:\n  targets.a.secret_arn: secrets are read by the Lambda',
    );
    expect(attributed.source).toBe('/etc/pgotel.yaml');
    expect(attributed.problems).toEqual(error.problems);
  });
});

describe('loadConfig never quotes the file', () => {
  it('refuses a binary file in one line', async () => {
    // Prepare
    const file = join(await makeTmpRoot('query-set'), 'binary.yaml');
    const bytes = Buffer.alloc(3000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 73 + 11) % 256;
    await writeFile(file, bytes);

    // Act
    const act = loadConfig(file);

    // Assess
    await expect(act).rejects.toThrow(
      `invalid config ${file}:\n  not a YAML file: it holds binary data, not UTF-8 text`,
    );
  });

  it('reports a YAML syntax error by position, without the excerpt of the file', async () => {
    // Prepare
    const file = join(await makeTmpRoot('query-set'), 'broken.yaml');
    await writeFile(file, 'targets:\n  - name: a\n     dsn: secret-looking-line\n');

    // Act
    const error = await loadConfig(file).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'not valid YAML: Nested mappings are not allowed in compact mappings at line 2, column 11',
    ]);
  });

  it('says a directory is a directory', async () => {
    const dir = await makeTmpRoot('query-set');
    await expect(loadConfig(dir)).rejects.toThrow(
      `invalid config ${dir}:\n  cannot read file: EISDIR (it is a directory)`,
    );
  });
});
