import { describe, expect, it } from 'vitest';
import { FamilyBuilder } from '../../../shared/collect/families.ts';
import { QueryShapeError, rowsToPoints } from '../../../shared/collect/run-query.ts';
import type { ServerInfo } from '../../../shared/db/server-info.ts';
import type { QueryDefinition } from '../../../shared/queries/types.ts';

const server: ServerInfo = {
  major: 17,
  versionNum: 170002,
  version: '17.2',
  role: 'primary',
  database: 'postgres',
  startedAtMs: Date.parse('2026-11-20T00:00:00Z'),
  relations: new Set(),
};

const tuples: QueryDefinition = {
  name: 'database_stats',
  tier: 'standard',
  scope: 'database',
  sql: [{ sql: 'unused' }],
  metrics: [
    {
      name: 'postgresql.database.tuples',
      kind: 'counter',
      unit: '{tuple}',
      description: 'tuples',
      valueColumn: 'tup_inserted',
      attributes: [{ column: 'datname', name: 'db' }],
      staticAttributes: { operation: 'inserted' },
      startTimeColumn: 'stats_reset',
    },
    {
      name: 'postgresql.database.tuples',
      kind: 'counter',
      unit: '{tuple}',
      description: 'tuples',
      valueColumn: 'tup_deleted',
      attributes: [{ column: 'datname', name: 'db' }],
      staticAttributes: { operation: 'deleted' },
      startTimeColumn: 'stats_reset',
    },
    { name: 'pg.time', kind: 'gauge', unit: 's', description: '', valueColumn: 'ms', scale: 0.001 },
  ],
};

describe('rowsToPoints', () => {
  it('maps columns to points with attributes, scale and start time', () => {
    const reset = new Date('2026-11-21T08:00:00Z');
    const points = rowsToPoints(
      tuples,
      [{ datname: 'shop', tup_inserted: '9007199254740', tup_deleted: 7, stats_reset: reset, ms: 1500 }],
      {
        server,
        database: 'shop',
      },
    );

    expect(points.map((p) => [p.mapping.name, p.point])).toEqual([
      [
        'postgresql.database.tuples',
        {
          attributes: { database_name: 'shop', db: 'shop', operation: 'inserted' },
          value: 9007199254740,
          startTimeMs: reset.getTime(),
        },
      ],
      [
        'postgresql.database.tuples',
        {
          attributes: { database_name: 'shop', db: 'shop', operation: 'deleted' },
          value: 7,
          startTimeMs: reset.getTime(),
        },
      ],
      ['pg.time', { attributes: { database_name: 'shop' }, value: 1.5 }],
    ]);
  });

  it('uses the server start when stats_reset is NULL, and yields no point for a NULL value', () => {
    const points = rowsToPoints(
      tuples,
      [{ datname: null, tup_inserted: true, tup_deleted: null, stats_reset: null, ms: null }],
      { server },
    );

    expect(points.map((p) => p.point)).toEqual([
      { attributes: { operation: 'inserted' }, value: 1, startTimeMs: server.startedAtMs },
    ]);
  });

  it('refuses a non-numeric value, naming the column and row', () => {
    expect(() =>
      rowsToPoints(
        tuples,
        [
          { datname: 'a', tup_inserted: 1, tup_deleted: 2, ms: 3 },
          { datname: 'b', tup_inserted: 'many', tup_deleted: 2, ms: 3 },
        ],
        { server },
      ),
    ).toThrow(new QueryShapeError('value column "tup_inserted" is not numeric (row 2: "many")'));
  });
});

describe('FamilyBuilder', () => {
  it('keeps the first of two identical series and reports the rest', () => {
    const builder = new FamilyBuilder();
    const mapping = { name: 'm', kind: 'gauge', unit: '1', description: '', valueColumn: 'v' } as const;

    const problems = builder.add([
      { mapping, point: { attributes: { a: '1' }, value: 1 } },
      { mapping, point: { attributes: { a: '1' }, value: 2 } },
      { mapping, point: { attributes: { a: '2' }, value: 3 } },
      { mapping: { ...mapping, kind: 'counter' }, point: { attributes: { a: '3' }, value: 4 } },
    ]);

    expect(problems).toEqual([
      'metric m is already defined as gauge in "1"',
      '1 rows repeated a series already collected and were dropped',
    ]);
    expect(builder.build()).toEqual([
      {
        name: 'm',
        unit: '1',
        description: '',
        kind: 'gauge',
        points: [
          { attributes: { a: '1' }, value: 1 },
          { attributes: { a: '2' }, value: 3 },
        ],
      },
    ]);
  });

  it('knows a series by its attribute set, whatever the order the attributes came in', () => {
    const builder = new FamilyBuilder();
    const mapping = { name: 'm', kind: 'gauge', unit: '1', description: '', valueColumn: 'v' } as const;

    const problems = builder.add([
      { mapping, point: { attributes: { table: 't', schema: 's', database: 'd' }, value: 1 } },
      { mapping, point: { attributes: { database: 'd', schema: 's', table: 't' }, value: 2 } },
      { mapping, point: { attributes: { schema: 'd', database: 's', table: 't' }, value: 3 } },
      { mapping, point: { attributes: { database: 'd', schema: 's' }, value: 4 } },
      { mapping, point: { attributes: { database: 'd', schema: 's', table: 't', x: '' }, value: 5 } },
    ]);

    expect(problems).toEqual(['1 rows repeated a series already collected and were dropped']);
    expect(builder.build()[0]?.points.map((p) => p.value)).toEqual([1, 3, 4, 5]);
  });
});
