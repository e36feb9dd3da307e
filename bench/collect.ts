import { readFileSync } from 'node:fs';
import { brotliCompressSync, constants } from 'node:zlib';
import pg from 'pg';
import { type CollectResult, collect } from '../shared/collect/collect.ts';
import { SessionKeeper } from '../shared/collect/session-keeper.ts';
import { SizeMemory } from '../shared/collect/size-memory.ts';
import { connectionTarget } from '../shared/config/local-target.ts';
import { parseDsn } from '../shared/db/connection.ts';
import { toTimeSeriesWithKeys } from '../shared/export/remote-write-labels.ts';
import { TIER_INTERVAL_SECONDS, TIERS, type Tier } from '../shared/model/metrics.ts';
import { BUILTIN_QUERIES, DEFAULT_LIMITS } from '../shared/queries/catalog.ts';
import type { QueryLimits } from '../shared/queries/types.ts';
import { type PgInstance, startPostgres } from '../test/helpers/postgres.ts';

/** Result of the collection benchmark for one tier. */
export interface TierTiming {
  readonly tier: Tier;
  readonly runs: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly series: number;
  /** Database execution + planning time per run, from pg_stat_statements, ms (mean). */
  readonly dbMsPerRun: number;
  /** The same, per run: percentiles. */
  readonly db: Spread;
}

function percentile(sorted: readonly number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)] ?? Number.NaN;
}

const SCHEMA_SQL = (from: number, to: number) => `
DO $$
BEGIN
  FOR i IN ${from}..${to} LOOP
    EXECUTE format('CREATE TABLE app.t%s (id bigserial PRIMARY KEY, account int NOT NULL, note text, at timestamptz DEFAULT now())', i);
    EXECUTE format('CREATE INDEX t%s_account_idx ON app.t%s (account)', i, i);
    EXECUTE format('CREATE INDEX t%s_at_idx ON app.t%s (at)', i, i);
    EXECUTE format('INSERT INTO app.t%s (account, note) SELECT g %% 7, ''row '' || g FROM generate_series(1, 1 + (%s %% 50)) g', i, i);
  END LOOP;
END $$;`;

/**
 * The bench database: `bench` with `tables` tables of 3 indexes each, and the role `otel_monitor` (password
 * `bench-monitor`) with only `pg_monitor`.
 */
export async function createBenchDatabase(
  pg: PgInstance,
  tables: number,
  log: (line: string) => void,
): Promise<void> {
  log(`creating ${tables} tables with ${tables * 3} indexes`);
  await pg.query('CREATE DATABASE bench');
  await pg.query('CREATE SCHEMA app', [], 'bench');
  await pg.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements', [], 'bench');
  // One DO block per 250 tables keeps each transaction's lock count bounded.
  for (let from = 1; from <= tables; from += 250) {
    await pg.query(SCHEMA_SQL(from, Math.min(tables, from + 249)), [], 'bench');
  }
  await pg.query('VACUUM ANALYZE', [], 'bench');
  await pg.query("CREATE ROLE otel_monitor LOGIN PASSWORD 'bench-monitor'");
  await pg.query('GRANT pg_monitor TO otel_monitor');
}

