import type { MetricMapping } from '../queries/types.ts';
import type { MappedPoint, QueryReport } from './run-query.ts';

const UP: MetricMapping = {
  name: 'up',
  kind: 'gauge',
  unit: '1',
  description: '1 when the target answered and was inspected, 0 when it could not be reached',
  valueColumn: 'up',
};
const RUN_DURATION: MetricMapping = {
  name: 'pgotel.collection.duration',
  kind: 'gauge',
  unit: 's',
  description: 'Wall time of this collection run',
  valueColumn: 'duration',
};
const SERIES: MetricMapping = {
  name: 'pgotel.collection.series',
  kind: 'gauge',
  unit: '{series}',
  description: 'Series produced by this collection run, self-metrics excluded',
  valueColumn: 'series',
};
const QUERY_DURATION: MetricMapping = {
  name: 'pgotel.query.duration',
  kind: 'gauge',
  unit: 's',
  description:
    "Round trip of one query's statement in this run, rows read (summed over databases for per-database queries)",
  valueColumn: 'duration',
};
const QUERY_ERRORS: MetricMapping = {
  name: 'pgotel.query.errors',
  kind: 'gauge',
  unit: '{error}',
  description: 'Failed executions of one query in this run (one per failing database)',
  valueColumn: 'errors',
};

/**
 * Milliseconds from `performance.now()` differences to seconds, in whole microseconds: the raw quotient
 * carries binary noise (`0.0006336959999999862`) that costs bytes in every export and means nothing.
 */
function seconds(ms: number): number {
  return Math.round(ms * 1000) / 1e6;
}

/** `up`, run duration, series count, and per-query duration and error count for one run. */
export function selfMetricPoints(run: {
  readonly up: 0 | 1;
  readonly reports: readonly QueryReport[];
  readonly durationMs: number;
  readonly series: number;
}): MappedPoint[] {
  const points: MappedPoint[] = [
    { mapping: UP, point: { attributes: {}, value: run.up } },
    { mapping: RUN_DURATION, point: { attributes: {}, value: seconds(run.durationMs) } },
  ];
  if (run.up === 1) points.push({ mapping: SERIES, point: { attributes: {}, value: run.series } });
  const perQuery = new Map<string, { tier: string; durationMs: number; errors: number }>();
  for (const report of run.reports) {
    if (report.status === 'skipped') continue;
    const entry = perQuery.get(report.query) ?? { tier: report.tier, durationMs: 0, errors: 0 };
    entry.durationMs += report.durationMs;
    if (report.status === 'error') entry.errors += 1;
    perQuery.set(report.query, entry);
  }
  for (const [query, entry] of perQuery) {
    const attributes = { query, tier: entry.tier };
    points.push({ mapping: QUERY_DURATION, point: { attributes, value: seconds(entry.durationMs) } });
    points.push({ mapping: QUERY_ERRORS, point: { attributes, value: entry.errors } });
  }
  return points;
}
