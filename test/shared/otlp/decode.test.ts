import { describe, expect, it } from 'vitest';
import type { MetricBatch } from '../../../shared/model/metrics.ts';
import { encodeExportRequest } from '../../../shared/otlp/build.ts';
import { decodeExportRequest, OtlpDecodeError } from '../../../shared/otlp/decode.ts';
import { f64, fixed64, message, nanos, str, unknownFields, vint } from './protobuf.ts';

const T = Date.UTC(2026, 10, 21, 19, 30, 15, 0);

function roundTrip(batch: MetricBatch): MetricBatch[] {
  return decodeExportRequest(encodeExportRequest(batch));
}

describe('decodeExportRequest(encodeExportRequest(batch))', () => {
  it('gives back the batch: gauges, counters, start times, edge values, unicode', () => {
    // Prepare
    const batch: MetricBatch = {
      resource: {
        'service.name': 'postgresql',
        'postgresql.cluster': 'prod-eu',
        'server.address': 'db.example.internal',
        'host.name': 'ünïcødé-主机-🐘',
      },
      timeMs: T,
      families: [
        {
          name: 'postgresql.database.size',
          unit: 'By',
          description: 'Database size.',
          kind: 'gauge',
          points: [
            { attributes: { 'postgresql.database.name': 'orders' }, value: 123_456_789 },
            { attributes: { 'postgresql.database.name': 'データベース' }, value: 0 },
            { attributes: { 'postgresql.database.name': 'neg' }, value: -42.5 },
            { attributes: { 'postgresql.database.name': 'nan' }, value: Number.NaN },
            { attributes: { 'postgresql.database.name': 'huge' }, value: Number.MAX_VALUE },
            { attributes: { 'postgresql.database.name': 'big-int' }, value: 2 ** 63 },
            { attributes: { 'postgresql.database.name': 'tiny' }, value: Number.MIN_VALUE },
            { attributes: { 'postgresql.database.name': 'inf' }, value: Number.POSITIVE_INFINITY },
            { attributes: { 'postgresql.database.name': 'minus-inf' }, value: Number.NEGATIVE_INFINITY },
            { attributes: { 'postgresql.database.name': 'minus-zero' }, value: -0 },
            { attributes: { 'postgresql.database.name': '' }, value: 1 },
          ],
        },
        {
          name: 'postgresql.commits',
          unit: '{commit}',
          description: 'Committed transactions.',
          kind: 'counter',
          points: [
            {
              attributes: { 'postgresql.database.name': 'orders' },
              value: 98_765,
              startTimeMs: T - 86_400_000,
            },
            { attributes: { 'postgresql.database.name': 'postgres' }, value: 3 },
          ],
        },
        {
          name: 'postgresql.up',
          unit: '',
          description: '',
          kind: 'gauge',
          points: [{ attributes: {}, value: 1 }],
        },
        {
          name: 'postgresql.wal.age',
          unit: 's',
          description: 'quote " backslash \\ newline \n tab \t',
          kind: 'gauge',
          points: [{ attributes: { a: 'x', b: 'y', c: 'label "with" quotes\n' }, value: 0.1 + 0.2 }],
        },
      ],
    };

    // Act
    const decoded = roundTrip(batch);

    // Assess
    expect(decoded).toStrictEqual([batch]);
    expect(Object.is(decoded[0]?.families[0]?.points[9]?.value, -0)).toBe(true);
  });

  it('keeps a family without points', () => {
    // Prepare
    const batch: MetricBatch = {
      resource: { 'service.name': 'postgresql' },
      timeMs: T,
      families: [
        { name: 'empty.gauge', unit: '1', description: 'nothing this time', kind: 'gauge', points: [] },
        {
          name: 'one',
          unit: '1',
          description: '',
          kind: 'counter',
          points: [{ attributes: { k: 'v' }, value: 7 }],
        },
      ],
    };

    // Act
    const decoded = roundTrip(batch);

    // Assess
    expect(decoded).toStrictEqual([batch]);
  });

  it('keeps fractional milliseconds and a start time in the far past', () => {
    // Prepare
    const batch: MetricBatch = {
      resource: {},
      timeMs: T + 0.5,
      families: [
        {
          name: 'c',
          unit: '1',
          description: '',
          kind: 'counter',
          points: [{ attributes: {}, value: 1, startTimeMs: 86_400_000 }],
        },
      ],
    };

    // Act
    const decoded = roundTrip(batch);

    // Assess
    expect(decoded).toStrictEqual([batch]);
  });

  it('yields nothing for a batch without points (no timestamp to carry)', () => {
    // Prepare
    const batch: MetricBatch = { resource: { a: 'b' }, timeMs: T, families: [] };

    // Act
    const decoded = roundTrip(batch);

    // Assess
    expect(decoded).toStrictEqual([]);
  });
});

/** A NumberDataPoint message body. */
function point(parts: {
  start?: number;
  time: number;
  double?: number;
  int?: bigint;
  attrs?: number[][];
}): number[] {
  return [
    ...(parts.start === undefined ? [] : fixed64(2, nanos(parts.start))),
    ...fixed64(3, nanos(parts.time)),
    ...(parts.double === undefined ? [] : f64(4, parts.double)),
    ...(parts.int === undefined ? [] : fixed64(6, parts.int)),
    ...(parts.attrs ?? []).flat(),
  ];
}

function kv(field: number, key: string, anyValue: number[]): number[] {
  return message(field, str(1, key), message(2, anyValue));
}

