import type { Tier } from '../shared/model/metrics.ts';
import { SLOT_SECONDS, tiersDueAt } from '../shared/schedule/plan.ts';

/**
 * The cost model of `npm run bench -- cost`: list prices and the arithmetic that turns measured calls, durations,
 * log bytes and samples into dollars per database-month and per deployment. Pure: the measuring is in `cost.ts`.
 */

/**
 * us-east-1 list prices (USD), as published on the AWS pricing pages named beside each, November 2026; no free
 * tier is subtracted.
 */
export const PRICES = {
  /** https://aws.amazon.com/lambda/pricing/ — per request (an async `Invoke` or an SQS-triggered batch). */
  lambdaRequest: 0.2 / 1e6,
  /** https://aws.amazon.com/lambda/pricing/ — Arm, first 7.5 billion GB-s a month. */
  lambdaArmGbSecond: 0.0000133334,
  /** https://aws.amazon.com/sqs/pricing/ — standard queue, per request (each 64 KB chunk of a payload is one). */
  sqsRequest: 0.4 / 1e6,
  /** https://aws.amazon.com/dynamodb/pricing/on-demand/ — per write request unit (1 KB). */
  dynamoWriteUnit: 1.25 / 1e6,
  /** https://aws.amazon.com/dynamodb/pricing/on-demand/ — per read request unit (4 KB strongly consistent, 8 KB eventually). */
  dynamoReadUnit: 0.25 / 1e6,
  /** https://aws.amazon.com/dynamodb/pricing/on-demand/ — table storage, per GB-month. */
  dynamoStorageGbMonth: 0.25,
  /** https://aws.amazon.com/dynamodb/pricing/on-demand/ — point-in-time recovery, per GB-month. */
  dynamoPitrGbMonth: 0.2,
  /** https://aws.amazon.com/s3/pricing/ — PUT, COPY, POST, LIST, per request. */
  s3Put: 0.005 / 1000,
  /** https://aws.amazon.com/s3/pricing/ — GET and all other requests. */
  s3Get: 0.0004 / 1000,
  /** https://aws.amazon.com/s3/pricing/ — S3 Standard, first 50 TB, per GB-month. */
  s3StandardGbMonth: 0.023,
  /** https://aws.amazon.com/s3/pricing/ — S3 Glacier Instant Retrieval, per GB-month (the bucket's tier after 30 days). */
  s3GlacierIrGbMonth: 0.004,
  /** https://aws.amazon.com/firehose/pricing/ — Direct PUT ingestion per GB, each record rounded up to 5 KB. */
  firehoseGb: 0.029,
  /** https://aws.amazon.com/secrets-manager/pricing/ — per API call. */
  secretsCall: 0.05 / 10_000,
  /** https://aws.amazon.com/secrets-manager/pricing/ — per secret-month (the user's, shown apart). */
  secretMonth: 0.4,
  /** https://aws.amazon.com/cloudwatch/pricing/ — Logs, standard class, data ingested per GB. */
  logsIngestGb: 0.5,
  /** https://aws.amazon.com/cloudwatch/pricing/ — Logs archival (storage), per GB-month. */
  logsStorageGbMonth: 0.03,
  /** https://aws.amazon.com/cloudwatch/pricing/ — standard-resolution alarm, per alarm-month. */
  alarmMonth: 0.1,
  /** https://aws.amazon.com/cloudwatch/pricing/ — custom metric (an EMF metric × dimension set), per month. */
  customMetricMonth: 0.3,
  /**
   * https://aws.amazon.com/eventbridge/pricing/ — custom events, per event. The every-minute rule's scheduled events
   * are priced at this rate as an upper bound.
   */
  eventBridgeEvent: 1 / 1e6,
  /** https://aws.amazon.com/kms/pricing/ — per request. */
  kmsRequest: 0.03 / 10_000,
  /** https://aws.amazon.com/prometheus/pricing/ — samples ingested, first 2 billion a month. */
  ampSample: 0.9 / 1e7,
  /** https://aws.amazon.com/vpc/pricing/ — NAT gateway, per GB processed (a collector in private subnets). */
  natGb: 0.045,
} as const;

