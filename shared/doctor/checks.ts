import { isIP } from 'node:net';
import type { CollectResult } from '../collect/collect.ts';
import type { QueryReport } from '../collect/run-query.ts';
import { ConnectError, type ConnectionParams } from '../db/connection.ts';
import { quoteIdent } from '../db/quote.ts';
import { type DatabaseSelection, type ServerInfo, SUPPORTED_MAJORS } from '../db/server-info.ts';
import type { ServerFacts } from './facts.ts';
import { hbaLine, preloadFix } from './monitoring-role.ts';

/**
 * The checks of `pgotel doctor` as pure functions of what was read: each gives one line, `ok`, `warn` (collection
 * works, some data will be missing or the setup is not least privilege) or `fail` (collection is blocked, or
 * queries fail), with the fix.
 */

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  readonly status: CheckStatus;
  /** Short and stable: `connect`, `tls`, `privileges`, `track_io_timing`, … */
  readonly name: string;
  readonly detail: string;
  /** What to do; set for `warn` and `fail`. */
  readonly fix?: string;
}

/** What the checks of a reachable server look at. */
export interface ServerCheckInput {
  readonly params: Pick<ConnectionParams, 'host' | 'port' | 'user' | 'database' | 'tls'>;
  readonly server: Pick<ServerInfo, 'major' | 'version' | 'role'>;
  readonly facts: ServerFacts;
  readonly databases: DatabaseSelection;
  /** The target's `exclude_databases`: databases left out on purpose are not reported as forbidden. */
  readonly excluded: readonly string[];
}

const ok = (name: string, detail: string): Check => ({ status: 'ok', name, detail });
const warn = (name: string, detail: string, fix: string): Check => ({ status: 'warn', name, detail, fix });
const fail = (name: string, detail: string, fix: string): Check => ({ status: 'fail', name, detail, fix });

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

const CLIENT_TLS =
  'connect with sslmode=verify-full&sslrootcert=CA_FILE (config: tls: { mode: verify-full, ca_file: … })';
const SERVER_TLS = 'on the server ssl = on (RDS/Aurora: rds.force_ssl = 1)';

/** Why connecting failed, with what to do about it: the SQLSTATE when the server answered, else the reason. */
export function connectFailure(
  error: unknown,
  params: Pick<ConnectionParams, 'host' | 'port' | 'user' | 'tls'>,
): Check {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof ConnectError ? error.code : undefined;
  const where = `${params.host}:${params.port}`;
  let fix = 'see the message';
  if (code === '28P01')
    fix =
      "check the password (the DSN's, or the secret's password field); pgotel setup-user --apply sets a new one";
  else if (code === '28000' && /pg_hba\.conf/.test(message) && /no encryption|SSL off/.test(message))
    fix = `the server accepts this role over TLS only: ${CLIENT_TLS}`;
  else if (code === '28000' && /no pg_hba\.conf entry/.test(message))
    fix = `add "${hbaLine(params.user, 'COLLECTOR_CIDR')}" to pg_hba.conf, then SELECT pg_reload_conf()`;
  else if (code === '3D000')
    fix = "the database does not exist: name another in the DSN (or the secret's dbname)";
  else if (code === '53300')
    fix =
      "too many sessions: raise the role's CONNECTION LIMIT (pgotel setup-user --connection-limit) or max_connections";
  else if (/ECONNREFUSED/.test(message))
    fix = `nothing listens on ${where}: is the server up, and are listen_addresses and the port right?`;
  else if (/ENOTFOUND|EAI_AGAIN/.test(message)) fix = `the host name ${params.host} does not resolve`;
  else if (/timed out|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH/.test(message))
    fix = `no answer from ${where}: check security groups and firewalls between here and the server`;
  else if (/does not support SSL/i.test(message))
    fix =
      'the server has no TLS: set ssl = on with a certificate (or, for a test server only, sslmode=disable)';
  else if (/certificate|self[- ]signed|Hostname\/IP does not match/i.test(message))
    fix =
      'give the CA that signed the server certificate (sslrootcert= or tls.ca_file; RDS: the global bundle) and connect by the host name it names';
  return fail('connect', message, fix);
}

