import { describe, expect, it } from 'vitest';
import { toPrometheusText } from '../../../shared/export/prom-text.ts';
import type { MetricBatch } from '../../../shared/model/metrics.ts';
import { promtoolCheckMetrics } from '../../helpers/prometheus.ts';

const resource = {
  'service.name': 'orders',
  'service.instance.id': 'orders-primary',
  'db.system': 'postgresql',
};

describe('toPrometheusText', () => {
  it('renders HELP, TYPE, escaped labels and special values, without timestamps', () => {
    // Prepare
    const batch: MetricBatch = {
      resource: { 'service.name': 'svc' },
      timeMs: 1000,
      families: [
        {
          name: 'postgresql.database.transactions',
          unit: '{transaction}',
          kind: 'counter',
          description: 'Committed\ntransactions \\ total',
          points: [
            { attributes: { 'database.name': 'a"b\\c\nd' }, value: 12 },
            { attributes: { 'database.name': 'z' }, value: Number.POSITIVE_INFINITY },
          ],
        },
        {
          name: 'postgresql.cache_hit_ratio',
          unit: '1',
          kind: 'gauge',
          description: '',
          points: [{ attributes: {}, value: Number.NaN }],
        },
      ],
    };
    // Act
    const text = toPrometheusText(batch);
    // Assess
    expect(text).toBe(
      [
        '# HELP postgresql_database_transactions_total Committed\\ntransactions \\\\ total',
        '# TYPE postgresql_database_transactions_total counter',
        'postgresql_database_transactions_total{database_name="a\\"b\\\\c\\nd",job="svc",service_name="svc"} 12',
        'postgresql_database_transactions_total{database_name="z",job="svc",service_name="svc"} +Inf',
        '# HELP postgresql_cache_hit_ratio postgresql.cache_hit_ratio (1)',
        '# TYPE postgresql_cache_hit_ratio gauge',
        'postgresql_cache_hit_ratio{job="svc",service_name="svc"} NaN',
        '',
      ].join('\n'),
    );
  });

  it('passes `promtool check metrics` with zero problems for catalog-style families', async () => {
    // Prepare: the kinds of names, units and labels the collector produces.
    const batch: MetricBatch = {
      resource: { ...resource, 'deployment.environment': 'prod', 'db.role': 'primary', team: 'data "core"' },
      timeMs: Date.now(),
      families: [
        {
          name: 'up',
          unit: '1',
          kind: 'gauge',
          description: 'Whether the database answered.',
          points: [{ attributes: {}, value: 1 }],
        },
        {
          name: 'postgresql.database.size',
          unit: 'By',
          kind: 'gauge',
          description: 'Database size.',
          points: [
            { attributes: { 'database.name': 'app' }, value: 8_000_000 },
            { attributes: { 'database.name': 'weird\nname\\"' }, value: 7_000_000 },
          ],
        },
        {
          name: 'postgresql.database.transactions',
          unit: '{transaction}',
          kind: 'counter',
          description: 'Transactions.',
          points: [{ attributes: { 'database.name': 'app', state: 'committed' }, value: 1234 }],
        },
        {
          name: 'postgresql.cache_hit_ratio',
          unit: '1',
          kind: 'gauge',
          description: 'Cache hit ratio.',
          points: [{ attributes: {}, value: 0.99 }],
        },
        {
          name: 'postgresql.connections.active',
          unit: '{connection}',
          kind: 'gauge',
          description: 'Active connections.',
          points: [{ attributes: {}, value: 3 }],
        },
        {
          name: 'postgresql.replication.lag_seconds',
          unit: 's',
          kind: 'gauge',
          description: 'Replication lag.',
          points: [{ attributes: { 'application.name': 'r1' }, value: 0.25 }],
        },
        {
          name: 'postgresql.wal.written',
          unit: 'By',
          kind: 'counter',
          description: 'WAL bytes.',
          points: [{ attributes: {}, value: 1e12 }],
        },
      ],
    };
    // Act
    const result = await promtoolCheckMetrics(toPrometheusText(batch));
    // Assess
    expect(result).toEqual({ code: 0, output: '' });
  });

  it('is caught by promtool when a name breaks its lint rules (the check can fail)', async () => {
    const text = '# HELP requests_count x\n# TYPE requests_count counter\nrequests_count 1\n';
    const result = await promtoolCheckMetrics(text);
    expect(result.code).toBe(3);
    expect(result.output).toContain('counter metrics should have "_total" suffix');
  });
});
