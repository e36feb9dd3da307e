import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_MAJORS, type PgInstance, parsePgMajors, startPostgres, startReplica } from './postgres.ts';
import { delay } from './processes.ts';
import { makeTestCa } from './tls.ts';

// The oldest and newest majors always, plus whatever the run asks for (all of them in CI).
const majors = [...new Set([13, 18, ...PG_MAJORS])].sort((a, b) => a - b);

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await delay(100);
  }
}

describe.each(majors)('startPostgres on PostgreSQL %i', (major) => {
  let server: PgInstance;

  beforeAll(async () => {
    server = await startPostgres({ major });
  });

  afterAll(async () => {
    await server?.destroy();
  });

  it('runs the requested major', async () => {
    // Act
    const rows = await server.query<{ server_version_num: string }>('SHOW server_version_num');

    // Assess
    expect(Math.floor(Number(rows[0]?.server_version_num) / 10_000)).toBe(major);
    expect(server.major).toBe(major);
  });

  it('applies the test settings', async () => {
    // Prepare
    const names = [
      'fsync',
      'hot_standby',
      'listen_addresses',
      'max_connections',
      'max_replication_slots',
      'max_wal_senders',
      'password_encryption',
      'shared_preload_libraries',
      'ssl',
      'synchronous_commit',
      'track_activity_query_size',
      'track_io_timing',
      'wal_level',
    ];

    // Act
    const rows = await server.query<{ name: string; setting: string }>(
      'SELECT name, setting FROM pg_settings WHERE name = ANY($1) ORDER BY name',
      [names],
    );

    // Assess
    expect(Object.fromEntries(rows.map((r) => [r.name, r.setting]))).toEqual({
      fsync: 'off',
      hot_standby: 'on',
      listen_addresses: '127.0.0.1',
      max_connections: '100',
      max_replication_slots: '10',
      max_wal_senders: '10',
      password_encryption: 'scram-sha-256',
      shared_preload_libraries: 'pg_stat_statements',
      ssl: 'off',
      synchronous_commit: 'off',
      track_activity_query_size: '4096',
      track_io_timing: 'on',
      wal_level: 'logical',
    });
  });

  it('creates pg_stat_statements in database postgres', async () => {
    // Act
    const rows = await server.query<{ extname: string }>(
      "SELECT extname FROM pg_extension WHERE extname = 'pg_stat_statements'",
    );
    const calls = await server.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_statements');

    // Assess
    expect(rows).toEqual([{ extname: 'pg_stat_statements' }]);
    expect(Number(calls[0]?.n)).toBeGreaterThan(0);
  });

  it('accepts its DSN and rejects a wrong password', async () => {
    // Prepare
    const good = new pg.Client({ connectionString: server.dsn() });
    const bad = new pg.Client({ connectionString: server.dsn().replace(server.password, 'wrong') });

    // Act
    await good.connect();
    const rows = (
      await good.query('SELECT current_user AS u, current_database() AS d, inet_server_port() AS p')
    ).rows;
    await good.end();
    const refused = bad.connect();

    // Assess
    expect(server.dsn('my db')).toBe(
      `postgres://postgres:${encodeURIComponent(server.password)}@127.0.0.1:${server.port}/my%20db`,
    );
    expect(rows).toEqual([{ u: 'postgres', d: 'postgres', p: server.port }]);
    await expect(refused).rejects.toThrow('password authentication failed for user "postgres"');
  });

  it('keeps its data and port across stop and start', async () => {
    // Prepare
    await server.query('CREATE TABLE kept (id int)');
    await server.query('INSERT INTO kept VALUES (42)');
    const port = server.port;

    // Act
    await server.stop();
    const whileStopped = server.query('SELECT 1');
    await expect(whileStopped).rejects.toThrow('ECONNREFUSED');
    await server.start();
    const rows = await server.query<{ id: number }>('SELECT id FROM kept');

    // Assess
    expect(server.port).toBe(port);
    expect(rows).toEqual([{ id: 42 }]);
  });

  it('makes a streaming replica', async () => {
    // Prepare
    await server.query('CREATE TABLE replicated (id int)');

    // Act
    const replica = await startReplica(server);
    try {
      await server.query('INSERT INTO replicated VALUES (7)');
      const seen = await waitFor(
        () => replica.query<{ id: number }>('SELECT id FROM replicated'),
        (rows) => rows.length > 0,
      );
      const recovery = await replica.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
      const senders = await server.query('SELECT application_name, state FROM pg_stat_replication');

      // Assess
      expect(seen).toEqual([{ id: 7 }]);
      expect(recovery).toEqual([{ r: true }]);
      expect(senders).toEqual([{ application_name: 'replica1', state: 'streaming' }]);
      expect(replica.major).toBe(major);
      expect(replica.password).toBe(server.password);
      expect(replica.port).not.toBe(server.port);
      expect(replica.dataDir).not.toBe(server.dataDir);
    } finally {
      await replica.destroy();
    }
  });
});

