import type pg from 'pg';

/** Server role as detected once per connection. */
export type ServerRole = 'primary' | 'replica';

/** What we learn about a server once per connection; it decides which SQL each query uses. */
export interface ServerInfo {
  /** e.g. 17 */
  readonly major: number;
  /** `server_version_num`, e.g. 170002 */
  readonly versionNum: number;
  /** e.g. `17.2` (distribution suffixes stripped) */
  readonly version: string;
  readonly role: ServerRole;
  readonly database: string;
  /** Epoch ms of `pg_postmaster_start_time()`: the start of counters that have no `stats_reset`. */
  readonly startedAtMs: number;
  /** Relations asked about (e.g. `pg_stat_statements`) that exist and are readable in this database. */
  readonly relations: ReadonlySet<string>;
}

/** A database that was to be visited and was not, and why. */
export interface SkippedDatabase {
  readonly database: string;
  readonly reason: string;
}

/** Oldest and newest majors the catalog supports. */
export const SUPPORTED_MAJORS = { min: 13, max: 18 } as const;

export interface RoundTripOptions {
  /**
   * Client-side bound on the round trip (node-postgres `query_timeout`): it then fails with "Query read
   * timeout" and the session, stuck behind it, must be dropped. @default no bound
   */
  readonly timeoutMs?: number;
}

/** A query config with node-postgres' `query_timeout`, which its bundled types lack. */
function timed(text: string, values: unknown[], options: RoundTripOptions): pg.QueryConfig {
  return { text, values, ...(options.timeoutMs === undefined ? {} : { query_timeout: options.timeoutMs }) };
}

/** Detects version, role and optional relations in one round trip. */
export async function detectServer(
  client: pg.Client,
  relations: readonly string[],
  options: RoundTripOptions = {},
): Promise<ServerInfo> {
  const { rows } = await client.query<{
    version_num: string;
    version: string;
    in_recovery: boolean;
    database: string;
    started_at: Date;
    relations: string[] | null;
  }>(
    timed(
      `SELECT current_setting('server_version_num') AS version_num,
            current_setting('server_version') AS version,
            pg_is_in_recovery() AS in_recovery,
            current_database() AS database,
            pg_postmaster_start_time() AS started_at,
            ARRAY(SELECT r FROM unnest($1::text[]) AS r
                  WHERE to_regclass(r) IS NOT NULL AND has_table_privilege(to_regclass(r), 'SELECT')) AS relations`,
      [relations],
      options,
    ),
  );
  const row = rows[0];
  if (row === undefined) throw new Error('server detection returned no row');
  const versionNum = Number(row.version_num);
  return {
    major: Math.floor(versionNum / 10000),
    versionNum,
    version: row.version.split(/\s/)[0] ?? row.version,
    role: row.in_recovery ? 'replica' : 'primary',
    database: row.database,
    startedAtMs: row.started_at.getTime(),
    relations: new Set(row.relations ?? []),
  };
}

/** The databases to visit, and the listed ones that will not be. */
export interface DatabaseSelection {
  /** Sorted. */
  readonly visit: readonly string[];
  /** Databases named in the include list that cannot or may not be visited, sorted, each with the reason. */
  readonly skipped: readonly SkippedDatabase[];
}

/**
 * The databases to visit: every non-template database that allows connections and that we may connect to,
 * or the configured list, minus the excluded ones. Sorted, so runs are deterministic. A database the list
 * names that is missing, closed (`datallowconn = false`), forbidden (no CONNECT) or a template is not dropped
 * silently: it is returned in `skipped` with the reason. Without a list, such databases are simply not
 * selected.
 */
export async function listDatabases(
  client: pg.Client,
  selection: { readonly include: readonly string[]; readonly exclude: readonly string[] },
  options: RoundTripOptions = {},
): Promise<DatabaseSelection> {
  const { rows } = await client.query<{
    datname: string;
    datallowconn: boolean;
    datistemplate: boolean;
    may_connect: boolean;
    role: string;
  }>(
    timed(
      `SELECT datname, datallowconn, datistemplate, has_database_privilege(datname, 'CONNECT') AS may_connect,
            current_user AS role
       FROM pg_database
      ORDER BY datname`,
      [],
      options,
    ),
  );
  const excluded = new Set(selection.exclude);
  const byName = new Map(rows.map((r) => [r.datname, r]));
  const whyNot = (name: string): string | undefined => {
    const row = byName.get(name);
    if (row === undefined) return `database "${name}" does not exist`;
    if (row.datistemplate) return `database "${name}" is a template; templates are never visited`;
    if (!row.datallowconn) return `database "${name}" does not allow connections (datallowconn = false)`;
    if (!row.may_connect) return `role "${row.role}" has no CONNECT privilege on database "${name}"`;
    return undefined;
  };
  if (selection.include.length === 0) {
    return {
      visit: rows.map((r) => r.datname).filter((d) => !excluded.has(d) && whyNot(d) === undefined),
      skipped: [],
    };
  }
  const wanted = new Set(selection.include.filter((d) => !excluded.has(d)));
  return {
    visit: rows.map((r) => r.datname).filter((d) => wanted.has(d) && whyNot(d) === undefined),
    skipped: [...wanted].sort().flatMap((database) => {
      const reason = whyNot(database);
      return reason === undefined ? [] : [{ database, reason }];
    }),
  };
}
