import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/config/errors.ts';
import { parseConfig } from '../../../shared/config/load.ts';
import { connectionSource, planTarget, remoteWriteDestination } from '../../../shared/config/runtime.ts';
import type { SecretSource } from '../../../shared/secrets/secret-source.ts';

/** Secrets from a map, counting reads (the Secrets Manager adapter has its own tests against the emulator). */
function secretsOf(values: Record<string, string>): SecretSource & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    get: async (arn, options) => {
      reads.push(`${arn}${options?.fresh === true ? ' (fresh)' : ''}`);
      const value = values[arn];
      if (value === undefined) throw new Error(`no secret ${arn}`);
      return value;
    },
  };
}

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:pgotel/db-AbCdEf';

describe('config → runtime', () => {
  it('resolves a target secret into connection parameters, TLS required by default, fresh on request', async () => {
    // Prepare
    const config = parseConfig({ targets: [{ name: 'db', secret_arn: ARN }] });
    const secrets = secretsOf({
      [ARN]: JSON.stringify({
        host: 'db.internal',
        port: '5433',
        username: 'monitor',
        password: 'pw',
        dbname: 'app',
      }),
    });

    // Act
    const source = connectionSource(planTarget(config).config, { secrets });
    const params = await source.get({ fresh: false });
    await source.get({ fresh: true });

    // Assess
    expect(source.refreshable).toBe(true);
    expect(params).toStrictEqual({
      host: 'db.internal',
      port: 5433,
      user: 'monitor',
      password: 'pw',
      database: 'app',
      tls: { mode: 'require' },
    });
    expect(secrets.reads).toStrictEqual([ARN, `${ARN} (fresh)`]);
  });

  it('refuses a secret target without a secret source, naming the field', () => {
    // Prepare
    const config = parseConfig({ targets: [{ name: 'db', secret_arn: ARN }] });

    // Act / Assess
    expect(() => connectionSource(planTarget(config).config, {})).toThrow(ConfigError);
    expect(() => connectionSource(planTarget(config).config, {})).toThrow(/targets\.db\.secret_arn/);
  });

  it('reads remote-write basic and bearer credentials from secrets, plain or JSON', async () => {
    // Prepare
    const secrets = secretsOf({ 'arn:pw': '{"password":"s3cret"}', 'arn:token': 'tok-123' });
    const basic = parseConfig({
      targets: [{ name: 'db', dsn: 'postgres://u@h/d' }],
      remote_write: {
        url: 'https://prom/api/v1/write',
        auth: { type: 'basic', username: 'u', password_secret_arn: 'arn:pw' },
      },
    });
    const bearer = parseConfig({
      targets: [{ name: 'db', dsn: 'postgres://u@h/d' }],
      remote_write: {
        url: 'https://prom/api/v1/write',
        auth: { type: 'bearer', token_secret_arn: 'arn:token' },
      },
    });

    // Act
    const a = await remoteWriteDestination(basic.remote_write ?? (undefined as never), { secrets });
    const b = await remoteWriteDestination(bearer.remote_write ?? (undefined as never), { secrets });

    // Assess
    expect(a.auth).toStrictEqual({ type: 'basic', username: 'u', password: 's3cret' });
    expect(b.auth).toStrictEqual({ type: 'bearer', token: 'tok-123' });
    expect(a).toMatchObject({ timeoutMs: 10_000, maxAttempts: 5, maxSamples: 5000, maxBytes: 1_048_576 });
  });

  it('refuses a remote-write secret locally, naming the field', async () => {
    // Prepare
    const config = parseConfig({
      targets: [{ name: 'db', dsn: 'postgres://u@h/d' }],
      remote_write: {
        url: 'https://prom/api/v1/write',
        auth: { type: 'bearer', token_secret_arn: 'arn:token' },
      },
    });

    // Act / Assess
    await expect(remoteWriteDestination(config.remote_write ?? (undefined as never), {})).rejects.toThrow(
      /remote_write\.auth\.token_secret_arn: secrets are read by the Lambda/,
    );
  });
});
