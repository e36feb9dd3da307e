import {
  CreateDeliveryStreamCommand,
  FirehoseClient,
  type PutRecordBatchCommand,
} from '@aws-sdk/client-firehose';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArchivedObject } from '../../../shared/archive/archive.ts';
import { archiveRun } from '../../../shared/archive/archive-run.ts';
import { FirehoseRecordStream } from '../../../shared/archive/firehose-stream.ts';
import { encodePieces, packRecords } from '../../../shared/archive/records.ts';
import { parseStreamKey } from '../../../shared/archive/s3-key.ts';
import { createS3Client, S3ArchiveStore } from '../../../shared/archive/s3-store.ts';
import type { MetricBatch } from '../../../shared/model/metrics.ts';
import { decodeExportRequest } from '../../../shared/otlp/decode.ts';
import { replay } from '../../../shared/replay/replay.ts';
import { type AwsEmulator, startAws } from '../../helpers/aws.ts';

const SCHEDULED = Date.UTC(2026, 10, 29, 14, 5, 0);
const BUCKET = 'pgotel-stream-test';
const STREAM = 'pgotel-archive-test';

/** A batch of `tables` table-size points for `target`, measured at `timeMs`. */
function tableBatch(target: string, timeMs: number, tables: number, offset = 0): MetricBatch {
  return {
    resource: { 'service.name': 'postgresql', 'service.instance.id': target, 'db.cluster': 'prod' },
    timeMs,
    families: [
      {
        name: 'postgresql.table.size',
        unit: 'By',
        description: 'Table size.',
        kind: 'gauge',
        points: Array.from({ length: tables }, (_, i) => ({
          attributes: { database_name: 'shop', table_name: `t${i}` },
          value: 8192 * (i + offset),
        })),
      },
      {
        name: 'up',
        unit: '1',
        description: 'Target reachable.',
        kind: 'gauge',
        points: [{ attributes: {}, value: 1 }],
      },
    ],
  };
}

/** (target, family, series, value) of every point, sorted: what a reader of the archive sees. */
function pointsOf(batches: readonly MetricBatch[]): string[] {
  return batches
    .flatMap((b) =>
      b.families.flatMap((f) =>
        f.points.map(
          (p) =>
            `${b.resource['service.instance.id']}|${b.timeMs}|${f.name}|${JSON.stringify(p.attributes)}=${p.value}`,
        ),
      ),
    )
    .sort();
}

describe('records for a delivery stream', () => {
  it('a batch that fits is one piece that decodes to the batch', async () => {
    // Arrange
    const batch = tableBatch('a', SCHEDULED, 3);

    // Act
    const pieces = await encodePieces(batch, 'gzip');

    // Assert
    expect(pieces).toHaveLength(1);
    const decoded = await readPieces(pieces);
    expect(pointsOf(decoded)).toEqual(pointsOf([batch]));
  });

  it('a batch over the record size is split into standalone pieces that together hold every point once', async () => {
    // Arrange: 400 points; 1 KB pieces force splits down to single families and halves of points
    const batch = tableBatch('a', SCHEDULED, 400);

    // Act
    const gz = await encodePieces(batch, 'gzip', 1_024);
    const raw = await encodePieces(batch, 'none', 1_024);

    // Assert
    expect(gz.length).toBeGreaterThan(1);
    expect(raw.length).toBeGreaterThan(gz.length);
    for (const piece of [...gz, ...raw]) expect(piece.byteLength).toBeLessThanOrEqual(1_024);
    expect(pointsOf(await readPieces(gz))).toEqual(pointsOf([batch]));
    // Raw pieces concatenated are one valid ExportMetricsServiceRequest.
    expect(pointsOf(decodeExportRequest(concat(raw)))).toEqual(pointsOf([batch]));
  });

  it('splits into halves in order: the pieces hold the points in the batch order', async () => {
    // Arrange: 100 points, about 6 KB of protobuf, in 1 KB pieces
    const batch = tableBatch('a', SCHEDULED, 100);

    // Act
    const pieces = await encodePieces(batch, 'none', 1_024);

    // Assert: each piece is a batch of the next points, in order (the halves are encoded one after the other).
    const decoded = pieces.flatMap((piece) => decodeExportRequest(piece));
    const order = decoded.flatMap((b) =>
      b.families.flatMap((f) => f.points.map((p) => p.attributes.table_name ?? f.name)),
    );
    expect(order).toEqual([...(batch.families[0]?.points ?? []).map((p) => p.attributes.table_name), 'up']);
    // 100 table points halved four times (7 or 6 a piece), then the `up` family alone.
    expect(decoded.map((b) => b.families.reduce((n, f) => n + f.points.length, 0))).toEqual([
      7, 6, 6, 6, 7, 6, 6, 6, 7, 6, 6, 6, 7, 6, 6, 6, 1,
    ]);
  });

  it('refuses a single point larger than a record', async () => {
    const batch = tableBatch('a', SCHEDULED, 1);
    await expect(encodePieces(batch, 'none', 10)).rejects.toThrow(/more than a record holds/);
  });

  it('packs pieces in order into as few records as fit', () => {
    const piece = (n: number) => new Uint8Array(n).fill(n % 251);
    const records = packRecords([piece(400), piece(500), piece(200), piece(900), piece(50)], 1_000);
    expect(records.map((r) => r.byteLength)).toEqual([900, 200, 950]);
    expect(Array.from(records[0]?.subarray(399, 401) ?? [])).toEqual([400 % 251, 500 % 251]);
  });
});