/** Percentiles of one measure over the runs. */
export interface Spread {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

function spreadOf(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/** One statement of the full collection, from pg_stat_statements. */
export interface StatementCost {
  /** The catalog query it belongs to, or the first words of its text (session and transaction statements). */
  readonly name: string;
  readonly callsPerRun: number;
  /** Execution + planning per call, ms. */
  readonly msPerCall: number;
  /** Execution + planning per run, ms. */
  readonly msPerRun: number;
}

/** What one statement costs on its own: in a fresh session, and again in the same (warm) session. */
export interface Floor {
  readonly what: string;
  readonly coldMs: number;
  readonly warmMs: number;
}

/** One full collection (every tier in one run) at the given limits. */
export interface FullCollection {
  readonly runs: number;
  readonly wall: Spread;
  readonly db: Spread;
  readonly statementsPerRun: number;
  /** Planning part of the database time per run, ms. */
  readonly planMsPerRun: number;
  readonly series: number;
  /** Tables and indexes of the bench database with series. */
  readonly tablesCovered: number;
  readonly indexesCovered: number;
  readonly top: readonly StatementCost[];
  /** Client CPU (user + system) per run, ms. */
  readonly cpuMsPerRun: number;
  /** Peak resident set of the collector process during the runs, MB. */
  readonly peakRssMb: number;
  /** The historical tier's series keys as the series state stores them (joined, Brotli quality 5), KiB. */
  readonly historicalStateKiB: number;
  readonly historicalSeries: number;
}

const PGSS_TOTALS = `SELECT coalesce(sum(total_exec_time + total_plan_time), 0)::float8 AS ms,
                            coalesce(sum(total_plan_time), 0)::float8 AS plan_ms,
                            coalesce(sum(calls), 0)::float8 AS calls
                       FROM pg_stat_statements WHERE userid = 'otel_monitor'::regrole`;

/**
 * A statement text with its constants and parameters blanked, close to the way pg_stat_statements shows it (it
 * turns constants into `$5`, `$6`, ..., `epoch` of `extract` included).
 */
function shapeOf(text: string): string {
  return text
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/\$\d+/g, '?')
    .replace(/\b(?:NULL|epoch)\b/g, '?')
    .replace(/-?\b\d+(?:\.\d+)?\b/g, '?')
    .replace(/\s+/g, ' ')
    .trim();
}

const QUERY_SHAPES = BUILTIN_QUERIES.flatMap((query) =>
  query.sql.map((v) => ({ shape: shapeOf(v.sql), name: query.name })),
);

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/**
 * The catalog query a statement is (the one sharing the longest start with it, at least 80 characters), else the
 * statement's first words (the session's `BEGIN READ ONLY`, `COMMIT`, server detection, ...).
 */
function statementName(text: string): string {
  const shape = shapeOf(text);
  let best = { name: '', length: 0 };
  for (const q of QUERY_SHAPES) {
    const length = commonPrefix(shape, q.shape);
    if (length > best.length) best = { name: q.name, length };
  }
  return best.length >= Math.min(80, shape.length) ? best.name : shape.slice(0, 48);
}

/** Execution time of `sql` as EXPLAIN ANALYZE reports it (no per-node timing), ms. */
async function executionMs(client: pg.Client, sql: string): Promise<number> {
  const result = await client.query<{
    'QUERY PLAN': { 'Execution Time': number; 'Planning Time': number }[];
  }>(`EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON, FORMAT JSON) ${sql}`);
  const plan = result.rows[0]?.['QUERY PLAN'][0];
  return (plan?.['Execution Time'] ?? Number.NaN) + (plan?.['Planning Time'] ?? 0);
}

/**
 * The statements a full exact collection cannot avoid, each on its own; then, for comparison, the least a collector
 * can run for the seed's per-table and per-index values (every row, no filters, no locks skipped).
 */
const FLOORS: readonly { what: string; sql: string }[] = [
  {
    what: 'pg_relation_size of every user table and index',
    sql: `SELECT sum(pg_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind IN ('r', 'i') AND n.nspname = 'app'`,
  },
  {
    what: 'pg_total_relation_size of every user table',
    sql: `SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind = 'r' AND n.nspname = 'app'`,
  },
  {
    what: 'pg_stat_user_tables, every row',
    sql: 'SELECT count(*), sum(n_live_tup + seq_scan) FROM pg_stat_user_tables',
  },
  {
    what: 'pg_stat_user_indexes, every row',
    sql: 'SELECT count(*), sum(idx_scan) FROM pg_stat_user_indexes',
  },
  { what: "pg_database_size('bench')", sql: "SELECT pg_database_size('bench')" },
  {
    what: "the seed's table values, minimal: pg_stat_user_tables with pg_total_relation_size, every row",
    sql: `SELECT schemaname, relname, pg_total_relation_size(relid), n_live_tup, n_dead_tup, n_tup_ins, n_tup_upd,
                 n_tup_del, n_tup_hot_upd, vacuum_count, autovacuum_count, analyze_count, autoanalyze_count,
                 seq_scan, idx_scan, last_vacuum, last_autovacuum
            FROM pg_stat_user_tables ORDER BY 3 DESC`,
  },
  {
    what: "the seed's index values, minimal: pg_stat_user_indexes with pg_relation_size, every row",
    sql: `SELECT schemaname, relname, indexrelname, pg_relation_size(indexrelid), idx_scan, idx_tup_read,
                 idx_tup_fetch
            FROM pg_stat_user_indexes ORDER BY 4 DESC`,
  },
];

/**
 * Each floor statement in a new session (what a cold container pays) and right after in the
 * same session (relation cache built): the median of `repeats`.
 */
async function measureFloors(dsn: string, repeats: number): Promise<Floor[]> {
  const out: Floor[] = [];
  for (const { what, sql } of FLOORS) {
    const cold: number[] = [];
    const warm: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const client = new pg.Client({ connectionString: dsn });
      await client.connect();
      try {
        cold.push(await executionMs(client, sql));
        warm.push(await executionMs(client, sql));
      } finally {
        await client.end();
      }
    }
    out.push({ what, coldMs: spreadOf(cold).p50, warmMs: spreadOf(warm).p50 });
  }
  return out;
}

