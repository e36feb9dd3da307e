import { CfnOutput, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import type { CfnBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { PgotelConfig } from '../shared/config/schema.ts';
import {
  ampWorkspace,
  configuredArchive,
  configuredSecrets,
  objectPattern,
  type S3Location,
  s3Url,
} from './access.ts';
import { CollectorAlarms } from './alarms.ts';
import { ArchiveBucket } from './archive-bucket.ts';
import { ArchiveStream } from './archive-stream.ts';
import { CollectorFunction } from './collector-function.ts';
import { CollectorQueues } from './collector-queues.ts';
import { DispatcherFunction } from './dispatcher-function.ts';
import { DispatcherTriggers } from './dispatcher-triggers.ts';
import { StateTable } from './state-table.ts';

/** Key prefix of the archive in the bucket this stack creates. */
export const OWN_ARCHIVE_PREFIX = 'pgotel';

/** Props of {@link PgotelStack}. */
export interface PgotelStackProps extends StackProps {
  /** The validated `pgotel.config.yaml`, the same file the collector reads. */
  readonly config: PgotelConfig;
}

/**
 * pgotel's AWS resources: the collector function, its state table, the archive (its own bucket unless the
 * config names one), the request queue with its dead-letter queues, the dispatcher with its every-minute
 * rule (unless `schedule.enabled` is false) and slot queue, and alarms. Outputs name what the CLI and tests
 * need: `CollectorFunctionName`, `CollectorFunctionArn`, `StateTableName`, `ArchiveUrl`, `CollectorQueueUrl`,
 * `DeadLetterQueueUrl`, `FailedInvocationQueueUrl`, `DispatcherFunctionName`, `SlotQueueUrl`,
 * `SlotDeadLetterQueueUrl`.
 */
export class PgotelStack extends Stack {
  /** The collector function (for dispatchers and schedules that invoke it). */
  readonly collector: CollectorFunction;
  /** The request queue feeding the collector and its dead-letter queues. */
  readonly queues: CollectorQueues;
  /** The dispatcher that starts the collector for every due target and slot. */
  readonly dispatcher: DispatcherFunction;
  /** The dispatcher's every-minute rule and slot queue. */
  readonly triggers: DispatcherTriggers;

  constructor(scope: Construct, id: string, props: PgotelStackProps) {
    super(scope, id, props);
    const { config } = props;
    const collector = new CollectorFunction(this, 'Collector', { config });
    this.collector = collector;

    const state = new StateTable(this, 'State');
    collector.bindStateTable(state.table);

    const external = configuredArchive(config);
    let archiveLocation: S3Location;
    let bucketArn: string;
    /** The bucket ARN as cdk-nag prints it in finding ids. */
    let bucketFinding: string;
    if (external === undefined) {
      const archive = new ArchiveBucket(this, 'Archive');
      archiveLocation = { bucket: archive.bucket.bucketName, prefix: OWN_ARCHIVE_PREFIX };
      bucketArn = archive.bucket.bucketArn;
      bucketFinding = `<${this.getLogicalId(archive.bucket.node.defaultChild as CfnBucket)}.Arn>`;
    } else {
      archiveLocation = external;
      bucketArn = `arn:${this.partition}:s3:::${external.bucket}`;
      bucketFinding = `arn:<AWS::Partition>:s3:::${external.bucket}`;
    }
    const archiveStream = new ArchiveStream(this, 'ArchiveStream', {
      location: archiveLocation,
      bucketArn,
      compression: config.archive?.compression ?? 'gzip',
      ...(config.archive?.buffer_seconds === undefined
        ? {}
        : { bufferSeconds: config.archive.buffer_seconds }),
    });
    collector.bindArchiveStream(archiveStream);
    this.acknowledgeArchiveWildcard(archiveStream.role, bucketFinding, archiveLocation.prefix);

    collector.bindSecrets(configuredSecrets(config));
    const workspace = ampWorkspace(config);
    if (workspace !== undefined) collector.bindRemoteWrite(workspace);

    const queues = new CollectorQueues(this, 'Queues', { collector });
    this.queues = queues;

    const dispatcher = new DispatcherFunction(this, 'Dispatcher', { config });
    this.dispatcher = dispatcher;
    const triggers = new DispatcherTriggers(this, 'Dispatch', {
      dispatcher,
      scheduleEnabled: config.schedule.enabled,
    });
    this.triggers = triggers;
    dispatcher.bindSlotQueue(triggers.slotQueue);
    dispatcher.bindCollector(collector);

    new CollectorAlarms(this, 'Alarms', {
      collector,
      dispatcher,
      deadLetterQueues: {
        DeadLetterQueue: queues.deadLetterQueue,
        FailedInvocations: queues.failedInvocations,
        SlotDeadLetterQueue: triggers.slotDeadLetterQueue,
      },
    });

    const outputs: Record<string, string> = {
      CollectorFunctionName: collector.functionName,
      CollectorFunctionArn: collector.functionArn,
      StateTableName: state.table.tableName,
      ArchiveUrl: s3Url(archiveLocation),
      ArchiveStreamName: archiveStream.streamName,
      CollectorQueueUrl: queues.queue.queueUrl,
      DeadLetterQueueUrl: queues.deadLetterQueue.queueUrl,
      FailedInvocationQueueUrl: queues.failedInvocations.queueUrl,
      DispatcherFunctionName: dispatcher.functionName,
      SlotQueueUrl: triggers.slotQueue.queueUrl,
      SlotDeadLetterQueueUrl: triggers.slotDeadLetterQueue.queueUrl,
    };
    for (const [name, value] of Object.entries(outputs)) new CfnOutput(this, name, { value });
  }

  private acknowledgeArchiveWildcard(role: IRole, bucket: string, prefix: string): void {
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${bucket}/${objectPattern(prefix)}]`,
      reason:
        'The archive stream names its objects per buffer interval and minute, so PutObject must cover the ' +
        'archive prefix; the statement allows only s3:PutObject and s3:AbortMultipartUpload under that prefix.',
    });
  }
}
