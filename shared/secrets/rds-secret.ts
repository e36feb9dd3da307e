/**
 * Pure parsing of secret values. Errors name the ARN and the field, never a value: the text may hold a
 * password, so even malformed JSON is not echoed (a JSON.parse message quotes the text).
 */

import type { ConnectionParams } from '../db/connection.ts';
import { SecretError } from './secret-source.ts';

/** The fields of an RDS-managed (or RDS-format) database secret that a connection needs. */
export interface RdsSecret {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly dbname?: string;
  readonly engine?: string;
  /** PEM client certificate for `cert` authentication; comes with `ssl_key`. */
  readonly ssl_cert?: string;
  /** PEM private key of `ssl_cert`, unencrypted. */
  readonly ssl_key?: string;
}

const POSTGRES_ENGINES = new Set(['postgres', 'aurora-postgresql']);

/**
 * Parses the RDS secret JSON: `host`, `username`, `password` required (`password` not with a client
 * certificate, then empty when absent); `port` a number or numeric string
 * (default 5432); `dbname` and `engine` optional (null counts as absent). An `engine` other than `postgres`
 * or `aurora-postgresql` is refused: the secret is for another database. `ssl_cert` and `ssl_key`, both or
 * neither, are a PEM client certificate and its unencrypted key (line breaks written as `\n` inside the JSON
 * string, or pasted as the two characters backslash and n: both work).
 */
export function parseRdsSecret(text: string, arn: string): RdsSecret {
  const json = parseObject(text);
  if (json === undefined)
    throw new SecretError(arn, 'value is not a JSON object (expected the RDS secret format)');
  const engine = optionalString(json, 'engine', arn);
  if (engine !== undefined && !POSTGRES_ENGINES.has(engine)) {
    throw new SecretError(
      arn,
      `engine "${engine}" is not PostgreSQL (expected postgres or aurora-postgresql)`,
    );
  }
  const dbname = optionalString(json, 'dbname', arn);
  const client = clientCertificateOf(json, arn);
  // `cert` authentication asks for no password, so a secret with a client certificate may leave it out.
  const password =
    client.ssl_cert === undefined
      ? requiredString(json, 'password', arn)
      : (optionalString(json, 'password', arn) ?? '');
  return {
    host: requiredString(json, 'host', arn),
    port: portOf(json.port, arn),
    username: requiredString(json, 'username', arn),
    password,
    ...(dbname === undefined ? {} : { dbname }),
    ...(engine === undefined ? {} : { engine }),
    ...client,
  };
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----/;
const PEM_PRIVATE_KEY = /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/;

/**
 * A PEM value with its line breaks restored when they arrived as the two characters `\n` (a PEM pasted into a
 * JSON secret by hand); base64 never holds a backslash, so nothing else changes.
 */
function pemText(value: string): string {
  return value.includes('\n') ? value : value.replaceAll('\\n', '\n');
}

/** `ssl_cert` and `ssl_key`: both or neither, each the right kind of PEM block. Never echoes a value. */
function clientCertificateOf(
  json: Record<string, unknown>,
  arn: string,
): Pick<RdsSecret, 'ssl_cert' | 'ssl_key'> {
  const cert = optionalString(json, 'ssl_cert', arn);
  const key = optionalString(json, 'ssl_key', arn);
  if (cert === undefined && key === undefined) return {};
  if (cert === undefined || key === undefined) {
    throw new SecretError(
      arn,
      `field "${cert === undefined ? 'ssl_cert' : 'ssl_key'}" is missing: ssl_cert and ssl_key go together`,
    );
  }
  const sslCert = pemText(cert);
  const sslKey = pemText(key);
  if (!PEM_CERTIFICATE.test(sslCert)) {
    throw new SecretError(arn, 'field "ssl_cert" must be a PEM certificate (-----BEGIN CERTIFICATE-----)');
  }
  if (!PEM_PRIVATE_KEY.test(sslKey)) {
    throw new SecretError(
      arn,
      'field "ssl_key" must be an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)',
    );
  }
  return { ssl_cert: sslCert, ssl_key: sslKey };
}

/**
 * The engine's connection from a parsed secret: database `dbname` or `postgres`, the client certificate when the
 * secret has one; TLS and connect timeout from `base` (the target's config), since the secret says nothing
 * about them.
 */
export function connectionFromSecret(
  secret: RdsSecret,
  base: Pick<ConnectionParams, 'tls' | 'connectTimeoutMs'>,
): ConnectionParams {
  return {
    host: secret.host,
    port: secret.port,
    user: secret.username,
    password: secret.password,
    database: secret.dbname ?? 'postgres',
    tls: base.tls,
    ...(secret.ssl_cert === undefined || secret.ssl_key === undefined
      ? {}
      : { clientCertificate: { cert: secret.ssl_cert, key: secret.ssl_key } }),
    ...(base.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: base.connectTimeoutMs }),
  };
}

/**
 * A credential from a secret that is either the plain value or a JSON object holding it in `field`
 * (`password`, `token`): the field when the text is a JSON object, else the whole text, unchanged.
 */
export function secretValueField(text: string, field: string, arn: string): string {
  const json = parseObject(text);
  if (json === undefined) return text;
  return requiredString(json, field, arn);
}

function parseObject(text: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function requiredString(json: Record<string, unknown>, field: string, arn: string): string {
  const value = json[field];
  if (value === undefined || value === null) throw new SecretError(arn, `field "${field}" is missing`);
  if (typeof value !== 'string') throw new SecretError(arn, `field "${field}" must be a string`);
  if (value === '') throw new SecretError(arn, `field "${field}" is empty`);
  return value;
}

function optionalString(json: Record<string, unknown>, field: string, arn: string): string | undefined {
  const value = json[field];
  return value === undefined || value === null ? undefined : requiredString(json, field, arn);
}

function portOf(value: unknown, arn: string): number {
  if (value === undefined || value === null) return 5432;
  const port = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new SecretError(arn, 'field "port" must be an integer from 1 to 65535 (number or numeric string)');
  }
  return port;
}
