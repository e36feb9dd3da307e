import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archivedBatches, archivedSamples, prometheusSamples } from '../helpers/archive.ts';
import { type AwsEmulator, startAws } from '../helpers/aws.ts';
import { type DeployedStack, deployStack } from '../helpers/deploy.ts';
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
let stack: DeployedStack;
let startedMs: number;

/** A collect request for a target that is not deployed. */
const POISON = JSON.stringify({ target: 'not-deployed', tiers: ['critical'] });

/**
 * The CloudWatch alarms (name → metric name) from the emulator's query API (no CloudWatch SDK
 * client is installed). The stack's alarms are what an operator is paged by.
 */
async function describeAlarms(): Promise<Map<string, { metric: string }>> {
  const response = await fetch(aws.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: 'AWS4-HMAC-SHA256 Credential=test/20261129/us-east-1/monitoring/aws4_request',
    },
    body: new URLSearchParams({ Action: 'DescribeAlarms', Version: '2010-08-01' }).toString(),
  });
  const xml = await response.text();
  if (!response.ok) throw new Error(`DescribeAlarms: HTTP ${response.status}: ${xml.slice(0, 300)}`);
  const alarms = new Map<string, { metric: string }>();
  // One chunk per alarm: its name, then its fields up to the next alarm's name.
  for (const chunk of xml.split('<AlarmName>').slice(1)) {
    const name = chunk.slice(0, chunk.indexOf('<'));
    const metric = /<MetricName>([^<]+)<\/MetricName>/.exec(chunk)?.[1];
    if (metric === undefined) continue;
    alarms.set(name, { metric });
  }
  return alarms;
}

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
lambda: { timeout_seconds: 10 }
`,
  );
  stack = await deployStack({ aws, configPath });
  startedMs = Date.now();
  // A request the collector can never serve, queued while the schedule runs: it must end in the dead-letter queue
  // (the collector's queue redelivers after 6 × the 10 s timeout, three receives) without disturbing the schedule.
  const sqs = new SQSClient({ endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials });
  await sqs.send(new SendMessageCommand({ QueueUrl: stack.outputs.CollectorQueueUrl, MessageBody: POISON }));
  sqs.destroy();
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

  it('moves a request the collector fails on to the dead-letter queue, counted in the alarm metric', async () => {
    // Act: by now the poison message has had its three receives (it was queued before the schedule's first minute)
    const sqs = new SQSClient({ endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials });
    try {
      await waitFor('the poison message in the dead-letter queue', 240_000, async () => {
        const attributes = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: stack.outputs.DeadLetterQueueUrl,
            AttributeNames: ['ApproximateNumberOfMessages'],
          }),
        );
        return attributes.Attributes?.ApproximateNumberOfMessages === '1';
      });
      const received = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: stack.outputs.DeadLetterQueueUrl, MaxNumberOfMessages: 10 }),
      );

      // Assess: the request itself, once, in the queue whose depth an alarm watches. (The emulator publishes no SQS
      // metrics, so the alarm's metric is read at its source: the queue's message count above.)
      expect((received.Messages ?? []).map((m) => m.Body)).toStrictEqual([POISON]);
      // The emulator's DescribeAlarms omits dimensions; the alarm is found by its name (from the construct id), and
      // its dimension is checked on the synthesized template (test/infra/pgotel-stack.test.ts).
      const watching = [...(await describeAlarms()).entries()].filter(
        ([name, a]) =>
          /AlarmsDeadLetterQueueNotEmpty/.test(name) && a.metric === 'ApproximateNumberOfMessagesVisible',
      );
      expect(watching).toHaveLength(1);
    } finally {
      sqs.destroy();
    }
  }, 300_000);

  it('holds in the archive every sample Prometheus received', async () => {
    // Act
    const s3 = new S3Client({
      endpoint: aws.endpoint,
      region: aws.region,
      credentials: aws.credentials,
      forcePathStyle: true,
    });
    const toMs = Date.now();
    const seconds = (toMs - startedMs) / 1000 + 60;
    const inPrometheus = prometheusSamples(await prom.rawSamples('{instance=~"a|b"}', seconds, toMs / 1000));
    const archived = archivedSamples(
      await archivedBatches(s3, stack.outputs.ArchiveUrl, startedMs - 60_000, toMs),
    );
    s3.destroy();

    // Assess: every sample, with its name, labels, time and value
    expect(inPrometheus.length).toBeGreaterThan(1_000);
    expect(inPrometheus.filter((sample) => !archived.has(sample))).toStrictEqual([]);
  }, 120_000);
});
