import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../shared/config/load.ts';
import { DsnError } from '../shared/db/connection.ts';
import { toPrometheusText } from '../shared/export/prom-text.ts';
import { type CollectCommandOptions, parseTiers, planCollection, runCollect, UsageError } from './collect.ts';
import { formatTable } from './format-table.ts';

/** Exit codes: 0 ok, 1 usage or config error, 2 target unreachable (up = 0). */
export const EXIT = { ok: 0, usage: 1, down: 2 } as const;

interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

const defaultIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
};

async function collectCommand(options: CollectCommandOptions, io: Io): Promise<number> {
  const tiers = parseTiers(options.tier);
  const log = (line: string) => io.stderr(`pgotel: ${line}\n`);
  const plan = await planCollection(options, io.env, log);
  try {
    const result = await runCollect(plan, tiers);
    if (options.format === 'json') io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    else if (options.format === 'prom')
      for (const { batch } of result.batches) io.stdout(toPrometheusText(batch));
    else io.stdout(formatTable(result));
    if (result.up === 0) {
      io.stderr(`pgotel: target ${result.target} is down: ${result.error ?? 'unknown error'}\n`);
      return EXIT.down;
    }
    const failed = result.queries.filter((q) => q.status === 'error');
    if (failed.length > 0) log(`${failed.length} queries failed: ${failed.map((q) => q.query).join(', ')}`);
    return EXIT.ok;
  } finally {
    await plan.cleanup();
  }
}

/** Builds the `pgotel` command tree; `io` is injectable for tests. */
export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('pgotel')
    .description(
      'Serverless PostgreSQL monitoring collector: tiered SQL metrics to Prometheus and an OTLP archive.',
    )
    .version('0.1.0')
    .showHelpAfterError()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();

  program
    .command('collect')
    .description(
      'Collect once and print the metrics. With no --dsn, DATABASE_URL or --config, starts an embedded PostgreSQL with a small workload.',
    )
    .option(
      '--dsn <url>',
      'postgres://user:password@host:5432/db?sslmode=verify-full&sslrootcert=ca.pem (default: $DATABASE_URL)',
    )
    .option('--config <file>', 'pgotel.config.yaml to read targets, custom queries and limits from')
    .option('--target <name>', 'target name in the config (default: the first)')
    .option('--tier <tiers>', 'comma-separated tiers: critical,standard,historical or all', 'all')
    .addOption(
      new Option('--format <format>', 'output format').choices(['table', 'json', 'prom']).default('table'),
    )
    .addHelpText(
      'after',
      `
Examples:
  pgotel collect                                   # embedded PostgreSQL with a demo workload
  pgotel collect --dsn postgres://monitor@db:5432/postgres --tier critical
  pgotel collect --config pgotel.config.yaml --target orders-primary --format prom`,
    )
    .action(async (options: CollectCommandOptions) => setExit(await collectCommand(options, io)));
  return program;
}

/** Runs the CLI and returns the exit code. Errors are printed as one line, never with a stack or a password. */
export async function main(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error instanceof ConfigError || error instanceof UsageError || error instanceof DsnError) {
      io.stderr(`pgotel: ${error.message}\n`);
      return EXIT.usage;
    }
    io.stderr(`pgotel: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.usage;
  }
}
