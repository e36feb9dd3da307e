import { createHash } from 'node:crypto';
import pg from 'pg';
import { abandonSession } from '../db/connection.ts';

/**
 * Runs one SQL statement the way every query of the engine runs: with the extended query protocol, in an
 * explicit read-only transaction of its own, reading at most a given number of rows, all in one round trip.
 *
 * - The extended protocol parses exactly one statement: `BEGIN READ WRITE; DELETE ...; COMMIT; SELECT 1` is
 *   refused by the server before anything runs ("cannot insert multiple commands into a prepared statement"),
 *   where the simple protocol would have run all four.
 * - `BEGIN READ ONLY` before the statement makes it read-only whatever an earlier statement did to the
 *   session (`set_config('default_transaction_read_only', 'off', false)`, `SET SESSION CHARACTERISTICS ...`,
 *   a lone `BEGIN READ WRITE`, which is ignored inside the block). The block ends with COMMIT, not ROLLBACK:
 *   like the implicit transaction it replaces, it counts in `xact_commit`, so monitoring does not raise the
 *   rollback rate it reports.
 * - `Execute` asks for `maxRows + 1` rows: the server stops there and the portal is closed, so a result of a
 *   million rows costs the rows kept, not the million.
 *
 * node-postgres' own `Query` cannot do the last one (its `rows` option pages through the whole result), so
 * this is a `Submittable`, the interface `pg-cursor` uses, talking to the connection directly.
 */

/** The result of one statement. */
export interface StatementResult {
  readonly fields: readonly { readonly name: string }[];
  readonly rows: readonly Record<string, unknown>[];
  /** The statement had more than `maxRows` rows; the rest were never read. */
  readonly truncated: boolean;
}

export interface StatementOptions {
  readonly values: readonly unknown[];
  /**
   * The statements already parsed on this session, by name, for a session kept between runs: the statement is
   * then a named prepared statement, parsed on its first run only. Its plan is cached when it has no parameters
   * (the session's `plan_cache_mode` keeps parameterized ones on custom plans), so a kept session plans its
   * parameterless queries once. Absent: an unnamed statement, parsed and planned every time.
   */
  readonly prepared?: Set<string>;
  /** Rows read at most. */
  readonly maxRows: number;
  /** Client-side bound on the round trip (node-postgres `query_timeout`). */
  readonly timeoutMs: number;
}

/** The connection calls used here (node-postgres 8 `lib/connection.js`); its bundled types say `rows` is a string. */
interface Wire {
  readonly stream: { cork?: () => void; uncork?: () => void };
  parse(message: { readonly text: string; readonly name?: string }): void;
  bind(message: { readonly statement?: string; readonly values: readonly (string | null)[] }): void;
  describe(message: { readonly type: 'P' }): void;
  execute(message: { readonly rows?: number }): void;
  sync(): void;
  sendCopyFail(message: string): void;
}

interface FieldMessage {
  readonly name: string;
  readonly dataTypeID: number;
}

type Callback = (error: Error | null, result?: StatementResult) => void;

/** A parameter in PostgreSQL's text format, as node-postgres writes it (arrays as array literals). */
function toParam(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) {
    const items = value.map((item) => {
      const text = toParam(item);
      return text === null ? 'NULL' : Array.isArray(item) ? text : `"${text.replace(/[\\"]/g, '\\$&')}"`;
    });
    return `{${items.join(',')}}`;
  }
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/** Names by statement text: the catalog and the custom queries are a fixed set, hashed once per process. */
const preparedNames = new Map<string, string>();

