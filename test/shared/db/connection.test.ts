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
});
