import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { uncompress } from 'snappyjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArchivedObject } from '../../../shared/archive/archive.ts';
import { FileArchiveStore } from '../../../shared/archive/file-store.ts';
import { openArchiveStore } from '../../../shared/archive/open.ts';
import {
  eachSeriesWithStaleness,
  exportRun,
  seriesWithStaleness,
} from '../../../shared/export/export-run.ts';
import { toTimeSeries } from '../../../shared/export/remote-write-labels.ts';
import { encodeRequests } from '../../../shared/export/remote-write-proto.ts';
import { isStaleNaN, type TimeSeries } from '../../../shared/export/remote-write-series.ts';
import { seriesKey } from '../../../shared/export/staleness.ts';
import type { MetricBatch, MetricFamily, Tier } from '../../../shared/model/metrics.ts';
import { encodeExportRequest } from '../../../shared/otlp/build.ts';
import { type FaultServer, startFaultServer } from '../../helpers/fault-server.ts';
import { makeTmpRoot } from '../../helpers/processes.ts';

/**
 * exportRun against a scripted HTTP server (503 forever is not something a real Prometheus can be made to
 * do) and a local-directory archive: neither destination can sink the other.
 */

const T = Date.UTC(2026, 10, 21, 19, 30, 15, 250);
const SCHEDULED = Date.UTC(2026, 10, 21, 19, 30, 15);
const noSleep = async (): Promise<void> => undefined;

function family(
  name: string,
  unit: string,
  kind: MetricFamily['kind'],
  points: MetricFamily['points'],
): MetricFamily {
  return { name, unit, kind, description: `${name} for the test`, points };
}

function batchOf(tables: readonly string[], timeMs = T): MetricBatch {
  return {
    resource: {
      'service.name': 'postgresql',
      'service.instance.id': 'orders-primary',
      'db.system': 'postgresql',
      'db.cluster': 'prod',
    },
    timeMs,
    families: [
      family('up', '1', 'gauge', [{ attributes: {}, value: 1 }]),
      family(
        'postgresql.table.size',
        'By',
        'gauge',
        tables.map((table, i) => ({ attributes: { table_name: table }, value: 8192 * (i + 1) })),
      ),
      family('postgresql.database.transactions', '{transaction}', 'counter', [
        {
          attributes: { database_name: 'app', transaction_type: 'commit' },
          value: 42,
          startTimeMs: T - 60_000,
        },
      ]),
    ],
  };
}

/** The label set of one series as a plain object, for readable comparisons. */
function labelsOf(series: { labels: readonly { name: string; value: string }[] }): Record<string, string> {
  return Object.fromEntries(series.labels.map((l) => [l.name, l.value]));
}

