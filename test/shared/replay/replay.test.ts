import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveBatch } from '../../../shared/archive/archive.ts';
import { FileArchiveStore } from '../../../shared/archive/file-store.ts';
import { createS3Client, S3ArchiveStore } from '../../../shared/archive/s3-store.ts';
import type { ArchiveStore } from '../../../shared/archive/store.ts';
import type { MetricBatch, Tier } from '../../../shared/model/metrics.ts';
import {
  fileCheckpoint,
  type ReplayProgress,
  type ReplaySendResult,
  replay,
} from '../../../shared/replay/replay.ts';
import { type AwsEmulator, startAws } from '../../helpers/aws.ts';
import { makeTmpRoot } from '../../helpers/processes.ts';

const BUCKET = 'pgotel-replay-test';
const at = (h: number, m: number, s = 0, ms = 0) => Date.UTC(2026, 10, 21, h, m, s, ms);

/** A collection of `target`'s `tier` scheduled at `scheduledAtMs`, its data taken 500 ms later. */
function collection(target: string, tier: Tier, scheduledAtMs: number): MetricBatch {
  return {
    resource: { 'service.name': 'postgresql', target },
    timeMs: scheduledAtMs + 500,
    families: [
      {
        name: `pg.${tier}`,
        unit: '1',
        description: '',
        kind: 'gauge',
        points: [
          { attributes: { n: '1' }, value: scheduledAtMs / 1000 },
          { attributes: { n: '2' }, value: 2 },
        ],
      },
    ],
  };
}

interface Archived {
  readonly key: string;
  readonly batch: MetricBatch;
}

async function archive(
  store: ArchiveStore,
  prefix: string,
  target: string,
  tier: Tier,
  scheduledAtMs: number,
) {
  const batch = collection(target, tier, scheduledAtMs);
  const { key } = await archiveBatch(store, prefix, batch, {
    cluster: 'prod',
    target,
    tier,
    scheduledAtMs,
    compression: tier === 'standard' ? 'gzip' : 'none',
  });
  return { key, batch };
}

/** The destination: records what it is sent; `fail` decides per key whether to answer like a 503. */
function recorder(fail: (key: string) => string | undefined = () => undefined) {
  const sent: { key: string; batches: MetricBatch[] }[] = [];
  const send = async (batches: MetricBatch[], key: string): Promise<ReplaySendResult> => {
    const error = fail(key);
    if (error !== undefined) return { ok: false, samplesSent: 0, samplesRejected: 2, error };
    sent.push({ key, batches });
    return {
      ok: true,
      samplesSent: batches.reduce((n, b) => n + (b.families[0]?.points.length ?? 0), 0),
      samplesRejected: 0,
    };
  };
  return { sent, send };
}

