import { execFile } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