/** The credentials could not be read (a secret). */
export function credentialsFailure(error: unknown): Check {
  const message = error instanceof Error ? error.message : String(error);
  return fail(
    'connect',
    `cannot read the credentials: ${message}`,
    'check the secret ARN, and that these AWS credentials may secretsmanager:GetSecretValue it',
  );
}

function connectCheck({ params, facts }: ServerCheckInput): Check {
  return ok('connect', `${params.host}:${params.port}, database ${params.database}, role ${facts.role}`);
}

function tlsCheck({ params, facts }: ServerCheckInput): Check {
  if (facts.ssl) {
    const protocol = facts.sslVersion ?? 'TLS';
    if (params.tls.mode === 'require' && params.tls.ca_file === undefined)
      return warn(
        'tls',
        `${protocol}, but the server certificate is not verified (sslmode=require)`,
        `verify it: ${CLIENT_TLS}`,
      );
    return ok('tls', `${protocol}, server certificate verified (${params.tls.mode})`);
  }
  if (isLoopback(params.host)) return ok('tls', `not used: ${params.host} is this host (loopback)`);
  return warn(
    'tls',
    'not used: the password and the metrics cross the network in clear',
    `${CLIENT_TLS}; ${SERVER_TLS}`,
  );
}

function versionCheck({ server }: ServerCheckInput): Check {
  const name = `PostgreSQL ${server.version} ${server.role}`;
  const range = `${SUPPORTED_MAJORS.min} to ${SUPPORTED_MAJORS.max}`;
  if (server.major < SUPPORTED_MAJORS.min)
    return fail(
      'version',
      `${name} is not supported (${range})`,
      `upgrade to PostgreSQL ${SUPPORTED_MAJORS.min} or newer`,
    );
  if (server.major > SUPPORTED_MAJORS.max)
    return warn(
      'version',
      `${name} is newer than the catalog is tested on (${range}): each query uses its newest SQL`,
      'check the catalog lines below for failed queries',
    );
  return ok('version', `${name} (supported: ${range})`);
}

function superuserCheck({ facts }: ServerCheckInput): Check {
  if (!facts.superuser) return ok('superuser', `${facts.role} is not a superuser`);
  return warn(
    'superuser',
    `${facts.role} is a superuser: collection works, but this is not least privilege`,
    'pgotel setup-user --apply --dsn ADMIN_DSN creates a pg_monitor role; collect with it',
  );
}

function privilegesCheck({ facts }: ServerCheckInput): Check {
  const role = quoteIdent(facts.role);
  if (facts.superuser) return ok('privileges', 'superuser: every statistic is readable');
  if (facts.monitor) return ok('privileges', 'pg_monitor');
  if (facts.readAllStats && facts.readAllSettings)
    return ok(
      'privileges',
      'pg_read_all_stats and pg_read_all_settings (what the catalog needs of pg_monitor)',
    );
  if (facts.monitorNotInherited)
    return fail(
      'privileges',
      `${facts.role} is a member of pg_monitor but does not inherit its privileges`,
      `ALTER ROLE ${role} INHERIT; (PostgreSQL 16+: GRANT pg_monitor TO ${role} WITH INHERIT TRUE;)`,
    );
  return fail(
    'privileges',
    `${facts.role} lacks pg_monitor: other sessions' queries, WAL and settings are hidden or refused`,
    `GRANT pg_monitor TO ${role};`,
  );
}

function databasesCheck({ facts, databases, excluded }: ServerCheckInput): Check {
  const visit = databases.visit.length === 0 ? 'none' : databases.visit.join(', ');
  if (databases.skipped.length > 0) {
    const fixes = databases.skipped.map(({ database, reason }) =>
      /no CONNECT privilege/.test(reason)
        ? `GRANT CONNECT ON DATABASE ${quoteIdent(database)} TO ${quoteIdent(facts.role)};`
        : `remove ${database} from the target's databases`,
    );
    return fail(
      'databases',
      `not visited: ${databases.skipped.map((s) => s.reason).join('; ')} (visits: ${visit})`,
      fixes.join(' '),
    );
  }
  const forbidden = facts.forbiddenDatabases.filter((d) => !excluded.includes(d));
  const note = forbidden.length === 0 ? '' : ` (no CONNECT, left out: ${forbidden.join(', ')})`;
  return ok('databases', `visits ${visit}${note}`);
}

