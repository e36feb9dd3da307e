import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetFunctionConfigurationCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../shared/run/run-collection.ts';
import { archivedBatches } from '../helpers/archive.ts';
import { type AwsEmulator, startAws } from '../helpers/aws.ts';
import { pgotel } from '../helpers/cli.ts';
import { type DeployedStack, deployStack } from '../helpers/deploy.ts';
import { type PgInstance, startPostgres } from '../helpers/postgres.ts';
import { type PromInstance, startPrometheus } from '../helpers/prometheus.ts';

/**
 * The whole product, end to end: the real stack deployed by `cdk bootstrap` + `cdk deploy` to the AWS emulator,
 * the collector Lambda running (on Node 22) against a real PostgreSQL through a Secrets Manager secret, writing
 * to a real Prometheus and the S3 archive, with its state in DynamoDB.
 */

const TARGET = 'shop';
const ROLE = 'pgotel_monitor';
const BUDGET = 8;
const WIDE = 20;

let aws: AwsEmulator;
let pg: PgInstance;
let prom: PromInstance;
let dir: string;
let stack: DeployedStack;
let lambda: LambdaClient;
let secrets: SecretsManagerClient;
let s3: S3Client;
let secretArn: string;

function rdsSecret(password: string): string {
  return JSON.stringify({
    engine: 'postgres',
    host: '127.0.0.1',
    port: pg.port,
    username: ROLE,
    password,
    dbname: 'postgres',
  });
}

async function invoke(payload: Record<string, unknown>): Promise<RunSummary> {
  const answer = await lambda.send(
    new InvokeCommand({
      FunctionName: stack.outputs.CollectorFunctionName,
      LogType: 'Tail',
      Payload: new TextEncoder().encode(JSON.stringify(payload)),
    }),
  );
  const text = new TextDecoder().decode(answer.Payload);
  if (answer.FunctionError !== undefined) {
    const log = Buffer.from(answer.LogResult ?? '', 'base64').toString('utf8');
    throw new Error(`collector failed: ${text}\n${log}`);
  }
  return JSON.parse(text) as RunSummary;
}

/** Every log line the collector wrote so far (CloudWatch Logs of the emulator). */
async function functionLogs(): Promise<string> {
  const clientOptions = { endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials };
  const logs = new CloudWatchLogsClient(clientOptions);
  try {
    const fn = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: stack.outputs.CollectorFunctionName }),
    );
    const group = fn.LoggingConfig?.LogGroup ?? `/aws/lambda/${stack.outputs.CollectorFunctionName}`;
    const lines: string[] = [];
    let token: string | undefined;
    do {
      const page = await logs.send(new FilterLogEventsCommand({ logGroupName: group, nextToken: token }));
      for (const event of page.events ?? []) lines.push(event.message ?? '');
      token = page.nextToken;
    } while (token !== undefined);
    return lines.join('\n');
  } finally {
    logs.destroy();
  }
}

/**
 * A moment after the run's samples were taken (at the start of its collection) and before any later run: the
 * run's own end, which comes before the next invocation starts.
 */
function endOf(summary: RunSummary): number {
  return (Date.parse(summary.scheduledAt) + summary.durationMs) / 1000;
}

async function xactCommit(): Promise<number> {
  const [row] = await pg.query<{ n: string }>(
    "SELECT xact_commit AS n FROM pg_stat_database WHERE datname = 'postgres'",
  );
  return Number(row?.n);
}

