import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { baseTmpDir, RUN_ID_ENV } from './processes.ts';

let runId = '';

/**
 * Gives the run an id that workers and every server they start inherit through the environment, so
 * teardown can find servers a crashed or killed worker could not stop.
 */
export function setup(): void {
  runId = randomBytes(6).toString('hex');
  process.env[RUN_ID_ENV] = runId;
}

interface Proc {
  readonly pid: number;
  readonly ppid: number;
}

function leftoverServers(): Proc[] {
  const marker = `\0${RUN_ID_ENV}=${runId}\0`;
  const found: Proc[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = `\0${readFileSync(`/proc/${entry}/environ`, 'latin1')}`;
      if (!environ.includes(marker)) continue;
      // Vitest workers carry the id too; they are vitest's to stop, not ours.
      if (basename(readlinkSync(`/proc/${entry}/exe`)).startsWith('node')) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      found.push({ pid: Number(entry), ppid: Number(fields[1]) });
    } catch {
      // exited meanwhile, or not readable: not one of ours
    }
  }
  return found;
}

function signal(pids: readonly number[], name: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  }
}

/** Stops servers of this run that are still running and removes this run's temporary folders. */
export async function teardown(): Promise<void> {
  if (runId === '') return;
  const leftovers = leftoverServers();
  if (leftovers.length > 0) {
    const pids = new Set(leftovers.map((p) => p.pid));
    const roots = leftovers.filter((p) => !pids.has(p.ppid)).map((p) => p.pid);
    console.warn(`global teardown: stopping ${roots.length} server process(es) left running by tests`);
    signal(roots, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (leftoverServers().length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    signal(
      leftoverServers().map((p) => p.pid),
      'SIGKILL',
    );
  }
  const base = baseTmpDir();
  for (const entry of readdirSync(base)) {
    if (/^pgotel-[a-z]+-/.test(entry) && entry.includes(`-${runId}-`)) {
      rmSync(join(base, entry), { recursive: true, force: true });
    }
  }
}
