import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.ts';
import { delay, makeTmpRoot, releaseTmpRoot, stopChild, tailFile, trackChild } from './processes.ts';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const READY_TIMEOUT_MS = 60_000;

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function findTool(name: 'prometheus' | 'promtool'): string {
  const fromEnv = process.env.PROMETHEUS_BIN;
  if (fromEnv !== undefined && fromEnv !== '') {
    // promtool is shipped next to prometheus in every distribution of it.
    const file = name === 'prometheus' ? fromEnv : join(resolve(fromEnv, '..'), 'promtool');
    if (isExecutable(file)) return file;
    throw new Error(`${name} not found at ${file} (derived from PROMETHEUS_BIN=${fromEnv})`);
  }
  const local = join(REPO_ROOT, '.tools', 'prometheus', 'usr', 'bin', name);
  if (isExecutable(local)) return local;
  const found = onPath(name);
  if (found !== undefined) return found;
  throw new Error(`${name} not found: run \`npm run setup\` (or set PROMETHEUS_BIN)`);
}

/** The prometheus binary: `$PROMETHEUS_BIN`, else `.tools/prometheus/usr/bin/prometheus`, else PATH. */
export function prometheusPath(): string {
  return findTool('prometheus');
}

/** The promtool binary, found like prometheus (next to `$PROMETHEUS_BIN`, in `.tools`, or on PATH). */
export function promtoolPath(): string {
  return findTool('promtool');
}

/** One series of an instant query. */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
  timestampSec: number;
}

/** One series of a range query; `values` are `[timestampSec, value]`. */
export interface PromRangeSeries {
  metric: Record<string, string>;
  values: Array<[number, number]>;
}

/** A throwaway Prometheus server with the remote-write receiver enabled and no scrape jobs. */
export interface PromInstance {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `${url}/api/v1/write` */
  readonly writeUrl: string;
  readonly port: number;
  readonly dataDir: string;
  /** The server's log, useful when a test fails. */
  readonly logFile: string;
  /** Instant query (at `timeSec`, default now). Throws on an API error. A scalar result is one sample with no labels. */
  query(promql: string, timeSec?: number): Promise<PromSample[]>;
  /**
   * Every stored sample of the series `selector` matches with a timestamp in (`endSec` − `seconds`, `endSec`]: the
   * raw data (an instant query of a range selector), not the evaluated steps of a range query.
   */
  rawSamples(selector: string, seconds: number, endSec: number): Promise<PromRangeSeries[]>;
  /** Range query. Throws on an API error. */
  queryRange(promql: string, startSec: number, endSec: number, stepSec: number): Promise<PromRangeSeries[]>;
  /** Number of series matching `match` over the last hour. @default '{__name__=~".+"}' */
  seriesCount(match?: string): Promise<number>;
  /** Stops the server; keeps its data directory and port. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops the server and removes its files. */
  destroy(): Promise<void>;
}

/** Prometheus encodes sample values as strings, including `NaN`, `+Inf` and `-Inf`. */
function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

interface ApiResponse {
  status: 'success' | 'error';
  data?: unknown;
  errorType?: string;
  error?: string;
}

type RawPoint = [number, string];
interface RawVectorEntry {
  metric: Record<string, string>;
  value: RawPoint;
}
interface RawMatrixEntry {
  metric: Record<string, string>;
  values: RawPoint[];
}
interface QueryData {
  resultType: 'vector' | 'matrix' | 'scalar' | 'string';
  result: unknown;
}

class PrometheusServer implements PromInstance {
  readonly url: string;
  readonly writeUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly #root: string;
  readonly #configFile: string;
  readonly #extraFlags: readonly string[];
  #port: number;
  #child: ChildProcess | undefined;
  #untrack: (() => void) | undefined;

  constructor(root: string, port: number, extraFlags: readonly string[]) {
    this.#root = root;
    this.#port = port;
    this.#extraFlags = extraFlags;
    this.dataDir = join(root, 'data');
    this.logFile = join(root, 'prometheus.log');
    this.#configFile = join(root, 'prometheus.yml');
    this.url = `http://127.0.0.1:${port}`;
    this.writeUrl = `${this.url}/api/v1/write`;
  }

  get port(): number {
    return this.#port;
  }

