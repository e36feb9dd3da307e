import { readFile } from 'node:fs/promises';
import { Agent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { compress } from 'snappyjs';
import packageJson from '../../package.json' with { type: 'json' };
import { RequestEncoder } from './remote-write-proto.ts';
import type { TimeSeries } from './remote-write-series.ts';
import { createSigV4Signer, type RequestSigner } from './sigv4.ts';

/**
 * The remote-write I/O shell: batches, compresses, sends with retries, and reports. It never throws
 * for a failed send (the archive must still be written); everything is in the report.
 */

/** Authentication of the remote-write endpoint. */
export type RemoteWriteAuth =
  | { type: 'none' }
  | { type: 'basic'; username: string; password: string }
  | { type: 'bearer'; token: string }
  | { type: 'sigv4'; region: string; service?: string; credentials?: AwsCredentialIdentityProvider };

/** Options of `remoteWrite`. */
export interface RemoteWriteOptions {
  /** Endpoint, e.g. `http://prometheus:9090/api/v1/write`; `user:pass@` in it is used as basic auth. */
  url: string;
  /** @default globalThis.fetch (or an https client trusting `caFile` when that is set) */
  fetch?: RemoteWriteFetch;
  /** Signs each attempt (SigV4), built once per process by the shell. @default built per call from `auth` */
  signer?: RequestSigner;
  /** @default `pgotel/<package version>` */
  userAgent?: string;
  /** @default `{ type: 'none' }` */
  auth?: RemoteWriteAuth;
  /** PEM CA bundle for an https endpoint with a private CA; ignored when `fetch` is injected. */
  caFile?: string;
  /** Per-attempt timeout: signing, the request and reading the answer. @default 10000 */
  timeoutMs?: number;
  /** Attempts per request, first one included. @default 5 */
  maxAttempts?: number;
  /** Absolute epoch ms (e.g. the Lambda's remaining time): no attempt or sleep crosses it. */
  deadlineMs: number;
  /** Most samples per request (seed `max_samples_per_send`). @default 5000 */
  maxSamples?: number;
  /** Most uncompressed protobuf bytes per request. @default 1048576 */
  maxBytes?: number;
  /** Requests of one run in flight at once. @default 2 */
  concurrency?: number;
  /** @default setTimeout-based */
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1). @default Math.random */
  random?: () => number;
}

/** What a run did; `ok` when every request was accepted. */
export interface RemoteWriteReport {
  ok: boolean;
  requests: number;
  seriesSent: number;
  samplesSent: number;
  /** Samples of requests that were finally not accepted (rejected, or given up on). */
  samplesRejected: number;
  /** HTTP attempts made, retries included. */
  attempts: number;
  lastStatus?: number;
  /** One line per failed request; never holds credentials. */
  errors: string[];
  /** From the start of encoding (`RemoteWriteEncoder`) to the last answer. */
  durationMs: number;
  /** Compressed bytes put on the wire, retries included. */
  bytesSent: number;
}

/** Defaults of `RemoteWriteOptions`, in one place. */
export const REMOTE_WRITE_DEFAULTS = {
  timeoutMs: 10_000,
  maxAttempts: 5,
  maxSamples: 5000,
  maxBytes: 1_048_576,
  concurrency: 2,
  backoffBaseMs: 250,
  backoffCapMs: 10_000,
} as const;

const VERSION: string = typeof packageJson.version === 'string' ? packageJson.version : '0.0.0';

/** `pgotel/<version>`, the default `User-Agent`. */
export const DEFAULT_USER_AGENT = `pgotel/${VERSION}`;

/** Milliseconds of a full-jitter exponential backoff before retry number `retry` (1-based). */
export function backoffMs(retry: number, random: () => number): number {
  const ceiling = Math.min(
    REMOTE_WRITE_DEFAULTS.backoffCapMs,
    REMOTE_WRITE_DEFAULTS.backoffBaseMs * 2 ** Math.max(0, retry - 1),
  );
  return Math.floor(random() * ceiling);
}

/** Milliseconds to wait from a `Retry-After` header (delta seconds or HTTP date), or `undefined`. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** The URL without `user:pass@`, and the credentials that were in it. */
export function splitUserinfo(url: string): { url: string; username: string; password: string } {
  const parsed = new URL(url);
  const username = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), username, password };
}

/**
 * The part of `fetch` remote-write uses; injectable for tests and for a private CA. `body` is a fresh
 * copy per attempt, so an implementation may take ownership of (detach) its buffer. `redirect` is
 * always `'manual'`: see `remoteWrite` for why redirects are never followed.
 */
export type RemoteWriteFetch = (
  url: string,
  init: {
    method: string;
    headers: Record<string, string>;
    body: Uint8Array;
    signal: AbortSignal;
    redirect: 'manual';
  },
) => Promise<Response>;
type FetchLike = RemoteWriteFetch;

