import { describe, expect, it } from 'vitest';
import { toTimeSeries } from '../../../shared/export/remote-write-labels.ts';
import {
  type EncodedRequest,
  encodeRequests,
  encodeWriteRequest,
  RequestEncoder,
  splitRequests,
} from '../../../shared/export/remote-write-proto.ts';
import {
  isStaleNaN,
  STALE_NAN_BITS,
  staleNaN,
  type TimeSeries,
} from '../../../shared/export/remote-write-series.ts';
import {
  decodeWriteRequest,
  NORMAL_NAN_BITS,
  WriteRequestDecodeError,
} from '../../helpers/remote-write-decode.ts';
import { batchOf, gauge, hex, prng } from './fixtures.ts';

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
    expect(() => decodeWriteRequest(bytes.subarray(0, bytes.length - 1))).toThrow(WriteRequestDecodeError);
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
    const size = encodeWriteRequest([one(1)]).length;
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

describe('RequestEncoder', () => {
  const one = (i: number, samples = 1, value = `metric_${i}`): TimeSeries => ({
    labels: [{ name: '__name__', value }],
    samples: Array.from({ length: samples }, (_, j) => ({ value: j, timestampMs: 1000 + j })),
  });

  it('hands each request over as soon as the next series does not fit, in one reused buffer', () => {
    // Prepare
    const series = [one(1), one(2), one(3), one(4), one(5)];
    const events: string[] = [];
    const buffers = new Set<ArrayBufferLike>();
    const bodies: string[] = [];
    const encoder = new RequestEncoder({ maxSamples: 2, maxBytes: 1e6 }, (request: EncodedRequest) => {
      events.push(`request of ${request.series} series, ${request.samples} samples`);
      buffers.add(request.body.buffer);
      bodies.push(hex(request.body));
    });
    // Act
    for (const [i, s] of series.entries()) {
      encoder.add(s);
      events.push(`added ${i + 1}`);
    }
    encoder.finish();
    // Assess: a request leaves before the rest of the series exist, and every request used the same buffer.
    expect(events).toEqual([
      'added 1',
      'added 2',
      'request of 2 series, 2 samples',
      'added 3',
      'added 4',
      'request of 2 series, 2 samples',
      'added 5',
      'request of 1 series, 1 samples',
    ]);
    expect(bodies).toEqual([
      hex(encodeWriteRequest([one(1), one(2)])),
      hex(encodeWriteRequest([one(3), one(4)])),
      hex(encodeWriteRequest([one(5)])),
    ]);
    expect(buffers.size).toBe(1);
  });

  it('encodes a series with many more labels than the one before it, sharing its first ones, like unshared copies', () => {
    // Prepare: the second series shares the first's label objects and has more labels than any before it.
    const head = [
      { name: '__name__', value: 'postgresql_table_size_bytes' },
      { name: 'job', value: 'postgresql' },
    ];
    const many = Array.from({ length: 150 }, (_, k) => ({
      name: `l${String(k).padStart(3, '0')}`,
      value: `v${k}`,
    }));
    const series: TimeSeries[] = [
      { labels: head, samples: [{ value: 1, timestampMs: 1000 }] },
      { labels: [...head, ...many], samples: [{ value: 2, timestampMs: 1000 }] },
    ];
    const unshared: TimeSeries[] = JSON.parse(JSON.stringify(series));
    // Act
    const [request] = encodeRequests(series, { maxSamples: 10, maxBytes: 1e6 });
    // Assess
    expect(hex(request?.body ?? new Uint8Array())).toBe(hex(encodeWriteRequest(unshared)));
    expect(decodeWriteRequest(request?.body ?? new Uint8Array()).map((s) => s.labels.length)).toEqual([
      2, 152,
    ]);
  });

  it('writes what splitRequests and encodeWriteRequest write, cut series and oversized ones included (property)', () => {
    for (let seed = 1; seed <= 60; seed++) {
      // Prepare: shared label objects, series of many samples (cut by count or bytes), labels beyond the
      // encoder's first scratch size, and single samples larger than a request (sent alone).
      const random = prng(seed);
      const shared = [
        { name: '__name__', value: 'm' },
        { name: 'job', value: 'é'.repeat(Math.floor(random() * 4)) || 'j' },
      ];
      let previous: TimeSeries = one(0);
      const series: TimeSeries[] = Array.from({ length: 1 + Math.floor(random() * 30) }, (_, i) => {
        const r = random();
        const extra = Array.from({ length: r < 0.1 ? 40 + Math.floor(random() * 40) : 1 }, (_, k) => ({
          name: `l${String(k).padStart(3, '0')}`,
          value: r < 0.15 ? 'x'.repeat(200 + Math.floor(random() * 400)) : `v${i}`,
        }));
        const labels = r < 0.3 ? previous.labels : [...shared, ...extra];
        const samples = Array.from(
          { length: 1 + Math.floor(random() * (random() < 0.2 ? 25 : 2)) },
          (_, j) => ({
            value: random() < 0.1 ? Number.NaN : j * 1.5,
            timestampMs: 1_700_000_000_000 + j * 15_000,
          }),
        );
        previous = { labels, samples };
        return previous;
      });
      const limits = { maxSamples: 1 + Math.floor(random() * 8), maxBytes: 100 + Math.floor(random() * 900) };
      const bodies: string[] = [];
      const counts: [number, number][] = [];
      const encoder = new RequestEncoder(limits, (request) => {
        bodies.push(hex(request.body));
        counts.push([request.series, request.samples]);
      });
      // Act
      for (const s of series) encoder.add(s);
      encoder.finish();
      // Assess
      const expected = splitRequests(series, limits);
      expect(bodies, `seed ${seed}`).toEqual(expected.map((r) => hex(encodeWriteRequest(r))));
      expect(counts, `seed ${seed}`).toEqual(
        expected.map((r) => [r.length, r.reduce((n, s) => n + s.samples.length, 0)]),
      );
      expect(
        encodeRequests(series, limits).map((r) => hex(r.body)),
        `seed ${seed}`,
      ).toEqual(bodies);
    }
  });
});
