import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remoteWrite } from '../../../shared/export/remote-write.ts';
import { toTimeSeries } from '../../../shared/export/remote-write-labels.ts';
import type { TimeSeries } from '../../../shared/export/remote-write-series.ts';
import { seriesKey, staleMarkers } from '../../../shared/export/staleness.ts';
import type { MetricBatch, MetricFamily } from '../../../shared/model/metrics.ts';
import { type PromInstance, type PromSample, startPrometheus } from '../../helpers/prometheus.ts';

/**
 * Remote-write against a real Prometheus (the receiver, its label validation, its staleness handling),
 * asserted through PromQL.
 */

let prom: PromInstance;
beforeAll(async () => {
  prom = await startPrometheus();
});
afterAll(async () => {
  await prom?.destroy();
});

const deadline = (): number => Date.now() + 30_000;

/** What Prometheus stores for a label value: UTF-8, so lone surrogates come back as U+FFFD. */
const stored = (text: string): string => Buffer.from(text, 'utf8').toString('utf8');

function expectedSamples(
  series: readonly TimeSeries[],
): Array<{ metric: Record<string, string>; value: number }> {
  return series.map((s) => ({
    metric: Object.fromEntries(s.labels.map((l) => [l.name, stored(l.value)])),
    value: s.samples[0]?.value ?? Number.NaN,
  }));
}

const byLabels = (a: { metric: Record<string, string> }, b: { metric: Record<string, string> }): number =>
  JSON.stringify(a.metric) < JSON.stringify(b.metric) ? -1 : 1;

function actualSamples(result: PromSample[]): Array<{ metric: Record<string, string>; value: number }> {
  return result.map(({ metric, value }) => ({ metric, value })).sort(byLabels);
}

const family = (
  name: string,
  unit: string,
  kind: MetricFamily['kind'],
  points: MetricFamily['points'],
): MetricFamily => ({
  name,
  unit,
  kind,
  description: '',
  points,
});

