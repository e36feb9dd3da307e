import { isIP } from 'node:net';
import { quoteIdent, quoteLiteral } from '../db/quote.ts';

/**
 * The least-privilege monitoring role as SQL (the seed's "PostgreSQL Monitoring User Setup", minus what
 * `pg_monitor` already covers): a login role that is nothing else, `pg_monitor`, CONNECT on each database, a
 * connection limit, `pg_stat_statements` where the server preloads it. Idempotent: every statement can run
 * again and leaves the same state, so the script is safe to re-run after adding a database.
 */

/** @default role name of `pgotel setup-user` */
export const DEFAULT_ROLE = 'pgotel_monitor';
/** Sessions the role may hold at once: the collector opens at most `max_connections` (1..10) per run. */
export const DEFAULT_CONNECTION_LIMIT = 5;
/** The pg_hba.conf address printed when none is given; the script says to narrow it. */
export const DEFAULT_HBA_ADDRESS = '0.0.0.0/0';

/** Role names PostgreSQL reserves or that mean something else in GRANT and pg_hba.conf. */
const RESERVED_ROLE_NAMES = new Set([
  'public',
  'none',
  'current_user',
  'current_role',
  'session_user',
  'all',
  'sameuser',
  'samerole',
  'samegroup',
  'replication',
]);

/** Why `name` is not acceptable as the monitoring role's name, or undefined. */
export function roleNameProblem(name: string): string | undefined {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    return 'must start with a letter or _ and hold only letters, digits and _';
  if (name.length > 63) return 'is longer than 63 characters (PostgreSQL would cut it)';
  if (/^pg_/i.test(name)) return 'must not start with pg_ (reserved for PostgreSQL’s own roles)';
  if (RESERVED_ROLE_NAMES.has(name.toLowerCase())) return 'is a reserved name';
  return undefined;
}

/** Why `name` cannot be a database name, or undefined. */
export function databaseNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (Buffer.byteLength(name) > 63) return 'is longer than 63 bytes';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'holds a control character';
  return undefined;
}

/** Why `address` is not an `IP/prefix` for pg_hba.conf, or undefined. */
export function hbaAddressProblem(address: string): string | undefined {
  const [ip = '', prefix, ...rest] = address.split('/');
  const family = isIP(ip);
  const bits = Number(prefix);
  if (family === 0 || prefix === undefined || rest.length > 0 || !/^\d+$/.test(prefix))
    return 'must be an address with a prefix length, e.g. 10.0.0.0/8 or 2001:db8::/32';
  if (bits > (family === 4 ? 32 : 128)) return `prefix /${prefix} is too long for an IPv${family} address`;
  return undefined;
}

/** How the script sets the password; never the password itself. */
export type PasswordStep =
  /** `ALTER ROLE … PASSWORD '<SCRAM verifier>'`, computed by the client. */
  | { readonly kind: 'verifier'; readonly verifier: string }
  /** psql's `\password`, which asks for it and sends only its verifier. */
  | { readonly kind: 'psql-prompt' }
  /** Left as it is (a re-run); a new role then has none and cannot log in with a password. */
  | { readonly kind: 'keep' };

/**
 * What is known about `pg_stat_statements` on the server: preloaded (create the extension), not preloaded
 * (`libraries` is `shared_preload_libraries` as it is), or unknown (no server was asked).
 */
export type PgStatStatements =
  | { readonly kind: 'preloaded' }
  | { readonly kind: 'not-preloaded'; readonly libraries: string }
  | { readonly kind: 'unknown' };

/** Everything the role script depends on. */
export interface RoleSetup {
  /** Checked with {@link roleNameProblem}. */
  readonly role: string;
  /** Databases to grant CONNECT on, in order. */
  readonly databases: readonly string[];
  readonly connectionLimit: number;
  readonly password: PasswordStep;
  readonly pgStatStatements: PgStatStatements;
  /** For the pg_hba.conf line, checked with {@link hbaAddressProblem}. */
  readonly hbaAddress: string;
}

/** One statement of the setup and what it does, for people. */
export interface RoleStep {
  readonly what: string;
  readonly sql: string;
}

/** The role, created when missing (a new role is NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION). */
function createRoleStep(role: string): RoleStep {
  return {
    what: `create role ${role} unless it exists (never a superuser, no CREATEDB, CREATEROLE, REPLICATION)`,
    sql: `DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${quoteLiteral(role)}) THEN
    CREATE ROLE ${quoteIdent(role)} LOGIN;
  END IF;
END
$$;`,
  };
}

/**
 * The statements of the setup, in order: the role, its limit, `pg_monitor`, CONNECT on each database, and the
 * password when it is a verifier (psql's `\password` and keeping it are the script's business, see
 * {@link roleScript}). `pg_stat_statements` comes apart: it depends on the server.
 */
