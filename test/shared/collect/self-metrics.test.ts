import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect } from '../../../shared/collect/collect.ts';
import type { QueryReport } from '../../../shared/collect/run-query.ts';
import { selfMetricPoints } from '../../../shared/collect/self-metrics.ts';
import { connectionTarget } from '../../../shared/config/local-target.ts';
import { parseDsn } from '../../../shared/db/connection.ts';
import { BUILTIN_QUERIES, DEFAULT_LIMITS } from '../../../shared/queries/catalog.ts';
import { type PgInstance, startPostgres } from '../../helpers/postgres.ts';

/** At most six decimals: whole microseconds, without binary floating-point noise. */
const MICROSECONDS = /^\d+(\.\d{1,6})?$/;

function report(query: string, durationMs: number): QueryReport {
  return { query, tier: 'critical', origin: 'builtin', status: 'ok', durationMs, rows: 1, points: 1 };
}

describe('selfMetricPoints', () => {
  it('rounds durations to whole microseconds', () => {
    // Prepare: performance.now() differences as they come, and a sum of two that adds float noise.
    const reports = [report('activity', 0.6336959999999862), report('locks', 0.1), report('locks', 0.2)];

    // Act
    const points = selfMetricPoints({ up: 1, reports, durationMs: 12.345678901, series: 3 });

    // Assess
    const durations = Object.fromEntries(
      points
        .filter((p) => p.mapping.unit === 's')
        .map((p) => [`${p.mapping.name} ${p.point.attributes.query ?? ''}`, p.point.value]),
    );
    expect(durations).toEqual({
      'pgotel.collection.duration ': 0.012346,
      'pgotel.query.duration activity': 0.000634,
      'pgotel.query.duration locks': 0.0003,
    });
  });
});

describe('self-metrics of a run against PostgreSQL', () => {
  let server: PgInstance;

  beforeAll(async () => {
    server = await startPostgres();
  });

  afterAll(async () => {
    await server?.destroy();
  });

  it('reports every duration in whole microseconds', async () => {
    // Act
    const result = await collect(
      connectionTarget('self-metrics-test', parseDsn(server.dsn()), { environment: 'test' }),
      { tiers: ['critical', 'standard'], scheduledAtMs: Date.now(), ignoreIntervals: true },
      { queries: BUILTIN_QUERIES, limits: DEFAULT_LIMITS },
    );

    // Assess
    expect(result.up).toBe(1);
    const durations = result.batches.flatMap(({ batch }) =>
      batch.families
        .filter((f) => f.name === 'pgotel.query.duration' || f.name === 'pgotel.collection.duration')
        .flatMap((f) => f.points.map((p) => `${f.name}${JSON.stringify(p.attributes)} ${p.value}`)),
    );
    expect(durations.length).toBeGreaterThan(10);
    expect(durations.filter((d) => !MICROSECONDS.test(d.slice(d.lastIndexOf(' ') + 1)))).toEqual([]);
  });
});
