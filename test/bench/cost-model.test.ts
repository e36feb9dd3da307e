import { describe, expect, it } from 'vitest';
import {
  billedUnits,
  type DatabaseInputs,
  databaseMonth,
  deploymentMonth,
  dynamoItemBytes,
  latestSlotOf,
  MONTH_SECONDS,
  meterOf,
  monthlyRuns,
  perDatabase,
  RUN_TYPES,
  type RunType,
  type RunTypeMeasurement,
  tallyCalls,
  UnpricedCallError,
} from '../../bench/cost-model.ts';
import { TIER_INTERVAL_SECONDS } from '../../shared/model/metrics.ts';

/** Dollars compared to the nano-dollar: float arithmetic, exact figures. */
const nano = (usd: number) => Math.round(usd * 1e9) / 1e9;

const idle: RunTypeMeasurement = {
  runs: 1,
  billedMs: 0,
  calls: [],
  logBytes: 0,
  samples: 0,
  bytesSent: 0,
  archiveBytes: 0,
};

function inputs(perRunType: Partial<Record<RunType, RunTypeMeasurement>> = {}): DatabaseInputs {
  return {
    perRunType: Object.fromEntries(RUN_TYPES.map((t) => [t, perRunType[t] ?? idle])) as Record<
      RunType,
      RunTypeMeasurement
    >,
    runsPerMonth: { critical: 129_600, standard: 34_560, historical: 4_320, 'historical-long': 4_320 },
    collectorMemoryMb: 256,
    secretFetchFloor: 0,
    cardinalityRefresh: { perMonth: 0, writeUnits: 0 },
    stateBytes: 0,
  };
}

describe('the schedule of a database-month', () => {
  /** Longer-interval queries due at every 1,200 s: a multiple of the historical tier's cadence. */
  const every1200 = (slotMs: number) => slotMs % 1_200_000 === 0;
  const historicalMs = TIER_INTERVAL_SECONDS.historical * 1000;

  it('composes the 172,800 runs of 30 days from the dispatcher’s own tiersDueAt', () => {
    // Act
    const runs = monthlyRuns(every1200);

    // Assess
    const historical = MONTH_SECONDS / TIER_INTERVAL_SECONDS.historical;
    expect(runs).toStrictEqual({
      critical: 172_800 - 43_200,
      standard: 43_200 - historical,
      historical: historical - 2_160,
      'historical-long': 2_160,
    });
  });

  it('has no longer-interval run type when no query has a longer interval than its tier', () => {
    // Act
    const runs = monthlyRuns(() => false);

    // Assess
    expect(runs['historical-long']).toBe(0);
    expect(runs.historical).toBe(MONTH_SECONDS / TIER_INTERVAL_SECONDS.historical);
    expect(() => latestSlotOf('historical-long', Date.UTC(2026, 10, 29, 12), () => false)).toThrow(
      'no historical-long run in the day before 2026-11-29T12:00:00.000Z',
    );
  });

  it('picks the latest slot of each run type as the scheduledAt that runs exactly its queries', () => {
    // Prepare
    const now = Date.UTC(2026, 10, 29, 12, 7, 20);

    // Act
    const slots = RUN_TYPES.map((t) => new Date(latestSlotOf(t, now, every1200)).toISOString());

    // Assess: 12:04 (a 240 s tier) or 12:05 (300 s) is the latest historical slot; 12:00 divides 1,200 s
    expect(slots).toStrictEqual([
      '2026-11-29T12:07:15.000Z',
      '2026-11-29T12:07:00.000Z',
      new Date(Math.floor(now / historicalMs) * historicalMs).toISOString(),
      '2026-11-29T12:00:00.000Z',
    ]);
  });
});

describe('pricing recorded calls', () => {
  it('sizes a DynamoDB item as it is billed: names, UTF-8 strings, raw binary, numbers by digits', () => {
    // Act
    const bytes = dynamoItemBytes({
      pk: { S: 'series#shop#critical' },
      sk: { S: 'm' },
      n: { N: '1' },
      d: { B: 'AAAA' },
      raw: { B: new Uint8Array(10) },
    });

    // Assess: 2+20, 2+1, 1+2, 1+3, 3+10
    expect(bytes).toBe(45);
  });

  it('bills DynamoDB in request units, Firehose in 5 KB records and everything else per call', () => {
    // Prepare
    const sizes: Record<string, number> = { a: 5000, b: 10, c: 100 };
    const sizeOf = (_table: string, key: Record<string, Record<string, unknown>>) =>
      sizes[String(key.pk?.S)] ?? 0;
    const put = { Item: { pk: { S: 'x' }, d: { B: Buffer.alloc(1500).toString('base64') } } };

    // Act
    const units = [
      billedUnits({ service: 'dynamodb', eventName: 'PutItem', requestParameters: put }, sizeOf),
      billedUnits(
        {
          service: 'dynamodb',
          eventName: 'BatchGetItem',
          requestParameters: {
            RequestItems: { t: { Keys: [{ pk: { S: 'a' } }, { pk: { S: 'b' } }], ConsistentRead: true } },
          },
        },
        sizeOf,
      ),
      billedUnits(
        {
          service: 'dynamodb',
          eventName: 'GetItem',
          requestParameters: { TableName: 't', Key: { pk: { S: 'c' } } },
        },
        sizeOf,
      ),
      billedUnits(
        {
          service: 'firehose',
          eventName: 'PutRecordBatch',
          requestParameters: {
            Records: [
              { Data: Buffer.alloc(100).toString('base64') },
              { Data: Buffer.alloc(6000).toString('base64') },
            ],
          },
        },
        sizeOf,
      ),
      billedUnits({ service: 's3', eventName: 'PutObject', requestParameters: {} }, sizeOf),
    ];

    // Assess: 1,500 B → 2 WRU; 5,000 B + 10 B consistent → 2 + 1 RRU; 100 B eventually consistent → 0.5 RRU
    expect(units).toStrictEqual([2, 3, 0.5, 15_360, 1]);
  });

  it('fails on a call it has no price for, naming it', () => {
    // Act / Assess
    expect(() => meterOf('monitoring', 'PutMetricData')).toThrow(UnpricedCallError);
    expect(() =>
      tallyCalls([{ service: 'monitoring', eventName: 'PutMetricData', requestParameters: {} }], () => 0),
    ).toThrow('no price for the API call monitoring:PutMetricData');
  });
});

