import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TlsConfig } from '../../../shared/config/schema.ts';
import { ConnectError, type ConnectionParams, openSession } from '../../../shared/db/connection.ts';
import { PG_MAJORS, type PgInstance, startPostgres } from '../../helpers/postgres.ts';
import { makeTmpRoot } from '../../helpers/processes.ts';
import { makeTestCa, type TestCa } from '../../helpers/tls.ts';

const SETTINGS = { statementTimeoutMs: 5_000, lockTimeoutMs: 1_000 };

function paramsFor(server: PgInstance, host: string, tls: TlsConfig): ConnectionParams {
  return { host, port: server.port, user: server.user, password: server.password, database: 'postgres', tls };
}

/** Every text an error exposes: message, String(), and the same for each cause down the chain. */
function errorTexts(error: unknown): string[] {
  const texts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    texts.push(String(current));
    if (current instanceof Error) {
      texts.push(current.message, current.stack ?? '');
      current = current.cause;
    } else {
      current = undefined;
    }
  }
  return texts;
}

async function connectError(connection: ConnectionParams): Promise<ConnectError> {
  let client: pg.Client | undefined;
  try {
    client = await openSession(connection, SETTINGS);
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectError);
    return error as ConnectError;
  }
  await client.end();
  throw new Error(`expected ${connection.tls.mode} to ${connection.host} to fail, but it connected`);
}

async function sslOf(connection: ConnectionParams): Promise<boolean> {
  const client = await openSession(connection, SETTINGS);
  try {
    const { rows } = await client.query<{ ssl: boolean }>(
      'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    );
    return rows[0]?.ssl ?? false;
  } finally {
    await client.end();
  }
}

describe.each(PG_MAJORS)('openSession TLS modes against PostgreSQL %i with ssl=on', (major) => {
  let server: PgInstance;
  let ca: TestCa;
  const params = (host: string, tls: TlsConfig): ConnectionParams => paramsFor(server, host, tls);

  beforeAll(async () => {
    ca = await makeTestCa(await makeTmpRoot('tls'), ['localhost']);
    server = await startPostgres({
      major,
      ssl: { certFile: ca.certFile, keyFile: ca.keyFile },
      pgStatStatements: false,
    });
  });

  afterAll(async () => {
    await server?.destroy();
  });

  it('verify-full with the CA and a host name in the certificate connects encrypted', async () => {
    // Prepare
    const connection = params('localhost', { mode: 'verify-full', ca_file: ca.caFile });

    // Act
    const ssl = await sslOf(connection);

    // Assess
    expect(ssl).toBe(true);
  });

  it('verify-full with the CA and the IP address from the certificate SAN connects encrypted', async () => {
    expect(await sslOf(params('127.0.0.1', { mode: 'verify-full', ca_file: ca.caFile }))).toBe(true);
  });

  it('verify-full without the CA fails naming host, port and the unverifiable certificate', async () => {
    // Act
    const error = await connectError(params('localhost', { mode: 'verify-full' }));

    // Assess
    expect(error.host).toBe('localhost');
    expect(error.port).toBe(server.port);
    expect(error.code).toBeUndefined();
    expect(error.message).toBe(
      `cannot connect to localhost:${server.port} (database "postgres", user "postgres"): unable to verify the first certificate`,
    );
    for (const text of errorTexts(error)) expect(text).not.toContain(server.password);
  });

  it('verify-full with the CA but another expected server name fails naming the mismatch', async () => {
    // Act
    const error = await connectError(
      params('localhost', { mode: 'verify-full', ca_file: ca.caFile, server_name: 'wrong.example' }),
    );

    // Assess
    expect(error.message).toBe(
      `cannot connect to localhost:${server.port} (database "postgres", user "postgres"): ` +
        `Hostname/IP does not match certificate's altnames: Host: wrong.example. is not in the cert's altnames: DNS:localhost, IP Address:127.0.0.1`,
    );
    for (const text of errorTexts(error)) expect(text).not.toContain(server.password);
  });

  it('verify-full with the CA and a host (IP) that is not in the certificate fails naming the mismatch', async () => {
    // Act: the server listens on 127.0.0.1 only, so point the identity check at another address by name.
    const error = await connectError(
      params('127.0.0.1', { mode: 'verify-full', ca_file: ca.caFile, server_name: '127.0.0.2' }),
    );

    // Assess
    expect(error.message).toBe(
      `cannot connect to 127.0.0.1:${server.port} (database "postgres", user "postgres"): ` +
        `Hostname/IP does not match certificate's altnames: IP: 127.0.0.2 is not in the cert's list: 127.0.0.1`,
    );
  });

  it('verify-ca with the CA accepts a certificate for another name (chain checked, name not)', async () => {
    expect(
      await sslOf(
        params('localhost', { mode: 'verify-ca', ca_file: ca.caFile, server_name: 'wrong.example' }),
      ),
    ).toBe(true);
  });

  it('verify-ca without the CA fails: the chain is still verified', async () => {
    const error = await connectError(params('localhost', { mode: 'verify-ca' }));

    expect(error.message).toBe(
      `cannot connect to localhost:${server.port} (database "postgres", user "postgres"): unable to verify the first certificate`,
    );
  });

  it('verify-ca with a CA that did not sign the server certificate fails', async () => {
    // Prepare: a second, unrelated CA
    const other = await makeTestCa(await makeTmpRoot('tls'), ['localhost']);

    // Act
    const error = await connectError(params('localhost', { mode: 'verify-ca', ca_file: other.caFile }));

    // Assess
    expect(error.message).toBe(
      `cannot connect to localhost:${server.port} (database "postgres", user "postgres"): unable to verify the first certificate`,
    );
  });

  it('require without a CA connects encrypted without verifying', async () => {
    expect(await sslOf(params('127.0.0.1', { mode: 'require' }))).toBe(true);
  });

  it('disable connects in plaintext to a server that offers TLS', async () => {
    expect(await sslOf(params('127.0.0.1', { mode: 'disable' }))).toBe(false);
  });

  it('a missing CA file fails before connecting, naming the file and never the password', async () => {
    const error = await connectError(
      params('localhost', { mode: 'verify-full', ca_file: '/nonexistent/ca.pem' }),
    );

    expect(error.message).toBe(
      `cannot connect to localhost:${server.port} (database "postgres", user "postgres"): ` +
        `cannot read TLS CA file: ENOENT: no such file or directory, open '/nonexistent/ca.pem'`,
    );
    for (const text of errorTexts(error)) expect(text).not.toContain(server.password);
  });

  it('a wrong password over verified TLS fails with 28P01 and the message never holds the password', async () => {
    // Prepare
    const wrong = 'Wr0ng-Secret-For-Tls-Test';
    const connection = {
      ...params('localhost', { mode: 'verify-full', ca_file: ca.caFile }),
      password: wrong,
    };

    // Act
    const error = await connectError(connection);

    // Assess
    expect(error.code).toBe('28P01');
    expect(error.message).toBe(
      `cannot connect to localhost:${server.port} (database "postgres", user "postgres"): password authentication failed for user "postgres"`,
    );
    for (const text of errorTexts(error)) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(server.password);
    }
  });
});