describe('exportRun: neither destination sinks the other', () => {
  let server: FaultServer;
  let root: string;

  beforeAll(async () => {
    root = await makeTmpRoot('export-run');
  });
  afterAll(async () => {
    await server?.close();
  });

  it('writes the archive while remote-write answers 503 forever, and reports remote-write failed', async () => {
    // Prepare
    server = await startFaultServer([], { fallback: 503 });
    const batch = batchOf(['orders', 'customers']);
    const store = new FileArchiveStore(join(root, 'ok-archive'));
    const url = `${server.url}/api/v1/write`;

    // Act
    const summary = await exportRun(
      {
        batches: [{ tier: 'historical', batch }],
        cluster: 'prod',
        target: 'orders-primary',
        scheduledAtMs: SCHEDULED,
        deadlineMs: Date.now() + 30_000,
      },
      {
        remoteWrite: { url, maxAttempts: 2, sleep: noSleep },
        archive: { store, prefix: 'pgotel', compression: 'none' },
      },
    );

    // Assess
    const key =
      'pgotel/year=2026/month=11/day=21/hour=19/minute=30/prod/orders-primary/historical-20261121T193015Z.binpb';
    expect(summary.remoteWrite).toEqual({
      ok: false,
      requests: 1,
      seriesSent: 0,
      samplesSent: 0,
      samplesRejected: 4,
      attempts: 2,
      lastStatus: 503,
      errors: [`request 1/1 (4 series, 4 samples) to ${url}: gave up after 2 attempts: HTTP 503`],
      durationMs: summary.remoteWrite?.durationMs,
      bytesSent: summary.remoteWrite?.bytesSent,
      staleMarkers: 0,
    });
    expect(server.requests).toHaveLength(2);
    expect(summary.archive).toEqual({
      ok: true,
      objects: [
        {
          tier: 'historical',
          key,
          location: `file://${join(root, 'ok-archive', key)}`,
          bytes: encodeExportRequest(batch).byteLength,
        },
      ],
      errors: [],
    });
    const archived = await readArchivedObject(store, key);
    expect(archived.map((b) => toTimeSeries(b))).toEqual([toTimeSeries(batch)]);
    expect(summary.series).toEqual({
      critical: [],
      standard: [],
      historical: toTimeSeries(batch).map((s) => seriesKey(s.labels)),
    });
  });

  it('remote-writes while the archive store throws, and reports the archive failed with its error', async () => {
    // Prepare: the archive root sits below a regular file, so creating its directories fails.
    await server?.close();
    server = await startFaultServer([204]);
    const blocker = join(root, 'regular-file');
    await writeFile(blocker, 'not a directory\n');
    const { store, prefix } = openArchiveStore(`file://${blocker}/archive`, {});
    const batch = batchOf(['orders']);
    const url = `${server.url}/api/v1/write`;

    // Act
    const summary = await exportRun(
      {
        batches: [{ tier: 'standard', batch }],
        cluster: 'prod',
        target: 'orders-primary',
        scheduledAtMs: SCHEDULED,
        deadlineMs: Date.now() + 30_000,
      },
      {
        remoteWrite: { url, maxAttempts: 2, sleep: noSleep },
        archive: { store, prefix, compression: 'gzip' },
      },
    );

    // Assess
    const key =
      'year=2026/month=11/day=21/hour=19/minute=30/prod/orders-primary/standard-20261121T193015Z.binpb.gz';
    expect(summary.remoteWrite).toMatchObject({
      ok: true,
      requests: 1,
      seriesSent: 3,
      samplesSent: 3,
      samplesRejected: 0,
      attempts: 1,
      lastStatus: 204,
      errors: [],
      staleMarkers: 0,
    });
    expect(server.requests).toHaveLength(1);
    expect(summary.archive).toEqual({
      ok: false,
      objects: [],
      errors: [
        `put file://${blocker}/archive/${key} failed: ENOTDIR: not a directory, mkdir '${blocker}/archive/${key.slice(0, key.lastIndexOf('/'))}'`,
      ],
    });
  });
});

describe('seriesWithStaleness', () => {
  it('marks vanished series of collected metrics stale and carries over keys of metrics not collected', () => {
    // Prepare: the previous run had tables orders and customers, and a replication lag series; this run
    // dropped customers and did not run the replication query.
    const previous = toTimeSeries(batchOf(['orders', 'customers'], T - 60_000));
    const lag = {
      labels: [
        { name: '__name__', value: 'postgresql_replication_lag_seconds' },
        { name: 'job', value: 'postgresql' },
      ],
    };
    const previousKeys = [...previous.map((s) => seriesKey(s.labels)), seriesKey(lag.labels)];
    const batch = batchOf(['orders']);
    const collected = (name: string): boolean => name !== 'postgresql_replication_lag_seconds';

    // Act
    const { fresh, stale, keys } = seriesWithStaleness({
      batches: [{ tier: 'historical', batch }],
      cluster: 'prod',
      target: 'orders-primary',
      scheduledAtMs: SCHEDULED,
      previousSeries: { historical: previousKeys },
      collected,
    });

    // Assess
    const current = toTimeSeries(batch);
    expect(fresh).toEqual(current);
    expect(stale.map(labelsOf)).toEqual([
      {
        __name__: 'postgresql_table_size_bytes',
        db_cluster: 'prod',
        db_system: 'postgresql',
        instance: 'orders-primary',
        job: 'postgresql',
        service_instance_id: 'orders-primary',
        service_name: 'postgresql',
        table_name: 'customers',
      },
    ]);
    expect(stale.map((s) => s.samples.map((x) => x.timestampMs))).toEqual([[T]]);
    expect(stale.map((s) => s.samples.map((x) => isStaleNaN(x.value)))).toEqual([[true]]);
    const expectedKeys: Record<Tier, string[]> = {
      critical: [],
      standard: [],
      historical: [...current.map((s) => seriesKey(s.labels)), seriesKey(lag.labels)],
    };
    expect(keys).toEqual(expectedKeys);
  });

  it('marks nothing stale and keeps only the current keys when every previous series is still there', () => {
    // Prepare
    const batch = batchOf(['orders', 'customers']);
    const current = toTimeSeries(batch).map((s) => seriesKey(s.labels));

    // Act
    const { stale, keys } = seriesWithStaleness({
      batches: [{ tier: 'critical', batch }],
      cluster: 'prod',
      target: 'orders-primary',
      scheduledAtMs: SCHEDULED,
      previousSeries: { critical: [...current].reverse() },
    });

    // Assess
    expect(stale).toEqual([]);
    expect(keys).toEqual({ critical: current, standard: [], historical: [] });
  });
});

