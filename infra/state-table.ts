import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
// The adapters' own key names, so the table and the code that writes it cannot disagree.
import { TABLE_KEYS } from '../shared/state/dynamodb-table.ts';

/**
 * The collector's DynamoDB table: cardinality windows and the series each tier exported last (for stale
 * markers). On-demand (a few writes per target-minute never justify provisioned capacity), TTL-swept,
 * point-in-time recovery, AWS-managed encryption.
 *
 * Removal policy DESTROY: everything in it is derived and short-lived (TTL-bounded windows, last-run series
 * sets). Losing it costs one cardinality window of accounting and the stale markers of one run, while a
 * retained table would outlive `cdk destroy` and bill for storage nobody reads.
 */
export class StateTable extends Construct {
  /** The table; `CollectorFunction.bindStateTable` grants access and sets `PGOTEL_STATE_TABLE`. */
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: AttributeType.STRING },
      timeToLiveAttribute: TABLE_KEYS.ttl,
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }
}