beforeAll(async () => {
  [aws, pg, prom] = await Promise.all([startAws(), startPostgres(), startPrometheus()]);
  const clientOptions = { endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials };
  lambda = new LambdaClient(clientOptions);
  secrets = new SecretsManagerClient(clientOptions);
  s3 = new S3Client({ ...clientOptions, forcePathStyle: true });
  await pg.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD 'first-password' IN ROLE pg_monitor`);
  await pg.query('CREATE TABLE orders (id int PRIMARY KEY)');
  await pg.query('CREATE TABLE doomed (id int)');
  await pg.query('INSERT INTO orders SELECT generate_series(1, 100)');
  await pg.query('INSERT INTO doomed SELECT generate_series(1, 7)');
  const secret = await secrets.send(
    new CreateSecretCommand({ Name: `pgotel/${TARGET}`, SecretString: rdsSecret('first-password') }),
  );
  secretArn = secret.ARN ?? '';
  dir = await mkdtemp(join(tmpdir(), 'pgotel-lambda-'));
  const configPath = join(dir, 'pgotel.config.yaml');
  await writeFile(
    configPath,
    `environment: e2e
targets:
  - name: ${TARGET}
    secret_arn: ${secretArn}
    tls: { mode: disable }
    tiers: { historical: { statement_timeout_ms: 30000 } }
remote_write:
  url: ${prom.writeUrl}
cardinality: { max_series_per_metric: ${BUDGET}, window_seconds: 3600 }
lambda: { timeout_seconds: 14 }
schedule: { enabled: false }   # invoked by hand here; the schedule has its own test
custom_queries:
  - name: wide
    tier: critical
    query: SELECT 'k' || g AS key, g AS v FROM generate_series(1, ${WIDE}) g
    metrics: [{ name: custom.wide, value_column: v, data_type: gauge, attributes: [{ column: key }] }]
  - name: slow
    tier: historical
    scope: database
    query: SELECT 1 AS v FROM pg_sleep(40)
    metrics: [{ name: custom.slow, value_column: v, data_type: gauge }]
`,
  );
  stack = await deployStack({ aws, configPath });
}, 400_000);

afterAll(async () => {
  lambda?.destroy();
  secrets?.destroy();
  s3?.destroy();
  await Promise.all([aws?.stop(), pg?.destroy(), prom?.destroy()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('the deployed collector', () => {
  it('writes what PostgreSQL reports to Prometheus and the same samples to the archive stream', async () => {
    // Prepare
    const before = await xactCommit();
    const [{ size }] = (await pg.query<{ size: string }>("SELECT pg_database_size('postgres') AS size")) as [
      { size: string },
    ];

    // Act
    const summary = await invoke({ target: TARGET, tiers: ['critical', 'standard', 'historical'] });
    await pg.query('SELECT pg_stat_force_next_flush()').catch(() => undefined);
    const after = await xactCommit();

    // Assess
    expect(summary.up).toBe(1);
    expect(summary.remoteWrite?.ok).toBe(true);
    const at = endOf(summary);
    const [dbSize] = await prom.query(
      'postgresql_database_size_bytes{database_name="postgres",instance="shop"}',
      at,
    );
    expect(dbSize?.value).toBe(Number(size));
    const [commits] = await prom.query(
      'postgresql_database_transactions_total{database_name="postgres",transaction_type="commit"}',
      at,
    );
    expect(commits?.value).toBeGreaterThanOrEqual(before);
    expect(commits?.value).toBeLessThanOrEqual(after);
    // The run is one record in the archive stream: its tiers, each once, in the stream's objects.
    expect(summary.archiveKeys.map((k) => k.replace(/^firehose:\/\/[^#]+#/, ''))).toStrictEqual(
      ['critical', 'standard', 'historical'].map((tier) => `shop/${tier}/${summary.scheduledAt}`),
    );
    const runTime = Date.parse(summary.scheduledAt);
    const archived = await archivedBatches(
      s3,
      stack.outputs.ArchiveUrl,
      runTime,
      runTime + summary.durationMs,
      'shop',
    );
    expect(archived).toHaveLength(3);
    const archivedSize = archived
      .flatMap((b) => b.families)
      .find((f) => f.name === 'postgresql.database.size')
      ?.points.find((p) => p.attributes.database_name === 'postgres');
    expect(archivedSize?.value).toBe(Number(size));
  });

  it("reuses its previous run's session on a warm container: the next run opens none", async () => {
    // Prepare
    const first = await invoke({ target: TARGET, tiers: ['critical'] });
    const sessionsOfRole = async () =>
      (
        await pg.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE usename = '${ROLE}' AND application_name = 'pgotel' ORDER BY pid`,
        )
      ).map((r) => r.pid);
    const kept = await sessionsOfRole();

    // Act
    const second = await invoke({ target: TARGET, tiers: ['critical'] });

    // Assess: the second run opened no session, and the role's sessions are the very backends kept before it
    expect(first.up).toBe(1);
    expect(second.up).toBe(1);
    expect(second.sessions).toStrictEqual({ opened: 0, reused: 1 });
    expect(await sessionsOfRole()).toStrictEqual(kept);
  });

  it('pgotel invoke finds the function from the stack outputs and prints the summary', async () => {
    // Prepare
    const env = {
      AWS_ENDPOINT_URL: aws.endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: aws.region,
    };

    // Act
    const ok = await pgotel(['invoke', '--target', TARGET, '--tiers', 'critical'], 60_000, env);
    const json = await pgotel(['invoke', '--target', TARGET, '--tiers', 'critical', '--json'], 60_000, env);
    const unknown = await pgotel(['invoke', '--target', 'nope'], 60_000, env);
    const noStack = await pgotel(['invoke', '--target', TARGET, '--stack', 'Missing'], 60_000, env);

    // Assess
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /^shop: up, tiers critical, \d+ series, \d+ ms \(sessions: 0 opened, 1 kept from an earlier run\)\n {2}remote-write: ok, \d+ samples sent/,
    );
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as RunSummary).up).toBe(1);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('pgotel: invalid request: target: no target named "nope"; deployed: shop\n');
    expect(noStack.code).toBe(1);
    expect(noStack.stderr).toMatch(/^pgotel: --stack Missing: cannot read the stack/);
  });

  it('takes an EventBridge event, and answers a malformed request naming the field without failing', async () => {
    // Act
    const fromEventBridge = await invoke({
      version: '0',
      id: 'e2e',
      'detail-type': 'pgotel.collect',
      source: 'pgotel.dispatcher',
      time: new Date().toISOString(),
      detail: { target: TARGET, tiers: ['critical'] },
    });
    const malformed = (await invoke({ target: TARGET, tiers: ['hourly'] })) as unknown;

    // Assess
    expect(fromEventBridge.target).toBe(TARGET);
    expect(fromEventBridge.tiers).toStrictEqual(['critical']);
    expect(fromEventBridge.up).toBe(1);
    expect(malformed).toStrictEqual({
      error: 'invalid request: tiers[0]: expected one of critical, standard, historical, got "hourly"',
    });
  });

  it('collects a duplicate request, direct or through SQS, as one more measurement, archived once like the others', async () => {
    // Prepare
    const request = { target: TARGET, tiers: ['critical'], scheduledAt: new Date().toISOString() };
    const sqs = new SQSClient({ endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials });
    const lastUp = async () => {
      const [sample] = await prom.query('timestamp(up{instance="shop"})');
      return sample?.value ?? 0;
    };
    const fromMs = Date.now();

    // Act
    const first = await invoke(request);
    const second = await invoke(request);
    const sentAt = Date.now() / 1000;
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.outputs.CollectorQueueUrl,
        MessageBody: JSON.stringify(request),
      }),
    );
    sqs.destroy();
    const deadline = Date.now() + 30_000;
    while ((await lastUp()) < sentAt && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const toMs = Date.now();

    // Assess: three runs, three `up` samples in Prometheus, and the archive has each of them exactly once
    expect(second.archiveKeys).toStrictEqual(first.archiveKeys);
    expect(second.remoteWrite?.ok).toBe(true);
    expect(await lastUp()).toBeGreaterThanOrEqual(sentAt);
    const ups = await prom.rawSamples('up{instance="shop"}', (toMs - fromMs) / 1000 + 1, toMs / 1000);
    const upTimes = (ups[0]?.values ?? []).map(([ts]) => Math.round(ts * 1000)).filter((t) => t >= fromMs);
    expect(upTimes).toHaveLength(3);
    const archived = await archivedBatches(s3, stack.outputs.ArchiveUrl, fromMs, toMs, 'shop');
    expect(archived.map((b) => b.timeMs).sort()).toStrictEqual(upTimes.sort());
  });

  it('keeps exactly the cardinality budget in Prometheus, and the same set in every container', async () => {
    // Act: two at once, so two containers each read the window
    const [a, b] = await Promise.all([
      invoke({ target: TARGET, tiers: ['critical'] }),
      invoke({ target: TARGET, tiers: ['critical'] }),
    ]);
    const c = await invoke({ target: TARGET, tiers: ['critical'] });

    // Assess
    for (const s of [a, b, c]) expect(s.droppedByMetric['custom.wide']).toBe(WIDE - BUDGET);
    const keysAt = async (s: RunSummary) =>
      (await prom.query('{__name__=~"custom_wide.*",instance="shop"}', endOf(s)))
        .map((x) => x.metric.key)
        .sort();
    const admitted = await keysAt(c);
    expect(admitted).toHaveLength(BUDGET);
    expect(await keysAt(a)).toStrictEqual(admitted);
    expect(await keysAt(b)).toStrictEqual(admitted);
  });

  it('marks the series of a table dropped between two runs stale', async () => {
    // Prepare
    const before = await invoke({ target: TARGET, tiers: ['historical'] });
    await pg.query('DROP TABLE doomed');

    // Act
    const after = await invoke({ target: TARGET, tiers: ['historical'] });

    // Assess
    expect(after.staleMarkers).toBeGreaterThan(0);
    const rows = (s: RunSummary) =>
      prom.query('postgresql_table_rows{table_name="doomed",instance="shop"}', endOf(s));
    expect((await rows(before)).map((s) => s.value)).toStrictEqual([7]);
    expect(await rows(after)).toStrictEqual([]);
  });

  it('exports what it had when a slow query outlives the function timeout', async () => {
    // Act
    const started = Date.now();
    const summary = await invoke({ target: TARGET, tiers: ['historical'] });

    // Assess
    expect(Date.now() - started).toBeLessThan(14_000);
    expect(summary.up).toBe(1);
    expect(summary.queryErrors.map((q) => q.query)).toStrictEqual(['slow']);
    expect(summary.remoteWrite?.ok).toBe(true);
    expect(summary.archiveKeys).toHaveLength(1);
    const [orders] = await prom.query(
      'postgresql_table_rows{table_name="orders",instance="shop"}',
      endOf(summary),
    );
    expect(orders?.value).toBe(100);
  });

  it('reports up = 0 with a wrong password in the secret, and is up again after a rotation without redeploy', async () => {
    // Prepare: the role's password changes and the secret gets a wrong one (the warm container still caches the
    // first, so it fails, reads the secret again, and fails again)
    await pg.query(`ALTER ROLE ${ROLE} PASSWORD 'rotated-password'`);
    // A session authenticated before the change stays valid: end the kept ones, as a restart or failover would.
    await pg.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '${ROLE}' AND pid <> pg_backend_pid()`,
    );
    await secrets.send(
      new PutSecretValueCommand({ SecretId: secretArn, SecretString: rdsSecret('not-the-password') }),
    );

    // Act
    const down = await invoke({ target: TARGET, tiers: ['critical'] });
    await secrets.send(
      new PutSecretValueCommand({ SecretId: secretArn, SecretString: rdsSecret('rotated-password') }),
    );
    const up = await invoke({ target: TARGET, tiers: ['critical'] });

    // Assess
    expect(down.up).toBe(0);
    expect(down.error).toMatch(/password authentication failed for user "pgotel_monitor"/);
    const upSamples = await prom.query('up{instance="shop"}', endOf(down));
    expect(upSamples.map((x) => x.value)).toStrictEqual([0]);
    for (const secret of ['not-the-password', 'rotated-password', 'first-password'])
      expect(JSON.stringify(down)).not.toContain(secret);
    expect(up.up).toBe(1);
    const [after] = await prom.query('up{instance="shop"}', endOf(up));
    expect(after?.value).toBe(1);
    const logs = await functionLogs();
    expect(logs).toContain(`"scheduledAt":"${down.scheduledAt}"`);
    expect(logs).toMatch(
      /"up":0,"error":"cannot connect to 127\.0\.0\.1:\d+ .*password authentication failed/,
    );
    for (const secret of ['not-the-password', 'rotated-password', 'first-password'])
      expect(logs).not.toContain(secret);
  });
});
