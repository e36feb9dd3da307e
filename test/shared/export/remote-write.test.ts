import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uncompress } from 'snappyjs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  backoffMs,
  DEFAULT_USER_AGENT,
  parseRetryAfter,
  RemoteWriteEncoder,
  remoteWrite,
  sendRemoteWrite,
  splitUserinfo,
} from '../../../shared/export/remote-write.ts';
import { toTimeSeries } from '../../../shared/export/remote-write-labels.ts';
import { encodeRequests } from '../../../shared/export/remote-write-proto.ts';
import type { TimeSeries } from '../../../shared/export/remote-write-series.ts';
import {
  type FaultServer,
  type FaultStep,
  refusedUrl,
  startFaultServer,
} from '../../helpers/fault-server.ts';
import { decodeWriteRequest } from '../../helpers/remote-write-decode.ts';
import { makeTestCa } from '../../helpers/tls.ts';

const NOW = Date.now();

const batchSeries = (n: number): TimeSeries[] =>
  toTimeSeries({
    resource: {
      'service.name': 'orders',
      'service.instance.id': 'orders-primary',
      'db.system': 'postgresql',
    },
    timeMs: NOW,
    families: [
      {
        name: 'postgresql.database.size',
        unit: 'By',
        kind: 'gauge',
        description: '',
        points: Array.from({ length: n }, (_, i) => ({
          attributes: { 'database.name': `db${i}` },
          value: i * 10,
        })),
      },
    ],
  });

