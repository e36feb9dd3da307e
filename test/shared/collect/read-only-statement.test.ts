import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CollectResult, collect } from '../../../shared/collect/collect.ts';
import { connectionTarget } from '../../../shared/config/local-target.ts';
import { parseDsn } from '../../../shared/db/connection.ts';
import { DEFAULT_LIMITS } from '../../../shared/queries/catalog.ts';
import { customQueryDefinitions } from '../../../shared/queries/custom.ts';
import { gaugeQuery } from '../../helpers/custom-query.ts';
import { type PgInstance, startPostgres } from '../../helpers/postgres.ts';

/** Custom cluster queries of the critical tier, run in this order on one session, as a superuser (who may write). */
function collectCustom(
  server: PgInstance,
  sqls: readonly (readonly [string, string])[],
): Promise<CollectResult> {
  const queries = customQueryDefinitions(sqls.map(([name, query]) => gaugeQuery(name, query)));
  return collect(
    connectionTarget('read-only', parseDsn(server.dsn()), { environment: 'test' }),
    { tiers: ['critical'], scheduledAtMs: Date.now(), ignoreIntervals: true },
    { queries, limits: DEFAULT_LIMITS },
  );
}

describe('collect: a query is one read-only statement', () => {
  let server: PgInstance;
  const victims = async () =>
    (await server.query<{ id: number }>('SELECT id FROM victim ORDER BY id')).map((r) => r.id);

  beforeAll(async () => {
    server = await startPostgres({ pgStatStatements: false });
  });
  afterAll(async () => {
    await server?.destroy();
  });
  beforeEach(async () => {
    await server.query('DROP TABLE IF EXISTS victim');
    await server.query('CREATE TABLE victim (id int PRIMARY KEY)');
    await server.query('INSERT INTO victim VALUES (1), (2), (3)');
  });

  it('several statements in one query are refused before any runs, and reported by name', async () => {
    // Act
    const result = await collectCustom(server, [
      ['sneaky_delete', 'BEGIN READ WRITE; DELETE FROM victim WHERE id=2; COMMIT; SELECT 1 AS v'],
      ['after', 'SELECT 7 AS v'],
    ]);

    // Assess
    expect(await victims()).toEqual([1, 2, 3]);
    expect(result.up).toBe(1);
    expect(result.queries.map((q) => [q.query, q.status, q.message, q.sqlstate])).toEqual([
      [
        'sneaky_delete',
        'error',
        'a query must be one statement; the server refused several in one (cannot insert multiple commands into a prepared statement)',
        '42601',
      ],
      ['after', 'ok', undefined, undefined],
    ]);
  });

  it('one-statement queries cannot leave the session writable for the next one', async () => {
    // Act: each of these is one statement that, run on its own, changes the session or opens a transaction.
    const result = await collectCustom(server, [
      ['session_default', `SELECT 1 AS v, set_config('default_transaction_read_only', 'off', false)`],
      [
        'delete_after_default',
        'WITH gone AS (DELETE FROM victim WHERE id = 1 RETURNING id) SELECT count(*) AS v FROM gone',
      ],
      ['set_session', 'SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE'],
      [
        'delete_after_set',
        'WITH gone AS (DELETE FROM victim WHERE id = 2 RETURNING id) SELECT count(*) AS v FROM gone',
      ],
      ['open_transaction', 'BEGIN READ WRITE'],
      [
        'delete_in_transaction',
        'WITH gone AS (DELETE FROM victim WHERE id = 3 RETURNING id) SELECT count(*) AS v FROM gone',
      ],
      ['commit', 'COMMIT'],
      ['still_read_only', `SELECT (current_setting('transaction_read_only') = 'on')::int AS v`],
    ]);

    // Assess
    expect(await victims()).toEqual([1, 2, 3]);
    const refused = result.queries
      .filter((q) => q.query.startsWith('delete_'))
      .map((q) => [q.query, q.message, q.sqlstate]);
    expect(refused).toEqual([
      ['delete_after_default', 'cannot execute SELECT in a read-only transaction', '25006'],
      ['delete_after_set', 'cannot execute SELECT in a read-only transaction', '25006'],
      ['delete_in_transaction', 'cannot execute SELECT in a read-only transaction', '25006'],
    ]);
    const stillReadOnly = result.batches[0]?.batch.families.find((f) => f.name === 'custom.still_read_only');
    expect(stillReadOnly?.points).toEqual([{ attributes: {}, value: 1 }]);
  });

  it('columns named like the internals of an object are just columns', async () => {
    // Arrange: the value in a column named __proto__, an attribute in one named constructor.
    const [query] = customQueryDefinitions([
      {
        ...gaugeQuery(
          'internals',
          `SELECT 7 AS "__proto__", 'c' AS "constructor", 'x' AS "toString", 'p' AS proto`,
        ),
        metrics: [
          {
            name: 'custom.internals',
            value_column: '__proto__',
            data_type: 'gauge',
            unit: '',
            description: '',
            attributes: [
              { column: 'constructor' },
              { column: 'toString' },
              { column: 'proto', name: '__proto__' },
            ],
          },
        ],
      },
    ]);

    // Act
    const result = await collect(
      connectionTarget('read-only', parseDsn(server.dsn()), { environment: 'test' }),
      { tiers: ['critical'], scheduledAtMs: Date.now(), ignoreIntervals: true },
      { queries: query === undefined ? [] : [query], limits: DEFAULT_LIMITS },
    );

    // Assess
    expect(result.queries.map((q) => [q.query, q.status, q.message])).toEqual([
      ['internals', 'ok', undefined],
    ]);
    const family = result.batches[0]?.batch.families.find((f) => f.name === 'custom.internals');
    expect(family?.points.map((p) => [Object.entries(p.attributes), p.value])).toEqual([
      [
        [
          ['constructor', 'c'],
          ['toString', 'x'],
          ['__proto__', 'p'],
        ],
        7,
      ],
    ]);
    expect(Object.getPrototypeOf(family?.points[0]?.attributes)).toBe(Object.prototype);
  });
});
