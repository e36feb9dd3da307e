import { describe, expect, it } from 'vitest';
import type { ConnectionParams } from '../../../shared/db/connection.ts';
import {
  connectionFromSecret,
  parseRdsSecret,
  secretValueField,
} from '../../../shared/secrets/rds-secret.ts';
import { SecretError } from '../../../shared/secrets/secret-source.ts';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1234-AbCdEf';
const PASSWORD = 'Pa55-w0rd-never-shown';
const KEY_BODY = 'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgKeyBodyNeverShown';
const CERT = '-----BEGIN CERTIFICATE-----\nMIIBcertificateBody\n-----END CERTIFICATE-----\n';
const KEY = `-----BEGIN PRIVATE KEY-----\n${KEY_BODY}\n-----END PRIVATE KEY-----\n`;

/** The error `act` throws; fails when it does not throw. */
function errorOf(act: () => unknown): Error {
  try {
    act();
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`threw a non-Error: ${String(error)}`);
  }
  throw new Error('did not throw');
}

describe('parseRdsSecret', () => {
  it('reads every field of an RDS secret', () => {
    // Prepare
    const text = JSON.stringify({
      engine: 'postgres',
      host: 'orders.cluster-abc.eu-west-1.rds.amazonaws.com',
      port: 5433,
      username: 'pgotel',
      password: PASSWORD,
      dbname: 'orders',
      dbInstanceIdentifier: 'orders-1',
    });

    // Act
    const secret = parseRdsSecret(text, ARN);

    // Assess
    expect(secret).toStrictEqual({
      host: 'orders.cluster-abc.eu-west-1.rds.amazonaws.com',
      port: 5433,
      username: 'pgotel',
      password: PASSWORD,
      dbname: 'orders',
      engine: 'postgres',
    });
  });

  it('accepts a numeric string port, defaults a missing one to 5432, and treats null as absent', () => {
    // Prepare
    const base = { host: 'h', username: 'u', password: PASSWORD };

    // Act
    const fromString = parseRdsSecret(
      JSON.stringify({ ...base, port: '6432', engine: 'aurora-postgresql' }),
      ARN,
    );
    const defaulted = parseRdsSecret(JSON.stringify({ ...base, dbname: null, engine: null }), ARN);

    // Assess
    expect(fromString).toStrictEqual({ ...base, port: 6432, engine: 'aurora-postgresql' });
    expect(defaulted).toStrictEqual({ ...base, port: 5432 });
  });

  it.each([
    ['a missing host', { username: 'u', password: PASSWORD }, 'field "host" is missing'],
    ['a missing password', { host: 'h', username: 'u' }, 'field "password" is missing'],
    ['an empty username', { host: 'h', username: '', password: PASSWORD }, 'field "username" is empty'],
    ['a numeric host', { host: 5, username: 'u', password: PASSWORD }, 'field "host" must be a string'],
    [
      'a non-numeric port',
      { host: 'h', port: 'x5432', username: 'u', password: PASSWORD },
      'field "port" must be an integer from 1 to 65535 (number or numeric string)',
    ],
    [
      'port 0',
      { host: 'h', port: 0, username: 'u', password: PASSWORD },
      'field "port" must be an integer from 1 to 65535 (number or numeric string)',
    ],
    [
      'a MySQL secret',
      { engine: 'mysql', host: 'h', username: 'u', password: PASSWORD },
      'engine "mysql" is not PostgreSQL (expected postgres or aurora-postgresql)',
    ],
  ])('refuses %s, naming the ARN and the field', (_case, json, reason) => {
    // Prepare
    const text = JSON.stringify(json);

    // Act
    const error = errorOf(() => parseRdsSecret(text, ARN));

    // Assess
    expect(error).toBeInstanceOf(SecretError);
    expect(error.message).toBe(`secret ${ARN}: ${reason}`);
  });

  it('reads a client certificate from ssl_cert and ssl_key', () => {
    // Prepare
    const text = JSON.stringify({
      host: 'h',
      username: 'u',
      password: PASSWORD,
      ssl_cert: CERT,
      ssl_key: KEY,
    });

    // Act
    const secret = parseRdsSecret(text, ARN);

    // Assess
    expect(secret).toStrictEqual({
      host: 'h',
      port: 5432,
      username: 'u',
      password: PASSWORD,
      ssl_cert: CERT,
      ssl_key: KEY,
    });
  });

  it('needs no password with a client certificate', () => {
    // Prepare
    const text = JSON.stringify({ host: 'h', username: 'pgotel', ssl_cert: CERT, ssl_key: KEY });

    // Act
    const secret = parseRdsSecret(text, ARN);

    // Assess
    expect(secret.password).toBe('');
    expect(secret.ssl_cert).toBe(CERT);
  });

  it('restores PEM line breaks pasted as the two characters \\n', () => {
    // Prepare
    const text = JSON.stringify({
      host: 'h',
      username: 'u',
      password: PASSWORD,
      ssl_cert: CERT.replaceAll('\n', '\\n'),
      ssl_key: KEY.replaceAll('\n', '\\n'),
    });

    // Act
    const secret = parseRdsSecret(text, ARN);

    // Assess
    expect(secret.ssl_cert).toBe(CERT);
    expect(secret.ssl_key).toBe(KEY);
  });

  it.each([
    [
      'ssl_cert without ssl_key',
      { ssl_cert: CERT },
      'field "ssl_key" is missing: ssl_cert and ssl_key go together',
    ],
    [
      'ssl_key without ssl_cert',
      { ssl_key: KEY },
      'field "ssl_cert" is missing: ssl_cert and ssl_key go together',
    ],
    [
      'a key in ssl_cert',
      { ssl_cert: KEY, ssl_key: KEY },
      'field "ssl_cert" must be a PEM certificate (-----BEGIN CERTIFICATE-----)',
    ],
    [
      'a certificate in ssl_key',
      { ssl_cert: CERT, ssl_key: CERT },
      'field "ssl_key" must be an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)',
    ],
    [
      'an encrypted key',
      { ssl_cert: CERT, ssl_key: KEY.replaceAll('PRIVATE KEY', 'ENCRYPTED PRIVATE KEY') },
      'field "ssl_key" must be an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)',
    ],
    [
      'a key without PEM armour',
      { ssl_cert: CERT, ssl_key: KEY_BODY },
      'field "ssl_key" must be an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)',
    ],
    ['a non-string key', { ssl_cert: CERT, ssl_key: { pem: KEY } }, 'field "ssl_key" must be a string'],
  ])('refuses %s, naming the field and never showing the key', (_case, fields, reason) => {
    // Prepare
    const text = JSON.stringify({ host: 'h', username: 'u', password: PASSWORD, ...fields });

    // Act
    const error = errorOf(() => parseRdsSecret(text, ARN));

    // Assess
    expect(error).toBeInstanceOf(SecretError);
    expect(error.message).toBe(`secret ${ARN}: ${reason}`);
    expect(error.stack).not.toContain(KEY_BODY);
    expect(error.stack).not.toContain(PASSWORD);
  });

  it.each([
    ['malformed JSON', `{"host":"h","username":"u","password":"${PASSWORD}",}`],
    ['a JSON string', JSON.stringify(PASSWORD)],
    ['plain text', PASSWORD],
  ])('refuses %s without echoing the text', (_case, text) => {
    // Prepare
    const expected = `SecretError: secret ${ARN}: value is not a JSON object (expected the RDS secret format)`;

    // Act
    const error = errorOf(() => parseRdsSecret(text, ARN));

    // Assess
    expect(String(error)).toBe(expected);
    expect(error.stack).not.toContain(PASSWORD);
    expect(error.cause).toBeUndefined();
  });

  it('never shows the password in a field error', () => {
    // Prepare
    const text = JSON.stringify({ host: 'h', port: PASSWORD, username: 'u', password: PASSWORD });

    // Act
    const error = errorOf(() => parseRdsSecret(text, ARN));

    // Assess
    expect(String(error)).not.toContain(PASSWORD);
    expect(error.stack).not.toContain(PASSWORD);
  });
});

