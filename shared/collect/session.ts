import type pg from 'pg';
import { abandonSession, type SessionSettings } from '../db/connection.ts';

/** How long closing a session may take before its socket is dropped. */
export const CLOSE_TIMEOUT_MS = 1_000;

/** The error node-postgres gives a round trip that outlived its `query_timeout`. */
const PG_READ_TIMEOUT = 'Query read timeout';

/** The text of a round trip given up on because the server did not answer in time. */
export function noAnswerMessage(timeoutMs: number): string {
  return `no answer from the server within ${Math.round(timeoutMs)} ms`;
}

/** Whether a report or error message is `noAnswerMessage`'s: the session is then stuck behind that round trip. */
export function isNoAnswer(message: string | undefined): boolean {
  return message?.startsWith('no answer from the server within ') === true;
}

/** An error's message for a report, with node-postgres' read timeout said plainly. */
export function describeFailure(error: unknown, timeoutMs: number): string {
  const message = error instanceof Error ? error.message : String(error);
  return message === PG_READ_TIMEOUT ? noAnswerMessage(timeoutMs) : message;
}

/**
 * SQLSTATEs the server sends as it ends the session (admin or crash shutdown, idle timeouts) and the
 * connection-exception class: after one of these the session is gone, whatever the socket says yet.
 */
function endsSession(sqlstate: string | undefined): boolean {
  return sqlstate !== undefined && (/^57P0[1-5]$/.test(sqlstate) || sqlstate.startsWith('08'));
}

/**
 * One monitoring session as the engine uses it. node-postgres reports a dead connection as an 'error'
 * event on the client (unhandled, that event would crash the process) and then fails every later query
 * with "Client has encountered a connection error and is not queryable"; the session keeps the real
 * cause instead, so the queries it can no longer run are reported with it, and it closes within a bound
 * even when the server has stopped answering.
 */
export class Session {
  readonly client: pg.Client;
  /** Named statements parsed on this session; used when it is kept between runs (`runReadOnlyStatement`). */
  readonly prepared = new Set<string>();
  #lost: string | undefined;
  /** Whether `#lost` is the definite cause (the server's FATAL, or our own decision), not just the socket closing. */
  #definite = false;
  #closing: Promise<void> | undefined;

  constructor(client: pg.Client) {
    this.client = client;
    client.on('error', (error: Error) => {
      // A server error (it has a severity) is the cause; "Connection terminated unexpectedly" only the symptom.
      this.#markLost(`connection lost: ${error.message || error.name}`, 'severity' in error);
    });
  }

  /** Why the session can no longer be used, or undefined while it can. */
  get lost(): string | undefined {
    return this.#lost;
  }

  #markLost(reason: string, definite: boolean): void {
    if (this.#lost !== undefined && (this.#definite || !definite)) return;
    this.#lost = reason;
    this.#definite = definite;
  }

  /** Takes note of a failed query: one the server ended the session with, or one that got no answer. */
  noteFailure(message: string, sqlstate: string | undefined): void {
    if (endsSession(sqlstate)) this.#markLost(`connection lost: ${message}`, true);
    else if (isNoAnswer(message)) this.abandon(message);
  }

  /**
   * Gives up on the session: its socket is closed at once. A round trip without an answer leaves the
   * session stuck behind it (node-postgres cannot cancel), so nothing more may be sent on it.
   */
  abandon(reason: string): void {
    this.#markLost(`session dropped: ${reason}`, true);
    abandonSession(this.client);
  }

  /** Sets the per-statement timeouts of another tier, bounded by `timeoutMs`; drops the session on failure. */
  async applySettings(name: string, settings: SessionSettings, timeoutMs: number): Promise<void> {
    try {
      await this.client.query({
        text: `SELECT set_config('statement_timeout', $1, false), set_config('lock_timeout', $2, false)`,
        values: [`${Math.round(settings.statementTimeoutMs)}`, `${Math.round(settings.lockTimeoutMs)}`],
        query_timeout: timeoutMs,
      } as pg.QueryConfig);
    } catch (error) {
      // Queries must not run with another tier's timeouts: the session is not used any more.
      this.abandon(`settings of tier ${name} not applied: ${describeFailure(error, timeoutMs)}`);
    }
  }

  /** Ends the session; never throws, and drops the socket if the server does not see it off in time. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const ended = this.client.end().then(
        () => true,
        () => true,
      );
      const late = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), CLOSE_TIMEOUT_MS);
      });
      const closed = await Promise.race([ended, late]);
      clearTimeout(timer);
      if (!closed) abandonSession(this.client);
    })();
    return this.#closing;
  }
}
