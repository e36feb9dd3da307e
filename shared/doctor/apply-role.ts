import type pg from 'pg';
import { PG_STAT_STATEMENTS_STEP, type PgStatStatements, type RoleStep } from './monitoring-role.ts';

/**
 * `pgotel setup-user` against a server: what the admin session sees (databases, preloaded libraries), and
 * running the setup in one transaction. The admin session is opened read-only like every pgotel session; the
 * setup's transaction alone is `READ WRITE`.
 */

/** The setup cannot be done as asked; the message names the flag or the statement. */
export class RoleSetupError extends Error {
  override readonly name = 'RoleSetupError';
}

/** A database as the admin session sees it. */
export interface AdminDatabase {
  readonly name: string;
  /** Not a template, and `datallowconn`. */
  readonly connectable: boolean;
  /** The admin may grant CONNECT on it (owner, superuser, or a grant with GRANT OPTION). */
  readonly canGrant: boolean;
}

/** What the admin session learns before building the setup. */
export interface AdminFacts {
  readonly database: string;
  readonly user: string;
  readonly inRecovery: boolean;
  readonly pgStatStatements: PgStatStatements;
  /** Every database, sorted by name. */
  readonly databases: readonly AdminDatabase[];
}

/** Reads {@link AdminFacts} in one round trip. */
export async function readAdminFacts(client: pg.Client): Promise<AdminFacts> {
  const { rows } = await client.query<{
    database: string;
    user: string;
    in_recovery: boolean;
    preload: string | null;
    databases: { name: string; connectable: boolean; can_grant: boolean }[] | null;
  }>(
    `SELECT current_database() AS database, current_user AS user, pg_is_in_recovery() AS in_recovery,
            (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries') AS preload,
            (SELECT json_agg(json_build_object(
                      'name', datname,
                      'connectable', datallowconn AND NOT datistemplate,
                      'can_grant', has_database_privilege(oid, 'CONNECT WITH GRANT OPTION')) ORDER BY datname)
               FROM pg_database) AS databases`,
  );
  const row = rows[0];
  if (row === undefined) throw new RoleSetupError('the server returned no row for its settings');
  return {
    database: row.database,
    user: row.user,
    inRecovery: row.in_recovery,
    pgStatStatements: preloadState(row.preload),
    databases: (row.databases ?? []).map((d) => ({
      name: d.name,
      connectable: d.connectable,
      canGrant: d.can_grant,
    })),
  };
}

/** `shared_preload_libraries` (null: this role may not read it) as what it means for pg_stat_statements. */
function preloadState(setting: string | null): PgStatStatements {
  if (setting === null) return { kind: 'unknown' };
  const libraries = setting.split(',').map((l) => l.trim().replace(/^"|"$/g, ''));
  return libraries.includes('pg_stat_statements')
    ? { kind: 'preloaded' }
    : { kind: 'not-preloaded', libraries: setting };
}

/** The databases to grant CONNECT on, and those left out by default with the reason. */
export interface DatabaseChoice {
  readonly databases: readonly string[];
  readonly leftOut: readonly { readonly database: string; readonly reason: string }[];
}

/**
 * The databases of the setup: `requested` (each must exist, accept connections and be grantable by the admin:
 * anything else is an error naming `--databases`), or by default every connectable database, leaving out
 * those the admin may not grant on (RDS's `rdsadmin`) with the reason.
 */
export function chooseDatabases(facts: AdminFacts, requested: readonly string[] | undefined): DatabaseChoice {
  const byName = new Map(facts.databases.map((d) => [d.name, d]));
  const cannotGrant = (name: string) =>
    `role ${facts.user} may not grant CONNECT on database ${name} (run as its owner or a superuser)`;
  if (requested !== undefined) {
    for (const name of requested) {
      const database = byName.get(name);
      if (database === undefined) throw new RoleSetupError(`--databases: database ${name} does not exist`);
      if (!database.connectable)
        throw new RoleSetupError(`--databases: database ${name} is a template or does not allow connections`);
      if (!database.canGrant) throw new RoleSetupError(`--databases: ${cannotGrant(name)}`);
    }
    return { databases: requested, leftOut: [] };
  }
  const connectable = facts.databases.filter((d) => d.connectable);
  return {
    databases: connectable.filter((d) => d.canGrant).map((d) => d.name),
    leftOut: connectable
      .filter((d) => !d.canGrant)
      .map((d) => ({ database: d.name, reason: cannotGrant(d.name) })),
  };
}

/** What happened to `pg_stat_statements` in an applied setup. */
export type ExtensionOutcome =
  | { readonly kind: 'created' }
  | { readonly kind: 'not-preloaded' }
  | { readonly kind: 'failed'; readonly message: string };

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs `steps` in one `READ WRITE` transaction, then `CREATE EXTENSION pg_stat_statements` when it is
 * preloaded, under a savepoint: an admin that may create roles but not extensions still gets the role, and is
 * told. A failing step rolls everything back and is named in the error.
 */
export async function applyRoleSetup(
  client: pg.Client,
  steps: readonly RoleStep[],
  createExtension: boolean,
): Promise<ExtensionOutcome> {
  await client.query('BEGIN READ WRITE');
  try {
    for (const step of steps) {
      try {
        await client.query(step.sql);
      } catch (error) {
        throw new RoleSetupError(`${step.what}: ${messageOf(error)}`, { cause: error });
      }
    }
    let outcome: ExtensionOutcome = { kind: 'not-preloaded' };
    if (createExtension) {
      await client.query('SAVEPOINT pgotel_extension');
      try {
        await client.query(PG_STAT_STATEMENTS_STEP.sql);
        await client.query('RELEASE SAVEPOINT pgotel_extension');
        outcome = { kind: 'created' };
      } catch (error) {
        await client.query('ROLLBACK TO SAVEPOINT pgotel_extension');
        outcome = { kind: 'failed', message: messageOf(error) };
      }
    }
    await client.query('COMMIT');
    return outcome;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
