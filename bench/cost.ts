import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchLogsClient, paginateFilterLogEvents } from '@aws-sdk/client-cloudwatch-logs';
import { type AttributeValue, DynamoDBClient, GetItemCommand, paginateScan } from '@aws-sdk/client-dynamodb';
import {
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startDemoDatabase } from '../cli/demo.ts';
import { TARGET_SECRET_CACHE_SECONDS } from '../functions/collector/container.ts';
import type { PgotelConfig } from '../shared/config/schema.ts';
import { TIER_INTERVAL_SECONDS } from '../shared/model/metrics.ts';
import { BUILTIN_QUERIES } from '../shared/queries/catalog.ts';
import { effectiveInterval, isDue } from '../shared/queries/select.ts';
import type { RunSummary } from '../shared/run/run-collection.ts';
import { SLOT_SECONDS } from '../shared/schedule/plan.ts';
import { REFRESH_AFTER_WINDOW_FRACTION } from '../shared/state/cardinality-window.ts';
import { TABLE_KEYS } from '../shared/state/dynamodb-table.ts';
import { type AwsEmulator, startAws } from '../test/helpers/aws.ts';
import { type DeployedStack, deployStack } from '../test/helpers/deploy.ts';
import { startPostgres } from '../test/helpers/postgres.ts';
import { startPrometheus } from '../test/helpers/prometheus.ts';
import { createBenchDatabase } from './collect.ts';
import { callReader, type RecordedCall, startCallRecording } from './cost-calls.ts';
import {
  type AttributeJson,
  type DatabaseInputs,
  type DatabaseMonth,
  type DeploymentMonth,
  type DispatcherMeasurement,
  databaseMonth,
  deploymentMonth,
  dynamoItemBytes,
  LOG_EVENT_OVERHEAD_BYTES,
  type LongQueriesDue,
  latestSlotOf,
  MONTH_SECONDS,
  monthlyRuns,
  RUN_TYPE_TIERS,
  RUN_TYPES,
  type RunType,
  type RunTypeMeasurement,
  runTypeAt,
  tallyCalls,
  writeUnits,
} from './cost-model.ts';

/**
 * `npm run bench -- cost`: the stack deployed with `cdk deploy` to ministack (schedule off), two targets — the demo
 * `shop` database of `pgotel collect` and the bench database (2,000 tables × 3 indexes) — and every AWS API call
 * recorded by the emulator's CloudTrail. The collector is invoked for one target and one run type at a time, as the
 * dispatcher would (payload `{target, tiers, scheduledAt}`), and each window's calls, billed durations (REPORT
 * lines), log bytes, samples and bytes sent are attributed to that run type; then the dispatcher is run for one
 * scheduled minute with fleets of 1, 10 and 100 targets. `cost-model.ts` turns that into dollars.
 */

/** User agent suffix of the bench's own SDK clients: their calls are not the stack's and are left out. */
const BENCH_AGENT = 'pgotel-cost-bench';
/**
 * The schedule's period measured per database, slot by slot in its order: 20 minutes (80 runs) hold whole cycles of
 * 240 s, 300 s and 600 s intervals.
 */
const PERIOD_MS = 20 * 60_000;
/** The collector's cache of a target's credentials: a warm container's refetch period. */
const SECRET_CACHE_SECONDS = TARGET_SECRET_CACHE_SECONDS;
/** Lambda's platform lines, filtered out by the functions' system log level (WARN). */
const PLATFORM_LINE = /^(START|END|REPORT) RequestId:/;
/** Fleet sizes the dispatcher is measured with. */
const FLEETS = [1, 10, 100] as const;

/** One database's measurement and month. */
export interface DatabaseCost {
  readonly name: string;
  readonly inputs: DatabaseInputs;
  readonly month: DatabaseMonth;
  /** Per run of each type: samples sent (mean), the function's own `durationMs` (median), remote-write body bytes (mean). */
  readonly perRun: Readonly<Record<RunType, PerRun>>;
}

/** Per-run figures of one run type, for the per-run table. */
export interface PerRun {
  readonly samples: number;
  readonly durationMs: number;
  readonly remoteWriteBytes: number;
}