describe('seriesWithStaleness across tiers', () => {
  it('keeps the previous keys of tiers the run did not collect and forgets keys that do not decode', () => {
    // Prepare
    const batch = {
      resource: { 'service.name': 'postgresql' },
      timeMs: 1_700_000_000_000,
      families: [
        {
          name: 'm',
          unit: '1',
          description: '',
          kind: 'gauge' as const,
          points: [{ attributes: {}, value: 1 }],
        },
      ],
    };
    const previousSeries = {
      standard: ['["__name__","old"]'],
      historical: ['not a key'],
      critical: ['garbage'],
    };

    // Act
    const { keys, stale } = seriesWithStaleness({
      batches: [{ tier: 'critical', batch }],
      cluster: 'c',
      target: 't',
      scheduledAtMs: batch.timeMs,
      previousSeries,
    });

    // Assess
    expect(keys.standard).toEqual(['["__name__","old"]']);
    expect(keys.historical).toEqual(['not a key']);
    expect(keys.critical).toHaveLength(1);
    expect(keys.critical[0]).not.toBe('garbage');
    expect(stale).toEqual([]);
  });
});

describe('exportRun encodes series as they are built', () => {
  let server: FaultServer | undefined;
  afterAll(async () => {
    await server?.close();
  });

  it("sends every tier's fresh series, then the stale markers, in exactly the requests of the whole list", async () => {
    // Prepare: two tiers, each with a table gone since the previous run; requests of at most 3 samples.
    const historical = batchOf(['orders', 'customers', 'items', 'payments']);
    const standard = batchOf(['sessions']);
    const previousSeries = {
      historical: toTimeSeries(batchOf(['orders', 'gone_a'], T - 60_000)).map((x) => seriesKey(x.labels)),
      standard: toTimeSeries(batchOf(['sessions', 'gone_b'], T - 60_000)).map((x) => seriesKey(x.labels)),
    };
    const request = {
      batches: [
        { tier: 'historical' as const, batch: historical },
        { tier: 'standard' as const, batch: standard },
      ],
      cluster: 'prod',
      target: 'orders-primary',
      scheduledAtMs: SCHEDULED,
      previousSeries,
    };
    const { fresh, stale } = seriesWithStaleness(request);
    const limits = { maxSamples: 3, maxBytes: 1_048_576 };
    const expected = encodeRequests([...fresh, ...stale], limits);
    server = await startFaultServer([], { fallback: 204 });

    // Act
    const handed: TimeSeries[] = [];
    const streamed = eachSeriesWithStaleness(request, (series) => handed.push(series));
    const summary = await exportRun(
      { ...request, deadlineMs: Date.now() + 30_000 },
      { remoteWrite: { url: `${server.url}/api/v1/write`, concurrency: 1, ...limits } },
    );

    // Assess
    expect(handed).toEqual(fresh);
    expect(streamed.stale).toEqual(stale);
    expect(stale.map((x) => labelsOf(x).table_name)).toEqual(['gone_a', 'gone_b']);
    expect(
      server.requests.map((r) => Buffer.from(uncompress(new Uint8Array(r.body))).toString('hex')),
    ).toEqual(expected.map((r) => Buffer.from(r.body).toString('hex')));
    expect(summary.remoteWrite).toMatchObject({
      ok: true,
      requests: expected.length,
      seriesSent: fresh.length + 2,
      samplesSent: fresh.length + 2,
      staleMarkers: 2,
    });
    expect(expected.length).toBe(Math.ceil((fresh.length + 2) / 3));
  });
});
