import { describe, expect, it } from 'vitest';
import {
  isValidLabelName,
  prometheusMetricName,
  sanitizeLabelName,
} from '../../../shared/export/prom-names.ts';
import {
  eachTimeSeriesWithKeys,
  toTimeSeries,
  toTimeSeriesWithKeys,
} from '../../../shared/export/remote-write-labels.ts';
import { encodeWriteRequest } from '../../../shared/export/remote-write-proto.ts';
import type { TimeSeries } from '../../../shared/export/remote-write-series.ts';
import { seriesKey } from '../../../shared/export/staleness.ts';
import type { MetricBatch, MetricFamily } from '../../../shared/model/metrics.ts';
import { decodeWriteRequest } from '../../helpers/remote-write-decode.ts';
import { batchOf, gauge, prng } from './fixtures.ts';

describe('toTimeSeries', () => {
  it('builds sorted labels with job, instance, resource and point attributes', () => {
    // Prepare
    const batch = batchOf(
      {
        'service.name': 'orders',
        'service.namespace': 'shop',
        'service.instance.id': 'orders-primary',
        'db.system': 'postgresql',
        'deployment.environment': 'prod',
      },
      [gauge('postgresql.database.size', [{ attributes: { 'database.name': 'app' }, value: 42 }], 'By')],
      1234,
    );
    // Act
    const series = toTimeSeries(batch);
    // Assess
    expect(series).toEqual([
      {
        labels: [
          { name: '__name__', value: 'postgresql_database_size_bytes' },
          { name: 'database_name', value: 'app' },
          { name: 'db_system', value: 'postgresql' },
          { name: 'deployment_environment', value: 'prod' },
          { name: 'instance', value: 'orders-primary' },
          { name: 'job', value: 'shop/orders' },
          { name: 'service_instance_id', value: 'orders-primary' },
          { name: 'service_name', value: 'orders' },
          { name: 'service_namespace', value: 'shop' },
        ],
        samples: [{ value: 42, timestampMs: 1234 }],
      },
    ]);
  });

  it('merges colliding names deterministically: point > job/instance > resource, `;` within a level', () => {
    // Prepare
    const batch = batchOf(
      {
        'service.name': 'svc',
        'db.system': 'postgresql',
        db_system: 'pg',
        job: 'resource-job',
        'service.instance.id': 'i1',
      },
      [
        gauge('m', [
          {
            attributes: {
              'db.role': 'x',
              db_role: 'y',
              'db.system': 'point',
              instance: 'point-instance',
              empty: '',
            },
            value: 1,
          },
          { attributes: { __name__: 'evil', '': 'no-name', Zone: 'a' }, value: 2 },
        ]),
      ],
    );
    // Act
    const series = toTimeSeries(batch);
    // Assess
    expect(series.map((s) => s.labels)).toEqual([
      [
        { name: '__name__', value: 'm_ratio' },
        { name: 'db_role', value: 'x;y' }, // keys `db.role` < `db_role` in byte order
        { name: 'db_system', value: 'point' },
        { name: 'instance', value: 'point-instance' },
        { name: 'job', value: 'svc' },
        { name: 'service_instance_id', value: 'i1' },
        { name: 'service_name', value: 'svc' },
      ],
      [
        { name: 'Zone', value: 'a' }, // uppercase sorts before `_`
        { name: '__name__', value: 'm_ratio' },
        { name: 'db_system', value: 'postgresql;pg' },
        { name: 'instance', value: 'i1' },
        { name: 'job', value: 'svc' },
        { name: 'key__name__', value: 'evil' },
        { name: 'service_instance_id', value: 'i1' },
        { name: 'service_name', value: 'svc' },
      ],
    ]);
  });

  it('keeps the first of two points that end up with one label set, and reports the drop', () => {
    // Prepare: `a.b` and `a_b` sanitise to one name, so both points are `{a_b="1"}`.
    const drops: string[] = [];
    const family = gauge('m', [
      { attributes: { 'a.b': '1' }, value: 1 },
      { attributes: { a_b: '1' }, value: 2 },
      { attributes: { a_b: '2' }, value: 3 },
    ]);
    // Act
    const series = toTimeSeries(
      batchOf({}, [family, { ...family, points: [{ attributes: { a_b: '2' }, value: 4 }] }]),
      {
        onDrop: (reason, f) => drops.push(`${reason}:${f.name}`),
      },
    );
    // Assess
    expect(series.map((s) => s.samples[0]?.value)).toEqual([1, 3]);
    expect(drops).toEqual(['duplicate-series:m', 'duplicate-series:m']);
  });

  it('skips a family whose name cannot be made valid', () => {
    const drops: string[] = [];
    const series = toTimeSeries(
      batchOf({}, [
        gauge('...', [{ attributes: {}, value: 1 }]),
        gauge('ok', [{ attributes: {}, value: 2 }]),
      ]),
      {
        onDrop: (reason) => drops.push(reason),
      },
    );
    expect(series.map((s) => s.labels)).toEqual([[{ name: '__name__', value: 'ok_ratio' }]]);
    expect(drops).toEqual(['invalid-name']);
  });

  it('upholds the label rules for random nasty batches (property)', () => {
    // Prepare: keys built to collide after sanitising, with reserved, empty and non-ASCII pieces.
    const keyPieces = [
      'db.system',
      'db_system',
      'db-system',
      'job',
      'instance',
      '__name__',
      '_x',
      '2x',
      '',
      'é',
      'A',
      'a.b',
      'a_b',
      'service.name',
      'x',
    ];
    const valuePieces = ['', 'v', 'postgresql', '"', '\n', '\\', 'é', '😀', ';', ' '];
    for (let seed = 1; seed <= 300; seed++) {
      const random = prng(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
      const attrs = (n: number): Record<string, string> => {
        const out: Record<string, string> = {};
        for (let i = 0; i < n; i++)
          out[pick(keyPieces) + (random() < 0.3 ? pick(keyPieces) : '')] =
            pick(valuePieces) + pick(valuePieces);
        return out;
      };
      const families: MetricFamily[] = [];
      for (let f = 0; f < 3; f++) {
        const points = Array.from({ length: 1 + Math.floor(random() * 6) }, () => ({
          attributes: attrs(Math.floor(random() * 5)),
          value: random(),
        }));
        families.push({
          name: pick(['pg.a', 'pg_a', 'pg.b', 'up']),
          unit: pick(['1', 'By', '{x}']),
          kind: pick(['gauge', 'counter'] as const),
          description: '',
          points,
        });
      }
      const batch = batchOf(attrs(Math.floor(random() * 6)), families);

      // Act
      const series = toTimeSeries(batch);
      const decoded = decodeWriteRequest(encodeWriteRequest(series));

      // Assess
      const keys = new Set<string>();
      for (const s of decoded) {
        const names = s.labels.map((l) => l.name);
        expect(
          names.filter((n) => n === '__name__'),
          `seed ${seed}`,
        ).toHaveLength(1);
        for (let i = 1; i < names.length; i++)
          expect((names[i - 1] ?? '') < (names[i] ?? ''), `seed ${seed}: ${names.join(',')}`).toBe(true);
        for (const label of s.labels) {
          expect(
            label.name === '__name__' || isValidLabelName(label.name),
            `seed ${seed}: ${label.name}`,
          ).toBe(true);
          expect(label.value, `seed ${seed}: ${label.name}`).not.toBe('');
        }
        const key = JSON.stringify(s.labels);
        expect(keys.has(key), `seed ${seed}: duplicate series ${key}`).toBe(false);
        keys.add(key);
      }
      // Every metric name is the family's, and every point attribute without a same-level collision wins.
      const validNames = new Set(families.map((f) => prometheusMetricName(f)));
      for (const s of series)
        expect(validNames.has(s.labels.find((l) => l.name === '__name__')?.value ?? '')).toBe(true);
    }
  });

  it('lets a point attribute win over the resource attribute of the same name (property)', () => {
    for (let seed = 1; seed <= 100; seed++) {
      // Prepare
      const random = prng(seed);
      const value = `p${Math.floor(random() * 1000)}`;
      const key = ['db.system', 'job', 'instance', 'service.name', 'db_system'][seed % 5] ?? 'x';
      const batch = batchOf(
        { 'service.name': 's', 'service.instance.id': 'i', 'db.system': 'r', db_system: 'r2' },
        [gauge('m', [{ attributes: { [key]: value }, value: 1 }])],
      );
      // Act
      const [series] = toTimeSeries(batch);
      // Assess
      expect(series?.labels.find((l) => l.name === sanitizeLabelName(key))?.value).toBe(value);
    }
  });
});

describe('toTimeSeriesWithKeys', () => {
  /** A batch with colliding, reserved, empty, escaped and non-ASCII keys and values, and duplicate points. */
  function nastyBatch(seed: number): MetricBatch {
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const keyPieces = [
      'db.system',
      'db_system',
      'job',
      'instance',
      '__name__',
      '2x',
      '',
      'é',
      'A',
      'Zone',
      'x',
    ];
    const valuePieces = ['', 'v', '"', '\n', '\\', 'é', '😀', '\ud800', '\u007f', ' '];
    const attrs = (n: number): Record<string, string> => {
      const out: Record<string, string> = {};
      for (let i = 0; i < n; i++) out[pick(keyPieces)] = pick(valuePieces) + pick(valuePieces);
      return out;
    };
    return batchOf(
      { 'service.name': pick(['s', 'é"']), ...attrs(Math.floor(random() * 5)) },
      Array.from({ length: 1 + Math.floor(random() * 3) }, () =>
        gauge(
          pick(['pg.a', 'pg_a', 'up']),
          Array.from({ length: 1 + Math.floor(random() * 8) }, () => ({
            attributes: attrs(Math.floor(random() * 4)),
            value: random(),
          })),
        ),
      ),
    );
  }

  it('gives the series of toTimeSeries and exactly the seriesKey of each (property)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      // Prepare
      const batch = nastyBatch(seed);
      // Act
      const { series, keys, matched } = toTimeSeriesWithKeys(batch);
      // Assess
      expect(series, `seed ${seed}`).toEqual(toTimeSeries(batch));
      expect(keys, `seed ${seed}`).toEqual(series.map((s) => seriesKey(s.labels)));
      expect(matched).toEqual(new Uint8Array(0));
    }
  });

  it('builds the same keys whatever the previous keys, and marks only previous keys it returns (property)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      // Prepare: the previous run's keys as storage gives them back, with one series gone and one new.
      const batch = nastyBatch(seed);
      const before = toTimeSeriesWithKeys(batch).keys;
      const previous: string[] = JSON.parse(JSON.stringify(before));
      previous.splice(seed % previous.length, 1);
      previous.splice(seed % (previous.length + 1), 0, '["__name__","gone","job","x"]');
      // Act
      const { keys, matched } = toTimeSeriesWithKeys(batch, {}, previous);
      // Assess
      expect(keys, `seed ${seed}`).toEqual(before);
      expect(matched).toHaveLength(previous.length);
      previous.forEach((key, i) => {
        if (matched[i] === 1) expect(keys.includes(key), `seed ${seed}: ${key}`).toBe(true);
      });
    }
  });

  it('eachTimeSeriesWithKeys hands over the same series one at a time and drops the same duplicates (property)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      // Prepare: nasty batches have duplicate label sets; the previous keys are this batch's, as stored.
      const batch = nastyBatch(seed);
      const expectedDrops: string[] = [];
      const expected = toTimeSeries(batch, {
        onDrop: (reason, f) => expectedDrops.push(`${reason}:${f.name}`),
      });
      const previous: string[] = JSON.parse(JSON.stringify(toTimeSeriesWithKeys(batch).keys));
      for (const prior of [[], previous]) {
        const handed: TimeSeries[] = [];
        const drops: string[] = [];
        // Act
        const { keys, matched } = eachTimeSeriesWithKeys(
          batch,
          (series) => handed.push(series),
          { onDrop: (reason, f) => drops.push(`${reason}:${f.name}`) },
          prior,
        );
        // Assess
        expect(handed, `seed ${seed}`).toEqual(expected);
        expect(drops, `seed ${seed}`).toEqual(expectedDrops);
        expect(keys, `seed ${seed}`).toEqual(expected.map((s) => seriesKey(s.labels)));
        expect(matched).toHaveLength(prior.length);
        prior.forEach((key, i) => {
          if (matched[i] === 1) expect(keys.includes(key), `seed ${seed}: ${key}`).toBe(true);
        });
      }
    }
  });

  it('finds the previous keys across one series gone and one new', () => {
    // Prepare
    const point = (t: string, value: number) => ({ attributes: { t }, value });
    const key = (t: string) => `["__name__","m_ratio","job","s","service_name","s","t","${t}"]`;
    const batch = batchOf({ 'service.name': 's' }, [
      gauge('m', [point('a', 1), point('b', 2), point('new', 3), point('d', 4)]),
    ]);
    const previous: string[] = JSON.parse(JSON.stringify([key('a'), key('b'), key('gone'), key('d')]));
    // Act
    const { keys, matched } = toTimeSeriesWithKeys(batch, {}, previous);
    // Assess
    expect(keys).toEqual([key('a'), key('b'), key('new'), key('d')]);
    expect([...matched]).toEqual([1, 1, 0, 1]);
  });
});
