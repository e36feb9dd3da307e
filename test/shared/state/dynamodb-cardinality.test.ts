import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCardinalityStore } from '../../../shared/state/dynamodb-cardinality.ts';
import type { StateProblem } from '../../../shared/state/dynamodb-chunks.ts';
import { type AwsEmulator, startAws } from '../../helpers/aws.ts';
import { createStateTable, dynamoClient, itemsOf } from './state-table.ts';

const TABLE = 'pgotel-cardinality-test';
const POLICY = { maxSeriesPerMetric: 5, windowSeconds: 3600 };
const T0 = Date.UTC(2025, 0, 1);
const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const refusedOf = (refused: ReadonlyMap<string, ReadonlySet<string>>, metric = 'm'): string[] =>
  [...(refused.get(metric) ?? [])].sort();

describe('DynamoDbCardinalityStore (ministack)', () => {
  let aws: AwsEmulator;
  let client: DynamoDBClient;
  const extraClients: DynamoDBClient[] = [];

  beforeAll(async () => {
    aws = await startAws();
    client = dynamoClient(aws);
    await createStateTable(client, TABLE);
  });

  afterAll(async () => {
    for (const extra of extraClients) extra.destroy();
    client?.destroy();
    await aws?.stop();
  });

  /** A client of its own, as another Lambda container would have. */
  function containerClient(): DynamoDBClient {
    const own = dynamoClient(aws);
    extraClients.push(own);
    return own;
  }

  it('admits exactly 5 of 8 new series, and the same 5 on the next run and in another container', async () => {
    // Prepare
    const store = new DynamoDbCardinalityStore(client, TABLE);
    const candidates = new Map([['m', ids('series-', 8)]]);

    // Act
    const first = await store.admit('budget', candidates, POLICY, T0);
    const firstStats = store.stats();
    store.resetStats();
    const second = await store.admit('budget', candidates, POLICY, T0 + 15_000);
    const secondStats = store.stats();
    const other = new DynamoDbCardinalityStore(containerClient(), TABLE);
    const elsewhere = await other.admit('budget', candidates, POLICY, T0 + 30_000);

    // Assess
    expect(refusedOf(first)).toHaveLength(3);
    expect(refusedOf(second)).toStrictEqual(refusedOf(first));
    expect(refusedOf(elsewhere)).toStrictEqual(refusedOf(first));
    expect(firstStats.calls).toBe(3); // manifest read (none yet), chunk write, manifest write
    expect(secondStats).toStrictEqual({ calls: 1, readUnits: 0.5, writeUnits: 0 });
    expect(other.stats().calls).toBe(2); // manifest read, chunk read
    expect(await itemsOf(client, TABLE, 'cardinality#budget')).toHaveLength(2);
  });

  it('makes no DynamoDB call when every candidate is admitted and fresh in the warm window', async () => {
    // Prepare
    const store = new DynamoDbCardinalityStore(client, TABLE);
    const candidates = new Map([
      ['a', ids('a-', 4)],
      ['b', ids('b-', 2)],
    ]);
    await store.admit('warm', candidates, POLICY, T0);
    store.resetStats();

    // Act
    const refused = await store.admit('warm', candidates, POLICY, T0 + 2_700_000);
    const withinThreeQuarters = store.stats();
    await store.admit('warm', candidates, POLICY, T0 + 2_701_000);

    // Assess
    expect(refused.size).toBe(0);
    expect(withinThreeQuarters).toStrictEqual({ calls: 0, readUnits: 0, writeUnits: 0 });
    // The refresh after three quarters of the window: read, chunk, manifest; the replaced chunk is left to its TTL (free), not deleted.
    expect(store.stats().calls).toBe(3);
  });

  it('expires entries after the window and admits new series in their place', async () => {
    // Prepare
    const store = new DynamoDbCardinalityStore(client, TABLE);
    const old = ids('old-', 5);
    const fresh = ids('new-', 8);
    await store.admit('window', new Map([['m', old]]), POLICY, T0);

    // Act
    const inside = await store.admit('window', new Map([['m', fresh]]), POLICY, T0 + 3_599_000);
    const after = await store.admit('window', new Map([['m', fresh]]), POLICY, T0 + 3_600_000);
    const oldAgain = await store.admit('window', new Map([['m', old]]), POLICY, T0 + 3_601_000);

    // Assess
    expect(refusedOf(inside)).toStrictEqual(fresh);
    expect(refusedOf(after)).toHaveLength(3);
    expect(refusedOf(oldAgain)).toStrictEqual(old);
  });

  it('ignores a window item past its TTL that DynamoDB has not deleted, and writes over it', async () => {
    // Prepare
    await new DynamoDbCardinalityStore(client, TABLE).admit(
      'ttl',
      new Map([['m', ids('x-', 5)]]),
      POLICY,
      T0,
    );
    const problems: StateProblem[] = [];
    const later = new DynamoDbCardinalityStore(containerClient(), TABLE, {
      onProblem: (p) => problems.push(p),
    });
    const afterTtl = T0 + 2 * 3_600_000;

    // Act
    const stillStored = await client.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'cardinality#ttl' }, sk: { S: 'm' } } }),
    );
    const refused = await later.admit('ttl', new Map([['m', ids('y-', 5)]]), POLICY, afterTtl);

    // Assess
    expect(Number(stillStored.Item?.expires_at?.N)).toBe(T0 / 1000 + 7200);
    expect(refused.size).toBe(0);
    expect(later.stats().calls).toBe(3); // manifest read (expired), chunk write, manifest write
    expect(problems).toStrictEqual([]);
  });

  it('holds the budget across containers admitting different series concurrently', async () => {
    // Prepare
    const containers = [0, 1, 2].map(() => new DynamoDbCardinalityStore(containerClient(), TABLE));
    const offers = containers.map((_, c) => ids(`c${c}-`, 4));

    // Act
    const results = await Promise.all(
      containers.map((store, c) => store.admit('shared', new Map([['m', offers[c] ?? []]]), POLICY, T0)),
    );
    const seenByEach = await Promise.all(
      containers.map((store) => store.admit('shared', new Map([['m', offers.flat()]]), POLICY, T0 + 15_000)),
    );

    // Assess
    const admitted = offers.flatMap((offer, c) => offer.filter((id) => !results[c]?.get('m')?.has(id)));
    expect(admitted).toHaveLength(5);
    for (const seen of seenByEach) {
      expect(refusedOf(seen)).toStrictEqual(
        offers
          .flat()
          .filter((id) => !admitted.includes(id))
          .sort(),
      );
    }
  });

  it('fails open for known series and refuses new ones when a rival wins every write', async () => {
    // Prepare
    const policy = { maxSeriesPerMetric: 100, windowSeconds: 3600 };
    const rival = new DynamoDbCardinalityStore(containerClient(), TABLE);
    const contested = containerClient();
    let interfere = false;
    let rivalSeries = 0;
    contested.middlewareStack.add(
      (next, context) => async (args) => {
        // A real concurrent writer: the rival's whole admission lands between this store's read and write.
        if (interfere && context.commandName === 'PutItemCommand') {
          await rival.admit('contested', new Map([['m', [`rival-${rivalSeries++}`]]]), policy, T0);
        }
        return next(args);
      },
      { step: 'initialize', name: 'rivalWritesFirst' },
    );
    const problems: StateProblem[] = [];
    const store = new DynamoDbCardinalityStore(contested, TABLE, { onProblem: (p) => problems.push(p) });
    await store.admit('contested', new Map([['m', ids('known-', 3)]]), policy, T0);
    interfere = true;

    // Act
    const refused = await store.admit(
      'contested',
      new Map([['m', [...ids('known-', 3), 'new']]]),
      policy,
      T0,
    );
    interfere = false;
    const stored = await new DynamoDbCardinalityStore(containerClient(), TABLE).admit(
      'contested',
      new Map([['m', [...ids('known-', 3), ...ids('rival-', rivalSeries), 'new']]]),
      { ...policy, maxSeriesPerMetric: 0 },
      T0,
    );

    // Assess
    expect(refusedOf(refused)).toStrictEqual(['new']);
    expect(rivalSeries).toBe(4);
    expect(problems.map((p) => [p.kind, p.pk])).toStrictEqual([['contended', 'cardinality#contested']]);
    expect(refusedOf(stored)).toStrictEqual(['new']);
  });
});