function pgStatStatementsCheck({ params, facts }: ServerCheckInput): Check {
  const name = 'pg_stat_statements';
  const libraries = facts.settings.shared_preload_libraries;
  const created = facts.pgStatStatementsVersion !== undefined;
  const create = `CREATE EXTENSION pg_stat_statements; in database ${params.database} (as a superuser)`;
  const loaded = libraries?.split(',').some((l) => l.trim().replace(/^"|"$/g, '') === 'pg_stat_statements');
  // Created but not loaded, its view exists and every read of it fails: the preload comes first.
  if (libraries !== undefined && loaded === false)
    return warn(
      name,
      `not in shared_preload_libraries ('${libraries}'): the statements queries ${created ? 'fail' : 'are skipped'}`,
      created ? preloadFix(libraries) : `${preloadFix(libraries)}; then ${create}`,
    );
  if (facts.pgStatStatementsReadable)
    return ok(
      name,
      `created in database ${params.database} (version ${facts.pgStatStatementsVersion ?? '?'})`,
    );
  if (libraries === undefined)
    return warn(
      name,
      `not readable in database ${params.database}, and ${facts.role} may not read shared_preload_libraries`,
      `GRANT pg_monitor TO ${quoteIdent(facts.role)};`,
    );
  if (created)
    return warn(
      name,
      `created in database ${params.database}, but not on ${facts.role}'s search_path or not readable`,
      `create it in schema public, or GRANT SELECT ON pg_stat_statements TO ${quoteIdent(facts.role)};`,
    );
  return warn(
    name,
    `loaded but not created in database ${params.database}: the statements queries are skipped`,
    create,
  );
}

function onOffCheck(
  facts: ServerFacts,
  setting: 'track_io_timing' | 'track_wal_io_timing',
  missing: string,
): Check {
  const value = facts.settings[setting];
  if (value === 'on') return ok(setting, 'on');
  const fix = `ALTER SYSTEM SET ${setting} = on; SELECT pg_reload_conf(); (RDS/Aurora: ${setting} = 1 in the DB parameter group)`;
  if (value === undefined)
    return warn(setting, `cannot be read by ${facts.role}`, `GRANT pg_monitor TO ${quoteIdent(facts.role)};`);
  return warn(setting, `${value}: ${missing} stay 0`, fix);
}

/**
 * `pg_stat_activity.query` is cut at `track_activity_query_size` bytes (1024 by default): a session the
 * long-running and lock metrics point at then shows a truncated statement when looked up. 4096 keeps most whole.
 */
const QUERY_SIZE_WANTED = 4096;

function settingChecks({ facts, server }: ServerCheckInput): Check[] {
  const size = facts.settings.track_activity_query_size;
  const sizeCheck =
    size === undefined
      ? warn(
          'track_activity_query_size',
          `cannot be read by ${facts.role}`,
          `GRANT pg_monitor TO ${quoteIdent(facts.role)};`,
        )
      : Number(size) >= QUERY_SIZE_WANTED
        ? ok('track_activity_query_size', `${size} bytes`)
        : warn(
            'track_activity_query_size',
            `${size} bytes: longer statements are cut in pg_stat_activity`,
            `ALTER SYSTEM SET track_activity_query_size = ${QUERY_SIZE_WANTED} and restart (RDS/Aurora: the DB parameter group, then reboot)`,
          );
  return [
    onOffCheck(
      facts,
      'track_io_timing',
      'block read and write times (pg_stat_io, pg_stat_database, pg_stat_statements)',
    ),
    server.major < 14
      ? ok('track_wal_io_timing', `not in PostgreSQL ${server.major} (from 14)`)
      : onOffCheck(facts, 'track_wal_io_timing', 'WAL write and sync times'),
    sizeCheck,
  ];
}

