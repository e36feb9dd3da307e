import { createHash } from 'node:crypto';
import type { ConnectionParams } from '../db/connection.ts';
import type { Session } from './session.ts';

/**
 * Sessions kept open between the runs of one process (a warm Lambda container), for the next run of the same
 * target and database to reuse.
 *
 * A fresh session pays for its connection (TCP, TLS, authentication) and, on a database with thousands of
 * relations, for building the relation-cache entry of every relation whose size it measures: on 8,000 relations
 * that is most of a full collection's database time (see the README's Performance section). A kept session has
 * both behind it.
 *
 * Bounds, so idle sessions never pile up on a server or in a container:
 * - the container keeps a session for `keepSeconds` after its run (the target's `keep_session_seconds`), and at
 *   most `maxSessions` in all, closing the least recently used beyond that;
 * - before a session is kept, its settings are reset (`RESET ALL`: nothing a custom query set survives the run)
 *   and the server is told to end it a little after the container would stop reusing it: `idle_session_timeout`
 *   on PostgreSQL 14+, TCP keepalives on 13, so a container that is frozen or reclaimed leaves nothing behind.
 * - a session is kept only while its role has room for a whole run besides: the role's sessions (every
 *   container's, this one included) plus the target's `max_connections` stay within the role's CONNECTION LIMIT,
 *   or within `2 × (max_connections + 1)` when the role has none. Kept sessions never make a run fail for want
 *   of a connection slot;
 * - a kept session is checked with one round trip before reuse; one the server ended, or that does not answer
 *   within the connect timeout, is dropped and a fresh one opened, with nothing reported.
 */

/** Slack the server gives a kept session over the container's own `keepSeconds`, so it never ends one in reuse. */
export const SERVER_IDLE_SLACK_SECONDS = 10;

/** Keepalives for PostgreSQL 13 (no `idle_session_timeout`): a peer silent this long (30 s + 3 × 10 s) is gone. */
const KEEPALIVES = { idle: 30, interval: 10, count: 3 } as const;

export interface SessionKeeperOptions {
  /** Sessions kept at most, over every target and database. @default 32 */
  readonly maxSessions?: number;
  readonly now?: () => number;
}

/** How one session is to be kept. */
export interface KeepOptions {
  /** Seconds the session may wait for its next run; 0 closes it now. */
  readonly keepSeconds: number;
  /** The server's major version: `idle_session_timeout` exists from 14. */
  readonly major: number | undefined;
  /** Bound on the round trip that prepares the session for keeping. */
  readonly timeoutMs: number;
  /** The target's `max_connections`: the room a run needs. */
  readonly maxConnections: number;
}

interface Kept {
  readonly session: Session;
  readonly expiresAtMs: number;
}

/** What the keeper did, for reports and the benchmark. */
export interface KeeperStats {
  /** Sessions handed out again. */
  reused: number;
  /** Sessions put aside after a run. */
  kept: number;
  /** Kept sessions closed unused: expired, over `maxSessions`, or found dead when taken. */
  dropped: number;
  /** Sessions closed after their run, not kept: the role had no room for them. */
  noRoom: number;
}

/**
 * The key of a session: target, where it connects and as whom. A hash of the password is part of it, so a
 * rotated secret opens new sessions; the hash never leaves this process's memory.
 */
export function sessionKey(target: string, params: ConnectionParams): string {
  const secret = createHash('sha256')
    .update(params.password)
    .update('\u0000')
    .update(params.clientCertificate?.key ?? '')
    .digest('base64url')
    .slice(0, 16);
  return [target, params.user, params.host, params.port, params.database, params.tls.mode, secret].join(
    '\u0000',
  );
}

/**
 * Whether a session may be kept: the role's open sessions (this one included) leave room for a run of
 * `maxConnections` sessions under the role's CONNECTION LIMIT (`rolconnlimit`, -1 for none), or under
 * `2 × (maxConnections + 1)` without one.
 */
export function roomToKeep(roleSessions: number, roleLimit: number, maxConnections: number): boolean {
  const limit = roleLimit >= 0 ? roleLimit : 2 * (maxConnections + 1);
  return roleSessions + maxConnections <= limit;
}

/**
 * The statement that readies a session for keeping: settings reset, the server's own bound on its idle time,
 * and what `roomToKeep` needs (`role_sessions`, `role_limit`).
 */
