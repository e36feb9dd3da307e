import { describe, expect, it } from 'vitest';
import {
  InvalidMetricNameError,
  isValidLabelName,
  isValidMetricName,
  prometheusMetricName,
  sanitizeLabelName,
} from '../../../shared/export/prom-names.ts';
import type { MetricKind } from '../../../shared/model/metrics.ts';

describe('prometheusMetricName', () => {
  const cases: Array<[string, string, MetricKind, string]> = [
    // The examples of the spec this project ships with.
    ['postgresql.database.size', 'By', 'gauge', 'postgresql_database_size_bytes'],
    [
      'postgresql.database.transactions',
      '{transaction}',
      'counter',
      'postgresql_database_transactions_total',
    ],
    ['postgresql.cache_hit_ratio', '1', 'gauge', 'postgresql_cache_hit_ratio'],
    ['postgresql.connections.active', '{connection}', 'gauge', 'postgresql_connections_active'],
    ['up', '1', 'gauge', 'up'],
    ['postgresql.replication.lag_seconds', 's', 'gauge', 'postgresql_replication_lag_seconds'],
    // Unit table.
    ['postgresql.wal.size', 'By', 'counter', 'postgresql_wal_size_bytes_total'],
    [
      'postgresql.checkpoint.write_time',
      'ms',
      'counter',
      'postgresql_checkpoint_write_time_milliseconds_total',
    ],
    ['postgresql.backend.age', 's', 'gauge', 'postgresql_backend_age_seconds'],
    ['postgresql.disk.usage', '%', 'gauge', 'postgresql_disk_usage_percent'],
    ['postgresql.wal.rate', 'By/s', 'gauge', 'postgresql_wal_rate_bytes_per_second'],
    ['postgresql.commits.rate', '{commit}/s', 'gauge', 'postgresql_commits_rate_per_second'],
    ['postgresql.temp', 'Cel', 'gauge', 'postgresql_temp_celsius'],
    ['postgresql.memory', 'MiBy', 'gauge', 'postgresql_memory_mebibytes'],
    // Unknown units are used as they are, cleaned.
    ['postgresql.throughput', 'tps', 'gauge', 'postgresql_throughput_tps'],
    ['postgresql.index.reads', 'rows/min', 'gauge', 'postgresql_index_reads_rows_per_min'],
    // A unit word anywhere in the name is not added again (the collector's rule, not only at the end).
    ['postgresql.rows.rate', 'rows/min', 'gauge', 'postgresql_rows_rate_per_min'],
    // Unit `1`: `_ratio` on gauges only, moved to the end; nothing on counters.
    ['postgresql.ratio.hit', '1', 'gauge', 'postgresql_hit_ratio'],
    ['postgresql.blocks', '1', 'counter', 'postgresql_blocks_total'],
    // `_total` is moved to the end, not repeated.
    ['postgresql.total.commits', '', 'counter', 'postgresql_commits_total'],
    ['postgresql.commits_total', '', 'counter', 'postgresql_commits_total'],
    // A unit word already in the name is not added again; a per unit likewise.
    ['postgresql.bytes.written', 'By', 'counter', 'postgresql_bytes_written_total'],
    ['postgresql.bytes_per_second', 'By/s', 'gauge', 'postgresql_bytes_per_second'],
    // Invalid characters and runs of them collapse to one `_`; no leading/trailing `_`.
    [
      '..postgresql..weird name/with-dashes__and:colons..',
      '',
      'gauge',
      'postgresql_weird_name_with_dashes_and_colons',
    ],
    ['pg.dürr', '', 'gauge', 'pg_d_rr'],
    // A leading digit gets `_`.
    ['2pc.prepared', '', 'gauge', '_2pc_prepared'],
  ];

  it.each(cases)('%s [%s, %s] → %s', (name, unit, kind, expected) => {
    // Prepare / Act
    const result = prometheusMetricName({ name, unit, kind });
    // Assess
    expect(result).toBe(expected);
    expect(isValidMetricName(result)).toBe(true);
  });

  it('rejects a name without any letter or digit', () => {
    expect(() => prometheusMetricName({ name: '..._', unit: 'By', kind: 'gauge' })).toThrow(
      InvalidMetricNameError,
    );
  });
});

describe('sanitizeLabelName', () => {
  const cases: Array<[string, string]> = [
    ['database_name', 'database_name'],
    ['db.system', 'db_system'],
    ['service.instance.id', 'service_instance_id'],
    ['a..b', 'a__b'],
    ['2xx', 'key_2xx'],
    ['_private', 'key_private'],
    ['__name__', 'key__name__'],
    ['__meta_x', 'key__meta_x'],
    ['Upper.Case', 'Upper_Case'],
    ['naïve', 'na_ve'],
    ['emoji😀x', 'emoji_x'],
    ['', ''],
  ];

  it.each(cases)('%j → %j', (input, expected) => {
    expect(sanitizeLabelName(input)).toBe(expected);
  });

  it('returns only valid, non-reserved label names for arbitrary strings', () => {
    // Prepare: a deterministic pseudo-random stream of nasty keys.
    const alphabet = ['a', 'Z', '0', '9', '_', '.', '-', ' ', ':', '/', 'é', '😀', '"', '\n', '\\', '\u0000'];
    let seed = 42;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 2000; i++) {
      let key = '';
      const length = 1 + (next() % 8);
      for (let j = 0; j < length; j++) key += alphabet[next() % alphabet.length];
      // Act
      const name = sanitizeLabelName(key);
      // Assess
      expect(isValidLabelName(name), `${JSON.stringify(key)} → ${JSON.stringify(name)}`).toBe(true);
    }
  });
});
