/**
 * Archiving one run, whichever way the archive is written: one object per (run, tier) in a store (the CLI's
 * `s3://` and `file://` archives), or records into a delivery stream (the deployed collector: one Firehose record
 * per run, objects shared by the fleet).
 */
import type { MetricBatch, Tier } from '../model/metrics.ts';
import { type ArchiveResult, archiveBatch } from './archive.ts';
import { encodePieces, packRecords, type RecordStream } from './records.ts';
import type { ArchiveCompression } from './s3-key.ts';
import type { ArchiveStore } from './store.ts';

/** An archive of one object per (run, tier) under a prefix. */
export interface ObjectArchive {
  readonly store: ArchiveStore;
  readonly prefix: string;
  readonly compression: ArchiveCompression;
}

/** An archive written as records into a delivery stream. */
export interface StreamArchive {
  readonly stream: RecordStream;
  readonly compression: ArchiveCompression;
}

/** Where a run is archived. */
export type ArchiveDestination = ObjectArchive | StreamArchive;

/** One run's batches and what identifies them. */
export interface ArchiveRunRequest {
  readonly batches: readonly { readonly tier: Tier; readonly batch: MetricBatch }[];
  readonly cluster: string;
  readonly target: string;
  readonly scheduledAtMs: number;
  readonly deadlineMs: number;
}

/** What the archive did: one entry per tier (an object, or the tier's share of the run's stream records). */
export interface ArchiveSummary {
  readonly ok: boolean;
  readonly objects: readonly (ArchiveResult & { readonly tier: Tier })[];
  readonly errors: readonly string[];
  /** Records put into the stream (stream archives only). */
  readonly records?: number;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Archives a run; never throws: failures are in `errors`. */
export async function archiveRun(
  request: ArchiveRunRequest,
  archive: ArchiveDestination,
): Promise<ArchiveSummary> {
  if ('stream' in archive) return streamRun(request, archive.stream, archive.compression);
  const settled = await Promise.allSettled(
    request.batches.map(async ({ tier, batch }) => ({
      tier,
      ...(await archiveBatch(archive.store, archive.prefix, batch, {
        cluster: request.cluster,
        target: request.target,
        tier,
        scheduledAtMs: request.scheduledAtMs,
        compression: archive.compression,
      })),
    })),
  );
  const objects: (ArchiveResult & { tier: Tier })[] = [];
  const errors: string[] = [];
  for (const s of settled) {
    if (s.status === 'fulfilled') objects.push(s.value);
    else errors.push(errorMessage(s.reason));
  }
  return { ok: errors.length === 0, objects, errors };
}

/**
 * All tiers of the run go out together, usually as one record: the stream bills per record (rounded up to
 * 5 KB) and per byte, so one record per run is the cheapest the archive can be. All or nothing: a run whose
 * records were not all accepted reports the archive failed, so the caller retries the run.
 */
async function streamRun(
  request: ArchiveRunRequest,
  stream: RecordStream,
  compression: ArchiveCompression,
): Promise<ArchiveSummary> {
  try {
    const { records, tiers } = await encodeRecords(request.batches, compression);
    await stream.put(records, request.deadlineMs);
    const location = stream.describe();
    const objects = tiers.map(({ tier, bytes }) => ({
      tier,
      key: `${location}#${request.target}/${tier}/${new Date(request.scheduledAtMs).toISOString()}`,
      location,
      bytes,
    }));
    return { ok: true, objects, errors: [], records: records.length };
  } catch (error) {
    return { ok: false, objects: [], errors: [errorMessage(error)] };
  }
}

/**
 * The run's records and each tier's share of their bytes. Tiers are encoded one after the other, so a run of
 * several tiers does not hold all their uncompressed encodings at once.
 */
async function encodeRecords(
  batches: ArchiveRunRequest['batches'],
  compression: ArchiveCompression,
): Promise<{ records: Uint8Array[]; tiers: { tier: Tier; bytes: number }[] }> {
  const pieces: Uint8Array[] = [];
  const tiers: { tier: Tier; bytes: number }[] = [];
  for (const { tier, batch } of batches) {
    let bytes = 0;
    for (const piece of await encodePieces(batch, compression)) {
      pieces.push(piece);
      bytes += piece.byteLength;
    }
    tiers.push({ tier, bytes });
  }
  return { records: packRecords(pieces), tiers };
}
