/**
 * Amazon Data Firehose adapter of the streamed archive (`records.ts`): PutRecordBatch, with the refused entries
 * of a partial failure sent again until the deadline. Firehose then buffers the fleet's records into shared S3
 * objects under the `year=/month=/day=/hour=/minute=` prefix, so the archive costs per gigabyte, not per run.
 */
import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import type { RecordStream } from './records.ts';
import { ArchiveError } from './store.ts';

/** PutRecordBatch limits: 500 records and 4 MiB per call. */
const MAX_BATCH_RECORDS = 500;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** Options of {@link FirehoseRecordStream}. */
export interface FirehoseRecordStreamOptions {
  /** Upper bound of one PutRecordBatch call, ms. @default 10000 */
  readonly timeoutMs?: number;
  /** Rounds of re-sending refused entries (throttling, a stream briefly unavailable). @default 3 */
  readonly attempts?: number;
  /** Base of the exponential backoff between rounds, ms. @default 100 */
  readonly backoffMs?: number;
}

/** Records into one Firehose delivery stream. */
export class FirehoseRecordStream implements RecordStream {
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly backoffMs: number;

  constructor(
    private readonly client: FirehoseClient,
    private readonly streamName: string,
    options: FirehoseRecordStreamOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.attempts = Math.max(1, options.attempts ?? 3);
    this.backoffMs = options.backoffMs ?? 100;
  }

  describe(): string {
    return `firehose://${this.streamName}`;
  }

  async put(records: readonly Uint8Array[], deadlineMs: number): Promise<void> {
    let pending = [...records];
    let lastError = '';
    for (let attempt = 1; attempt <= this.attempts && pending.length > 0; attempt++) {
      if (attempt > 1) {
        const wait = this.backoffMs * 2 ** (attempt - 2) * (0.5 + Math.random() / 2);
        if (Date.now() + wait >= deadlineMs) break;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
      const refused: Uint8Array[] = [];
      for (const chunk of chunks(pending)) {
        const left = deadlineMs - Date.now();
        if (left <= 0) {
          refused.push(...chunk);
          lastError = 'deadline reached';
          continue;
        }
        try {
          const out = await this.client.send(
            new PutRecordBatchCommand({
              DeliveryStreamName: this.streamName,
              Records: chunk.map((Data) => ({ Data })),
            }),
            { abortSignal: AbortSignal.timeout(Math.min(this.timeoutMs, left)) },
          );
          if ((out.FailedPutCount ?? 0) === 0) continue;
          // Entries answer in request order; the failed ones carry an ErrorCode.
          for (const [i, entry] of (out.RequestResponses ?? []).entries()) {
            if (entry.ErrorCode === undefined) continue;
            const record = chunk[i];
            if (record !== undefined) refused.push(record);
            lastError = entry.ErrorMessage ? `${entry.ErrorCode}: ${entry.ErrorMessage}` : entry.ErrorCode;
          }
        } catch (error) {
          refused.push(...chunk);
          lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        }
      }
      pending = refused;
    }
    if (pending.length > 0)
      throw new ArchiveError(
        `${this.describe()}: ${pending.length} of ${records.length} records not accepted (${lastError})`,
      );
  }
}

/** Splits records into PutRecordBatch-sized groups, in order. */
function* chunks(records: readonly Uint8Array[]): Generator<Uint8Array[]> {
  let group: Uint8Array[] = [];
  let bytes = 0;
  for (const record of records) {
    if (
      group.length === MAX_BATCH_RECORDS ||
      (group.length > 0 && bytes + record.byteLength > MAX_BATCH_BYTES)
    ) {
      yield group;
      group = [];
      bytes = 0;
    }
    group.push(record);
    bytes += record.byteLength;
  }
  if (group.length > 0) yield group;
}

/** A Firehose client with bounded calls: a hung endpoint cannot eat the Lambda's deadline. */
export function createFirehoseClient(
  options: { region?: string; requestTimeoutMs?: number } = {},
): FirehoseClient {
  const timeout = options.requestTimeoutMs ?? 10_000;
  return new FirehoseClient({
    ...(options.region === undefined ? {} : { region: options.region }),
    requestHandler: {
      requestTimeout: timeout,
      connectionTimeout: Math.min(timeout, 5_000),
      throwOnRequestTimeout: true,
    },
    maxAttempts: 3,
  });
}
