import { describe, expect, it } from 'vitest';
import { encodeWriteRequest } from '../../../shared/export/remote-write-proto.ts';
import { STALE_NAN_BITS, type TimeSeries } from '../../../shared/export/remote-write-series.ts';
import { labelsFromKey, seriesKey, staleMarkers } from '../../../shared/export/staleness.ts';
import { decodeWriteRequest } from '../../helpers/remote-write-decode.ts';

const series = (table: string): TimeSeries => ({
  labels: [
    { name: '__name__', value: 'postgresql_table_size_bytes' },
    { name: 'job', value: 'pg' },
    { name: 'table', value: table },
  ],
  samples: [{ value: 1, timestampMs: 1000 }],
});

describe('seriesKey', () => {
  it('is the JSON of the sorted pairs, whatever the input order', () => {
    const key = seriesKey([
      { name: 'job', value: 'pg' },
      { name: '__name__', value: 'm' },
    ]);
    expect(key).toBe('["__name__","m","job","pg"]');
    expect(
      seriesKey([
        { name: '__name__', value: 'm' },
        { name: 'job', value: 'pg' },
      ]),
    ).toBe(key);
  });

  it('decodes back to the labels, and refuses what it did not produce', () => {
    const labels = series('a"b\n').labels;
    expect(labelsFromKey(seriesKey(labels))).toEqual(labels);
    expect(labelsFromKey('not json')).toBeUndefined();
    expect(labelsFromKey('["job","pg"]')).toBeUndefined(); // no __name__
    expect(labelsFromKey('["__name__","m","job"]')).toBeUndefined(); // odd length
    expect(labelsFromKey('["job","pg","__name__","m"]')).toBeUndefined(); // unsorted
    expect(labelsFromKey('["__name__",""]')).toBeUndefined(); // empty value
  });
});

describe('seriesKey escaping', () => {
  it('is exactly JSON.stringify of the sorted pairs for any text (property)', () => {
    const pieces = [
      'a',
      '"',
      '\\',
      '\n',
      '\u0000',
      '\u001f',
      ' ',
      '~',
      '\u007f',
      'é',
      '😀',
      '\ud800',
      '\udc00',
      '/',
    ];
    let state = 7;
    const random = (): number => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
    const text = (): string =>
      Array.from(
        { length: 1 + Math.floor(random() * 4) },
        () => pieces[Math.floor(random() * pieces.length)],
      ).join('');
    for (let i = 0; i < 500; i++) {
      // Prepare
      const labels = [
        { name: '__name__', value: text() },
        { name: `b${text()}`, value: text() },
      ];
      // Act
      const key = seriesKey(labels);
      // Assess
      expect(key).toBe(JSON.stringify(labels.flatMap((l) => [l.name, l.value])));
      expect(labelsFromKey(key)).toEqual(labels);
    }
  });
});

describe('staleMarkers', () => {
  it('marks exactly the series that are gone, at the given time, with the stale bit pattern', () => {
    // Prepare
    const previous = [series('a'), series('b'), series('c')].map((s) => seriesKey(s.labels));
    const current = [series('a'), series('d')];
    // Act
    const markers = staleMarkers([...previous, previous[1] ?? '', 'garbage'], current, 5000);
    // Assess
    expect(markers.map((m) => m.labels)).toEqual([series('b').labels, series('c').labels]);
    const decoded = decodeWriteRequest(encodeWriteRequest(markers));
    expect(decoded.flatMap((s) => s.samples.map((x) => [x.valueBits, x.timestampMs]))).toEqual([
      [STALE_NAN_BITS, 5000],
      [STALE_NAN_BITS, 5000],
    ]);
  });

  it('returns nothing without a previous run', () => {
    expect(staleMarkers([], [series('a')], 1)).toEqual([]);
  });
});
