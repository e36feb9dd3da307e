import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { type ConnectionOptions, checkServerIdentity } from 'node:tls';
import pg from 'pg';

/** Where and how to connect; the password never leaves this object except into the pg driver. */
/** TLS to PostgreSQL, with libpq's `sslmode` names (the config's `tls` section has this shape). */
export interface TlsConfig {
  readonly mode: 'disable' | 'require' | 'verify-ca' | 'verify-full';
  /** PEM file with the CA that signed the server certificate. */
  readonly ca_file?: string | undefined;
  /** Expected host name in the server certificate; defaults to the connection host. */
  readonly server_name?: string | undefined;
}

export interface ConnectionParams {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly tls: TlsConfig;
  /** @default 5000 */
  readonly connectTimeoutMs?: number;
}

/** Session settings applied in the startup packet, so they cost no extra round trip. */
export interface SessionSettings {
  readonly statementTimeoutMs: number;
  readonly lockTimeoutMs: number;
}

/** The DSN is not a `postgres://` URL or has a field we cannot use. */
export class DsnError extends Error {
  override readonly name = 'DsnError';
}

/** Connecting failed. The message names host, port and reason, and never the password. */
export class ConnectError extends Error {
  override readonly name = 'ConnectError';
  readonly host: string;
  readonly port: number;
  /** SQLSTATE when the server refused us (e.g. 28P01 bad password, 3D000 no such database). */
  readonly code: string | undefined;
  constructor(
    params: Pick<ConnectionParams, 'host' | 'port' | 'database' | 'user'>,
    reason: string,
    options: { cause: unknown; code?: string },
  ) {
    super(
      `cannot connect to ${params.host}:${params.port} (database "${params.database}", user "${params.user}"): ${reason}`,
      options,
    );
    this.host = params.host;
    this.port = params.port;
    this.code = options.code;
  }
}

const SSL_MODES: Readonly<Record<string, TlsConfig['mode']>> = {
  disable: 'disable',
  require: 'require',
  'verify-ca': 'verify-ca',
  'verify-full': 'verify-full',
};

/**
 * Parses a libpq URL: `postgres://user:password@host:5432/db?sslmode=verify-full&sslrootcert=/ca.pem`.
 * `sslmode` allow/prefer are refused: they silently fall back to plaintext.
 */
