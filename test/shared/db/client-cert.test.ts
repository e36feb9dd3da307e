import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClientCertificate,
  ConnectError,
  type ConnectionParams,
  openSession,
  type TlsConfig,
} from '../../../shared/db/connection.ts';
import { connectionFromSecret, parseRdsSecret } from '../../../shared/secrets/rds-secret.ts';
import { PG_MAJORS, type PgInstance, startPostgres } from '../../helpers/postgres.ts';
import { makeTmpRoot } from '../../helpers/processes.ts';
import { makeClientCert, makeTestCa, type TestCa, type TestClientCert } from '../../helpers/tls.ts';

const SETTINGS = { statementTimeoutMs: 5_000, lockTimeoutMs: 1_000 };
const USER = 'pgotel';
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pgotel/cert';
const NO_CERT_HINT =
  '(no client certificate configured: set tls.cert_file and tls.key_file, or ssl_cert and ssl_key in the secret)';

/** Every text an error exposes: message, String(), stack, and the same for each cause down the chain. */
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

/** The base64 lines of a PEM key: any one of them in an error would leak key material. */
function keyLines(pem: string): string[] {
  return pem.split('\n').filter((line) => line !== '' && !line.startsWith('-----'));
}

function expectNoKeyIn(error: unknown, keyPem: string): void {
  const lines = keyLines(keyPem);
  expect(lines.length).toBeGreaterThan(0);
  for (const text of errorTexts(error)) {
    for (const line of lines) expect(text).not.toContain(line);
  }
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
  throw new Error(`expected the connection as ${connection.user} to fail, but it connected`);
}

