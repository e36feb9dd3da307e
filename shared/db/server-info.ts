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

/** Oldest and newest majors the catalog supports. */
export const SUPPORTED_MAJORS = { min: 13, max: 18 } as const;

/** Detects version, role and optional relations in one round trip. */
export async function detectServer(client: pg.Client, relations: readonly string[]): Promise<ServerInfo> {
  const { rows } = await client.query<{
    version_num: string;
    version: string;
    in_recovery: boolean;
    database: string;
    started_at: Date;
    relations: string[] | null;
  }>(
    `SELECT current_setting('server_version_num') AS version_num,
            current_setting('server_version') AS version,
            pg_is_in_recovery() AS in_recovery,
            current_database() AS database,
            pg_postmaster_start_time() AS started_at,
            ARRAY(SELECT r FROM unnest($1::text[]) AS r
                  WHERE to_regclass(r) IS NOT NULL AND has_table_privilege(to_regclass(r), 'SELECT')) AS relations`,
    [relations],
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

/**
 * The databases to visit: every non-template database that allows connections and that we may connect to,
 * or the configured list, minus the excluded ones. Sorted, so runs are deterministic.
 */
export async function listDatabases(
  client: pg.Client,
  selection: { readonly include: readonly string[]; readonly exclude: readonly string[] },
): Promise<string[]> {
  const { rows } = await client.query<{ datname: string }>(
    `SELECT datname FROM pg_database
      WHERE datallowconn AND NOT datistemplate AND has_database_privilege(datname, 'CONNECT')
      ORDER BY datname`,
  );
  const available = rows.map((r) => r.datname);
  const wanted =
    selection.include.length > 0 ? available.filter((d) => selection.include.includes(d)) : available;
  const excluded = new Set(selection.exclude);
  return wanted.filter((d) => !excluded.has(d));
}
