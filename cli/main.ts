import { Command, CommanderError, Option } from 'commander';
import { ConfigError, loadConfig } from '../shared/config/load.ts';
import {
  DEFAULT_CONNECTION_LIMIT,
  DEFAULT_HBA_ADDRESS,
  DEFAULT_ROLE,
} from '../shared/doctor/monitoring-role.ts';
import { toPrometheusText } from '../shared/export/prom-text.ts';
import { runCollection } from '../shared/run/run-collection.ts';
import { MemoryCardinalityStore } from '../shared/state/memory.ts';
import { type CollectCommandOptions, parseTiers, planCollection } from './collect.ts';
import { buildDestinations, type DestinationFlags } from './destinations.ts';
import { type DoctorFlags, doctor } from './doctor.ts';
import { formatExportSummary } from './format-export.ts';
import { formatTable } from './format-table.ts';
import { formatSummary, type InvokeFlags, invokeCollector } from './invoke.ts';
import { printable, printableLines } from './printable.ts';
import { parseTime, runReplay } from './replay.ts';
import { type SetupUserFlags, setupUser } from './setup-user.ts';

/**
 * Exit codes: 0 ok, 1 usage or config error, 2 target unreachable (up = 0), 3 an export failed, 4 a `doctor`
 * check failed (something blocks collection or makes queries fail).
 */
export const EXIT = { ok: 0, usage: 1, down: 2, exportFailed: 3, checkFailed: 4 } as const;

interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Where `setup-user` reads a password (`--password-stdin`, the prompt). @default process.stdin */
  readonly stdin?: NodeJS.ReadStream;
}

/** Writes text meant for people (a table, a summary, help) to stdout, control characters escaped. */
function human(io: Io, text: string): void {
  io.stdout(printableLines(text));
}

const defaultIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
};

async function collectCommand(options: CollectCommandOptions & DestinationFlags, io: Io): Promise<number> {
  const tiers = parseTiers(options.tier);
  const log = (line: string) => io.stderr(`pgotel: ${printable(line)}\n`);
  const local = await planCollection(options, io.env, log);
  try {
    const opened = await buildDestinations(options, local.config, io.env);
    try {
      const scheduledAtMs = Date.now();
      const { result, exported } = await runCollection(
        local.plan,
        { tiers, scheduledAtMs, deadlineMs: scheduledAtMs + 60_000, ignoreIntervals: true },
        {
          connection: local.connection,
          destinations: opened.destinations,
          ...(local.plan.cardinality === undefined ? {} : { cardinality: new MemoryCardinalityStore() }),
        },
      );
      if (options.format === 'json')
        io.stdout(
          `${JSON.stringify(exported === undefined ? result : { ...result, export: exported }, null, 2)}\n`,
        );
      else if (options.format === 'prom')
        for (const { batch } of result.batches) io.stdout(toPrometheusText(batch));
      else human(io, formatTable(result));
      if (exported !== undefined) {
        const text = formatExportSummary(exported);
        if (options.format === 'table') human(io, `\n${text}`);
        else io.stderr(text);
      }
      if (result.up === 0) {
        log(`target ${result.target} is down: ${result.error ?? 'unknown error'}`);
        return EXIT.down;
      }
      const failed = result.queries.filter((q) => q.status === 'error');
      if (failed.length > 0) log(`${failed.length} queries failed: ${failed.map((q) => q.query).join(', ')}`);
      if (exported?.remoteWrite?.ok === false || exported?.archive?.ok === false) return EXIT.exportFailed;
      return EXIT.ok;
    } finally {
      opened.close();
    }
  } finally {
    await local.cleanup();
  }
}

interface ReplayFlags extends DestinationFlags {
  readonly from: string;
  readonly to: string;
  readonly target?: string;
  readonly checkpoint?: string;
  readonly config?: string;
}

async function replayCommand(flags: ReplayFlags, io: Io): Promise<number> {
  const now = Date.now();
  const config = flags.config === undefined ? undefined : await loadConfig(flags.config);
  const opened = await buildDestinations(flags, config, io.env);
  const log = (line: string) => io.stderr(`pgotel: ${printable(line)}\n`);
  const report = await runReplay({
    fromMs: parseTime(flags.from, '--from', now),
    toMs: parseTime(flags.to, '--to', now),
    ...(flags.target === undefined ? {} : { target: flags.target }),
    ...(flags.checkpoint === undefined ? {} : { checkpointFile: flags.checkpoint }),
    destinations: opened.destinations,
    progress: log,
  }).finally(() => opened.close());
  const resumed =
    report.resumedAfter === undefined ? '' : ` (resumed after ${printable(report.resumedAfter)})`;
  human(
    io,
    `replayed ${report.objects} objects${resumed}: ${report.samplesSent.toLocaleString('en-US')} samples sent, ` +
      `${report.samplesRejected.toLocaleString('en-US')} rejected, ${report.failedObjects.length} objects failed\n`,
  );
  for (const { key, error } of report.errors) human(io, `  failed ${printable(key)}: ${printable(error)}\n`);
  return report.failedObjects.length > 0 ? EXIT.exportFailed : EXIT.ok;
}

