import { openSession, parseDsn } from '../shared/db/connection.ts';
import { scramSha256Verifier } from '../shared/db/scram.ts';
import {
  applyRoleSetup,
  chooseDatabases,
  RoleSetupError,
  readAdminFacts,
} from '../shared/doctor/apply-role.ts';
import {
  databaseNameProblem,
  hbaAddressProblem,
  hbaAdvice,
  type PasswordStep,
  type PgStatStatements,
  type RoleSetup,
  roleNameProblem,
  roleScript,
  roleSteps,
} from '../shared/doctor/monitoring-role.ts';
import { UsageError } from './collect.ts';
import { readSecretField } from './doctor.ts';
import { printable } from './printable.ts';

/** Options of `pgotel setup-user`, as parsed from the command line. */
export interface SetupUserFlags {
  readonly role: string;
  readonly databases?: string;
  readonly connectionLimit: string;
  readonly hbaAddress: string;
  readonly dsn?: string;
  readonly apply?: boolean;
  readonly passwordSecret?: string;
  readonly passwordStdin?: boolean;
  readonly keepPassword?: boolean;
  /** Accepted by the parser only to be refused with the reason. */
  readonly password?: string;
}

/** Where `setup-user` writes and reads; stdin is where a password may come from. */
export interface SetupUserIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: NodeJS.ReadStream;
}

/** Statement and lock timeouts of the admin session: creating a role waits on no table. */
const ADMIN_SESSION = { statementTimeoutMs: 30_000, lockTimeoutMs: 10_000 } as const;

function parseConnectionLimit(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 1000)
    throw new UsageError(`--connection-limit: "${text}" must be a whole number from 1 to 1000`);
  return Number(text);
}

function parseDatabases(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(',').map((d) => d.trim());
  for (const name of names) {
    const problem = databaseNameProblem(name);
    if (problem !== undefined) throw new UsageError(`--databases: "${name}" ${problem}`);
  }
  return [...new Set(names)];
}

/** All of stdin, without the one line break `echo` or a file adds; it must be one non-empty line. */
async function passwordFromStdin(stdin: NodeJS.ReadStream): Promise<string> {
  if (stdin.isTTY === true)
    throw new UsageError(
      '--password-stdin reads a pipe; in a terminal leave it out to be asked without echo',
    );
  let text = '';
  stdin.setEncoding('utf8');
  for await (const chunk of stdin) text += chunk;
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new UsageError('--password-stdin: stdin is empty');
  if (/[\r\n]/.test(password)) throw new UsageError('--password-stdin: the password must be one line');
  return password;
}

/** Asks on the terminal with echo off; Ctrl-C cancels. */
function askHidden(
  question: string,
  stdin: NodeJS.ReadStream,
  write: (text: string) => void,
): Promise<string> {
  // Echo off before the question is out: an answer typed at once must not be shown.
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  write(question);
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      write('\n');
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') {
          finish();
          resolve(value);
          return;
        }
        if (char === '\u0003') {
          finish();
          reject(new UsageError('setup-user: cancelled'));
          return;
        }
        value = char === '\u007f' || char === '\b' ? [...value].slice(0, -1).join('') : value + char;
      }
    };
    stdin.on('data', onData);
  });
}

async function passwordFromPrompt(role: string, io: SetupUserIo): Promise<string> {
  const first = await askHidden(`Password for ${role}: `, io.stdin, io.stderr);
  if (first === '') throw new UsageError('setup-user: the password is empty');
  const again = await askHidden('Again: ', io.stdin, io.stderr);
  if (again !== first) throw new UsageError('setup-user: the two passwords differ');
  return first;
}

/**
 * The password step: from a secret, stdin or (applying in a terminal) a prompt, turned into a SCRAM verifier at
 * once; printing without one leaves psql's `\password` in the script. Never from the command line.
 */
async function passwordOf(flags: SetupUserFlags, role: string, io: SetupUserIo): Promise<PasswordStep> {
  const sources = [
    flags.passwordSecret !== undefined,
    flags.passwordStdin === true,
    flags.keepPassword === true,
  ];
  if (sources.filter(Boolean).length > 1)
    throw new UsageError(
      '--password-secret, --password-stdin and --keep-password exclude each other: give one',
    );
  if (flags.keepPassword === true) return { kind: 'keep' };
  let password: string | undefined;
  if (flags.passwordSecret !== undefined)
    password = await readSecretField(flags.passwordSecret, 'password', io.env);
  else if (flags.passwordStdin === true) password = await passwordFromStdin(io.stdin);
  else if (flags.apply === true) {
    if (io.stdin.isTTY !== true)
      throw new UsageError(
        'setup-user --apply needs the password: --password-secret ARN, --password-stdin, or run it in a terminal to be asked',
      );
    password = await passwordFromPrompt(role, io);
  }
  return password === undefined
    ? { kind: 'psql-prompt' }
    : { kind: 'verifier', verifier: scramSha256Verifier(password) };
}

