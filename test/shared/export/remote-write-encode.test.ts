import { describe, expect, it } from 'vitest';
import {
  isValidLabelName,
  prometheusMetricName,
  sanitizeLabelName,
} from '../../../shared/export/prom-names.ts';
import {
  decodeWriteRequest,
  encodedSeriesSize,
  encodeRequests,
  encodeWriteRequest,
  isStaleNaN,
  NORMAL_NAN_BITS,
  ProtobufDecodeError,
  STALE_NAN_BITS,
  splitRequests,
  staleNaN,
  type TimeSeries,
  toTimeSeries,
  toTimeSeriesWithKeys,
} from '../../../shared/export/remote-write-encode.ts';
import { seriesKey } from '../../../shared/export/staleness.ts';
import type { MetricBatch, MetricFamily } from '../../../shared/model/metrics.ts';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Deterministic PRNG (LCG), so a failing property case can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('encodeWriteRequest', () => {
  it('writes the exact bytes of a one-series request', () => {
    // Prepare
    const series: TimeSeries[] = [
      {
        labels: [
          { name: '__name__', value: 'up' },
          { name: 'job', value: 'pg' },
        ],
        samples: [{ value: 1, timestampMs: 1000 }],
      },
    ];
    // Act
    const bytes = encodeWriteRequest(series);
    // Assess: hand-computed. WriteRequest.timeseries (0a, len 41) {
    //   labels (0a, 14) { name (0a, 8) "__name__", value (12, 2) "up" }
    //   labels (0a, 9)  { name (0a, 3) "job", value (12, 2) "pg" }
    //   samples (12, 12) { value (09) 1.0 LE = 000000000000f03f, timestamp (10) varint 1000 = e8 07 } }
    expect(hex(bytes)).toBe(
      [
        '0a29',
        '0a0e' + '0a08' + '5f5f6e616d655f5f' + '1202' + '7570',
        '0a09' + '0a03' + '6a6f62' + '1202' + '7067',
        '120c' + '09' + '000000000000f03f' + '10' + 'e807',
      ].join(''),
    );
  });

  it('writes NaN, stale markers, negative timestamps and UTF-8 exactly', () => {
    // Prepare: a stale NaN stored in a double array (V8 sets its quiet bit there).
    const values = [1.5, staleNaN()];
    const series: TimeSeries[] = [
      {
        labels: [{ name: 'a', value: 'é\ud800' }],
        samples: [
          { value: Number.NaN, timestampMs: -1 },
          { value: values[1] ?? 0, timestampMs: 0 },
        ],
      },
    ];
    // Act
    const bytes = encodeWriteRequest(series);
    // Assess: 'é' is c3a9, a lone surrogate becomes U+FFFD (efbfbd); -1 is a ten-byte varint.
    expect(hex(bytes)).toBe(
      [
        '0a2f',
        '0a0a' + '0a01' + '61' + '1205' + 'c3a9efbfbd',
        '1214' + '09' + '010000000000f87f' + '10' + 'ffffffffffffffffff01',
        '120b' + '09' + '020000000000f07f' + '10' + '00',
      ].join(''),
    );
  });

  it('round-trips through decodeWriteRequest, bit patterns included', () => {
    // Prepare
    const random = prng(7);
    const series: TimeSeries[] = [];
    for (let i = 0; i < 200; i++) {
      const labels = [
        { name: '__name__', value: `m_${i}` },
        { name: 'v', value: `ü${'x'.repeat(Math.floor(random() * 300))}"\n\\` },
      ];
      const samples = [
        { value: (random() - 0.5) * 1e12, timestampMs: Math.floor(random() * 2 ** 45) },
        { value: i % 7 === 0 ? Number.POSITIVE_INFINITY : -0, timestampMs: 1_700_000_000_000 + i },
      ];
      series.push({ labels, samples });
    }
    // Act
    const decoded = decodeWriteRequest(encodeWriteRequest(series));
    // Assess
    expect(
      decoded.map((s) => ({
        labels: s.labels,
        samples: s.samples.map(({ value, timestampMs }) => ({ value, timestampMs })),
      })),
    ).toEqual(series);
  });

  it('rejects truncated input', () => {
    const bytes = encodeWriteRequest([{ labels: [{ name: 'a', value: 'b' }], samples: [] }]);
    expect(() => decodeWriteRequest(bytes.subarray(0, bytes.length - 1))).toThrow(ProtobufDecodeError);
  });
});

describe('stale markers and NaN', () => {
  it('tells the stale marker from an ordinary NaN', () => {
    expect(isStaleNaN(staleNaN())).toBe(true);
    expect(isStaleNaN(Number.NaN)).toBe(false);
    expect(isStaleNaN(0)).toBe(false);
    expect(Number.isNaN(staleNaN())).toBe(true);
  });

  it('never writes a data NaN with the stale bit pattern', () => {
    // Prepare: NaN from the usual sources of query data.
    const nans = [Number.NaN, 0 / 0, Number.parseFloat('NaN'), Math.sqrt(-1), Number('x')];
    const series = nans.map((value, i) => ({
      labels: [{ name: '__name__', value: `n${i}` }],
      samples: [{ value, timestampMs: 1 }],
    }));
    // Act
    const decoded = decodeWriteRequest(encodeWriteRequest(series));
    // Assess
    expect(decoded.map((s) => s.samples[0]?.valueBits)).toEqual(nans.map(() => NORMAL_NAN_BITS));
    expect(STALE_NAN_BITS).toBe(0x7ff0000000000002n);
  });
});

