import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { type ConnectionOptions, checkServerIdentity } from 'node:tls';
import pg from 'pg';

/** TLS to PostgreSQL, with libpq's `sslmode` names (the config's `tls` section has this shape). */
export interface TlsConfig {
  readonly mode: 'disable' | 'require' | 'verify-ca' | 'verify-full';
  /** PEM file with the CA that signed the server certificate. */
  readonly ca_file?: string | undefined;
  /** Expected host name in the server certificate; defaults to the connection host. */
  readonly server_name?: string | undefined;
  /** PEM file with the client certificate for `cert` authentication; needs `key_file`. */
  readonly cert_file?: string | undefined;
  /** PEM file with the client certificate's unencrypted private key; needs `cert_file`. */
  readonly key_file?: string | undefined;
}

/**
 * A client certificate and its private key as PEM text, for `cert` authentication (pg_hba
 * `hostssl … cert`, or any method with `clientcert=verify-full`): the server maps the certificate's CN to the
 * user name. The key never leaves this object except into the TLS handshake.
 */
export interface ClientCertificate {
  /** PEM certificate (a chain may follow the client certificate). */
  readonly cert: string;
  /** PEM private key, unencrypted. */
  readonly key: string;
}

/** Where and how to connect; the password and client key never leave this object except into the pg driver. */
export interface ConnectionParams {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly tls: TlsConfig;
  /**
   * A client certificate given as text (the RDS secret's `ssl_cert` and `ssl_key`); `tls.cert_file` and
   * `tls.key_file` give one as files instead. At most one of the two.
   */
  readonly clientCertificate?: ClientCertificate;
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

/** The query parameters parseDsn understands; any other is refused, as libpq refuses unknown ones. */
const DSN_PARAMETERS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'connect_timeout'] as const;

const DSN_SHAPE = 'postgres://user:password@host:5432/database';
const ENCODING_HINT = 'percent-encode / ? # @ : [ ] in the user name and password';

/**
 * The port of a DSN as written, for errors `new URL` reports without a reason: the text after the host up to the
 * path. Never echoed: with an unencoded `/` in the password, what looks like the port is part of the password.
 */
function portText(dsn: string): string | undefined {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(dsn)?.[1];
  if (authority === undefined) return undefined;
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const afterHost = hostPort.startsWith('[') ? hostPort.slice(hostPort.indexOf(']') + 1) : hostPort;
  const colon = afterHost.indexOf(':');
  return colon === -1 ? undefined : afterHost.slice(colon + 1);
}

function checkPort(text: string): void {
  if (!/^\d+$/.test(text)) throw new DsnError(`DSN port is not a number (${ENCODING_HINT})`);
  const port = Number(text);
  if (port < 1 || port > 65_535) throw new DsnError('DSN port is out of range: use 1 to 65535');
}

/** Why `new URL` refused a DSN, naming the field where we can tell; never echoes the DSN (it holds the password). */
function urlFailure(dsn: string): DsnError {
  const port = portText(dsn);
  if (port !== undefined && port !== '') checkPort(port);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(dsn)) {
    return new DsnError(`DSN host is not a valid host name (${ENCODING_HINT})`);
  }
  return new DsnError(`DSN must be a URL like ${DSN_SHAPE}`);
}

function decoded(text: string, field: 'user name' | 'password' | 'database' | 'host'): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new DsnError(
      `DSN ${field} has a malformed percent-encoding (% must be followed by two hex digits)`,
    );
  }
}

/**
 * Parses a libpq URL: `postgres://user:password@host:5432/db?sslmode=verify-full&sslrootcert=/ca.pem`, with
 * `sslcert` and `sslkey` for a client certificate and `connect_timeout` in seconds.
 * `sslmode` allow/prefer are refused: they silently fall back to plaintext. Errors name the field and never
 * show the user name or password.
 * @throws DsnError naming the field that is wrong
 */
