import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfigYaml } from '../../../shared/config/load.ts';

function problemsOf(yaml: string): readonly string[] {
  try {
    parseConfigYaml(yaml);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('config validation', () => {
  it('fills every default for a minimal config', () => {
    const config = parseConfigYaml('targets:\n  - name: orders-primary\n    dsn: postgres://u@h/db\n');

    expect(config.environment).toBe('production');
    expect(config.service_name).toBe('postgresql');
    expect(config.targets[0]).toEqual({
      name: 'orders-primary',
      dsn: 'postgres://u@h/db',
      databases: [],
      exclude_databases: [],
      labels: {},
      tiers: {
        critical: { enabled: true, statement_timeout_ms: 5000, lock_timeout_ms: 1000 },
        standard: { enabled: true, statement_timeout_ms: 30000, lock_timeout_ms: 1000 },
        historical: { enabled: true, statement_timeout_ms: 60000, lock_timeout_ms: 1000 },
      },
      connect_timeout_ms: 5000,
      max_connections: 2,
      keep_session_seconds: 90,
    });
    expect(config.queries.limits).toEqual({
      max_tables: 10_000,
      max_indexes: 10_000,
      min_relation_size_bytes: 0,
      exclude_schemas: [],
      include_schemas: [],
      max_statements: 50,
      long_running_seconds: 60,
    });
  });

  it('names the field of every problem', () => {
    const problems = problemsOf(`
targets:
  - name: a
    dsn: postgres://x
    tls: { mode: verify }
    colour: blue
  - name: a
    secret_arn: arn:aws:secretsmanager:eu-west-1:1:secret:x
queries:
  limits: { max_tables: -1 }
remote_write:
  url: ftp://nope
`);

    expect(problems).toEqual([
      'targets[0].tls.mode: Invalid option: expected one of "disable"|"require"|"verify-ca"|"verify-full"',
      'targets[0]: unknown field "colour"',
      'queries.limits.max_tables: Too small: expected number to be >=0',
      'remote_write.url: Invalid URL',
    ]);
  });

  it('reports a duplicate target name on the second one', () => {
    const problems = problemsOf(
      'targets:\n  - {name: a, dsn: "postgres://x"}\n  - {name: a, dsn: "postgres://y"}\n',
    );

    expect(problems).toEqual(['targets[1].name: duplicate target name "a"']);
  });

  it('requires exactly one of dsn and secret_arn', () => {
    expect(problemsOf('targets:\n  - {name: a}\n')).toEqual([
      'targets[0].secret_arn: set exactly one of secret_arn or dsn',
    ]);
    expect(problemsOf('targets:\n  - {name: a, dsn: x, secret_arn: y}\n')).toEqual([
      'targets[0].secret_arn: set exactly one of secret_arn or dsn',
    ]);
  });

  it('accepts the seed custom_queries format', () => {
    const config = parseConfigYaml(`
targets: [{ name: a, dsn: "postgres://x" }]
custom_queries:
  - query: SELECT 1 AS n
    metrics:
      - name: custom.table.bloat
        value_column: dead_ratio
        data_type: gauge
        unit: "%"
        attributes:
          - column: schemaname
            name: schema
`);

    expect(config.custom_queries[0]).toEqual({
      tier: 'standard',
      scope: 'cluster',
      query: 'SELECT 1 AS n',
      metrics: [
        {
          name: 'custom.table.bloat',
          value_column: 'dead_ratio',
          data_type: 'gauge',
          unit: '%',
          description: '',
          attributes: [{ column: 'schemaname', name: 'schema' }],
        },
      ],
    });
  });

  it('reports YAML syntax errors and unreadable files as ConfigError', async () => {
    expect(problemsOf('targets: [unclosed')[0]).toMatch(/^not valid YAML: /);
    const dir = await mkdtemp(join(tmpdir(), 'pgotel-config-'));
    await expect(loadConfig(join(dir, 'missing.yaml'))).rejects.toThrow('cannot read file: ENOENT');
    await writeFile(join(dir, 'ok.yaml'), 'targets: [{ name: a, dsn: "postgres://x" }]\n');
    await expect(loadConfig(join(dir, 'ok.yaml'))).resolves.toMatchObject({ targets: [{ name: 'a' }] });
  });
});