/** Seconds in the billing month the model uses: 30 days. */
export const MONTH_SECONDS = 30 * 86_400;
/** Minutes in that month: the dispatcher's scheduled invocations. */
export const MONTH_MINUTES = MONTH_SECONDS / 60;
const GB = 1024 ** 3;
/** CloudWatch Logs counts 26 bytes per event beside the message (the PutLogEvents size rule). */
export const LOG_EVENT_OVERHEAD_BYTES = 26;
/**
 * An SQS event source mapping long-polls its queue whether or not messages come: Lambda starts with five pollers
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html), each a `ReceiveMessage` with a 20 s
 * wait. An estimate: AWS does not publish the idle polling rate.
 */
export const ESM_IDLE_POLLERS = 5;
export const ESM_LONG_POLL_SECONDS = 20;

/**
 * What a run collects: the tiers due at its slot and, for a run of every tier, whether queries with an interval longer
 * than their tier's (`queries.intervals`) are due too. The catalog's longer-interval queries are historical ones.
 */
export const RUN_TYPES = ['critical', 'standard', 'historical', 'historical-long'] as const;
export type RunType = (typeof RUN_TYPES)[number];

/** Tiers of each run type (a run at :00 carries the standard tier too, a historical one all three). */
export const RUN_TYPE_TIERS: Readonly<Record<RunType, readonly Tier[]>> = {
  critical: ['critical'],
  standard: ['critical', 'standard'],
  historical: ['critical', 'standard', 'historical'],
  'historical-long': ['critical', 'standard', 'historical'],
};

/** Whether queries with a longer interval than their tier's are due in the run scheduled at `slotMs`. */
export type LongQueriesDue = (slotMs: number) => boolean;

/** The run type of the slot at `slotMs`, from the dispatcher's own `tiersDueAt`. */
export function runTypeAt(slotMs: number, longDue: LongQueriesDue): RunType {
  const tiers = tiersDueAt(slotMs);
  if (tiers.includes('historical')) return longDue(slotMs) ? 'historical-long' : 'historical';
  return tiers.includes('standard') ? 'standard' : 'critical';
}

/** Runs per target-month of each type: every 15-second slot of the month. */
export function monthlyRuns(longDue: LongQueriesDue): Record<RunType, number> {
  const runs: Record<RunType, number> = { critical: 0, standard: 0, historical: 0, 'historical-long': 0 };
  for (let s = 0; s < MONTH_SECONDS; s += SLOT_SECONDS) runs[runTypeAt(s * 1000, longDue)]++;
  return runs;
}

/**
 * The latest slot at or before `nowMs` of the given type: a `scheduledAt` that runs exactly that type's queries.
 * @throws Error when no slot of the last day has that type
 */
export function latestSlotOf(type: RunType, nowMs: number, longDue: LongQueriesDue): number {
  const slotMs = SLOT_SECONDS * 1000;
  const first = Math.floor(nowMs / slotMs) * slotMs;
  for (let at = first; at > first - 86_400_000; at -= slotMs) if (runTypeAt(at, longDue) === type) return at;
  throw new Error(`no ${type} run in the day before ${new Date(nowMs).toISOString()}`);
}

/** What a recorded call is billed by. */
export type Meter =
  | 'lambdaRequests'
  | 'sqsRequests'
  | 'dynamoReadUnits'
  | 'dynamoWriteUnits'
  | 's3Puts'
  | 's3Gets'
  | 'firehoseBilledBytes'
  | 'secretsCalls'
  | 'kmsRequests';

