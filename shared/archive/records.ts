/**
 * The streamed archive: a run's batches as delivery-stream records (Amazon Data Firehose), which the stream
 * concatenates into shared objects.
 *
 * Concatenation is what makes this an archive and not a log: two protobuf `ExportMetricsServiceRequest`
 * messages, concatenated, are one valid request holding both (protobuf merges repeated fields), and gzip
 * members, concatenated, are one valid gzip stream. So every record is a whole encoded request (gzipped as its
 * own member when the archive is compressed), and any object the stream writes is one readable
 * `ExportMetricsServiceRequest` — whatever records it holds, in whatever order.
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { MetricBatch, MetricFamily } from '../model/metrics.ts';
import { encodeExportRequest } from '../otlp/build.ts';
import type { ArchiveCompression } from './s3-key.ts';

const gzipAsync = promisify(gzip);

/**
 * Largest record we build, in bytes: Firehose takes up to 1,000 KiB per record (before base64); the rest is
 * headroom.
 */
export const MAX_RECORD_BYTES = 1_000_000;

/** A delivery stream: takes records, returns once every one is durably accepted (or throws). */
export interface RecordStream {
  /**
   * Puts records; resolves when all are accepted, retrying the ones the stream refused until `deadlineMs`.
   * @throws ArchiveError naming how many records were not accepted
   */
  put(records: readonly Uint8Array[], deadlineMs: number): Promise<void>;
  /** For summaries, e.g. `firehose://pgotel-archive`. */
  describe(): string;
}

/**
 * One batch as standalone encoded pieces, each at most `maxBytes` (after compression): the whole batch when it
 * fits, else halves of its families (or of the points of a single family), recursively. Every piece is a
 * complete `ExportMetricsServiceRequest` (gzip member), so any concatenation of pieces decodes to the batch.
 * The halves are encoded one after the other, and a batch too large for one piece is not held while they are.
 * @throws Error when a single point does not fit (a label value of ~1 MB: nothing sane produces one)
 */
export async function encodePieces(
  batch: MetricBatch,
  compression: ArchiveCompression,
  maxBytes: number = MAX_RECORD_BYTES,
): Promise<Uint8Array[]> {
  const whole = await encodeIfFits(batch, compression, maxBytes);
  if (typeof whole !== 'number') return [whole];
  const halves = splitBatch(batch);
  if (halves === undefined)
    throw new Error(`one archived point encodes to ${whole} bytes, more than a record holds`);
  const pieces: Uint8Array[] = [];
  for (const half of halves) {
    for (const piece of await encodePieces(half, compression, maxBytes)) pieces.push(piece);
  }
  return pieces;
}

/** The encoded batch when it is at most `maxBytes`, else only its size (so the caller does not hold it). */
async function encodeIfFits(
  batch: MetricBatch,
  compression: ArchiveCompression,
  maxBytes: number,
): Promise<Uint8Array | number> {
  const raw = encodeExportRequest(batch);
  const body = compression === 'gzip' ? new Uint8Array(await gzipAsync(raw)) : raw;
  return body.byteLength <= maxBytes ? body : body.byteLength;
}

/** Two batches holding the families (or, for one family, the points) of `batch`; undefined for one point. */
function splitBatch(batch: MetricBatch): [MetricBatch, MetricBatch] | undefined {
  const { families } = batch;
  if (families.length > 1) {
    const mid = Math.ceil(families.length / 2);
    return [
      { ...batch, families: families.slice(0, mid) },
      { ...batch, families: families.slice(mid) },
    ];
  }
  const [family] = families;
  if (family === undefined || family.points.length < 2) return undefined;
  const mid = Math.ceil(family.points.length / 2);
  const part = (points: MetricFamily['points']): MetricBatch => ({
    ...batch,
    families: [{ ...family, points }],
  });
  return [part(family.points.slice(0, mid)), part(family.points.slice(mid))];
}

/**
 * Packs pieces, in order, into as few records as fit `maxBytes` each: a run's tiers usually share one record,
 * which is what Firehose bills (per record, rounded up to 5 KB).
 */
export function packRecords(
  pieces: readonly Uint8Array[],
  maxBytes: number = MAX_RECORD_BYTES,
): Uint8Array[] {
  const records: Uint8Array[] = [];
  let group: Uint8Array[] = [];
  let size = 0;
  const flush = (): void => {
    if (group.length === 0) return;
    records.push(group.length === 1 ? (group[0] as Uint8Array) : concat(group, size));
    group = [];
    size = 0;
  };
  for (const piece of pieces) {
    if (size + piece.byteLength > maxBytes) flush();
    group.push(piece);
    size += piece.byteLength;
  }
  flush();
  return records;
}

function concat(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
