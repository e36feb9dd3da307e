import { Duration, Validations } from 'aws-cdk-lib';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Receives before an undeliverable collect request moves to the dead-letter queue. */
export const MAX_RECEIVE_COUNT = 3;
/** Retries Lambda makes of a failed asynchronous invocation (the AWS default, stated). */
export const ASYNC_RETRY_ATTEMPTS = 2;
/**
 * One collect request per invocation: a batch would put several targets in one invocation, so one slow
 * database would hold the others' memory and deadline (the design's isolation property). The handler still
 * answers with `batchItemFailures`, so raising this needs no handler change.
 */
export const BATCH_SIZE = 1;
/** Failed requests stay long enough to be inspected and redriven after a weekend. */
const DLQ_RETENTION = Duration.days(14);

/** Props of {@link CollectorQueues}. */
export interface CollectorQueuesProps {
  /** The collector; the queue feeds it and its async failures land here. */
  readonly collector: LambdaFunction;
}

/**
 * The queue that carries collect requests to the collector (the dispatcher's sub-minute slots use its
 * message timers), its dead-letter queue, and the queue that receives the collector's failed asynchronous
 * invocations. All TLS-only and SSE-encrypted.
 */
export class CollectorQueues extends Construct {
  /** Collect requests, one per target and slot. */
  readonly queue: Queue;
  /** Requests the collector failed {@link MAX_RECEIVE_COUNT} times. */
  readonly deadLetterQueue: Queue;
  /** Records of asynchronous invocations that failed after {@link ASYNC_RETRY_ATTEMPTS} retries. */
  readonly failedInvocations: Queue;

  constructor(scope: Construct, id: string, props: CollectorQueuesProps) {
    super(scope, id);
    const secure = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true } as const;
    this.deadLetterQueue = new Queue(this, 'DeadLetter', { ...secure, retentionPeriod: DLQ_RETENTION });
    this.failedInvocations = new Queue(this, 'FailedInvocations', {
      ...secure,
      retentionPeriod: DLQ_RETENTION,
    });
    Validations.of(this.failedInvocations).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself a dead-letter destination (Lambda on-failure destination for async invokes); ' +
        'nothing consumes it automatically and an alarm fires on its first message.',
    });
    const timeout = props.collector.timeout ?? Duration.seconds(3);
    this.queue = new Queue(this, 'Requests', {
      ...secure,
      // AWS's rule for SQS event sources: six times the function timeout, so a throttled batch is not
      // redelivered while the first attempt may still run.
      visibilityTimeout: Duration.seconds(Math.min(43_200, timeout.toSeconds() * 6)),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    props.collector.addEventSource(
      new SqsEventSource(this.queue, { batchSize: BATCH_SIZE, reportBatchItemFailures: true }),
    );
    props.collector.configureAsyncInvoke({
      retryAttempts: ASYNC_RETRY_ATTEMPTS,
      onFailure: new SqsDestination(this.failedInvocations),
    });
  }
}