/** The AWS services of the table, in its row order. */
export const SERVICES = [
  'Lambda',
  'SQS',
  'DynamoDB',
  'S3',
  'Firehose',
  'Secrets Manager',
  'KMS',
  'CloudWatch Logs',
  'CloudWatch alarms',
  'EventBridge',
] as const;
export type Service = (typeof SERVICES)[number];

const METERS: Readonly<Record<Meter, { price: number; service: Service }>> = {
  lambdaRequests: { price: PRICES.lambdaRequest, service: 'Lambda' },
  sqsRequests: { price: PRICES.sqsRequest, service: 'SQS' },
  dynamoReadUnits: { price: PRICES.dynamoReadUnit, service: 'DynamoDB' },
  dynamoWriteUnits: { price: PRICES.dynamoWriteUnit, service: 'DynamoDB' },
  s3Puts: { price: PRICES.s3Put, service: 'S3' },
  s3Gets: { price: PRICES.s3Get, service: 'S3' },
  firehoseBilledBytes: { price: PRICES.firehoseGb / GB, service: 'Firehose' },
  secretsCalls: { price: PRICES.secretsCall, service: 'Secrets Manager' },
  kmsRequests: { price: PRICES.kmsRequest, service: 'KMS' },
};

/**
 * Every API call the stack is known to make, `service:eventName` → its meter. A call not listed here has no price:
 * the bench fails on it rather than leave it out of the total.
 */
const CALL_METERS: Readonly<Record<string, Meter>> = {
  'lambda:Invoke': 'lambdaRequests',
  'sqs:SendMessage': 'sqsRequests',
  'sqs:SendMessageBatch': 'sqsRequests',
  'sqs:ReceiveMessage': 'sqsRequests',
  'sqs:DeleteMessage': 'sqsRequests',
  'sqs:DeleteMessageBatch': 'sqsRequests',
  'sqs:ChangeMessageVisibility': 'sqsRequests',
  'sqs:ChangeMessageVisibilityBatch': 'sqsRequests',
  'dynamodb:GetItem': 'dynamoReadUnits',
  'dynamodb:BatchGetItem': 'dynamoReadUnits',
  'dynamodb:Query': 'dynamoReadUnits',
  'dynamodb:PutItem': 'dynamoWriteUnits',
  'dynamodb:UpdateItem': 'dynamoWriteUnits',
  'dynamodb:DeleteItem': 'dynamoWriteUnits',
  'dynamodb:BatchWriteItem': 'dynamoWriteUnits',
  's3:PutObject': 's3Puts',
  's3:GetObject': 's3Gets',
  's3:HeadObject': 's3Gets',
  'firehose:PutRecord': 'firehoseBilledBytes',
  'firehose:PutRecordBatch': 'firehoseBilledBytes',
  'secretsmanager:GetSecretValue': 'secretsCalls',
  'kms:Decrypt': 'kmsRequests',
  'kms:GenerateDataKey': 'kmsRequests',
};

/** A recorded call with no entry in the price table. */
export class UnpricedCallError extends Error {
  override readonly name = 'UnpricedCallError';
}

/** The meter of `service:eventName`. @throws UnpricedCallError naming the call */
export function meterOf(service: string, eventName: string): Meter {
  const meter = CALL_METERS[`${service}:${eventName}`];
  if (meter === undefined)
    throw new UnpricedCallError(
      `no price for the API call ${service}:${eventName}: add it to CALL_METERS in bench/cost-model.ts`,
    );
  return meter;
}

/** A DynamoDB attribute value as the JSON protocol sends it (binary as base64) or the SDK returns it (bytes). */
export type AttributeJson = Readonly<Record<string, unknown>>;

function base64Bytes(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return Math.floor((text.length * 3) / 4) - padding;
}

function binaryBytes(value: unknown): number {
  if (typeof value === 'string') return base64Bytes(value);
  if (value instanceof Uint8Array) return value.length;
  return 0;
}

