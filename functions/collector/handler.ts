import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  type CollectRequest,
  classifyEvent,
  parseCollectRequest,
  RequestError,
} from '../../shared/run/request.ts';
import { type RunSummary, runCollection } from '../../shared/run/run-collection.ts';
import { createContainer } from './container.ts';

/** Time kept back from the Lambda deadline for logging and returning. */
const SAFETY_MARGIN_MS = 1_000;

const logger = new Logger();
const container = createContainer(process.env, import.meta.url);
const processor = new BatchProcessor(EventType.SQS);

/** Nothing of this run reached Prometheus or the archive: worth a retry (SQS redelivery, async retry). */
export class RunLostError extends Error {
  override readonly name = 'RunLostError';
}

async function collectOne(request: CollectRequest, context: Context): Promise<RunSummary> {
  const plan = container.plan(request.target);
  const { ports, setupErrors } = await container.ports(request.target);
  const now = Date.now();
  const { summary } = await runCollection(
    plan,
    {
      tiers: request.tiers,
      scheduledAtMs: request.scheduledAtMs ?? now,
      deadlineMs: now + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS,
      ...(request.scheduledAtMs === undefined ? { ignoreIntervals: true } : {}),
    },
    ports,
  );
  const line = setupErrors.length === 0 ? summary : { ...summary, setupErrors };
  const troubled =
    summary.up === 0 ||
    summary.queryErrors.length > 0 ||
    summary.remoteWrite?.ok === false ||
    summary.archive?.ok === false ||
    summary.stateErrors.length > 0 ||
    setupErrors.length > 0;
  // A healthy run's summary is at info (off by default: its numbers are in Prometheus); trouble is at warn.
  if (troubled) logger.warn('collection', { summary: line });
  else logger.info('collection', { summary: line });
  if (summary.archive?.ok !== true && summary.remoteWrite?.ok !== true)
    throw new RunLostError(`run of ${summary.target} reached neither remote-write nor the archive`);
  return summary;
}

/** A request that can never succeed is logged and answered (a direct or EventBridge invoke), not retried. */
function rejected(error: RequestError): { error: string } {
  logger.error('invalid request', { error: error.message });
  return { error: `invalid request: ${error.message}` };
}

/** SQS batch (partial failures), EventBridge event, or direct invoke `{ target, tiers?, scheduledAt? }`. */
export async function handler(
  event: unknown,
  context: Context,
): Promise<RunSummary | SQSBatchResponse | { error: string }> {
  logger.addContext(context);
  const kind = classifyEvent(event);
  if (kind.kind === 'sqs') {
    return processPartialResponse(
      event as SQSEvent,
      async (record: SQSRecord) => {
        let request: CollectRequest;
        try {
          request = parseCollectRequest(JSON.parse(record.body), container.targets);
        } catch (error) {
          // Never dropped: the record fails, SQS delivers it again and, after the last receive, moves it to the
          // dead-letter queue, whose alarm tells the operator. Nobody reads an answer to a queue message.
          const invalid = new RequestError(
            `SQS message ${record.messageId}: ${error instanceof Error ? error.message : error}`,
          );
          rejected(invalid);
          throw invalid;
        }
        await collectOne(request, context);
      },
      processor,
      { context },
    );
  }
  try {
    const request = parseCollectRequest(
      kind.kind === 'eventbridge' ? kind.detail : kind.payload,
      container.targets,
    );
    return await collectOne(request, context);
  } catch (error) {
    if (error instanceof RequestError) return rejected(error);
    throw error;
  }
}