/** Every check of a reachable server, in the order printed. */
export function serverChecks(input: ServerCheckInput): Check[] {
  return [
    connectCheck(input),
    tlsCheck(input),
    versionCheck(input),
    superuserCheck(input),
    privilegesCheck(input),
    databasesCheck(input),
    pgStatStatementsCheck(input),
    ...settingChecks(input),
  ];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

interface ReportGroup {
  readonly message: string;
  readonly sqlstate?: string;
  /** Query names by database (`''` for cluster-wide queries), in first-seen order, without repeats. */
  readonly places: Map<string, string[]>;
}

/** Reports grouped by message and SQLSTATE, in first-seen order. */
function byMessage(reports: readonly QueryReport[]): ReportGroup[] {
  const groups = new Map<string, ReportGroup>();
  for (const report of reports) {
    const message = report.message ?? '';
    const key = `${report.sqlstate ?? ''} ${message}`;
    const group = groups.get(key) ?? {
      message,
      places: new Map<string, string[]>(),
      ...(report.sqlstate === undefined ? {} : { sqlstate: report.sqlstate }),
    };
    const names = group.places.get(report.database ?? '') ?? [];
    if (!names.includes(report.query)) names.push(report.query);
    group.places.set(report.database ?? '', names);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/** `wal, locks; table_stats, index_stats in shop`. */
function placesOf(group: ReportGroup): string {
  return [...group.places]
    .map(([database, names]) => (database === '' ? names.join(', ') : `${names.join(', ')} in ${database}`))
    .join('; ');
}

function failureFix(group: ReportGroup, role: string): string {
  const sqlstate = group.sqlstate;
  if (group.message.startsWith('not visited:')) return 'see the databases line';
  if (/pg_stat_statements/.test(group.message)) return 'see the pg_stat_statements line';
  if (sqlstate === '42501') return `GRANT pg_monitor TO ${quoteIdent(role)};`;
  if (sqlstate === '57014')
    return "raise the tier's statement_timeout_ms (targets[].tiers) or lower the limits (queries.limits)";
  return 'pgotel collect --format json shows every query report';
}

/**
 * What one real run of the catalog (every tier, every query) did: a summary line, then one line per reason a
 * query was skipped (`ok` when it does not apply to this version or role, `warn` otherwise) and one per error.
 */
export function catalogChecks(result: CollectResult, role: string): Check[] {
  if (result.up === 0)
    return [fail('catalog', `not run: ${result.error ?? 'the server went away'}`, 'run pgotel doctor again')];
  const names = [...new Set(result.queries.map((q) => q.query))];
  const failed = names.filter((n) => result.queries.some((q) => q.query === n && q.status === 'error'));
  const skipped = names.filter((n) => result.queries.every((q) => q.query !== n || q.status === 'skipped'));
  const ran = names.length - failed.length - skipped.length;
  const server =
    result.server === undefined ? '' : `PostgreSQL ${result.server.major} ${result.server.role}, `;
  const summary = `${ran} of ${names.length} queries ran, ${skipped.length} skipped, ${failed.length} failed (${server}${plural(result.databases.length, 'database')})`;
  const checks: Check[] = [
    failed.length === 0 ? ok('catalog', summary) : fail('catalog', summary, 'see the failed lines'),
  ];
  for (const group of byMessage(result.queries.filter((q) => q.status === 'skipped'))) {
    const detail = `${placesOf(group)}: ${group.message}`;
    if (/^not applicable to PostgreSQL/.test(group.message)) checks.push(ok('skipped', detail));
    else if (/pg_stat_statements/.test(group.message))
      checks.push(warn('skipped', detail, 'see the pg_stat_statements line'));
    else
      checks.push(
        warn('skipped', detail, 'run pgotel doctor again; a slow server may need higher statement timeouts'),
      );
  }
  for (const group of byMessage(result.queries.filter((q) => q.status === 'error'))) {
    const code = group.sqlstate === undefined ? '' : ` (SQLSTATE ${group.sqlstate})`;
    checks.push(fail('failed', `${placesOf(group)}: ${group.message}${code}`, failureFix(group, role)));
  }
  return checks;
}