describe('decodeExportRequest on hand-built requests', () => {
  it('skips unknown fields of every wire type at every level', () => {
    // Prepare
    const u = unknownFields();
    const bytes = new Uint8Array([
      ...u,
      ...message(
        1, // ResourceMetrics
        u,
        message(1, u, kv(1, 'service.name', [...u, ...str(1, 'pg')]), vint(2, 0)),
        message(
          2, // ScopeMetrics
          u,
          message(1, str(1, 'other-scope'), str(2, '9.9'), u),
          message(
            2, // Metric
            str(1, 'm.gauge'),
            u,
            str(2, 'desc'),
            str(3, 'By'),
            message(
              5, // Gauge
              u,
              message(1, point({ time: T, double: 2.5, attrs: [kv(7, 'k', str(1, 'v'))] }), u),
            ),
            message(12, kv(1, 'metadata', str(1, 'ignored'))),
          ),
        ),
        str(3, 'https://opentelemetry.io/schemas/1.30.0'),
      ),
    ]);

    // Act
    const decoded = decodeExportRequest(bytes);

    // Assess
    expect(decoded).toStrictEqual([
      {
        resource: { 'service.name': 'pg' },
        timeMs: T,
        families: [
          {
            name: 'm.gauge',
            unit: 'By',
            description: 'desc',
            kind: 'gauge',
            points: [{ attributes: { k: 'v' }, value: 2.5 }],
          },
        ],
      },
    ]);
  });

  it('maps int/bool/double attributes, as_int values, sum kinds, and skips what the model cannot hold', () => {
    // Prepare
    const skipped: string[] = [];
    const bytes = new Uint8Array(
      message(
        1,
        message(
          1,
          kv(1, 'int', vint(3, -5n)),
          kv(1, 'bigint', vint(3, 2n ** 62n + 1n)),
          kv(1, 'bool', vint(2, 1)),
          kv(1, 'double', f64(4, 1.5)),
          kv(1, 'array', message(5, message(1, str(1, 'a')))),
          kv(1, 'bytes', message(7, [1, 2])),
        ),
        message(
          2,
          message(
            2,
            str(1, 'cum.mono'),
            message(7, message(1, point({ start: T - 1000, time: T, int: -3n })), vint(2, 2), vint(3, 1)),
          ),
          message(
            2,
            str(1, 'updown'),
            message(7, message(1, point({ time: T, int: 2n ** 40n })), vint(2, 2)),
          ),
          message(
            2,
            str(1, 'delta.mono'),
            message(7, message(1, point({ time: T, double: 1 })), vint(2, 1), vint(3, 1)),
          ),
          message(2, str(1, 'histo'), message(9, message(1, fixed64(3, nanos(T))))),
          message(2, str(1, 'summary'), message(11, message(1, fixed64(3, nanos(T))))),
          message(
            2,
            str(1, 'stale'),
            message(
              5,
              message(1, point({ time: T, double: 1 }), vint(8, 1)),
              message(1, point({ time: T, double: 4 })),
            ),
          ),
        ),
      ),
    );

    // Act
    const decoded = decodeExportRequest(bytes, {
      onSkipped: (name, reason) => skipped.push(`${name}: ${reason}`),
    });

    // Assess
    expect(decoded).toStrictEqual([
      {
        resource: { int: '-5', bigint: '4611686018427387905', bool: 'true', double: '1.5' },
        timeMs: T,
        families: [
          {
            name: 'cum.mono',
            unit: '',
            description: '',
            kind: 'counter',
            points: [{ attributes: {}, value: -3, startTimeMs: T - 1000 }],
          },
          {
            name: 'updown',
            unit: '',
            description: '',
            kind: 'gauge',
            points: [{ attributes: {}, value: 2 ** 40 }],
          },
          { name: 'stale', unit: '', description: '', kind: 'gauge', points: [{ attributes: {}, value: 4 }] },
        ],
      },
    ]);
    expect(skipped).toStrictEqual([
      'delta.mono: monotonic sum without cumulative temporality',
      'histo: histogram',
      'summary: summary',
    ]);
  });

  it('splits points of different times into batches in time order, one per ResourceMetrics and time', () => {
    // Prepare
    const resourceMetrics = (name: string, times: number[]) =>
      message(
        1,
        message(1, kv(1, 'r', str(1, name))),
        message(
          2,
          message(
            2,
            str(1, 'g'),
            message(5, ...times.map((t, i) => message(1, point({ time: t, double: i })))),
          ),
        ),
      );
    const bytes = new Uint8Array([...resourceMetrics('a', [T + 15_000, T]), ...resourceMetrics('b', [T])]);

    // Act
    const decoded = decodeExportRequest(bytes);

    // Assess
    const g = (value: number) => [
      { name: 'g', unit: '', description: '', kind: 'gauge', points: [{ attributes: {}, value }] },
    ];
    expect(decoded).toStrictEqual([
      { resource: { r: 'a' }, timeMs: T, families: g(1) },
      { resource: { r: 'a' }, timeMs: T + 15_000, families: g(0) },
      { resource: { r: 'b' }, timeMs: T, families: g(0) },
    ]);
  });

  it.each([
    ['truncated message', [...message(1, message(1, str(1, 'abc')))].slice(0, -1)],
    ['length past the end', [0x0a, 0x05, 0x01]],
    ['truncated fixed64', [...fixed64(9, 1n)].slice(0, 5)],
    ['wire type 7', [0x0f]],
    ['unterminated varint', [0x08, 0xff, 0xff]],
    ['group closed by another field', [0x1b, 0x24]],
  ])('throws OtlpDecodeError on a %s', (_name, bytes) => {
    // Prepare
    const input = new Uint8Array(bytes);

    // Act
    const act = () => decodeExportRequest(input);

    // Assess
    expect(act).toThrow(OtlpDecodeError);
  });

  it('returns no batches for an empty request', () => {
    // Act
    const decoded = decodeExportRequest(new Uint8Array(0));

    // Assess
    expect(decoded).toStrictEqual([]);
  });
});
