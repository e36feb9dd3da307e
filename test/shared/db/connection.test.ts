import { describe, expect, it } from 'vitest';
import { DsnError, parseDsn } from '../../../shared/db/connection.ts';

describe('parseDsn', () => {
  it('reads every part of a libpq URL, percent-decoded', () => {
    expect(
      parseDsn(
        'postgres://mon%40itor:p%2Fss@db.example.com:6432/sh%20op?sslmode=verify-full&sslrootcert=/ca.pem&connect_timeout=3',
      ),
    ).toEqual({
      host: 'db.example.com',
      port: 6432,
      user: 'mon@itor',
      password: 'p/ss',
      database: 'sh op',
      tls: { mode: 'verify-full', ca_file: '/ca.pem' },
      connectTimeoutMs: 3000,
    });
  });

  it('defaults port, user, database and TLS', () => {
    expect(parseDsn('postgresql://h')).toEqual({
      host: 'h',
      port: 5432,
      user: 'postgres',
      password: '',
      database: 'postgres',
      tls: { mode: 'disable' },
    });
  });

  it('refuses modes that silently fall back to plaintext, and non-URLs', () => {
    expect(() => parseDsn('postgres://h/db?sslmode=prefer')).toThrow(
      new DsnError('DSN sslmode "prefer" is not supported: use disable, require, verify-ca or verify-full'),
    );
    expect(() => parseDsn('host=h dbname=x')).toThrow(DsnError);
    expect(() => parseDsn('mysql://h/db')).toThrow(
      'DSN scheme must be postgres:// or postgresql://, got mysql://',
    );
  });

  it('reads a client certificate from sslcert and sslkey', () => {
    expect(parseDsn('postgres://pgotel@h/db?sslmode=verify-full&sslcert=/c.pem&sslkey=/k.pem').tls).toEqual({
      mode: 'verify-full',
      cert_file: '/c.pem',
      key_file: '/k.pem',
    });
  });

  const ENCODE = 'percent-encode / ? # @ : [ ] in the user name and password';
  it.each([
    ['port 99999', 'postgres://u:pw@h:99999/db', 'DSN port is out of range: use 1 to 65535'],
    ['port 0', 'postgres://u:pw@h:0/db', 'DSN port is out of range: use 1 to 65535'],
    ['a non-numeric port', 'postgres://u:pw@h:5432x/db', `DSN port is not a number (${ENCODE})`],
    ['a negative port', 'postgres://h:-1/db', `DSN port is not a number (${ENCODE})`],
    ['a host with a space', 'postgres://u:pw@ho st/db', `DSN host is not a valid host name (${ENCODE})`],
    [
      'several hosts',
      'postgres://h1,h2/db',
      'DSN host names several hosts: give one host (failover lists are not supported)',
    ],
    [
      'a bad percent-encoding in the password',
      'postgres://u:p%zz@h/db',
      'DSN password has a malformed percent-encoding (% must be followed by two hex digits)',
    ],
    [
      'a bad percent-encoding in the user name',
      'postgres://u%4@h/db',
      'DSN user name has a malformed percent-encoding (% must be followed by two hex digits)',
    ],
    [
      'a bad percent-encoding in the database',
      'postgres://h/sh%zzop',
      'DSN database has a malformed percent-encoding (% must be followed by two hex digits)',
    ],
    [
      'an unknown sslmode',
      'postgres://h/db?sslmode=verify_full',
      'DSN sslmode "verify_full" is not supported: use disable, require, verify-ca or verify-full',
    ],
    [
      'an unknown parameter (a typo would otherwise silently mean plaintext)',
      'postgres://h/db?ssl_mode=verify-full',
      'DSN parameter "ssl_mode" is not supported: use sslmode, sslrootcert, sslcert, sslkey, connect_timeout',
    ],
    [
      'a non-numeric connect_timeout',
      'postgres://h/db?connect_timeout=5s',
      'DSN connect_timeout "5s" must be a whole number of seconds from 1 to 3600',
    ],
    [
      'connect_timeout 0',
      'postgres://h/db?connect_timeout=0',
      'DSN connect_timeout "0" must be a whole number of seconds from 1 to 3600',
    ],
    [
      'sslcert without sslkey',
      'postgres://h/db?sslmode=require&sslcert=/c.pem',
      'DSN sslcert and sslkey go together: give both or neither',
    ],
    [
      'sslkey without sslcert',
      'postgres://h/db?sslmode=require&sslkey=/k.pem',
      'DSN sslcert and sslkey go together: give both or neither',
    ],
    [
      'a client certificate without TLS',
      'postgres://h/db?sslcert=/c.pem&sslkey=/k.pem',
      'DSN sslcert needs TLS: set sslmode to require, verify-ca or verify-full',
    ],
    [
      'a key=value string',
      'host=h dbname=x',
      'DSN must be a URL like postgres://user:password@host:5432/database',
    ],
  ])('names the field for %s', (_case, dsn, message) => {
    // Act
    const act = () => parseDsn(dsn);

    // Assess
    expect(act).toThrow(DsnError);
    expect(act).toThrow(new DsnError(message));
  });

  it.each([
    ['an unencoded / in the password', 'postgres://monitor:S3cr/etPass@h:5432/db', 'S3cr'],
    ['a numeric password with an unencoded /', 'postgres://monitor:123456/7@h/db', '123456'],
    ['an unencoded # in the password', 'postgres://monitor:Secret#Pass@h/db', 'Secret'],
  ])('never echoes the password, even when %s makes it look like the port or host', (_case, dsn, secret) => {
    // Act
    let message = '';
    try {
      parseDsn(dsn);
    } catch (error) {
      expect(error).toBeInstanceOf(DsnError);
      message = String(error);
    }

    // Assess
    expect(message).toMatch(/^DsnError: DSN (port|host) /);
    expect(message).not.toContain(secret);
  });
});
