import { execFile } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Files written by {@link makeTestCa}, all PEM. */
export interface TestCa {
  /** The CA certificate: what a client trusts (`sslrootcert`, `ca`). */
  caFile: string;
  /** The server certificate, signed by the CA. */
  certFile: string;
  /** The server's private key (mode 0600). */
  keyFile: string;
}

async function openssl(args: readonly string[]): Promise<void> {
  try {
    await execFileAsync('openssl', [...args]);
  } catch (error) {
    throw new Error(`openssl ${args[0] ?? ''} failed (is the openssl CLI installed?)`, { cause: error });
  }
}

/**
 * Generates, in `dir`, a test CA (`ca.crt`) and a server certificate (`server.crt`, `server.key`) valid
 * for `hostnames` (SAN DNS entries) and IP 127.0.0.1, with the `openssl` CLI. EC P-256 keys keep it fast.
 */
export async function makeTestCa(dir: string, hostnames: string[]): Promise<TestCa> {
  await mkdir(dir, { recursive: true });
  const caKey = join(dir, 'ca.key');
  const caFile = join(dir, 'ca.crt');
  const keyFile = join(dir, 'server.key');
  const csrFile = join(dir, 'server.csr');
  const certFile = join(dir, 'server.crt');
  const extFile = join(dir, 'server.ext');
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

  await openssl([
    'req',
    '-x509',
    ...ecKey,
    '-keyout',
    caKey,
    '-out',
    caFile,
    '-days',
    '2',
    '-subj',
    '/CN=pgotel test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const commonName = hostnames[0] ?? '127.0.0.1';
  await openssl(['req', '-new', ...ecKey, '-keyout', keyFile, '-out', csrFile, '-subj', `/CN=${commonName}`]);
  const altNames = [...hostnames.map((name) => `DNS:${name}`), 'IP:127.0.0.1'].join(',');
  await writeFile(
    extFile,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${altNames}`,
      '',
    ].join('\n'),
  );
  await openssl([
    'x509',
    '-req',
    '-in',
    csrFile,
    '-CA',
    caFile,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-out',
    certFile,
    '-days',
    '2',
    '-extfile',
    extFile,
  ]);
  await chmod(caFile, 0o644);
  await chmod(certFile, 0o644);
  await chmod(keyFile, 0o600);
  return { caFile, certFile, keyFile };
}

/** A client certificate and its key, both PEM, from {@link makeClientCert}. */
export interface TestClientCert {
  /** The client certificate, signed by the test CA. */
  certFile: string;
  /** Its private key (mode 0600). */
  keyFile: string;
}

/** Options of {@link makeClientCert}. */
export interface ClientCertOptions {
  /**
   * Make a certificate whose validity ended in the past (1 January 2020 for one day).
   * @default false
   */
  expired?: boolean;
}

/**
 * Generates, in `dir`, a client certificate `<name>.crt` and key `<name>.key` for `commonName` (PostgreSQL's
 * `cert` authentication maps the CN to the user name), signed by the CA of `ca` (its `ca.key` next to
 * `ca.crt`). `openssl ca` rather than `openssl x509 -req`, because only it takes explicit validity dates.
 */
export async function makeClientCert(
  ca: TestCa,
  dir: string,
  name: string,
  commonName: string,
  options: ClientCertOptions = {},
): Promise<TestClientCert> {
  const work = join(dir, `${name}.ca`);
  await mkdir(work, { recursive: true });
  const keyFile = join(dir, `${name}.key`);
  const csrFile = join(work, 'client.csr');
  const certFile = join(dir, `${name}.crt`);
  const confFile = join(work, 'ca.cnf');
  await writeFile(join(work, 'index.txt'), '');
  await writeFile(join(work, 'serial'), `${Date.now().toString(16).padStart(16, '0')}\n`);
  await writeFile(
    confFile,
    [
      '[ca]',
      'default_ca = test',
      '[test]',
      `database = ${join(work, 'index.txt')}`,
      `new_certs_dir = ${work}`,
      `serial = ${join(work, 'serial')}`,
      'default_md = sha256',
      'policy = any',
      'x509_extensions = client',
      'unique_subject = no',
      '[any]',
      'commonName = supplied',
      '[client]',
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature',
      'extendedKeyUsage = clientAuth',
      '',
    ].join('\n'),
  );
  await openssl([
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    csrFile,
    '-subj',
    `/CN=${commonName}`,
  ]);
  const validity =
    options.expired === true
      ? ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z']
      : ['-days', '2'];
  await openssl([
    'ca',
    '-batch',
    '-notext',
    '-config',
    confFile,
    '-cert',
    ca.caFile,
    '-keyfile',
    join(dirname(ca.caFile), 'ca.key'),
    '-in',
    csrFile,
    '-out',
    certFile,
    ...validity,
  ]);
  await chmod(certFile, 0o644);
  await chmod(keyFile, 0o600);
  return { certFile, keyFile };
}