describe('connectionFromSecret', () => {
  it('takes host, port, user, password and database from the secret, TLS and timeout from the base', () => {
    // Prepare
    const secret = parseRdsSecret(
      JSON.stringify({
        host: 'db.internal',
        port: 5433,
        username: 'pgotel',
        password: PASSWORD,
        dbname: 'orders',
      }),
      ARN,
    );
    const base = {
      tls: { mode: 'verify-full', ca_file: '/opt/rds-ca.pem' },
      connectTimeoutMs: 3000,
    } as const;

    // Act
    const params = connectionFromSecret(secret, base);

    // Assess
    expect(params).toStrictEqual({
      host: 'db.internal',
      port: 5433,
      user: 'pgotel',
      password: PASSWORD,
      database: 'orders',
      tls: { mode: 'verify-full', ca_file: '/opt/rds-ca.pem' },
      connectTimeoutMs: 3000,
    } satisfies ConnectionParams);
  });

  it('connects to the postgres database when the secret has no dbname', () => {
    // Prepare
    const secret = parseRdsSecret(JSON.stringify({ host: 'h', username: 'u', password: PASSWORD }), ARN);

    // Act
    const params = connectionFromSecret(secret, { tls: { mode: 'require' } });

    // Assess
    expect(params).toStrictEqual({
      host: 'h',
      port: 5432,
      user: 'u',
      password: PASSWORD,
      database: 'postgres',
      tls: { mode: 'require' },
    });
  });
});