describe('startPostgres options', () => {
  let certDir: string;

  beforeAll(async () => {
    certDir = await mkdtemp(join(tmpdir(), 'pgotel-pgtls-test-'));
  });

  afterAll(async () => {
    await rm(certDir, { recursive: true, force: true });
  });

  it('applies extra settings and can leave pg_stat_statements out', async () => {
    // Act
    const server = await startPostgres({
      settings: { work_mem: '8MB', application_name: "it's" },
      pgStatStatements: false,
    });
    try {
      const settings = await server.query(
        "SELECT current_setting('work_mem') AS work_mem, current_setting('shared_preload_libraries') AS spl, current_setting('track_io_timing') AS tio",
      );
      const extensions = await server.query("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'");

      // Assess
      expect(settings).toEqual([{ work_mem: '8MB', spl: '', tio: 'off' }]);
      expect(extensions).toEqual([]);
    } finally {
      await server.destroy();
    }
  });

  it('serves TLS with the given certificate', async () => {
    // Prepare
    const files = await makeTestCa(certDir, ['localhost']);
    const server = await startPostgres({ ssl: files, pgStatStatements: false });
    const ca = await readFile(files.caFile, 'utf8');
    const connect = async (ssl: pg.ClientConfig['ssl']) => {
      const client = new pg.Client({ ...configOf(server), ssl });
      await client.connect();
      try {
        return (await client.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows;
      } finally {
        await client.end();
      }
    };
    try {
      // Act
      const verified = await connect({ ca, rejectUnauthorized: true });
      const byName = await connect({ ca, rejectUnauthorized: true, servername: 'localhost' });
      const untrusted = connect({ rejectUnauthorized: true });

      // Assess
      expect(verified).toEqual([{ ssl: true }]);
      expect(byName).toEqual([{ ssl: true }]);
      await expect(untrusted).rejects.toThrow('self-signed certificate in certificate chain');
    } finally {
      await server.destroy();
    }
  });

  it('removes the data directory on destroy', async () => {
    // Prepare
    const server = await startPostgres({ pgStatStatements: false });
    const existedBefore = existsSync(server.dataDir);

    // Act
    await server.destroy();

    // Assess
    expect(existedBefore).toBe(true);
    expect(existsSync(server.dataDir)).toBe(false);
  });

  it('rejects an unsupported major', async () => {
    // Act
    const started = startPostgres({ major: 12 });

    // Assess
    await expect(started).rejects.toThrow('unsupported PostgreSQL major 12 (supported: 13..18)');
  });

  it('refuses a primary it did not start', async () => {
    // Prepare
    const fake = { major: 18 } as unknown as PgInstance;

    // Act
    const started = startReplica(fake);

    // Assess
    await expect(started).rejects.toThrow('startReplica needs a primary returned by startPostgres');
  });
});

function configOf(server: PgInstance): pg.ClientConfig {
  return {
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database: 'postgres',
  };
}

describe('parsePgMajors', () => {
  it('defaults to 18', () => {
    // Assess
    expect(parsePgMajors(undefined)).toEqual([18]);
    expect(parsePgMajors(' ')).toEqual([18]);
  });

  it('keeps order and drops duplicates', () => {
    // Assess
    expect(parsePgMajors('13, 18,13,15')).toEqual([13, 18, 15]);
  });

  it('names a bad entry', () => {
    // Assess
    expect(() => parsePgMajors('13,12')).toThrow(
      'PGOTEL_PG_MAJORS: "12" is not a supported PostgreSQL major (13..18)',
    );
    expect(() => parsePgMajors('13,x')).toThrow('PGOTEL_PG_MAJORS: "x" is not');
  });

  it('is what PG_MAJORS holds', () => {
    // Assess
    expect(PG_MAJORS).toEqual(parsePgMajors(process.env.PGOTEL_PG_MAJORS));
  });
});
