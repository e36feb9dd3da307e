import { createSigV4Signer } from '../shared/export/sigv4.ts';
import type { AwsEmulator } from '../test/helpers/aws.ts';

/**
 * Every AWS API call the emulator receives, from ministack's CloudTrail emulation: recording is switched on at run
 * time (`POST /_ministack/config`), and `LookupEvents` returns the recorded calls of a time range with the caller's
 * user agent and, for JSON and form protocols, its request parameters.
 */

/** One recorded API call. */
export interface RecordedCall {
  readonly eventId: string;
  /** The service's endpoint prefix: `dynamodb`, `s3`, `sqs`, `lambda`, `secretsmanager`, `firehose`, … */
  readonly service: string;
  /** The API action: `GetItem`, `PutObject`, `SendMessageBatch`, … */
  readonly eventName: string;
  /** Epoch seconds, with sub-millisecond precision. */
  readonly time: number;
  readonly userAgent: string;
  /** The request's parameters for JSON and form protocols (`{}` for S3 and Lambda's REST calls). */
  readonly requestParameters: Readonly<Record<string, unknown>>;
  /** Resources named by the call: for S3 the bucket, then the object key. */
  readonly resources: readonly string[];
}

/** Page size of ministack's `LookupEvents` (it has no `NextToken`: older pages are asked for by `EndTime`). */
const PAGE = 50;

/** Starts recording every API call (ministack keeps the newest `CLOUDTRAIL_MAX_EVENTS`, 10,000 by default). */
export async function startCallRecording(aws: AwsEmulator): Promise<void> {
  const response = await fetch(`${aws.endpoint}/_ministack/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ 'cloudtrail._recording_enabled': 'true' }),
  });
  const answer = (await response.json()) as { applied?: Record<string, unknown> };
  if (answer.applied?.['cloudtrail._recording_enabled'] !== true)
    throw new Error(`the emulator did not turn on CloudTrail recording: ${JSON.stringify(answer)}`);
}

interface LookupEvent {
  EventId: string;
  EventTime: number;
  EventSource: string;
  EventName: string;
  CloudTrailEvent: string;
  Resources?: { ResourceName: string }[];
}

/** A reader of the recorded calls, signing `LookupEvents` with the emulator's test credentials. */
export async function callReader(
  aws: AwsEmulator,
): Promise<(fromSeconds: number, toSeconds: number) => Promise<RecordedCall[]>> {
  const credentials = aws.credentials;
  const sign = await createSigV4Signer({
    region: aws.region,
    service: 'cloudtrail',
    credentials: async () => credentials,
  });
  const url = new URL(`${aws.endpoint}/`);
  const lookup = async (body: object): Promise<LookupEvent[]> => {
    const bytes = new TextEncoder().encode(JSON.stringify(body));
    const headers = await sign({
      url,
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents',
      },
      body: bytes,
    });
    const response = await fetch(url, { method: 'POST', headers, body: bytes });
    const text = await response.text();
    if (!response.ok) throw new Error(`LookupEvents answered ${response.status}: ${text.slice(0, 200)}`);
    return (JSON.parse(text) as { Events?: LookupEvent[] }).Events ?? [];
  };

  /** Every call recorded in `[fromSeconds, toSeconds]`, oldest first. */
  return async (fromSeconds, toSeconds) => {
    const seen = new Map<string, RecordedCall>();
    let end = toSeconds;
    for (;;) {
      const page = await lookup({ StartTime: fromSeconds, EndTime: end, MaxResults: PAGE });
      let added = 0;
      for (const event of page) {
        if (seen.has(event.EventId)) continue;
        added++;
        const detail = JSON.parse(event.CloudTrailEvent) as {
          userAgent?: string;
          requestParameters?: Record<string, unknown> | null;
        };
        seen.set(event.EventId, {
          eventId: event.EventId,
          service: event.EventSource.replace(/\.amazonaws\.com$/, ''),
          eventName: event.EventName,
          time: event.EventTime,
          userAgent: detail.userAgent ?? '',
          requestParameters: detail.requestParameters ?? {},
          resources: (event.Resources ?? []).map((r) => r.ResourceName),
        });
        end = Math.min(end, event.EventTime);
      }
      if (page.length < PAGE) break;
      // Pages overlap at their oldest second (EndTime is inclusive); a full page with nothing new cannot move on.
      if (added === 0)
        throw new Error(`more than ${PAGE} API calls recorded at ${end}: cannot page past them`);
    }
    return [...seen.values()].sort((a, b) => a.time - b.time);
  };
}
