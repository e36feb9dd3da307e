import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

/** The repository root. */
export const REPO = resolve(import.meta.dirname, '..', '..');
const BIN = join(REPO, 'bin', 'pgotel.js');

/** Outcome of one CLI run. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `node bin/pgotel.js ...args` from the repository root as a user would, without our DATABASE_URL,
 * killing it after `timeoutMs`. `extraEnv` is added to the environment; `stdin`, when given, is written to its
 * standard input (a pipe, closed right after).
 */
export function pgotel(
  args: readonly string[],
  timeoutMs = 60_000,
  extraEnv: NodeJS.ProcessEnv = {},
  stdin?: string,
): Promise<CliRun> {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  const env = { ...inherited, ...extraEnv };
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: REPO,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    // No input: stdin is closed at once, so a command that reads it sees end-of-file, as with </dev/null.
    child.stdin.end(stdin ?? '');
  });
}

/** The options a command's `--help` lists (`--from <time>`, `-h, --help`), in order. */
export function helpOptions(help: string): string[] {
  return help
    .split('\n')
    .filter((line) => /^ {2}-/.test(line))
    .map((line) => line.trim().split(/\s{2,}/)[0] ?? '');
}
