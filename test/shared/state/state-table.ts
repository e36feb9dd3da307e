import {
  type AttributeValue,
  CreateTableCommand,
  DynamoDBClient,
  paginateQuery,
} from '@aws-sdk/client-dynamodb';
import type { Label } from '../../../shared/export/remote-write-series.ts';
import { seriesKey } from '../../../shared/export/staleness.ts';
import { TABLE_KEYS } from '../../../shared/state/dynamodb-table.ts';
import type { AwsEmulator } from '../../helpers/aws.ts';

/** A DynamoDB client for the emulator. */
export function dynamoClient(aws: AwsEmulator): DynamoDBClient {
  return new DynamoDBClient({ endpoint: aws.endpoint, region: aws.region, credentials: aws.credentials });
}

/**
 * Creates the state table as the stack does (on-demand, `pk`/`sk`). TTL is left off: expired items stay
 * readable, as they do on AWS until the sweep, and the stores must filter them.
 */
export async function createStateTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: TABLE_KEYS.partitionKey, AttributeType: 'S' },
        { AttributeName: TABLE_KEYS.sortKey, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
      ],
    }),
  );
}

/** Every item of one partition key, in sort key order. */
export async function itemsOf(
  client: DynamoDBClient,
  tableName: string,
  pk: string,
): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  const pages = paginateQuery(
    { client },
    {
      TableName: tableName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey },
      ExpressionAttributeValues: { ':pk': { S: pk } },
    },
  );
  for await (const page of pages) items.push(...(page.Items ?? []));
  return items;
}

/**
 * `count` series keys of PostgreSQL table metrics as the exporter makes them: five metrics over 2,000 tables
 * in 10 databases, with the resource labels every series carries (about 290 bytes a key).
 */
export function tableSeriesKeys(count: number): string[] {
  const metrics = [
    'postgresql_table_live_tuples',
    'postgresql_table_dead_tuples',
    'postgresql_table_seq_scans_total',
    'postgresql_table_size_bytes',
    'postgresql_table_vacuum_count_total',
  ];
  const keys: string[] = [];
  for (let i = 0; keys.length < count; i++) {
    const table = Math.floor(i / metrics.length) % 2_000;
    const labels: Label[] = [
      { name: '__name__', value: metrics[i % metrics.length] ?? '' },
      { name: 'database_name', value: `orders_${Math.floor(i / (metrics.length * 2_000))}` },
      { name: 'schema_name', value: table % 3 === 0 ? 'public' : `tenant_${table % 17}` },
      { name: 'table_name', value: `order_line_items_archive_${table}` },
      { name: 'db_cluster', value: 'orders-primary' },
      { name: 'instance', value: 'orders-primary.cluster-abc123xyz.us-east-1.rds.amazonaws.com:5432' },
      { name: 'job', value: 'pgotel' },
      { name: 'service_name', value: 'pgotel' },
    ];
    keys.push(seriesKey(labels));
  }
  return keys;
}
