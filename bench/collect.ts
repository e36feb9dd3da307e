import { brotliCompressSync, constants } from 'node:zlib';
import pg from 'pg';
import { type CollectResult, collect } from '../shared/collect/collect.ts';
import { SizeMemory } from '../shared/collect/size-memory.ts';
import { connectionTarget } from '../shared/config/local-target.ts';
import { parseDsn } from '../shared/db/connection.ts';
import { toTimeSeriesWithKeys } from '../shared/export/remote-write-labels.ts';
import { TIER_INTERVAL_SECONDS, TIERS, type Tier } from '../shared/model/metrics.ts';
import { BUILTIN_QUERIES, DEFAULT_LIMITS } from '../shared/queries/catalog.ts';
import { effectiveInterval } from '../shared/queries/select.ts';
import type { QueryDefinition, QueryLimits } from '../shared/queries/types.ts';
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

/** The statements a full exact collection cannot avoid, each on its own. */
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
];

/**
 * Each floor statement in a fresh session (what a collection pays: its sessions are new) and right after in the
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

/**
 * Runs that remember sizes (`SizeMemory`) on a database where nothing changes: every relation's size is reused,
 * except on the full pass that measures all of them.
 */
export interface SteadyState {
  readonly runs: number;
  /** The historical tier alone, and a full collection (every tier), database time per run. */
  readonly historicalDb: Spread;
  readonly fullDb: Spread;
  readonly fullWall: Spread;
  /** The memory's full-pass interval: the worst staleness of a size the counters do not see change. */
  readonly fullPassSeconds: number;
  /** Database time at the default cadences, the full pass amortized over its interval: fraction of one core. */
  readonly dbCoreFraction: number;
  /** The costliest statements of a steady-state full collection. */
  readonly top: readonly StatementCost[];
}

/** The collection benchmark's result; `markdown` is the README section's tables. */
export interface BenchCollectResult {
  readonly tiers: TierTiming[];
  readonly full: FullCollection;
  readonly floors: readonly Floor[];
  readonly steady: SteadyState;
  readonly dbCoreFraction: number;
  readonly tables: number;
  readonly indexes: number;
  readonly markdown: string;
}

