/**
 * The one DynamoDB table both state stores share (on-demand billing). The CDK stack creates it from these
 * names and the adapters write them, so the two can never drift apart.
 */

/**
 * Attribute names of the state table: string partition key `pk` (`series#<target>#<tier>`,
 * `cardinality#<scope>`), string sort key `sk` (`m` for a manifest, `c#<writeId>#<i>` for a chunk) and the
 * TTL attribute `expires_at` (epoch seconds) that DynamoDB's TTL sweep deletes by.
 */
export const TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk', ttl: 'expires_at' } as const;
