import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_QUERIES } from '../../shared/queries/catalog.ts';
import { helpOptions, pgotel } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { type PgInstance, startPostgres } from '../helpers/postgres.ts';
import { makeTmpRoot } from '../helpers/processes.ts';
import { makeTestCa, type TestCa } from '../helpers/tls.ts';

const MON_PASSWORD = 'Doctor-Mon-Pa55';
const NOMON_PASSWORD = 'Doctor-NoMon-Pa55';
/** Every built-in query but `replica`, which has no SQL for a primary. */
const CATALOG = `${BUILTIN_QUERIES.length - 1} of ${BUILTIN_QUERIES.length} queries ran, 1 skipped`;

/** One line of the report as `pgotel doctor` aligns it (check names padded to the longest, 25 characters). */
function row(status: string, name: string, detail: string): string {
  return `${status.padEnd(4)}  ${name.padEnd(25)}  ${detail}`;
}

/** The report line of check `name` (the first one). */
function lineOf(stdout: string, name: string): string | undefined {
  return stdout.split('\n').find((line) => line.slice(6).split(/\s+/)[0] === name);
}

async function serverVersion(server: PgInstance): Promise<string> {
  const rows = await server.query<{ server_version: string }>('SHOW server_version');
  return rows[0]?.server_version.split(' ')[0] ?? '';
}