describe('FirehoseRecordStream', () => {
  it('sends again only the entries a partial failure refused', async () => {
    // Arrange: a stream that refuses the second entry once (throttling cannot be caused on the emulator)
    const calls: number[][] = [];
    let refused = false;
    const client = {
      send: async (command: PutRecordBatchCommand) => {
        const records = command.input.Records ?? [];
        calls.push(records.map((r) => (r.Data as Uint8Array)[0] ?? -1));
        const fail = !refused && records.length > 1;
        refused ||= fail;
        return {
          FailedPutCount: fail ? 1 : 0,
          RequestResponses: records.map((_, i) =>
            fail && i === 1
              ? { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'slow down' }
              : { RecordId: `r${i}` },
          ),
        };
      },
    } as unknown as FirehoseClient;
    const stream = new FirehoseRecordStream(client, 's', { backoffMs: 1 });

    // Act
    await stream.put([Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)], Date.now() + 5_000);

    // Assert
    expect(calls).toEqual([[1, 2, 3], [2]]);
  });

  it('fails naming how many records were not accepted when refusals outlast the attempts', async () => {
    const client = {
      send: async (command: PutRecordBatchCommand) => ({
        FailedPutCount: command.input.Records?.length ?? 0,
        RequestResponses: (command.input.Records ?? []).map(() => ({
          ErrorCode: 'ServiceUnavailableException',
        })),
      }),
    } as unknown as FirehoseClient;
    const stream = new FirehoseRecordStream(client, 'pgotel-archive', { attempts: 2, backoffMs: 1 });
    await expect(stream.put([Uint8Array.of(1), Uint8Array.of(2)], Date.now() + 5_000)).rejects.toThrow(
      'firehose://pgotel-archive: 2 of 2 records not accepted (ServiceUnavailableException)',
    );
  });
});