const fmt = (n: number, digits = 1) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function markdownOf(r: Omit<BenchCollectResult, 'markdown'>, limits: QueryLimits): string {
  const lines: string[] = [];
  const f = r.full;
  lines.push(
    `\n### Collection, PostgreSQL 18, ${r.tables.toLocaleString('en-US')} tables / ${r.indexes.toLocaleString('en-US')} indexes, pg_monitor role (max_tables ${limits.maxTables.toLocaleString('en-US')}, max_indexes ${limits.maxIndexes.toLocaleString('en-US')})\n`,
    '| run | runs | wall p50 ms | wall p95 ms | wall p99 ms | DB p50 ms | DB p95 ms | DB p99 ms | series |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const t of r.tiers) {
    lines.push(
      `| ${t.tier} | ${t.runs} | ${fmt(t.p50)} | ${fmt(t.p95)} | ${fmt(t.p99)} | ${fmt(t.db.p50)} | ${fmt(t.db.p95)} | ${fmt(t.db.p99)} | ${t.series.toLocaleString('en-US')} |`,
    );
  }
  lines.push(
    `| **full collection** (every tier) | ${f.runs} | ${fmt(f.wall.p50)} | ${fmt(f.wall.p95)} | ${fmt(f.wall.p99)} | ${fmt(f.db.p50)} | ${fmt(f.db.p95)} | ${fmt(f.db.p99)} | ${f.series.toLocaleString('en-US')} |`,
    '',
    `Full collection: ${fmt(f.statementsPerRun, 0)} statements per run (pg_stat_statements calls, \`BEGIN\`/\`COMMIT\` included); ` +
      `${f.tablesCovered.toLocaleString('en-US')} tables and ${f.indexesCovered.toLocaleString('en-US')} indexes of \`bench\` covered; ` +
      `client CPU ${fmt(f.cpuMsPerRun)} ms per run, peak RSS ${fmt(f.peakRssMb, 0)} MB; historical series state ` +
      `${f.historicalSeries.toLocaleString('en-US')} keys, ${fmt(f.historicalStateKiB)} KiB Brotli.`,
    `Database time at the default cadences (${TIERS.map((t) => `${TIER_INTERVAL_SECONDS[t]} s`).join(' / ')}, every query at its tier's unless \`queries.intervals\` says otherwise): ${fmt(r.dbCoreFraction * 100, 3)} % of one core.`,
    '',
    `Steady state (sizes remembered, \`SizeMemory\`, full pass every ${r.steady.fullPassSeconds.toLocaleString('en-US')} s, nothing changed between runs; ${r.steady.runs} runs): historical tier DB p50 ${fmt(r.steady.historicalDb.p50)} / p99 ${fmt(r.steady.historicalDb.p99)} ms; full collection DB p50 ${fmt(r.steady.fullDb.p50)} / p99 ${fmt(r.steady.fullDb.p99)} ms, wall p50 ${fmt(r.steady.fullWall.p50)} / p99 ${fmt(r.steady.fullWall.p99)} ms; at the default cadences with the full pass amortized: ${fmt(r.steady.dbCoreFraction * 100, 3)} % of one core. Worst staleness of a size: ${r.steady.fullPassSeconds.toLocaleString('en-US')} s (a change no counter shows).`,
    '',
    'Top 5 statements of a full collection (pg_stat_statements, execution + planning), every size measured and in steady state:',
    '',
    '| statement | calls/run | ms/call | ms/run | steady: statement | ms/run |',
    '|---|---:|---:|---:|---|---:|',
  );
  for (let i = 0; i < Math.max(f.top.length, r.steady.top.length); i++) {
    const cold = f.top[i];
    const warm = r.steady.top[i];
    lines.push(
      `| ${cold === undefined ? '' : `\`${cold.name}\``} | ${cold === undefined ? '' : fmt(cold.callsPerRun, 0)} | ${cold === undefined ? '' : fmt(cold.msPerCall, 2)} | ${cold === undefined ? '' : fmt(cold.msPerRun, 2)} | ${warm === undefined ? '' : `\`${warm.name}\``} | ${warm === undefined ? '' : fmt(warm.msPerRun, 2)} |`,
    );
  }
  lines.push(
    '',
    'What bounds it: each unavoidable statement alone, in a fresh session (as every collection runs) and again in the same session (relation cache built), median:',
    '',
    '| statement | fresh session ms | same session again ms |',
    '|---|---:|---:|',
  );
  for (const fl of r.floors) lines.push(`| ${fl.what} | ${fmt(fl.coldMs)} | ${fmt(fl.warmMs)} |`);
  return lines.join('\n');
}

/**
 * Collects each tier repeatedly, then every tier at once (a full collection), from PostgreSQL 18 holding
 * `tables` tables with 3 indexes each, as a `pg_monitor`-only role; the database time of every run comes from
 * pg_stat_statements (execution + planning of the collector's role), read before and after the run.
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
  const pg18 = await startPostgres({
    major: 18,
    settings: { 'pg_stat_statements.track': 'all', max_locks_per_transaction: '1024' },
  });
  const stats = await pg18.client('postgres');
  try {
    await createBenchDatabase(pg18, tables, log);
    const dsn = new URL(pg18.dsn('postgres'));
    dsn.username = 'otel_monitor';
    dsn.password = 'bench-monitor';
    const target = connectionTarget('bench', parseDsn(dsn.toString()), { environment: 'bench' });
    const limits = options.limits ?? DEFAULT_LIMITS;
    const totals = async () => {
      const { rows } = await stats.query<{ ms: number; calls: number }>(PGSS_TOTALS);
      return { ms: rows[0]?.ms ?? 0, calls: rows[0]?.calls ?? 0 };
    };
    /** The `n` costliest statements since the last reset, per run of `runs`, by catalog query. */
    const topStatements = async (runsSoFar: number, n = 5): Promise<StatementCost[]> => {
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
        .slice(0, n)
        .map(([name, { calls, ms }]) => ({
          name,
          callsPerRun: calls / runsSoFar,
          msPerCall: ms / calls,
          msPerRun: ms / runsSoFar,
        }));
    };
    const collectOnce = async (
      tiers: readonly Tier[],
      queries: readonly QueryDefinition[] = BUILTIN_QUERIES,
      sizes?: SizeMemory,
    ) => {
      const result = await collect(
        target,
        { tiers, scheduledAtMs: Date.now(), ignoreIntervals: true },
        { queries, limits, ...(sizes === undefined ? {} : { sizes }) },
      );
      const errors = result.queries.filter((q) => q.status === 'error');
      if (errors.length > 0) throw new Error(`query errors during the benchmark: ${JSON.stringify(errors)}`);
      return result;
    };
    /** `n` runs of `tiers` after a warm-up run, each with its wall time and database time. */
    const measure = async (tiers: readonly Tier[], n: number, sizes?: SizeMemory) => {
      // Warm-up run: the first connection loads the server's catalog caches (and fills the size memory).
      await collectOnce(tiers, BUILTIN_QUERIES, sizes);
      await stats.query('SELECT pg_stat_statements_reset()');
      const wall: number[] = [];
      const db: number[] = [];
      let calls = 0;
      let last: CollectResult | undefined;
      for (let i = 0; i < n; i++) {
        const before = await totals();
        last = await collectOnce(tiers, BUILTIN_QUERIES, sizes);
        const after = await totals();
        wall.push(last.durationMs);
        db.push(after.ms - before.ms);
        calls += after.calls - before.calls;
      }
      return { wall, db, callsPerRun: calls / n, last: last as CollectResult };
    };

    const results: TierTiming[] = [];
    for (const tier of TIERS) {
      const m = await measure([tier], runs[tier]);
      const wall = spreadOf(m.wall);
      const db = spreadOf(m.db);
      const timing: TierTiming = {
        tier,
        runs: runs[tier],
        ...wall,
        series: m.last.series,
        dbMsPerRun: m.db.reduce((a, b) => a + b, 0) / runs[tier],
        db,
      };
      log(
        `${tier}: wall p50 ${fmt(wall.p50)} p99 ${fmt(wall.p99)} ms, db p50 ${fmt(db.p50)} p99 ${fmt(db.p99)} ms, ${m.last.series} series`,
      );
      results.push(timing);
    }

    // A full collection: every tier in one run, as a scheduled run where all are due.
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 5);
    const cpuBefore = process.cpuUsage();
    let full: Awaited<ReturnType<typeof measure>>;
    try {
      full = await measure(TIERS, runs.full);
    } finally {
      clearInterval(sampler);
    }
    const cpu = process.cpuUsage(cpuBefore);
    const fullTop = await topStatements(runs.full);
    const state = historicalStateKiB(full.last);
    const cover = covered(full.last);
    const wallFull = spreadOf(full.wall);
    const dbFull = spreadOf(full.db);
    const fullCollection: FullCollection = {
      runs: runs.full,
      wall: wallFull,
      db: dbFull,
      statementsPerRun: full.callsPerRun,
      series: full.last.series,
      tablesCovered: cover.tables,
      indexesCovered: cover.indexes,
      top: fullTop,
      cpuMsPerRun: (cpu.user + cpu.system) / 1000 / runs.full,
      peakRssMb: peakRss / 1024 / 1024,
      historicalStateKiB: state.kib,
      historicalSeries: state.series,
    };
    log(
      `full collection: wall p50 ${fmt(wallFull.p50)} p99 ${fmt(wallFull.p99)} ms, db p50 ${fmt(dbFull.p50)} p99 ${fmt(dbFull.p99)} ms, ${full.last.series} series`,
    );

    // At the default cadences. Queries slower than their tier (a `queries.intervals` entry) are measured alone, so
    // their database time is counted at their own interval rather than the tier's.
    const dbMsPerRunOf = async (
      tier: Tier,
      queries: readonly QueryDefinition[],
      n: number,
      sizes?: SizeMemory,
    ) => {
      // With a size memory, a first run fills it.
      if (sizes !== undefined) await collectOnce([tier], queries, sizes);
      await stats.query('SELECT pg_stat_statements_reset()');
      for (let i = 0; i < n; i++) await collectOnce([tier], queries, sizes);
      return (await totals()).ms / n;
    };
    let dbMsPerSecond = 0;
    for (const t of results) {
      let slowMsPerSecond = 0;
      let slowMsPerRun = 0;
      for (const query of BUILTIN_QUERIES.filter((q) => q.tier === t.tier)) {
        const interval = effectiveInterval(query, {});
        if (interval <= TIER_INTERVAL_SECONDS[t.tier]) continue;
        const ms = await dbMsPerRunOf(t.tier, [query], Math.min(10, runs[t.tier]));
        slowMsPerRun += ms;
        slowMsPerSecond += ms / interval;
      }
      dbMsPerSecond +=
        Math.max(0, t.dbMsPerRun - slowMsPerRun) / TIER_INTERVAL_SECONDS[t.tier] + slowMsPerSecond;
    }
    // Steady state: sizes remembered across runs, nothing changing in between.
    const FULL_PASS_SECONDS = 3600;
    const memory = () => new SizeMemory({ fullPassSeconds: FULL_PASS_SECONDS });
    const steadyHistorical = await measure(['historical'], runs.historical, memory());
    const steadyFull = await measure(TIERS, runs.full, memory());
    const steadyTop = await topStatements(runs.full);
    const historical = results.find((t) => t.tier === 'historical');
    const perSecond = (tier: Tier) =>
      (results.find((t) => t.tier === tier)?.dbMsPerRun ?? 0) / TIER_INTERVAL_SECONDS[tier];
    // At the default cadences, as for the figure without memory: the historical queries slower than their tier
    // (index stats, 600 s) measured alone; plus, once per full-pass interval, what measuring every size costs
    // more than a steady run.
    const historicalQueries = BUILTIN_QUERIES.filter((q) => q.tier === 'historical');
    const slow = historicalQueries.filter((q) => effectiveInterval(q, {}) > TIER_INTERVAL_SECONDS.historical);
    const fastMs = await dbMsPerRunOf(
      'historical',
      historicalQueries.filter((q) => !slow.includes(q)),
      runs.historical,
      memory(),
    );
    let steadyMsPerSecond =
      perSecond('critical') + perSecond('standard') + fastMs / TIER_INTERVAL_SECONDS.historical;
    let steadyHistoricalMs = fastMs;
    for (const query of slow) {
      const ms = await dbMsPerRunOf('historical', [query], Math.min(10, runs.historical), memory());
      steadyMsPerSecond += ms / effectiveInterval(query, {});
      steadyHistoricalMs += ms;
    }
    steadyMsPerSecond += Math.max(0, (historical?.dbMsPerRun ?? 0) - steadyHistoricalMs) / FULL_PASS_SECONDS;
    const steady: SteadyState = {
      runs: runs.full,
      historicalDb: spreadOf(steadyHistorical.db),
      fullDb: spreadOf(steadyFull.db),
      fullWall: spreadOf(steadyFull.wall),
      fullPassSeconds: FULL_PASS_SECONDS,
      dbCoreFraction: steadyMsPerSecond / 1000,
      top: steadyTop,
    };
    log(
      `steady state: historical db p50 ${fmt(steady.historicalDb.p50)} ms, full collection db p50 ${fmt(steady.fullDb.p50)} ms`,
    );
    const benchDsn = new URL(dsn);
    benchDsn.pathname = '/bench';
    log('floors: each unavoidable statement alone');
    const floors = await measureFloors(benchDsn.toString(), 5);
    const result = {
      tiers: results,
      full: fullCollection,
      floors,
      steady,
      dbCoreFraction: dbMsPerSecond / 1000,
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
