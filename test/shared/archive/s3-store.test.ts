import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client, S3ArchiveStore } from '../../../shared/archive/s3-store.ts';
import { ArchiveError } from '../../../shared/archive/store.ts';
import { type AwsEmulator, startAws } from '../../helpers/aws.ts';
import { startFaultServer } from '../../helpers/fault-server.ts';

const BUCKET = 'pgotel-s3-store-test';
const META = { contentType: 'application/x-protobuf' };

describe('S3ArchiveStore (ministack)', () => {
  let aws: AwsEmulator;
  let s3: S3Client;

  beforeAll(async () => {
    aws = await startAws();
    s3 = createS3Client({ endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  afterAll(async () => {
    s3?.destroy();
    await aws?.stop();
  });

  it('lists every key under a prefix across pages, in lexicographic order', async () => {
    // Prepare
    const store = new S3ArchiveStore(s3, BUCKET, { pageSize: 2 });
    const keys = ['list/b/2', 'list/a/1', 'list/c', 'list/a/0', 'list/b/10'];
    for (const key of keys) await store.put(key, new Uint8Array([1]), META);
    await store.put('listing-not-below/x', new Uint8Array([1]), META);

    // Act
    const listed: string[] = [];
    for await (const key of store.list('list/')) listed.push(key);

    // Assess
    expect(listed).toStrictEqual(['list/a/0', 'list/a/1', 'list/b/10', 'list/b/2', 'list/c']);
  });

  it('gets the exact bytes put', async () => {
    // Prepare
    const store = new S3ArchiveStore(s3, BUCKET);
    const body = new Uint8Array([0, 255, 10, 13, 0x1f, 0x8b, 128]);
    await store.put('bytes/k', body, META);

    // Act
    const got = await store.get('bytes/k');

    // Assess
    expect([...got]).toStrictEqual([...body]);
  });

  it('fails a get of a missing key with an ArchiveError naming the object', async () => {
    // Prepare
    const store = new S3ArchiveStore(s3, BUCKET);

    // Act
    const act = store.get('missing/key');

    // Assess
    await expect(act).rejects.toThrow(ArchiveError);
    await expect(act).rejects.toThrow(/^get s3:\/\/pgotel-s3-store-test\/missing\/key failed: NoSuchKey/);
  });
});

describe('S3ArchiveStore against an endpoint that never answers', () => {
  it('gives up after its timeout with an ArchiveError', async () => {
    // Prepare
    const server = await startFaultServer([], { fallback: 'hang' });
    const s3 = createS3Client({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const store = new S3ArchiveStore(s3, 'bucket', { timeoutMs: 300 });

    try {
      // Act
      const act = store.put('k', new Uint8Array([1]), META);

      // Assess
      await expect(act).rejects.toThrow(ArchiveError);
      await expect(act).rejects.toThrow(/^put s3:\/\/bucket\/k failed: /);
      expect(server.requests[0]?.method).toBe('PUT');
      expect(server.requests[0]?.path).toBe('/bucket/k?x-id=PutObject'); // path-style: the bucket is in the path
      expect(server.requests[0]?.headers['x-amz-server-side-encryption']).toBe('AES256');
    } finally {
      s3.destroy();
      await server.close();
    }
  });
});

describe('S3ArchiveStore.describe', () => {
  it('names the object as an s3:// URL', () => {
    // Prepare
    const store = new S3ArchiveStore(createS3Client({ region: 'us-east-1' }), 'b');

    // Act
    const location = store.describe('p/k.binpb');

    // Assess
    expect(location).toBe('s3://b/p/k.binpb');
  });
});
