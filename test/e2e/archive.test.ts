import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { uncompress } from 'snappyjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArchivedObject } from '../../shared/archive/archive.ts';
import { openArchiveStore } from '../../shared/archive/open.ts';
import { createS3Client } from '../../shared/archive/s3-store.ts';
import type { OpenedArchiveStore } from '../../shared/archive/store.ts';
import { type CollectResult, type CollectTarget, collect } from '../../shared/collect/collect.ts';
import { connectionTarget } from '../../shared/config/local-target.ts';
import { parseDsn } from '../../shared/db/connection.ts';
import { type ExportSummary, exportRun } from '../../shared/export/export-run.ts';
import { toTimeSeries } from '../../shared/export/remote-write-labels.ts';
import { seriesKey } from '../../shared/export/staleness.ts';
import type { Tier } from '../../shared/model/metrics.ts';
import { BUILTIN_QUERIES, DEFAULT_LIMITS } from '../../shared/queries/catalog.ts';
import { type AwsEmulator, startAws } from '../helpers/aws.ts';
import { type FaultServer, startFaultServer } from '../helpers/fault-server.ts';
import { type PgInstance, startPostgres } from '../helpers/postgres.ts';
import { decodeWriteRequest } from '../helpers/remote-write-decode.ts';

/**
 * End to end: real PostgreSQL → collect() → exportRun with remote-write (a recording receiver that answers
 * 204) and the OTLP archive in S3 (ministack). The archive must hold exactly what remote-write delivered.
 */

const BUCKET = 'pgotel-e2e-archive';
const TARGET = 'e2e-primary';
const CLUSTER = 'e2e';
const TIERS: readonly Tier[] = ['critical', 'standard', 'historical'];

let pg: PgInstance;
let aws: AwsEmulator;
let s3: S3Client;
let receiver: FaultServer;

/** A sample as comparable data: label set, value and timestamp. */
interface FlatSample {
  readonly key: string;
  readonly value: number;
  readonly timestampMs: number;
}

function flatten(
  series: readonly {
    labels: readonly { name: string; value: string }[];
    samples: readonly { value: number; timestampMs: number }[];
  }[],
): FlatSample[] {
  return series
    .flatMap((s) =>
      s.samples.map((x) => ({ key: seriesKey(s.labels), value: x.value, timestampMs: x.timestampMs })),
    )
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.timestampMs - b.timestampMs));
}

/** Everything the receiver got from request `from` on, decoded. */
function received(from: number): FlatSample[] {
  return flatten(
    receiver.requests.slice(from).flatMap((r) => decodeWriteRequest(uncompress(new Uint8Array(r.body)))),
  );
}

/** Every archived object of a summary, read back and turned into remote-write series. */
async function archived(opened: OpenedArchiveStore, summary: ExportSummary): Promise<FlatSample[]> {
  const batches = await Promise.all(
    (summary.archive?.objects ?? []).map((o) => readArchivedObject(opened.store, o.key)),
  );
  return flatten(batches.flat().flatMap((b) => toTimeSeries(b)));
}

/** Keys under `prefix` in the bucket, as S3 lists them. */
async function listKeys(prefix: string): Promise<string[]> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (page.Contents ?? []).map((o) => o.Key ?? '');
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** The key the layout prescribes, written out independently of archiveKey(). */
function expectedKey(prefix: string, tier: Tier, timeMs: number, scheduledAtMs: number, gz: boolean): string {
  const t = new Date(timeMs);
  const s = new Date(scheduledAtMs);
  const partition = `year=${t.getUTCFullYear()}/month=${pad(t.getUTCMonth() + 1)}/day=${pad(t.getUTCDate())}/hour=${pad(t.getUTCHours())}/minute=${pad(t.getUTCMinutes())}`;
  const scheduled = `${s.getUTCFullYear()}${pad(s.getUTCMonth() + 1)}${pad(s.getUTCDate())}T${pad(s.getUTCHours())}${pad(s.getUTCMinutes())}${pad(s.getUTCSeconds())}Z`;
  return `${prefix}/${partition}/${CLUSTER}/${TARGET}/${tier}-${scheduled}.binpb${gz ? '.gz' : ''}`;
}

function targetOf(server: PgInstance): CollectTarget {
  return connectionTarget(TARGET, parseDsn(server.dsn()), { cluster: CLUSTER, environment: 'test' });
}

