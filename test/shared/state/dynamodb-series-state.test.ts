import { randomBytes } from 'node:crypto';
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriesKey } from '../../../shared/export/staleness.ts';
import { CHUNK_BYTES, type StateProblem } from '../../../shared/state/dynamodb-chunks.ts';
import { DynamoDbSeriesStateStore } from '../../../shared/state/dynamodb-series-state.ts';
import { type AwsEmulator, startAws } from '../../helpers/aws.ts';
import { createStateTable, dynamoClient, itemsOf, tableSeriesKeys } from './state-table.ts';

const TABLE = 'pgotel-series-state-test';
const DAY_MS = 86_400_000;

function randomHex(): string {
  return randomBytes(16).toString('hex');
}

/** A clock the test moves by hand. */
function manualClock(startMs: number): { now: () => number; set: (ms: number) => void } {
  let current = startMs;
  return { now: () => current, set: (ms) => (current = ms) };
}

describe('DynamoDbSeriesStateStore (ministack)', () => {
  let aws: AwsEmulator;
  let client: DynamoDBClient;

  beforeAll(async () => {
    aws = await startAws();
    client = dynamoClient(aws);
    await createStateTable(client, TABLE);
  });

  afterAll(async () => {
    client?.destroy();
    await aws?.stop();
  });

  it('round-trips 100,000 series keys exactly, in one chunk, with bounded calls', async () => {
    // Prepare
    const keys = tableSeriesKeys(100_000);
    const writer = new DynamoDbSeriesStateStore(client, TABLE);
    const reader = new DynamoDbSeriesStateStore(client, TABLE);

    // Act
    await writer.save('big', { standard: keys });
    const saveStats = writer.stats();
    const loaded = await reader.load('big', ['standard']);
    const coldLoadStats = reader.stats();
    const items = await itemsOf(client, TABLE, 'series#big#standard');

    // Assess
    expect(loaded.standard).toStrictEqual(keys);
    const manifest = items.find((item) => item.sk?.S === 'm');
    const blobBytes = Number(manifest?.len?.N);
    const chunks = Math.ceil(blobBytes / CHUNK_BYTES);
    expect(chunks).toBe(1);
    expect(items).toHaveLength(1 + chunks);
    expect(saveStats).toStrictEqual({ calls: 2, readUnits: 0, writeUnits: Math.ceil(blobBytes / 1024) + 1 });
    expect(coldLoadStats.calls).toBe(2);
    expect(coldLoadStats.readUnits).toBeGreaterThanOrEqual(0.5 + blobBytes / 4096);
    expect(coldLoadStats.writeUnits).toBe(0);
  });

  it('splits a state over 350 KB into chunks and reads them back with one BatchGetItem', async () => {
    // Prepare: a random label value per series defeats compression
    const keys = tableSeriesKeys(100_000).map((key) => key.replace(/\]$/, `,"zz_id","${randomHex()}"]`));
    const writer = new DynamoDbSeriesStateStore(client, TABLE);
    const reader = new DynamoDbSeriesStateStore(client, TABLE);

    // Act
    await writer.save('chunked', { historical: keys });
    const saveStats = writer.stats();
    const loaded = await reader.load('chunked', ['historical']);
    const items = await itemsOf(client, TABLE, 'series#chunked#historical');

    // Assess
    expect(loaded.historical?.length).toBe(keys.length);
    expect(loaded.historical?.every((key, i) => key === keys[i])).toBe(true);
    const blobBytes = Number(items.find((item) => item.sk?.S === 'm')?.len?.N);
    const chunks = Math.ceil(blobBytes / CHUNK_BYTES);
    expect(chunks).toBeGreaterThan(1);
    expect(items).toHaveLength(1 + chunks);
    expect(saveStats.calls).toBe(2);
    expect(reader.stats().calls).toBe(2);
  });

  it('loads a warm unchanged state with one GetItem and saves unchanged keys with no call', async () => {
    // Prepare
    const keys = tableSeriesKeys(20_000);
    const store = new DynamoDbSeriesStateStore(client, TABLE);
    await store.save('steady', { critical: keys });
    await store.load('steady', ['critical']);
    store.resetStats();

    // Act
    const loaded = await store.load('steady', ['critical']);
    const loadStats = store.stats();
    store.resetStats();
    await store.save('steady', { critical: loaded.critical ?? [] });
    await store.save('steady', { critical: [...keys].reverse() });
    const saveStats = store.stats();

    // Assess
    expect(loaded.critical).toStrictEqual(keys);
    expect(loadStats).toStrictEqual({ calls: 1, readUnits: 0.5, writeUnits: 0 });
    expect(saveStats).toStrictEqual({ calls: 0, readUnits: 0, writeUnits: 0 });
  });

  it('replaces a changed state and deletes the superseded chunks', async () => {
    // Prepare
    const keys = tableSeriesKeys(1_000);
    const store = new DynamoDbSeriesStateStore(client, TABLE);
    await store.save('changed', { standard: keys });
    const before = await itemsOf(client, TABLE, 'series#changed#standard');
    store.resetStats();

    // Act
    await store.save('changed', { standard: keys.slice(1) });
    const saveStats = store.stats();
    const loaded = await new DynamoDbSeriesStateStore(client, TABLE).load('changed', ['standard']);

    // Assess
    expect(saveStats.calls).toBe(3); // new chunk, manifest, delete of the old chunk
    expect(loaded.standard).toStrictEqual(keys.slice(1));
    const after = await itemsOf(client, TABLE, 'series#changed#standard');
    expect(after).toHaveLength(2);
    const chunkKeys = (list: typeof before): (string | undefined)[] =>
      list.filter((item) => item.sk?.S !== 'm').map((item) => item.sk?.S);
    expect(chunkKeys(after)).not.toStrictEqual(chunkKeys(before));
  });

  it('keeps tiers apart and leaves tiers never saved absent', async () => {
    // Prepare
    const store = new DynamoDbSeriesStateStore(client, TABLE);
    await store.save('tiers', { critical: ['["__name__","a"]'], historical: [] });

    // Act
    const loaded = await new DynamoDbSeriesStateStore(client, TABLE).load('tiers', [
      'critical',
      'standard',
      'historical',
    ]);

    // Assess
    expect(loaded).toStrictEqual({ critical: ['["__name__","a"]'], historical: [] });
  });

  it('stores keys of labels with newlines and non-ASCII text (seriesKey escapes the newline)', async () => {
    // Prepare
    const keys = [
      seriesKey([
        { name: '__name__', value: 'postgresql_table_size_bytes' },
        { name: 'table_name', value: 'line\nbreak' },
      ]),
      seriesKey([
        { name: '__name__', value: 'postgresql_table_size_bytes' },
        { name: 'table_name', value: 'tëst "quoted" 😀' },
      ]),
    ];
    const store = new DynamoDbSeriesStateStore(client, TABLE);

    // Act
    await store.save('escapes', { standard: keys });
    const loaded = await new DynamoDbSeriesStateStore(client, TABLE).load('escapes', ['standard']);

    // Assess
    expect(keys.some((key) => key.includes('\n'))).toBe(false);
    expect(loaded.standard).toStrictEqual(keys);
  });

  it('loads a damaged chunk as no state, reports it, and lets the next save replace it', async () => {
    // Prepare
    const keys = tableSeriesKeys(2_000);
    await new DynamoDbSeriesStateStore(client, TABLE).save('damaged', { standard: keys });
    const chunk = (await itemsOf(client, TABLE, 'series#damaged#standard')).find(
      (item) => item.sk?.S !== 'm',
    );
    if (chunk === undefined) throw new Error('no chunk written');
    await client.send(
      new PutItemCommand({ TableName: TABLE, Item: { ...chunk, d: { B: new Uint8Array([1, 2, 3]) } } }),
    );
    const problems: StateProblem[] = [];
    const store = new DynamoDbSeriesStateStore(client, TABLE, { onProblem: (p) => problems.push(p) });

    // Act
    const loaded = await store.load('damaged', ['standard']);
    await store.save('damaged', { standard: keys });
    const reloaded = await new DynamoDbSeriesStateStore(client, TABLE).load('damaged', ['standard']);

    // Assess
    expect(loaded).toStrictEqual({});
    expect(problems).toStrictEqual([
      { kind: 'damaged', pk: 'series#damaged#standard', detail: 'digest mismatch' },
    ]);
    expect(reloaded.standard).toStrictEqual(keys);
  });

  it('loads a state with a missing chunk as no state', async () => {
    // Prepare
    await new DynamoDbSeriesStateStore(client, TABLE).save('missing', { standard: ['["__name__","a"]'] });
    const manifest = (await itemsOf(client, TABLE, 'series#missing#standard')).find(
      (item) => item.sk?.S === 'm',
    );
    if (manifest === undefined) throw new Error('no manifest written');
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...manifest, n: { N: '2' } } }));
    const problems: StateProblem[] = [];
    const store = new DynamoDbSeriesStateStore(client, TABLE, { onProblem: (p) => problems.push(p) });

    // Act
    const loaded = await store.load('missing', ['standard']);

    // Assess
    expect(loaded).toStrictEqual({});
    expect(problems.map((p) => p.detail)).toStrictEqual(['chunk 1 of 2 missing']);
  });

  it('filters an expired state that DynamoDB has not deleted yet, and overwrites it', async () => {
    // Prepare
    const clock = manualClock(Date.UTC(2025, 0, 1));
    const store = new DynamoDbSeriesStateStore(client, TABLE, { ttlSeconds: 60, now: clock.now });
    await store.save('expired', { standard: ['["__name__","old"]'] });
    clock.set(Date.UTC(2025, 0, 1) + 61_000);
    const fresh = new DynamoDbSeriesStateStore(client, TABLE, { ttlSeconds: 60, now: clock.now });

    // Act
    const loaded = await fresh.load('expired', ['standard']);
    const stillStored = await client.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'series#expired#standard' }, sk: { S: 'm' } } }),
    );
    await fresh.save('expired', { standard: ['["__name__","new"]'] });
    const reloaded = await new DynamoDbSeriesStateStore(client, TABLE, { now: clock.now }).load('expired', [
      'standard',
    ]);

    // Assess
    expect(loaded).toStrictEqual({});
    expect(stillStored.Item).toBeDefined();
    expect(reloaded.standard).toStrictEqual(['["__name__","new"]']);
  });

  it('rewrites an unchanged state once a day, so its TTL never runs out while it is used', async () => {
    // Prepare
    const start = Date.UTC(2025, 0, 1);
    const clock = manualClock(start);
    const store = new DynamoDbSeriesStateStore(client, TABLE, { now: clock.now });
    const keys = ['["__name__","a"]'];
    await store.save('refresh', { standard: keys });
    store.resetStats();

    // Act
    clock.set(start + DAY_MS - 1_000);
    await store.save('refresh', { standard: keys });
    const withinDay = store.stats();
    clock.set(start + DAY_MS);
    await store.save('refresh', { standard: keys });
    const manifest = (await itemsOf(client, TABLE, 'series#refresh#standard')).find(
      (item) => item.sk?.S === 'm',
    );

    // Assess
    expect(withinDay.calls).toBe(0);
    expect(store.stats().calls).toBe(3);
    expect(Number(manifest?.wat?.N)).toBe(start + DAY_MS);
    expect(Number(manifest?.expires_at?.N)).toBe((start + DAY_MS) / 1000 + 7 * 86_400);
  });

  it('saves over a state another container wrote: re-reads once, the later save wins, no orphan chunks', async () => {
    // Prepare
    const first = new DynamoDbSeriesStateStore(client, TABLE);
    const second = new DynamoDbSeriesStateStore(client, TABLE);
    await first.save('race', { standard: ['["__name__","first"]'] });
    const problems: StateProblem[] = [];

    // Act
    await second.save('race', { standard: ['["__name__","second"]'] });
    const loaded = await new DynamoDbSeriesStateStore(client, TABLE, {
      onProblem: (p) => problems.push(p),
    }).load('race', ['standard']);

    // Assess
    expect(loaded.standard).toStrictEqual(['["__name__","second"]']);
    expect(await itemsOf(client, TABLE, 'series#race#standard')).toHaveLength(2);
    expect(problems).toStrictEqual([]);
  });
});