let servers: FaultServer[] = [];
async function serve(script: FaultStep[], fallback?: FaultStep): Promise<FaultServer> {
  const server = await startFaultServer(script, fallback === undefined ? {} : { fallback });
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

/** An injected sleep that records and returns at once. */
function recordingSleep(): { sleeps: number[]; sleep: (ms: number) => Promise<void> } {
  const sleeps: number[] = [];
  return { sleeps, sleep: async (ms) => void sleeps.push(ms) };
}

describe('remoteWrite against a scripted server', () => {
  it('retries 503 and 500 with jittered backoff, then succeeds; headers and body are what Prometheus expects', async () => {
    // Prepare
    const server = await serve([503, 500, 204]);
    const { sleeps, sleep } = recordingSleep();
    const series = batchSeries(3);
    // Act
    const report = await remoteWrite(series, {
      url: `${server.url}/api/v1/write`,
      deadlineMs: Date.now() + 30_000,
      sleep,
      random: () => 0.5,
    });
    // Assess
    expect(report).toMatchObject({
      ok: true,
      requests: 1,
      attempts: 3,
      seriesSent: 3,
      samplesSent: 3,
      samplesRejected: 0,
      lastStatus: 204,
      errors: [],
    });
    expect(sleeps).toEqual([125, 250]); // 0.5 × min(10 s, 250 ms × 2^(n-1))
    expect(server.requests).toHaveLength(3);
    const [first] = server.requests;
    expect(first?.method).toBe('POST');
    expect(first?.path).toBe('/api/v1/write');
    expect(first?.headers['content-encoding']).toBe('snappy');
    expect(first?.headers['content-type']).toBe('application/x-protobuf');
    expect(first?.headers['x-prometheus-remote-write-version']).toBe('0.1.0');
    expect(first?.headers['user-agent']).toBe(DEFAULT_USER_AGENT);
    expect(DEFAULT_USER_AGENT).toMatch(/^pgotel\/\d+\.\d+\.\d+/);
    expect(first?.headers.authorization).toBeUndefined();
    const decoded = decodeWriteRequest(uncompress(first?.body ?? Buffer.alloc(0)));
    expect(
      decoded.map((s) => ({
        labels: s.labels,
        samples: s.samples.map(({ value, timestampMs }) => ({ value, timestampMs })),
      })),
    ).toEqual(series);
    expect(report.bytesSent).toBe(3 * (first?.body.length ?? 0));
  });

  it('waits for Retry-After on 429 instead of its own backoff', async () => {
    const server = await serve([{ status: 429, headers: { 'retry-after': '1' } }, 200]);
    const { sleeps, sleep } = recordingSleep();
    const report = await remoteWrite(batchSeries(1), {
      url: server.url,
      deadlineMs: Date.now() + 30_000,
      sleep,
      random: () => 0.5,
    });
    expect(report).toMatchObject({ ok: true, attempts: 2, lastStatus: 200 });
    expect(sleeps).toEqual([1000]);
  });

  it('does not retry a 400 and reports its status and the start of its body', async () => {
    const body = `out of order sample ${'x'.repeat(500)}`;
    const server = await serve([{ status: 400, body }]);
    const { sleeps, sleep } = recordingSleep();
    const report = await remoteWrite(batchSeries(2), {
      url: server.url,
      deadlineMs: Date.now() + 30_000,
      sleep,
    });
    expect(report).toMatchObject({
      ok: false,
      requests: 1,
      attempts: 1,
      lastStatus: 400,
      samplesSent: 0,
      samplesRejected: 2,
    });
    expect(sleeps).toEqual([]);
    expect(report.errors).toEqual([
      `request 1/1 (2 series, 2 samples) to ${server.url}/: rejected, not retried: HTTP 400: ${body.slice(0, 200)}`,
    ]);
  });

  it('gives up after maxAttempts', async () => {
    const server = await serve([], 502);
    const { sleeps, sleep } = recordingSleep();
    const report = await remoteWrite(batchSeries(1), {
      url: server.url,
      deadlineMs: Date.now() + 30_000,
      maxAttempts: 3,
      sleep,
      random: () => 1,
    });
    expect(report).toMatchObject({ ok: false, attempts: 3, lastStatus: 502, samplesRejected: 1 });
    expect(sleeps).toEqual([250, 500]);
    expect(report.errors).toEqual([
      `request 1/1 (1 series, 1 samples) to ${server.url}/: gave up after 3 attempts: HTTP 502`,
    ]);
  });

  it('sends each batch independently: one rejected request does not stop the others', async () => {
    const server = await serve([204, 400, 204]);
    const report = await remoteWrite(batchSeries(5), {
      url: server.url,
      deadlineMs: Date.now() + 30_000,
      maxSamples: 2,
      concurrency: 1,
    });
    expect(report).toMatchObject({
      ok: false,
      requests: 3,
      attempts: 3,
      seriesSent: 3,
      samplesSent: 3,
      samplesRejected: 2,
    });
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toMatch(/^request 2\/3 \(2 series, 2 samples\)/);
    const sent = server.requests.map((r) => decodeWriteRequest(uncompress(r.body)).length);
    expect(sent).toEqual([2, 2, 1]);
  });

  it('retries connection refused with backoff until a wait would cross the deadline', async () => {
    // Prepare: sleeps return at once, so only the backoff arithmetic decides when to stop.
    const url = await refusedUrl();
    const { sleeps, sleep } = recordingSleep();
    // Act
    const report = await remoteWrite(batchSeries(1), {
      url,
      deadlineMs: Date.now() + 5000,
      maxAttempts: 10,
      sleep,
      random: () => 1,
    });
    // Assess: 250, 500, 1000, 2000, 4000 fit; 8000 would cross the 5 s deadline.
    expect(sleeps).toEqual([250, 500, 1000, 2000, 4000]);
    expect(report).toMatchObject({ ok: false, attempts: 6, samplesRejected: 1 });
    expect(report.errors[0]).toMatch(
      /a 8000 ms wait before attempt 7 would cross the deadline \(last: network error: ECONNREFUSED/,
    );
  });

  it('aborts a hanging response at the deadline', async () => {
    // Prepare
    const server = await serve(['hang']);
    const deadlineMs = Date.now() + 1500;
    // Act
    const report = await remoteWrite(batchSeries(1), { url: server.url, deadlineMs, timeoutMs: 60_000 });
    // Assess: the deadline, not the 60 s attempt timeout, ended it.
    expect(report).toMatchObject({ ok: false, attempts: 1, samplesRejected: 1 });
    expect(report.errors).toEqual([
      `request 1/1 (1 series, 1 samples) to ${server.url}/: aborted at the deadline during attempt 1`,
    ]);
    expect(Date.now()).toBeGreaterThanOrEqual(deadlineMs);
  });

  it('times out a hanging attempt and retries it', async () => {
    const server = await serve(['hang', 204]);
    const { sleeps, sleep } = recordingSleep();
    const report = await remoteWrite(batchSeries(1), {
      url: server.url,
      deadlineMs: Date.now() + 30_000,
      timeoutMs: 300,
      sleep,
      random: () => 0,
    });
    expect(report).toMatchObject({ ok: true, attempts: 2, lastStatus: 204 });
    expect(sleeps).toEqual([0]);
  });

  it('starts nothing when the deadline has already passed', async () => {
    const server = await serve([]);
    const report = await remoteWrite(batchSeries(1), { url: server.url, deadlineMs: Date.now() - 1 });
    expect(report).toMatchObject({ ok: false, attempts: 0, samplesRejected: 1 });
    expect(server.requests).toHaveLength(0);
  });

  it('never puts credentials in errors: URL userinfo becomes basic auth and is stripped', async () => {
    // Prepare: the server echoes the Authorization header back in its error body.
    const server = await serve([
      { status: 401, body: (r) => `bad credentials ${r.headers.authorization ?? ''}` },
    ]);
    const url = server.url.replace('http://', 'http://alice:s3cr%40t-pass@');
    // Act
    const report = await remoteWrite(batchSeries(1), { url, deadlineMs: Date.now() + 30_000 });
    // Assess
    const expectedAuth = `Basic ${Buffer.from('alice:s3cr@t-pass').toString('base64')}`;
    expect(server.requests[0]?.headers.authorization).toBe(expectedAuth);
    expect(report.errors).toEqual([
      `request 1/1 (1 series, 1 samples) to ${server.url}/: rejected, not retried: HTTP 401: bad credentials Basic ***`,
    ]);
    expect(JSON.stringify(report)).not.toContain('s3cr');
  });

  it('sends a bearer token and keeps it out of errors', async () => {
    const server = await serve([{ status: 403, body: (r) => `denied for ${r.headers.authorization ?? ''}` }]);
    const report = await remoteWrite(batchSeries(1), {
      url: server.url,
      auth: { type: 'bearer', token: 'tok-123456' },
      deadlineMs: Date.now() + 30_000,
    });
    expect(server.requests[0]?.headers.authorization).toBe('Bearer tok-123456');
    expect(report.errors[0]).toMatch(/HTTP 403: denied for Bearer \*\*\*$/);
    expect(JSON.stringify(report)).not.toContain('tok-123456');
  });

  it('sends nothing for an empty series list', async () => {
    const report = await remoteWrite([], { url: 'http://127.0.0.1:1/', deadlineMs: Date.now() + 1000 });
    expect(report).toMatchObject({ ok: true, requests: 0, attempts: 0 });
  });

  it('trusts a private CA from caFile for https', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'pgotel-rw-tls-'));
    try {
      const ca = await makeTestCa(dir, ['localhost']);
      const server = await startFaultServer([204], {
        tls: { cert: await readFile(ca.certFile, 'utf8'), key: await readFile(ca.keyFile, 'utf8') },
      });
      servers.push(server);
      // Act
      const trusted = await remoteWrite(batchSeries(1), {
        url: `${server.url}/api/v1/write`,
        caFile: ca.caFile,
        deadlineMs: Date.now() + 30_000,
      });
      const untrusted = await remoteWrite(batchSeries(1), {
        url: `${server.url}/api/v1/write`,
        deadlineMs: Date.now() + 30_000,
        maxAttempts: 1,
      });
      // Assess
      expect(trusted).toMatchObject({ ok: true, attempts: 1, lastStatus: 204 });
      expect(server.requests[0]?.headers['content-encoding']).toBe('snappy');
      expect(decodeWriteRequest(uncompress(server.requests[0]?.body ?? Buffer.alloc(0)))).toHaveLength(1);
      expect(untrusted.ok).toBe(false);
      expect(untrusted.errors[0]).toMatch(
        /network error: .*(self[- ]signed|unable to verify|UNABLE_TO_GET_ISSUER)/i,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('RemoteWriteEncoder and sendRemoteWrite', () => {
  it('compresses each request as it is encoded, and sendRemoteWrite sends exactly those bodies in order', async () => {
    // Prepare: 12 series in requests of at most 5 samples.
    const series = batchSeries(12);
    const limits = { maxSamples: 5, maxBytes: 1_048_576 };
    const server = await serve([204, 204, 204]);
    const encoder = new RemoteWriteEncoder(limits);
    for (const s of series) encoder.add(s);

    // Act
    const prepared = encoder.finish();
    const report = await sendRemoteWrite(prepared, {
      url: `${server.url}/api/v1/write`,
      deadlineMs: Date.now() + 10_000,
      concurrency: 1,
      ...limits,
    });

    // Assess: the snappy of what encodeRequests writes, one request per body.
    const expected = encodeRequests(series, limits);
    expect(prepared.requests.map((r) => [r.series, r.samples])).toEqual([
      [5, 5],
      [5, 5],
      [2, 2],
    ]);
    expect(prepared.requests.map((r) => Buffer.from(uncompress(r.body)).toString('hex'))).toEqual(
      expected.map((r) => Buffer.from(r.body).toString('hex')),
    );
    expect(server.requests.map((r) => r.body.toString('hex'))).toEqual(
      prepared.requests.map((r) => Buffer.from(r.body).toString('hex')),
    );
    expect(report).toMatchObject({ ok: true, requests: 3, seriesSent: 12, samplesSent: 12, attempts: 3 });
    expect(report.bytesSent).toBe(prepared.requests.reduce((n, r) => n + r.body.byteLength, 0));
  });
});

describe('retry helpers', () => {
  it('parses Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2024-05-01T10:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Wed, 01 May 2024 10:00:03 GMT', now)).toBe(3000);
    expect(parseRetryAfter('Wed, 01 May 2024 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('caps full-jitter backoff at 10 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 10].map((n) => backoffMs(n, () => 0.999999))).toEqual([
      249, 499, 999, 1999, 3999, 7999, 9999, 9999,
    ]);
    expect(backoffMs(3, () => 0)).toBe(0);
  });

  it('splits userinfo off a URL', () => {
    expect(splitUserinfo('https://u%20x:p%3Aw@example.com:9090/api/v1/write?x=1')).toEqual({
      url: 'https://example.com:9090/api/v1/write?x=1',
      username: 'u x',
      password: 'p:w',
    });
  });
});
