import { gunzipSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveBatch, readArchivedObject } from '../../../shared/archive/archive.ts';
import { FileArchiveStore } from '../../../shared/archive/file-store.ts';
import { createS3Client, S3ArchiveStore } from '../../../shared/archive/s3-store.ts';
import type { ArchiveStore } from '../../../shared/archive/store.ts';
import type { MetricBatch } from '../../../shared/model/metrics.ts';
import { encodeExportRequest } from '../../../shared/otlp/build.ts';
import { type AwsEmulator, startAws } from '../../helpers/aws.ts';
import { makeTmpRoot } from '../../helpers/processes.ts';

const SCHEDULED = Date.UTC(2026, 10, 21, 19, 30, 0);
const BUCKET = 'pgotel-archive-test';

function batchWith(value: number): MetricBatch {
  return {
    resource: { 'service.name': 'postgresql', 'postgresql.cluster': 'prod' },
    timeMs: SCHEDULED + 1_234,
    families: [
      {
        name: 'postgresql.database.size',
        unit: 'By',
        description: 'Database size.',
        kind: 'gauge',
        points: [
          { attributes: { 'postgresql.database.name': 'orders' }, value },
          { attributes: { 'postgresql.database.name': 'ünïcødé' }, value: Number.NaN },
        ],
      },
      {
        name: 'postgresql.commits',
        unit: '{commit}',
        description: 'Commits.',
        kind: 'counter',
        points: [
          {
            attributes: { 'postgresql.database.name': 'orders' },
            value: 9,
            startTimeMs: SCHEDULED - 3_600_000,
          },
        ],
      },
    ],
  };
}

const META = {
  cluster: 'prod',
  target: 'orders-primary',
  tier: 'critical',
  scheduledAtMs: SCHEDULED,
} as const;

async function listAll(store: ArchiveStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.list(prefix)) keys.push(key);
  return keys;
}

describe('archiveBatch to S3 (ministack)', () => {
  let aws: AwsEmulator;
  let s3: S3Client;
  let store: S3ArchiveStore;

  beforeAll(async () => {
    aws = await startAws();
    s3 = createS3Client({ endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    store = new S3ArchiveStore(s3, BUCKET);
  });

  afterAll(async () => {
    s3?.destroy();
    await aws?.stop();
  });

  it('writes one encrypted protobuf object at the deterministic key, which reads back to the batch', async () => {
    // Prepare
    const batch = batchWith(42);

    // Act
    const result = await archiveBatch(store, 'plain', batch, { ...META, compression: 'none' });

    // Assess
    const key =
      'plain/year=2026/month=11/day=21/hour=19/minute=30/prod/orders-primary/critical-20261121T193000Z.binpb';
    const encoded = encodeExportRequest(batch);
    expect(result).toStrictEqual({ key, location: `s3://${BUCKET}/${key}`, bytes: encoded.byteLength });
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(head.ContentType).toBe('application/x-protobuf');
    expect(head.ServerSideEncryption).toBe('AES256');
    expect(head.ContentLength).toBe(encoded.byteLength);
    const raw = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(Buffer.from((await raw.Body?.transformToByteArray()) ?? []).equals(Buffer.from(encoded))).toBe(
      true,
    );
    expect(await readArchivedObject(store, key)).toStrictEqual([batch]);
  });

  it('overwrites on a second archive of the same target, tier and scheduled time (a retry)', async () => {
    // Prepare
    await archiveBatch(store, 'retry', batchWith(1), { ...META, compression: 'none' });

    // Act
    const second = await archiveBatch(store, 'retry', batchWith(2), { ...META, compression: 'none' });

    // Assess
    expect(await listAll(store, 'retry/')).toStrictEqual([second.key]);
    expect(await readArchivedObject(store, second.key)).toStrictEqual([batchWith(2)]);
  });

  it('gzips with Content-Encoding gzip under a .binpb.gz key', async () => {
    // Prepare
    const batch = batchWith(7);

    // Act
    const result = await archiveBatch(store, 'gz', batch, { ...META, tier: 'standard', compression: 'gzip' });

    // Assess
    const key =
      'gz/year=2026/month=11/day=21/hour=19/minute=30/prod/orders-primary/standard-20261121T193000Z.binpb.gz';
    expect(result.key).toBe(key);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(head.ContentType).toBe('application/x-protobuf');
    expect(head.ContentEncoding).toBe('gzip');
    expect(head.ServerSideEncryption).toBe('AES256');
    expect(head.ContentLength).toBe(result.bytes);
    const raw = await store.get(key);
    expect(Buffer.from(gunzipSync(raw)).equals(Buffer.from(encodeExportRequest(batch)))).toBe(true);
    expect(await readArchivedObject(store, key)).toStrictEqual([batch]);
  });
});

describe('archiveBatch to a directory (file://)', () => {
  it('writes the same layout on disk, overwrites on retry, and reads back plain and gzip objects', async () => {
    // Prepare
    const dir = await makeTmpRoot('archive');
    const store = new FileArchiveStore(dir);
    await archiveBatch(store, 'p', batchWith(1), { ...META, compression: 'none' });

    // Act
    const plain = await archiveBatch(store, 'p', batchWith(3), { ...META, compression: 'none' });
    const gz = await archiveBatch(store, 'p', batchWith(4), {
      ...META,
      tier: 'historical',
      compression: 'gzip',
    });

    // Assess
    const partition = 'p/year=2026/month=11/day=21/hour=19/minute=30/prod/orders-primary';
    expect(plain.key).toBe(`${partition}/critical-20261121T193000Z.binpb`);
    expect(plain.location).toBe(`file://${dir}/${partition}/critical-20261121T193000Z.binpb`);
    expect(gz.key).toBe(`${partition}/historical-20261121T193000Z.binpb.gz`);
    expect(await listAll(store, 'p/')).toStrictEqual([plain.key, gz.key]);
    expect(await readArchivedObject(store, plain.key)).toStrictEqual([batchWith(3)]);
    expect(await readArchivedObject(store, gz.key)).toStrictEqual([batchWith(4)]);
  });

  it('reads a .gz object whose bytes were already inflated on the way', async () => {
    // Prepare
    const dir = await makeTmpRoot('archive');
    const store = new FileArchiveStore(dir);
    const key = 'year=2026/month=11/day=21/hour=19/minute=30/c/t/critical-20261121T193000Z.binpb.gz';
    await store.put(key, encodeExportRequest(batchWith(5)), { contentType: 'application/x-protobuf' });

    // Act
    const batches = await readArchivedObject(store, key);

    // Assess
    expect(batches).toStrictEqual([batchWith(5)]);
  });
});
