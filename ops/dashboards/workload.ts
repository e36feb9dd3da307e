import type pg from 'pg';
import type { PgInstance } from '../../test/helpers/postgres.ts';
import { delay } from '../../test/helpers/processes.ts';

/**
 * A small shop database whose activity fills every dashboard panel that a single primary with one
 * streaming replica can fill: dead tuples over the 1,000-row thresholds, a vacuumed table, slots, a
 * session blocked by another's row lock, a long open transaction and a long-running statement,
 * and statements for pg_stat_statements.
 */

export const SHOP = 'shop';
/** Orders created, and deleted without a vacuum (autovacuum is off on the table): its dead tuples. */
export const ORDERS = 10_000;
export const DELETED_ORDERS = 3_000;
export const PHYSICAL_SLOT = 'dashboards_physical';
export const LOGICAL_SLOT = 'dashboards_logical';

/**
 * Creates the shop database, its tables and two replication slots. Run it before any session holds a
 * transaction open: creating a logical slot waits for every running transaction to end.
 */
export async function prepareShop(primary: PgInstance): Promise<void> {
  await primary.query(`CREATE DATABASE ${SHOP}`);
  const client = await primary.client(SHOP);
  try {
    await client.query(
      'CREATE TABLE orders (id integer PRIMARY KEY, customer integer NOT NULL, note text) WITH (autovacuum_enabled = false)',
    );
    await client.query('CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL)');
    await client.query('CREATE INDEX orders_customer ON orders (customer)');
    await client.query(`INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 500) AS g`);
    await client.query(
      `INSERT INTO orders SELECT g, g % 500 + 1, repeat('x', 60) FROM generate_series(1, ${ORDERS}) AS g`,
    );
    await client.query(`DELETE FROM orders WHERE id <= ${DELETED_ORDERS}`);
    await client.query('UPDATE customers SET name = name WHERE id <= 100');
    await client.query('VACUUM ANALYZE customers');
    await flushStats(primary, client);
  } finally {
    await client.end();
  }
  // 13 and 14 send statistics to the stats collector at the latest when the session ends.
  await waitFor('the dead tuples of orders in pg_stat_user_tables', async () => {
    const rows = await primary.query<{ dead: string }>(
      "SELECT n_dead_tup::text AS dead FROM pg_stat_user_tables WHERE relname = 'orders'",
      [],
      SHOP,
    );
    return rows[0]?.dead === String(DELETED_ORDERS);
  });
  await primary.query('SELECT pg_create_physical_replication_slot($1, true)', [PHYSICAL_SLOT]);
  await primary.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [LOGICAL_SLOT]);
}

/**
 * One round of shop traffic for the pictures; `round` varies the mix so graphs move: new orders, half of
 * the previous round's deleted (dead tuples grow until a vacuum), lookups, a join, and every third round
 * a sort too large for `work_mem` (temporary files).
 */
export async function shopTraffic(primary: PgInstance, round: number): Promise<void> {
  const client = await primary.client(SHOP);
  try {
    const first = ORDERS + 1 + round * 1_000;
    await client.query(
      `INSERT INTO orders SELECT g, g % 500 + 1, 'new' FROM generate_series($1::integer, $2::integer) AS g`,
      [first, first + 300 + 200 * (round % 4)],
    );
    if (round > 0)
      await client.query('DELETE FROM orders WHERE id BETWEEN $1 AND $2', [first - 1_000, first - 800]);
    for (let i = 0; i < 20 + 15 * (round % 3); i++) {
      await client.query('SELECT count(*) FROM orders WHERE customer = $1', [(round * 37 + i) % 500]);
    }
    await client.query('UPDATE customers SET name = name WHERE id % 10 = $1', [round % 10]);
    await client.query(
      'SELECT c.name, count(o.id) FROM customers c JOIN orders o ON o.customer = c.id GROUP BY c.name',
    );
    if (round % 3 === 0) {
      await client.query("SET work_mem = '64kB'");
      await client.query('SELECT id FROM orders ORDER BY note, customer DESC LIMIT 1 OFFSET 5000');
      await client.query('RESET work_mem');
    }
    await flushStats(primary, client);
  } finally {
    await client.end();
  }
}

/**
 * Makes the session's pending statistics visible now on PostgreSQL 15+ (the flush happens when the
 * backend goes idle, so the next statement is only read after it); 13 and 14 send them within 0.5 s.
 */
async function flushStats(primary: PgInstance, client: pg.Client): Promise<void> {
  if (primary.major < 15) return;
  await client.query('SELECT pg_stat_force_next_flush()');
  await client.query('SELECT 1');
}

/** Sessions that stay open until `close()`. */
export interface Sessions {
  close(): Promise<void>;
}

async function waitFor(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(100);
  }
}

async function pidOf(client: pg.Client): Promise<number> {
  const row = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0];
  if (row === undefined) throw new Error('pg_backend_pid() returned no row');
  return row.pid;
}

/**
 * A transaction idle while holding a row lock of `orders`, a session waiting for that lock, and a
 * statement running (`pg_sleep`), each in the shop database. Returns once the waiter waits and both the
 * transaction and the statement are older than `minAgeMs`.
 */
export async function openSessions(primary: PgInstance, minAgeMs: number): Promise<Sessions> {
  const holder = await primary.client(SHOP);
  const waiter = await primary.client(SHOP);
  const sleeper = await primary.client(SHOP);
  const clients = [holder, waiter, sleeper];
  const endAll = () => Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  const started = Date.now();
  // The waiter's update completes after the rollback; the sleeper's statement fails when cancelled.
  const pending: Promise<unknown>[] = [];
  let sleeperPid = 0;
  try {
    const waiterPid = await pidOf(waiter);
    sleeperPid = await pidOf(sleeper);
    await holder.query('BEGIN');
    await holder.query("UPDATE orders SET note = 'held' WHERE id = $1", [ORDERS]);
    pending.push(
      waiter.query("UPDATE orders SET note = 'waited' WHERE id = $1", [ORDERS]).catch(() => undefined),
    );
    pending.push(sleeper.query('SELECT pg_sleep(3600)').catch(() => undefined));
    await waitFor('the waiter to wait for the row lock', async () => {
      const rows = await primary.query<{ t: string | null }>(
        'SELECT wait_event_type AS t FROM pg_stat_activity WHERE pid = $1',
        [waiterPid],
      );
      return rows[0]?.t === 'Lock';
    });
    await delay(Math.max(0, started + minAgeMs - Date.now()));
  } catch (error) {
    await endAll();
    throw error;
  }
  return {
    async close() {
      await holder.query('ROLLBACK');
      await primary.query('SELECT pg_cancel_backend($1)', [sleeperPid]);
      await Promise.all(pending);
      await endAll();
    },
  };
}
