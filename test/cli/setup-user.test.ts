import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CollectResult } from '../../shared/collect/collect.ts';
import { BUILTIN_QUERIES } from '../../shared/queries/catalog.ts';
import { pickSql } from '../../shared/queries/select.ts';
import { createSecretsManagerClient } from '../../shared/secrets/secrets-manager.ts';
import { type AwsEmulator, startAws } from '../helpers/aws.ts';
import { type CliRun, helpOptions, pgotel, REPO } from '../helpers/cli.ts';
import { PG_MAJORS, type PgInstance, startPostgres } from '../helpers/postgres.ts';
import { makeTmpRoot } from '../helpers/processes.ts';

const PASSWORD = 'Setup-User-Pa55word';
const BIN = join(REPO, 'bin', 'pgotel.js');
/** `pgotel ...args` with `input` on stdin. */
const pgotelStdin = (args: readonly string[], input: string) => pgotel(args, 60_000, {}, input);

/**
 * Runs the CLI on a pseudo-terminal (util-linux `script`), typing each answer once the output shows its
 * prompt: what a person at a terminal sees, echo included.
 */
function pgotelOnTerminal(
  args: readonly string[],
  answers: readonly { after: string; type: string }[],
): Promise<CliRun> {
  const { DATABASE_URL: _ignored, ...env } = process.env;
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  return new Promise((resolvePromise, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: REPO,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let next = 0;
    let from = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const answer = answers[next];
      const at = answer === undefined ? -1 : stdout.indexOf(answer.after, from);
      if (answer === undefined || at === -1) return;
      from = at + answer.after.length;
      next++;
      child.stdin.write(answer.type);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr: '' });
    });
  });
}

/** The role as the catalog has it: attributes, memberships, explicit CONNECT grants. */
async function roleState(server: PgInstance, role: string): Promise<Record<string, unknown>[]> {
  return server.query(
    `SELECT r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin, r.rolreplication,
            r.rolbypassrls, r.rolconnlimit,
            ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                   WHERE m.member = r.oid ORDER BY 1) AS member_of,
            ARRAY(SELECT d.datname::text FROM pg_database d, aclexplode(d.datacl) a
                   WHERE a.grantee = r.oid AND a.privilege_type = 'CONNECT' ORDER BY 1) AS connect_on
       FROM pg_roles r WHERE r.rolname = $1`,
    [role],
  );
}