export function parseDsn(dsn: string): ConnectionParams {
  let url: URL;
  try {
    url = new URL(dsn);
  } catch {
    throw new DsnError('DSN must be a URL like postgres://user:password@host:5432/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new DsnError(`DSN scheme must be postgres:// or postgresql://, got ${url.protocol}//`);
  }
  const sslmode = url.searchParams.get('sslmode') ?? 'disable';
  const mode = SSL_MODES[sslmode];
  if (mode === undefined) {
    throw new DsnError(
      `DSN sslmode "${sslmode}" is not supported: use disable, require, verify-ca or verify-full`,
    );
  }
  const caFile = url.searchParams.get('sslrootcert') ?? undefined;
  const timeout = url.searchParams.get('connect_timeout');
  return {
    host: decodeURIComponent(url.hostname.replace(/^\[|\]$/g, '')) || 'localhost',
    port: url.port === '' ? 5432 : Number(url.port),
    user: decodeURIComponent(url.username) || 'postgres',
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres',
    tls: caFile === undefined ? { mode } : { mode, ca_file: caFile },
    ...(timeout === null ? {} : { connectTimeoutMs: Number(timeout) * 1000 }),
  };
}

/** Renders params as a DSN with the password masked, for messages. */
export function describeConnection(
  params: Pick<ConnectionParams, 'host' | 'port' | 'database' | 'user'>,
): string {
  return `postgres://${params.user}@${params.host}:${params.port}/${params.database}`;
}

const caCache = new Map<string, Promise<string>>();

async function tlsOptions(tls: TlsConfig, host: string): Promise<ConnectionOptions | false> {
  if (tls.mode === 'disable') return false;
  let ca: string | undefined;
  if (tls.ca_file !== undefined) {
    let pending = caCache.get(tls.ca_file);
    if (pending === undefined) {
      pending = readFile(tls.ca_file, 'utf8');
      caCache.set(tls.ca_file, pending);
      pending.catch(() => caCache.delete(tls.ca_file ?? ''));
    }
    ca = await pending;
  }
  if (tls.mode === 'require') {
    // libpq semantics: `require` with a root certificate verifies the chain like `verify-ca`.
    return ca === undefined
      ? { rejectUnauthorized: false }
      : { rejectUnauthorized: true, ca, checkServerIdentity: () => undefined };
  }
  const base: ConnectionOptions = { rejectUnauthorized: true, ...(ca === undefined ? {} : { ca }) };
  if (tls.mode === 'verify-ca') return { ...base, checkServerIdentity: () => undefined };
  // pg overwrites `servername` with the host when the host is a DNS name, so the identity check is pinned to the
  // expected name itself; SNI carries no IP address (RFC 6066).
  const expected = tls.server_name ?? host;
  return {
    ...base,
    ...(isIP(expected) === 0 ? { servername: expected } : {}),
    checkServerIdentity: (_host, cert) => checkServerIdentity(expected, cert),
  };
}

/** The SQLSTATE of a server error (e.g. `28P01`), or undefined for anything else (a network error code). */
export function sqlstateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

function reasonOf(error: unknown, password: string): string {
  let message = error instanceof Error ? error.message : String(error);
  if (error instanceof AggregateError && error.errors.length > 0) {
    message = error.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ');
  }
  if (message === '' && error instanceof Error) message = (error as NodeJS.ErrnoException).code ?? error.name;
  if (/timeout/i.test(message) && !/statement/i.test(message)) message = `connection timed out (${message})`;
  return password === '' ? message : message.split(password).join('****');
}

/**
 * Drops a session whose query was cut by the client-side timeout. node-postgres has no cancel request, and the
 * server keeps the statement running (until `statement_timeout`), so anything sent next on that session would
 * wait behind it: closing the socket makes it fail at once instead.
 */
export function abandonSession(client: pg.Client): void {
  const connection = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection;
  connection?.stream?.destroy();
}

/**
 * Opens a read-only monitoring session: `application_name=pgotel`, `default_transaction_read_only`,
 * `statement_timeout` and `lock_timeout` all set in the startup packet.
 */
export async function openSession(params: ConnectionParams, settings: SessionSettings): Promise<pg.Client> {
  let ssl: ConnectionOptions | false;
  try {
    ssl = await tlsOptions(params.tls, params.host);
  } catch (error) {
    throw new ConnectError(params, `cannot read TLS CA file: ${reasonOf(error, '')}`, { cause: error });
  }
  const client = new pg.Client({
    host: params.host,
    port: params.port,
    user: params.user,
    password: params.password,
    database: params.database,
    ssl,
    application_name: 'pgotel',
    connectionTimeoutMillis: params.connectTimeoutMs ?? 5000,
    options: [
      '-c default_transaction_read_only=on',
      `-c statement_timeout=${Math.round(settings.statementTimeoutMs)}`,
      `-c lock_timeout=${Math.round(settings.lockTimeoutMs)}`,
    ].join(' '),
  });
  // A server that goes away mid-run emits 'error' on the client; queries then fail and are reported.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    const code = sqlstateOf(error);
    throw new ConnectError(params, reasonOf(error, params.password), {
      cause: error,
      ...(code === undefined ? {} : { code }),
    });
  }
  return client;
}

/** Changes the per-statement timeouts of an open session (one round trip), e.g. when moving to another tier. */
export async function applySessionSettings(client: pg.Client, settings: SessionSettings): Promise<void> {
  await client.query(
    `SELECT set_config('statement_timeout', $1, false), set_config('lock_timeout', $2, false)`,
    [`${Math.round(settings.statementTimeoutMs)}`, `${Math.round(settings.lockTimeoutMs)}`],
  );
}
