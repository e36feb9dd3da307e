import { escapeIdentifier } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CollectResult, collect } from '../../../shared/collect/collect.ts';
import { connectionTarget } from '../../../shared/config/local-target.ts';
import { parseDsn } from '../../../shared/db/connection.ts';
import { toPrometheusText } from '../../../shared/export/prom-text.ts';
import type { MetricPoint } from '../../../shared/model/metrics.ts';
import { BUILTIN_QUERIES, DEFAULT_LIMITS } from '../../../shared/queries/catalog.ts';
import { PG_MAJORS, type PgInstance, startPostgres } from '../../helpers/postgres.ts';
import { promtoolCheckMetrics } from '../../helpers/prometheus.ts';

const DATABASE = 'shop "east" ünïcode db';
const SCHEMA = 'we ird"schema';
/** PostgreSQL's longest identifier: 63 bytes (NAMEDATALEN - 1). */
const LONG_TABLE = `long_${'x'.repeat(58)}`;
const JAPANESE_TABLE = '日本語 table';
const BACKSLASH_TABLE = 'back\\slash = "x", y';
const QUOTED_INDEX = 'idx "quoted" ü';

function pointsOf(result: CollectResult, name: string): MetricPoint[] {
  return result.batches.flatMap(({ batch }) =>
    batch.families.filter((f) => f.name === name).flatMap((f) => f.points),
  );
}

describe.each(PG_MAJORS)('hostile identifiers on PostgreSQL %i', (major) => {
  let server: PgInstance;
  let result: CollectResult;

  beforeAll(async () => {
    server = await startPostgres({ major, pgStatStatements: false });
    expect(Buffer.byteLength(LONG_TABLE)).toBe(63);
    await server.query(`CREATE DATABASE ${escapeIdentifier(DATABASE)}`);
    const client = await server.client(DATABASE);
    try {
      const schema = escapeIdentifier(SCHEMA);
      await client.query(`CREATE SCHEMA ${schema}`);
      await client.query(`CREATE TABLE ${schema}.${escapeIdentifier(LONG_TABLE)} (id int PRIMARY KEY)`);
      await client.query(`CREATE TABLE ${schema}.${escapeIdentifier(JAPANESE_TABLE)} (id int, label text)`);
      await client.query(
        `CREATE INDEX ${escapeIdentifier(QUOTED_INDEX)} ON ${schema}.${escapeIdentifier(JAPANESE_TABLE)} (label)`,
      );
      await client.query(`CREATE TABLE public.${escapeIdentifier(BACKSLASH_TABLE)} (id int)`);
      await client.query(
        `INSERT INTO ${schema}.${escapeIdentifier(JAPANESE_TABLE)} SELECT g, 'l' || g FROM generate_series(1, 100) g`,
      );
    } finally {
      await client.end();
    }
    // The connection database itself is the hostile one: its name survives the DSN round trip.
    result = await collect(
      connectionTarget('hostile', parseDsn(server.dsn(DATABASE)), {
        environment: 'test',
        databases: { include: [DATABASE], exclude: [] },
      }),
      { tiers: ['historical'], scheduledAtMs: Date.now(), ignoreIntervals: true },
      { queries: BUILTIN_QUERIES, limits: DEFAULT_LIMITS },
    );
  });

  afterAll(async () => {
    await server?.destroy();
  });

  it('collects the historical tier without errors, in the named database', () => {
    expect(result.queries.filter((q) => q.status === 'error')).toEqual([]);
    expect(result.up).toBe(1);
    expect(result.server?.database).toBe(DATABASE);
    expect(result.databases).toEqual([DATABASE]);
  });

  it('labels tables with the exact database, schema and table names', () => {
    const tables = pointsOf(result, 'postgresql.table.size')
      .map((p) => [p.attributes.database_name, p.attributes.schema_name, p.attributes.table_name])
      .sort();
    expect(tables).toEqual(
      [
        [DATABASE, 'public', BACKSLASH_TABLE],
        [DATABASE, SCHEMA, JAPANESE_TABLE],
        [DATABASE, SCHEMA, LONG_TABLE],
      ].sort(),
    );
  });

  it('labels indexes with the exact names, quotes and all', () => {
    const indexes = pointsOf(result, 'postgresql.index.size')
      .map((p) => [
        p.attributes.database_name,
        p.attributes.schema_name,
        p.attributes.table_name,
        p.attributes.index_name,
      ])
      .sort();
    expect(indexes).toEqual(
      [
        [DATABASE, SCHEMA, JAPANESE_TABLE, QUOTED_INDEX],
        [DATABASE, SCHEMA, LONG_TABLE, `${LONG_TABLE.slice(0, 58)}_pkey`],
      ].sort(),
    );
  });

  it('renders Prometheus text that promtool accepts, with the names escaped exactly', async () => {
    // Prepare
    const text = result.batches.map(({ batch }) => toPrometheusText(batch)).join('');

    // Act
    const { code, output } = await promtoolCheckMetrics(text);

    // Assess
    expect({ code, output }).toEqual({ code: 0, output: '' });
    const sizeLines = text.split('\n').filter((line) => line.startsWith('postgresql_table_size_bytes{'));
    expect(sizeLines).toHaveLength(3);
    const japanese = sizeLines.find((line) => line.includes(`table_name="${JAPANESE_TABLE}"`));
    expect(japanese).toContain('database_name="shop \\"east\\" ünïcode db"');
    expect(japanese).toContain('schema_name="we ird\\"schema"');
    expect(sizeLines.some((line) => line.includes('table_name="back\\\\slash = \\"x\\", y"'))).toBe(true);
  });
});
