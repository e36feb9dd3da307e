import { describe, expect, it } from 'vitest';
import {
  archiveKey,
  encodeSegment,
  parseArchiveKey,
  partitionPrefixes,
} from '../../../shared/archive/s3-key.ts';

const SCHEDULED = Date.UTC(2026, 10, 21, 19, 30, 0);

describe('archiveKey', () => {
  it('partitions by data time and names the file by tier and scheduled time', () => {
    // Act
    const key = archiveKey({
      prefix: 'pgotel',
      cluster: 'prod',
      target: 'orders-primary',
      tier: 'critical',
      scheduledAtMs: SCHEDULED + 15_000,
      timeMs: SCHEDULED + 15_800,
      compression: 'none',
    });

    // Assess
    expect(key).toBe(
      'pgotel/year=2026/month=11/day=21/hour=19/minute=30/prod/orders-primary/critical-20261121T193015Z.binpb',
    );
  });

  it('takes the partition from the data time, not the schedule (collection ran over a minute boundary)', () => {
    // Act
    const key = archiveKey({
      prefix: 'a/b/',
      cluster: 'c',
      target: 't',
      tier: 'historical',
      scheduledAtMs: Date.UTC(2026, 11, 31, 23, 59, 0),
      timeMs: Date.UTC(2027, 0, 1, 0, 0, 2, 250),
      compression: 'gzip',
    });

    // Assess
    expect(key).toBe(
      'a/b/year=2027/month=01/day=01/hour=00/minute=00/c/t/historical-20261231T235900Z.binpb.gz',
    );
  });

  it('has no leading slash with an empty prefix and keeps milliseconds of the schedule when present', () => {
    // Act
    const key = archiveKey({
      prefix: '',
      cluster: 'c',
      target: 't',
      tier: 'standard',
      scheduledAtMs: SCHEDULED + 250,
      timeMs: SCHEDULED + 300,
      compression: 'none',
    });

    // Assess
    expect(key).toBe('year=2026/month=11/day=21/hour=19/minute=30/c/t/standard-20261121T193000.250Z.binpb');
  });

  it('percent-encodes unsafe characters of cluster and target', () => {
    // Act
    const key = archiveKey({
      prefix: 'p',
      cluster: 'eu west/1',
      target: '..',
      tier: 'critical',
      scheduledAtMs: SCHEDULED,
      timeMs: SCHEDULED,
      compression: 'none',
    });

    // Assess
    expect(key).toBe(
      'p/year=2026/month=11/day=21/hour=19/minute=30/eu%20west%2F1/%2E%2E/critical-20261121T193000Z.binpb',
    );
  });

  it('is the same for a retry of the same collection whose data time differs by seconds', () => {
    // Prepare
    const base = {
      prefix: 'p',
      cluster: 'c',
      target: 't',
      tier: 'critical' as const,
      scheduledAtMs: SCHEDULED,
      compression: 'none' as const,
    };

    // Act
    const first = archiveKey({ ...base, timeMs: SCHEDULED + 1_000 });
    const retry = archiveKey({ ...base, timeMs: SCHEDULED + 9_000 });

    // Assess
    expect(retry).toBe(first);
  });

  it('rejects an empty target', () => {
    // Act
    const act = () =>
      archiveKey({
        prefix: 'p',
        cluster: 'c',
        target: '',
        tier: 'critical',
        scheduledAtMs: SCHEDULED,
        timeMs: SCHEDULED,
        compression: 'none',
      });

    // Assess
    expect(act).toThrow('archive key: target must not be empty');
  });
});

describe('encodeSegment', () => {
  it.each([
    ['orders-primary_1.eu', 'orders-primary_1.eu'],
    ['a b', 'a%20b'],
    ['x/y', 'x%2Fy'],
    ['100%', '100%25'],
    ['ö', '%C3%B6'],
    ['.', '%2E'],
    ['a+b=c&d?e#f', 'a%2Bb%3Dc%26d%3Fe%23f'],
  ])('%j → %j', (raw, encoded) => {
    // Act
    const result = encodeSegment(raw);

    // Assess
    expect(result).toBe(encoded);
  });
});

