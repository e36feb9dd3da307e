import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uncompress } from 'snappyjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RemoteWriteFetch, remoteWrite } from '../../../shared/export/remote-write.ts';
import type { TimeSeries } from '../../../shared/export/remote-write-series.ts';
import { REPO } from '../../helpers/cli.ts';
import { type FaultServer, type FaultStep, startFaultServer } from '../../helpers/fault-server.ts';
import { decodeWriteRequest } from '../../helpers/remote-write-decode.ts';
import { makeTestCa, type TestCa } from '../../helpers/tls.ts';

/**
 * Defects found by hostile testing of the remote-write sender: redirects, body buffers reused across
 * retries, a CA agent keeping the process alive, and attempts (or response bodies) that never end.
 */

const series = (n: number): TimeSeries[] =>
  Array.from({ length: n }, (_, i) => ({
    labels: [
      { name: '__name__', value: 'pgotel_hardening' },
      { name: 'i', value: String(i) },
    ],
    samples: [{ value: i, timestampMs: 1_700_000_000_000 }],
  }));

let dir = '';
let ca: TestCa;
let tls: { cert: string; key: string };
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgotel-rw-hardening-'));
  ca = await makeTestCa(dir, ['localhost']);
  tls = { cert: await readFile(ca.certFile, 'utf8'), key: await readFile(ca.keyFile, 'utf8') };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.map((close) => close()));
  closers = [];
});
async function serve(
  script: FaultStep[],
  options: { https?: boolean; fallback?: FaultStep } = {},
): Promise<FaultServer> {
  const server = await startFaultServer(script, {
    ...(options.https === true ? { tls } : {}),
    ...(options.fallback === undefined ? {} : { fallback: options.fallback }),
  });
  closers.push(() => server.close());
  return server;
}

/** A real server with a hand-written handler (for answers the fault server has no step for). */
async function serveWith(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  options: { https?: boolean; keepAliveTimeout?: number } = {},
): Promise<{ url: string; requests: Buffer[] }> {
  const requests: Buffer[] = [];
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push(Buffer.concat(chunks));
      handler(req, res);
    });
  };
  const server = options.https === true ? createHttpsServer(tls, onRequest) : createHttpServer(onRequest);
  if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return { url: `${options.https === true ? 'https' : 'http'}://127.0.0.1:${port}/api/v1/write`, requests };
}

/** Answers `status` and its headers at once, then one body byte every 50 ms, never finishing (slow loris). */
const trickle =
  (status: number) =>
  (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': '1000000' });
    const timer = setInterval(() => res.write('x'), 50);
    res.once('close', () => clearInterval(timer));
  };

/** Both transports remote-write has: Node's fetch (http) and the CA-trusting https client. */
const transports = [
  { name: 'fetch over http', https: false },
  { name: 'the CA client over https', https: true },
] as const;
const transportOptions = (https: boolean): { caFile?: string } => (https ? { caFile: ca.caFile } : {});

describe.each(transports)('redirects are never a silent loss ($name)', ({ https }) => {
  it.each([301, 302, 303, 307, 308])(
    'reports HTTP %i as a non-retried failure naming the Location, and the target gets nothing',
    async (status) => {
      // Prepare: the first server always redirects, to a second one that would accept anything.
      const target = await serve([], { https });
      const location = `${target.url}/api/v1/write`;
      const redirector = await serve([], { https, fallback: { status, headers: { location } } });
      // Act
      const report = await remoteWrite(series(2), {
        url: `${redirector.url}/api/v1/write`,
        deadlineMs: Date.now() + 10_000,
        ...transportOptions(https),
      });
      // Assess
      expect(report).toMatchObject({ ok: false, attempts: 1, samplesSent: 0, samplesRejected: 2 });
      expect(report.lastStatus).toBe(status);
      expect(report.errors).toEqual([
        `request 1/1 (2 series, 2 samples) to ${redirector.url}/api/v1/write: rejected, not retried: ` +
          `HTTP ${status} redirect to ${location}; set remote_write.url to the final URL`,
      ]);
      expect(target.requests).toHaveLength(0);
    },
  );
});