describe('remote-write to a real Prometheus', () => {
  it('stores exactly the values, label sets and series of a batch', async () => {
    // Prepare
    const timeMs = Date.now() - 1000;
    const batch: MetricBatch = {
      resource: {
        'service.name': 'orders',
        'service.instance.id': 'orders-primary',
        'db.system': 'postgresql',
        'db.cluster': 'c1',
        'deployment.environment': 'test',
        'db.version': '16.2',
        'db.role': 'primary',
        team: 'data',
      },
      timeMs,
      families: [
        family('up', '1', 'gauge', [{ attributes: {}, value: 1 }]),
        family('postgresql.database.size', 'By', 'gauge', [
          { attributes: { 'database.name': 'app' }, value: 8_000_000 },
          { attributes: { 'database.name': 'postgres' }, value: 7_500_000 },
        ]),
        family('postgresql.database.transactions', '{transaction}', 'counter', [
          { attributes: { 'database.name': 'app' }, value: 1234 },
        ]),
        family('postgresql.cache_hit_ratio', '1', 'gauge', [{ attributes: {}, value: 0.987654321 }]),
      ],
    };
    const series = toTimeSeries(batch);
    // Act
    const report = await remoteWrite(series, { url: prom.writeUrl, deadlineMs: deadline() });
    const result = await prom.query('{job="orders"}', timeMs / 1000);
    // Assess
    expect(report).toMatchObject({
      ok: true,
      requests: 1,
      attempts: 1,
      seriesSent: 5,
      samplesSent: 5,
      lastStatus: 204,
    });
    expect(actualSamples(result)).toEqual(expectedSamples(series).sort(byLabels));
    expect(result.map((r) => r.timestampSec)).toEqual(result.map(() => timeMs / 1000));
    expect(await prom.seriesCount('{job="orders"}')).toBe(5);
    expect(
      (await prom.query('postgresql_database_size_bytes{database_name="app"}', timeMs / 1000)).map(
        (r) => r.value,
      ),
    ).toEqual([8_000_000]);
  });

  it('ends a vanished series at its stale marker; without one it lingers', async () => {
    // Prepare: two jobs with the same two series; the second run drops table `b` in both.
    const t1 = Date.now() - 30_000;
    const t2 = t1 + 15_000;
    const batchAt = (job: string, timeMs: number, tables: string[]): TimeSeries[] =>
      toTimeSeries({
        resource: { 'service.name': job },
        timeMs,
        families: [
          family(
            'postgresql.table.size',
            'By',
            'gauge',
            tables.map((t) => ({ attributes: { table: t }, value: 1 })),
          ),
        ],
      });
    const first = [...batchAt('marked', t1, ['a', 'b']), ...batchAt('unmarked', t1, ['a', 'b'])];
    const marked = batchAt('marked', t2, ['a']);
    const markers = staleMarkers(
      batchAt('marked', t1, ['a', 'b']).map((s) => seriesKey(s.labels)),
      marked,
      t2,
    );
    // Act
    const r1 = await remoteWrite(first, { url: prom.writeUrl, deadlineMs: deadline() });
    const r2 = await remoteWrite([...marked, ...markers, ...batchAt('unmarked', t2, ['a'])], {
      url: prom.writeUrl,
      deadlineMs: deadline(),
    });
    const tablesAt = async (job: string, timeMs: number): Promise<string[]> =>
      (await prom.query(`postgresql_table_size_bytes{job="${job}"}`, timeMs / 1000))
        .map((r) => r.metric.table ?? '')
        .sort();
    // Assess
    expect([r1.ok, r2.ok]).toEqual([true, true]);
    expect(markers).toHaveLength(1);
    expect(await tablesAt('marked', t1)).toEqual(['a', 'b']);
    expect(await tablesAt('marked', t2 + 1000)).toEqual(['a']);
    expect(await tablesAt('unmarked', t2 + 1000)).toEqual(['a', 'b']);
  });

  it('answers a duplicate label name with 500, and never gets one from toTimeSeries even for the nastiest batch', async () => {
    // Prepare: a hand-made request with a duplicate label name, which the encoder itself never builds.
    const timeMs = Date.now() - 1000;
    const duplicate: TimeSeries[] = [
      {
        labels: [
          { name: '__name__', value: 'dup_test' },
          { name: 'a', value: '1' },
          { name: 'a', value: '2' },
        ],
        samples: [{ value: 1, timestampMs: timeMs }],
      },
    ];
    const nasty: MetricBatch = {
      resource: {
        'service.name': 'nasty',
        'service.namespace': 'ns',
        'service.instance.id': 'inst',
        job: 'resource-job',
        instance: 'resource-instance',
        'db.system': 'postgresql',
        db_system: 'pg',
        'db-system': 'p',
        __name__: 'evil',
        '': 'no key',
        'empty.value': '',
        'é.key': 'é',
        '2nd': 'digit',
        _under: 'score',
        'quote"key': 'a "quoted"\nvalue\\',
      },
      timeMs,
      families: [
        family('postgresql.table.size', 'By', 'gauge', [
          { attributes: { 'db.system': 'point-wins', job: 'point-job', table: 't1' }, value: 1 },
          { attributes: { db_system: 'point-wins', job: 'point-job', table: 't1' }, value: 2 }, // same label set as above
          {
            attributes: { 'a.b': 'x', a_b: 'y', 'a-b': '', table: 'lone \ud800 surrogate 😀' },
            value: Number.NaN,
          },
          { attributes: { __name__: 'not-the-name', table: 't2' }, value: Number.POSITIVE_INFINITY },
          { attributes: { table: 't3', instance: '' }, value: Number.NEGATIVE_INFINITY },
        ]),
        family('postgresql_table.size', 'By', 'gauge', [
          { attributes: { table: 't1', job: 'point-job', db_system: 'point-wins' }, value: 3 },
        ]),
        family('postgresql.table.size.bytes', '', 'gauge', [{ attributes: { table: 't4' }, value: -0 }]),
        family('up', '1', 'gauge', [{ attributes: {}, value: 1 }]),
        family('...', 'By', 'gauge', [{ attributes: {}, value: 1 }]),
        family('postgresql.big', '1', 'counter', [{ attributes: { 'A.Upper': 'u' }, value: 1e308 }]),
      ],
    };
    const series = toTimeSeries(nasty);
    // Act
    const rejected = await remoteWrite(duplicate, {
      url: prom.writeUrl,
      deadlineMs: deadline(),
      maxAttempts: 1,
    });
    const accepted = await remoteWrite(series, {
      url: prom.writeUrl,
      deadlineMs: deadline(),
      maxAttempts: 1,
    });
    const result = await prom.query('{service_name="nasty"}', timeMs / 1000);
    // Assess
    expect(rejected).toMatchObject({ ok: false, attempts: 1, lastStatus: 500 });
    expect(rejected.errors[0]).toBe(
      `request 1/1 (1 series, 1 samples) to ${prom.writeUrl}: gave up after 1 attempts: HTTP 500: label name "a" is not unique: invalid sample`,
    );
    expect(accepted).toMatchObject({ ok: true, attempts: 1, lastStatus: 204, samplesSent: 7, errors: [] });
    expect(series).toHaveLength(7);
    expect(actualSamples(result)).toEqual(expectedSamples(series).sort(byLabels));
    expect(await prom.seriesCount('{service_name="nasty"}')).toBe(7);
  });
});
