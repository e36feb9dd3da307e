import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CollectResult } from '../../shared/collect/collect.ts';
import { helpOptions, pgotel } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { type PgInstance, startPostgres } from '../helpers/postgres.ts';
import { makeTmpRoot } from '../helpers/processes.ts';
import { promtoolCheckMetrics } from '../helpers/prometheus.ts';

const execFileAsync = promisify(execFile);

/** Processes whose command line contains `text` (pgrep -f), as "pid command" lines. */
async function processesMatching(text: string): Promise<string[]> {
  try {
    const { stdout } = await execFileAsync('pgrep', ['-af', '--', text]);
    return stdout
      .trim()
      .split('\n')
      .filter((line) => line !== '' && !line.includes('pgrep'));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe('pgotel collect (child process)', () => {
  it('--help lists every option', async () => {
    // Act
    const run = await pgotel(['collect', '--help']);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const options = helpOptions(run.stdout);
    expect(options).toEqual([
      '--dsn <url>',
      '--config <file>',
      '--target <name>',
      '--tier <tiers>',
      '--format <format>',
      '--remote-write <url>',
      '--archive <url>',
      '--out <dir>',
      '--compression <mode>',
      '-h, --help',
    ]);
  });

  it('an unreachable DSN exits 2 with up 0 on stdout and one stderr line naming host:port, never the password', async () => {
    // Prepare
    const port = await freePort();
    const password = 'Cli-S3cret-Pw';

    // Act
    const run = await pgotel([
      'collect',
      '--dsn',
      `postgres://mon:${password}@127.0.0.1:${port}/postgres`,
      '--format',
      'prom',
    ]);

    // Assess
    expect(run.code).toBe(2);
    const upLines = run.stdout.split('\n').filter((line) => line.startsWith('up{') || line.startsWith('up '));
    expect(upLines).toHaveLength(1);
    expect(upLines[0]?.split(' ').at(-1)).toBe('0');
    expect(run.stderr).toBe(
      `pgotel: target local is down: cannot connect to 127.0.0.1:${port} (database "postgres", user "mon"): connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
    expect(run.stdout + run.stderr).not.toContain(password);
  });

  it('a config file with a bad field exits 1 naming the field', async () => {
    // Prepare
    const dir = await makeTmpRoot('cli');
    const file = join(dir, 'pgotel.config.yaml');
    await writeFile(
      file,
      [
        'targets:',
        '  - name: orders',
        '    dsn: postgres://mon:Config-Pw-777@127.0.0.1:5432/postgres',
        '    tiers:',
        '      critical:',
        '        statement_timeout_ms: -5',
        '    max_conections: 3',
        '',
      ].join('\n'),
    );

    // Act
    const run = await pgotel(['collect', '--config', file]);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`pgotel: invalid config ${file}:`);
    expect(lines.slice(1).sort()).toEqual([
      '  targets[0].tiers.critical.statement_timeout_ms: Too small: expected number to be >0',
      '  targets[0]: unknown field "max_conections"',
    ]);
    expect(run.stderr).not.toContain('Config-Pw-777');
  });

  describe('against a real server', () => {
    let server: PgInstance;
    beforeAll(async () => {
      server = await startPostgres();
    });
    afterAll(async () => {
      await server?.destroy();
    });

    it('--format json exits 0 with up 1 and no failed query', async () => {
      // Act
      const run = await pgotel(['collect', '--dsn', server.dsn(), '--format', 'json']);

      // Assess
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const result = JSON.parse(run.stdout) as CollectResult;
      expect(result.up).toBe(1);
      expect(result.target).toBe('local');
      expect(result.queries.filter((q) => q.status === 'error')).toEqual([]);
      expect(result.queries.filter((q) => q.status === 'ok').length).toBeGreaterThan(20);
      expect(result.batches.map((b) => b.tier)).toEqual(['critical', 'standard', 'historical']);
      expect(run.stdout).not.toContain(server.password);
    });

    it('--format prom passes promtool check metrics', async () => {
      // Act
      const run = await pgotel(['collect', '--dsn', server.dsn(), '--format', 'prom']);
      const check = await promtoolCheckMetrics(run.stdout);

      // Assess
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      expect(check).toEqual({ code: 0, output: '' });
      expect(run.stdout.split('\n').filter((line) => line.startsWith('up{'))).toHaveLength(1);
      expect(run.stdout).toMatch(/^up\{[^}]*instance="local"[^}]*\} 1$/m);
    });

    it('--tier critical runs only the critical tier', async () => {
      const run = await pgotel(['collect', '--dsn', server.dsn(), '--format', 'json', '--tier', 'critical']);

      expect(run.code).toBe(0);
      const result = JSON.parse(run.stdout) as CollectResult;
      expect(result.batches.map((b) => b.tier)).toEqual(['critical']);
      expect([...new Set(result.queries.map((q) => q.tier))]).toEqual(['critical']);
    });
  });

  it('with no arguments runs the embedded demo: table with sizes, dead rows, a lock wait, and no server left behind', {
    timeout: 180_000,
  }, async () => {
    // Act
    const run = await pgotel(['collect'], 170_000);

    // Assess
    expect(run.stderr).not.toMatch(/did not start|failed/);
    expect(run.code).toBe(0);
    const dataDir = /\(data in ([^)]+)\)/.exec(run.stderr)?.[1];
    expect(dataDir).toMatch(/pgotel-demo-/);
    const rows = run.stdout.split('\n').map((line) => line.trim().split(/\s{2,}/));
    const row = (metric: string, ...labels: string[]) =>
      rows.filter((r) => r[0] === metric && labels.every((l) => (r[1] ?? '').split(' ').includes(l)));
    expect(row('postgresql.database.size', 'database_name=shop')).toHaveLength(1);
    const dead = row(
      'postgresql.table.dead_rows',
      'database_name=shop',
      'schema_name=public',
      'table_name=orders',
    );
    expect(dead).toHaveLength(1);
    expect(Number((dead[0]?.[2] ?? '').replaceAll(',', ''))).toBeGreaterThanOrEqual(2000);
    const waiting = row('postgresql.connections.waiting', 'database_name=shop', 'wait_event_type=Lock');
    expect(waiting.length).toBeGreaterThanOrEqual(1);
    expect(Number(waiting[0]?.[2])).toBeGreaterThanOrEqual(1);
    expect(run.stdout).toMatch(/^queries: \d+ ok, \d+ skipped, 0 failed$/m);
    // The embedded server is gone and its files removed.
    expect(await processesMatching(dataDir ?? 'pgotel-demo-never')).toEqual([]);
    expect(existsSync(dataDir ?? '/')).toBe(false);
  });
});