describe('redirect details', () => {
  it('resolves a relative Location and strips credentials from it', async () => {
    const server = await serve([{ status: 308, headers: { location: 'http://bob:hunter22@example.com/w' } }]);
    const report = await remoteWrite(series(1), {
      url: `${server.url}/a/b`,
      deadlineMs: Date.now() + 10_000,
    });
    expect(report.errors[0]).toMatch(/HTTP 308 redirect to http:\/\/example\.com\/w;/);
    expect(JSON.stringify(report)).not.toContain('hunter22');

    const relative = await serve([{ status: 301, headers: { location: '../v2/write' } }]);
    const second = await remoteWrite(series(1), {
      url: `${relative.url}/a/b`,
      deadlineMs: Date.now() + 10_000,
    });
    expect(second.errors[0]).toMatch(new RegExp(`HTTP 301 redirect to ${relative.url}/v2/write;`));
  });

  it('says not ok when an injected fetch follows a redirect on its own', async () => {
    // Prepare: a fetch that ignores `redirect: 'manual'` and follows, as a careless wrapper would.
    const target = await serve([]);
    const redirector = await serve([{ status: 301, headers: { location: `${target.url}/api/v1/write` } }]);
    const following: RemoteWriteFetch = (url, init) => fetch(url, { ...init, redirect: 'follow' });
    // Act
    const report = await remoteWrite(series(1), {
      url: `${redirector.url}/api/v1/write`,
      fetch: following,
      deadlineMs: Date.now() + 10_000,
    });
    // Assess: the 301 became a GET without a body that the target answered 204; that is no write.
    expect(target.requests.map((r) => r.method)).toEqual(['GET']);
    expect(report).toMatchObject({ ok: false, samplesSent: 0, samplesRejected: 1 });
    expect(report.errors[0]).toMatch(
      /rejected, not retried: HTTP 204 after following a redirect to http:\/\/127\.0\.0\.1:\d+\/api\/v1\/write; set remote_write\.url to the final URL$/,
    );
  });
});

describe('retries send intact bytes', () => {
  it('sends identical bytes on every attempt even when fetch detaches the body buffer it is given', async () => {
    // Prepare: a fetch that takes ownership of the body's ArrayBuffer (transfer detaches it), as
    // a byte-stream body source is allowed to.
    const server = await serve([503, 503, 204]);
    const detaching: RemoteWriteFetch = (url, init) => {
      const { buffer } = init.body;
      if (!(buffer instanceof ArrayBuffer)) throw new TypeError('expected an ArrayBuffer-backed body');
      const owned = structuredClone(init.body, { transfer: [buffer] });
      return fetch(url, { ...init, body: owned });
    };
    // Act
    const report = await remoteWrite(series(3), {
      url: server.url,
      fetch: detaching,
      deadlineMs: Date.now() + 10_000,
      sleep: async () => undefined,
    });
    // Assess
    expect(report).toMatchObject({ ok: true, attempts: 3, samplesSent: 3, lastStatus: 204 });
    const [first, ...rest] = server.requests.map((r) => r.body);
    expect(first?.length).toBeGreaterThan(0);
    for (const body of rest) expect(body).toEqual(first);
    expect(decodeWriteRequest(uncompress(first ?? Buffer.alloc(0)))).toHaveLength(3);
  });
});

describe('a process with a private CA exits on its own', () => {
  it('exits within a few seconds after remoteWrite built (and must close) its CA client', async () => {
    // Prepare: an https server that would keep an idle keep-alive connection open for a minute.
    const server = await serveWith((_req, res) => res.writeHead(204).end(), {
      https: true,
      keepAliveTimeout: 60_000,
    });
    const script = [
      `import { remoteWrite } from ${JSON.stringify(join(REPO, 'shared/export/remote-write.ts'))};`,
      `const series = ${JSON.stringify(series(1))};`,
      `const report = await remoteWrite(series, { url: ${JSON.stringify(server.url)}, caFile: ${JSON.stringify(ca.caFile)}, deadlineMs: Date.now() + 20000 });`,
      `process.stdout.write(JSON.stringify(report) + '\\n');`,
    ].join('\n');
    // Act
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let reportedAt = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (reportedAt === 0 && stdout.includes('\n')) reportedAt = Date.now();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    clearTimeout(killer);
    const exitedAfterMs = Date.now() - reportedAt;
    // Assess
    expect(stderr).toBe('');
    expect(JSON.parse(stdout)).toMatchObject({ ok: true, attempts: 1, lastStatus: 204 });
    expect(server.requests).toHaveLength(1);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitedAfterMs).toBeLessThan(3000);
  });
});

