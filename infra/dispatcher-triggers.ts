import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction as LambdaTarget } from 'aws-cdk-lib/aws-events-targets';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { MAX_RECEIVE_COUNT } from './collector-queues.ts';

/** Retries EventBridge makes of a failed delivery to the dispatcher. */
export const RULE_RETRY_ATTEMPTS = 2;
/** Slot messages per dispatcher invocation: a slot's work is small, and partial failures are reported. */
export const SLOT_BATCH_SIZE = 10;
/** Failed slots stay long enough to be inspected and redriven after a weekend. */
const DLQ_RETENTION = Duration.days(14);

/** Props of {@link DispatcherTriggers}. */
export interface DispatcherTriggersProps {
  readonly dispatcher: LambdaFunction;
  /** Create the every-minute rule; without it the dispatcher runs only when invoked or sent a slot. */
  readonly scheduleEnabled: boolean;
}

/**
 * What runs the dispatcher: an EventBridge rule every minute (the :00 slot), and the slot queue whose
 * delayed messages (DelaySeconds 15/30/45) start the later slots without any Lambda waiting. The queue has a
 * dead-letter queue; both are TLS-only and SSE-encrypted. The dispatcher may send to the queue (its later
 * slots) and consumes it.
 */
export class DispatcherTriggers extends Construct {
  /** Delayed slot messages; the dispatcher sends and consumes them. */
  readonly slotQueue: Queue;
  /** Slot messages the dispatcher failed {@link MAX_RECEIVE_COUNT} times. */
  readonly slotDeadLetterQueue: Queue;
  /** The every-minute rule, or `undefined` when the config turns the schedule off. */
  readonly rule: Rule | undefined;

  constructor(scope: Construct, id: string, props: DispatcherTriggersProps) {
    super(scope, id);
    const secure = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true } as const;
    this.slotDeadLetterQueue = new Queue(this, 'SlotDeadLetter', {
      ...secure,
      retentionPeriod: DLQ_RETENTION,
    });
    const timeout = props.dispatcher.timeout ?? Duration.seconds(3);
    this.slotQueue = new Queue(this, 'Slots', {
      ...secure,
      // AWS's rule for SQS event sources: six times the function timeout.
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      deadLetterQueue: { queue: this.slotDeadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    props.dispatcher.addEventSource(
      new SqsEventSource(this.slotQueue, { batchSize: SLOT_BATCH_SIZE, reportBatchItemFailures: true }),
    );

    this.rule = props.scheduleEnabled
      ? new Rule(this, 'EveryMinute', {
          description: 'pgotel: runs the dispatcher for the :00 slot of every minute',
          schedule: Schedule.rate(Duration.minutes(1)),
          targets: [new LambdaTarget(props.dispatcher, { retryAttempts: RULE_RETRY_ATTEMPTS })],
        })
      : undefined;
  }
}
