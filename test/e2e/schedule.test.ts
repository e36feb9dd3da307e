import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEmulator, startAws } from '../helpers/aws.ts';
import { deployStack } from '../helpers/deploy.ts';
import { type PgInstance, startPostgres } from '../helpers/postgres.ts';
import { type PromInstance, startPrometheus } from '../helpers/prometheus.ts';

/**
 * The schedule, end to end and hands off: the stack deployed with `cdk deploy`, the EventBridge rule firing the
 * dispatcher every minute, delayed slot messages, the collector started for two targets — and Prometheus holding
 * what they measured, four times a minute for the critical tier. Nothing is invoked by hand.
 */

const ROLE = 'pgotel_monitor';

let aws: AwsEmulator;
let a: PgInstance;
let b: PgInstance;
let prom: PromInstance;
let dir: string;

/** Raw samples (timestamps in seconds) of a range selector, straight from the query API. */
async function rawSamples(selector: string, atSec: number): Promise<Map<string, number[]>> {
  const url = `${prom.url}/api/v1/query?query=${encodeURIComponent(selector)}&time=${atSec}`;
  const body = (await (await fetch(url)).json()) as {
    data: { result: { metric: Record<string, string>; values: [number, string][] }[] };
  };
  return new Map(body.data.result.map((s) => [s.metric.instance ?? '', s.values.map(([t]) => t)]));
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

beforeAll(async () => {
  [aws, a, b, prom] = await Promise.all([startAws(), startPostgres(), startPostgres(), startPrometheus()]);
  const secrets = new SecretsManagerClient({
    endpoint: aws.endpoint,
    region: aws.region,
    credentials: aws.credentials,
  });
  const arns: string[] = [];
  for (const [name, pg] of [
    ['a', a],
    ['b', b],
  ] as const) {
    await pg.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD 'pw-${name}' IN ROLE pg_monitor`);
    const secret = await secrets.send(
      new CreateSecretCommand({
        Name: `pgotel/${name}`,
        SecretString: JSON.stringify({
          host: '127.0.0.1',
          port: pg.port,
          username: ROLE,
          password: `pw-${name}`,
        }),
      }),
    );
    arns.push(secret.ARN ?? '');
  }
  secrets.destroy();
  dir = await mkdtemp(join(tmpdir(), 'pgotel-schedule-'));
  const configPath = join(dir, 'pgotel.config.yaml');
  await writeFile(
    configPath,
    `environment: e2e
targets:
  - { name: a, secret_arn: ${arns[0]}, tls: { mode: disable } }
  - { name: b, secret_arn: ${arns[1]}, tls: { mode: disable } }
remote_write: { url: ${prom.writeUrl} }
schedule: { spread_seconds: 2 }
`,
  );
  await deployStack({ aws, configPath });
}, 400_000);

afterAll(async () => {
  await Promise.all([aws?.stop(), a?.destroy(), b?.destroy(), prom?.destroy()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('the deployed schedule', () => {
  it('collects the critical tier four times a minute, 15 s apart, and the standard tier once, for both targets', async () => {
    // Act: wait until a whole regular minute has been collected for both targets. The rule first fires in the
    // middle of a minute, and that minute's passed slots are all delivered at once (late data beats no data).
    await waitFor('ten critical runs of both targets', 330_000, async () => {
      const samples = await rawSamples('up[4m]', Date.now() / 1000);
      return (samples.get('a')?.length ?? 0) >= 10 && (samples.get('b')?.length ?? 0) >= 10;
    });
    const now = Date.now() / 1000;

    // Assess
    const up = await rawSamples('up[4m]', now);
    for (const target of ['a', 'b']) {
      const times = (up.get(target) ?? []).slice(-5);
      const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
      for (const gap of gaps) {
        expect(gap).toBeGreaterThan(12);
        expect(gap).toBeLessThan(18);
      }
    }
    const commits = await rawSamples(
      'postgresql_database_transactions_total{database_name="postgres",transaction_type="commit"}[3m]',
      now,
    );
    for (const target of ['a', 'b']) {
      const times = commits.get(target) ?? [];
      expect(times.length).toBeGreaterThanOrEqual(1);
      const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
      for (const gap of gaps) expect(Math.abs(gap - 60)).toBeLessThan(3);
    }
    const self = await prom.query('pgotel_collection_duration_seconds', now);
    expect(new Set(self.map((s) => s.metric.instance))).toStrictEqual(new Set(['a', 'b']));
  }, 400_000);

  it('reports a stopped database as up = 0 within one slot while the other keeps every sample', async () => {
    // Act
    await b.stop();
    const stoppedAt = Date.now() / 1000;
    await waitFor('b down', 60_000, async () => {
      const [sample] = await prom.query('up{instance="b"}');
      return sample?.value === 0;
    });
    const downAt = Date.now() / 1000;
    await new Promise((resolve) => setTimeout(resolve, 31_000));

    // Assess
    expect(downAt - stoppedAt).toBeLessThan(35);
    const up = await rawSamples(`up[${Math.ceil(Date.now() / 1000 - stoppedAt)}s]`, Date.now() / 1000);
    const times = up.get('a') ?? [];
    expect(times.length).toBeGreaterThanOrEqual(3);
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    for (const gap of gaps) expect(gap).toBeLessThan(18);
    const [aUp] = await prom.query('up{instance="a"}');
    expect(aUp?.value).toBe(1);
  }, 120_000);
});