/** The historical tier's series keys, encoded as the series state stores them. */
function historicalStateKiB(result: CollectResult): { kib: number; series: number } {
  const keys = result.batches
    .filter((b) => b.tier === 'historical')
    .flatMap((b) => toTimeSeriesWithKeys(b.batch).keys);
  const text = Buffer.from(keys.join('\n'), 'utf8');
  const bytes = brotliCompressSync(text, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_SIZE_HINT]: text.length },
  });
  return { kib: bytes.length / 1024, series: keys.length };
}

/** Tables and indexes of database `bench` that have a size series. */
function covered(result: CollectResult): { tables: number; indexes: number } {
  let tables = 0;
  let indexes = 0;
  for (const { batch } of result.batches) {
    for (const family of batch.families) {
      const n = family.points.filter((p) => p.attributes.database_name === 'bench').length;
      if (family.name === 'postgresql.table.size') tables += n;
      if (family.name === 'postgresql.index.size') indexes += n;
    }
  }
  return { tables, indexes };
}
/** What runs carry from one to the next: nothing (a cold container), or kept sessions, and remembered sizes. */
interface Carry {
  readonly sessions?: SessionKeeper;
  readonly sizes?: SizeMemory;
}

/** The ways a run finds its database, measured. */
export const MODES = [
  {
    id: 'cold',
    label: 'cold',
    what: 'new sessions, every size measured: a cold Lambda container, `pgotel collect`',
  },
  {
    id: 'kept',
    label: 'kept, exact',
    what: "sessions kept from the previous run (`keep_session_seconds`), every size measured: a warm container's full pass",
  },
  {
    id: 'warm',
    label: 'warm',
    what: 'kept sessions and remembered sizes (`SizeMemory`): a warm container between full passes',
  },
] as const;
export type ModeId = (typeof MODES)[number]['id'];

/** One mode: every tier alone, and a full collection. */
export interface ModeResult {
  readonly mode: ModeId;
  readonly tiers: readonly TierTiming[];
  readonly full: FullCollection;
  /** Database time at the default cadences, fraction of one core (the warm mode: full pass amortized). */
  readonly dbCoreFraction: number;
  /** The same at the seed cadences (15 s / 60 s / 300 s, index statistics every 600 s). */
  readonly seedCoreFraction: number;
}

/** The collection benchmark's result; `markdown` is the README section's tables. */
export interface BenchCollectResult {
  readonly modes: readonly ModeResult[];
  readonly floors: readonly Floor[];
  /** The warm mode's full-pass interval: the worst staleness of a size no counter shows change. */
  readonly fullPassSeconds: number;
  /** Private memory (RssAnon) of a backend: new and idle, and kept after a full collection, MB. */
  readonly backendMb: { readonly fresh: number; readonly kept: number };
  readonly tables: number;
  readonly indexes: number;
  readonly markdown: string;
}

const fmt = (n: number, digits = 1) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const count = (n: number) => n.toLocaleString('en-US');