describe('pgotel doctor (child process)', () => {
  it('--help lists its options, the line format and the exit codes', async () => {
    // Act
    const run = await pgotel(['doctor', '--help']);

    // Assess
    expect(run.code).toBe(0);
    const options = helpOptions(run.stdout);
    expect(options).toEqual(['--dsn <url>', '--config <file>', '--target <name>', '-h, --help']);
    expect(run.stdout).toContain(
      'Exit codes: 0 nothing failed (warnings allowed), 1 usage or config error, 2 cannot connect, 4 a check failed.',
    );
  });

  it('without a target it exits 1 saying what it needs', async () => {
    // Act
    const run = await pgotel(['doctor']);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'pgotel: doctor needs --dsn URL (or $DATABASE_URL), or --config FILE --target NAME\n',
    );
  });

  it('a port nobody listens on fails the connect line with the fix, exit 2, never the password', async () => {
    // Prepare
    const port = await freePort();

    // Act
    const run = await pgotel([
      'doctor',
      '--dsn',
      `postgres://mon:${MON_PASSWORD}@127.0.0.1:${port}/postgres`,
    ]);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stdout).toBe(
      `fail  connect  cannot connect to 127.0.0.1:${port} (database "postgres", user "mon"): connect ECONNREFUSED 127.0.0.1:${port}` +
        ` — fix: nothing listens on 127.0.0.1:${port}: is the server up, and are listen_addresses and the port right?\n` +
        '0 ok, 0 warn, 1 fail\n',
    );
    expect(run.stderr).toBe('');
    expect(run.stdout).not.toContain(MON_PASSWORD);
  });

  describe('against PostgreSQL with pg_stat_statements', () => {
    let server: PgInstance;
    let version: string;
    const dsn = (user: string, password: string) =>
      `postgres://${user}:${password}@127.0.0.1:${server.port}/postgres`;

    beforeAll(async () => {
      server = await startPostgres({ settings: { track_wal_io_timing: 'on' } });
      version = await serverVersion(server);
      for (const sql of [
        `CREATE ROLE mon LOGIN PASSWORD '${MON_PASSWORD}'`,
        'GRANT pg_monitor TO mon',
        `CREATE ROLE nomon LOGIN PASSWORD '${NOMON_PASSWORD}'`,
        'CREATE DATABASE app_db',
        'CREATE DATABASE forbidden_db',
        'REVOKE CONNECT ON DATABASE forbidden_db FROM PUBLIC',
      ])
        await server.query(sql);
    });

    afterAll(async () => {
      await server?.destroy();
    });

    it('a pg_monitor role passes every check: exit 0', async () => {
      // Act
      const run = await pgotel(['doctor', '--dsn', dsn('mon', MON_PASSWORD)]);

      // Assess
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe(
        [
          row('ok', 'connect', `127.0.0.1:${server.port}, database postgres, role mon`),
          row('ok', 'tls', 'not used: 127.0.0.1 is this host (loopback)'),
          row('ok', 'version', `PostgreSQL ${version} primary (supported: 13 to 18)`),
          row('ok', 'superuser', 'mon is not a superuser'),
          row('ok', 'privileges', 'pg_monitor'),
          row('ok', 'databases', 'visits app_db, postgres (no CONNECT, left out: forbidden_db)'),
          row('ok', 'pg_stat_statements', 'created in database postgres (version 1.12)'),
          row('ok', 'track_io_timing', 'on'),
          row('ok', 'track_wal_io_timing', 'on'),
          row('ok', 'track_activity_query_size', '4096 bytes'),
          row('ok', 'catalog', `${CATALOG}, 0 failed (PostgreSQL 18 primary, 2 databases)`),
          row('ok', 'skipped', 'replica: not applicable to PostgreSQL 18 primary'),
          '12 ok, 0 warn, 0 fail',
          '',
        ].join('\n'),
      );
      expect(run.code).toBe(0);
    });

    it('a role without pg_monitor fails the privileges line and the query it breaks: exit 4', async () => {
      // Act
      const run = await pgotel(['doctor', '--dsn', dsn('nomon', NOMON_PASSWORD)]);

      // Assess
      expect(run.code).toBe(4);
      expect(lineOf(run.stdout, 'privileges')).toBe(
        row(
          'fail',
          'privileges',
          `nomon lacks pg_monitor: other sessions' queries, WAL and settings are hidden or refused — fix: GRANT pg_monitor TO "nomon";`,
        ),
      );
      expect(run.stdout.split('\n').filter((line) => line.startsWith('fail'))).toEqual([
        lineOf(run.stdout, 'privileges'),
        row(
          'fail',
          'catalog',
          `${BUILTIN_QUERIES.length - 3} of ${BUILTIN_QUERIES.length} queries ran, 1 skipped, 2 failed (PostgreSQL 18 primary, 2 databases) — fix: see the failed lines`,
        ),
        row(
          'fail',
          'failed',
          'wal_files: permission denied for function pg_ls_waldir (SQLSTATE 42501) — fix: GRANT pg_monitor TO "nomon";',
        ),
        // pg_database_size needs CONNECT on the database or pg_read_all_stats.
        row(
          'fail',
          'failed',
          'database_size: permission denied for database forbidden_db (SQLSTATE 42501) — fix: GRANT pg_monitor TO "nomon";',
        ),
      ]);
      expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('10 ok, 0 warn, 4 fail');
    });

    it('a superuser warns that it is not least privilege, and passes: exit 0', async () => {
      // Act
      const run = await pgotel(['doctor', '--dsn', server.dsn()]);

      // Assess
      expect(run.code).toBe(0);
      expect(run.stdout.split('\n').filter((line) => !line.startsWith('ok'))).toEqual([
        row(
          'warn',
          'superuser',
          'postgres is a superuser: collection works, but this is not least privilege — fix: pgotel setup-user --apply --dsn ADMIN_DSN creates a pg_monitor role; collect with it',
        ),
        '11 ok, 1 warn, 0 fail',
        '',
      ]);
      expect(lineOf(run.stdout, 'privileges')).toBe(
        row('ok', 'privileges', 'superuser: every statistic is readable'),
      );
      expect(lineOf(run.stdout, 'databases')).toBe(
        row('ok', 'databases', 'visits app_db, forbidden_db, postgres'),
      );
      expect(run.stdout).not.toContain(server.password);
    });

    it('a wrong password fails the connect line with the fix, exit 2, and is never printed', async () => {
      // Act
      const run = await pgotel(['doctor', '--dsn', dsn('mon', 'Wrong-Pa55word')]);

      // Assess
      expect(run.code).toBe(2);
      expect(run.stdout).toBe(
        `fail  connect  cannot connect to 127.0.0.1:${server.port} (database "postgres", user "mon"): password authentication failed for user "mon"` +
          " — fix: check the password (the DSN's, or the secret's password field); pgotel setup-user --apply sets a new one\n" +
          '0 ok, 0 warn, 1 fail\n',
      );
      expect(run.stdout + run.stderr).not.toContain('Wrong-Pa55word');
    });

    it('a config target listing a database the role may not connect to fails the databases line: exit 4', async () => {
      // Prepare
      const file = join(await makeTmpRoot('doctor'), 'pgotel.config.yaml');
      await writeFile(
        file,
        `environment: test\ntargets:\n  - name: other\n    dsn: postgres://nobody@127.0.0.1:1/postgres\n` +
          `  - name: shop\n    dsn: ${dsn('mon', MON_PASSWORD)}\n    databases: [app_db, forbidden_db]\n`,
      );

      // Act
      const run = await pgotel(['doctor', '--config', file, '--target', 'shop']);

      // Assess
      expect(run.code).toBe(4);
      expect(run.stdout.split('\n').filter((line) => line.startsWith('fail'))).toEqual([
        row(
          'fail',
          'databases',
          'not visited: role "mon" has no CONNECT privilege on database "forbidden_db" (visits: app_db) — fix: GRANT CONNECT ON DATABASE "forbidden_db" TO "mon";',
        ),
        row(
          'fail',
          'catalog',
          `${BUILTIN_QUERIES.length - 6} of ${BUILTIN_QUERIES.length} queries ran, 1 skipped, 5 failed (PostgreSQL 18 primary, 1 database) — fix: see the failed lines`,
        ),
        row(
          'fail',
          'failed',
          'vacuum_dead_tuples, table_stats, index_stats, table_bloat, table_freeze_age in forbidden_db: not visited: role "mon" has no CONNECT privilege on database "forbidden_db" — fix: see the databases line',
        ),
      ]);
      expect(run.stdout).not.toContain(MON_PASSWORD);
    });
  });

  describe('against a TLS-only PostgreSQL without pg_stat_statements', () => {
    let server: PgInstance;
    let ca: TestCa;
    let version: string;
    const dsn = (host: string, query: string) =>
      `postgres://mon:${MON_PASSWORD}@${host}:${server.port}/postgres?${query}`;

    beforeAll(async () => {
      ca = await makeTestCa(await makeTmpRoot('doctor-tls'), ['localhost']);
      server = await startPostgres({
        ssl: { certFile: ca.certFile, keyFile: ca.keyFile },
        pgStatStatements: false,
        // The monitoring role may connect over TLS only; the helper's own superuser sessions are unaffected.
        hba: ['hostnossl all mon 127.0.0.1/32 reject'],
      });
      version = await serverVersion(server);
      await server.query(`CREATE ROLE mon LOGIN PASSWORD '${MON_PASSWORD}'`);
      await server.query('GRANT pg_monitor TO mon');
    });

    afterAll(async () => {
      await server?.destroy();
    });

    it('without TLS the connect line says the server wants TLS: exit 2', async () => {
      // Act
      const run = await pgotel(['doctor', '--dsn', dsn('127.0.0.1', 'sslmode=disable')]);

      // Assess
      expect(run.code).toBe(2);
      expect(run.stdout).toBe(
        `fail  connect  cannot connect to 127.0.0.1:${server.port} (database "postgres", user "mon"): pg_hba.conf rejects connection for host "127.0.0.1", user "mon", database "postgres", no encryption` +
          ' — fix: the server accepts this role over TLS only: connect with sslmode=verify-full&sslrootcert=CA_FILE (config: tls: { mode: verify-full, ca_file: … })\n' +
          '0 ok, 0 warn, 1 fail\n',
      );
    });

    it('verified TLS passes; pg_stat_statements and the timing settings warn with their fixes: exit 0', async () => {
      // Act
      const run = await pgotel([
        'doctor',
        '--dsn',
        dsn('localhost', `sslmode=verify-full&sslrootcert=${encodeURIComponent(ca.caFile)}`),
      ]);

      // Assess
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe(
        [
          row('ok', 'connect', `localhost:${server.port}, database postgres, role mon`),
          row('ok', 'tls', 'TLSv1.3, server certificate verified (verify-full)'),
          row('ok', 'version', `PostgreSQL ${version} primary (supported: 13 to 18)`),
          row('ok', 'superuser', 'mon is not a superuser'),
          row('ok', 'privileges', 'pg_monitor'),
          row('ok', 'databases', 'visits postgres'),
          row(
            'warn',
            'pg_stat_statements',
            "not in shared_preload_libraries (''): the statements queries are skipped — fix: ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements' and restart (RDS/Aurora: add pg_stat_statements to shared_preload_libraries in the DB parameter group, then reboot); then CREATE EXTENSION pg_stat_statements; in database postgres (as a superuser)",
          ),
          row(
            'warn',
            'track_io_timing',
            'off: block read and write times (pg_stat_io, pg_stat_database, pg_stat_statements) stay 0 — fix: ALTER SYSTEM SET track_io_timing = on; SELECT pg_reload_conf(); (RDS/Aurora: track_io_timing = 1 in the DB parameter group)',
          ),
          row(
            'warn',
            'track_wal_io_timing',
            'off: WAL write and sync times stay 0 — fix: ALTER SYSTEM SET track_wal_io_timing = on; SELECT pg_reload_conf(); (RDS/Aurora: track_wal_io_timing = 1 in the DB parameter group)',
          ),
          row('ok', 'track_activity_query_size', '4096 bytes'),
          row(
            'ok',
            'catalog',
            `${BUILTIN_QUERIES.length - 3} of ${BUILTIN_QUERIES.length} queries ran, 3 skipped, 0 failed (PostgreSQL 18 primary, 1 database)`,
          ),
          row('ok', 'skipped', 'replica: not applicable to PostgreSQL 18 primary'),
          row(
            'warn',
            'skipped',
            'statements: pg_stat_statements is not installed in any visited database — fix: see the pg_stat_statements line',
          ),
          row(
            'warn',
            'skipped',
            'statements_info: pg_stat_statements_info is not installed in any visited database — fix: see the pg_stat_statements line',
          ),
          '9 ok, 5 warn, 0 fail',
          '',
        ].join('\n'),
      );
      expect(run.code).toBe(0);
    });

    it('TLS without verification (sslmode=require) warns with the fix', async () => {
      // Act
      const run = await pgotel(['doctor', '--dsn', dsn('127.0.0.1', 'sslmode=require')]);

      // Assess
      expect(run.code).toBe(0);
      expect(lineOf(run.stdout, 'tls')).toBe(
        row(
          'warn',
          'tls',
          'TLSv1.3, but the server certificate is not verified (sslmode=require) — fix: verify it: connect with sslmode=verify-full&sslrootcert=CA_FILE (config: tls: { mode: verify-full, ca_file: … })',
        ),
      );
    });

    it('pg_stat_statements created but not preloaded: the warning says its queries fail, and they do', async () => {
      // Prepare
      await server.query('CREATE EXTENSION pg_stat_statements');

      // Act
      const run = await pgotel(['doctor', '--dsn', dsn('127.0.0.1', 'sslmode=require')]);

      // Assess
      expect(run.code).toBe(4);
      expect(lineOf(run.stdout, 'pg_stat_statements')).toBe(
        row(
          'warn',
          'pg_stat_statements',
          "not in shared_preload_libraries (''): the statements queries fail — fix: ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements' and restart (RDS/Aurora: add pg_stat_statements to shared_preload_libraries in the DB parameter group, then reboot)",
        ),
      );
      expect(run.stdout.split('\n').filter((line) => line.startsWith('fail'))).toEqual([
        row(
          'fail',
          'catalog',
          `${BUILTIN_QUERIES.length - 3} of ${BUILTIN_QUERIES.length} queries ran, 1 skipped, 2 failed (PostgreSQL 18 primary, 1 database) — fix: see the failed lines`,
        ),
        row(
          'fail',
          'failed',
          'statements, statements_info: pg_stat_statements must be loaded via "shared_preload_libraries" (SQLSTATE 55000) — fix: see the pg_stat_statements line',
        ),
      ]);
    });
  });
});