  async init(): Promise<void> {
    await mkdir(this.dataDir);
    await writeFile(this.#configFile, 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
  }

  async #api(path: string, params: Record<string, string>): Promise<unknown> {
    const response = await fetch(`${this.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    let body: ApiResponse;
    try {
      body = JSON.parse(text) as ApiResponse;
    } catch {
      throw new Error(`Prometheus ${path}: HTTP ${response.status}: ${text.slice(0, 500)}`);
    }
    if (body.status !== 'success') {
      throw new Error(
        `Prometheus ${path} ${JSON.stringify(params)}: ${body.errorType ?? 'error'}: ${body.error ?? text}`,
      );
    }
    return body.data;
  }

  async query(promql: string, timeSec?: number): Promise<PromSample[]> {
    const params: Record<string, string> = { query: promql };
    if (timeSec !== undefined) params.time = String(timeSec);
    const data = (await this.#api('/api/v1/query', params)) as QueryData;
    if (data.resultType === 'scalar') {
      const [ts, value] = data.result as RawPoint;
      return [{ metric: {}, value: parseValue(value), timestampSec: ts }];
    }
    if (data.resultType !== 'vector')
      throw new Error(`query ${promql}: unexpected result type ${data.resultType}`);
    return (data.result as RawVectorEntry[]).map(({ metric, value }) => ({
      metric,
      value: parseValue(value[1]),
      timestampSec: value[0],
    }));
  }

  async rawSamples(selector: string, seconds: number, endSec: number): Promise<PromRangeSeries[]> {
    const promql = `${selector}[${Math.ceil(seconds)}s]`;
    const data = (await this.#api('/api/v1/query', { query: promql, time: String(endSec) })) as QueryData;
    if (data.resultType !== 'matrix')
      throw new Error(`query ${promql}: unexpected result type ${data.resultType}`);
    return (data.result as RawMatrixEntry[]).map(({ metric, values }) => ({
      metric,
      values: values.map(([ts, value]): [number, number] => [ts, parseValue(value)]),
    }));
  }

  async queryRange(
    promql: string,
    startSec: number,
    endSec: number,
    stepSec: number,
  ): Promise<PromRangeSeries[]> {
    const data = (await this.#api('/api/v1/query_range', {
      query: promql,
      start: String(startSec),
      end: String(endSec),
      step: String(stepSec),
    })) as QueryData;
    if (data.resultType !== 'matrix')
      throw new Error(`query_range ${promql}: unexpected result type ${data.resultType}`);
    return (data.result as RawMatrixEntry[]).map(({ metric, values }) => ({
      metric,
      values: values.map(([ts, value]): [number, number] => [ts, parseValue(value)]),
    }));
  }

  async seriesCount(match = '{__name__=~".+"}'): Promise<number> {
    const now = Date.now() / 1000;
    const data = await this.#api('/api/v1/series', {
      'match[]': match,
      start: String(now - 3600),
      end: String(now + 60),
    });
    return (data as unknown[]).length;
  }

  async start(): Promise<void> {
    if (this.#child !== undefined) return;
    const fd = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(
        prometheusPath(),
        [
          `--config.file=${this.#configFile}`,
          `--storage.tsdb.path=${this.dataDir}`,
          '--storage.tsdb.retention.time=1d',
          `--web.listen-address=127.0.0.1:${this.#port}`,
          '--web.enable-remote-write-receiver',
          ...this.#extraFlags,
        ],
        { stdio: ['ignore', fd, fd] },
      );
    } finally {
      closeSync(fd);
    }
    this.#child = child;
    // Without an 'error' listener a failed spawn would crash the worker; the exit check below reports it.
    child.once('error', () => undefined);
    this.#untrack = trackChild(child, 'SIGKILL');
    child.once('exit', () => {
      if (this.#child === child) this.#forget();
    });
    try {
      await this.#waitReady(child);
    } catch (error) {
      await stopChild(child, 'SIGKILL');
      this.#forget();
      throw error;
    }
  }

  async #waitReady(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
        throw new PromStartError(
          `prometheus on port ${this.#port} exited during startup:\n${await tailFile(this.logFile)}`,
          /address already in use/i.test(await tailFile(this.logFile)),
        );
      }
      try {
        const response = await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(2_000) });
        await response.arrayBuffer();
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        throw new PromStartError(
          `prometheus on port ${this.#port} not ready after ${READY_TIMEOUT_MS / 1000}s:\n${await tailFile(this.logFile)}`,
          false,
        );
      }
      await delay(100);
    }
  }

  #forget(): void {
    this.#untrack?.();
    this.#untrack = undefined;
    this.#child = undefined;
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    // SIGTERM lets Prometheus close the TSDB cleanly, so the restarted server still has the samples.
    await stopChild(child, 'SIGTERM', 30_000);
    this.#forget();
  }

  async destroy(): Promise<void> {
    const child = this.#child;
    if (child !== undefined) {
      await stopChild(child, 'SIGKILL', 10_000);
      this.#forget();
    }
    await rm(this.#root, { recursive: true, force: true });
    releaseTmpRoot(this.#root);
  }
}

class PromStartError extends Error {
  override readonly name = 'PromStartError';
  constructor(
    message: string,
    readonly bindFailure: boolean,
  ) {
    super(message);
  }
}

/**
 * Starts a throwaway Prometheus on 127.0.0.1 and a free port, with a temporary TSDB, 1 day retention, the
 * remote-write receiver on and no scrape jobs, and waits until `/-/ready` answers. Prometheus rejects
 * remote-written samples older than about an hour (out of bounds). `extraFlags` are appended to the command line.
 */
export async function startPrometheus(options: { extraFlags?: string[] } = {}): Promise<PromInstance> {
  prometheusPath();
  for (let attempt = 1; ; attempt++) {
    const root = await makeTmpRoot('prom');
    const server = new PrometheusServer(root, await freePort(), options.extraFlags ?? []);
    try {
      await server.init();
      await server.start();
      return server;
    } catch (error) {
      await server.destroy();
      // Another process took the port between freePort() and the bind: try a new one.
      if (!(error instanceof PromStartError && error.bindFailure && attempt < 5)) throw error;
    }
  }
}

/** Runs `promtool check metrics` with `text` on stdin; returns its exit code and combined output. */
export function promtoolCheckMetrics(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveCheck, reject) => {
    const child = spawn(promtoolPath(), ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('error', reject);
    child.once('close', (code) => resolveCheck({ code, output }));
    child.stdin.end(text);
  });
}