describe('a database-month', () => {
  it('bills one Lambda request per run: 172,800 × $0.20 per million = $0.03456', () => {
    // Act
    const month = databaseMonth(inputs());

    // Assess
    expect(month.runs).toBe(172_800);
    expect(nano(month.byService.Lambda)).toBe(0.03456);
    expect(nano(month.total)).toBe(0.03456);
  });

  it('turns measured calls, durations, logs and samples into the month of each run type', () => {
    // Prepare: 10 critical runs of 50 ms billed, each one GetItem (0.5 RRU) and one PutRecordBatch of one 5 KB record
    const critical: RunTypeMeasurement = {
      runs: 10,
      billedMs: 500,
      calls: [
        { service: 'dynamodb', eventName: 'GetItem', calls: 10, units: 5 },
        { service: 'firehose', eventName: 'PutRecordBatch', calls: 10, units: 51_200 },
      ],
      logBytes: 10_000,
      samples: 400,
      bytesSent: 20_000,
      archiveBytes: 30_000,
    };
    const full: RunTypeMeasurement = { ...idle, samples: 600 };

    // Act
    const month = databaseMonth({
      ...inputs({ critical, 'historical-long': full }),
      secretFetchFloor: 8_640,
      cardinalityRefresh: { perMonth: 2_880, writeUnits: 3 },
    });

    // Assess
    // 129,600 runs × 50 ms × 0.25 GB = 1,620 GB-s × $0.0000133334 + 172,800 requests × $0.20/M
    expect(month.gbSeconds).toBe(1_620);
    expect(nano(month.byService.Lambda)).toBe(nano(1_620 * 0.0000133334 + 0.03456));
    // 64,800 RRU × $0.25/M + 2,880 × 3 WRU × $1.25/M
    expect(nano(month.byService.DynamoDB)).toBe(nano(0.0162 + 0.0108));
    // 129,600 records of 5 KB = 0.62 GB × $0.029; 0.36 GB archived × $0.023 in S3 Standard
    expect(nano(month.byService.Firehose)).toBe(nano(((129_600 * 5120) / 1024 ** 3) * 0.029));
    expect(nano(month.byService.S3)).toBe(nano(((129_600 * 3000) / 1024 ** 3) * 0.023));
    expect(month.callsPerMonth['secretsmanager:GetSecretValue']).toBe(8_640);
    expect(nano(month.byService['Secrets Manager'])).toBe(0.0432);
    expect(nano(month.byService['CloudWatch Logs'])).toBe(nano(((129_600 * 1000) / 1024 ** 3) * 0.53));
    // 129,600 critical runs × 40 + 4,320 full runs × 600; a scraper: the full run's 600 samples every slot
    expect(month.samples).toBe(7_776_000);
    expect(nano(month.ampUsd)).toBe(0.69984);
    expect(month.scraperSamples).toBe(103_680_000);
    expect(nano(month.scraperAmpUsd)).toBe(9.3312);
    expect(month.bytesSent).toBe(259_200_000);
  });
});

describe('the deployment month', () => {
  it('prices the dispatcher’s measured minute, idle queue polling, the rule, the alarms and the archive objects', () => {
    // Act
    const month = deploymentMonth({
      dispatcher: {
        targets: 1,
        invocations: 5,
        queueBatches: 4,
        billedMs: 100,
        calls: [
          { service: 'sqs', eventName: 'SendMessageBatch', calls: 1, units: 1 },
          { service: 'lambda', eventName: 'Invoke', calls: 4, units: 4 },
        ],
        logBytes: 0,
      },
      dispatcherMemoryMb: 256,
      alarms: 6,
      queueMappings: 2,
      archiveObjectsPerMonth: 8_640,
    });

    // Assess
    // 43,200 sends + 4 × 43,200 × (receive + delete) + 2 mappings × 5 pollers × 129,600 long polls
    expect(month.sqsRequests).toBe(1_684_800);
    expect(nano(month.byService.SQS)).toBe(0.67392);
    // 216,000 invocations × $0.20/M + 4,320 s × 0.25 GB × $0.0000133334
    expect(nano(month.byService.Lambda)).toBe(0.057600072);
    expect(nano(month.byService.EventBridge)).toBe(0.0432);
    expect(nano(month.byService['CloudWatch alarms'])).toBe(0.6);
    // Firehose writes one object per 300 s buffer for the whole fleet: 8,640 PUTs × $0.005 per 1,000
    expect(nano(month.byService.S3)).toBe(0.0432);
    expect(month.collectorInvokesPerMinute).toBe(4);
    expect(nano(month.total)).toBe(nano(0.67392 + 0.057600072 + 0.0432 + 0.6 + 0.0432));
    expect(nano(perDatabase({ byService: month.byService, total: 0.1 }, month, 10))).toBe(
      nano(0.1 + month.total / 10),
    );
  });
});
