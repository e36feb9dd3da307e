import { describe, expect, it } from 'vitest';
import { MEASURE_ALL, SizeMemory } from '../../../shared/collect/size-memory.ts';

/** The memory alone; what the queries do with it is tested against PostgreSQL in the catalog tests. */
describe('SizeMemory', () => {
  const rows = [
    { relid: '16390', size_signature: '16390:0:12', size_bytes: '8192' },
    { relid: '16400', size_signature: '16400:0:3', size_bytes: 24576 },
    // The summary row of a per-relation query: nothing to remember.
    { relid: null, size_signature: null, size_bytes: null, excluded_cap: '0' },
  ];

  it('measures everything first, then reuses what the last run reported until the full-pass interval', () => {
    // Prepare
    let now = 1_000_000;
    const memory = new SizeMemory({ fullPassSeconds: 3600, now: () => now });

    // Act
    const first = memory.scope('t', 'shop', 'table_stats');
    first.keep(rows);
    now += 3_599_999;
    const second = memory.scope('t', 'shop', 'table_stats');
    const otherDatabase = memory.scope('t', 'app', 'table_stats');
    const otherQuery = memory.scope('t', 'shop', 'index_stats');
    second.keep(rows.slice(0, 1));
    now += 1;
    const third = memory.scope('t', 'shop', 'table_stats');

    // Assess
    expect(first).toMatchObject({ full: true, remembered: MEASURE_ALL });
    expect(second).toMatchObject({
      full: false,
      remembered: {
        oids: ['16390', '16400'],
        signatures: ['16390:0:12', '16400:0:3'],
        sizes: ['8192', '24576'],
      },
    });
    expect(otherDatabase.full).toBe(true);
    expect(otherQuery.full).toBe(true);
    // The interval runs from the last full pass, not from the last run.
    expect(third).toMatchObject({ full: true, remembered: MEASURE_ALL });
  });

  it('keeps only the relations of the last run', () => {
    // Prepare
    let now = 0;
    const memory = new SizeMemory({ now: () => now });
    memory.scope('t', 'shop', 'table_stats').keep(rows);

    // Act
    now += 1000;
    memory.scope('t', 'shop', 'table_stats').keep(rows.slice(1, 2));
    now += 1000;

    // Assess
    expect(memory.scope('t', 'shop', 'table_stats').remembered).toEqual({
      oids: ['16400'],
      signatures: ['16400:0:3'],
      sizes: ['24576'],
    });
  });

  it('with a full-pass interval of 0 measures every relation every time', () => {
    const memory = new SizeMemory({ fullPassSeconds: 0, now: () => 5 });
    memory.scope('t', 'shop', 'table_stats').keep(rows);
    expect(memory.scope('t', 'shop', 'table_stats').full).toBe(true);
  });

  it('holds at most maxRelations, forgetting the scopes kept least recently', () => {
    // Prepare
    const memory = new SizeMemory({ maxRelations: 4, now: () => 0 });
    const two = rows.slice(0, 2);

    // Act
    memory.scope('a', 'db', 'table_stats').keep(two);
    memory.scope('b', 'db', 'table_stats').keep(two);
    memory.scope('a', 'db', 'table_stats').keep(two);
    memory.scope('c', 'db', 'table_stats').keep(two);

    // Assess: b was kept least recently.
    expect(memory.size).toBe(4);
    expect(memory.scope('b', 'db', 'table_stats').full).toBe(true);
    expect(memory.scope('a', 'db', 'table_stats').full).toBe(false);
    expect(memory.scope('c', 'db', 'table_stats').full).toBe(false);
  });

  it('refuses a negative or non-numeric interval, naming it', () => {
    expect(() => new SizeMemory({ fullPassSeconds: -1 })).toThrow(
      'fullPassSeconds must be a number of seconds >= 0, got -1',
    );
    expect(() => new SizeMemory({ fullPassSeconds: Number.NaN })).toThrow(
      'fullPassSeconds must be a number of seconds >= 0, got NaN',
    );
    expect(() => new SizeMemory({ maxRelations: 1.5 })).toThrow(
      'maxRelations must be a whole number >= 0, got 1.5',
    );
  });
});