describe('connectionFromSecret with a client certificate', () => {
  it("passes the secret's ssl_cert and ssl_key on as the client certificate", () => {
    // Prepare
    const secret = parseRdsSecret(
      JSON.stringify({ host: 'h', username: 'pgotel', password: PASSWORD, ssl_cert: CERT, ssl_key: KEY }),
      ARN,
    );

    // Act
    const params = connectionFromSecret(secret, { tls: { mode: 'verify-full', ca_file: '/ca.pem' } });

    // Assess
    expect(params).toStrictEqual({
      host: 'h',
      port: 5432,
      user: 'pgotel',
      password: PASSWORD,
      database: 'postgres',
      tls: { mode: 'verify-full', ca_file: '/ca.pem' },
      clientCertificate: { cert: CERT, key: KEY },
    } satisfies ConnectionParams);
  });
});

describe('secretValueField', () => {
  it.each([
    ['the field of a JSON object', '{"username":"w","password":"p@ss"}', 'password', 'p@ss'],
    ['a token field', '{"token":"eyJhbGciOi"}', 'token', 'eyJhbGciOi'],
    ['plain text whole', 'plain-token', 'token', 'plain-token'],
    ['text that only looks like JSON whole', '{not json', 'password', '{not json'],
    ['a JSON scalar as text', '12345', 'password', '12345'],
  ])('returns %s', (_case, text, field, expected) => {
    // Act
    const value = secretValueField(text, field, ARN);

    // Assess
    expect(value).toBe(expected);
  });

  it('refuses a JSON object without the field, naming the ARN and the field but no value', () => {
    // Prepare
    const text = JSON.stringify({ password: PASSWORD });

    // Act
    const error = errorOf(() => secretValueField(text, 'token', ARN));

    // Assess
    expect(error).toBeInstanceOf(SecretError);
    expect(String(error)).toBe(`SecretError: secret ${ARN}: field "token" is missing`);
    expect(error.stack).not.toContain(PASSWORD);
  });
});
