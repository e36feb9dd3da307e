import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_ID_ENV, runId, tmpPrefix } from './processes.ts';

const processesModule = fileURLToPath(new URL('./processes.ts', import.meta.url));

function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

interface Outcome {
  code: number | null;
  serverPid: number;
  dir: string;
}

/** Runs a node process that starts a tracked `sleep` and a tmp root, then ends as `ending` says. */
async function runOwner(scriptDir: string, ending: 'exit' | 'sigterm'): Promise<Outcome> {
  const script = join(scriptDir, `owner-${ending}.mts`);
  await writeFile(
    script,
    [
      `import { spawn } from 'node:child_process';`,
      `import { makeTmpRoot, trackChild } from ${JSON.stringify(processesModule)};`,
      `const server = spawn('sleep', ['300'], { stdio: 'ignore' });`,
      `trackChild(server, 'SIGTERM');`,
      `const dir = await makeTmpRoot('proctest');`,
      `console.log(JSON.stringify({ serverPid: server.pid, dir }));`,
      ending === 'exit' ? 'process.exit(3);' : 'setInterval(() => undefined, 1000);',
      '',
    ].join('\n'),
  );
  const owner = spawn(process.execPath, ['--import', 'tsx', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    owner.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0] ?? '');
    });
    owner.once('exit', () => reject(new Error(`owner exited before reporting: ${out}`)));
  });
  const started = JSON.parse(line) as { serverPid: number; dir: string };
  const exited = new Promise<number | null>((resolve) => owner.once('exit', (code) => resolve(code)));
  if (ending === 'sigterm') owner.kill('SIGTERM');
  return { code: await exited, ...started };
}

describe('process tracking', () => {
  let scriptDir: string;

  beforeAll(async () => {
    scriptDir = await mkdtemp(join(tmpdir(), 'pgotel-proctest-scripts-'));
  });

  afterAll(async () => {
    await rm(scriptDir, { recursive: true, force: true });
  });

  it('stops tracked servers and removes tmp roots when the owner exits', async () => {
    // Act
    const outcome = await runOwner(scriptDir, 'exit');

    // Assess
    expect(outcome.code).toBe(3);
    expect(isRunning(outcome.serverPid)).toBe(false);
    expect(existsSync(outcome.dir)).toBe(false);
  });

  it('stops tracked servers when the owner is terminated, as vitest does with its workers', async () => {
    // Act
    const outcome = await runOwner(scriptDir, 'sigterm');

    // Assess
    expect(outcome.code).toBe(143);
    expect(isRunning(outcome.serverPid)).toBe(false);
    expect(existsSync(outcome.dir)).toBe(false);
  });

  it('names tmp folders after the run set up by the global setup', () => {
    // Assess
    expect(process.env[RUN_ID_ENV]).toMatch(/^[0-9a-f]{12}$/);
    expect(runId()).toBe(process.env[RUN_ID_ENV]);
    expect(tmpPrefix('pg')).toBe(join(tmpdir(), `pgotel-pg-${runId()}-`));
  });
});
