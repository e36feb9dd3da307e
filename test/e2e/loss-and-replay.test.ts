import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArchivedObject } from '../../shared/archive/archive.ts';
import { FileArchiveStore } from '../../shared/archive/file-store.ts';
import { type CollectResult, type CollectTarget, collect } from '../../shared/collect/collect.ts';
import { connectionTarget } from '../../shared/config/local-target.ts';
import { parseDsn } from '../../shared/db/connection.ts';
import { type ExportSummary, exportRun } from '../../shared/export/export-run.ts';
import { toTimeSeries } from '../../shared/export/remote-write-labels.ts';
import { seriesKey } from '../../shared/export/staleness.ts';
import type { MetricBatch } from '../../shared/model/metrics.ts';
import { BUILTIN_QUERIES, DEFAULT_LIMITS } from '../../shared/queries/catalog.ts';
import { pgotel } from '../helpers/cli.ts';
import { type PgInstance, startPostgres } from '../helpers/postgres.ts';
import { makeTmpRoot } from '../helpers/processes.ts';
import { type PromInstance, startPrometheus } from '../helpers/prometheus.ts';

/**
 * Nothing lost: Prometheus goes down, the run is still archived; once Prometheus is back, `pgotel replay`
 * re-sends the archived run and PromQL shows exactly the values collected while it was down.
 */

const TARGET = 'e2e-primary';
const CLUSTER = 'e2e';

let pg: PgInstance;
let prom: PromInstance;
let archiveDir: string;
let store: FileArchiveStore;

function targetOf(server: PgInstance): CollectTarget {
  return connectionTarget(TARGET, parseDsn(server.dsn()), { cluster: CLUSTER, environment: 'test' });
}

/** Collects every tier and exports it to Prometheus and the file archive. */
async function collectAndExport(
  remote: { maxAttempts?: number },
  deadlineInMs: number,
): Promise<{ result: CollectResult; summary: ExportSummary }> {
  const scheduledAtMs = Date.now();
  const result = await collect(
    targetOf(pg),
    { tiers: ['critical', 'standard', 'historical'], scheduledAtMs, ignoreIntervals: true },
    { queries: BUILTIN_QUERIES, limits: DEFAULT_LIMITS },
  );
  const summary = await exportRun(
    {
      batches: result.batches,
      cluster: CLUSTER,
      target: TARGET,
      scheduledAtMs,
      deadlineMs: Date.now() + deadlineInMs,
    },
    {
      remoteWrite: { url: prom.writeUrl, ...remote },
      archive: { store, prefix: '', compression: 'none' },
    },
  );
  return { result, summary };
}