function batchOf(
  resource: Record<string, string>,
  families: MetricFamily[],
  timeMs = 1_700_000_000_000,
): MetricBatch {
  return { resource, timeMs, families };
}

const gauge = (name: string, points: MetricFamily['points'], unit = '1'): MetricFamily => ({
  name,
  unit,
  description: '',
  kind: 'gauge',
  points,
});

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

describe('shared label objects', () => {
  it('encode exactly like unshared copies, in one request and split into many (property)', () => {
    for (let seed = 1; seed <= 40; seed++) {
      // Prepare: batches whose series share resource label objects, as toTimeSeries builds them.
      const random = prng(seed);
      const resource: Record<string, string> = {};
      for (let i = 0; i < 1 + Math.floor(random() * 8); i++)
        resource[`r${Math.floor(random() * 20)}`] = `v${'é'.repeat(Math.floor(random() * 3))}${i}`;
      const families = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, f) =>
        gauge(
          `fam${f}`,
          Array.from({ length: 1 + Math.floor(random() * 20) }, (_, i) => ({
            attributes:
              random() < 0.5 ? { [`r${Math.floor(random() * 20)}`]: `p${i}` } : { k: `${i}`, z: 'zz' },
            value: i,
          })),
        ),
      );
      const series = toTimeSeries(batchOf({ 'service.name': 's', ...resource }, families));
      const unshared: TimeSeries[] = JSON.parse(JSON.stringify(series));
      const limits = { maxSamples: 1 + Math.floor(random() * 7), maxBytes: 10_000 };
      // Act
      const whole = encodeWriteRequest(series);
      const parts = encodeRequests(series, limits);
      // Assess
      expect(hex(whole), `seed ${seed}`).toBe(hex(encodeWriteRequest(unshared)));
      expect(
        parts.map((p) => hex(p.body)),
        `seed ${seed}`,
      ).toEqual(splitRequests(unshared, limits).map((r) => hex(encodeWriteRequest(r))));
      expect(parts.reduce((n, p) => n + p.samples, 0)).toBe(series.length);
    }
  });
});

describe('splitRequests', () => {
  const one = (i: number, samples = 1): TimeSeries => ({
    labels: [{ name: '__name__', value: `metric_${i}` }],
    samples: Array.from({ length: samples }, (_, j) => ({ value: j, timestampMs: 1000 + j })),
  });

  it('splits by sample count', () => {
    const requests = splitRequests([one(1), one(2), one(3), one(4), one(5)], {
      maxSamples: 2,
      maxBytes: 1e6,
    });
    expect(requests.map((r) => r.map((s) => s.labels[0]?.value))).toEqual([
      ['metric_1', 'metric_2'],
      ['metric_3', 'metric_4'],
      ['metric_5'],
    ]);
  });

  it('splits by encoded bytes, each request within the limit', () => {
    // Prepare: every series here has the same encoded size.
    const size = encodedSeriesSize(one(1));
    const series = [one(1), one(2), one(3), one(4), one(5)];
    // Act
    const requests = splitRequests(series, { maxSamples: 100, maxBytes: 2 * size + 1 });
    // Assess
    expect(requests.map((r) => r.length)).toEqual([2, 2, 1]);
    for (const r of requests) expect(encodeWriteRequest(r).length).toBeLessThanOrEqual(2 * size + 1);
    expect(encodeWriteRequest(requests[0] ?? []).length).toBe(2 * size);
  });

  it('cuts a series with too many samples into pieces with the same labels', () => {
    const requests = splitRequests([one(1, 5)], { maxSamples: 2, maxBytes: 1e6 });
    expect(requests.map((r) => r.map((s) => [s.labels[0]?.value, s.samples.map((x) => x.value)]))).toEqual([
      [['metric_1', [0, 1]]],
      [['metric_1', [2, 3]]],
      [['metric_1', [4]]],
    ]);
  });

  it('keeps every sample, in order, within both limits (property)', () => {
    for (let seed = 1; seed <= 50; seed++) {
      // Prepare
      const random = prng(seed);
      const series = Array.from({ length: 1 + Math.floor(random() * 40) }, (_, i) =>
        one(i, 1 + Math.floor(random() * 6)),
      );
      const maxSamples = 1 + Math.floor(random() * 10);
      const maxBytes = 60 + Math.floor(random() * 300);
      // Act
      const requests = splitRequests(series, { maxSamples, maxBytes });
      // Assess
      const flat = requests.flatMap((r) =>
        r.flatMap((s) => s.samples.map((x) => `${s.labels[0]?.value}@${x.timestampMs}`)),
      );
      expect(flat).toEqual(
        series.flatMap((s) => s.samples.map((x) => `${s.labels[0]?.value}@${x.timestampMs}`)),
      );
      for (const r of requests) {
        expect(r.reduce((n, s) => n + s.samples.length, 0)).toBeLessThanOrEqual(maxSamples);
        expect(encodeWriteRequest(r).length, `seed ${seed}`).toBeLessThanOrEqual(maxBytes);
      }
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
