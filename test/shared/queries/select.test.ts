import { describe, expect, it } from 'vitest';
import { effectiveInterval, isDue, pickSql } from '../../../shared/queries/select.ts';
import type { QueryDefinition } from '../../../shared/queries/types.ts';

const checkpoints: QueryDefinition = {
  name: 'checkpointer',
  tier: 'standard',
  scope: 'cluster',
  sql: [
    { maxMajor: 16, sql: 'SELECT FROM pg_stat_bgwriter' },
    { minMajor: 17, sql: 'SELECT FROM pg_stat_checkpointer' },
  ],
  metrics: [],
};
const replicaOnly: QueryDefinition = {
  ...checkpoints,
  name: 'replica',
  sql: [{ role: 'replica', sql: 'SELECT 1' }],
};
/** A historical query configured to run every other historical run (the tier runs every 240 s). */
const indexStats: QueryDefinition = {
  ...checkpoints,
  name: 'index_stats',
  tier: 'historical',
  intervalSeconds: 480,
};

describe('pickSql', () => {
  it('chooses the SQL for the server major version', () => {
    expect(pickSql(checkpoints, { major: 13, role: 'primary' })?.sql).toBe('SELECT FROM pg_stat_bgwriter');
    expect(pickSql(checkpoints, { major: 16, role: 'primary' })?.sql).toBe('SELECT FROM pg_stat_bgwriter');
    expect(pickSql(checkpoints, { major: 17, role: 'primary' })?.sql).toBe(
      'SELECT FROM pg_stat_checkpointer',
    );
    expect(pickSql(checkpoints, { major: 18, role: 'replica' })?.sql).toBe(
      'SELECT FROM pg_stat_checkpointer',
    );
  });

  it('returns nothing when the role does not match', () => {
    expect(pickSql(replicaOnly, { major: 17, role: 'primary' })).toBeUndefined();
    expect(pickSql(replicaOnly, { major: 17, role: 'replica' })?.sql).toBe('SELECT 1');
  });
});

describe('isDue', () => {
  const at = (iso: string) => Date.parse(iso);

  it('runs a query whose interval equals its tier on every run of that tier only', () => {
    expect(isDue(checkpoints, 'standard', at('2026-11-21T10:07:00Z'), {})).toBe(true);
    expect(isDue(checkpoints, 'critical', at('2026-11-21T10:07:00Z'), {})).toBe(false);
  });

  it('runs a 480 s query in every other 240 s historical run', () => {
    const runs = ['10:00:00', '10:04:00', '10:08:00', '10:12:00', '10:16:00'].map((t) =>
      isDue(indexStats, 'historical', at(`2026-11-21T${t}Z`), {}),
    );
    expect(runs).toEqual([true, false, true, false, true]);
  });

  it('is decided by the slot, so a late invocation decides like an on-time one', () => {
    expect(isDue(indexStats, 'historical', at('2026-11-21T10:00:42Z'), {})).toBe(true);
    expect(isDue(indexStats, 'historical', at('2026-11-21T10:04:42Z'), {})).toBe(false);
  });

  it('honours config overrides and never runs faster than the tier', () => {
    expect(effectiveInterval(indexStats, { index_stats: 1800 })).toBe(1800);
    expect(effectiveInterval(indexStats, { index_stats: 10 })).toBe(240);
    const hourly = ['10:00:00', '10:04:00', '10:32:00', '11:00:00'].map((t) =>
      isDue(indexStats, 'historical', at(`2026-11-21T${t}Z`), { index_stats: 3600 }),
    );
    expect(hourly).toEqual([true, false, false, true]);
  });
});
