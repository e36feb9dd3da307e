import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCa, type TestCa } from './tls.ts';

describe('makeTestCa', () => {
  let dir: string;
  let files: TestCa;
  let ca: X509Certificate;
  let cert: X509Certificate;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pgotel-tls-test-'));
    files = await makeTestCa(join(dir, 'certs'), ['db.example.test', 'localhost']);
    ca = new X509Certificate(await readFile(files.caFile));
    cert = new X509Certificate(await readFile(files.certFile));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the files into the given folder', () => {
    // Assess
    expect(files).toEqual({
      caFile: join(dir, 'certs', 'ca.crt'),
      certFile: join(dir, 'certs', 'server.crt'),
      keyFile: join(dir, 'certs', 'server.key'),
    });
  });

  it('makes a CA certificate', () => {
    // Assess
    expect(ca.ca).toBe(true);
    expect(ca.subject).toBe('CN=pgotel test CA');
  });

  it('makes a server certificate for the names and 127.0.0.1, signed by the CA', () => {
    // Assess
    expect(cert.ca).toBe(false);
    expect(cert.subject).toBe('CN=db.example.test');
    expect(cert.subjectAltName).toBe('DNS:db.example.test, DNS:localhost, IP Address:127.0.0.1');
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
  });

  it('writes the matching private key, readable by its owner only', async () => {
    // Act
    const key = createPrivateKey(await readFile(files.keyFile));
    const mode = (await stat(files.keyFile)).mode & 0o777;

    // Assess
    expect(cert.checkPrivateKey(key)).toBe(true);
    expect(mode).toBe(0o600);
  });
});