/** Collects every tier and exports to the receiver and the archive at `url`. */
async function collectAndExport(
  url: string,
  compression: 'none' | 'gzip',
): Promise<{
  result: CollectResult;
  summary: ExportSummary;
  opened: OpenedArchiveStore;
  scheduledAtMs: number;
}> {
  // A whole second, like a scheduler slot: the key then carries no milliseconds.
  const scheduledAtMs = Math.floor(Date.now() / 1000) * 1000;
  const result = await collect(
    targetOf(pg),
    { tiers: TIERS, scheduledAtMs, ignoreIntervals: true },
    { queries: BUILTIN_QUERIES, limits: DEFAULT_LIMITS },
  );
  const opened = openArchiveStore(url, { s3 });
  const summary = await exportRun(
    {
      batches: result.batches,
      cluster: CLUSTER,
      target: TARGET,
      scheduledAtMs,
      deadlineMs: Date.now() + 30_000,
    },
    {
      remoteWrite: { url: `${receiver.url}/api/v1/write` },
      archive: { ...opened, compression },
    },
  );
  return { result, summary, opened, scheduledAtMs };
}

beforeAll(async () => {
  [pg, aws, receiver] = await Promise.all([startPostgres(), startAws(), startFaultServer([204])]);
  s3 = createS3Client({ endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await pg.query('CREATE TABLE e2e_items (id integer PRIMARY KEY)');
  await pg.query('INSERT INTO e2e_items SELECT g FROM generate_series(1, 100) AS g');
});

afterAll(async () => {
  s3?.destroy();
  await Promise.all([pg?.destroy(), aws?.stop(), receiver?.close()]);
});

describe('exportRun: archive in S3 and remote-write carry the same data', () => {
  it('archives one object per tier under the partitioned key, holding exactly the samples remote-write sent', async () => {
    // Prepare
    const from = receiver.requests.length;

    // Act
    const { result, summary, opened, scheduledAtMs } = await collectAndExport(
      `s3://${BUCKET}/pgotel`,
      'none',
    );

    // Assess
    const timeMs = result.batches[0]?.batch.timeMs ?? Number.NaN;
    const keys = TIERS.map((tier) => expectedKey('pgotel', tier, timeMs, scheduledAtMs, false));
    expect(result.up).toBe(1);
    expect(summary.remoteWrite).toMatchObject({ ok: true, samplesRejected: 0, lastStatus: 204 });
    expect(summary.archive?.ok).toBe(true);
    expect(summary.archive?.errors).toEqual([]);
    expect(summary.archive?.objects.map((o) => [o.tier, o.key, o.location])).toEqual(
      TIERS.map((tier, i) => [tier, keys[i], `s3://${BUCKET}/${keys[i]}`]),
    );
    expect(await listKeys('pgotel/')).toEqual([...keys].sort());
    const sent = received(from);
    expect(sent).toHaveLength(summary.remoteWrite?.samplesSent ?? -1);
    expect(sent).toHaveLength(result.series);
    expect(await archived(opened, summary)).toEqual(sent);
  });

  it('gzip: .binpb.gz objects with Content-Encoding gzip, holding exactly the samples remote-write sent', async () => {
    // Prepare
    const from = receiver.requests.length;

    // Act
    const { result, summary, opened, scheduledAtMs } = await collectAndExport(
      `s3://${BUCKET}/pgotel-gz`,
      'gzip',
    );

    // Assess
    const timeMs = result.batches[0]?.batch.timeMs ?? Number.NaN;
    const keys = TIERS.map((tier) => expectedKey('pgotel-gz', tier, timeMs, scheduledAtMs, true));
    expect(summary.remoteWrite).toMatchObject({ ok: true, samplesRejected: 0, lastStatus: 204 });
    expect(summary.archive?.objects.map((o) => o.key)).toEqual(keys);
    expect(await listKeys('pgotel-gz/')).toEqual([...keys].sort());
    for (const key of keys) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      const raw = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      const bytes = (await raw.Body?.transformToByteArray()) ?? new Uint8Array();
      expect([head.ContentEncoding, head.ContentType]).toEqual(['gzip', 'application/x-protobuf']);
      expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
      expect(bytes.byteLength).toBe(summary.archive?.objects.find((o) => o.key === key)?.bytes);
    }
    const sent = received(from);
    expect(sent).toHaveLength(result.series);
    expect(await archived(opened, summary)).toEqual(sent);
  });
});
