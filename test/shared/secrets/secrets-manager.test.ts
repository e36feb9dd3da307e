import {
  CreateSecretCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretError } from '../../../shared/secrets/secret-source.ts';
import { createSecretsManagerClient, SecretsManagerSource } from '../../../shared/secrets/secrets-manager.ts';
import { type AwsEmulator, startAws } from '../../helpers/aws.ts';
import { startFaultServer } from '../../helpers/fault-server.ts';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:pgotel/db-AbCdEf';
const LOCAL = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };

describe('SecretsManagerSource (ministack)', () => {
  let aws: AwsEmulator;
  let client: SecretsManagerClient;
  let stringArn: string;
  let binaryArn: string;

  async function createSecret(name: string, value: string | Uint8Array): Promise<string> {
    const input = typeof value === 'string' ? { SecretString: value } : { SecretBinary: value };
    const created = await client.send(new CreateSecretCommand({ Name: name, ...input }));
    if (created.ARN === undefined) throw new Error(`CreateSecret ${name} returned no ARN`);
    return created.ARN;
  }

  beforeAll(async () => {
    aws = await startAws();
    client = createSecretsManagerClient({
      endpoint: aws.endpoint,
      region: aws.region,
      credentials: aws.credentials,
    });
    stringArn = await createSecret('pgotel/read', '{"username":"monitor","password":"s3cr3t-read"}');
    binaryArn = await createSecret('pgotel/binary', new TextEncoder().encode('binary-s3cr3t'));
  });

  afterAll(async () => {
    client?.destroy();
    await aws?.stop();
  });

  it('reads the string value of a secret', async () => {
    // Prepare
    const source = new SecretsManagerSource(client);

    // Act
    const value = await source.get(stringArn);

    // Assess
    expect(value).toBe('{"username":"monitor","password":"s3cr3t-read"}');
  });

  it('serves the cached value until a fresh read, then the fresh value', async () => {
    // Prepare
    const arn = await createSecret('pgotel/rotating', 'password-1');
    const source = new SecretsManagerSource(client);
    const first = await source.get(arn);
    await client.send(new PutSecretValueCommand({ SecretId: arn, SecretString: 'password-2' }));

    // Act
    const cached = await source.get(arn);
    const fresh = await source.get(arn, { fresh: true });
    const after = await source.get(arn);

    // Assess
    expect([first, cached, fresh, after]).toStrictEqual([
      'password-1',
      'password-1',
      'password-2',
      'password-2',
    ]);
  });

  it('does not cache with maxAgeSeconds 0', async () => {
    // Prepare
    const arn = await createSecret('pgotel/uncached', 'token-1');
    const source = new SecretsManagerSource(client, { maxAgeSeconds: 0 });
    await source.get(arn);
    await client.send(new PutSecretValueCommand({ SecretId: arn, SecretString: 'token-2' }));

    // Act
    const value = await source.get(arn);

    // Assess
    expect(value).toBe('token-2');
  });

  it('fails a missing secret with a SecretError naming the ARN and ResourceNotFound', async () => {
    // Prepare
    const source = new SecretsManagerSource(client);

    // Act
    const act = source.get(ARN);

    // Assess
    await expect(act).rejects.toThrow(SecretError);
    await expect(act).rejects.toThrow(`secret ${ARN}: ResourceNotFoundException: `);
    await expect(act).rejects.toMatchObject({ name: 'SecretError', arn: ARN });
  });

  it('refuses a binary secret without showing its bytes', async () => {
    // Prepare
    const source = new SecretsManagerSource(client);

    // Act
    const error = await source.get(binaryArn).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(SecretError);
    expect(String(error)).toBe(
      `SecretError: secret ${binaryArn}: not a string secret (SecretString is not set)`,
    );
    expect((error as Error).stack).not.toContain('binary-s3cr3t');
  });
});

describe('SecretsManagerSource against failures the emulator cannot produce', () => {
  it('names AccessDenied and the ARN', async () => {
    // Prepare
    const server = await startFaultServer([], {
      fallback: {
        status: 400,
        headers: { 'content-type': 'application/x-amz-json-1.1' },
        body: '{"__type":"AccessDeniedException","message":"not authorized to perform GetSecretValue"}',
      },
    });
    const client = createSecretsManagerClient({ ...LOCAL, endpoint: server.url });
    const source = new SecretsManagerSource(client);

    try {
      // Act
      const act = source.get(ARN);

      // Assess
      await expect(act).rejects.toThrow(
        `secret ${ARN}: AccessDeniedException: not authorized to perform GetSecretValue`,
      );
      expect(server.requests).toHaveLength(1); // not retried
      expect(server.requests[0]?.headers['x-amz-target']).toBe('secretsmanager.GetSecretValue');
      expect(JSON.parse(server.requests[0]?.body.toString() ?? '')).toStrictEqual({ SecretId: ARN });
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it('stops waiting after its timeout when the endpoint never answers', async () => {
    // Prepare
    const server = await startFaultServer([], { fallback: 'hang' });
    const client = createSecretsManagerClient({ ...LOCAL, endpoint: server.url });
    const source = new SecretsManagerSource(client, { timeoutMs: 300 });
    const started = performance.now();

    try {
      // Act
      const act = source.get(ARN);

      // Assess
      await expect(act).rejects.toThrow(new SecretError(ARN, 'timed out after 300 ms'));
      expect(performance.now() - started).toBeLessThan(1_500);
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it('ends each hung attempt of a client made by createSecretsManagerClient', async () => {
    // Prepare
    const server = await startFaultServer([], { fallback: 'hang' });
    const client = createSecretsManagerClient({ ...LOCAL, endpoint: server.url, timeoutMs: 200 });
    const source = new SecretsManagerSource(client, { timeoutMs: 30_000 });
    const started = performance.now();

    try {
      // Act
      const act = source.get(ARN);

      // Assess
      await expect(act).rejects.toThrow(`secret ${ARN}: TimeoutError: `);
      expect(server.requests).toHaveLength(2); // maxAttempts 2
      expect(performance.now() - started).toBeLessThan(5_000);
    } finally {
      client.destroy();
      await server.close();
    }
  });
});