function markdownOf(r: Omit<BenchCollectResult, 'markdown'>, limits: QueryLimits): string {
  const lines: string[] = [];
  const modeOf = (id: ModeId) => r.modes.find((m) => m.mode === id) as ModeResult;
  const spread = (x: Spread) => `${fmt(x.p50)} / ${fmt(x.p95)} / ${fmt(x.p99)}`;
  lines.push(
    `\n### Collection, PostgreSQL 18, ${count(r.tables)} tables / ${count(r.indexes)} indexes, pg_monitor role (max_tables ${count(limits.maxTables)}, max_indexes ${count(limits.maxIndexes)})\n`,
    ...MODES.map((m) => `- **${m.label}**: ${m.what}.`),
    '',
    `| run | runs | ${MODES.map((m) => `${m.label}: wall p50 / p95 / p99 ms | ${m.label}: DB p50 / p95 / p99 ms`).join(' | ')} | series |`,
    `|---|---:|${MODES.map(() => '---:|---:|').join('')}---:|`,
  );
  for (const tier of TIERS) {
    const cells = r.modes.map((m) => {
      const t = m.tiers.find((x) => x.tier === tier) as TierTiming;
      return `${spread(t)} | ${spread(t.db)}`;
    });
    const first = modeOf('cold').tiers.find((x) => x.tier === tier) as TierTiming;
    lines.push(`| ${tier} | ${first.runs} | ${cells.join(' | ')} | ${count(first.series)} |`);
  }
  const cold = modeOf('cold').full;
  lines.push(
    `| **full collection** (every tier) | ${cold.runs} | ${r.modes.map((m) => `${spread(m.full.wall)} | ${spread(m.full.db)}`).join(' | ')} | ${count(cold.series)} |`,
    '',
    `| full collection | ${MODES.map((m) => m.label).join(' | ')} |`,
    `|---|${MODES.map(() => '---:|').join('')}`,
    `| statements per run (\`BEGIN\`/\`COMMIT\` included) | ${r.modes.map((m) => fmt(m.full.statementsPerRun, 0)).join(' | ')} |`,
    `| planning, ms per run (mean; included in the DB time) | ${r.modes.map((m) => fmt(m.full.planMsPerRun)).join(' | ')} |`,
    `| tables / indexes of \`bench\` covered | ${r.modes.map((m) => `${count(m.full.tablesCovered)} / ${count(m.full.indexesCovered)}`).join(' | ')} |`,
    `| client CPU per run, ms | ${r.modes.map((m) => fmt(m.full.cpuMsPerRun)).join(' | ')} |`,
    `| peak RSS of the bench process, MB | ${r.modes.map((m) => fmt(m.full.peakRssMb, 0)).join(' | ')} |`,
    `| DB time at the default cadences (${TIERS.map((t) => `${TIER_INTERVAL_SECONDS[t]} s`).join(' / ')}), % of one core | ${r.modes.map((m) => fmt(m.dbCoreFraction * 100, 3)).join(' | ')} |`,
    `| DB time at the seed cadences (15 s / 60 s / 300 s, index statistics 600 s), % of one core | ${r.modes.map((m) => fmt(m.seedCoreFraction * 100, 3)).join(' | ')} |`,
    '',
    `Historical series state ${count(cold.historicalSeries)} keys, ${fmt(cold.historicalStateKiB)} KiB Brotli. Warm: every size is measured again at least every ${count(r.fullPassSeconds)} s (the worst staleness of a size no counter shows change), amortized in its core fraction. A kept session's private memory on the server (RssAnon): ${fmt(r.backendMb.kept)} MB after a full collection, against ${fmt(r.backendMb.fresh)} MB for a new idle session.`,
    '',
    'Top 5 statements of a full collection (pg_stat_statements, execution + planning, ms per run):',
    '',
    `| ${MODES.map((m) => `${m.label}: statement | calls/run | ms/run`).join(' | ')} |`,
    `|${MODES.map(() => '---|---:|---:|').join('')}`,
  );
  for (let i = 0; i < 5; i++) {
    const cells = r.modes.map((m) => {
      const s = m.full.top[i];
      return s === undefined ? ' | | ' : `\`${s.name}\` | ${fmt(s.callsPerRun, 0)} | ${fmt(s.msPerRun, 2)}`;
    });
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push(
    '',
    "What bounds it: each unavoidable statement alone, then the least a collector can run for the seed's table and index values, in a new session and again in the same session (relation cache built), median of EXPLAIN ANALYZE (rows not sent):",
    '',
    '| statement | new session ms | same session again ms |',
    '|---|---:|---:|',
  );
  for (const fl of r.floors) lines.push(`| ${fl.what} | ${fmt(fl.coldMs)} | ${fmt(fl.warmMs)} |`);
  return lines.join('\n');
}

/** Private memory of a server process (RssAnon), MB; the bench runs on the server's machine. */
function rssAnonMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /RssAnon:\s+(\d+) kB/.exec(status)?.[1];
  return kb === undefined ? Number.NaN : Number(kb) / 1024;
}

/**
 * Collects each tier repeatedly, then every tier at once (a full collection), from PostgreSQL 18 holding
 * `tables` tables with 3 indexes each, as a `pg_monitor`-only role, in each of `MODES`; the database time of
 * every run comes from pg_stat_statements (execution + planning of the collector's role), read before and after
 * the run.
 */