/** Bytes of a number as DynamoDB sizes it: about one byte per two significant digits, plus one. */
function numberBytes(text: string): number {
  const digits = text.replace(/[-+.]/g, '').replace(/e.*$/i, '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

function valueBytes(value: AttributeJson): number {
  const [type, inner] = Object.entries(value)[0] ?? ['NULL', true];
  switch (type) {
    case 'S':
      return Buffer.byteLength(String(inner), 'utf8');
    case 'N':
      return numberBytes(String(inner));
    case 'B':
      return binaryBytes(inner);
    case 'BOOL':
    case 'NULL':
      return 1;
    case 'SS':
      return (inner as string[]).reduce((sum, s) => sum + Buffer.byteLength(s, 'utf8'), 0);
    case 'NS':
      return (inner as string[]).reduce((sum, s) => sum + numberBytes(s), 0);
    case 'BS':
      return (inner as unknown[]).reduce<number>((sum, b) => sum + binaryBytes(b), 0);
    case 'L':
      return 3 + (inner as AttributeJson[]).reduce((sum, v) => sum + 1 + valueBytes(v), 0);
    case 'M':
      return (
        3 + dynamoItemBytes(inner as Record<string, AttributeJson>) + Object.keys(inner as object).length
      );
    default:
      throw new Error(`DynamoDB attribute type ${type} has no size rule`);
  }
}

/**
 * An item's size as DynamoDB bills it (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
 * attribute names plus values; strings in UTF-8, binary raw, numbers about a byte per two digits.
 */
export function dynamoItemBytes(item: Readonly<Record<string, AttributeJson>>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item))
    bytes += Buffer.byteLength(name, 'utf8') + valueBytes(value);
  return bytes;
}

/** Write request units of writing (or deleting) an item of `bytes`: 1 KB each, at least one. */
export function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 1024));
}

/** Read request units of reading an item of `bytes`: 4 KB each, at least one; half for an eventually consistent read. */
export function readUnits(bytes: number, consistent: boolean): number {
  const units = Math.max(1, Math.ceil(bytes / 4096));
  return consistent ? units : units / 2;
}

/** Firehose bills each record rounded up to 5 KB. */
export function firehoseBilledBytes(recordBytes: number): number {
  return Math.max(1, Math.ceil(recordBytes / 5120)) * 5120;
}

/** SQS bills every 64 KB chunk of a request's payload as one request. */
export function sqsRequests(payloadBytes: number): number {
  return Math.max(1, Math.ceil(payloadBytes / 65_536));
}

/** A recorded call as the model needs it. */
export interface BilledCall {
  readonly service: string;
  readonly eventName: string;
  readonly requestParameters: Readonly<Record<string, unknown>>;
}

/**
 * The billed quantity of one call in its meter's unit: request units for DynamoDB (from the items' sizes: written
 * items from the request, read and deleted ones from `sizeOf`), billed bytes for Firehose, 64 KB chunks for SQS
 * sends, one for everything else.
 * @param sizeOf bytes of the item under `key` of `table` (0 when there is none), for reads and deletes
 */
