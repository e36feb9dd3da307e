import type pg from 'pg';

/**
 * What `pgotel doctor` reads from the monitoring role's own session, in one round trip: the role's attributes
 * and memberships, TLS of this very session, the settings the catalog depends on, `pg_stat_statements`.
 * Settings come from `pg_settings`, which hides a superuser-only setting (`shared_preload_libraries`) from a
 * role without `pg_read_all_settings` instead of failing the query: such a setting is `undefined`.
 */

/** The settings the checks read; absent when the role may not see it (or the server has no such setting). */
const CHECKED_SETTINGS = [
  'shared_preload_libraries',
  'track_io_timing',
  'track_wal_io_timing',
  'track_activity_query_size',
] as const;

type CheckedSetting = (typeof CHECKED_SETTINGS)[number];

export interface ServerFacts {
  readonly role: string;
  readonly superuser: boolean;
  /** Privileges of `pg_monitor` in effect (inherited), or the role's own for a superuser. */
  readonly monitor: boolean;
  /** A member of `pg_monitor` whose privileges are not inherited (NOINHERIT, or a grant WITH INHERIT FALSE). */
  readonly monitorNotInherited: boolean;
  readonly readAllStats: boolean;
  readonly readAllSettings: boolean;
  /** Whether this session is encrypted, and with which protocol. */
  readonly ssl: boolean;
  readonly sslVersion: string | undefined;
  readonly settings: Readonly<Partial<Record<CheckedSetting, string>>>;
  /** `pg_stat_statements` is readable in the connection database (what the collector checks). */
  readonly pgStatStatementsReadable: boolean;
  /** The extension's version when it is created in the connection database. */
  readonly pgStatStatementsVersion: string | undefined;
  /** Non-template databases that allow connections but not this role's CONNECT, sorted. */
  readonly forbiddenDatabases: readonly string[];
}

/** Reads {@link ServerFacts} on an open session of the monitoring role. */
export async function readServerFacts(client: pg.Client): Promise<ServerFacts> {
  const { rows } = await client.query<{
    role: string;
    superuser: boolean;
    monitor: boolean;
    monitor_member: boolean;
    read_all_stats: boolean;
    read_all_settings: boolean;
    ssl: boolean | null;
    ssl_version: string | null;
    settings: Record<string, string> | null;
    pss_readable: boolean;
    pss_version: string | null;
    forbidden: string[] | null;
  }>(
    `SELECT current_user AS role,
            (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
            pg_has_role('pg_monitor', 'USAGE') AS monitor,
            pg_has_role('pg_monitor', 'MEMBER') AS monitor_member,
            pg_has_role('pg_read_all_stats', 'USAGE') AS read_all_stats,
            pg_has_role('pg_read_all_settings', 'USAGE') AS read_all_settings,
            (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl,
            (SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl_version,
            (SELECT json_object_agg(name, setting) FROM pg_settings WHERE name = ANY($1::text[])) AS settings,
            coalesce(has_table_privilege(to_regclass('pg_stat_statements'), 'SELECT'), false) AS pss_readable,
            (SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements') AS pss_version,
            ARRAY(SELECT datname::text FROM pg_database
                   WHERE datallowconn AND NOT datistemplate AND NOT has_database_privilege(oid, 'CONNECT')
                   ORDER BY datname) AS forbidden`,
    [CHECKED_SETTINGS],
  );
  const row = rows[0];
  if (row === undefined) throw new Error('the server returned no row for its facts');
  const settings: Partial<Record<CheckedSetting, string>> = {};
  for (const name of CHECKED_SETTINGS) {
    const value = row.settings?.[name];
    if (value !== undefined) settings[name] = value;
  }
  return {
    role: row.role,
    superuser: row.superuser,
    monitor: row.monitor,
    monitorNotInherited: row.monitor_member && !row.monitor,
    readAllStats: row.read_all_stats,
    readAllSettings: row.read_all_settings,
    ssl: row.ssl === true,
    sslVersion: row.ssl_version ?? undefined,
    settings,
    pgStatStatementsReadable: row.pss_readable,
    pgStatStatementsVersion: row.pss_version ?? undefined,
    forbiddenDatabases: row.forbidden ?? [],
  };
}
