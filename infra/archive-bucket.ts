import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, StorageClass } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Props of {@link ArchiveBucket}. */
export interface ArchiveBucketProps {
  /** Days before archived objects move to Glacier Instant Retrieval. @default 30 */
  readonly infrequentAfterDays?: number;
  /** Days before archived objects are deleted; 0 keeps them forever. @default 0 */
  readonly expireAfterDays?: number;
}

/**
 * The S3 bucket that holds the OTLP archive: encrypted, private, TLS-only, versioned off (keys are
 * deterministic per target, tier and scheduled time, so a retry overwrites the same object).
 */
export class ArchiveBucket extends Construct {
  /** The bucket; the stack grants the collector `s3:PutObject` under its archive prefix. */
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: ArchiveBucketProps = {}) {
    super(scope, id);
    const expire = props.expireAfterDays ?? 0;
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          transitions: [
            {
              storageClass: StorageClass.GLACIER_INSTANT_RETRIEVAL,
              transitionAfter: Duration.days(props.infrequentAfterDays ?? 30),
            },
          ],
          ...(expire > 0 ? { expiration: Duration.days(expire) } : {}),
        },
      ],
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Only the collector role writes here (objects are metric samples, no personal data); server access ' +
        'logs would need a second bucket costing more than the archive. CloudTrail S3 data events are the ' +
        'audit option for deployments that need one.',
    });
  }
}