export function billedUnits(
  call: BilledCall,
  sizeOf: (table: string, key: Readonly<Record<string, AttributeJson>>) => number,
): number {
  const p = call.requestParameters as Record<string, unknown>;
  type Item = Record<string, AttributeJson>;
  switch (`${call.service}:${call.eventName}`) {
    case 'dynamodb:PutItem':
      return writeUnits(dynamoItemBytes(p.Item as Item));
    case 'dynamodb:UpdateItem':
    case 'dynamodb:DeleteItem':
      return writeUnits(sizeOf(String(p.TableName), p.Key as Item));
    case 'dynamodb:GetItem':
      return readUnits(sizeOf(String(p.TableName), p.Key as Item), p.ConsistentRead === true);
    case 'dynamodb:BatchGetItem': {
      let units = 0;
      for (const [table, request] of Object.entries(
        p.RequestItems as Record<string, { Keys: Item[]; ConsistentRead?: boolean }>,
      ))
        for (const key of request.Keys)
          units += readUnits(sizeOf(table, key), request.ConsistentRead === true);
      return units;
    }
    case 'dynamodb:BatchWriteItem': {
      let units = 0;
      for (const [table, requests] of Object.entries(
        p.RequestItems as Record<string, { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } }[]>,
      )) {
        for (const r of requests) {
          if (r.PutRequest !== undefined) units += writeUnits(dynamoItemBytes(r.PutRequest.Item));
          else if (r.DeleteRequest !== undefined) units += writeUnits(sizeOf(table, r.DeleteRequest.Key));
        }
      }
      return units;
    }
    case 'firehose:PutRecord':
      return firehoseBilledBytes(binaryBytes((p.Record as { Data: string }).Data));
    case 'firehose:PutRecordBatch':
      return (p.Records as { Data: string }[]).reduce(
        (sum, r) => sum + firehoseBilledBytes(binaryBytes(r.Data)),
        0,
      );
    case 'sqs:SendMessage':
      return sqsRequests(Buffer.byteLength(String(p.MessageBody ?? ''), 'utf8'));
    case 'sqs:SendMessageBatch':
      return sqsRequests(
        (p.Entries as { MessageBody?: string }[]).reduce(
          (sum, e) => sum + Buffer.byteLength(e.MessageBody ?? '', 'utf8'),
          0,
        ),
      );
    default:
      return 1;
  }
}

/** Calls of one kind over a measurement, and their billed quantity in the meter's unit. */
export interface CallTally {
  readonly service: string;
  readonly eventName: string;
  readonly calls: number;
  readonly units: number;
}

/** Groups calls by `service:eventName`, summing calls and billed units. @throws UnpricedCallError */
export function tallyCalls(
  calls: readonly BilledCall[],
  sizeOf: (table: string, key: Readonly<Record<string, AttributeJson>>) => number,
): CallTally[] {
  const byName = new Map<string, { service: string; eventName: string; calls: number; units: number }>();
  for (const call of calls) {
    meterOf(call.service, call.eventName);
    const name = `${call.service}:${call.eventName}`;
    const tally = byName.get(name) ?? {
      service: call.service,
      eventName: call.eventName,
      calls: 0,
      units: 0,
    };
    tally.calls++;
    tally.units += billedUnits(call, sizeOf);
    byName.set(name, tally);
  }
  return [...byName.values()].sort((a, b) => (a.service + a.eventName < b.service + b.eventName ? -1 : 1));
}

/** Dollars of `units` of a call's meter, and the service it is billed under. */
export function callCost(tally: Pick<CallTally, 'service' | 'eventName' | 'units'>): {
  service: Service;
  usd: number;
} {
  const meter = METERS[meterOf(tally.service, tally.eventName)];
  return { service: meter.service, usd: tally.units * meter.price };
}

/** Lambda's compute charge: billed milliseconds (each invocation rounded up to 1 ms) × configured memory. */
export function lambdaGbSeconds(billedMs: number, memoryMb: number): number {
  return (billedMs / 1000) * (memoryMb / 1024);
}

/** What one run type cost over a measurement of `runs` runs of one target. */
export interface RunTypeMeasurement {
  readonly runs: number;
  /** Σ billed duration, each run rounded up to 1 ms. */
  readonly billedMs: number;
  /** The collector's calls, tallied (the bench's own calls excluded). */
  readonly calls: readonly CallTally[];
  /** Σ CloudWatch Logs bytes (messages + {@link LOG_EVENT_OVERHEAD_BYTES} per event). */
  readonly logBytes: number;
  /** Σ samples sent to remote-write (the run summaries' `samplesSent`). */
  readonly samples: number;
  /** Σ bytes sent: remote-write bodies, archive payloads, AWS request parameters. */
  readonly bytesSent: number;
  /** Σ bytes archived (object or record payloads). */
  readonly archiveBytes: number;
}