describe('parseArchiveKey', () => {
  it('recovers every part of a key archiveKey made', () => {
    // Prepare
    const key = archiveKey({
      prefix: 'base/pgotel',
      cluster: 'eu west/1',
      target: 'orders ö',
      tier: 'standard',
      scheduledAtMs: SCHEDULED + 250,
      timeMs: SCHEDULED + 61_000,
      compression: 'gzip',
    });

    // Act
    const parsed = parseArchiveKey(key);

    // Assess
    expect(parsed).toStrictEqual({
      prefix: 'base/pgotel',
      cluster: 'eu west/1',
      target: 'orders ö',
      tier: 'standard',
      scheduledAtMs: SCHEDULED + 250,
      timeMs: SCHEDULED + 60_000,
      compression: 'gzip',
    });
  });

  it('parses a key without prefix', () => {
    // Act
    const parsed = parseArchiveKey(
      'year=2026/month=11/day=21/hour=19/minute=30/c/t/critical-20261121T193045Z.binpb',
    );

    // Assess
    expect(parsed).toStrictEqual({
      prefix: '',
      cluster: 'c',
      target: 't',
      tier: 'critical',
      scheduledAtMs: SCHEDULED + 45_000,
      timeMs: SCHEDULED,
      compression: 'none',
    });
  });

  it.each([
    ['a foreign object', 'p/year=2026/month=11/day=21/hour=19/minute=30/metrics_123.binpb'],
    ['an unknown tier', 'p/year=2026/month=11/day=21/hour=19/minute=30/c/t/weekly-20261121T193000Z.binpb'],
    [
      'an impossible date',
      'p/year=2026/month=13/day=21/hour=19/minute=30/c/t/critical-20261121T193000Z.binpb',
    ],
    [
      'an impossible minute',
      'p/year=2026/month=11/day=21/hour=19/minute=75/c/t/critical-20261121T193000Z.binpb',
    ],
    ['a bad escape', 'p/year=2026/month=11/day=21/hour=19/minute=30/c%ZZ/t/critical-20261121T193000Z.binpb'],
    ['another suffix', 'p/year=2026/month=11/day=21/hour=19/minute=30/c/t/critical-20261121T193000Z.json'],
  ])('returns undefined for %s', (_what, key) => {
    // Act
    const parsed = parseArchiveKey(key);

    // Assess
    expect(parsed).toBeUndefined();
  });
});

describe('partitionPrefixes', () => {
  it('lists every minute of a short range, both ends included', () => {
    // Act
    const prefixes = partitionPrefixes(
      'p',
      Date.UTC(2026, 10, 21, 23, 58, 30),
      Date.UTC(2026, 10, 22, 0, 0, 0),
    );

    // Assess
    expect(prefixes).toStrictEqual([
      'p/year=2026/month=11/day=21/hour=23/minute=58/',
      'p/year=2026/month=11/day=21/hour=23/minute=59/',
      'p/year=2026/month=11/day=22/hour=00/minute=00/',
    ]);
  });

  it('lists one minute for a range inside it, and nothing for an inverted range', () => {
    // Act
    const one = partitionPrefixes('', SCHEDULED + 1_000, SCHEDULED + 2_000);
    const none = partitionPrefixes('', SCHEDULED + 2_000, SCHEDULED + 1_000);

    // Assess
    expect(one).toStrictEqual(['year=2026/month=11/day=21/hour=19/minute=30/']);
    expect(none).toStrictEqual([]);
  });

  it('switches to hour prefixes beyond three hours', () => {
    // Act
    const prefixes = partitionPrefixes('p/', Date.UTC(2026, 10, 21, 19, 30), Date.UTC(2026, 10, 21, 23, 10));

    // Assess
    expect(prefixes).toStrictEqual([
      'p/year=2026/month=11/day=21/hour=19/',
      'p/year=2026/month=11/day=21/hour=20/',
      'p/year=2026/month=11/day=21/hour=21/',
      'p/year=2026/month=11/day=21/hour=22/',
      'p/year=2026/month=11/day=21/hour=23/',
    ]);
  });

  it('switches to day prefixes beyond three days', () => {
    // Act
    const prefixes = partitionPrefixes('p', Date.UTC(2026, 10, 28, 12), Date.UTC(2026, 11, 2, 1));

    // Assess
    expect(prefixes).toStrictEqual([
      'p/year=2026/month=11/day=28/',
      'p/year=2026/month=11/day=29/',
      'p/year=2026/month=11/day=30/',
      'p/year=2026/month=12/day=01/',
      'p/year=2026/month=12/day=02/',
    ]);
  });

  it('uses exactly 180 minute prefixes at the threshold and hours one minute later', () => {
    // Prepare
    const from = Date.UTC(2026, 10, 21, 19, 0);

    // Act
    const atLimit = partitionPrefixes('p', from, from + 179 * 60_000);
    const beyond = partitionPrefixes('p', from, from + 180 * 60_000);

    // Assess
    expect(atLimit).toHaveLength(180);
    expect(atLimit[179]).toBe('p/year=2026/month=11/day=21/hour=21/minute=59/');
    expect(beyond).toStrictEqual([
      'p/year=2026/month=11/day=21/hour=19/',
      'p/year=2026/month=11/day=21/hour=20/',
      'p/year=2026/month=11/day=21/hour=21/',
      'p/year=2026/month=11/day=21/hour=22/',
    ]);
  });
});