export async function benchCollect(options: {
  readonly tables?: number;
  readonly runs?: Partial<Record<Tier | 'full', number>>;
  readonly limits?: QueryLimits;
  readonly log?: (line: string) => void;
}): Promise<BenchCollectResult> {
  const tables = options.tables ?? 2000;
  const log = options.log ?? (() => undefined);
  const runs = { critical: 200, standard: 100, historical: 20, full: 20, ...options.runs };
  const FULL_PASS_SECONDS = 3600;
  const pg18 = await startPostgres({
    major: 18,
    settings: {
      'pg_stat_statements.track': 'all',
      // Planning counts in DB time (exec + plan); pg_stat_statements leaves it out by default.
      'pg_stat_statements.track_planning': 'on',
      max_locks_per_transaction: '1024',
    },
  });
  const stats = await pg18.client('postgres');
  try {
    await createBenchDatabase(pg18, tables, log);
    const dsn = new URL(pg18.dsn('postgres'));
    dsn.username = 'otel_monitor';
    dsn.password = 'bench-monitor';
    const target = connectionTarget('bench', parseDsn(dsn.toString()), {
      environment: 'bench',
      keepSessionSeconds: 600,
    });
    const limits = options.limits ?? DEFAULT_LIMITS;
    const totals = async () => {
      const { rows } = await stats.query<{ ms: number; plan_ms: number; calls: number }>(PGSS_TOTALS);
      return { ms: rows[0]?.ms ?? 0, planMs: rows[0]?.plan_ms ?? 0, calls: rows[0]?.calls ?? 0 };
    };
    /** Database time per run of `runsSoFar` since the last reset, by catalog query, costliest first. */
    const statements = async (runsSoFar: number): Promise<StatementCost[]> => {
      const { rows } = await stats.query<{ query: string; calls: number; ms: number }>(
        `SELECT query, calls::float8 AS calls, (total_exec_time + total_plan_time)::float8 AS ms
           FROM pg_stat_statements WHERE userid = 'otel_monitor'::regrole`,
      );
      const byName = new Map<string, { calls: number; ms: number }>();
      for (const row of rows) {
        const name = statementName(row.query);
        const entry = byName.get(name) ?? { calls: 0, ms: 0 };
        entry.calls += row.calls;
        entry.ms += row.ms;
        byName.set(name, entry);
      }
      return [...byName]
        .sort((a, b) => b[1].ms - a[1].ms)
        .map(([name, { calls, ms }]) => ({
          name,
          callsPerRun: calls / runsSoFar,
          msPerCall: ms / calls,
          msPerRun: ms / runsSoFar,
        }));
    };
    const collectOnce = async (tiers: readonly Tier[], carry: Carry) => {
      const result = await collect(
        target,
        { tiers, scheduledAtMs: Date.now(), ignoreIntervals: true },
        { queries: BUILTIN_QUERIES, limits, ...carry },
      );
      const errors = result.queries.filter((q) => q.status === 'error');
      if (errors.length > 0) throw new Error(`query errors during the benchmark: ${JSON.stringify(errors)}`);
      return result;
    };
    /** `n` runs of `tiers` after a warm-up run, each with its wall time and database time. */
    const measure = async (tiers: readonly Tier[], n: number, carry: Carry) => {
      // Warm-up run: the first connection loads the server's catalog caches (and fills what the carry keeps).
      await collectOnce(tiers, carry);
      await stats.query('SELECT pg_stat_statements_reset()');
      const wall: number[] = [];
      const db: number[] = [];
      let calls = 0;
      let planMs = 0;
      let last: CollectResult | undefined;
      for (let i = 0; i < n; i++) {
        const before = await totals();
        last = await collectOnce(tiers, carry);
        const after = await totals();
        wall.push(last.durationMs);
        db.push(after.ms - before.ms);
        calls += after.calls - before.calls;
        planMs += after.planMs - before.planMs;
      }
      return { wall, db, callsPerRun: calls / n, planMsPerRun: planMs / n, last: last as CollectResult };
    };
    const carryOf = (mode: ModeId): Carry =>
      mode === 'cold'
        ? {}
        : mode === 'kept'
          ? { sessions: new SessionKeeper() }
          : { sessions: new SessionKeeper(), sizes: new SizeMemory({ fullPassSeconds: FULL_PASS_SECONDS }) };
    const done = async (carry: Carry) => {
      await carry.sessions?.closeAll();
    };

    const modes: ModeResult[] = [];
    let keptHistoricalMs = 0;
    let backendMb = { fresh: Number.NaN, kept: Number.NaN };
    for (const { id: mode } of MODES) {
      const tierResults: TierTiming[] = [];
      let indexStatsMs = 0;
      for (const tier of TIERS) {
        const carry = carryOf(mode);
        const m = await measure([tier], runs[tier], carry);
        if (tier === 'historical') {
          indexStatsMs = (await statements(runs[tier])).find((s) => s.name === 'index_stats')?.msPerRun ?? 0;
        }
        await done(carry);
        const wall = spreadOf(m.wall);
        const db = spreadOf(m.db);
        tierResults.push({
          tier,
          runs: runs[tier],
          ...wall,
          series: m.last.series,
          dbMsPerRun: m.db.reduce((a, b) => a + b, 0) / runs[tier],
          db,
        });
        log(
          `${mode} ${tier}: wall p50 ${fmt(wall.p50)} p99 ${fmt(wall.p99)} ms, db p50 ${fmt(db.p50)} p99 ${fmt(db.p99)} ms, ${m.last.series} series`,
        );
      }

      // A full collection: every tier in one run, as a scheduled run where all are due.
      const carry = carryOf(mode);
      let peakRss = process.memoryUsage().rss;
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      }, 5);
      const cpuBefore = process.cpuUsage();
      let full: Awaited<ReturnType<typeof measure>>;
      try {
        full = await measure(TIERS, runs.full, carry);
      } finally {
        clearInterval(sampler);
      }
      const cpu = process.cpuUsage(cpuBefore);
      const top = (await statements(runs.full)).slice(0, 5);
      if (mode === 'warm') {
        const { rows } = await stats.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgotel' AND datname = 'bench'",
        );
        const fresh = new pg.Client({ connectionString: dsn.toString().replace(/\/postgres$/, '/bench') });
        await fresh.connect();
        try {
          const own = await fresh.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          backendMb = {
            fresh: rssAnonMb(own.rows[0]?.pid ?? 0),
            kept: rssAnonMb(rows[0]?.pid ?? 0),
          };
        } finally {
          await fresh.end();
        }
      }
      await done(carry);
      const state = historicalStateKiB(full.last);
      const cover = covered(full.last);
      const wall = spreadOf(full.wall);
      const db = spreadOf(full.db);
      log(
        `${mode} full collection: wall p50 ${fmt(wall.p50)} p99 ${fmt(wall.p99)} ms, db p50 ${fmt(db.p50)} p99 ${fmt(db.p99)} ms, ${full.last.series} series`,
      );

      const perRun = (tier: Tier) => tierResults.find((t) => t.tier === tier)?.dbMsPerRun ?? 0;
      const historicalMs = perRun('historical');
      if (mode === 'kept') keptHistoricalMs = historicalMs;
      // The warm mode measures every size again once per full pass: what that costs over a warm run, amortized.
      const fullPassPerSecond =
        mode === 'warm' ? Math.max(0, keptHistoricalMs - historicalMs) / FULL_PASS_SECONDS : 0;
      const dbMsPerSecond =
        TIERS.reduce((sum, tier) => sum + perRun(tier) / TIER_INTERVAL_SECONDS[tier], 0) + fullPassPerSecond;
      const seedMsPerSecond =
        perRun('critical') / 15 +
        perRun('standard') / 60 +
        (historicalMs - indexStatsMs) / 300 +
        indexStatsMs / 600 +
        fullPassPerSecond;
      modes.push({
        mode,
        tiers: tierResults,
        full: {
          runs: runs.full,
          wall,
          db,
          statementsPerRun: full.callsPerRun,
          planMsPerRun: full.planMsPerRun,
          series: full.last.series,
          tablesCovered: cover.tables,
          indexesCovered: cover.indexes,
          top,
          cpuMsPerRun: (cpu.user + cpu.system) / 1000 / runs.full,
          peakRssMb: peakRss / 1024 / 1024,
          historicalStateKiB: state.kib,
          historicalSeries: state.series,
        },
        dbCoreFraction: dbMsPerSecond / 1000,
        seedCoreFraction: seedMsPerSecond / 1000,
      });
    }

    const benchDsn = new URL(dsn);
    benchDsn.pathname = '/bench';
    log('floors: each unavoidable statement alone');
    const floors = await measureFloors(benchDsn.toString(), 5);
    const result = {
      modes,
      floors,
      fullPassSeconds: FULL_PASS_SECONDS,
      backendMb,
      tables,
      indexes: tables * 3,
    };
    const markdown = markdownOf(result, limits);
    console.log(markdown);
    return { ...result, markdown };
  } finally {
    await stats.end();
    await pg18.destroy();
  }
}