/** Everything the model needs of one database. */
export interface DatabaseInputs {
  readonly perRunType: Readonly<Record<RunType, RunTypeMeasurement>>;
  readonly runsPerMonth: Readonly<Record<RunType, number>>;
  /** The collector's configured memory (MB), from the synthesized template. */
  readonly collectorMemoryMb: number;
  /**
   * GetSecretValue calls a month at least: a warm container re-reads a secret when its cache expires
   * (month / cache max age); the measured rate counts when it is higher.
   */
  readonly secretFetchFloor: number;
  /** The cardinality window's refresh (a rewrite every 3/4 window): refreshes a month and write units of one. */
  readonly cardinalityRefresh: { readonly perMonth: number; readonly writeUnits: number };
  /** Bytes the target's state items occupy in DynamoDB (storage and PITR). */
  readonly stateBytes: number;
}

/** Dollars by service, and their sum. */
export interface Costs {
  readonly byService: Readonly<Record<Service, number>>;
  readonly total: number;
}

function emptyByService(): Record<Service, number> {
  return Object.fromEntries(SERVICES.map((s) => [s, 0])) as Record<Service, number>;
}

function costs(byService: Record<Service, number>): Costs {
  return { byService, total: SERVICES.reduce((sum, s) => sum + byService[s], 0) };
}

/** One priced line of a month: what, how much of it, and its dollars. */
export interface CostItem {
  readonly service: Service;
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly usd: number;
}

/** A database-month: dollars by service, the itemized lines, and the quantities behind them. */
export interface DatabaseMonth extends Costs {
  readonly items: readonly CostItem[];
  readonly runs: number;
  readonly gbSeconds: number;
  /** Calls a month by `service:eventName` (collector invocations included as `lambda:Invoke`). */
  readonly callsPerMonth: Readonly<Record<string, number>>;
  readonly logBytes: number;
  readonly archiveBytes: number;
  readonly bytesSent: number;
  /** NAT gateway processing of `bytesSent`, for a collector in private subnets (not in the total). */
  readonly natUsd: number;
  readonly samples: number;
  readonly ampUsd: number;
  /** A collector scraping every metric every 15 s: the samples of a run of every query × every slot of the month. */
  readonly scraperSamples: number;
  readonly scraperAmpUsd: number;
}

const METER_UNITS: Readonly<Record<Meter, string>> = {
  lambdaRequests: 'requests',
  sqsRequests: 'requests',
  dynamoReadUnits: 'read units',
  dynamoWriteUnits: 'write units',
  s3Puts: 'requests',
  s3Gets: 'requests',
  firehoseBilledBytes: 'GB billed',
  secretsCalls: 'calls',
  kmsRequests: 'requests',
};

/** Scales a measurement of `m.runs` runs to `monthly` runs. */
function perMonth(value: number, m: RunTypeMeasurement, monthly: number): number {
  return m.runs === 0 ? 0 : (value / m.runs) * monthly;
}

