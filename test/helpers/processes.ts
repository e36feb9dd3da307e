import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { chmod, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Environment variable naming one test run. The vitest global setup sets it, every worker and every server
 * the helpers start inherit it, and the global teardown uses it to find what a crashed worker left behind
 * (see `test/helpers/global-setup.ts`).
 */
export const RUN_ID_ENV = 'PGOTEL_TEST_RUN_ID';

/** The current run's id, or a per-process one when the helpers are used outside vitest. */
export function runId(): string {
  const fromEnv = process.env[RUN_ID_ENV];
  return fromEnv !== undefined && /^[a-z0-9]+$/.test(fromEnv) ? fromEnv : `p${process.pid}`;
}

/**
 * Where the helpers put their temporary folders: `os.tmpdir()`, unless others cannot traverse it (a private
 * TMPDIR), because the PostgreSQL server runs as another OS user and must reach its data directory.
 */
export function baseTmpDir(): string {
  const dir = tmpdir();
  try {
    return (statSync(dir).mode & 0o001) !== 0 ? dir : '/tmp';
  } catch {
    return '/tmp';
  }
}

/** Prefix of every temporary folder the helpers create for `kind` in this run. */
export function tmpPrefix(kind: string): string {
  return join(baseTmpDir(), `pgotel-${kind}-${runId()}-`);
}

interface Tracked {
  readonly child: ChildProcess;
  /** Signal that makes the server exit quickly: nobody will look at its data afterwards. */
  readonly exitSignal: NodeJS.Signals;
}

const children = new Set<Tracked>();
const dirs = new Set<string>();
let hooksInstalled = false;

function isGone(pid: number): boolean {
  try {
    // A child that exited but was not reaped yet (node reaps asynchronously) is a zombie: gone for us.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^\d+ \(.*\) Z/s.test(stat);
  } catch {
    return true;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Synchronous so it also works from an `exit` handler, where promises never settle. */
function cleanUpSync(): void {
  const pids: number[] = [];
  for (const { child, exitSignal } of children) {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
    try {
      process.kill(child.pid, exitSignal);
      pids.push(child.pid);
    } catch {
      // already gone
    }
  }
  children.clear();
  const deadline = Date.now() + 5_000;
  while (pids.some((pid) => !isGone(pid)) && Date.now() < deadline) sleepSync(50);
  for (const pid of pids) {
    if (!isGone(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanUpSync);
  // Vitest stops its fork workers with SIGTERM, and a signal ends node without running `exit` handlers
  // unless someone listens for it.
  const signals: Array<[NodeJS.Signals, number]> = [
    ['SIGTERM', 15],
    ['SIGINT', 2],
    ['SIGHUP', 1],
  ];
  for (const [signal, number] of signals) {
    process.once(signal, () => {
      cleanUpSync();
      process.exit(128 + number);
    });
  }
}

/**
 * Registers a server process so that it is stopped (with `exitSignal`) if this process exits or is
 * terminated before the test stops it. Returns the function that unregisters it.
 */
export function trackChild(child: ChildProcess, exitSignal: NodeJS.Signals): () => void {
  installHooks();
  const entry: Tracked = { child, exitSignal };
  children.add(entry);
  return () => {
    children.delete(entry);
  };
}

/**
 * Creates a temporary folder for `kind` (mode 0755 so the `postgres` OS user can traverse it), removed when
 * this process exits unless `release` was called for it first.
 */
export async function makeTmpRoot(kind: string): Promise<string> {
  installHooks();
  const dir = await mkdtemp(tmpPrefix(kind));
  await chmod(dir, 0o755);
  dirs.add(dir);
  return dir;
}

/** Removes a folder from the exit clean-up list (the caller removed it, or wants to keep it). */
export function releaseTmpRoot(dir: string): void {
  dirs.delete(dir);
}

/**
 * Sends `signal` and waits for the process to exit; SIGKILL after `timeoutMs`. Resolves at once when the
 * process already exited.
 */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals, timeoutMs = 30_000): Promise<void> {
  // No pid: the spawn itself failed, there is nothing to wait for.
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/** The last `lines` lines of a log file, or an empty string when it cannot be read. */
export async function tailFile(file: string, lines = 50): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Process ids of every descendant of `pid`, from /proc. */
export function descendantPids(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited meanwhile
    }
  }
  const found: number[] = [];
  const queue = [pid];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const child of children.get(next) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}