function checkedRole(role: string): string {
  const problem = roleNameProblem(role);
  if (problem !== undefined) throw new UsageError(`--role: "${role}" ${problem}`);
  return role;
}

/**
 * `pgotel setup-user`: prints the monitoring role's SQL (for the databases given, or with `--dsn` for the server's
 * databases and settings), or with `--apply --dsn ADMIN_DSN` runs it. Returns the exit code.
 */
export async function setupUser(flags: SetupUserFlags, io: SetupUserIo): Promise<number> {
  if (flags.password !== undefined)
    throw new UsageError(
      '--password is refused: a password on the command line is seen by ps and kept in shell history; use --password-stdin, --password-secret ARN, or the prompt of --apply',
    );
  const role = checkedRole(flags.role);
  const connectionLimit = parseConnectionLimit(flags.connectionLimit);
  const requested = parseDatabases(flags.databases);
  const addressProblem = hbaAddressProblem(flags.hbaAddress);
  if (addressProblem !== undefined)
    throw new UsageError(`--hba-address: "${flags.hbaAddress}" ${addressProblem}`);
  if (flags.apply === true && flags.dsn === undefined)
    throw new UsageError('--apply needs --dsn ADMIN_DSN: a superuser (RDS/Aurora: the master user)');
  if (flags.dsn === undefined && requested === undefined)
    throw new UsageError(
      'setup-user needs --databases a,b (the databases to grant CONNECT on), or --dsn ADMIN_DSN to take them from the server',
    );
  const base = { role, connectionLimit, hbaAddress: flags.hbaAddress };
  const password = await passwordOf(flags, role, io);
  const human = (text: string) => io.stdout(text);
  if (flags.dsn === undefined) {
    human(roleScript(setupOf(base, requested ?? [], password, { kind: 'unknown' })));
    return 0;
  }
  const params = parseDsn(flags.dsn);
  const client = await openSession(params, ADMIN_SESSION);
  try {
    const facts = await readAdminFacts(client);
    if (facts.inRecovery)
      throw new RoleSetupError(
        'the server is a replica: run setup-user on the primary (roles replicate to it)',
      );
    const choice = chooseDatabases(facts, requested);
    const setup = setupOf(base, choice.databases, password, facts.pgStatStatements);
    for (const { reason } of choice.leftOut) io.stderr(`pgotel: left out: ${printable(reason)}\n`);
    if (flags.apply !== true) {
      human(roleScript(setup));
      return 0;
    }
    const steps = roleSteps(setup);
    const outcome = await applyRoleSetup(client, steps, facts.pgStatStatements.kind === 'preloaded');
    const lines = [
      `applied on ${params.host}:${params.port} as ${facts.user}, database ${facts.database}:`,
      ...steps.map((step) => `  done  ${step.what}`),
    ];
    if (outcome.kind === 'created')
      lines.push(`  done  create pg_stat_statements unless it exists, in database ${facts.database}`);
    else if (outcome.kind === 'failed')
      lines.push(`  warn  pg_stat_statements not created (${outcome.message}): create it as a superuser`);
    else if (facts.pgStatStatements.kind === 'unknown')
      lines.push(
        `  warn  pg_stat_statements not created: ${facts.user} may not read shared_preload_libraries`,
      );
    else lines.push('  warn  pg_stat_statements not created: shared_preload_libraries does not load it');
    if (setup.password.kind === 'keep') lines.push('  note  password left as it is (--keep-password)');
    lines.push(
      ...hbaAdvice(role, flags.hbaAddress),
      `check it: pgotel doctor --dsn postgres://${role}:…@${params.host}:${params.port}/${facts.database}`,
    );
    human(`${lines.map(printable).join('\n')}\n`);
    return 0;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function setupOf(
  base: Pick<RoleSetup, 'role' | 'connectionLimit' | 'hbaAddress'>,
  databases: readonly string[],
  password: PasswordStep,
  pgStatStatements: PgStatStatements,
): RoleSetup {
  return { ...base, databases, password, pgStatStatements };
}