/** One database's month at the schedule's cadences, from per-run-type measurements. */
export function databaseMonth(inputs: DatabaseInputs): DatabaseMonth {
  const callsPerMonth: Record<string, number> = {};
  const unitsPerMonth: Record<string, { service: string; eventName: string; units: number }> = {};
  let runs = 0;
  let billedMs = 0;
  let logBytes = 0;
  let samples = 0;
  let bytesSent = 0;
  let archiveBytes = 0;
  for (const type of RUN_TYPES) {
    const m = inputs.perRunType[type];
    const monthly = inputs.runsPerMonth[type];
    runs += monthly;
    billedMs += perMonth(m.billedMs, m, monthly);
    logBytes += perMonth(m.logBytes, m, monthly);
    samples += perMonth(m.samples, m, monthly);
    bytesSent += perMonth(m.bytesSent, m, monthly);
    archiveBytes += perMonth(m.archiveBytes, m, monthly);
    for (const tally of m.calls) {
      const name = `${tally.service}:${tally.eventName}`;
      callsPerMonth[name] = (callsPerMonth[name] ?? 0) + perMonth(tally.calls, m, monthly);
      const u = unitsPerMonth[name] ?? { service: tally.service, eventName: tally.eventName, units: 0 };
      u.units += perMonth(tally.units, m, monthly);
      unitsPerMonth[name] = u;
    }
  }
  const secrets = 'secretsmanager:GetSecretValue';
  const fetches = Math.max(callsPerMonth[secrets] ?? 0, inputs.secretFetchFloor);
  callsPerMonth[secrets] = fetches;
  unitsPerMonth[secrets] = { service: 'secretsmanager', eventName: 'GetSecretValue', units: fetches };
  const items: CostItem[] = [];
  for (const [name, u] of Object.entries(unitsPerMonth).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const meter = meterOf(u.service, u.eventName);
    const { service, usd } = callCost(u);
    const quantity = meter === 'firehoseBilledBytes' ? u.units / GB : u.units;
    items.push({ service, item: `\`${name}\``, quantity, unit: METER_UNITS[meter], usd });
  }
  // One invocation per run (the dispatcher's async Invoke), compute from the measured billed durations.
  const gbSeconds = lambdaGbSeconds(billedMs, inputs.collectorMemoryMb);
  callsPerMonth['lambda:Invoke'] = runs;
  const refreshUnits = inputs.cardinalityRefresh.perMonth * inputs.cardinalityRefresh.writeUnits;
  const stateGb = inputs.stateBytes / GB;
  items.push(
    {
      service: 'Lambda',
      item: 'collector requests',
      quantity: runs,
      unit: 'requests',
      usd: runs * PRICES.lambdaRequest,
    },
    {
      service: 'Lambda',
      item: 'collector compute',
      quantity: gbSeconds,
      unit: 'GB-s',
      usd: gbSeconds * PRICES.lambdaArmGbSecond,
    },
    {
      service: 'DynamoDB',
      item: 'cardinality window rewrite (every 3/4 window)',
      quantity: refreshUnits,
      unit: 'write units',
      usd: refreshUnits * PRICES.dynamoWriteUnit,
    },
    {
      service: 'DynamoDB',
      item: 'state storage and PITR',
      quantity: stateGb,
      unit: 'GB-month',
      usd: stateGb * (PRICES.dynamoStorageGbMonth + PRICES.dynamoPitrGbMonth),
    },
    // The month's archive in S3 Standard for its first 30 days (later months: Glacier IR, see the notes).
    {
      service: 'S3',
      item: 'archive storage, first 30 days',
      quantity: archiveBytes / GB,
      unit: 'GB-month',
      usd: (archiveBytes / GB) * PRICES.s3StandardGbMonth,
    },
    {
      service: 'CloudWatch Logs',
      item: 'log ingestion',
      quantity: logBytes / GB,
      unit: 'GB',
      usd: (logBytes / GB) * PRICES.logsIngestGb,
    },
    // Kept for the stack's 30-day retention: one month stored at steady state, uncompressed (an upper bound).
    {
      service: 'CloudWatch Logs',
      item: 'log storage (30-day retention)',
      quantity: logBytes / GB,
      unit: 'GB-month',
      usd: (logBytes / GB) * PRICES.logsStorageGbMonth,
    },
  );
  const byService = emptyByService();
  for (const item of items) byService[item.service] += item.usd;
  // The run that collects every query: with longer-interval queries, the one where they are due.
  const long = inputs.perRunType['historical-long'];
  const full = long.runs > 0 ? long : inputs.perRunType.historical;
  const scraperSamples = full.runs === 0 ? 0 : (full.samples / full.runs) * runs;
  return {
    ...costs(byService),
    items,
    runs,
    gbSeconds,
    callsPerMonth,
    logBytes,
    archiveBytes,
    bytesSent,
    natUsd: (bytesSent / GB) * PRICES.natGb,
    samples,
    ampUsd: samples * PRICES.ampSample,
    scraperSamples,
    scraperAmpUsd: scraperSamples * PRICES.ampSample,
  };
}