export function keepStatement(keepSeconds: number, major: number | undefined): string {
  const settings =
    major !== undefined && major >= 14
      ? [['idle_session_timeout', `${(keepSeconds + SERVER_IDLE_SLACK_SECONDS) * 1000}`]]
      : [
          ['tcp_keepalives_idle', `${KEEPALIVES.idle}`],
          ['tcp_keepalives_interval', `${KEEPALIVES.interval}`],
          ['tcp_keepalives_count', `${KEEPALIVES.count}`],
        ];
  return `RESET ALL; SELECT ${settings.map(([name, value]) => `set_config('${name}', '${value}', false)`).join(', ')},
  (SELECT count(*) FROM pg_stat_activity WHERE usename = current_user)::int AS role_sessions,
  (SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user) AS role_limit`;
}

export class SessionKeeper {
  readonly #kept = new Map<string, Kept>();
  readonly #max: number;
  readonly #now: () => number;
  readonly stats: KeeperStats = { reused: 0, kept: 0, dropped: 0, noRoom: 0 };

  constructor(options: SessionKeeperOptions = {}) {
    const max = options.maxSessions ?? 32;
    if (!Number.isInteger(max) || max < 0)
      throw new Error(`maxSessions must be a whole number >= 0, got ${max}`);
    this.#max = max;
    this.#now = options.now ?? Date.now;
  }

  /** Sessions kept now. */
  get size(): number {
    return this.#kept.size;
  }

  #drop(key: string): void {
    const kept = this.#kept.get(key);
    if (kept === undefined) return;
    this.#kept.delete(key);
    this.stats.dropped += 1;
    // Closing a session the server may already have ended waits for nobody: the run goes on.
    void kept.session.close();
  }

  /** Closes the sessions whose time is up. */
  #sweep(): void {
    const now = this.#now();
    for (const [key, kept] of this.#kept)
      if (now >= kept.expiresAtMs || kept.session.lost !== undefined) this.#drop(key);
  }

  /** The kept session for this key, taken out of the keeper; undefined when there is none (or it expired). */
  take(key: string): Session | undefined {
    this.#sweep();
    const kept = this.#kept.get(key);
    if (kept === undefined) return undefined;
    this.#kept.delete(key);
    this.stats.reused += 1;
    return kept.session;
  }

  /** Takes note that a session handed out by `take` turned out dead: it is closed and counted as dropped. */
  discard(session: Session): Promise<void> {
    this.stats.reused -= 1;
    this.stats.dropped += 1;
    return session.close();
  }

  /**
   * Keeps a session after its run, or closes it: when it is lost, keeping is off, or it cannot be readied.
   * Never throws.
   */
  async keep(key: string, session: Session, options: KeepOptions): Promise<void> {
    if (session.lost !== undefined || options.keepSeconds <= 0 || this.#max === 0) {
      await session.close();
      return;
    }
    let room: boolean;
    try {
      const results = (await session.client.query({
        text: keepStatement(options.keepSeconds, options.major),
        query_timeout: options.timeoutMs,
      } as never)) as unknown as { rows: { role_sessions: number; role_limit: number }[] }[];
      const row = results.at(-1)?.rows[0];
      room = row !== undefined && roomToKeep(row.role_sessions, row.role_limit, options.maxConnections);
    } catch {
      session.abandon('not readied for keeping');
      await session.close();
      return;
    }
    if (!room) {
      this.stats.noRoom += 1;
      await session.close();
      return;
    }
    const previous = this.#kept.get(key);
    if (previous !== undefined && previous.session !== session) this.#drop(key);
    this.#kept.delete(key);
    this.#kept.set(key, { session, expiresAtMs: this.#now() + options.keepSeconds * 1000 });
    this.stats.kept += 1;
    this.#sweep();
    // Map order is insertion order: the first sessions are the ones kept least recently.
    for (const [oldest] of this.#kept) {
      if (this.#kept.size <= this.#max) break;
      this.#drop(oldest);
    }
  }

  /** Closes every kept session (a process that is about to exit). */
  async closeAll(): Promise<void> {
    const sessions = [...this.#kept.values()].map((k) => k.session);
    this.#kept.clear();
    await Promise.all(sessions.map((s) => s.close()));
  }
}
