import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  type DelayedMessage,
  fanOut,
  parseSlotMessage,
  sendAll,
  slotMessages,
} from '../../shared/schedule/dispatch.ts';
import { planWindow } from '../../shared/schedule/plan.ts';
import { readDeployedConfig, requiredEnv } from '../deployed-config.ts';

/**
 * Two jobs, one function: every minute (EventBridge rule) it plans the minute and queues one delayed message per
 * (slot, start second); when such a message arrives (SQS), it starts the collector for each target it names.
 */

const logger = new Logger();
const config = readDeployedConfig(process.env, import.meta.url);
const queueUrl = requiredEnv(process.env, 'PGOTEL_SLOT_QUEUE_URL');
const collector = requiredEnv(process.env, 'PGOTEL_COLLECTOR_FUNCTION');
const sqs = new SQSClient({ maxAttempts: 3 });
const lambda = new LambdaClient({ maxAttempts: 2 });
const processor = new BatchProcessor(EventType.SQS);
const targets = config.targets.map((t) => ({ name: t.name, tiers: t.tiers }));

/** SendMessageBatch in tens; returns the messages SQS did not take. */
async function send(messages: readonly DelayedMessage[]): Promise<readonly DelayedMessage[]> {
  const failed: DelayedMessage[] = [];
  for (let i = 0; i < messages.length; i += 10) {
    const batch = messages.slice(i, i + 10);
    try {
      const answer = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((m, j) => ({
            Id: String(j),
            DelaySeconds: m.delaySeconds,
            MessageBody: JSON.stringify(m.message),
          })),
        }),
      );
      for (const entry of answer.Failed ?? []) {
        const m = batch[Number(entry.Id)];
        if (m !== undefined) failed.push(m);
      }
    } catch {
      failed.push(...batch);
    }
  }
  return failed;
}

/**
 * Plans the 60 seconds from the rule's scheduled time (the event's `time`, the same on a retry) and queues their
 * slots, each delay shortened by how late this run is.
 */
async function dispatch(time: string): Promise<void> {
  const fromMs = Math.floor(Date.parse(time) / 1000) * 1000;
  const plan = planWindow(targets, fromMs, config.schedule.spread_seconds);
  const messages = slotMessages(plan, Math.max(0, (Date.now() - fromMs) / 1000));
  const report = await sendAll(messages, send);
  logger.info('dispatch', {
    window: new Date(fromMs).toISOString(),
    requests: plan.length,
    messages: messages.length,
    ...report,
  });
  // Thrown so the rule's retry (and then its dead-letter queue) takes over; nothing is dropped silently.
  if (report.failed.length > 0) throw new Error(`slot messages not queued: ${report.failed.join(', ')}`);
}

/** Starts the collector for every request of one slot message. */
async function deliver(record: SQSRecord): Promise<void> {
  const message = parseSlotMessage(record.body);
  const report = await fanOut(message, async (request) => {
    const answer = await lambda.send(
      new InvokeCommand({
        FunctionName: collector,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(request)),
      }),
    );
    if (answer.StatusCode !== 202) throw new Error(`invoke answered ${answer.StatusCode}`);
  });
  logger.info('fan-out', { scheduledAt: message.scheduledAt, ...report });
  // The message goes back to the queue and, after its receives, to the dead-letter queue (alarmed). A redelivery
  // starts the others again too: harmless, a duplicate request writes the same archive object.
  if (report.failed.length > 0) throw new Error(`collector not started: ${report.failed.join('; ')}`);
}

/** EventBridge scheduled event, or an SQS batch of slot messages. */
export async function handler(
  event: { time?: string; Records?: unknown[] },
  context: Context,
): Promise<SQSBatchResponse | undefined> {
  logger.addContext(context);
  if (Array.isArray(event.Records)) {
    return processPartialResponse(event as SQSEvent, deliver, processor, { context });
  }
  await dispatch(event.time ?? new Date().toISOString());
  return undefined;
}