function timeOf(result: CollectResult): number {
  const time = result.batches[0]?.batch.timeMs;
  if (time === undefined) throw new Error('collect returned no batch');
  return time;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/**
 * Every raw sample Prometheus stores at exactly `timeMs` (a 1 ms range selector, so no lookback), as
 * `seriesKey → [timestampMs, value]`, sorted by key.
 */
async function rawSamplesAt(timeMs: number): Promise<Array<[string, number, number]>> {
  const response = await fetch(`${prom.url}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: '{__name__=~".+"}[1ms]', time: String(timeMs / 1000) }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await response.json()) as {
    status: string;
    data: { resultType: string; result: { metric: Record<string, string>; values: [number, string][] }[] };
  };
  expect([body.status, body.data.resultType]).toEqual(['success', 'matrix']);
  const out: Array<[string, number, number]> = [];
  for (const { metric, values } of body.data.result) {
    const key = seriesKey(Object.entries(metric).map(([name, value]) => ({ name, value })));
    for (const [ts, value] of values) out.push([key, Math.round(ts * 1000), parseValue(value)]);
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** The same view of batches, as remote-write would send them. */
function samplesOf(batches: readonly MetricBatch[]): Array<[string, number, number]> {
  return batches
    .flatMap((b) => toTimeSeries(b))
    .flatMap((s) =>
      s.samples.map((x): [string, number, number] => [seriesKey(s.labels), x.timestampMs, x.value]),
    )
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

async function samplesInObjects(keys: readonly string[]): Promise<number> {
  let n = 0;
  for (const key of keys) n += samplesOf(await readArchivedObject(store, key)).length;
  return n;
}

const count = (n: number): string => n.toLocaleString('en-US');

beforeAll(async () => {
  [pg, prom] = await Promise.all([startPostgres(), startPrometheus()]);
  archiveDir = await makeTmpRoot('replay-e2e');
  store = new FileArchiveStore(join(archiveDir, 'archive'));
  await pg.query('CREATE TABLE e2e_items (id integer PRIMARY KEY)');
  await pg.query('INSERT INTO e2e_items SELECT g FROM generate_series(1, 100) AS g');
});

afterAll(async () => {
  await Promise.all([pg?.destroy(), prom?.destroy()]);
});

describe('remote-write outage, archive, replay', () => {
  let run2: CollectResult;
  let run2Keys: string[];
  const archiveUrl = (): string => `file://${join(archiveDir, 'archive')}`;
  const at = (): string => new Date(timeOf(run2)).toISOString();

  it('run 1 goes to Prometheus and the archive', async () => {
    // Act
    const { result, summary } = await collectAndExport({}, 30_000);

    // Assess
    expect(result.up).toBe(1);
    expect(summary.remoteWrite).toMatchObject({ ok: true, samplesSent: result.series, samplesRejected: 0 });
    expect(summary.archive).toMatchObject({ ok: true, errors: [] });
    expect(await rawSamplesAt(timeOf(result))).toEqual(samplesOf(result.batches.map((b) => b.batch)));
  });

  it('run 2 while Prometheus is down: remote-write fails with connection refused, the archive is written', async () => {
    // Prepare
    await prom.stop();

    // Act
    const { result, summary } = await collectAndExport({ maxAttempts: 2 }, 5_000);
    run2 = result;
    run2Keys = (summary.archive?.objects ?? []).map((o) => o.key);

    // Assess
    const rw = summary.remoteWrite;
    expect(result.up).toBe(1);
    expect(rw?.ok).toBe(false);
    expect(rw?.samplesSent).toBe(0);
    expect(rw?.samplesRejected).toBe(result.series);
    expect(rw?.errors).toHaveLength(rw?.requests ?? -1);
    for (const error of rw?.errors ?? []) {
      expect(error).toMatch(
        new RegExp(
          `^request \\d+/\\d+ \\(\\d+ series, \\d+ samples\\) to ${prom.writeUrl}: gave up after 2 attempts: network error: ECONNREFUSED: connect ECONNREFUSED 127\\.0\\.0\\.1:${prom.port}$`,
        ),
      );
    }
    expect(summary.archive).toMatchObject({ ok: true, errors: [] });
    expect(summary.archive?.objects.map((o) => o.tier)).toEqual(['critical', 'standard', 'historical']);
    for (const object of summary.archive?.objects ?? []) {
      expect((await stat(join(archiveDir, 'archive', object.key))).size).toBe(object.bytes);
    }
    expect(await samplesInObjects(run2Keys)).toBe(result.series);
  });

  it('pgotel replay re-sends run 2 once Prometheus is back: exact values at run 2 time', async () => {
    // Prepare
    await prom.start();
    const before = await rawSamplesAt(timeOf(run2));

    // Act
    const run = await pgotel([
      'replay',
      '--from',
      at(),
      '--to',
      at(),
      '--archive',
      archiveUrl(),
      '--remote-write',
      prom.writeUrl,
    ]);

    // Assess
    const samples = await samplesInObjects(run2Keys);
    expect(before).toEqual([]);
    expect(run.stdout).toBe(
      `replayed 3 objects: ${count(samples)} samples sent, 0 rejected, 0 objects failed\n`,
    );
    expect(run.code).toBe(0);
    expect(await rawSamplesAt(timeOf(run2))).toEqual(samplesOf(run2.batches.map((b) => b.batch)));
    const up = await prom.query('up', timeOf(run2) / 1000);
    expect(up.map((s) => s.value)).toEqual([1]);
  });

  it('replaying again is idempotent: Prometheus accepts the duplicates, nothing rejected, exit 0', async () => {
    // Act
    const run = await pgotel([
      'replay',
      '--from',
      at(),
      '--to',
      at(),
      '--archive',
      archiveUrl(),
      '--remote-write',
      prom.writeUrl,
    ]);

    // Assess
    const samples = await samplesInObjects(run2Keys);
    expect(run.stdout).toBe(
      `replayed 3 objects: ${count(samples)} samples sent, 0 rejected, 0 objects failed\n`,
    );
    expect(run.code).toBe(0);
    expect(await rawSamplesAt(timeOf(run2))).toEqual(samplesOf(run2.batches.map((b) => b.batch)));
  });

  it('--checkpoint resumes after the last key it recorded', async () => {
    // Prepare: objects go out in key order within one scheduled time: critical, historical, standard.
    const ordered = [...run2Keys].sort();
    const checkpoint = join(archiveDir, 'replay.ckpt');
    await writeFile(checkpoint, `${ordered[0]}\n`);
    const args = [
      'replay',
      '--from',
      at(),
      '--to',
      at(),
      '--archive',
      archiveUrl(),
      '--remote-write',
      prom.writeUrl,
      '--checkpoint',
      checkpoint,
    ];

    // Act
    const resumed = await pgotel(args);
    const saved = await readFile(checkpoint, 'utf8');
    const again = await pgotel(args);

    // Assess
    const rest = await samplesInObjects(ordered.slice(1));
    expect(resumed.stdout).toBe(
      `replayed 2 objects (resumed after ${ordered[0]}): ${count(rest)} samples sent, 0 rejected, 0 objects failed\n`,
    );
    expect(resumed.code).toBe(0);
    expect(saved).toBe(`${ordered[2]}\n`);
    expect(again.stdout).toBe(
      `replayed 0 objects (resumed after ${ordered[2]}): 0 samples sent, 0 rejected, 0 objects failed\n`,
    );
    expect(again.code).toBe(0);
  });
});
