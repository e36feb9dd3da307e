import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { remoteWrite } from '../../../shared/export/remote-write.ts';
import { toTimeSeries } from '../../../shared/export/remote-write-labels.ts';
import { createSigV4Signer } from '../../../shared/export/sigv4.ts';
import { type FaultServer, type RecordedRequest, startFaultServer } from '../../helpers/fault-server.ts';

const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session-token-xyz',
};

const series = toTimeSeries({
  resource: { 'service.name': 'orders' },
  timeMs: Date.now(),
  families: [
    { name: 'up', unit: '1', kind: 'gauge', description: '', points: [{ attributes: {}, value: 1 }] },
  ],
});

/** `20240501T100000Z` → Date */
function parseAmzDate(text: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (m === null) throw new Error(`bad x-amz-date ${text}`);
  return new Date(
    Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])),
  );
}

/** Signs the received request again with `credentials`; returns the Authorization it should carry. */
async function resign(
  server: FaultServer,
  received: RecordedRequest,
  credentials: typeof CREDENTIALS,
): Promise<string> {
  const authorization = String(received.headers.authorization);
  const signedNames = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? [];
  const headers: Record<string, string> = {};
  for (const name of signedNames) {
    if (name === 'host' || name === 'x-amz-date') continue; // re-derived from the URL and the signing date
    headers[name] = String(received.headers[name]);
  }
  const signer = await createSigV4Signer({ region: 'eu-west-1', credentials: async () => credentials });
  const signed = await signer(
    { url: new URL(`${server.url}${received.path}`), method: received.method, headers, body: received.body },
    parseAmzDate(String(received.headers['x-amz-date'])),
  );
  return signed.authorization ?? '';
}

let server: FaultServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('SigV4 remote-write', () => {
  it('signs for service aps with the injected credentials, verifiable by re-signing', async () => {
    // Prepare
    server = await startFaultServer([200]);
    // Act
    const report = await remoteWrite(series, {
      url: `${server.url}/workspaces/ws-1/api/v1/remote_write`,
      auth: { type: 'sigv4', region: 'eu-west-1', credentials: async () => CREDENTIALS },
      deadlineMs: Date.now() + 30_000,
    });
    // Assess
    expect(report).toMatchObject({ ok: true, attempts: 1, lastStatus: 200 });
    const received = server.requests[0];
    if (received === undefined) throw new Error('no request received');
    const authorization = String(received.headers.authorization);
    const amzDate = String(received.headers['x-amz-date']);
    expect(amzDate).toMatch(/^\d{8}T\d{6}Z$/);
    expect(authorization).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/${amzDate.slice(0, 8)}/eu-west-1/aps/aws4_request, ` +
          'SignedHeaders=content-encoding;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-prometheus-remote-write-version, ' +
          'Signature=[0-9a-f]{64}$',
      ),
    );
    expect(received.headers['x-amz-content-sha256']).toBe(
      createHash('sha256').update(received.body).digest('hex'),
    );
    expect(received.headers['x-amz-security-token']).toBe('session-token-xyz');
    expect(await resign(server, received, CREDENTIALS)).toBe(authorization);
    expect(await resign(server, received, { ...CREDENTIALS, secretAccessKey: 'another-secret' })).not.toBe(
      authorization,
    );
  });

  it('reports a credentials failure without sending', async () => {
    server = await startFaultServer([200]);
    const report = await remoteWrite(series, {
      url: server.url,
      auth: {
        type: 'sigv4',
        region: 'eu-west-1',
        credentials: async () => {
          throw new Error('no instance role');
        },
      },
      deadlineMs: Date.now() + 30_000,
    });
    expect(report).toMatchObject({ ok: false, attempts: 0, samplesRejected: 1 });
    expect(report.errors).toEqual([
      `request 1/1 (1 series, 1 samples) to ${server.url}/: no AWS credentials for SigV4: no instance role`,
    ]);
    expect(server.requests).toHaveLength(0);
  });
});