/** Everything `npm run bench -- cost` prints. */
export interface CostBench {
  readonly databases: readonly DatabaseCost[];
  readonly deployments: readonly { readonly targets: number; readonly month: DeploymentMonth }[];
  readonly collectorMemoryMb: number;
  readonly dispatcherMemoryMb: number;
  readonly alarms: number;
  readonly queueMappings: number;
  /** S3 objects a month the archive's delivery stream writes for the whole fleet (0 without one). */
  readonly archiveObjectsPerMonth: number;
  /** Every `service:eventName` the collector called. */
  readonly collectorCalls: readonly string[];
  /** Log lines scanned for EMF (`_aws`) blocks: none may have one. */
  readonly logLinesScanned: number;
}

interface Template {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  Outputs: Record<string, { Value?: { Ref?: string } }>;
}

/** A remote-write hop that counts the request bodies it forwards to Prometheus. */
async function startCountingProxy(
  target: string,
): Promise<{ url: string; bytes(): number; close(): Promise<void> }> {
  let bytes = 0;
  const forwarded = ['content-type', 'content-encoding', 'x-prometheus-remote-write-version', 'user-agent'];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      bytes += body.length;
      const headers: Record<string, string> = {};
      for (const name of forwarded) {
        const value = req.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      fetch(target, { method: 'POST', headers, body })
        .then(async (answer) => {
          res.writeHead(answer.status);
          res.end(Buffer.from(await answer.arrayBuffer()));
        })
        .catch((error: unknown) => {
          res.writeHead(502);
          res.end(String(error));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/v1/write`,
    bytes: () => bytes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Parses a `postgres://user:password@host:port/db` DSN into the RDS secret JSON. */
function rdsSecret(dsn: string): string {
  const url = new URL(dsn);
  return JSON.stringify({
    host: url.hostname,
    port: Number(url.port),
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    dbname: url.pathname.slice(1),
  });
}

function functionOf(template: Template, output: string): Record<string, unknown> {
  const ref = template.Outputs[output]?.Value?.Ref;
  const resource = ref === undefined ? undefined : template.Resources[ref];
  if (resource?.Type !== 'AWS::Lambda::Function' || resource.Properties === undefined)
    throw new Error(`the template's output ${output} does not name a Lambda function`);
  return resource.Properties;
}

/**
 * Objects a month the template's Firehose delivery streams write to S3 whatever the fleet: one per buffer interval
 * (the size limit, 64 MB, is reached first only by a fleet archiving more than that per interval).
 */
function firehoseObjectsPerMonth(resources: readonly Template['Resources'][string][]): number {
  let objects = 0;
  for (const r of resources) {
    if (r.Type !== 'AWS::KinesisFirehose::DeliveryStream') continue;
    const s3 = r.Properties?.ExtendedS3DestinationConfiguration as
      | { BufferingHints?: { IntervalInSeconds?: number } }
      | undefined;
    // Firehose's default buffer interval is 300 s.
    objects += MONTH_SECONDS / (s3?.BufferingHints?.IntervalInSeconds ?? 300);
  }
  return objects;
}

/**
 * Whether queries with a longer interval than their tier's are due at a slot, decided as the collector decides it
 * (`isDue` with the deployed `queries.intervals`).
 */
function longQueriesDue(config: PgotelConfig): LongQueriesDue {
  const overrides = config.queries.intervals;
  const long = BUILTIN_QUERIES.filter((q) => effectiveInterval(q, overrides) > TIER_INTERVAL_SECONDS[q.tier]);
  return (slotMs) => long.some((q) => isDue(q, q.tier, slotMs, overrides));
}

/** Identity of a DynamoDB key for the size lookups. */
function keyId(table: string, key: Readonly<Record<string, AttributeJson>>): string {
  return `${table}|${JSON.stringify(Object.entries(key).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
}

/** The measuring harness around one deployed stack. */
class Harness {
  readonly lambda: LambdaClient;
  private readonly logs: CloudWatchLogsClient;
  private readonly dynamodb: DynamoDBClient;
  private readonly s3: S3Client;
  /** Sizes of items the collector wrote, by key: what a later read or delete of them is billed by. */
  private readonly itemSizes = new Map<string, number>();
  logLinesScanned = 0;

  constructor(
    aws: AwsEmulator,
    readonly read: (from: number, to: number) => Promise<RecordedCall[]>,
  ) {
    const options = {
      endpoint: aws.endpoint,
      region: aws.region,
      credentials: aws.credentials,
      customUserAgent: BENCH_AGENT,
    };
    this.lambda = new LambdaClient(options);
    this.logs = new CloudWatchLogsClient(options);
    this.dynamodb = new DynamoDBClient(options);
    this.s3 = new S3Client({ ...options, forcePathStyle: true });
  }

  async logGroupOf(functionName: string): Promise<string> {
    const config = await this.lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: functionName }),
    );
    return config.LoggingConfig?.LogGroup ?? `/aws/lambda/${functionName}`;
  }

  /** The stack's calls in `[from, to]`: the bench's own are left out; a CloudWatch metric call fails the bench. */
  async stackCalls(from: number, to: number): Promise<RecordedCall[]> {
    const calls = (await this.read(from, to)).filter((c) => !c.userAgent.includes(BENCH_AGENT));
    const metric = calls.find((c) => c.service === 'monitoring');
    if (metric !== undefined)
      throw new Error(
        `the stack called CloudWatch ${metric.eventName}: self-metrics must travel with the data, not as custom metrics`,
      );
    return calls;
  }

  /** Log lines of `group` in `[from, to]` (epoch s): billed bytes, REPORT durations; an EMF block fails the bench. */
  async logWindow(group: string, from: number, to: number): Promise<{ bytes: number; billedMs: number[] }> {
    let bytes = 0;
    const billedMs: number[] = [];
    const pages = paginateFilterLogEvents(
      { client: this.logs },
      { logGroupName: group, startTime: Math.floor(from * 1000), endTime: Math.ceil(to * 1000) },
    );
    for await (const page of pages) {
      for (const event of page.events ?? []) {
        const message = event.message ?? '';
        this.logLinesScanned++;
        // Lambda's START/END/REPORT lines are not ingested on AWS: the stack sets the system log level to WARN
        // (infra/pgotel-function.ts). The emulator writes them anyway; REPORT still gives the billed duration.
        if (!PLATFORM_LINE.test(message))
          bytes += Buffer.byteLength(message, 'utf8') + LOG_EVENT_OVERHEAD_BYTES;
        if (message.includes('"_aws"'))
          throw new Error(
            `an EMF block in ${group} (each of its metrics is a CloudWatch custom metric): ${message.slice(0, 200)}`,
          );
        const report = /^REPORT RequestId: \S+\s+Duration: ([\d.]+) ms/.exec(message);
        if (report !== null) billedMs.push(Math.max(1, Math.ceil(Number(report[1]))));
      }
    }
    return { bytes, billedMs };
  }

  /**
   * Calls tallied with DynamoDB items sized: written items from the request (remembered for later reads and
   * deletes), read items from what was written or, failing that, from the table now.
   */
  async tally(calls: readonly RecordedCall[]) {
    type Item = Record<string, AttributeJson>;
    const unknown = new Map<string, { table: string; key: Item }>();
    const need = (table: string, key: Item) => {
      const id = keyId(table, key);
      if (!this.itemSizes.has(id)) unknown.set(id, { table, key });
    };
    for (const call of calls) {
      if (call.service !== 'dynamodb') continue;
      const p = call.requestParameters as Record<string, unknown>;
      const requests = (p.RequestItems ?? {}) as Record<string, unknown>;
      if (call.eventName === 'PutItem') {
        const item = p.Item as Item;
        this.itemSizes.set(keyId(String(p.TableName), keyOf(item)), dynamoItemBytes(item));
      } else if (call.eventName === 'BatchWriteItem') {
        for (const [table, writes] of Object.entries(
          requests as Record<string, { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } }[]>,
        )) {
          for (const w of writes) {
            if (w.PutRequest !== undefined)
              this.itemSizes.set(keyId(table, keyOf(w.PutRequest.Item)), dynamoItemBytes(w.PutRequest.Item));
            else if (w.DeleteRequest !== undefined) need(table, w.DeleteRequest.Key);
          }
        }
      } else if (call.eventName === 'BatchGetItem') {
        for (const [table, r] of Object.entries(requests as Record<string, { Keys: Item[] }>))
          for (const key of r.Keys) need(table, key);
      } else if (p.Key !== undefined) need(String(p.TableName), p.Key as Item);
    }
    for (const [id, { table, key }] of unknown) {
      const answer = await this.dynamodb.send(
        new GetItemCommand({ TableName: table, Key: key as unknown as Record<string, AttributeValue> }),
      );
      this.itemSizes.set(id, answer.Item === undefined ? 0 : dynamoItemBytes(answer.Item as unknown as Item));
    }
    return tallyCalls(calls, (table, key) => this.itemSizes.get(keyId(table, key)) ?? 0);
  }

  /** Bytes archived by the calls: S3 object sizes (HEAD) or Firehose record payloads. */
  async archiveBytes(calls: readonly RecordedCall[]): Promise<number> {
    let bytes = 0;
    for (const call of calls) {
      if (call.service === 's3' && call.eventName === 'PutObject') {
        const [bucket, key] = call.resources;
        if (bucket === undefined || key === undefined)
          throw new Error('a recorded PutObject names no object');
        const head = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        bytes += head.ContentLength ?? 0;
      } else if (call.service === 'firehose') {
        const p = call.requestParameters as { Records?: { Data: string }[]; Record?: { Data: string } };
        for (const r of p.Records ?? (p.Record === undefined ? [] : [p.Record]))
          bytes += Buffer.from(r.Data, 'base64').length;
      }
    }
    return bytes;
  }

  /** The table's items by partition key, with their billed sizes. */
  async stateItems(table: string): Promise<{ pk: string; sk: string; bytes: number }[]> {
    const out: { pk: string; sk: string; bytes: number }[] = [];
    for await (const page of paginateScan({ client: this.dynamodb }, { TableName: table })) {
      for (const item of page.Items ?? []) {
        out.push({
          pk: item[TABLE_KEYS.partitionKey]?.S ?? '',
          sk: item[TABLE_KEYS.sortKey]?.S ?? '',
          bytes: dynamoItemBytes(item as unknown as Record<string, AttributeJson>),
        });
      }
    }
    return out;
  }

  destroy(): void {
    this.lambda.destroy();
    this.logs.destroy();
    this.dynamodb.destroy();
    this.s3.destroy();
  }
}

/** The table's key attributes of an item. */
function keyOf(item: Record<string, AttributeJson>): Record<string, AttributeJson> {
  const key: Record<string, AttributeJson> = {};
  for (const name of [TABLE_KEYS.partitionKey, TABLE_KEYS.sortKey]) {
    const value = item[name];
    if (value !== undefined) key[name] = value;
  }
  return key;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/**
 * The partition keys a window's DynamoDB writes touched, with their item counts and how many distinct values their
 * manifests named (the `dig` digest): what the write units are spent on, and whether an unchanged value was rewritten.
 */
function writtenKeys(calls: readonly RecordedCall[]): string {
  const counts = new Map<string, number>();
  const digests = new Map<string, Set<string>>();
  const add = (key: Record<string, AttributeJson> | undefined) => {
    const pk = String((key?.[TABLE_KEYS.partitionKey] as { S?: string } | undefined)?.S ?? '?');
    counts.set(pk, (counts.get(pk) ?? 0) + 1);
    const digest = (key?.dig as { S?: string } | undefined)?.S;
    if (digest !== undefined) digests.set(pk, (digests.get(pk) ?? new Set()).add(digest));
  };
  for (const call of calls) {
    if (call.service !== 'dynamodb') continue;
    const p = call.requestParameters as Record<string, unknown>;
    if (call.eventName === 'PutItem') add(p.Item as Record<string, AttributeJson>);
    if (call.eventName !== 'BatchWriteItem') continue;
    for (const writes of Object.values(
      p.RequestItems as Record<
        string,
        {
          PutRequest?: { Item: Record<string, AttributeJson> };
          DeleteRequest?: { Key: Record<string, AttributeJson> };
        }[]
      >,
    ))
      for (const w of writes) add(w.PutRequest?.Item ?? w.DeleteRequest?.Key);
  }
  if (counts.size === 0) return 'none';
  return [...counts]
    .map(([pk, n]) => `${pk} ×${n} (${digests.get(pk)?.size ?? 0} distinct values)`)
    .join(', ');
}

/** What one run did, as its own window of calls, log lines and bytes shows it. */
interface RunRecord {
  readonly summary: RunSummary;
  readonly calls: readonly RecordedCall[];
  readonly billedMs: number;
  readonly logBytes: number;
  readonly remoteWriteBytes: number;
  readonly archiveBytes: number;
  readonly requestBytes: number;
}

/**
 * Runs one target through a {@link PERIOD_MS} period of the schedule in its order (every 15-second slot, each with its
 * own `scheduledAt` and due tiers, as the dispatcher would start them) and measures each run in a window of its own;
 * the runs are then grouped by run type. The order matters: a historical run's series differ from the previous one's
 * when that one also ran longer-interval queries.
 */
async function measureDatabase(
  h: Harness,
  target: string,
  context: {
    readonly stack: DeployedStack;
    readonly collectorLogs: string;
    readonly longDue: LongQueriesDue;
    /** Runs per month of each type: a type that never runs is not measured. */
    readonly runsPerMonth: Readonly<Record<RunType, number>>;
    readonly proxy: { bytes(): number };
    /** Every `service:eventName` the collector called, added to. */
    readonly seen: Set<string>;
    readonly log: (line: string) => void;
  },
): Promise<{ perRunType: Record<RunType, RunTypeMeasurement>; perRun: Record<RunType, PerRun> }> {
  const { stack, collectorLogs, longDue, runsPerMonth, proxy, seen, log } = context;
  const invoke = async (type: RunType, scheduledAtMs: number): Promise<RunSummary> => {
    const scheduledAt = new Date(scheduledAtMs).toISOString();
    const answer = await h.lambda.send(
      new InvokeCommand({
        FunctionName: stack.outputs.CollectorFunctionName,
        Payload: new TextEncoder().encode(
          JSON.stringify({ target, tiers: RUN_TYPE_TIERS[type], scheduledAt }),
        ),
      }),
    );
    const text = new TextDecoder().decode(answer.Payload);
    if (answer.FunctionError !== undefined) throw new Error(`collector failed for ${target}: ${text}`);
    const summary = JSON.parse(text) as RunSummary;
    if (
      summary.up !== 1 ||
      summary.queryErrors.length > 0 ||
      summary.remoteWrite?.ok !== true ||
      summary.archive?.ok !== true
    )
      throw new Error(`run of ${target} (${type}) failed: ${text.slice(0, 500)}`);
    return summary;
  };
  const measure = async (type: RunType, scheduledAtMs: number): Promise<RunRecord> => {
    const bytesBefore = proxy.bytes();
    const from = Date.now() / 1000;
    const summary = await invoke(type, scheduledAtMs);
    const to = Date.now() / 1000 + 0.05;
    const calls = await h.stackCalls(from, to);
    const logs = await h.logWindow(collectorLogs, from, to);
    const [billedMs, ...more] = logs.billedMs;
    if (billedMs === undefined || more.length > 0)
      throw new Error(`${target} ${type}: ${logs.billedMs.length} REPORT lines for one run`);
    return {
      summary,
      calls,
      billedMs,
      logBytes: logs.bytes,
      remoteWriteBytes: proxy.bytes() - bytesBefore,
      archiveBytes: await h.archiveBytes(calls),
      requestBytes: calls
        .filter((c) => !(c.service === 's3' && c.eventName === 'PutObject'))
        .reduce((sum, c) => sum + Buffer.byteLength(JSON.stringify(c.requestParameters), 'utf8'), 0),
    };
  };
  // Warm-up: one run of each type loads the container, the credentials and each tier's series state.
  const types = RUN_TYPES.filter((t) => runsPerMonth[t] > 0);
  const end = Math.floor(Date.now() / PERIOD_MS) * PERIOD_MS;
  for (const type of types) await invoke(type, latestSlotOf(type, end - PERIOD_MS - 1, longDue));
  const records = new Map<RunType, RunRecord[]>(RUN_TYPES.map((t) => [t, []]));
  for (let at = end - PERIOD_MS; at < end; at += SLOT_SECONDS * 1000) {
    const type = runTypeAt(at, longDue);
    records.get(type)?.push(await measure(type, at));
  }
  const perRunType = {} as Record<RunType, RunTypeMeasurement>;
  const perRun = {} as Record<RunType, PerRun>;
  for (const type of RUN_TYPES) {
    const runs = records.get(type) ?? [];
    if (runs.length === 0) {
      if (runsPerMonth[type] > 0) throw new Error(`${target}: no ${type} run in the measured period`);
      perRunType[type] = {
        runs: 0,
        billedMs: 0,
        calls: [],
        logBytes: 0,
        samples: 0,
        bytesSent: 0,
        archiveBytes: 0,
      };
      perRun[type] = { samples: 0, durationMs: 0, remoteWriteBytes: 0 };
      continue;
    }
    const calls = runs.flatMap((r) => r.calls);
    for (const c of calls) seen.add(`${c.service}:${c.eventName}`);
    const sum = (f: (r: RunRecord) => number) => runs.reduce((total, r) => total + f(r), 0);
    // The median run stands for every run: the machine is shared, and a neighbour's burst is not the collector's cost.
    const billedMs = median(runs.map((r) => r.billedMs)) * runs.length;
    const archiveBytes = sum((r) => r.archiveBytes);
    perRunType[type] = {
      runs: runs.length,
      billedMs,
      calls: await h.tally(calls),
      logBytes: sum((r) => r.logBytes),
      samples: sum((r) => r.summary.samplesSent),
      bytesSent: sum((r) => r.remoteWriteBytes + r.archiveBytes + r.requestBytes),
      archiveBytes,
    };
    perRun[type] = {
      samples: sum((r) => r.summary.samplesSent) / runs.length,
      durationMs: median(runs.map((r) => r.summary.durationMs)),
      remoteWriteBytes: sum((r) => r.remoteWriteBytes) / runs.length,
    };
    const last = runs[runs.length - 1]?.summary;
    log(
      `${target} ${type}: ${runs.length} runs, ${(billedMs / runs.length).toFixed(0)} ms billed/run, ${calls.length} calls (${[...new Set(calls.map((c) => c.eventName))].join(', ')}), items written: ${writtenKeys(calls)}, ${perRun[type].samples} samples/run (last run: ${last?.series} series, ${last?.staleMarkers} stale markers, ${last?.droppedByCardinality} dropped by the cardinality window, ${last?.durationMs} ms)`,
    );
  }
  return { perRunType, perRun };
}

/** One scheduled minute of the dispatcher with a fleet of `targets` (its deployed bundle, a config of that many). */
async function measureDispatcher(
  h: Harness,
  stack: DeployedStack,
  config: PgotelConfig,
  dir: string,
  targets: number,
  log: (line: string) => void,
): Promise<DispatcherMeasurement> {
  const name = stack.outputs.DispatcherFunctionName;
  const template = config.targets[0];
  if (template === undefined) throw new Error('the deployed config has no target');
  const fleet = Array.from({ length: targets }, (_, i) => ({
    ...template,
    name: `db-${String(i + 1).padStart(3, '0')}`,
  }));
  const path = join(dir, `dispatcher-${targets}.json`);
  await writeFile(path, JSON.stringify({ ...config, targets: fleet }));
  const current = await h.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
  await h.lambda.send(
    new UpdateFunctionConfigurationCommand({
      FunctionName: name,
      Environment: { Variables: { ...current.Environment?.Variables, PGOTEL_CONFIG_PATH: path } },
    }),
  );
  // Start on a minute boundary, as the rule does, so every slot message keeps its full delay.
  const minuteMs = Math.ceil((Date.now() + 1_000) / 60_000) * 60_000;
  await new Promise((resolve) => setTimeout(resolve, minuteMs - Date.now() + 200));
  const from = Date.now() / 1000;
  const answer = await h.lambda.send(
    new InvokeCommand({
      FunctionName: name,
      Payload: new TextEncoder().encode(
        JSON.stringify({
          version: '0',
          id: `cost-bench-${targets}`,
          'detail-type': 'Scheduled Event',
          source: 'aws.events',
          time: new Date(minuteMs).toISOString(),
          region: 'us-east-1',
          resources: [],
          detail: {},
        }),
      ),
    }),
  );
  if (answer.FunctionError !== undefined)
    throw new Error(`dispatcher failed: ${new TextDecoder().decode(answer.Payload)}`);
  // The last slot (45 s) plus the spread (10 s), its delivery and fan-out.
  await new Promise((resolve) => setTimeout(resolve, 65_000));
  const to = Date.now() / 1000;
  const calls = await h.stackCalls(from, to);
  const logs = await h.logWindow(await h.logGroupOf(name), from, to);
  const invokes = calls.filter((c) => c.service === 'lambda' && c.eventName === 'Invoke').length;
  if (invokes !== 4 * targets)
    throw new Error(
      `dispatcher with ${targets} targets started ${invokes} collector runs in a minute, expected ${4 * targets}`,
    );
  const measurement: DispatcherMeasurement = {
    targets,
    invocations: logs.billedMs.length,
    queueBatches: logs.billedMs.length - 1,
    billedMs: median(logs.billedMs) * logs.billedMs.length,
    calls: await h.tally(calls),
    logBytes: logs.bytes,
  };
  log(
    `dispatcher, ${targets} targets: ${measurement.invocations} invocations, ${calls.length} calls (${measurement.calls.map((c) => `${c.calls} ${c.eventName}`).join(', ')})`,
  );
  return measurement;
}

/** Runs the measurement and the model. */
export async function benchCost(options: {
  tables: number;
  log: (line: string) => void;
}): Promise<CostBench> {
  const { log } = options;
  const [aws, pg, prom, demo] = await Promise.all([
    startAws(),
    startPostgres({ major: 18 }),
    startPrometheus(),
    startDemoDatabase(log),
  ]);
  const proxy = await startCountingProxy(prom.writeUrl);
  const dir = await mkdtemp(join(tmpdir(), 'pgotel-bench-cost-'));
  try {
    await createBenchDatabase(pg, options.tables, log);
    const secrets = new SecretsManagerClient({
      endpoint: aws.endpoint,
      region: aws.region,
      credentials: aws.credentials,
    });
    const benchDsn = new URL(pg.dsn('postgres'));
    benchDsn.username = 'otel_monitor';
    benchDsn.password = 'bench-monitor';
    const arns: Record<string, string> = {};
    for (const [name, dsn] of [
      ['shop', demo.dsn],
      ['bench', benchDsn.toString()],
    ] as const) {
      const secret = await secrets.send(
        new CreateSecretCommand({ Name: `pgotel/${name}`, SecretString: rdsSecret(dsn) }),
      );
      arns[name] = secret.ARN ?? '';
    }
    secrets.destroy();
    const configPath = join(dir, 'pgotel.config.yaml');
    await writeFile(
      configPath,
      `targets:
  - { name: shop, secret_arn: ${arns.shop}, tls: { mode: disable } }
  - { name: bench, secret_arn: ${arns.bench}, tls: { mode: disable } }
remote_write: { url: ${proxy.url} }
cardinality: {}
schedule: { enabled: false }
`,
    );
    log('deploying the stack (cdk bootstrap + deploy)');
    const stack = await deployStack({ aws, configPath });
    const template = JSON.parse(
      await readFile(join(stack.assemblyDir, `${stack.stackName}.template.json`), 'utf8'),
    ) as Template;
    const collectorMemoryMb = Number(functionOf(template, 'CollectorFunctionName').MemorySize);
    const dispatcherMemoryMb = Number(functionOf(template, 'DispatcherFunctionName').MemorySize);
    const resources = Object.values(template.Resources);
    const alarms = resources.filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    for (const alarm of alarms) {
      const namespace = String(alarm.Properties?.Namespace ?? '');
      if (!namespace.startsWith('AWS/'))
        throw new Error(
          `an alarm watches the custom namespace "${namespace}": custom metrics cost $0.30 each a month`,
        );
    }
    const queueMappings = resources.filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping').length;
    const archiveObjectsPerMonth = firehoseObjectsPerMonth(resources);
    const configDir = readdirSync(stack.assemblyDir).find(
      (d) => d.startsWith('asset.') && readdirSync(join(stack.assemblyDir, d)).includes('pgotel.config.json'),
    );
    if (configDir === undefined) throw new Error('no pgotel.config.json in the deployed assets');
    const deployed = JSON.parse(
      await readFile(join(stack.assemblyDir, configDir, 'pgotel.config.json'), 'utf8'),
    ) as PgotelConfig;

    const longDue = longQueriesDue(deployed);
    const runsPerMonth = monthlyRuns(longDue);
    await startCallRecording(aws);
    const h = new Harness(aws, await callReader(aws));
    try {
      const collectorLogs = await h.logGroupOf(stack.outputs.CollectorFunctionName);
      const seen = new Set<string>();
      const measured: {
        name: string;
        perRunType: Record<RunType, RunTypeMeasurement>;
        perRun: Record<RunType, PerRun>;
      }[] = [];
      for (const name of ['shop', 'bench']) {
        log(`measuring ${name}`);
        measured.push({
          name,
          ...(await measureDatabase(h, name, {
            stack,
            collectorLogs,
            longDue,
            runsPerMonth,
            proxy,
            seen,
            log,
          })),
        });
      }
      const items = await h.stateItems(stack.outputs.StateTableName);
      const windowSeconds = deployed.cardinality?.window_seconds;
      const databases = measured.map(({ name, perRunType, perRun }): DatabaseCost => {
        const own = items.filter((i) => i.pk.split('#')[1] === name);
        const window = own.filter((i) => i.pk === `cardinality#${name}`);
        const inputs: DatabaseInputs = {
          perRunType,
          runsPerMonth,
          collectorMemoryMb,
          secretFetchFloor: MONTH_SECONDS / SECRET_CACHE_SECONDS,
          cardinalityRefresh: {
            perMonth:
              windowSeconds === undefined
                ? 0
                : MONTH_SECONDS / (windowSeconds * REFRESH_AFTER_WINDOW_FRACTION),
            // The manifest and the new chunks are written; the old chunks are left to their TTL (free).
            writeUnits: window.reduce((sum, i) => sum + writeUnits(i.bytes), 0),
          },
          // DynamoDB stores 100 bytes of overhead per item.
          stateBytes: own.reduce((sum, i) => sum + i.bytes + 100, 0),
        };
        return { name, inputs, month: databaseMonth(inputs), perRun };
      });
      const deployments: { targets: number; month: DeploymentMonth }[] = [];
      for (const targets of FLEETS) {
        const dispatcher = await measureDispatcher(h, stack, deployed, dir, targets, log);
        deployments.push({
          targets,
          month: deploymentMonth({
            dispatcher,
            dispatcherMemoryMb,
            alarms: alarms.length,
            queueMappings,
            archiveObjectsPerMonth,
          }),
        });
      }
      return {
        databases,
        deployments,
        collectorMemoryMb,
        dispatcherMemoryMb,
        alarms: alarms.length,
        queueMappings,
        archiveObjectsPerMonth,
        collectorCalls: [...seen].sort(),
        logLinesScanned: h.logLinesScanned,
      };
    } finally {
      h.destroy();
    }
  } finally {
    await Promise.all([aws.stop(), pg.destroy(), prom.destroy(), demo.stop(), proxy.close()]);
    await rm(dir, { recursive: true, force: true });
  }
}