/** The name of a statement prepared on a kept session: the same text, the same name. */
export function preparedName(text: string): string {
  let name = preparedNames.get(text);
  if (name === undefined) {
    name = `pgotel_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    preparedNames.set(text, name);
  }
  return name;
}

class ReadOnlyStatement implements pg.Submittable {
  /** Read by node-postgres: it wraps `callback` to enforce the timeout. */
  callback: Callback;
  readonly query_timeout: number;
  readonly #text: string;
  /** '' for the unnamed statement. */
  readonly #name: string;
  /** Whether this round trip parses the statement (always, unless a kept session has it already). */
  readonly #parse: boolean;
  readonly #prepared: Set<string> | undefined;
  readonly #values: readonly (string | null)[];
  readonly #maxRows: number;
  #fields: FieldMessage[] = [];
  #parsers: ((text: string) => unknown)[] = [];
  readonly #rows: Record<string, unknown>[] = [];
  #truncated = false;
  #failure: Error | undefined;

  constructor(text: string, options: StatementOptions, callback: Callback) {
    this.#text = text;
    this.#prepared = options.prepared;
    this.#name = options.prepared === undefined ? '' : preparedName(text);
    this.#parse = options.prepared === undefined || !options.prepared.has(this.#name);
    this.#values = options.values.map(toParam);
    this.#maxRows = Math.max(0, Math.floor(options.maxRows));
    this.query_timeout = options.timeoutMs;
    this.callback = callback;
  }

  submit(connection: pg.Connection): void {
    const wire = connection as unknown as Wire;
    wire.stream.cork?.();
    try {
      wire.parse({ text: 'BEGIN READ ONLY' });
      wire.bind({ values: [] });
      wire.execute({});
      if (this.#parse) wire.parse({ text: this.#text, name: this.#name });
      wire.bind({ statement: this.#name, values: this.#values });
      wire.describe({ type: 'P' });
      wire.execute({ rows: this.#maxRows + 1 });
      wire.parse({ text: 'COMMIT' });
      wire.bind({ values: [] });
      wire.execute({});
      wire.sync();
    } finally {
      wire.stream.uncork?.();
    }
  }

  handleRowDescription(message: { readonly fields: readonly FieldMessage[] }): void {
    // The portal is described: the statement was parsed and bound, so a named one now exists on the session.
    if (this.#name !== '') this.#prepared?.add(this.#name);
    this.#fields = [...message.fields];
    this.#parsers = this.#fields.map((f) => pg.types.getTypeParser(f.dataTypeID, 'text'));
  }

  handleDataRow(message: { readonly fields: readonly (string | null)[] }): void {
    if (this.#rows.length >= this.#maxRows) {
      this.#truncated = true;
      return;
    }
    // A plain object, its columns added in the same order on every row, so the rows share one shape (an object
    // without a prototype is a hash table in V8: several times the memory and time on 8,000 rows). A column named
    // `__proto__` is defined rather than assigned, so it is just a column.
    const row: Record<string, unknown> = {};
    try {
      const fields = message.fields;
      for (let i = 0; i < fields.length; i++) {
        const field = this.#fields[i];
        if (field === undefined) continue;
        const raw = fields[i] ?? null;
        const parse = this.#parsers[i];
        const value = raw === null || parse === undefined ? raw : parse(raw);
        if (field.name === '__proto__')
          Object.defineProperty(row, field.name, {
            value,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        else row[field.name] = value;
      }
    } catch (error) {
      this.#failure ??= error instanceof Error ? error : new Error(String(error));
    }
    this.#rows.push(row);
  }

  handleCommandComplete(): void {
    // BEGIN, the statement and COMMIT each complete; the answer is whole at ReadyForQuery.
  }

  /** Only the statement's Execute has a row limit, so only it can be suspended. */
  handlePortalSuspended(): void {
    this.#truncated = true;
  }

  handleEmptyQuery(): void {
    // An empty statement has no columns, which the caller reports.
  }

  handleCopyInResponse(connection: pg.Connection): void {
    (connection as unknown as Wire).sendCopyFail('pgotel queries take no COPY input');
  }

  handleCopyData(): void {
    // COPY ... TO STDOUT: its data is not rows of a result.
  }

  handleError(error: Error): void {
    this.callback(error);
  }

  handleReadyForQuery(): void {
    if (this.#failure !== undefined) {
      this.callback(this.#failure);
      return;
    }
    this.callback(null, {
      fields: this.#fields.map((f) => ({ name: f.name })),
      rows: this.#rows,
      truncated: this.#truncated,
    });
  }
}

/** SQLSTATEs of a named statement that exists when we thought not, or not when we thought so. */
const DUPLICATE_PREPARED_STATEMENT = '42P05';
const UNKNOWN_PREPARED_STATEMENT = '26000';

/**
 * `submit`, and once more when the session's named statements were not what `prepared` said (a failed first run
 * that still parsed it; a custom query's `DEALLOCATE ALL`): the failed block is rolled back first.
 */
async function submitPrepared(
  client: pg.Client,
  text: string,
  options: StatementOptions,
): Promise<StatementResult> {
  try {
    return await submit(client, text, options);
  } catch (error) {
    const prepared = options.prepared;
    const code = error instanceof pg.DatabaseError ? error.code : undefined;
    if (
      prepared === undefined ||
      (code !== DUPLICATE_PREPARED_STATEMENT && code !== UNKNOWN_PREPARED_STATEMENT)
    )
      throw error;
    await client.query({ text: 'ROLLBACK', query_timeout: options.timeoutMs } as pg.QueryConfig);
    if (code === DUPLICATE_PREPARED_STATEMENT) prepared.add(preparedName(text));
    else prepared.clear();
    return await submit(client, text, options);
  }
}

/** Sends the statement; settles with its result or error. */
function submit(client: pg.Client, text: string, options: StatementOptions): Promise<StatementResult> {
  return new Promise((resolve, reject) => {
    const statement = new ReadOnlyStatement(text, options, (error, result) => {
      if (error !== null) reject(error);
      else if (result !== undefined) resolve(result);
    });
    client.query(statement);
  });
}

/**
 * Runs `text` as one read-only statement on `client` (see the module comment). Rejects with the server's
 * error, node-postgres' "Query read timeout", or a connection error; after a server error the failed
 * transaction block is rolled back (or, if even that fails, the session dropped), so the next statement
 * finds the session idle.
 */
export async function runReadOnlyStatement(
  client: pg.Client,
  text: string,
  options: StatementOptions,
): Promise<StatementResult> {
  try {
    return await submitPrepared(client, text, options);
  } catch (error) {
    // After an ERROR the server skipped the rest of the round trip, COMMIT included: the block is still open,
    // failed. A FATAL has ended the session: nothing to roll back.
    if (error instanceof pg.DatabaseError && error.severity === 'ERROR') {
      await client
        .query({ text: 'ROLLBACK', query_timeout: options.timeoutMs } as pg.QueryConfig)
        .catch(() => abandonSession(client));
    }
    throw error;
  }
}