/**
 * A minimal fetch over `node:https` that trusts `ca` (Node's built-in fetch takes no CA option), with one
 * keep-alive agent. Build it once per process; `close()` destroys the agent's sockets so the process can exit.
 */
export function createCaFetch(ca: string): { fetch: RemoteWriteFetch; close: () => void } {
  const agent = new Agent({ ca, keepAlive: true });
  return { fetch: caFetch(agent), close: () => agent.destroy() };
}

/** Never follows redirects (`node:https` does not), as `RemoteWriteFetch` asks. */
function caFetch(agent: Agent): FetchLike {
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const req = httpsRequest(
        url,
        { method: init.method, headers: init.headers, agent, signal: init.signal },
        (res) => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (Array.isArray(value)) for (const v of value) headers.append(name, v);
            else if (value !== undefined) headers.set(name, value);
          }
          const status = res.statusCode ?? 502;
          const body =
            status === 204 || status === 304 ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
          resolve(new Response(body, { status, statusText: res.statusMessage ?? '', headers }));
        },
      );
      req.on('error', reject);
      req.end(init.body);
    });
}

class Redactor {
  private readonly secrets: string[];
  constructor(secrets: readonly string[]) {
    // Longest first, so a secret containing another is replaced whole.
    this.secrets = secrets.filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
  }
  apply(text: string): string {
    let out = text.replace(/\/\/[^/@\s]*@/g, '//');
    for (const secret of this.secrets) out = out.split(secret).join('***');
    return out;
  }
}

/**
 * Settles like `promise`, or rejects with the signal's reason once it aborts. An injected fetch (or its
 * body stream, or a credential provider) need not honour the signal; this bounds the wait all the same.
 */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Reads at most `limit` bytes of a response body, never past `signal` (a slow-loris body otherwise
 * holds the attempt forever), then lets the rest go. Returns what arrived, even when cut short.
 */
async function readBody(response: Response, signal: AbortSignal, limit: number): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (let bytes = 0; bytes < limit; ) {
    const chunk = await untilAborted(reader.read(), signal).catch(() => undefined);
    if (chunk === undefined || chunk.done) break;
    bytes += chunk.value.byteLength;
    text += decoder.decode(chunk.value, { stream: true });
  }
  // Not awaited: a body that ignores cancellation must not hold the attempt either.
  reader.cancel().catch(() => undefined);
  return text;
}

/** The first 200 characters of a body, on one line. */
const snippet = (text: string): string => text.replace(/\s+/g, ' ').trim().slice(0, 200);

/**
 * Why a redirect (answered, or followed by an injected fetch) is a failed write, or `undefined`. A
 * redirect is never followed: fetch turns a 301/302/303 POST into a GET without a body (which the
 * target may well answer 204: a lost write reported as sent), Node 20's fetch fails to re-send a byte
 * body on 307/308, the CA client follows nothing, and following would hand `Authorization` or a SigV4
 * signature bound to one host to another. The endpoint is configuration, so the fix is to name the
 * final URL there; the message says which.
 */