describe.each(transports)('every attempt is cut at timeoutMs ($name)', ({ https }) => {
  const options = (url: string) => ({
    url,
    timeoutMs: 300,
    maxAttempts: 50,
    deadlineMs: Date.now() + 3000,
    random: () => 0,
    ...transportOptions(https),
  });

  it('retries an endpoint that never answers several times within the deadline', async () => {
    const server = await serve([], { https, fallback: 'hang' });
    const started = Date.now();
    const report = await remoteWrite(series(1), options(`${server.url}/api/v1/write`));
    expect(server.requests.length).toBeGreaterThanOrEqual(4);
    expect(report).toMatchObject({ ok: false, samplesRejected: 1 });
    expect(report.attempts).toBe(server.requests.length);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('cuts an error response whose body trickles forever (slow loris) and retries', async () => {
    const server = await serveWith(trickle(503), { https });
    // Act
    const started = Date.now();
    const report = await remoteWrite(series(1), options(server.url));
    // Assess
    expect(server.requests.length).toBeGreaterThanOrEqual(4);
    expect(report).toMatchObject({ ok: false, samplesRejected: 1 });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('counts a 2xx whose body trickles forever as accepted without waiting past the attempt', async () => {
    const server = await serveWith(trickle(200), { https });
    const started = Date.now();
    const report = await remoteWrite(series(1), options(server.url));
    expect(report).toMatchObject({ ok: true, attempts: 1, lastStatus: 200, samplesSent: 1 });
    expect(Date.now() - started).toBeLessThan(2500);
  });
});

describe('an injected fetch that does not honour the signal is bounded all the same', () => {
  const options = (url: string, fetch: RemoteWriteFetch) => ({
    url,
    fetch,
    timeoutMs: 300,
    maxAttempts: 50,
    deadlineMs: Date.now() + 3000,
    random: () => 0,
  });
  /** Ignores the signal altogether. */
  const deaf: RemoteWriteFetch = (url, { signal: _ignored, ...init }) => fetch(url, init);
  /** Honours the signal only until the headers arrive, as many HTTP clients do; the body is on its own. */
  const headersOnly: RemoteWriteFetch = async (url, init) => {
    const controller = new AbortController();
    const abort = (): void => controller.abort(init.signal.reason);
    init.signal.addEventListener('abort', abort, { once: true });
    try {
      return await fetch(url, { ...init, signal: controller.signal });
    } finally {
      init.signal.removeEventListener('abort', abort);
    }
  };

  it('cuts attempts to an endpoint that never answers', { timeout: 15_000 }, async () => {
    const server = await serve([], { fallback: 'hang' });
    const report = await remoteWrite(series(1), options(server.url, deaf));
    expect(server.requests.length).toBeGreaterThanOrEqual(4);
    expect(report).toMatchObject({ ok: false, samplesRejected: 1 });
    expect(report.attempts).toBe(server.requests.length);
  });

  it('cuts a slow-loris error body and retries', { timeout: 15_000 }, async () => {
    const server = await serveWith(trickle(503));
    const report = await remoteWrite(series(1), options(server.url, headersOnly));
    expect(server.requests.length).toBeGreaterThanOrEqual(4);
    expect(report).toMatchObject({ ok: false, samplesRejected: 1, lastStatus: 503 });
  });

  it('counts a slow-loris 2xx as accepted once the attempt timeout cuts its body', {
    timeout: 15_000,
  }, async () => {
    const server = await serveWith(trickle(200));
    const started = Date.now();
    const report = await remoteWrite(series(1), options(server.url, headersOnly));
    expect(report).toMatchObject({ ok: true, attempts: 1, lastStatus: 200, samplesSent: 1 });
    expect(Date.now() - started).toBeLessThan(2500);
  });
});