export function roleSteps(setup: RoleSetup): RoleStep[] {
  const role = quoteIdent(setup.role);
  return [
    createRoleStep(setup.role),
    {
      what: `allow login, at most ${setup.connectionLimit} sessions at once`,
      sql: `ALTER ROLE ${role} WITH LOGIN CONNECTION LIMIT ${setup.connectionLimit};`,
    },
    {
      what: 'read every statistics view and setting (pg_read_all_stats, pg_read_all_settings, pg_stat_scan_tables)',
      sql: `GRANT pg_monitor TO ${role};`,
    },
    ...setup.databases.map((database) => ({
      what: `connect to database ${database}`,
      sql: `GRANT CONNECT ON DATABASE ${quoteIdent(database)} TO ${role};`,
    })),
    ...(setup.password.kind === 'verifier'
      ? [
          {
            // The verifier lets the server check a password; it is not the password and cannot log in.
            what: 'set the password, as a SCRAM-SHA-256 verifier computed by pgotel (the password itself is in no statement)',
            sql: `ALTER ROLE ${role} PASSWORD ${quoteLiteral(setup.password.verifier)};`,
          },
        ]
      : []),
  ];
}

/** `CREATE EXTENSION pg_stat_statements`, for the `statements` queries; needs the library preloaded. */
export const PG_STAT_STATEMENTS_STEP: RoleStep = {
  what: 'create pg_stat_statements (for the statements queries)',
  sql: 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements;',
};

/** The pg_hba.conf line for the role: TLS only, SCRAM. */
export function hbaLine(role: string, address: string): string {
  return `hostssl all ${role} ${address} scram-sha-256`;
}

/** The settings fix that makes pg_stat_statements loadable, keeping the libraries already preloaded. */
export function preloadFix(libraries: string): string {
  const list = [
    ...libraries
      .split(',')
      .map((l) => l.trim())
      .filter((l) => l !== ''),
    'pg_stat_statements',
  ];
  return `ALTER SYSTEM SET shared_preload_libraries = ${quoteLiteral(list.join(', '))} and restart (RDS/Aurora: add pg_stat_statements to shared_preload_libraries in the DB parameter group, then reboot)`;
}

/** The pg_hba.conf advice: the line for a self-managed server, what to do on RDS. */
export function hbaAdvice(role: string, address: string): string[] {
  return [
    `pg_hba.conf of a self-managed server (then SELECT pg_reload_conf()); narrow ${address} to the collector's subnet:`,
    `  ${hbaLine(role, address)}`,
    'RDS and Aurora have no pg_hba.conf: set rds.force_ssl = 1 in the DB parameter group (the default from PostgreSQL 15).',
  ];
}

function comment(text: string): string {
  return `-- ${text}`;
}

/**
 * The setup as a psql script (`\set ON_ERROR_STOP on`, one transaction), each statement under a comment saying
 * what it does. The password is in it only as a SCRAM verifier, or as psql's `\password` prompt.
 */
export function roleScript(setup: RoleSetup): string {
  const lines = [
    comment(`pgotel monitoring role ${setup.role}: least privilege, idempotent (safe to run again).`),
    comment('Run it as a superuser (RDS/Aurora: the master user): psql "$ADMIN_DSN" -f pgotel-role.sql'),
    '\\set ON_ERROR_STOP on',
    'BEGIN;',
  ];
  for (const step of roleSteps(setup)) lines.push(comment(step.what), step.sql);
  if (setup.password.kind === 'psql-prompt')
    lines.push(
      comment(
        'set the password: psql asks for it and sends only its SCRAM verifier (keep it in Secrets Manager)',
      ),
      `\\password ${quoteIdent(setup.role)}`,
    );
  else if (setup.password.kind === 'keep')
    lines.push(comment('the password is left as it is (a new role has none until one is set)'));
  const pss = setup.pgStatStatements;
  if (pss.kind === 'preloaded') {
    lines.push(comment(`${PG_STAT_STATEMENTS_STEP.what}, in the database pgotel connects to`));
    lines.push(PG_STAT_STATEMENTS_STEP.sql);
  } else {
    const why =
      pss.kind === 'not-preloaded'
        ? `this server does not preload it: ${preloadFix(pss.libraries)}`
        : 'it needs shared_preload_libraries to include pg_stat_statements (RDS/Aurora: the DB parameter group)';
    lines.push(
      comment(`${PG_STAT_STATEMENTS_STEP.what}: ${why}; then, in the database pgotel connects to:`),
      comment(PG_STAT_STATEMENTS_STEP.sql),
    );
  }
  lines.push('COMMIT;', ...hbaAdvice(setup.role, setup.hbaAddress).map(comment));
  return `${lines.join('\n')}\n`;
}