/** The dispatcher over one measured minute with a fleet of `targets`. */
export interface DispatcherMeasurement {
  readonly targets: number;
  /** Its invocations in the minute: the scheduled one plus one per slot-message batch the queue delivered. */
  readonly invocations: number;
  /** Of those, the ones the slot queue triggered (each one ReceiveMessage and one DeleteMessageBatch on AWS). */
  readonly queueBatches: number;
  readonly billedMs: number;
  /** Its own calls (the collector invokes, `lambda:Invoke`, are per database and left out of the fixed cost). */
  readonly calls: readonly CallTally[];
  readonly logBytes: number;
}

/** What the deployment costs whatever its databases do. */
export interface DeploymentInputs {
  readonly dispatcher: DispatcherMeasurement;
  readonly dispatcherMemoryMb: number;
  /** `AWS::CloudWatch::Alarm` resources in the synthesized template. */
  readonly alarms: number;
  /** `AWS::Lambda::EventSourceMapping` resources (SQS queues Lambda long-polls). */
  readonly queueMappings: number;
  /**
   * Archive objects a month the deployment writes whatever its fleet: a Firehose stream's one object per buffer
   * interval (month / interval; more when its size limit is reached first); 0 for the per-run S3 archive.
   */
  readonly archiveObjectsPerMonth: number;
}

/** The deployment's month, by service, with the quantities behind it. */
export interface DeploymentMonth extends Costs {
  readonly dispatcherInvocations: number;
  readonly sqsRequests: number;
  readonly collectorInvokesPerMinute: number;
}

/** The fixed month: dispatcher, its rule and queue traffic, idle queue polling, alarms. */
export function deploymentMonth(inputs: DeploymentInputs): DeploymentMonth {
  const byService = emptyByService();
  const d = inputs.dispatcher;
  let collectorInvokesPerMinute = 0;
  let sqsPerMinute = 2 * d.queueBatches;
  for (const tally of d.calls) {
    if (`${tally.service}:${tally.eventName}` === 'lambda:Invoke') {
      collectorInvokesPerMinute += tally.calls;
      continue;
    }
    const { service, usd } = callCost(tally);
    byService[service] += usd * MONTH_MINUTES;
    if (tally.service === 'sqs') sqsPerMinute += tally.units;
  }
  const idlePolls = inputs.queueMappings * ESM_IDLE_POLLERS * (MONTH_SECONDS / ESM_LONG_POLL_SECONDS);
  byService.SQS += (2 * d.queueBatches * MONTH_MINUTES + idlePolls) * PRICES.sqsRequest;
  const invocations = d.invocations * MONTH_MINUTES;
  byService.Lambda +=
    invocations * PRICES.lambdaRequest +
    lambdaGbSeconds(d.billedMs * MONTH_MINUTES, inputs.dispatcherMemoryMb) * PRICES.lambdaArmGbSecond;
  byService.EventBridge += MONTH_MINUTES * PRICES.eventBridgeEvent;
  byService['CloudWatch alarms'] += inputs.alarms * PRICES.alarmMonth;
  byService.S3 += inputs.archiveObjectsPerMonth * PRICES.s3Put;
  byService['CloudWatch Logs'] +=
    ((d.logBytes * MONTH_MINUTES) / GB) * (PRICES.logsIngestGb + PRICES.logsStorageGbMonth);
  return {
    ...costs(byService),
    dispatcherInvocations: invocations,
    sqsRequests: sqsPerMinute * MONTH_MINUTES + idlePolls,
    collectorInvokesPerMinute,
  };
}

/** A database's share of a deployment of `databases` like it: its own month plus the fixed month split evenly. */
export function perDatabase(database: Costs, deployment: Costs, databases: number): number {
  return database.total + deployment.total / databases;
}
