import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { PgotelConfig } from '../shared/config/schema.ts';
import { ArchiveBucket } from './archive-bucket.ts';

/** Props of {@link PgotelStack}. */
export interface PgotelStackProps extends StackProps {
  /** The validated `pgotel.config.yaml`, the same file the collector reads. */
  readonly config: PgotelConfig;
}

/**
 * pgotel's AWS resources. Today: the archive bucket (when the config has no `archive.url` of its own).
 * The scheduler, dispatcher and collector functions join it with the serverless work.
 */
export class PgotelStack extends Stack {
  constructor(scope: Construct, id: string, props: PgotelStackProps) {
    super(scope, id, props);
    if (props.config.archive === undefined) {
      const archive = new ArchiveBucket(this, 'Archive');
      new CfnOutput(this, 'ArchiveBucketName', { value: archive.bucket.bucketName });
    }
  }
}