export function parseDsn(dsn: string): ConnectionParams {
  let url: URL;
  try {
    url = new URL(dsn);
  } catch {
    throw urlFailure(dsn);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new DsnError(`DSN scheme must be postgres:// or postgresql://, got ${url.protocol}//`);
  }
  if (url.port !== '') checkPort(url.port);
  if (url.hostname.includes(',')) {
    throw new DsnError('DSN host names several hosts: give one host (failover lists are not supported)');
  }
  for (const name of url.searchParams.keys()) {
    if (!(DSN_PARAMETERS as readonly string[]).includes(name)) {
      throw new DsnError(`DSN parameter "${name}" is not supported: use ${DSN_PARAMETERS.join(', ')}`);
    }
  }
  const sslmode = url.searchParams.get('sslmode') ?? 'disable';
  const mode = SSL_MODES[sslmode];
  if (mode === undefined) {
    throw new DsnError(
      `DSN sslmode "${sslmode}" is not supported: use disable, require, verify-ca or verify-full`,
    );
  }
  const caFile = url.searchParams.get('sslrootcert') ?? undefined;
  const certFile = url.searchParams.get('sslcert') ?? undefined;
  const keyFile = url.searchParams.get('sslkey') ?? undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new DsnError('DSN sslcert and sslkey go together: give both or neither');
  }
  if (certFile !== undefined && mode === 'disable') {
    throw new DsnError('DSN sslcert needs TLS: set sslmode to require, verify-ca or verify-full');
  }
  const timeout = url.searchParams.get('connect_timeout');
  // Bounded well below what a timer can hold (~24 days; beyond it Node fires after 1 ms).
  if (timeout !== null && !(/^\d+$/.test(timeout) && Number(timeout) >= 1 && Number(timeout) <= 3600)) {
    throw new DsnError(`DSN connect_timeout "${timeout}" must be a whole number of seconds from 1 to 3600`);
  }
  return {
    host: decoded(url.hostname.replace(/^\[|\]$/g, ''), 'host') || 'localhost',
    port: url.port === '' ? 5432 : Number(url.port),
    user: decoded(url.username, 'user name') || 'postgres',
    password: decoded(url.password, 'password'),
    database: decoded(url.pathname.replace(/^\//, ''), 'database') || 'postgres',
    tls: {
      mode,
      ...(caFile === undefined ? {} : { ca_file: caFile }),
      ...(certFile === undefined || keyFile === undefined ? {} : { cert_file: certFile, key_file: keyFile }),
    },
    ...(timeout === null ? {} : { connectTimeoutMs: Number(timeout) * 1000 }),
  };
}

/** Renders params as a DSN with the password masked, for messages. */
export function describeConnection(
  params: Pick<ConnectionParams, 'host' | 'port' | 'database' | 'user'>,
): string {
  return `postgres://${params.user}@${params.host}:${params.port}/${params.database}`;
}

/** TLS could not be set up before connecting; the message is the reason and never holds a key or password. */
class TlsSetupError extends Error {
  override readonly name = 'TlsSetupError';
}

const caCache = new Map<string, Promise<string>>();

async function readCa(file: string): Promise<string> {
  let pending = caCache.get(file);
  if (pending === undefined) {
    pending = readFile(file, 'utf8');
    caCache.set(file, pending);
    pending.catch(() => caCache.delete(file));
  }
  try {
    return await pending;
  } catch (error) {
    throw new TlsSetupError(`cannot read TLS CA file: ${reasonOf(error, '')}`, { cause: error });
  }
}

async function readPem(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new TlsSetupError(`cannot read TLS ${what} file: ${reasonOf(error, '')}`, { cause: error });
  }
}

/**
 * The client certificate to present, from the params (a secret) or from `tls.cert_file`/`tls.key_file`, checked.
 * The files are read for every session, not cached like the CA: client certificates are short-lived, and a
 * renewed one on disk takes effect without a restart.
 */
