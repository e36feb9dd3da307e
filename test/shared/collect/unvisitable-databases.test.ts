import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CollectResult, collect } from '../../../shared/collect/collect.ts';
import { connectionTarget } from '../../../shared/config/local-target.ts';
import { DEFAULT_LIMITS } from '../../../shared/queries/catalog.ts';
import { customQueryDefinitions } from '../../../shared/queries/custom.ts';
import { gaugeQuery } from '../../helpers/custom-query.ts';
import { connectionAs, type PgInstance, startPostgres } from '../../helpers/postgres.ts';

const MONITOR_PASSWORD = 'Monitor-Visits-Pa55word';

const visitedQuery = customQueryDefinitions([
  gaugeQuery('visited', 'SELECT 1 AS v', { tier: 'standard', scope: 'database' }),
]);

describe('collect: databases listed in `databases:` that cannot be visited are reported', () => {
  let server: PgInstance;

  beforeAll(async () => {
    server = await startPostgres({ pgStatStatements: false });
    const setup = [
      `CREATE ROLE otel_monitor LOGIN PASSWORD '${MONITOR_PASSWORD}'`,
      'GRANT pg_monitor TO otel_monitor',
      'CREATE DATABASE app_db',
      'CREATE DATABASE forbidden_db',
      'REVOKE CONNECT ON DATABASE forbidden_db FROM PUBLIC',
      'CREATE DATABASE closed_db ALLOW_CONNECTIONS false',
      'CREATE DATABASE tmpl_db IS_TEMPLATE true',
      'CREATE DATABASE full_db CONNECTION LIMIT 0',
    ];
    for (const sql of setup) await server.query(sql);
  });
  afterAll(async () => {
    await server?.destroy();
  });

  function collectAs(include: readonly string[], exclude: readonly string[] = []): Promise<CollectResult> {
    const target = connectionTarget('visits', connectionAs(server, 'otel_monitor', MONITOR_PASSWORD), {
      environment: 'test',
      databases: { include, exclude },
    });
    return collect(
      target,
      { tiers: ['standard'], scheduledAtMs: Date.now(), ignoreIntervals: true },
      { queries: visitedQuery, limits: DEFAULT_LIMITS },
    );
  }

  it('missing, no CONNECT privilege, datallowconn = false, a template, a refused session: each one named with its reason', async () => {
    // Act
    const result = await collectAs(
      ['app_db', 'no_such_db', 'forbidden_db', 'closed_db', 'tmpl_db', 'full_db', 'excluded_db'],
      ['excluded_db'],
    );

    // Assess
    expect(result.up).toBe(1);
    expect(result.databases).toEqual(['app_db', 'full_db']);
    expect(result.skippedDatabases).toEqual([
      {
        database: 'closed_db',
        reason: 'database "closed_db" does not allow connections (datallowconn = false)',
      },
      {
        database: 'forbidden_db',
        reason: 'role "otel_monitor" has no CONNECT privilege on database "forbidden_db"',
      },
      {
        database: 'full_db',
        reason: `cannot connect to 127.0.0.1:${server.port} (database "full_db", user "otel_monitor"): too many connections for database "full_db"`,
      },
      { database: 'no_such_db', reason: 'database "no_such_db" does not exist' },
      { database: 'tmpl_db', reason: 'database "tmpl_db" is a template; templates are never visited' },
    ]);
    const reports = result.queries
      .map((q) => [q.database, q.status, q.message])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(reports).toEqual([
      ['app_db', 'ok', undefined],
      [
        'closed_db',
        'error',
        'not visited: database "closed_db" does not allow connections (datallowconn = false)',
      ],
      [
        'forbidden_db',
        'error',
        'not visited: role "otel_monitor" has no CONNECT privilege on database "forbidden_db"',
      ],
      [
        'full_db',
        'error',
        `cannot connect to 127.0.0.1:${server.port} (database "full_db", user "otel_monitor"): too many connections for database "full_db"`,
      ],
      ['no_such_db', 'error', 'not visited: database "no_such_db" does not exist'],
      ['tmpl_db', 'error', 'not visited: database "tmpl_db" is a template; templates are never visited'],
    ]);
  });

  it('without a list, databases the role may not enter are left out silently, as before', async () => {
    const result = await collectAs([]);

    expect(result.databases).toEqual(['app_db', 'full_db', 'postgres']);
    expect(result.skippedDatabases.map((s) => s.database)).toEqual(['full_db']);
    expect(result.queries.filter((q) => q.status === 'ok').map((q) => q.database)).toEqual(
      expect.arrayContaining(['app_db', 'postgres']),
    );
  });
});
