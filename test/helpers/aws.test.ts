import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEmulator, LAMBDA_NODE_BIN, startAws } from './aws.ts';

describe('startAws', () => {
  let aws: AwsEmulator;
  let s3: S3Client;

  beforeAll(async () => {
    aws = await startAws();
    s3 = new S3Client({
      endpoint: aws.endpoint,
      region: aws.region,
      credentials: aws.credentials,
      forcePathStyle: true,
    });
  });

  afterAll(async () => {
    s3?.destroy();
    await aws?.stop();
  });

  it('describes the endpoint', () => {
    // Assess
    expect(aws.region).toBe('us-east-1');
    expect(aws.credentials).toEqual({ accessKeyId: 'test', secretAccessKey: 'test' });
    expect(aws.endpoint).toMatch(
      process.env.AWS_ENDPOINT_URL
        ? process.env.AWS_ENDPOINT_URL.replace(/\/+$/, '')
        : /^http:\/\/127\.0\.0\.1:\d+$/,
    );
  });

  it.skipIf(process.env.AWS_ENDPOINT_URL)('gives its Lambda functions Node 22, first on its PATH', () => {
    // Prepare
    const environ = readFileSync(`/proc/${aws.pid}/environ`, 'utf8').split('\0');
    const path = environ.find((entry) => entry.startsWith('PATH='))?.slice('PATH='.length) ?? '';

    // Assess
    expect(path.split(':')[0]).toBe(dirname(LAMBDA_NODE_BIN));
    expect(execFileSync(LAMBDA_NODE_BIN, ['--version'], { encoding: 'utf8' })).toMatch(/^v22\./);
  });

  it('stores and returns an S3 object', async () => {
    // Prepare
    const bucket = `pgotel-helper-${Date.now()}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));

    // Act
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'year=2026/a.binpb', Body: Buffer.from([1, 2, 255]) }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'year=2026/a.binpb' }));
    const body = await got.Body?.transformToByteArray();

    // Assess
    expect(body === undefined ? undefined : [...body]).toEqual([1, 2, 255]);
  });

  it('stops the emulator it started', async () => {
    // Prepare
    const own = await startAws();
    const healthBefore = (await fetch(`${own.endpoint}/_ministack/health`)).status;

    // Act
    await own.stop();
    const after = fetch(`${own.endpoint}/_ministack/health`);

    // Assess
    expect(healthBefore).toBe(200);
    if (process.env.AWS_ENDPOINT_URL) {
      // An external emulator is not ours to stop.
      await expect(after).resolves.toHaveProperty('status', 200);
    } else {
      await expect(after).rejects.toThrow('fetch failed');
    }
  });
});