function redirectProblem(response: Response, endpoint: string): string | undefined {
  const advice = 'set remote_write.url to the final URL';
  if (response.redirected) {
    return `HTTP ${response.status} after following a redirect to ${response.url}; ${advice}`;
  }
  if (response.status < 300 || response.status >= 400) return undefined;
  const location = response.headers.get('location');
  if (location === null) return undefined;
  const target = URL.canParse(location, endpoint) ? new URL(location, endpoint).toString() : location;
  return `HTTP ${response.status} redirect to ${target}; ${advice}`;
}

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${cause.message}` : cause.message;
  }
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One request as it goes on the wire: snappy-compressed `WriteRequest` bytes, and what they hold. */
export interface CompressedRequest {
  readonly body: Uint8Array;
  readonly series: number;
  readonly samples: number;
}

/** A run's requests, ready to send, and when their encoding started (`durationMs` counts from there). */
export interface PreparedRequests {
  readonly requests: readonly CompressedRequest[];
  readonly startedMs: number;
}

/**
 * Series → compressed requests, as the series come (`add` each, then `finish`): each series is encoded as it is
 * added and each request compressed as soon as it is full, so what is held is the compressed requests (about 33
 * bytes a sample) and the one request being filled, never a run's series or uncompressed requests all at once.
 * The requests are split by sample count and bytes exactly as `splitRequests` splits the same series.
 */
export class RemoteWriteEncoder {
  private readonly startedMs = Date.now();
  private readonly requests: CompressedRequest[] = [];
  private readonly encoder: RequestEncoder;

  constructor(limits: Pick<RemoteWriteOptions, 'maxSamples' | 'maxBytes'> = {}) {
    this.encoder = new RequestEncoder(
      {
        maxSamples: limits.maxSamples ?? REMOTE_WRITE_DEFAULTS.maxSamples,
        maxBytes: limits.maxBytes ?? REMOTE_WRITE_DEFAULTS.maxBytes,
      },
      ({ body, series, samples }) => this.requests.push({ body: compress(body), series, samples }),
    );
  }

  /** Encodes one series; the caller may let it go. */
  add(series: TimeSeries): void {
    this.encoder.add(series);
  }

  /** The requests of every series added; call once, after the last `add`. */
  finish(): PreparedRequests {
    this.encoder.finish();
    return { requests: this.requests, startedMs: this.startedMs };
  }
}

/**
 * Sends `series` to a Prometheus remote-write 1.0 endpoint: split into requests by sample count and
 * bytes, each protobuf-encoded and snappy-compressed, sent independently (one failed request does
 * not stop the others). See `sendRemoteWrite`. Never throws for HTTP or network failures.
 */
export async function remoteWrite(
  series: Iterable<TimeSeries>,
  options: RemoteWriteOptions,
): Promise<RemoteWriteReport> {
  const encoder = new RemoteWriteEncoder(options);
  for (const s of series) encoder.add(s);
  return sendRemoteWrite(encoder.finish(), options);
}

/**
 * Sends prepared requests (`RemoteWriteEncoder`) to a Prometheus remote-write 1.0 endpoint, each independently
 * (one failed request does not stop the others). 2xx is success; 5xx, 429 and network errors are retried with
 * full-jitter exponential backoff (or `Retry-After` on 429/503); other 4xx are final. A redirect is never
 * followed and is final (see `redirectProblem`): only a 2xx answer to the POST itself counts as written. Each
 * attempt, body read included, is cut at `timeoutMs`, whether or not the fetch honours its signal. Nothing is
 * started, slept or left in flight past `deadlineMs`. Never throws for HTTP or network failures.
 */
export async function sendRemoteWrite(
  prepared: PreparedRequests,
  options: RemoteWriteOptions,
): Promise<RemoteWriteReport> {
  const started = prepared.startedMs;
  const report: RemoteWriteReport = {
    ok: true,
    requests: 0,
    seriesSent: 0,
    samplesSent: 0,
    samplesRejected: 0,
    attempts: 0,
    errors: [],
    durationMs: 0,
    bytesSent: 0,
  };
  const endpoint = splitUserinfo(options.url);
  let auth: RemoteWriteAuth = options.auth ?? { type: 'none' };
  if (auth.type === 'none' && (endpoint.username !== '' || endpoint.password !== '')) {
    auth = { type: 'basic', username: endpoint.username, password: endpoint.password };
  }
  const secrets = [endpoint.password];
  const baseHeaders: Record<string, string> = {
    'Content-Encoding': 'snappy',
    'Content-Type': 'application/x-protobuf',
    'X-Prometheus-Remote-Write-Version': '0.1.0',
    'User-Agent': options.userAgent ?? DEFAULT_USER_AGENT,
  };
  if (auth.type === 'basic') {
    const encoded = Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64');
    baseHeaders.Authorization = `Basic ${encoded}`;
    secrets.push(auth.password, encoded);
  } else if (auth.type === 'bearer') {
    baseHeaders.Authorization = `Bearer ${auth.token}`;
    secrets.push(auth.token);
  }
  const redactor = new Redactor(secrets);
  const fail = (message: string): void => {
    report.ok = false;
    report.errors.push(redactor.apply(message));
  };

  const batches = prepared.requests;
  report.requests = batches.length;
  if (batches.length === 0) {
    report.durationMs = Date.now() - started;
    return report;
  }

  let send: FetchLike;
  let signer: RequestSigner | undefined = options.signer;
  let closeFetch: (() => void) | undefined;
  try {
    if (options.fetch !== undefined) send = options.fetch;
    else if (options.caFile !== undefined) {
      const ca = createCaFetch(await readFile(options.caFile, 'utf8'));
      send = ca.fetch;
      closeFetch = ca.close;
    } else send = fetch;
    if (auth.type === 'sigv4' && signer === undefined) {
      signer = await createSigV4Signer({
        region: auth.region,
        ...(auth.service === undefined ? {} : { service: auth.service }),
        ...(auth.credentials === undefined ? {} : { credentials: auth.credentials }),
      });
    }
  } catch (error) {
    closeFetch?.();
    for (const batch of batches) report.samplesRejected += batch.samples;
    fail(`remote-write setup failed: ${error instanceof Error ? error.message : String(error)}`);
    report.durationMs = Date.now() - started;
    return report;
  }

  const deadline = new AbortController();
  const untilDeadline = options.deadlineMs - Date.now();
  const deadlineTimer = setTimeout(
    () => deadline.abort(new Error('deadline reached')),
    Math.max(0, untilDeadline),
  );
  const timeoutMs = options.timeoutMs ?? REMOTE_WRITE_DEFAULTS.timeoutMs;
  const maxAttempts = Math.max(1, options.maxAttempts ?? REMOTE_WRITE_DEFAULTS.maxAttempts);
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;

  const sendBatch = async (batch: CompressedRequest, index: number): Promise<void> => {
    const samples = batch.samples;
    const label = `request ${index + 1}/${batches.length} (${batch.series} series, ${samples} samples) to ${redactor.apply(endpoint.url)}`;
    const body = batch.body;
    let lastProblem = 'not attempted';
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const remaining = options.deadlineMs - Date.now();
      if (remaining <= 0 || deadline.signal.aborted) {
        lastProblem = `deadline reached before attempt ${attempt} (last: ${lastProblem})`;
        break;
      }
      let delay: number;
      try {
        // The whole attempt (signing, the request, reading the answer) is bounded by this signal.
        const signal = AbortSignal.any([
          deadline.signal,
          AbortSignal.timeout(Math.min(timeoutMs, remaining)),
        ]);
        // A fresh copy per attempt: fetch may detach the buffer it is given, and every retry must
        // send (and sign) the very same bytes.
        const payload = body.slice();
        const headers =
          signer === undefined
            ? baseHeaders
            : await untilAborted(
                signer({ url: new URL(endpoint.url), method: 'POST', headers: baseHeaders, body: payload }),
                signal,
              );
        report.attempts++;
        report.bytesSent += payload.length;
        const pending = send(endpoint.url, {
          method: 'POST',
          headers,
          body: payload,
          signal,
          redirect: 'manual',
        });
        const response = await untilAborted(pending, signal).catch((error: unknown) => {
          // A fetch that ignored the signal may still answer: release that body instead of a socket.
          pending.then((late) => late.body?.cancel()).catch(() => undefined);
          throw error;
        });
        report.lastStatus = response.status;
        // Drained (up to a limit) even on success, so a keep-alive connection can be reused.
        const text = await readBody(response, signal, 4096);
        const redirect = redirectProblem(response, endpoint.url);
        if (redirect === undefined && response.status >= 200 && response.status < 300) {
          report.seriesSent += batch.series;
          report.samplesSent += samples;
          return;
        }
        const head = snippet(text);
        lastProblem = redirect ?? `HTTP ${response.status}${head === '' ? '' : `: ${head}`}`;
        if (redirect !== undefined || (response.status !== 429 && response.status < 500)) {
          report.samplesRejected += samples;
          fail(`${label}: rejected, not retried: ${lastProblem}`);
          return;
        }
        const retryAfter =
          response.status === 429 || response.status === 503
            ? parseRetryAfter(response.headers.get('retry-after'), Date.now())
            : undefined;
        delay = retryAfter ?? backoffMs(attempt, random);
      } catch (error) {
        const timedOut = error instanceof Error && error.name === 'TimeoutError';
        // When the deadline clipped the attempt timeout, the two timers race: either means the deadline.
        if (deadline.signal.aborted || (timedOut && remaining < timeoutMs)) {
          lastProblem = `aborted at the deadline during attempt ${attempt}`;
          break;
        }
        if (timedOut) {
          lastProblem = `attempt timed out after ${Math.min(timeoutMs, remaining)} ms`;
        } else if (error instanceof Error && error.name === 'SigV4CredentialsError') {
          lastProblem = error.message;
          break;
        } else {
          lastProblem = `network error: ${describeNetworkError(error)}`;
        }
        delay = backoffMs(attempt, random);
      }
      if (attempt === maxAttempts) {
        lastProblem = `gave up after ${attempt} attempts: ${lastProblem}`;
        break;
      }
      if (Date.now() + delay >= options.deadlineMs) {
        lastProblem = `a ${delay} ms wait before attempt ${attempt + 1} would cross the deadline (last: ${lastProblem})`;
        break;
      }
      await sleep(delay);
    }
    report.samplesRejected += samples;
    fail(`${label}: ${lastProblem}`);
  };

  try {
    let next = 0;
    const workers = Math.min(
      batches.length,
      Math.max(1, options.concurrency ?? REMOTE_WRITE_DEFAULTS.concurrency),
    );
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (next < batches.length) {
          const index = next++;
          const batch = batches[index];
          if (batch !== undefined) await sendBatch(batch, index);
        }
      }),
    );
  } finally {
    clearTimeout(deadlineTimer);
    closeFetch?.();
  }
  report.durationMs = Date.now() - started;
  return report;
}