describe('replay from S3 (ministack)', () => {
  let aws: AwsEmulator;
  let s3: S3Client;
  let store: S3ArchiveStore;
  let objects: Record<string, Archived>;

  beforeAll(async () => {
    aws = await startAws();
    s3 = createS3Client({ endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    store = new S3ArchiveStore(s3, BUCKET, { pageSize: 3 });
    // Written out of order on purpose: replay must order by time, not by write or listing order.
    objects = {
      bStd1931: await archive(store, 'arc', 'orders-b', 'standard', at(19, 31)),
      aCrit193030: await archive(store, 'arc', 'orders-a', 'critical', at(19, 30, 30)),
      aHist1925: await archive(store, 'arc', 'orders-a', 'historical', at(19, 25)),
      bCrit193015: await archive(store, 'arc', 'orders-b', 'critical', at(19, 30, 15)),
      aStd1930: await archive(store, 'arc', 'orders-a', 'standard', at(19, 30)),
      aCrit193015: await archive(store, 'arc', 'orders-a', 'critical', at(19, 30, 15)),
      aCrit1936: await archive(store, 'arc', 'orders-a', 'critical', at(19, 36)),
      otherPrefix: await archive(store, 'elsewhere', 'orders-a', 'critical', at(19, 30, 45)),
    };
    await store.put('arc/year=2026/month=11/day=21/hour=19/minute=30/README.txt', new Uint8Array([1]), {
      contentType: 'text/plain',
    });
  });

  afterAll(async () => {
    s3?.destroy();
    await aws?.stop();
  });

  it('sends each object in range once, alone, in time order', async () => {
    // Prepare
    const { sent, send } = recorder();
    const progress: ReplayProgress[] = [];

    // Act
    const report = await replay({
      store,
      prefix: 'arc',
      // 19:30:00.5 (aStd1930's data time) is before the range although its partition minute is inside.
      fromMs: at(19, 30, 10),
      toMs: at(19, 31, 30),
      send,
      onProgress: (p) => progress.push(p),
    });

    // Assess
    const expected = [objects.aCrit193015, objects.bCrit193015, objects.aCrit193030, objects.bStd1931];
    expect(sent).toStrictEqual(expected.map((o) => ({ key: o?.key, batches: [o?.batch] })));
    expect(report).toStrictEqual({
      objects: 4,
      samplesSent: 8,
      samplesRejected: 0,
      failedObjects: [],
      errors: [],
    });
    expect(progress.map((p) => [p.index, p.total, p.samplesSent])).toStrictEqual([
      [1, 5, 0],
      [2, 5, 2],
      [3, 5, 4],
      [4, 5, 6],
      [5, 5, 8],
    ]);
  });

  it('honours the target filter', async () => {
    // Prepare
    const { sent, send } = recorder();

    // Act
    const report = await replay({
      store,
      prefix: 'arc',
      fromMs: at(19, 0),
      toMs: at(20, 0),
      target: 'orders-a',
      send,
    });

    // Assess
    const expected = [
      objects.aHist1925,
      objects.aStd1930,
      objects.aCrit193015,
      objects.aCrit193030,
      objects.aCrit1936,
    ];
    expect(sent.map((s) => s.key)).toStrictEqual(expected.map((o) => o?.key));
    expect(report.objects).toBe(5);
  });

  it('continues past a failed object and resumes from the checkpoint before it', async () => {
    // Prepare
    const checkpointFile = join(await makeTmpRoot('replay'), 'state', 'checkpoint');
    const range = { store, prefix: 'arc', fromMs: at(19, 30, 10), toMs: at(19, 31, 30) } as const;
    const failing = recorder((key) =>
      key === objects.bCrit193015?.key ? 'HTTP 503 Service Unavailable' : undefined,
    );

    // Act
    const first = await replay({ ...range, send: failing.send, checkpoint: fileCheckpoint(checkpointFile) });
    const checkpointAfterFirst = (await readFile(checkpointFile, 'utf8')).trim();
    const working = recorder();
    const second = await replay({ ...range, send: working.send, checkpoint: fileCheckpoint(checkpointFile) });
    const again = recorder();
    const third = await replay({ ...range, send: again.send, checkpoint: fileCheckpoint(checkpointFile) });

    // Assess
    const [k1, k2, k3, k4] = [
      objects.aCrit193015,
      objects.bCrit193015,
      objects.aCrit193030,
      objects.bStd1931,
    ].map((o) => o?.key ?? '');
    expect(first).toStrictEqual({
      objects: 4,
      samplesSent: 6,
      samplesRejected: 2,
      failedObjects: [k2],
      errors: [{ key: k2, error: 'HTTP 503 Service Unavailable' }],
    });
    expect(failing.sent.map((s) => s.key)).toStrictEqual([k1, k3, k4]);
    expect(checkpointAfterFirst).toBe(k1);
    expect(second).toStrictEqual({
      objects: 3,
      samplesSent: 6,
      samplesRejected: 0,
      failedObjects: [],
      errors: [],
      resumedAfter: k1,
    });
    expect(working.sent.map((s) => s.key)).toStrictEqual([k2, k3, k4]);
    expect(third).toStrictEqual({
      objects: 0,
      samplesSent: 0,
      samplesRejected: 0,
      failedObjects: [],
      errors: [],
      resumedAfter: k4,
    });
    expect(again.sent).toStrictEqual([]);
  });
});

describe('replay from a directory', () => {
  it('reports an unreadable object and a send that throws, and sends the rest', async () => {
    // Prepare
    const store = new FileArchiveStore(await makeTmpRoot('replay'));
    const good1 = await archive(store, '', 't', 'critical', at(19, 30));
    const corrupt = 'year=2026/month=11/day=21/hour=19/minute=30/prod/t/critical-20261121T193015Z.binpb';
    await store.put(corrupt, new Uint8Array([0x0a, 0x7f]), { contentType: 'application/x-protobuf' });
    const throwing = await archive(store, '', 't', 'critical', at(19, 30, 30));
    const good2 = await archive(store, '', 't', 'critical', at(19, 30, 45));
    const sent: string[] = [];

    // Act
    const report = await replay({
      store,
      prefix: '',
      fromMs: at(19, 30),
      toMs: at(19, 31),
      send: async (batches, key) => {
        if (key === throwing.key) throw new Error('socket hang up');
        sent.push(key);
        return { ok: true, samplesSent: batches.length, samplesRejected: 0 };
      },
    });

    // Assess
    expect(sent).toStrictEqual([good1.key, good2.key]);
    expect(report).toStrictEqual({
      objects: 4,
      samplesSent: 2,
      samplesRejected: 0,
      failedObjects: [corrupt, throwing.key],
      errors: [
        { key: corrupt, error: 'invalid OTLP protobuf at byte 2: length 127 overruns its message' },
        { key: throwing.key, error: 'socket hang up' },
      ],
    });
  });

  it('refuses a checkpoint that is not an archive key', async () => {
    // Prepare
    const store = new FileArchiveStore(await makeTmpRoot('replay'));

    // Act
    const act = replay({
      store,
      prefix: '',
      fromMs: at(19, 30),
      toMs: at(19, 31),
      send: async () => ({ ok: true, samplesSent: 0, samplesRejected: 0 }),
      checkpoint: { load: async () => 'garbage', save: async () => undefined },
    });

    // Assess
    await expect(act).rejects.toThrow('replay checkpoint "garbage" is not an archive key');
  });
});

describe('fileCheckpoint', () => {
  it('loads nothing before the first save, then the last key saved', async () => {
    // Prepare
    const checkpoint = fileCheckpoint(join(await makeTmpRoot('replay'), 'a', 'b', 'cp'));

    // Act
    const [k1, k2] = ['00', '01'].map(
      (m) => `year=2026/month=11/day=21/hour=19/minute=${m}/prod/a/critical-20261121T19${m}00Z.binpb`,
    );
    const before = await checkpoint.load();
    await checkpoint.save(k1 ?? '');
    await checkpoint.save(k2 ?? '');
    const after = await checkpoint.load();

    // Assess
    expect(before).toBeUndefined();
    expect(after).toBe(k2);
  });
});