async function clientCertificateOf(params: ConnectionParams): Promise<ClientCertificate | undefined> {
  const { cert_file: certFile, key_file: keyFile } = params.tls;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new TlsSetupError('tls.cert_file and tls.key_file go together: give both or neither');
  }
  if (certFile !== undefined && params.clientCertificate !== undefined) {
    throw new TlsSetupError(
      "client certificate given twice, as tls.cert_file/tls.key_file and as the secret's ssl_cert/ssl_key: keep one",
    );
  }
  const given = params.clientCertificate;
  if ((given !== undefined || certFile !== undefined) && params.tls.mode === 'disable') {
    throw new TlsSetupError('a client certificate needs TLS, but tls.mode is disable');
  }
  if (given !== undefined) {
    checkClientCertificate(given, "client certificate (the secret's ssl_cert/ssl_key)", Date.now());
    return given;
  }
  if (certFile === undefined || keyFile === undefined) return undefined;
  const pair = {
    cert: await readPem(certFile, 'client certificate'),
    key: await readPem(keyFile, 'client key'),
  };
  checkClientCertificate(
    pair,
    `client certificate (tls.cert_file ${certFile}, tls.key_file ${keyFile})`,
    Date.now(),
  );
  return pair;
}

/**
 * Refuses, before any handshake, a certificate the server would refuse with an opaque TLS alert (expired) or
 * that would fail inside OpenSSL with "key values mismatch": the error says which and when.
 */
function checkClientCertificate(pair: ClientCertificate, what: string, now: number): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pair.cert);
  } catch (error) {
    throw new TlsSetupError(`${what}: the certificate is not a PEM X.509 certificate`, { cause: error });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pair.key);
  } catch (error) {
    // OpenSSL's message names the decoder that failed, never the input.
    throw new TlsSetupError(`${what}: the key is not an unencrypted PEM private key`, { cause: error });
  }
  const subject = cert.subject.split('\n').join(', ');
  if (!cert.checkPrivateKey(key)) {
    throw new TlsSetupError(`${what}: the key does not belong to the certificate (${subject})`);
  }
  const notAfter = new Date(cert.validTo);
  if (now > notAfter.getTime()) {
    throw new TlsSetupError(`${what}: the certificate (${subject}) expired at ${notAfter.toISOString()}`);
  }
  const notBefore = new Date(cert.validFrom);
  if (now < notBefore.getTime()) {
    throw new TlsSetupError(
      `${what}: the certificate (${subject}) is not valid before ${notBefore.toISOString()}`,
    );
  }
}

async function tlsOptions(params: ConnectionParams): Promise<ConnectionOptions | false> {
  const tls = params.tls;
  const client = await clientCertificateOf(params);
  if (tls.mode === 'disable') return false;
  const ca = tls.ca_file === undefined ? undefined : await readCa(tls.ca_file);
  const identity = client === undefined ? {} : { cert: client.cert, key: client.key };
  if (tls.mode === 'require') {
    // libpq semantics: `require` with a root certificate verifies the chain like `verify-ca`.
    return ca === undefined
      ? { rejectUnauthorized: false, ...identity }
      : { rejectUnauthorized: true, ca, checkServerIdentity: () => undefined, ...identity };
  }
  const base: ConnectionOptions = {
    rejectUnauthorized: true,
    ...(ca === undefined ? {} : { ca }),
    ...identity,
  };
  if (tls.mode === 'verify-ca') return { ...base, checkServerIdentity: () => undefined };
  // pg overwrites `servername` with the host when the host is a DNS name, so the identity check is pinned to the
  // expected name itself; SNI carries no IP address (RFC 6066).
  const expected = tls.server_name ?? params.host;
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

/** For a server that wants a client certificate we did not send: how to give one. */
function certificateHint(ssl: ConnectionOptions | false, code: string | undefined, error: unknown): string {
  if (ssl === false || ssl.cert !== undefined || code !== '28000') return '';
  if (!/client certificate/i.test(error instanceof Error ? error.message : '')) return '';
  return ' (no client certificate configured: set tls.cert_file and tls.key_file, or ssl_cert and ssl_key in the secret)';
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
    ssl = await tlsOptions(params);
  } catch (error) {
    if (!(error instanceof TlsSetupError)) throw error;
    throw new ConnectError(params, error.message, { cause: error.cause ?? error });
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
      // A statement kept prepared on a session (a warm container's) is planned anew for its parameters every run;
      // only one without parameters keeps its plan.
      '-c plan_cache_mode=force_custom_plan',
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
    throw new ConnectError(params, reasonOf(error, params.password) + certificateHint(ssl, code, error), {
      cause: error,
      ...(code === undefined ? {} : { code }),
    });
  }
  return client;
}