describe('the streamed archive on the emulator (Firehose DirectPut → S3)', () => {
  let aws: AwsEmulator;
  let s3: S3Client;
  let firehose: FirehoseClient;

  beforeAll(async () => {
    aws = await startAws();
    s3 = createS3Client({ endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials });
    firehose = new FirehoseClient({
      endpoint: aws.endpoint,
      region: aws.region,
      credentials: aws.credentials,
    });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const partition =
      'year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/minute=!{timestamp:mm}/';
    await firehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: STREAM,
        DeliveryStreamType: 'DirectPut',
        ExtendedS3DestinationConfiguration: {
          BucketARN: `arn:aws:s3:::${BUCKET}`,
          RoleARN: 'arn:aws:iam::000000000000:role/firehose',
          Prefix: `pgotel/${partition}`,
          ErrorOutputPrefix: `pgotel-errors/!{firehose:error-output-type}/${partition}`,
          FileExtension: '.binpb.gz',
          CompressionFormat: 'UNCOMPRESSED',
        },
      }),
    );
  });

  afterAll(async () => {
    s3?.destroy();
    firehose?.destroy();
    await aws?.stop();
  });

  it('archives runs of two targets as records; objects read back, concatenated as AWS writes them, and replay per target once', async () => {
    // The stream partitions by arrival time, so the data is measured now.
    const SCHEDULED = Math.floor(Date.now() / 15_000) * 15_000;
    // Arrange: two targets' runs (critical + standard), and the second run of target a put twice (a retried put)
    const stream = new FirehoseRecordStream(firehose, STREAM);
    const store = new S3ArchiveStore(s3, BUCKET);
    const runA1 = [
      { tier: 'critical' as const, batch: tableBatch('a', SCHEDULED + 1_000, 5) },
      { tier: 'standard' as const, batch: tableBatch('a', SCHEDULED + 1_000, 2, 100) },
    ];
    const runB1 = [{ tier: 'critical' as const, batch: tableBatch('b', SCHEDULED + 1_500, 4) }];
    const runA2 = [{ tier: 'critical' as const, batch: tableBatch('a', SCHEDULED + 16_000, 5, 7) }];
    const deadlineMs = Date.now() + 10_000;
    const archive = { stream, compression: 'gzip' as const };

    // Act
    const summaries = [
      await archiveRun(
        { batches: runA1, cluster: 'prod', target: 'a', scheduledAtMs: SCHEDULED, deadlineMs },
        archive,
      ),
      await archiveRun(
        { batches: runB1, cluster: 'prod', target: 'b', scheduledAtMs: SCHEDULED, deadlineMs },
        archive,
      ),
      await archiveRun(
        { batches: runA2, cluster: 'prod', target: 'a', scheduledAtMs: SCHEDULED + 15_000, deadlineMs },
        archive,
      ),
      await archiveRun(
        { batches: runA2, cluster: 'prod', target: 'a', scheduledAtMs: SCHEDULED + 15_000, deadlineMs },
        archive,
      ),
    ];
    const keys: string[] = [];
    for await (const key of store.list('pgotel/')) keys.push(key);

    // Assert: one record per run, all tiers in it; one object per record on the emulator
    expect(summaries.map((s) => [s.ok, s.records, s.objects.map((o) => o.tier)])).toEqual([
      [true, 1, ['critical', 'standard']],
      [true, 1, ['critical']],
      [true, 1, ['critical']],
      [true, 1, ['critical']],
    ]);
    expect(summaries[0]?.objects[0]?.location).toBe(`firehose://${STREAM}`);
    expect(keys).toHaveLength(4);
    for (const key of keys) expect(parseStreamKey(key)?.compression).toBe('gzip');
    const perObject = await Promise.all(keys.map((key) => readArchivedObject(store, key)));
    const everyRun = [...runA1, ...runB1, ...runA2, ...runA2].map((r) => r.batch);
    expect(pointsOf(perObject.flat())).toEqual(pointsOf(everyRun));

    // AWS buffers records into one object: the concatenated bytes are one valid archive object.
    const bodies = await Promise.all(
      keys.map(async (key) => {
        const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
        return new Uint8Array(await (got.Body?.transformToByteArray() ?? Promise.resolve(new Uint8Array())));
      }),
    );
    const minute = keys[0]?.slice(0, (keys[0]?.lastIndexOf('/') ?? 0) + 1);
    const combined = `${minute}pgotel-archive-test-1-2026-11-29-14-05-00-combined.binpb.gz`;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: combined, Body: concat(bodies) }));
    expect(pointsOf(await readArchivedObject(store, combined))).toEqual(pointsOf(everyRun));

    // Replay of target a: each of its batches once (the duplicated record and the combined copy are skipped),
    // in time order.
    const sent: MetricBatch[][] = [];
    const report = await replay({
      store,
      prefix: 'pgotel',
      fromMs: SCHEDULED,
      toMs: SCHEDULED + 60_000,
      target: 'a',
      send: async (batches) => {
        sent.push(batches);
        return {
          ok: true,
          samplesSent: batches.reduce((n, b) => n + b.families.reduce((m, f) => m + f.points.length, 0), 0),
          samplesRejected: 0,
        };
      },
    });
    expect(pointsOf(sent.flat())).toEqual(pointsOf([...runA1, ...runA2].map((r) => r.batch)));
    expect(report.samplesSent).toBe(5 + 1 + 2 + 1 + 5 + 1);
    expect(report.failedObjects).toEqual([]);
  });

  it('a stream that does not exist fails the archive with the error, and nothing is thrown', async () => {
    const stream = new FirehoseRecordStream(firehose, 'no-such-stream', { attempts: 1 });
    const summary = await archiveRun(
      {
        batches: [{ tier: 'critical', batch: tableBatch('a', SCHEDULED, 1) }],
        cluster: 'prod',
        target: 'a',
        scheduledAtMs: SCHEDULED,
        deadlineMs: Date.now() + 5_000,
      },
      { stream, compression: 'none' },
    );
    expect(summary.ok).toBe(false);
    expect(summary.errors[0]).toMatch(
      /^firehose:\/\/no-such-stream: 1 of 1 records not accepted \(ResourceNotFoundException/,
    );
  });
});

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** Pieces as one gzip stream of concatenated members, read the way the archive reads objects. */
async function readPieces(pieces: readonly Uint8Array[]): Promise<MetricBatch[]> {
  const store = {
    get: async () => concat(pieces),
    put: async () => {},
    list: async function* () {},
    describe: (key: string) => key,
  };
  return readArchivedObject(store, 'x.binpb.gz');
}
