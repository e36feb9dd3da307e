import { Stack } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnDeliveryStream } from 'aws-cdk-lib/aws-kinesisfirehose';
import { Construct } from 'constructs';
import type { ArchiveCompression } from '../shared/archive/s3-key.ts';
import { objectPattern, type S3Location } from './access.ts';

/** Default buffering of the archive stream: one object per 300 s for the whole fleet. */
export const DEFAULT_ARCHIVE_BUFFER_SECONDS = 300;

/** Props of {@link ArchiveStream}. */
export interface ArchiveStreamProps {
  /** Where objects go: the bucket and the archive's key prefix. */
  readonly location: S3Location;
  readonly bucketArn: string;
  /** The records' compression (each record is a whole gzip member or a whole protobuf request). */
  readonly compression: ArchiveCompression;
  /** @default 300 */
  readonly bufferSeconds?: number;
}

/** `prefix/` or `''` for the bucket root. */
function root(prefix: string): string {
  return prefix === '' ? '' : `${prefix}/`;
}

/**
 * The archive's delivery stream (Amazon Data Firehose, DirectPut → S3). The collector puts one record per run;
 * the stream concatenates the fleet's records into one object per buffer interval under the same
 * `year=/month=/day=/hour=/minute=` partitions the per-run archive uses. Records are whole OTLP requests (gzip
 * members), so every object is one valid `ExportMetricsServiceRequest` (`.binpb.gz`), readable by `replay` and by
 * any OTLP tool. The stream adds no compression of its own: it would gzip the members a second time.
 */
export class ArchiveStream extends Construct {
  readonly streamName: string;
  readonly streamArn: string;
  /** The role the stream writes to S3 with. */
  readonly role: Role;

  constructor(scope: Construct, id: string, props: ArchiveStreamProps) {
    super(scope, id);
    const { location, bucketArn } = props;
    const role = new Role(this, 'DeliveryRole', {
      assumedBy: new ServicePrincipal('firehose.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'pgotel archive stream: writes archive objects into the archive bucket',
    });
    role.addToPolicy(
      new PolicyStatement({
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [`${bucketArn}/${objectPattern(location.prefix)}`],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
        resources: [bucketArn],
      }),
    );
    const partition =
      'year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/minute=!{timestamp:mm}/';
    const stream = new CfnDeliveryStream(this, 'Stream', {
      deliveryStreamType: 'DirectPut',
      deliveryStreamEncryptionConfigurationInput: { keyType: 'AWS_OWNED_CMK' },
      extendedS3DestinationConfiguration: {
        bucketArn,
        roleArn: role.roleArn,
        prefix: `${root(location.prefix)}${partition}`,
        // Delivery failures (none expected for DirectPut without processing) stay out of the archive's partitions.
        errorOutputPrefix: `${root(location.prefix)}errors/!{firehose:error-output-type}/${partition}`,
        fileExtension: props.compression === 'gzip' ? '.binpb.gz' : '.binpb',
        compressionFormat: 'UNCOMPRESSED',
        bufferingHints: {
          intervalInSeconds: props.bufferSeconds ?? DEFAULT_ARCHIVE_BUFFER_SECONDS,
          sizeInMBs: 64,
        },
      },
    });
    stream.node.addDependency(role);
    this.role = role;
    this.streamName = stream.ref;
    this.streamArn = stream.attrArn;
  }
}