async function invokeCommand(flags: InvokeFlags, io: Io): Promise<number> {
  const answer = await invokeCollector(flags);
  if (answer.kind === 'error') {
    io.stderr(`pgotel: ${printable(answer.message)}\n`);
    return EXIT.usage;
  }
  const s = answer.summary;
  if (flags.json === true) io.stdout(`${JSON.stringify(s, null, 2)}\n`);
  else human(io, formatSummary(s));
  if (s.up === 0) return EXIT.down;
  if (s.remoteWrite?.ok === false || s.archive?.ok === false) return EXIT.exportFailed;
  return EXIT.ok;
}

async function doctorCommand(flags: DoctorFlags, io: Io): Promise<number> {
  const report = await doctor(flags, io.env);
  human(io, report.text);
  if (!report.connected) return EXIT.down;
  return report.checks.some((c) => c.status === 'fail') ? EXIT.checkFailed : EXIT.ok;
}

/** Builds the `pgotel` command tree; `io` is injectable for tests. */
export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('pgotel')
    .description(
      'Serverless PostgreSQL monitoring collector: tiered SQL metrics to Prometheus and an OTLP archive.',
    )
    .version('0.1.0')
    .showHelpAfterError()
    .configureOutput({ writeOut: (text) => human(io, text), writeErr: io.stderr })
    .exitOverride();

  program
    .command('collect', { isDefault: true })
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
    .option(
      '--remote-write <url>',
      'also send to this Prometheus remote-write endpoint (default: remote_write.url in --config)',
    )
    .option(
      '--archive <url>',
      'also archive OTLP protobuf to s3://bucket/prefix or file:///absolute/dir (default: archive.url)',
    )
    .option(
      '--out <dir>',
      'write the OTLP protobuf under DIR, absolute or relative (same layout as --archive file:///DIR)',
    )
    .addOption(new Option('--compression <mode>', 'archive compression').choices(['none', 'gzip']))
    .addHelpText(
      'after',
      `
Examples:
  pgotel collect                                   # embedded PostgreSQL with a demo workload
  pgotel collect --dsn postgres://monitor@db:5432/postgres --tier critical
  pgotel collect --config pgotel.config.yaml --target orders-primary --format prom
  pgotel collect --dsn $DATABASE_URL --remote-write http://localhost:9090/api/v1/write --archive s3://metrics/pg

Exit codes: 0 ok, 1 usage or config error, 2 target unreachable (up = 0 is still printed and exported), 3 an export failed.`,
    )
    .action(async (options: CollectCommandOptions & DestinationFlags) =>
      setExit(await collectCommand(options, io)),
    );

  program
    .command('replay')
    .description('Re-send archived OTLP objects in a time range to remote-write, in time order, resumable.')
    .requiredOption(
      '--from <time>',
      'start of the data time range: ISO-8601, epoch seconds, now, or -15m / -2h / -1d',
    )
    .requiredOption('--to <time>', 'end of the range (inclusive)', 'now')
    .option('--target <name>', 'only this target')
    .option(
      '--remote-write <url>',
      'Prometheus remote-write endpoint (default: remote_write.url in --config)',
    )
    .option(
      '--archive <url>',
      's3://bucket/prefix or file:///absolute/dir (default: archive.url in --config)',
    )
    .option('--checkpoint <file>', 'remember progress in FILE and resume from it on the next run')
    .option('--config <file>', 'pgotel.config.yaml for remote_write auth and archive settings')
    .addHelpText(
      'after',
      `
Example:
  pgotel replay --from 2026-11-21T10:00:00Z --to 2026-11-21T11:00:00Z --target orders-primary \\
    --archive s3://metrics/pg --remote-write http://localhost:9090/api/v1/write --checkpoint replay.ckpt`,
    )
    .action(async (flags: ReplayFlags) => setExit(await replayCommand(flags, io)));

  program
    .command('invoke')
    .description(
      'Invoke the deployed collector Lambda once for one target (found from the stack outputs) and print its summary.',
    )
    .requiredOption('--target <name>', 'target name from the deployed config')
    .option('--tiers <tiers>', 'comma-separated tiers: critical,standard,historical or all', 'all')
    .option('--stack <name>', 'CloudFormation stack name', 'Pgotel')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      `
Uses the usual AWS configuration (AWS_REGION, AWS_PROFILE, ...; AWS_ENDPOINT_URL for an emulator).
Example:
  pgotel invoke --target orders-primary --tiers critical,standard
Exit codes: 0 ok, 1 usage error or the function failed, 2 target down (up = 0), 3 an export failed.`,
    )
    .action(async (flags: InvokeFlags) => setExit(await invokeCommand(flags, io)));

  program
    .command('setup-user')
    .description(
      'Print (or with --apply run) the SQL of a least-privilege monitoring role: pg_monitor, CONNECT per database, a connection limit, pg_stat_statements where preloaded; idempotent. Also prints the pg_hba.conf line.',
    )
    .option('--role <name>', 'the monitoring role', DEFAULT_ROLE)
    .option(
      '--databases <list>',
      'comma-separated databases to grant CONNECT on (default with --dsn: every database that allows connections)',
    )
    .option('--connection-limit <n>', 'sessions the role may hold at once', String(DEFAULT_CONNECTION_LIMIT))
    .option(
      '--hba-address <cidr>',
      "the collector's addresses, for the pg_hba.conf line",
      DEFAULT_HBA_ADDRESS,
    )
    .option(
      '--dsn <url>',
      'an admin connection (a superuser; RDS/Aurora: the master user) to read the server from',
    )
    .option('--apply', 'run the SQL on --dsn instead of printing it')
    .option(
      '--password-secret <arn>',
      'take the password from this Secrets Manager secret (plain, or JSON "password")',
    )
    .option('--password-stdin', 'read the password from stdin (one line)')
    .option('--keep-password', "leave an existing role's password as it is (re-runs)")
    .addOption(new Option('--password <password>').hideHelp())
    .addHelpText(
      'after',
      `
The password never comes from the command line (--password is refused). It is turned into a SCRAM-SHA-256
verifier here, so neither the printed SQL nor the server log ever holds it; printed without a password source,
the SQL asks for it with psql's \\password. With --apply and no source, a terminal is asked (no echo).

Examples:
  pgotel setup-user --databases postgres,shop > pgotel-role.sql && psql "$ADMIN_DSN" -f pgotel-role.sql
  pgotel setup-user --dsn "$ADMIN_DSN"                  # the SQL for this server's databases and settings
  pgotel setup-user --apply --dsn "$ADMIN_DSN" --password-secret arn:aws:secretsmanager:…:secret:pgotel/orders
  printf %s "$PW" | pgotel setup-user --apply --dsn "$ADMIN_DSN" --password-stdin --connection-limit 3

Exit codes: 0 ok, 1 usage error or the setup failed (nothing was changed).`,
    )
    .action(async (flags: SetupUserFlags) =>
      setExit(
        await setupUser(flags, {
          stdout: (text) => human(io, text),
          stderr: io.stderr,
          env: io.env,
          stdin: io.stdin ?? process.stdin,
        }),
      ),
    );

  program
    .command('doctor')
    .description(
      'Check a target as the collector sees it: connection and TLS, privileges, pg_stat_statements, track_* settings, version, and one real run of the catalog (what is skipped and why, what fails). One line per check, with the fix.',
    )
    .option('--dsn <url>', "the monitoring role's connection (default: $DATABASE_URL)")
    .option(
      '--config <file>',
      'pgotel.config.yaml: check a target as configured (DSN or secret_arn, databases, limits)',
    )
    .option('--target <name>', 'target name in the config (default: the first)')
    .addHelpText(
      'after',
      `
Each line: ok|warn|fail, the check, what was found — fix: what to do. warn: collection works, but data is missing
or the role is more than it needs to be; fail: collection is blocked or queries fail.

Examples:
  pgotel doctor --dsn postgres://pgotel_monitor:…@db.internal:5432/postgres?sslmode=verify-full&sslrootcert=ca.pem
  pgotel doctor --config pgotel.config.yaml --target orders-primary    # reads secret_arn from Secrets Manager

Exit codes: 0 nothing failed (warnings allowed), 1 usage or config error, 2 cannot connect, 4 a check failed.`,
    )
    .action(async (flags: DoctorFlags) => setExit(await doctorCommand(flags, io)));
  return program;
}

/** An error for stderr: one line (a config error: one per problem), never a stack, control characters escaped. */
function describeError(error: unknown): string {
  if (error instanceof ConfigError) {
    const source = error.source === undefined ? '' : ` ${printable(error.source)}`;
    return `invalid config${source}:\n  ${error.problems.map(printable).join('\n  ')}`;
  }
  return printable(error instanceof Error ? error.message : String(error));
}

/**
 * Runs the CLI and returns the exit code. Errors are printed as one line, never with a stack or a password;
 * names and messages from elsewhere are escaped ({@link printable}) wherever people read them.
 */
export async function main(argv: readonly string[], rawIo: Io = defaultIo): Promise<number> {
  let code: number = EXIT.ok;
  // stderr is for people only: the net under every value escaped where it is interpolated.
  const io: Io = { ...rawIo, stderr: (text) => rawIo.stderr(printableLines(text)) };
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    io.stderr(`pgotel: ${describeError(error)}\n`);
    return EXIT.usage;
  }
}