/** Who the server says we are, and the client certificate it saw. */
async function identityOf(connection: ConnectionParams): Promise<{ user: string; clientDn: string | null }> {
  const client = await openSession(connection, SETTINGS);
  try {
    const { rows } = await client.query<{ user: string; client_dn: string | null }>(
      'SELECT current_user AS user, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    );
    return { user: rows[0]?.user ?? '', clientDn: rows[0]?.client_dn ?? null };
  } finally {
    await client.end();
  }
}

async function pemOf(files: TestClientCert): Promise<ClientCertificate> {
  return { cert: await readFile(files.certFile, 'utf8'), key: await readFile(files.keyFile, 'utf8') };
}

describe.each(PG_MAJORS)('client-certificate authentication against PostgreSQL %i', (major) => {
  let server: PgInstance;
  let ca: TestCa;
  let good: TestClientCert;
  let otherKey: TestClientCert;
  let expired: TestClientCert;
  let someoneElse: TestClientCert;

  const params = (tls: TlsConfig, clientCertificate?: ClientCertificate): ConnectionParams => ({
    host: 'localhost',
    port: server.port,
    user: USER,
    password: '',
    database: 'postgres',
    tls,
    ...(clientCertificate === undefined ? {} : { clientCertificate }),
  });
  const prefix = () => `cannot connect to localhost:${server.port} (database "postgres", user "${USER}"): `;

  beforeAll(async () => {
    const dir = await makeTmpRoot('tls');
    ca = await makeTestCa(dir, ['localhost']);
    good = await makeClientCert(ca, dir, 'good', USER);
    otherKey = await makeClientCert(ca, dir, 'other', USER);
    expired = await makeClientCert(ca, dir, 'expired', USER, { expired: true });
    someoneElse = await makeClientCert(ca, dir, 'someone', 'someone_else');
    server = await startPostgres({
      major,
      ssl: { certFile: ca.certFile, keyFile: ca.keyFile, caFile: ca.caFile },
      hba: ['hostssl all all 127.0.0.1/32 cert clientcert=verify-full'],
      pgStatStatements: false,
    });
    await server.query(`CREATE ROLE ${USER} LOGIN`);
    await server.query(`GRANT pg_monitor TO ${USER}`);
  });

  afterAll(async () => {
    await server?.destroy();
  });

  it('connects with tls.cert_file and tls.key_file whose CN is the user, and no password', async () => {
    // Prepare
    const connection = params({
      mode: 'verify-full',
      ca_file: ca.caFile,
      cert_file: good.certFile,
      key_file: good.keyFile,
    });

    // Act
    const identity = await identityOf(connection);

    // Assess
    expect(identity).toEqual({ user: USER, clientDn: `/CN=${USER}` });
  });

  it("connects with the secret's ssl_cert and ssl_key (PEM text), as the Lambda does", async () => {
    // Prepare: a secret as stored in Secrets Manager, without a password, line breaks pasted as the two characters \n
    const pem = await pemOf(good);
    const text = JSON.stringify({
      host: 'localhost',
      port: server.port,
      username: USER,
      ssl_cert: pem.cert.replaceAll('\n', '\\n'),
      ssl_key: pem.key.replaceAll('\n', '\\n'),
    });
    const connection = connectionFromSecret(parseRdsSecret(text, ARN), {
      tls: { mode: 'verify-full', ca_file: ca.caFile },
    });

    // Act
    const identity = await identityOf(connection);

    // Assess
    expect(identity).toEqual({ user: USER, clientDn: `/CN=${USER}` });
  });

  it('presents the certificate with mode require too (no server verification)', async () => {
    expect(await identityOf(params({ mode: 'require' }, await pemOf(good)))).toEqual({
      user: USER,
      clientDn: `/CN=${USER}`,
    });
  });

  it('a key that does not belong to the certificate fails before the handshake, naming both files', async () => {
    // Prepare
    const connection = params({
      mode: 'verify-full',
      ca_file: ca.caFile,
      cert_file: good.certFile,
      key_file: otherKey.keyFile,
    });

    // Act
    const error = await connectError(connection);

    // Assess
    expect(error.message).toBe(
      `${prefix()}client certificate (tls.cert_file ${good.certFile}, tls.key_file ${otherKey.keyFile}): ` +
        `the key does not belong to the certificate (CN=${USER})`,
    );
    expect(error.code).toBeUndefined();
    expectNoKeyIn(error, await readFile(otherKey.keyFile, 'utf8'));
  });

  it('a mismatched key from the secret fails the same way and never shows the key', async () => {
    // Prepare
    const pem = { cert: (await pemOf(good)).cert, key: (await pemOf(otherKey)).key };

    // Act
    const error = await connectError(params({ mode: 'verify-full', ca_file: ca.caFile }, pem));

    // Assess
    expect(error.message).toBe(
      `${prefix()}client certificate (the secret's ssl_cert/ssl_key): the key does not belong to the certificate (CN=${USER})`,
    );
    expectNoKeyIn(error, pem.key);
  });

  it('an expired certificate fails naming when it expired, not with an opaque TLS alert', async () => {
    // Prepare
    const connection = params({
      mode: 'verify-full',
      ca_file: ca.caFile,
      cert_file: expired.certFile,
      key_file: expired.keyFile,
    });

    // Act
    const error = await connectError(connection);

    // Assess
    expect(error.message).toBe(
      `${prefix()}client certificate (tls.cert_file ${expired.certFile}, tls.key_file ${expired.keyFile}): ` +
        `the certificate (CN=${USER}) expired at 2020-01-02T00:00:00.000Z`,
    );
    expectNoKeyIn(error, await readFile(expired.keyFile, 'utf8'));
  });

  it('without a certificate the server refuses with 28000, and the error says how to give one', async () => {
    // Act
    const error = await connectError(params({ mode: 'verify-full', ca_file: ca.caFile }));

    // Assess
    expect(error.code).toBe('28000');
    expect(error.message).toBe(`${prefix()}connection requires a valid client certificate ${NO_CERT_HINT}`);
  });

  it("a certificate whose CN is another user is refused by the server with the server's reason", async () => {
    // Act
    const error = await connectError(
      params({ mode: 'verify-full', ca_file: ca.caFile }, await pemOf(someoneElse)),
    );

    // Assess
    expect(error.code).toBe('28000');
    expect(error.message).toBe(`${prefix()}certificate authentication failed for user "${USER}"`);
    expectNoKeyIn(error, (await pemOf(someoneElse)).key);
  });

  it('a key that is not a PEM private key fails without echoing it', async () => {
    // Prepare: the key's base64 without its PEM armour
    const key = keyLines((await pemOf(good)).key).join('\n');

    // Act
    const error = await connectError(params({ mode: 'require' }, { cert: (await pemOf(good)).cert, key }));

    // Assess
    expect(error.message).toBe(
      `${prefix()}client certificate (the secret's ssl_cert/ssl_key): the key is not an unencrypted PEM private key`,
    );
    expectNoKeyIn(error, (await pemOf(good)).key);
  });

  it('a certificate that is not PEM fails naming the certificate', async () => {
    const error = await connectError(
      params({ mode: 'require' }, { cert: 'not a certificate', key: (await pemOf(good)).key }),
    );

    expect(error.message).toBe(
      `${prefix()}client certificate (the secret's ssl_cert/ssl_key): the certificate is not a PEM X.509 certificate`,
    );
    expectNoKeyIn(error, (await pemOf(good)).key);
  });

  it('a missing key file fails before connecting, naming the file', async () => {
    // Prepare
    const missing = join(ca.caFile, '..', 'absent.key');

    // Act
    const error = await connectError(
      params({ mode: 'require', cert_file: good.certFile, key_file: missing }),
    );

    // Assess
    expect(error.message).toBe(
      `${prefix()}cannot read TLS client key file: ENOENT: no such file or directory, open '${missing}'`,
    );
  });

  it.each([
    [
      'a certificate with TLS disabled',
      (pem: ClientCertificate) => params({ mode: 'disable' }, pem),
      'a client certificate needs TLS, but tls.mode is disable',
    ],
    [
      'a certificate both as files and from the secret',
      (pem: ClientCertificate) =>
        params({ mode: 'require', cert_file: good.certFile, key_file: good.keyFile }, pem),
      "client certificate given twice, as tls.cert_file/tls.key_file and as the secret's ssl_cert/ssl_key: keep one",
    ],
    [
      'a cert_file without key_file',
      () => params({ mode: 'require', cert_file: good.certFile }),
      'tls.cert_file and tls.key_file go together: give both or neither',
    ],
  ])('refuses %s before connecting', async (_case, connection, reason) => {
    // Act
    const error = await connectError(connection(await pemOf(good)));

    // Assess
    expect(error.message).toBe(`${prefix()}${reason}`);
    expectNoKeyIn(error, (await pemOf(good)).key);
  });
});