/** Logs in as `user` with `password` and returns current_user, or the error message. */
async function loginAs(server: PgInstance, user: string, password: string): Promise<string> {
  const client = new pg.Client({
    host: server.host,
    port: server.port,
    user,
    password,
    database: 'postgres',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ user: string }>('SELECT current_user AS user');
    return rows[0]?.user ?? '';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const PRINTED = `-- pgotel monitoring role pgotel_monitor: least privilege, idempotent (safe to run again).
-- Run it as a superuser (RDS/Aurora: the master user): psql "$ADMIN_DSN" -f pgotel-role.sql
\\set ON_ERROR_STOP on
BEGIN;
-- create role pgotel_monitor unless it exists (never a superuser, no CREATEDB, CREATEROLE, REPLICATION)
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgotel_monitor') THEN
    CREATE ROLE "pgotel_monitor" LOGIN;
  END IF;
END
$$;
-- allow login, at most 5 sessions at once
ALTER ROLE "pgotel_monitor" WITH LOGIN CONNECTION LIMIT 5;
-- read every statistics view and setting (pg_read_all_stats, pg_read_all_settings, pg_stat_scan_tables)
GRANT pg_monitor TO "pgotel_monitor";
-- connect to database postgres
GRANT CONNECT ON DATABASE "postgres" TO "pgotel_monitor";
-- connect to database Shop "east"
GRANT CONNECT ON DATABASE "Shop ""east""" TO "pgotel_monitor";
-- set the password: psql asks for it and sends only its SCRAM verifier (keep it in Secrets Manager)
\\password "pgotel_monitor"
-- create pg_stat_statements (for the statements queries): it needs shared_preload_libraries to include pg_stat_statements (RDS/Aurora: the DB parameter group); then, in the database pgotel connects to:
-- CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
COMMIT;
-- pg_hba.conf of a self-managed server (then SELECT pg_reload_conf()); narrow 0.0.0.0/0 to the collector's subnet:
--   hostssl all pgotel_monitor 0.0.0.0/0 scram-sha-256
-- RDS and Aurora have no pg_hba.conf: set rds.force_ssl = 1 in the DB parameter group (the default from PostgreSQL 15).
`;

describe('pgotel setup-user (child process)', () => {
  it('--help lists its options; --password is not one of them', async () => {
    // Act
    const run = await pgotel(['setup-user', '--help']);

    // Assess
    expect(run.code).toBe(0);
    const options = helpOptions(run.stdout);
    expect(options).toEqual([
      '--role <name>',
      '--databases <list>',
      '--connection-limit <n>',
      '--hba-address <cidr>',
      '--dsn <url>',
      '--apply',
      '--password-secret <arn>',
      '--password-stdin',
      '--keep-password',
      '-h, --help',
    ]);
  });

  it('refuses a password on the command line without echoing it: exit 1', async () => {
    // Act
    const run = await pgotel(['setup-user', '--databases', 'postgres', '--password', PASSWORD]);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'pgotel: --password is refused: a password on the command line is seen by ps and kept in shell history; use --password-stdin, --password-secret ARN, or the prompt of --apply\n',
    );
    expect(run.stdout).toBe('');
  });

  it.each([
    [
      ['--role', 'pg_monitor2', '--databases', 'a'],
      '--role: "pg_monitor2" must not start with pg_ (reserved for PostgreSQL’s own roles)',
    ],
    [
      ['--role', 'x"; DROP', '--databases', 'a'],
      '--role: "x"; DROP" must start with a letter or _ and hold only letters, digits and _',
    ],
    [['--databases', 'a,,b'], '--databases: "" is empty'],
    [
      ['--databases', 'a', '--connection-limit', '0'],
      '--connection-limit: "0" must be a whole number from 1 to 1000',
    ],
    [
      ['--databases', 'a', '--hba-address', '10.0.0.0'],
      '--hba-address: "10.0.0.0" must be an address with a prefix length, e.g. 10.0.0.0/8 or 2001:db8::/32',
    ],
    [
      [],
      'setup-user needs --databases a,b (the databases to grant CONNECT on), or --dsn ADMIN_DSN to take them from the server',
    ],
    [
      ['--apply', '--databases', 'a'],
      '--apply needs --dsn ADMIN_DSN: a superuser (RDS/Aurora: the master user)',
    ],
  ])('bad input %j exits 1 naming the flag', async (args, message) => {
    // Act
    const run = await pgotel(['setup-user', ...args]);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`pgotel: ${message}\n`);
  });

  it('prints the SQL for the databases given, quoting names, with psql asking for the password', async () => {
    // Act
    const run = await pgotel(['setup-user', '--databases', 'postgres,Shop "east"']);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(PRINTED);
  });

  describe.each(PG_MAJORS)('against PostgreSQL %i', (major) => {
    let server: PgInstance;

    beforeAll(async () => {
      server = await startPostgres({ major });
      for (const sql of ['CREATE ROLE app_owner LOGIN', 'CREATE DATABASE app_db OWNER app_owner'])
        await server.query(sql);
      const client = await server.client('app_db');
      try {
        await client.query('REVOKE ALL ON SCHEMA public FROM PUBLIC');
        await client.query('CREATE SCHEMA sales AUTHORIZATION app_owner');
        await client.query('SET ROLE app_owner');
        await client.query('CREATE TABLE sales.orders (id bigint PRIMARY KEY, note text)');
        await client.query(`INSERT INTO sales.orders SELECT g, 'n' || g FROM generate_series(1, 2000) g`);
        await client.query('DELETE FROM sales.orders WHERE id % 4 = 0');
      } finally {
        await client.end();
      }
    });

    afterAll(async () => {
      await server?.destroy();
    });

    it('the printed SQL holds a SCRAM verifier, never the password, and logs the role in when run', async () => {
      // Act
      const run = await pgotelStdin(
        ['setup-user', '--role', 'printed_role', '--databases', 'postgres,app_db', '--password-stdin'],
        `${PASSWORD}\n`,
      );

      // Assess
      expect(run.code).toBe(0);
      expect(run.stdout).not.toContain(PASSWORD);
      const password = run.stdout.split('\n').filter((line) => line.includes('PASSWORD'));
      expect(password).toHaveLength(1);
      expect(password[0]).toMatch(
        /^ALTER ROLE "printed_role" PASSWORD 'SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=';$/,
      );
      // What psql would run: the script without its meta-commands.
      const sql = run.stdout
        .split('\n')
        .filter((line) => !line.startsWith('\\'))
        .join('\n');
      await server.query(sql);
      expect(await loginAs(server, 'printed_role', PASSWORD)).toBe('printed_role');
      expect(await roleState(server, 'printed_role')).toEqual([
        {
          rolname: 'printed_role',
          rolsuper: false,
          rolinherit: true,
          rolcreaterole: false,
          rolcreatedb: false,
          rolcanlogin: true,
          rolreplication: false,
          rolbypassrls: false,
          rolconnlimit: 5,
          member_of: ['pg_monitor'],
          connect_on: ['app_db', 'postgres'],
        },
      ]);
    });

    it('a password that SASLprep changes (no-break space, ligature) logs in as typed', async () => {
      // Prepare: NFKC turns U+FB01 into "fi", SASLprep maps U+00A0 to a space; server and clients hash that form.
      const password = 'Sa\u00A0sl-pr\uFB01p-\u00E9t\u00E9';

      // Act
      const run = await pgotelStdin(
        ['setup-user', '--role', 'prepped_role', '--databases', 'postgres', '--password-stdin'],
        password,
      );
      await server.query(
        run.stdout
          .split('\n')
          .filter((line) => !line.startsWith('\\'))
          .join('\n'),
      );

      // Assess
      expect(run.code).toBe(0);
      expect(await loginAs(server, 'prepped_role', password)).toBe('prepped_role');
      expect(await loginAs(server, 'prepped_role', 'Sa sl-prfip-\u00E9t\u00E9')).toBe('prepped_role');
    });

    it('--apply creates a role that collects the whole catalog without one failed query', async () => {
      // Act
      const run = await pgotelStdin(
        ['setup-user', '--apply', '--dsn', server.dsn(), '--password-stdin'],
        `${PASSWORD}\n`,
      );

      // Assess
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe(
        [
          `applied on 127.0.0.1:${server.port} as postgres, database postgres:`,
          '  done  create role pgotel_monitor unless it exists (never a superuser, no CREATEDB, CREATEROLE, REPLICATION)',
          '  done  allow login, at most 5 sessions at once',
          '  done  read every statistics view and setting (pg_read_all_stats, pg_read_all_settings, pg_stat_scan_tables)',
          '  done  connect to database app_db',
          '  done  connect to database postgres',
          '  done  set the password, as a SCRAM-SHA-256 verifier computed by pgotel (the password itself is in no statement)',
          '  done  create pg_stat_statements unless it exists, in database postgres',
          "pg_hba.conf of a self-managed server (then SELECT pg_reload_conf()); narrow 0.0.0.0/0 to the collector's subnet:",
          '  hostssl all pgotel_monitor 0.0.0.0/0 scram-sha-256',
          'RDS and Aurora have no pg_hba.conf: set rds.force_ssl = 1 in the DB parameter group (the default from PostgreSQL 15).',
          `check it: pgotel doctor --dsn postgres://pgotel_monitor:…@127.0.0.1:${server.port}/postgres`,
          '',
        ].join('\n'),
      );
      expect(run.code).toBe(0);

      const collected = await pgotel([
        'collect',
        '--dsn',
        `postgres://pgotel_monitor:${PASSWORD}@127.0.0.1:${server.port}/postgres`,
        '--format',
        'json',
      ]);
      expect(collected.code).toBe(0);
      const result = JSON.parse(collected.stdout) as CollectResult;
      expect(result.up).toBe(1);
      expect(result.databases).toEqual(['app_db', 'postgres']);
      expect(result.queries.filter((q) => q.status === 'error')).toEqual([]);
      expect(
        result.queries.filter((q) => q.status === 'skipped').map((q) => `${q.query}: ${q.message ?? ''}`),
      ).toEqual(
        BUILTIN_QUERIES.filter((q) => pickSql(q, { major, role: 'primary' }) === undefined).map(
          (q) => `${q.name}: not applicable to PostgreSQL ${major} primary`,
        ),
      );
    });

    it('--apply again leaves the same state, and the password (read again) still logs in', async () => {
      // Prepare
      const before = await roleState(server, 'pgotel_monitor');

      // Act
      const run = await pgotelStdin(
        ['setup-user', '--apply', '--dsn', server.dsn(), '--password-stdin'],
        PASSWORD,
      );

      // Assess
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      expect(before).toEqual([
        expect.objectContaining({
          rolconnlimit: 5,
          member_of: ['pg_monitor'],
          connect_on: ['app_db', 'postgres'],
        }),
      ]);
      expect(await roleState(server, 'pgotel_monitor')).toEqual(before);
      expect(await loginAs(server, 'pgotel_monitor', PASSWORD)).toBe('pgotel_monitor');
    });

    it('--keep-password changes the limit and keeps the password', async () => {
      // Act
      const run = await pgotel([
        'setup-user',
        '--apply',
        '--dsn',
        server.dsn(),
        '--keep-password',
        '--connection-limit',
        '3',
        '--databases',
        'postgres',
      ]);

      // Assess
      expect(run.code).toBe(0);
      expect(run.stdout.split('\n').filter((line) => line.startsWith('  '))).toEqual([
        '  done  create role pgotel_monitor unless it exists (never a superuser, no CREATEDB, CREATEROLE, REPLICATION)',
        '  done  allow login, at most 3 sessions at once',
        '  done  read every statistics view and setting (pg_read_all_stats, pg_read_all_settings, pg_stat_scan_tables)',
        '  done  connect to database postgres',
        '  done  create pg_stat_statements unless it exists, in database postgres',
        '  note  password left as it is (--keep-password)',
        '  hostssl all pgotel_monitor 0.0.0.0/0 scram-sha-256',
      ]);
      expect(await roleState(server, 'pgotel_monitor')).toEqual([
        expect.objectContaining({
          rolconnlimit: 3,
          member_of: ['pg_monitor'],
          connect_on: ['app_db', 'postgres'],
        }),
      ]);
      expect(await loginAs(server, 'pgotel_monitor', PASSWORD)).toBe('pgotel_monitor');
    });

    it('a database that does not exist is an error naming --databases, and nothing is created', async () => {
      // Act
      const run = await pgotelStdin(
        [
          'setup-user',
          '--apply',
          '--dsn',
          server.dsn(),
          '--role',
          'never_made',
          '--databases',
          'postgres,nope',
          '--password-stdin',
        ],
        PASSWORD,
      );

      // Assess
      expect(run.code).toBe(1);
      expect(run.stderr).toBe('pgotel: --databases: database nope does not exist\n');
      expect(await roleState(server, 'never_made')).toEqual([]);
    });

    it('--apply in a terminal asks for the password twice without echo', async () => {
      // Act
      const run = await pgotelOnTerminal(
        ['setup-user', '--apply', '--dsn', server.dsn(), '--role', 'typed_role', '--databases', 'postgres'],
        [
          { after: 'Password for typed_role: ', type: `${PASSWORD}\r` },
          { after: 'Again: ', type: `${PASSWORD}\r` },
        ],
      );

      // Assess
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Password for typed_role: \r\nAgain: \r\napplied on');
      expect(run.stdout).not.toContain(PASSWORD);
      expect(await loginAs(server, 'typed_role', PASSWORD)).toBe('typed_role');
    });
  });

  describe('with the password in Secrets Manager (emulator)', () => {
    let server: PgInstance;
    let aws: AwsEmulator;
    let arn: string;
    let awsEnv: NodeJS.ProcessEnv;

    beforeAll(async () => {
      [server, aws] = await Promise.all([
        startPostgres({ settings: { track_wal_io_timing: 'on' } }),
        startAws(),
      ]);
      awsEnv = {
        AWS_ENDPOINT_URL: aws.endpoint,
        AWS_REGION: aws.region,
        AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
      };
      const client = createSecretsManagerClient({
        endpoint: aws.endpoint,
        region: aws.region,
        credentials: aws.credentials,
      });
      try {
        // The RDS secret format, as the collector Lambda reads it.
        const created = await client.send(
          new CreateSecretCommand({
            Name: 'pgotel/setup-user',
            SecretString: JSON.stringify({
              engine: 'postgres',
              host: server.host,
              port: server.port,
              username: 'secret_role',
              password: PASSWORD,
              dbname: 'postgres',
            }),
          }),
        );
        arn = created.ARN ?? '';
      } finally {
        client.destroy();
      }
    });

    afterAll(async () => {
      await Promise.all([server?.destroy(), aws?.stop()]);
    });

    it("--password-secret sets the secret's password, and doctor --config reads the same secret and passes", async () => {
      // Act
      const setup = await pgotel(
        ['setup-user', '--apply', '--dsn', server.dsn(), '--role', 'secret_role', '--password-secret', arn],
        60_000,
        awsEnv,
      );
      const file = join(await makeTmpRoot('setup-user'), 'pgotel.config.yaml');
      await writeFile(
        file,
        `environment: test\ntargets:\n  - name: shop\n    secret_arn: ${arn}\n    tls: { mode: disable }\n`,
      );
      const doctor = await pgotel(['doctor', '--config', file, '--target', 'shop'], 60_000, awsEnv);

      // Assess
      expect(setup.stderr).toBe('');
      expect(setup.code).toBe(0);
      expect(setup.stdout).toContain(
        '  done  set the password, as a SCRAM-SHA-256 verifier computed by pgotel (the password itself is in no statement)\n',
      );
      expect(await loginAs(server, 'secret_role', PASSWORD)).toBe('secret_role');
      expect(doctor.stdout.split('\n').slice(0, 2)).toEqual([
        `ok    connect                    127.0.0.1:${server.port}, database postgres, role secret_role`,
        'ok    tls                        not used: 127.0.0.1 is this host (loopback)',
      ]);
      expect(doctor.stdout.trimEnd().split('\n').at(-1)).toBe('12 ok, 0 warn, 0 fail');
      expect(doctor.code).toBe(0);
      expect(setup.stdout + setup.stderr + doctor.stdout + doctor.stderr).not.toContain(PASSWORD);
    });

    it('a secret that does not exist fails the connect line naming the ARN: exit 2', async () => {
      // Prepare
      const missing = arn.replace('pgotel/setup-user', 'pgotel/missing');
      const file = join(await makeTmpRoot('setup-user'), 'pgotel.config.yaml');
      await writeFile(file, `targets:\n  - name: shop\n    secret_arn: ${missing}\n`);

      // Act
      const run = await pgotel(['doctor', '--config', file], 60_000, awsEnv);

      // Assess
      expect(run.code).toBe(2);
      expect(run.stdout).toMatch(
        new RegExp(
          `^fail  connect  cannot read the credentials: secret ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ResourceNotFoundException: .+ — fix: check the secret ARN, and that these AWS credentials may secretsmanager:GetSecretValue it\n0 ok, 0 warn, 1 fail\n$`,
        ),
      );
    });
  });
});
